"""Geometry for the server-rendered SVG charts of the workbench.

Charts are drawn by Jinja macros in ``templates/charts/``; this module only
does the arithmetic: where a value lands on an axis, which ticks to draw.
No chart library reaches the browser. Charts must read on a phone, in print
and in grey scale, so they use SVG presentation attributes (the CSP forbids
inline styles), black and greys, and hatching where a colour would carry
meaning (:data:`GREYS`, ``templates/charts/_svg.html``'s patterns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Fills from dark to light that stay apart when printed in grey scale.
GREYS = ("#1a1a1a", "#555555", "#8c8c8c", "#bdbdbd", "#e0e0e0")


@dataclass(frozen=True)
class Scale:
    """A linear map from values in ``[low, high]`` to pixels in ``[start, end]``."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return self.start
        fraction = (value - self.low) / (self.high - self.low)
        return round(self.start + fraction * (self.end - self.start), 2)

    def ticks(self, count: int = 5) -> list[float]:
        """About ``count`` round values between ``low`` and ``high``."""
        return nice_ticks(self.low, self.high, count)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering ``[low, high]``."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def percent_axis(values: list[float | None], *, pad: float = 0.05) -> tuple[float, float]:
    """An axis range on the 0..1 scale that holds ``values`` (estimates and CI ends),
    widened by ``pad`` and kept within 0..1, so small differences are not flattened
    against a 0 baseline nor cut at 100 %."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return 0.0, 1.0
    low = max(0.0, math.floor((min(known) - pad) * 20) / 20)
    high = min(1.0, math.ceil((max(known) + pad) * 20) / 20)
    return (low, high) if high > low else (0.0, 1.0)


# --- estimates with their intervals: bars per unit, a profile of dimensions ----------

#: Width of the estimate charts' drawing, in SVG units: the chart fills the page up to
#: the ``.chart`` width, and its 12-unit text stays about 10 px high on a 360 px phone.
ESTIMATE_WIDTH = 400
#: Left and right ends of the value axis, with room for the end ticks' labels. Labels sit
#: on their own line above each mark, so long unit names take the whole width instead of
#: squeezing the axis.
ESTIMATE_START, ESTIMATE_END = 16.0, 384.0
#: Height of one unit's band: a label line, then the mark with its whisker.
ESTIMATE_ROW = 34
#: Room for the tick labels above the first band, and below the last one for a note.
ESTIMATE_TOP, ESTIMATE_BOTTOM = 26, 30
#: Characters of a label before it is shortened with "…" (the full name is in the table).
LABEL_LIMIT = 38


@dataclass(frozen=True)
class EstimateMark:
    """One estimate placed on an estimate chart (values on the 0..1 scale)."""

    label: str
    full_label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    flags: tuple[str, ...]
    #: The whole wave's value of the same index, for a profile of one unit.
    reference: float | None
    #: Top of the mark's band.
    y: float
    #: The estimate's valid answers and design effect, for the table beside the chart.
    n: int | None = None
    deff: float | None = None

    @property
    def flagged(self) -> bool:
        """Read with caution: few answers or a wide interval (drawn hatched)."""
        return bool({"small_n", "wide_ci"} & set(self.flags))

    @property
    def label_y(self) -> float:
        return self.y + 12

    @property
    def mark_y(self) -> float:
        """Middle of the bar, dot and whisker."""
        return self.y + 23


@dataclass(frozen=True)
class EstimateChart:
    """Marks, their scale and the chart's size; ``reference`` is a vertical line (0..1)."""

    scale: Scale
    marks: list[EstimateMark]
    reference: float | None
    width: int
    height: int

    @property
    def axis_top(self) -> float:
        return ESTIMATE_TOP - 8

    @property
    def axis_bottom(self) -> float:
        return self.height - ESTIMATE_BOTTOM + 4

    @property
    def note_y(self) -> float:
        return self.height - 10

    @property
    def baseline(self) -> float:
        """Where bars start: the left end of the axis (``scale.low``)."""
        return self.scale(self.scale.low)


