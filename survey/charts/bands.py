"""Charts of one horizontal band per estimate: a label line (the name, and the value at
the right end), then the mark with its interval whisker. Labels sit on their own line
above each mark, so long unit names take the whole width instead of squeezing the axis
on a phone. The estimates per unit, a profile and the differences are drawn so; their
label lines and whiskers are ``templates/charts/_svg.html``'s ``band_labels`` and
``band_whisker``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from survey.charts.scales import CHART_WIDTH, Scale, shorten

#: Left and right ends of the value axis, with room for the end ticks' labels.
BAND_START, BAND_END = 16.0, 384.0
#: Height of one band: a label line, then the mark with its whisker.
BAND_ROW = 34
#: Room for the tick labels above the first band.
BAND_TOP = 26


@dataclass(frozen=True)
class BandMark:
    """One estimate placed in its band (values on the scale of shares)."""

    label: str
    full_label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    #: Top of the mark's band.
    y: float

    @property
    def label_y(self) -> float:
        return self.y + 12

    @property
    def mark_y(self) -> float:
        """Middle of the bar, dot and whisker."""
        return self.y + 23


@dataclass(frozen=True)
class BandChart:
    """Marks in bands, their scale and the chart's size."""

    scale: Scale
    marks: list[BandMark]
    width: int
    height: int
    #: Room below the last band, for a note under the axis.
    bottom: int = 30

    @classmethod
    def of(cls, scale: Scale, marks: list, **fields: Any) -> Self:
        """The chart of ``marks`` on ``scale``, as tall as its bands and the room below."""
        height = BAND_TOP + len(marks) * BAND_ROW + fields.get("bottom", cls.bottom)
        return cls(scale=scale, marks=marks, width=CHART_WIDTH, height=height, **fields)

    @property
    def axis_top(self) -> float:
        return BAND_TOP - 8

    @property
    def axis_bottom(self) -> float:
        return self.height - self.bottom + 4

    @property
    def note_y(self) -> float:
        return self.height - 10


def band(row: dict, i: int) -> dict[str, Any]:
    """The :class:`BandMark` fields of the ``i``-th row: ``label`` (full; ``short`` if the
    caller shortened it), ``estimate``, ``ci_low`` and ``ci_high``."""
    return {
        "label": row.get("short") or shorten(row["label"]),
        "full_label": row["label"],
        "estimate": row["estimate"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "y": BAND_TOP + i * BAND_ROW,
    }
