"""Estimates with their intervals: bars per unit, a profile of the dimensions.

Templates: ``templates/charts/bars.html`` and ``profile.html``.
"""

from __future__ import annotations

from dataclasses import dataclass

from survey.charts.bands import BAND_END, BAND_START, BandChart, BandMark, band
from survey.charts.scales import Scale, cautious, interval_values, percent_axis


@dataclass(frozen=True)
class EstimateMark(BandMark):
    """One estimate placed on an estimate chart (values on the 0..1 scale)."""

    flags: tuple[str, ...]
    #: The whole wave's value of the same index, for a profile of one unit.
    reference: float | None
    #: The estimate's valid answers and design effect, for the table beside the chart.
    n: int | None = None
    deff: float | None = None

    @property
    def flagged(self) -> bool:
        """Read with caution: few answers, a wide interval or one sampling unit (drawn
        hatched)."""
        return cautious(self.flags)


@dataclass(frozen=True)
class EstimateChart(BandChart):
    """Estimate marks, their scale and the chart's size; ``reference`` is a vertical line
    (0..1) and ``baseline`` where bars start."""

    marks: list[EstimateMark]
    reference: float | None = None

    @property
    def baseline(self) -> float:
        """Where bars start: the left end of the axis (``scale.low``)."""
        return self.scale(self.scale.low)


def unit_bars(rows: list[dict], reference: float | None = None) -> EstimateChart:
    """Horizontal bars with whiskers, one per row, highest estimate first.

    ``rows`` have ``label`` (full; ``short`` if the caller shortened it, e.g. with
    :func:`~survey.charts.scales.unit_label`), ``estimate``, ``ci_low``, ``ci_high``
    and ``flags``; a row without an estimate keeps its band (labelled, no bar) at
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
    references = [reference, *(row.get("reference") for row in rows)]
    scale = Scale(*percent_axis(references + interval_values(rows)), BAND_START, BAND_END)
    marks = [
        EstimateMark(
            **band(row, i),
            flags=tuple(row.get("flags") or ()),
            reference=row.get("reference"),
            n=row.get("n"),
            deff=row.get("deff"),
        )
        for i, row in enumerate(rows)
    ]
    return EstimateChart.of(scale, marks, reference=reference)
