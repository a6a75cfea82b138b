"""The KPI trend figures: one bar per bucket, labelled in China time, in the chosen language."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboard.presenters import kpi_figures

END = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 15:30 in China


def test_the_24_hour_trend_labels_each_bar_with_its_local_hour() -> None:
    """24 counts → 24 bars; the last is the hour from 14:30 to 15:30 local, the first began
    24 hours before the end."""
    counts = list(range(24))
    figure = kpi_figures.trend_24h(counts, END, "zh-CN")
    (bars,) = figure.data
    assert list(bars.y) == counts
    assert bars.x[-1] == "14:30" and bars.x[0] == "15:30"
    assert figure.layout.title.text == "近24小时接报"
    assert "Noto Sans SC" in figure.layout.font.family


def test_the_30_day_trend_ends_with_today_local_date_in_english() -> None:
    """30 counts → 30 days, the last today's local date; English title on request."""
    figure = kpi_figures.trend_30d([1] * 30, END, "en")
    (bars,) = figure.data
    assert len(bars.x) == 30 and bars.x[-1] == "12-02" and bars.x[0] == "11-03"
    assert figure.layout.title.text == "Cases, last 30 days"
