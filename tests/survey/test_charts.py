"""Chart geometry (survey.charts): the names the views use, the bands of the estimate and
difference charts, and the notes under a difference chart that must stay inside it."""

from __future__ import annotations

import pytest

from survey import charts
from survey.charts.bands import BAND_END, BAND_ROW, BAND_START, BAND_TOP
from survey.charts.difference import SIDE_LIMIT, SIDE_LIMIT_APART


def rows(*estimates: float | None) -> list[dict]:
    return [
        {"label": f"Unit {i}", "estimate": e, "ci_low": None if e is None else e - 0.05,
         "ci_high": None if e is None else e + 0.05, "flags": (), "significant": False}
        for i, e in enumerate(estimates)
    ]  # fmt: skip


def test_bars_and_differences_share_their_bands():
    bars = charts.unit_bars(rows(0.6, None, 0.8), reference=0.7)
    differences = charts.difference_chart(rows(0.1, -0.05, 0.0))
    for chart in (bars, differences):
        assert (chart.scale.start, chart.scale.end) == (BAND_START, BAND_END)
        assert [mark.y for mark in chart.marks] == [BAND_TOP + i * BAND_ROW for i in range(3)]
        assert chart.width == charts.CHART_WIDTH
        assert chart.height == BAND_TOP + 3 * BAND_ROW + chart.bottom
        assert chart.axis_bottom == chart.height - chart.bottom + 4
    assert [mark.estimate for mark in bars.marks] == [0.8, 0.6, None]  # highest first
    assert differences.zero == pytest.approx((BAND_START + BAND_END) / 2)


def test_short_names_share_the_line_under_a_difference_chart():
    chart = charts.difference_chart(rows(0.1), "01 Thành phố Hà Nội", "96 Tỉnh Cà Mau")
    assert len(chart.a) <= SIDE_LIMIT
    assert not chart.notes_apart
    assert (chart.a, chart.b) == ("01 Thành phố Hà Nội", "96 Tỉnh Cà Mau")


def test_a_long_name_puts_each_note_on_its_own_line_shortened_to_fit():
    long = "MC-00070 Bộ phận Một cửa Ủy ban nhân dân phường Hoàn Kiếm, thành phố Hà Nội"
    short = charts.difference_chart(rows(0.1), "01 Hà Nội", "48 Đà Nẵng")
    chart = charts.difference_chart(rows(0.1), long, "48 Đà Nẵng")
    assert len(long) > SIDE_LIMIT_APART
    assert chart.notes_apart
    assert len(chart.a) <= SIDE_LIMIT_APART and chart.a.startswith("MC-00070")
    assert chart.b == "48 Đà Nẵng"
    assert chart.height > short.height  # room for the second line
