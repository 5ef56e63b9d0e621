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
