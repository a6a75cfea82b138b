"""The pack generator is deterministic: regenerating the demo pack reproduces its files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from geo.pack import demo_pack_path, load_pack

ROOT = Path(__file__).resolve().parents[2]


def test_regenerating_the_demo_pack_reproduces_the_committed_layers(tmp_path: Path) -> None:
    """`python -m geo.packgen` on a copy writes byte-identical layers that load."""
    copy = tmp_path / "320118"
    shutil.copytree(demo_pack_path(), copy)
    for layer in (copy / "layers").iterdir():
        layer.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "geo.packgen", str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "8 townships, 116 villages" in result.stdout
    for layer in sorted((demo_pack_path() / "layers").iterdir()):
        assert (copy / "layers" / layer.name).read_bytes() == layer.read_bytes(), layer.name
    assert len(load_pack(copy).grids) == len(load_pack(demo_pack_path()).grids)


def test_a_misplaced_seat_fails_generation_with_the_anchor_named(tmp_path: Path) -> None:
    """Moving 淳溪's seat far east breaks the 高淳老街 anchor, and the error says so."""
    copy = tmp_path / "320118"
    shutil.copytree(demo_pack_path(), copy)
    config = copy / "generator.toml"
    text = config.read_text(encoding="utf-8")
    seat = "320118001000 = [118.870, 31.345]"
    assert seat in text
    config.write_text(text.replace(seat, "320118001000 = [119.180, 31.420]"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "geo.packgen", str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 1
    assert "anchor 高淳老街" in result.stderr and "should be in 320118001000" in result.stderr
