"""What every chart shares: the drawing's width, linear scales and their ticks, the
axis ranges of shares, the greys, the caution flags and labels shortened to fit."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

#: Width of every chart's drawing, in SVG units. With the ``.chart`` width of
#: ``static/backoffice.css``, its 12-unit text renders near the page's body size on a
#: desktop and about 10 px high on a 360 px phone.
CHART_WIDTH = 400
#: Fills from dark to light that stay apart when printed in grey scale.
GREYS = ("#1a1a1a", "#555555", "#8c8c8c", "#bdbdbd", "#e0e0e0")
#: Height of a legend's line.
LEGEND_ROW = 18
#: Characters of a label before it is shortened with "…" (the full name is in the table).
LABEL_LIMIT = 38
#: The flags that call for caution: few answers, a wide interval, or one sampling unit
#: (whose interval, of width 0, would otherwise look the most certain of all).
CAUTION_FLAGS = frozenset({"small_n", "wide_ci", "one_psu"})


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

    def optional(self, value: float | None) -> float | None:
        """Where ``value`` lands, or None where there is no value (a missing interval end)."""
        return None if value is None else self(value)

    def ticks(self, count: int = 5) -> list[float]:
        """About ``count`` round values between ``low`` and ``high``."""
        return nice_ticks(self.low, self.high, count)


def nice_step(raw: float, slack: float = 0.0) -> float:
    """The smallest step of 1, 2, 5 or 10 times a power of ten that is at least ``raw``
    (less ``slack``, for a ``raw`` computed with rounding errors)."""
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw - slack)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering ``[low, high]``."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    step = nice_step((high - low) / max(count, 1))
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def percent_axis(values: Iterable[float | None], *, pad: float = 0.05) -> tuple[float, float]:
    """An axis range on the 0..1 scale that holds ``values`` (estimates and CI ends),
    widened by ``pad`` and kept within 0..1, so small differences are not flattened
    against a 0 baseline nor cut at 100 %."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return 0.0, 1.0
    low = max(0.0, math.floor((min(known) - pad) * 20) / 20)
    high = min(1.0, math.ceil((max(known) + pad) * 20) / 20)
    return (low, high) if high > low else (0.0, 1.0)


def interval_values(rows: Iterable[dict | None]) -> list[float | None]:
    """The estimates and interval ends of ``rows`` (None rows skipped): what an axis must hold."""
    values: list[float | None] = []
    for row in rows:
        if row is not None:
            values += [row["estimate"], row.get("ci_low"), row.get("ci_high")]
    return values


def cautious(flags: Iterable[str] | None) -> bool:
    """Whether an estimate with ``flags`` is read with caution (drawn open or hatched)."""
    return bool(CAUTION_FLAGS & set(flags or ()))


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
