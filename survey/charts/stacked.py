"""The answers to each item: 100 % stacked bars, the satisfied share and the "not
applicable" share apart.

Template: ``templates/charts/stacked.html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from survey.charts.scales import CHART_WIDTH, GREYS, LEGEND_ROW, shorten

#: The stacked bar of the valid answers (100 %), the satisfied share's column, and the
#: "not applicable" column: a small bar of its own (0-100 % of all responses) and its share.
STACK_START, STACK_END = 4.0, 256.0
SATISFIED_X = 262.0
NA_START, NA_END = 318.0, 350.0
STACK_RIGHT = 396.0
#: One item's band: its label line, then the bar with the satisfied underline.
STACK_ROW = 44
#: A segment narrower than this (SVG units) carries no percent label (the table has it).
SEGMENT_LABEL_MIN = 24.0
#: Characters of an item's label, without and with a "blank" note beside it.
STACK_LABEL_LIMIT, STACK_LABEL_LIMIT_NOTED = 60, 44
#: Fills for patterns of ``templates/charts/_svg.html`` rather than colours.
PATTERNS = ("hatch", "dots")


def answer_fills(values: list | tuple, satisfied: frozenset | set) -> dict:
    """A fill for each answer value of a scale, readable in grey scale.

    The satisfied values are the darkest (the best black), so that their part
    of a stacked bar stands out; the others go from hatching (the worst)
    through dots to light grey (the neutral middle).
    """
    low = [v for v in values if v not in satisfied]
    high = [v for v in values if v in satisfied]
    low_fills = (["hatch", "dots"] + [GREYS[3]] * len(low))[: len(low) - 1] + [GREYS[4]]
    high_fills = ([GREYS[2]] * len(high) + [GREYS[1], GREYS[0]])[2:]
    return dict(zip(low, low_fills, strict=False)) | dict(zip(high, high_fills, strict=True))


@dataclass(frozen=True)
class Segment:
    """One answer value's part of an item's stacked bar."""

    value: int | str
    x: float
    width: float
    share: float
    fill: str
    satisfied: bool

    @property
    def pattern(self) -> bool:
        return self.fill in PATTERNS

    @property
    def labelled(self) -> bool:
        """Wide enough, and plain enough, to carry its percent."""
        return self.width >= SEGMENT_LABEL_MIN and not self.pattern

    @property
    def text_fill(self) -> str:
        return "#ffffff" if self.fill in GREYS[:2] else "#1a1a1a"

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class StackedRow:
    """An item's band: label, segments, the satisfied part and the shares kept apart."""

    code: str
    label: str
    full_label: str
    y: float
    segments: tuple[Segment, ...]
    satisfied: float | None
    #: ``(start, end)`` of each run of adjacent satisfied segments, underlined.
    satisfied_spans: tuple[tuple[float, float], ...]
    not_applicable: float | None
    blank: float

    @property
    def label_y(self) -> float:
        return self.y + 12

    @property
    def bar_y(self) -> float:
        return self.y + 17

    @property
    def underline_y(self) -> float:
        return self.y + 35

    @property
    def value_y(self) -> float:
        return self.y + 30

    @property
    def na_width(self) -> float:
        return round((self.not_applicable or 0.0) * (NA_END - NA_START), 2)


@dataclass(frozen=True)
class LegendEntry:
    label: str
    fill: str
    x: float
    y: float


@dataclass(frozen=True)
class StackedChart:
    """Stacked bars of the answers to several items, their legend and the chart's size."""

    rows: list[StackedRow]
    legend: list[LegendEntry]
    #: Where the legend's "not applicable" and "satisfied" entries go (None: not shown).
    na_legend_y: float | None
    satisfied_legend_y: float
    header_y: float
    has_not_applicable: bool
    width: int
    height: int

    start: float = STACK_START
    end: float = STACK_END
    satisfied_x: float = SATISFIED_X
    na_start: float = NA_START
    na_end: float = NA_END
    right: float = STACK_RIGHT


def stacked_bars(items: list[dict], legend: list[tuple[str, int | str]]) -> StackedChart:
    """100 % stacked bars, one per item in the given order.

    Each of ``items`` has ``code``, ``label`` (full), ``shares`` (``(value,
    share)`` pairs in the scale's order, shares of the valid answers summing
    to 1, or None without valid answers), ``satisfied`` (the satisfied values),
    ``satisfied_share``, ``not_applicable`` (share of all responses, None when
    the scale has no such option) and ``blank``. ``legend`` is ``(label,
    value)`` for each answer value to explain, with the fills of the first
    item's scale (every item of a chart is expected to share it).
    """
    fills = _fills(items[0]) if items else {}
    entries = [
        LegendEntry(
            label, fills.get(value, GREYS[4]), STACK_START + (i % 2) * 198, 4 + i // 2 * LEGEND_ROW
        )
        for i, (label, value) in enumerate(legend)
    ]
    y = 4 + math.ceil(len(entries) / 2) * LEGEND_ROW
    has_na = any(item["not_applicable"] is not None for item in items)
    na_legend_y = y if has_na else None
    y += LEGEND_ROW if has_na else 0
    satisfied_legend_y = y
    header_y = y + LEGEND_ROW + 12
    top = header_y + 6
    rows = [_stacked_row(item, top + i * STACK_ROW) for i, item in enumerate(items)]
    height = int(top + len(rows) * STACK_ROW + 4)
    return StackedChart(
        rows, entries, na_legend_y, satisfied_legend_y, header_y, has_na, CHART_WIDTH, height
    )


def _fills(item: dict) -> dict:
    """The fill of each answer value of ``item``'s scale."""
    return answer_fills([value for value, _share in item["shares"]], item["satisfied"])


def _stacked_row(item: dict, y: float) -> StackedRow:
    fills = _fills(item)
    segments, x = [], STACK_START
    for value, share in item["shares"]:
        if share is None:
            continue
        width = round(share * (STACK_END - STACK_START), 2)
        segments.append(Segment(value, round(x, 2), width, share, fills[value],
                                value in item["satisfied"]))  # fmt: skip
        x += share * (STACK_END - STACK_START)
    limit = STACK_LABEL_LIMIT_NOTED if item["blank"] else STACK_LABEL_LIMIT
    label = f"{item['code']} {item['label']}"
    return StackedRow(
        code=item["code"],
        label=shorten(label, limit),
        full_label=label,
        y=y,
        segments=tuple(segments),
        satisfied=item["satisfied_share"],
        satisfied_spans=_runs(segments),
        not_applicable=item["not_applicable"],
        blank=item["blank"],
    )


def _runs(segments: list[Segment]) -> tuple[tuple[float, float], ...]:
    """The extent of each run of adjacent satisfied segments."""
    runs: list[tuple[float, float]] = []
    for segment in segments:
        if not segment.satisfied or segment.width <= 0:
            continue
        end = round(segment.x + segment.width, 2)
        if runs and abs(runs[-1][1] - segment.x) < 0.02:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((segment.x, end))
    return tuple(runs)
