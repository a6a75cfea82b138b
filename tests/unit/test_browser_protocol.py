"""The browser code and the Python definitions it depends on cannot drift apart.

assets/web/live.js looks up every element id (`IDS.X`, `byId("X")`), message type (`M.x`,
`C.x`), field name (`F.group.x`) and system event (`SYS.x`) in the description the page
embeds. Each name it uses must exist there, and it must not spell one out itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from dashboard import ids
from dashboard.app import DashboardConfig, MapLayers, SignedIn, page
from dashboard.wall_page import WALL_IDS
from realtime.live_protocol import SERVER_MESSAGES, browser_description

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "assets" / "web").rglob("*.js"))
EMPTY = {"type": "FeatureCollection", "features": []}


def sources() -> dict[str, str]:
    """Every browser script of the product, by name."""
    assert SCRIPTS
    return {path.name: path.read_text("utf-8") for path in SCRIPTS}


def unknown_names(text: str) -> list[str]:
    """Names a script looks up that the description or the ids module do not define."""
    description = browser_description()
    element_ids = {**ids.described(), **WALL_IDS}  # the console's and the wall's
    unknown = [
        f"id {used}"
        for used in re.findall(r"\bIDS\.(\w+)", text) + re.findall(r'byId\("(\w+)"\)', text)
        if used not in element_ids
    ]
    for table, kind in (("messages", "M"), ("client_messages", "C"), ("system_events", "SYS")):
        unknown += [
            f"{kind}.{used}"
            for used in re.findall(rf"\b{kind}\.(\w+)", text)
            if used not in description[table]
        ]
    unknown += [
        f"F.{group}.{field}"
        for group, field in re.findall(r"\bF\.(\w+)\.(\w+)", text)
        if field not in description["fields"].get(group, {})
    ]
    return unknown


def test_every_name_the_browser_uses_is_in_the_description() -> None:
    """IDS, M, C, F.group and SYS look-ups each name something the Python side defines."""
    for name, text in sources().items():
        assert unknown_names(text) == [], name
        assert "F.case." in text or name != "live.js", "live.js reads case fields by look-up"


def test_the_browser_spells_out_no_element_id_or_message_type() -> None:
    """No id or message type appears as a string literal in the scripts."""
    literals = {
        *(f'"{value}"' for value in ids.described().values()),
        *(f'"{value}"' for value in WALL_IDS.values()),
        *(f'"{cls.__struct_config__.tag}"' for cls in SERVER_MESSAGES),
        '"subscribe"',
    }
    for name, text in sources().items():
        found = sorted(literal for literal in literals if literal in text)
        assert not found, f"{name} spells out {found}: look them up in the description"


def test_the_check_catches_a_name_the_description_lacks() -> None:
    """A renamed or invented field, id or message is reported (the check can fail)."""
    script = 'c[F.case.reporter_phone]; byId("NOPE"); M.snaphsot; F.case.severity; IDS.QUEUE'
    assert unknown_names(script) == ["id NOPE", "M.snaphsot", "F.case.reporter_phone"]


def test_the_page_embeds_the_description_and_the_ids() -> None:
    """What the browser reads is exactly what the Python definitions give."""
    layers = MapLayers(EMPTY, EMPTY, (31.3, 118.9), ((31.2, 118.7), (31.5, 119.2)))
    config = DashboardConfig("高淳区", "320118", 8765, protocol=browser_description())
    who = SignedIn("yangjiang", "township_coordinator", "320118101000", "form-token")
    layout = page("zh-CN", layers, config, who)
    found = [node for node in _walk(layout) if getattr(node, "id", None) == ids.LIVE_CONFIG]
    (node,) = found
    embedded = json.loads(node.to_plotly_json()["props"]["data-config"])
    assert embedded["protocol"] == json.loads(json.dumps(browser_description()))
    assert embedded["ids"] == ids.described()
    assert embedded["scope"] == "320118101000", "the live feed asked for is the user's own"


def _walk(node: object) -> list[object]:
    children = getattr(node, "children", None)
    out = [node]
    if isinstance(children, list | tuple):
        for child in children:
            out += _walk(child)
    elif children is not None and not isinstance(children, str):
        out += _walk(children)
    return out
