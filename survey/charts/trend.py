"""An index over waves: points with interval whiskers joined by lines, a break where the
questionnaire changes.

Template: ``templates/charts/trend.html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from survey.charts.scales import (
    CHART_WIDTH,
    LEGEND_ROW,
    Scale,
    cautious,
    interval_values,
    percent_axis,
)

#: The plot runs from ``TREND_LEFT`` (percent labels to its left) to ``TREND_RIGHT``.
TREND_LEFT, TREND_RIGHT = 36.0, 392.0
#: Heights of the plot area: a chart of its own, and one of several small multiples.
TREND_HEIGHT, TREND_SMALL_HEIGHT = 190, 100
#: Marker shapes and line dashes told apart in grey scale, one of each per series.
MARKERS = ("circle", "square", "triangle", "diamond", "cross")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 3")
#: Roughly how wide a character of 11-unit text is, to tell when wave codes must slant.
CHAR_WIDTH = 6.2
#: Above this many waves, points carry no value label (the table has them).
POINT_LABEL_MAX_WAVES = 8


@dataclass(frozen=True)
class TrendPoint:
    """One wave's estimate of one index, placed (values on the 0..1 scale)."""

    x: float
    y: float
    y_low: float | None
    y_high: float | None
    estimate: float
    flagged: bool


@dataclass(frozen=True)
class TrendSeries:
    """One index across the waves: its points, the lines joining them, how it is drawn."""

    label: str
    marker: str
    dash: str
    points: tuple[TrendPoint, ...]
    #: ``(x1, y1, x2, y2)``: consecutive waves with an estimate and the same questionnaire.
    lines: tuple[tuple[float, float, float, float], ...]
    legend_y: float


@dataclass(frozen=True)
class TrendChart:
    """Series over waves, the waves' labels, the questionnaire breaks and the chart's size."""

    scale: Scale
    series: list[TrendSeries]
    #: ``(x, label)`` of each wave along the bottom.
    waves: list[tuple[float, str]]
    #: ``(x, label)`` of each break: the questionnaire version changes before that wave.
    breaks: list[tuple[float, str]]
    plot_top: float
    plot_bottom: float
    label_y: float
    slanted: bool
    point_labels: bool
    width: int
    height: int
    left: float = TREND_LEFT
    right: float = TREND_RIGHT

    @property
    def ticks(self) -> list[float]:
        return self.scale.ticks(4)


def trend_axis(series: list | tuple) -> tuple[float, float]:
    """The 0..1 axis range that holds every estimate and interval of ``series``."""
    return percent_axis([value for points in series for value in interval_values(points)])


def trend_chart(
    waves: list[str],
    series: list[tuple[str, list[dict | None]]],
    breaks: dict[int, str] | None = None,
    *,
    axis: tuple[float, float] | None = None,
    plot_height: int = TREND_HEIGHT,
) -> TrendChart:
    """Points with interval whiskers over ``waves`` (in time order, evenly spaced), one
    series per ``(label, values)``; ``values`` has one ``{estimate, ci_low, ci_high,
    flags}`` or None per wave.

    ``breaks`` maps the index of each wave whose questionnaire differs from the
    previous wave's to a label: a dashed line is drawn before it, and no line
    joins the points across it. ``axis`` is the 0..1 range (shared by small
    multiples); by default the one that holds these values. Several series are
    nudged sideways so that their whiskers stay apart.
    """
    breaks = breaks or {}
    legend_rows = len(series) if len(series) > 1 else 0
    plot_top = 4 + legend_rows * LEGEND_ROW + 12
    plot_bottom = plot_top + plot_height
    low, high = axis or trend_axis([values for _label, values in series])
    scale = Scale(low, high, plot_bottom, plot_top)
    slot = (TREND_RIGHT - TREND_LEFT) / max(len(waves), 1)
    centres = [round(TREND_LEFT + (i + 0.5) * slot, 2) for i in range(len(waves))]
    longest = max((len(code) for code in waves), default=0) * CHAR_WIDTH
    slanted = longest > slot - 4
    label_room = (longest * 0.7 + 14) if slanted else 18
    nudge = min(6.0, slot / (2 * max(len(series), 1)))
    drawn = [
        _trend_series(label, values, centres, breaks, scale,
                      (k - (len(series) - 1) / 2) * nudge, k, 4 + k * LEGEND_ROW)
        for k, (label, values) in enumerate(series)
    ]  # fmt: skip
    return TrendChart(
        scale=scale,
        series=drawn,
        waves=list(zip(centres, waves, strict=True)),
        breaks=[(round(TREND_LEFT + i * slot, 2), label) for i, label in sorted(breaks.items())],
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        label_y=plot_bottom + 14,
        slanted=slanted,
        point_labels=len(series) == 1 and len(waves) <= POINT_LABEL_MAX_WAVES,
        width=CHART_WIDTH,
        height=int(math.ceil(plot_bottom + label_room + 4)),
    )


def _trend_series(
    label: str,
    values: list[dict | None],
    centres: list[float],
    breaks: dict[int, str],
    scale: Scale,
    offset: float,
    k: int,
    legend_y: float,
) -> TrendSeries:
    points: list[TrendPoint | None] = []
    for x, value in zip(centres, values, strict=True):
        if value is None or value.get("estimate") is None:
            points.append(None)
            continue
        points.append(
            TrendPoint(
                x=round(x + offset, 2),
                y=scale(value["estimate"]),
                y_low=scale.optional(value.get("ci_low")),
                y_high=scale.optional(value.get("ci_high")),
                estimate=value["estimate"],
                flagged=cautious(value.get("flags")),
            )
        )
    lines = tuple(
        (a.x, a.y, b.x, b.y)
        for i, (a, b) in enumerate(zip(points, points[1:], strict=False), start=1)
        if a is not None and b is not None and i not in breaks
    )
    return TrendSeries(
        label=label,
        marker=MARKERS[k % len(MARKERS)],
        dash=DASHES[k % len(DASHES)],
        points=tuple(p for p in points if p is not None),
        lines=lines,
        legend_y=legend_y,
    )
