"""Geometry for the server-rendered SVG charts of the workbench.

Charts are drawn by Jinja macros in ``templates/charts/``; this package only
does the arithmetic: where a value lands on an axis, which ticks to draw.
No chart library reaches the browser. Charts must read on a phone, in print
and in grey scale, so they use SVG presentation attributes (the CSP forbids
inline styles), black and greys, and hatching where a colour would carry
meaning (:data:`GREYS`, ``templates/charts/_svg.html``'s patterns).

One module per kind of chart, on what they share:

- :mod:`~survey.charts.scales`: the drawing's width, scales, ticks, axes of shares,
  caution flags, labels shortened to fit;
- :mod:`~survey.charts.bands`: one band per estimate, its label line above its mark;
- :mod:`~survey.charts.estimates`: bars per unit and a profile of the dimensions;
- :mod:`~survey.charts.difference`: differences ``A - B`` around zero;
- :mod:`~survey.charts.stacked`: the answers to each item as 100 % stacked bars;
- :mod:`~survey.charts.trend`: an index over the waves;
- :mod:`~survey.charts.importance`: importance x performance.

The names the views use are imported here.
"""

from survey.charts.difference import DifferenceChart, difference_axis, difference_chart
from survey.charts.estimates import EstimateChart, profile, unit_bars
from survey.charts.importance import ImportanceChart, effect_axis, importance_chart
from survey.charts.scales import (
    CHART_WIDTH,
    GREYS,
    LABEL_LIMIT,
    Scale,
    nice_ticks,
    percent_axis,
    shorten,
    unit_label,
)
from survey.charts.stacked import StackedChart, answer_fills, stacked_bars
from survey.charts.trend import TREND_SMALL_HEIGHT, TrendChart, trend_axis, trend_chart

__all__ = [
    "CHART_WIDTH",
    "GREYS",
    "LABEL_LIMIT",
    "TREND_SMALL_HEIGHT",
    "DifferenceChart",
    "EstimateChart",
    "ImportanceChart",
    "Scale",
    "StackedChart",
    "TrendChart",
    "answer_fills",
    "difference_axis",
    "difference_chart",
    "effect_axis",
    "importance_chart",
    "nice_ticks",
    "percent_axis",
    "profile",
    "shorten",
    "stacked_bars",
    "trend_axis",
    "trend_chart",
    "unit_bars",
    "unit_label",
]
