"""Importance x performance: each dimension's effect on overall satisfaction against its
index, both with their intervals.

Template: ``templates/charts/importance.html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from survey.charts.scales import CHART_WIDTH, Scale, nice_ticks, percent_axis

#: Height of the importance chart's drawing; the plot runs from ``IMPORTANCE_LEFT`` (the
#: effect labels to its left) to ``IMPORTANCE_RIGHT``, from ``IMPORTANCE_TOP`` down to
#: ``IMPORTANCE_BOTTOM`` (the index labels and the axis name below it).
IMPORTANCE_HEIGHT = 330
IMPORTANCE_LEFT, IMPORTANCE_RIGHT = 48.0, 388.0
IMPORTANCE_TOP, IMPORTANCE_BOTTOM = 24.0, 286.0


@dataclass(frozen=True)
class ImportancePoint:
    """A dimension placed: its index across (0..1), its effect up, with both intervals."""

    label: str
    full_label: str
    x: float
    y: float
    x_low: float | None
    x_high: float | None
    y_low: float | None
    y_high: float | None
    #: Where the label goes (``anchor`` "start" or "end"), clear of the labels before it.
    label_x: float = 0.0
    label_y: float = 0.0
    anchor: str = "start"


@dataclass(frozen=True)
class ImportanceChart:
    """Points, both scales, the reference lines at the means, and the chart's size."""

    x_scale: Scale
    y_scale: Scale
    points: list[ImportancePoint]
    #: Where the mean index (across) and the mean effect (up) are drawn; None without points.
    mean_x: float | None
    mean_y: float | None
    width: int = CHART_WIDTH
    height: int = IMPORTANCE_HEIGHT
    left: float = IMPORTANCE_LEFT
    right: float = IMPORTANCE_RIGHT
    top: float = IMPORTANCE_TOP
    bottom: float = IMPORTANCE_BOTTOM

    def x_ticks(self) -> list[float]:
        return self.x_scale.ticks(5)

    def y_ticks(self) -> list[float]:
        return self.y_scale.ticks(5)

    @property
    def y_decimals(self) -> int:
        """Decimals that tell the effect ticks apart."""
        ticks = self.y_ticks()
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        return max(0, -math.floor(math.log10(step) + 1e-9))


def effect_axis(values: list[float | None]) -> tuple[float, float]:
    """An axis for regression effects that holds ``values`` and 0, ends on round ticks."""
    known = [v for v in values if v is not None and math.isfinite(v)] + [0.0]
    low, high = min(known), max(known)
    if high - low < 1e-12:
        return low - 1.0, high + 1.0
    ticks = nice_ticks(low, high, 5)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else high - low
    return (
        round(math.floor(low / step + 1e-9) * step, 10),
        round(math.ceil(high / step - 1e-9) * step, 10),
    )


def importance_chart(rows: list[dict]) -> ImportanceChart:
    """Each row's ``index`` (with ``index_low``, ``index_high``; 0..1) across and its
    ``effect`` (with ``effect_low``, ``effect_high``) up, labelled ``label`` (short)
    with ``full_label``; reference lines at the mean index and the mean effect."""
    across: list[float | None] = []
    up: list[float | None] = []
    for row in rows:
        across += [row["index"], row["index_low"], row["index_high"]]
        up += [row["effect"], row["effect_low"], row["effect_high"]]
    x_scale = Scale(*percent_axis(across), IMPORTANCE_LEFT, IMPORTANCE_RIGHT)
    y_scale = Scale(*effect_axis(up), IMPORTANCE_BOTTOM, IMPORTANCE_TOP)

    placed = [row for row in rows if row["index"] is not None and row["effect"] is not None]
    dots = [(x_scale(row["index"]), y_scale(row["effect"])) for row in placed]
    points: list[ImportancePoint] = []
    taken: list[tuple[float, float, str]] = []
    for row, (x, y) in zip(placed, dots, strict=True):
        label_x, label_y, anchor = _label_place(x, y, taken, dots)
        taken.append((label_x, label_y, anchor))
        points.append(
            ImportancePoint(
                label=row["label"],
                full_label=row["full_label"],
                x=x,
                y=y,
                x_low=x_scale.optional(row["index_low"]),
                x_high=x_scale.optional(row["index_high"]),
                y_low=y_scale.optional(row["effect_low"]),
                y_high=y_scale.optional(row["effect_high"]),
                label_x=label_x,
                label_y=label_y,
                anchor=anchor,
            )
        )
    mean_x = x_scale(sum(r["index"] for r in placed) / len(placed)) if placed else None
    mean_y = y_scale(sum(r["effect"] for r in placed) / len(placed)) if placed else None
    return ImportanceChart(x_scale, y_scale, points, mean_x, mean_y)


#: Room a point's label takes (a dimension code in 12-unit bold text), to keep labels apart.
POINT_LABEL_WIDTH, POINT_LABEL_HEIGHT = 30.0, 13.0


def _label_place(
    x: float, y: float, taken: list[tuple[float, float, str]], dots: list[tuple[float, float]]
) -> tuple[float, float, str]:
    """The first of four places around a point (above right, below right, above left,
    below left) whose label overlaps neither a label already placed nor another point."""
    places = [(x + 7, y - 6, "start"), (x + 7, y + 15, "start"),
              (x - 7, y - 6, "end"), (x - 7, y + 15, "end")]  # fmt: skip

    def left(lx: float, anchor: str) -> float:
        return lx if anchor == "start" else lx - POINT_LABEL_WIDTH

    def clear(lx: float, ly: float, anchor: str) -> bool:
        start = left(lx, anchor)
        labels = all(
            abs(start - left(ox, other)) >= POINT_LABEL_WIDTH or abs(ly - oy) >= POINT_LABEL_HEIGHT
            for ox, oy, other in taken
        )
        points = all(
            not (start - 5 < px < start + POINT_LABEL_WIDTH + 5 and ly - POINT_LABEL_HEIGHT - 5
                 < py < ly + 5)
            for px, py in dots
            if (px, py) != (x, y)
        )  # fmt: skip
        return labels and points

    lx, ly, anchor = next((place for place in places if clear(*place)), places[0])
    return round(lx, 2), round(ly, 2), anchor
