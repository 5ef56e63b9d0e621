"""Differences around zero: two waves or two units side by side.

Template: ``templates/charts/difference.html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from survey.charts.bands import BAND_END, BAND_START, BandChart, BandMark, band
from survey.charts.scales import Scale, interval_values, nice_step, shorten

#: Characters of a side's name in the notes under the axis: "← B better" left of the zero
#: line and "A better →" right of it, each in half the width; or, where a name is longer,
#: each on a line of its own.
SIDE_LIMIT, SIDE_LIMIT_APART = 19, 44
#: Room below the last band for the notes, on one line or two.
NOTE_ROOM, NOTES_APART_ROOM = 34, 50


@dataclass(frozen=True)
class DifferenceMark(BandMark):
    """One difference ``A - B`` placed (values on the -1..1 scale of shares)."""

    #: Its interval leaves out 0: drawn as a filled dot, an open one otherwise.
    significant: bool


@dataclass(frozen=True)
class DifferenceChart(BandChart):
    """Differences with their intervals around a zero line; the chart's size."""

    marks: list[DifferenceMark]
    bottom: int = NOTE_ROOM
    #: The names of the sides A and B for the notes under the axis ("A better"), and
    #: whether those go on two lines (a name too long for half the width).
    a: str = ""
    b: str = ""
    notes_apart: bool = False

    @property
    def zero(self) -> float:
        return self.scale(0.0)

    def ticks(self) -> list[float]:
        return self.scale.ticks(4)


def difference_axis(values: list[float | None], *, pad: float = 0.02) -> tuple[float, float]:
    """An axis symmetric around 0 (on the scale of shares) that holds ``values``, widened
    by ``pad`` and ending on a round tick (at least 5 points), so that "A better" and
    "B better" take the same room on either side of the zero line."""
    known = [abs(v) for v in values if v is not None and math.isfinite(v)]
    reach = max(max(known, default=0.0) + pad, 0.05)
    step = nice_step(reach / 2, slack=1e-12)
    reach = round(math.ceil(reach / step - 1e-9) * step, 10)
    return -reach, reach


def difference_chart(rows: list[dict], a: str = "", b: str = "") -> DifferenceChart:
    """Dots with interval whiskers for differences ``A - B``, one per row in the given order,
    between sides named ``a`` and ``b``.

    Each row has ``label`` (full), ``estimate``, ``ci_low``, ``ci_high`` (None where
    there is nothing to draw) and ``significant``.
    """
    scale = Scale(*difference_axis(interval_values(rows)), BAND_START, BAND_END)
    marks = [
        DifferenceMark(**band(row, i), significant=bool(row["significant"]))
        for i, row in enumerate(rows)
    ]
    if len(a) <= SIDE_LIMIT and len(b) <= SIDE_LIMIT:
        return DifferenceChart.of(scale, marks, a=a, b=b)
    a, b = shorten(a, SIDE_LIMIT_APART), shorten(b, SIDE_LIMIT_APART)
    return DifferenceChart.of(scale, marks, a=a, b=b, notes_apart=True, bottom=NOTES_APART_ROOM)