def shorten(text: str, limit: int = LABEL_LIMIT) -> str:
    """``text`` in at most ``limit`` characters: its first words, "…", and its last words.

    The end is kept because it tells similar names apart ("Bộ phận Một cửa UBND
    phường …" of every commune): about two thirds of the room go to the last words.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    words, head, tail = text.split(" "), [], []
    while len(words) > 1 and len(" ".join([words[-1], *tail])) <= (limit - 2) * 2 // 3:
        tail.insert(0, words.pop())
    while len(words) > 1 and len(" ".join([*head, words[0], *tail])) + 2 <= limit:
        head.append(words.pop(0))
    if not tail or not head:
        return text[: limit - 1].rstrip() + "…"
    return f"{' '.join(head)}… {' '.join(tail)}"


def unit_label(name: str | None, code: str, limit: int = LABEL_LIMIT) -> str:
    """A unit's name shortened to fit with its code kept whole: ``Thành phố Hà Nội (01)``."""
    if not name:
        return shorten(code, limit)
    return f"{shorten(name, max(limit - len(code) - 3, 8))} ({code})"


def unit_bars(rows: list[dict], reference: float | None = None) -> EstimateChart:
    """Horizontal bars with whiskers, one per row, highest estimate first.

    ``rows`` have ``label`` (full; ``short`` if the caller shortened it, e.g. with
    :func:`unit_label`), ``estimate``, ``ci_low``, ``ci_high`` and
    ``flags``; a row without an estimate keeps its band (labelled, no bar) at
    the end: flagged, never hidden. ``reference`` is the wave's value of the
    same index, drawn as a line across the bars.
    """
    ordered = sorted(rows, key=lambda r: (r["estimate"] is None, -(r["estimate"] or 0.0)))
    return _estimate_chart(ordered, reference)


def profile(rows: list[dict]) -> EstimateChart:
    """Dots with whiskers, one per row in the given order (the questionnaire's dimensions).

    ``rows`` are as for :func:`unit_bars`, each with an optional ``reference``: the
    whole wave's value of the same dimension, drawn as an open diamond.
    """
    return _estimate_chart(rows, None)


def _estimate_chart(rows: list[dict], reference: float | None) -> EstimateChart:
    values = [reference] + [r.get("reference") for r in rows]
    for row in rows:
        values += [row["estimate"], row["ci_low"], row["ci_high"]]
    low, high = percent_axis(values)
    scale = Scale(low, high, ESTIMATE_START, ESTIMATE_END)
    marks = [
        EstimateMark(
            label=row.get("short") or shorten(row["label"]),
            full_label=row["label"],
            estimate=row["estimate"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            flags=tuple(row.get("flags") or ()),
            reference=row.get("reference"),
            y=ESTIMATE_TOP + i * ESTIMATE_ROW,
            n=row.get("n"),
            deff=row.get("deff"),
        )
        for i, row in enumerate(rows)
    ]
    height = ESTIMATE_TOP + len(marks) * ESTIMATE_ROW + ESTIMATE_BOTTOM
    return EstimateChart(scale, marks, reference, ESTIMATE_WIDTH, height)


# --- the answers to each item: 100 % stacked bars ----------------------------------

#: Width of a stacked-bar chart's drawing, as the estimate charts' (text readable on a phone).
STACK_WIDTH = 400
#: The stacked bar of the valid answers (100 %), the satisfied share's column, and the
#: "not applicable" column: a small bar of its own (0-100 % of all responses) and its share.
STACK_START, STACK_END = 4.0, 256.0
SATISFIED_X = 262.0
NA_START, NA_END = 318.0, 350.0
STACK_RIGHT = 396.0
#: One item's band: its label line, then the bar with the satisfied underline.
STACK_ROW = 44
LEGEND_ROW = 18
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
    fills = _legend_fills(items)
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
        rows, entries, na_legend_y, satisfied_legend_y, header_y, has_na, STACK_WIDTH, height
    )


def _legend_fills(items: list[dict]) -> dict:
    if not items:
        return {}
    first = items[0]
    return answer_fills([value for value, _share in first["shares"]], first["satisfied"])


def _stacked_row(item: dict, y: float) -> StackedRow:
    fills = answer_fills([value for value, _share in item["shares"]], item["satisfied"])
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


# --- an index over waves: points with whiskers joined by lines ------------------------

