"""The queue's columns and the map's first view, as pure functions of their data."""

from __future__ import annotations

import pytest

from dashboard.i18n import county_title
from dashboard.presenters.map_view import township_of, view_bounds
from dashboard.presenters.queue import LATEST_FIELD, queue_columns
from incidents.views import CaseView

COUNTY = ((31.23, 118.69), (31.49, 119.21))
SQUARE = [[[118.70, 31.27], [118.86, 31.27], [118.86, 31.41], [118.70, 31.41], [118.70, 31.27]]]
TOWNSHIPS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "320118101000", "name": "阳江镇"},
            "geometry": {"type": "Polygon", "coordinates": SQUARE},
        }
    ],
}


def test_every_column_names_a_case_field_and_has_a_heading_in_both_languages() -> None:
    """Columns show CaseView fields, headed in Chinese by default and in English on request."""
    zh, en = queue_columns("zh-CN"), queue_columns("en")
    fields = [c.get("colId", c["field"]) for c in zh]  # the column of each case field
    assert set(fields) <= set(CaseView.__struct_fields__)
    wanted = {"severity", "case_no", "category", "summary", "township_name", "step", "owner"}
    assert wanted | {"report_count", "deadline_at", "opened_at", "channel"} <= set(fields)
    assert zh[0]["headerName"] == "等级" and en[0]["headerName"] == "Level"
    assert all(c["headerName"] for c in zh + en)


def test_coded_columns_filter_by_their_words_not_their_codes() -> None:
    """Category, step, channel and level filter on what the officer reads (e.g. 交通)."""
    by_field = {c.get("colId", c["field"]): c for c in queue_columns("zh-CN")}
    for field in ("category", "step", "channel", "severity"):
        assert "pinganWord" in by_field[field]["filterValueGetter"]["function"]
        assert by_field[field]["floatingFilter"] is True
    assert by_field["opened_at"]["sort"] == "desc", "newest first until the officer sorts"
    assert by_field["opened_at"]["field"] == LATEST_FIELD, "sorted by latest news: a plain field"


def test_a_township_user_fits_their_township_and_a_county_user_the_county() -> None:
    """The first view is the polygon of the viewer's township, else the whole county."""
    assert view_bounds(TOWNSHIPS, COUNTY, "320118101000") == ((31.27, 118.70), (31.41, 118.86))
    assert view_bounds(TOWNSHIPS, COUNTY, "320118101203") == ((31.27, 118.70), (31.41, 118.86))
    assert view_bounds(TOWNSHIPS, COUNTY, "320118000000") == COUNTY
    assert view_bounds(TOWNSHIPS, COUNTY, "320118102000") == COUNTY, "unknown township: county"
    assert view_bounds(TOWNSHIPS, COUNTY, None) == COUNTY


@pytest.mark.parametrize(
    ("code", "township"),
    [("320118101000", "320118101000"), ("320118101203", "320118101000"), ("320118", None)],
)
def test_the_township_of_a_jurisdiction(code: str, township: str | None) -> None:
    """A village's or grid's township is its first nine digits; a county has none."""
    assert township_of(code) == township


def test_the_english_title_names_the_county_in_english() -> None:
    """Not "高淳区Social Governance…": the county has an English name."""
    title = county_title("en", "320118", "高淳区")
    assert title == "Gaochun District Social Governance Command Centre"
    assert county_title("zh-CN", "320118000000", "高淳区") == "高淳区社会治理综合指挥中心"
    assert county_title("en", "320999", "某县").startswith("某县 ")
