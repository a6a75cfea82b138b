"""The trends page's tiles, charts and HTML, built by plain functions (no browser, no plotly.js)."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta

from dashboard.presenters import trend_figures
from dashboard.trends_page import period_start, trends_html
from incidents.kpis import Durations, PeriodKpis, SatisfactionFigures
from incidents.trends import Trend, last_24_hours, last_30_days

NOW = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 15:30 in China


def period(**overrides: object) -> PeriodKpis:
    """A township's figures; nothing rated unless overridden."""
    values: dict[str, object] = {
        "scope": "320118101000",
        "start": NOW - timedelta(hours=24),
        "end": NOW,
        "opened": 3,
        "by_channel": {"110": 2, "grid": 1},
        "by_category": {"dispute": 3},
        "open_by_step": {"intake": 1, "dispatch": 0},
        "on_time_rate": None,
        "time_to_dispatch": Durations(None, None, 0),
        "time_to_arrival": Durations(150.0, 3725.0, 4),
        "resolved_low_share": 0.875,
        "verification_pass_rate": None,
        "reopen_rate": 0.0,
        "satisfaction": SatisfactionFigures(
            0.5, 2, {"satisfied": 1, "basically_satisfied": 1, "dissatisfied": 0}
        ),
        "camera_online_rate": 1.0,
        "units_available": 5,
    }
    values.update(overrides)
    return PeriodKpis(**values)  # type: ignore[arg-type]


def trend(spans_end: datetime, hourly: bool) -> Trend:
    spans = last_24_hours(spans_end) if hourly else last_30_days(spans_end)
    n = spans.n
    return Trend(
        starts=spans.starts(),
        opened=list(range(n)),
        on_time_rate=[None] * (n - 1) + [0.75],
        dispatch_median_s=[None] * (n - 1) + [90.0],
        reopen_rate=[0.25] + [None] * (n - 1),
    )


def test_tiles_show_a_dash_not_zero_where_nothing_was_rated() -> None:
    """No dispatch measured → dashes; 0% reopened is a real 0; waits in minutes and hours."""
    shown = {key: value for key, _, value in trend_figures.tiles(period(), "zh-CN")}
    assert shown["on_time"] == shown["verified"] == "—"
    assert shown["reopen"] == "0.0%" and shown["low_share"] == "87.5%"
    assert shown["dispatch"] == "中位 — · P90 — · 0件"
    assert shown["arrival"] == "中位 2分30秒 · P90 1小时2分 · 4件"
    assert shown["satisfied"] == "50.0%" and shown["units"] == "5" and shown["open"] == "1"
    english = dict((k, v) for k, _, v in trend_figures.tiles(period(), "en"))
    assert english["arrival"] == "median 2 min 30 s · p90 1 h 2 min · 4 cases"


def test_every_satisfaction_level_is_listed_by_name() -> None:
    """The breakdown names all three levels, a level with none included."""
    assert trend_figures.satisfaction_rows(period(), "zh-CN") == [
        ("满意", 1),
        ("基本满意", 1),
        ("不满意", 0),
    ]


def test_the_24_hour_chart_labels_local_hours_and_scales_rates_to_percent() -> None:
    """Bars of cases per local hour; rates as percent with gaps (None) where nothing closed."""
    day = trend(NOW, hourly=True)
    opened = trend_figures.figure(day, "opened", True, "zh-CN")
    (bars,) = opened["data"]
    assert bars["type"] == "bar" and bars["y"] == [float(i) for i in range(24)]
    assert bars["x"][0] == "15:30" and bars["x"][-1] == "14:30"  # China time
    assert opened["layout"]["title"]["text"] == "接报量 · 近24小时"
    rate = trend_figures.figure(day, "on_time_rate", True, "en")
    assert rate["data"][0]["y"][-1] == 75.0 and rate["data"][0]["y"][0] is None
    assert rate["layout"]["yaxis"]["range"] == [0, 100]
    wait = trend_figures.figure(day, "dispatch_median_s", True, "en")
    assert wait["data"][0]["y"][-1] == 1.5  # 90 s in minutes


def test_figures_ask_for_nothing_outside() -> None:
    """No template, no map, no font but the shipped one; no logo or cloud links in the modebar."""
    month = trend(NOW, hourly=False)
    charts = trend_figures.figures(trend(NOW, hourly=True), month, "en")
    assert len(charts) == 8 and charts[-1][0] == "trend-30d-reopen_rate"
    for _, fig in charts:
        layout = fig["layout"]
        assert "template" not in layout and "mapbox" not in layout and "geo" not in layout
        assert layout["font"]["family"] == "Noto Sans SC, sans-serif"
        assert fig["data"][0]["type"] in ("bar", "scatter")
    assert trend_figures.CONFIG["displaylogo"] is False
    assert trend_figures.CONFIG["showLink"] is False
    assert charts[4][1]["data"][0]["x"][-1] == "12-01"  # days end with the span's last day


def test_periods_start_at_local_midnight_or_a_rolling_day() -> None:
    """Today and the 7/30-day periods begin at a China midnight; 24 h rolls."""
    midnight = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 00:00 on 12-02 in China
    assert period_start("today", NOW) == midnight
    assert period_start("24h", NOW) == NOW - timedelta(hours=24)
    assert period_start("7d", NOW) == midnight - timedelta(days=6)
    assert period_start("30d", NOW) == midnight - timedelta(days=29)
    assert period_start("anything", NOW) == midnight


def test_the_page_escapes_every_value_and_embeds_each_figure_as_json() -> None:
    """A hostile user name cannot become markup; each chart's figure parses back whole."""
    charts = trend_figures.figures(trend(NOW, True), trend(NOW, False), "zh-CN")
    page = trends_html("zh-CN", "<script>x</script>", period(), charts, "", {"period": "24h"})
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert page.count('class="trend-chart"') == 8
    assert 'src="/trends/plotly.min.js"' in page and "cdn" not in page
    assert "lang=en" in page and "period=24h" in page
    start = page.index('data-figure="') + len('data-figure="')
    raw = page[start : page.index('"', start)]
    assert json.loads(html.unescape(raw)) == charts[0][1]