#: Width of a trend chart's drawing; the plot runs from ``TREND_LEFT`` (percent labels to
#: its left) to ``TREND_RIGHT``.
TREND_WIDTH = 400
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
    values: list[float | None] = []
    for points in series:
        for point in points:
            if point is not None:
                values += [point["estimate"], point.get("ci_low"), point.get("ci_high")]
    return percent_axis(values)


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
        width=TREND_WIDTH,
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
        low, high = value.get("ci_low"), value.get("ci_high")
        points.append(
            TrendPoint(
                x=round(x + offset, 2),
                y=scale(value["estimate"]),
                y_low=None if low is None else scale(low),
                y_high=None if high is None else scale(high),
                estimate=value["estimate"],
                flagged=bool({"small_n", "wide_ci"} & set(value.get("flags") or ())),
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


# --- differences around zero: two waves or two units side by side ----------------------

#: Width of a difference chart's drawing, as the estimate charts' (readable on a phone).
DIFFERENCE_WIDTH = 400
#: Ends of the axis of differences (A - B), symmetric around the zero line in the middle.
DIFFERENCE_START, DIFFERENCE_END = 16.0, 384.0
#: One index's band: its label line, then the dot with its whisker.
DIFFERENCE_ROW = 34
#: Room for the tick labels above the first band, and below the last for "who is better".
DIFFERENCE_TOP, DIFFERENCE_BOTTOM = 26, 34


@dataclass(frozen=True)
class DifferenceMark:
    """One difference ``A - B`` placed (values on the -1..1 scale of shares)."""

    label: str
    full_label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    #: Its interval leaves out 0: drawn as a filled dot, an open one otherwise.
    significant: bool
    y: float

    @property
    def label_y(self) -> float:
        return self.y + 12

    @property
    def mark_y(self) -> float:
        return self.y + 23


@dataclass(frozen=True)
class DifferenceChart:
    """Differences with their intervals around a zero line; the chart's size."""

    scale: Scale
    marks: list[DifferenceMark]
    width: int
    height: int

    @property
    def zero(self) -> float:
        return self.scale(0.0)

    @property
    def axis_top(self) -> float:
        return DIFFERENCE_TOP - 8

    @property
    def axis_bottom(self) -> float:
        return self.height - DIFFERENCE_BOTTOM + 4

    @property
    def note_y(self) -> float:
        return self.height - 10

    def ticks(self) -> list[float]:
        return self.scale.ticks(4)


def difference_axis(values: list[float | None], *, pad: float = 0.02) -> tuple[float, float]:
    """An axis symmetric around 0 (on the scale of shares) that holds ``values``, widened
    by ``pad`` and ending on a round tick (at least 5 points), so that "A better" and
    "B better" take the same room on either side of the zero line."""
    known = [abs(v) for v in values if v is not None and math.isfinite(v)]
    reach = max(max(known, default=0.0) + pad, 0.05)
    power = 10 ** math.floor(math.log10(reach / 2))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= reach / 2 - 1e-12)
    reach = round(math.ceil(reach / step - 1e-9) * step, 10)
    return -reach, reach


def difference_chart(rows: list[dict]) -> DifferenceChart:
    """Dots with interval whiskers for differences ``A - B``, one per row in the given order.

    Each row has ``label`` (full), ``estimate``, ``ci_low``, ``ci_high`` (None where
    there is nothing to draw) and ``significant``.
    """
    values: list[float | None] = []
    for row in rows:
        values += [row["estimate"], row["ci_low"], row["ci_high"]]
    low, high = difference_axis(values)
    scale = Scale(low, high, DIFFERENCE_START, DIFFERENCE_END)
    marks = [
        DifferenceMark(
            label=row.get("short") or shorten(row["label"]),
            full_label=row["label"],
            estimate=row["estimate"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            significant=bool(row["significant"]),
            y=DIFFERENCE_TOP + i * DIFFERENCE_ROW,
        )
        for i, row in enumerate(rows)
    ]
    height = DIFFERENCE_TOP + len(marks) * DIFFERENCE_ROW + DIFFERENCE_BOTTOM
    return DifferenceChart(scale, marks, DIFFERENCE_WIDTH, height)


# --- importance x performance: each dimension's effect against its index ---------------

#: Width of the importance chart's drawing; the plot runs from ``IMPORTANCE_LEFT`` (the
#: effect labels to its left) to ``IMPORTANCE_RIGHT``, from ``IMPORTANCE_TOP`` down to
#: ``IMPORTANCE_BOTTOM`` (the index labels and the axis name below it).
IMPORTANCE_WIDTH, IMPORTANCE_HEIGHT = 400, 330
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
    width: int = IMPORTANCE_WIDTH
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

    def place(scale: Scale, value: float | None) -> float | None:
        return None if value is None else scale(value)

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
                x_low=place(x_scale, row["index_low"]),
                x_high=place(x_scale, row["index_high"]),
                y_low=place(y_scale, row["effect_low"]),
                y_high=place(y_scale, row["effect_high"]),
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
