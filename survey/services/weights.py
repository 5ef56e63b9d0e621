"""Weight diagnostics of a wave, shown before its weights are used.

Range, CV, Kish design effect and effective n, for the wave and per
stratum, over the rows of the reader's units; desks whose weight is more
than ``EXTREME_WEIGHT_RATIO`` times the median are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from flask import current_app

from analysis import weight_diagnostics
from analysis.calibration import WeightDiagnostics
from survey.auth.policy import NATIONAL, UnitScope
from survey.models import Wave
from survey.services.design_frame import design_rows


@dataclass(frozen=True)
class ExtremeWeight:
    desk: str
    stratum: str
    weight: float
    times_median: float


@dataclass(frozen=True)
class WeightReport:
    weighted: bool
    overall: WeightDiagnostics
    strata: list[tuple[str, WeightDiagnostics]]
    extreme: list[ExtremeWeight]


def weight_report(wave: Wave, scope: UnitScope = NATIONAL) -> WeightReport | None:
    """The diagnostics of the wave's base weights over ``scope``; None without rows there."""
    rows, weighted = design_rows(wave)
    rows = rows[[scope.covers(int(unit_id)) for unit_id in rows["unit_id"]]]
    if rows.empty:
        return None
    strata = [
        (str(stratum), weight_diagnostics(group["weight"].to_numpy()))
        for stratum, group in rows.groupby("stratum", sort=True)
    ]
    return WeightReport(weighted, weight_diagnostics(rows["weight"]), strata, _extreme(rows))


def _extreme(rows: pd.DataFrame) -> list[ExtremeWeight]:
    ratio = float(current_app.config["EXTREME_WEIGHT_RATIO"])
    median = float(rows["weight"].median())
    desks = rows.drop_duplicates("psu")
    flagged = desks[desks["weight"] > ratio * median].sort_values("weight", ascending=False)
    return [
        ExtremeWeight(row.psu, str(row.stratum), float(row.weight), float(row.weight) / median)
        for row in flagged.itertuples()
    ]
