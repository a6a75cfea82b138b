"""Camera networks of any size for a loaded pack (the 20,000-camera benchmark variant)."""

from __future__ import annotations

from geo.cameras import Camera, CameraContext, CameraSite, generate_cameras
from geo.pack import CountyPack
from geo.roads import inner_point


def camera_context(pack: CountyPack) -> CameraContext:
    """What the camera generator needs from a pack with roads and places."""
    township_of_village = {v.code: str(v.parent_code) for v in pack.villages}
    sites = [CameraSite(p.name, p.lon, p.lat) for p in pack.places]
    for v in pack.villages:
        centre = inner_point(v.geometry)
        # The committee office (村委会 / 居委会) at the village centre is the watched point.
        sites.append(CameraSite(v.name, centre.x, centre.y))
    return CameraContext(
        pack.code,
        sites,
        [(r.name, r.geometry) for r in pack.roads],
        [(g.code, g.name, g.geometry) for g in pack.grids],
        {g.code: township_of_village[str(g.parent_code)] for g in pack.grids},
    )


def cameras_for_pack(pack: CountyPack, count: int, seed: int = 20231126) -> tuple[Camera, ...]:
    """A deterministic network of about `count` cameras over a pack (not stored in it)."""
    return generate_cameras(camera_context(pack), count, seed)
