"""Driver analysis: which service dimension moves overall satisfaction most.

Each respondent gets a score per service dimension: the mean of the
dimension's item indicators (1 satisfied, 0 not) among the items they
answered, missing if they answered none ("not applicable" and blank are not
answers). The outcome is the questionnaire's "in general" (*nói chung*)
satisfaction:

* the service part's own "in general" item where the questionnaire has one
  (the household form's ``S-0``): its 0/1 indicator;
* otherwise the mean of the five dimensions' "in general" items among those
  the respondent answered (the desk form's ``S-A0`` ... ``S-E0``): a share
  between 0 and 1.

The outcome is regressed on the five scores with ``analysis.glm`` (R's
``svyglm``) on the wave's own design -- strata, PSUs, fpc and weights -- so
the standard errors are design-based. A respondent without the outcome or
without a score is left out of the fit but not out of the design (R's
``na.omit`` in ``svyglm``), and a reader tied to units gets the fit over
their units' respondents as a domain of the whole design (R's ``svyglm`` on
``subset(design, ...)``).

Two families are offered:

* ``gaussian`` (the default): a linear model of the outcome's share. The
  method's indices are linear: an item's index is the share of satisfied
  answers and every index above it a plain mean of those shares. A linear
  coefficient is in the same unit: one more point of a dimension's score
  goes with that many points of overall satisfaction, so the effects compare
  with each other and with the dimensions' indices on the performance axis.
  It also takes the desk form's outcome, a share of several items, as it is.
* ``binomial``: a logistic model of being satisfied overall (1 when more
  than half of the outcome's items answered are satisfied -- for a single
  item, when it is). Its coefficients are log odds ratios: a view for readers
  used to logistic models, fitted as R's ``quasibinomial``.

The "importance" of a dimension is its coefficient (with its t interval on the
model's residual degrees of freedom); its "performance" is its index on the
same design and rows (``analysis.sipas_index``, the results page's number),
with its Wald interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from flask_babel import lazy_gettext as _l

from survey.auth.policy import UnitScope
from survey.errors import UserError
from survey.models import Wave
from survey.questionnaire import Questionnaire
from survey.services.questionnaires import questionnaire_of

FAMILIES = ("gaussian", "binomial")
DEFAULT_FAMILY = "gaussian"
SERVICE = "service"
#: The outcome columns of the driver frame: the share for ``gaussian``, 0/1 for ``binomial``.
OUTCOME = {"gaussian": "outcome", "binomial": "satisfied"}
#: The design and place columns the driver frame keeps.
DESIGN_COLUMNS = ("stratum", "psu", "fpc", "weight", "province", "commune", "desk", "unit_id")


@dataclass(frozen=True)
class DriverFrame:
    """One row per valid response: design columns, the outcome and the dimension scores."""

    data: pd.DataFrame
    #: the service dimensions' codes, in the questionnaire's order.
    dimensions: tuple[str, ...]
    #: the "in general" items the outcome is made of.
    outcome_items: tuple[str, ...]
    #: whether the outcome is the service part's own item ("part") or the mean of the
    #: dimensions' items ("dimensions").
    outcome_source: str

    @staticmethod
    def column(dimension: str) -> str:
        """The column of a dimension's score: ``S-A`` is ``S_A`` (a name formulas can use)."""
        return dimension.replace("-", "_")

    def formula(self, family: str) -> str:
        terms = " + ".join(self.column(code) for code in self.dimensions)
        return f"{OUTCOME[family]} ~ {terms}"


@dataclass(frozen=True)
class Driver:
    """One dimension: its effect on the outcome and its index, each with an interval."""

    dimension: str
    label: str
    term: str
    effect: float
    effect_low: float | None
    effect_high: float | None
    p_value: float | None
    index: float | None
    index_low: float | None
    index_high: float | None


@dataclass(frozen=True)
class DriverAnalysis:
    """What the drivers page shows."""

    family: str
    level: float
    outcome_items: tuple[str, ...]
    outcome_source: str
    #: R's ``summary(svyglm)`` rows: term, estimate, se, statistic, p_value, df, ci_low, ci_high.
    coefficients: list[dict[str, Any]]
    drivers: list[Driver]
    n: int
    df_residual: int
    weighting: str


def driver_frame(frame, questionnaire: Questionnaire) -> DriverFrame:
    """The driver rows of a wave's design frame (``design_frame.WaveFrame``).

    Raises UserError if the questionnaire has no service dimension or no
    "in general" satisfaction item to serve as the outcome.
    """
    dimensions = tuple(
        d.code for d in questionnaire.dimensions if d.part == SERVICE and d.code in frame.dimensions
    )
    if not dimensions:
        raise UserError(_l("This questionnaire has no service dimensions to analyse."))
    items, source = _outcome_items(questionnaire, dimensions, frame.data)
    data = frame.data[list(DESIGN_COLUMNS)].copy()
    outcome = frame.data[list(items)].mean(axis=1, skipna=True)
    data["outcome"] = outcome
    data["satisfied"] = (outcome > 0.5).astype(float).where(outcome.notna())
    for code in dimensions:
        data[DriverFrame.column(code)] = frame.data[frame.dimensions[code]].mean(axis=1)
    return DriverFrame(data, dimensions, items, source)


def _outcome_items(
    questionnaire: Questionnaire, dimensions: tuple[str, ...], data: pd.DataFrame
) -> tuple[tuple[str, ...], str]:
    """The service part's "in general" item if anyone answered it, else the dimensions'."""
    part_item = questionnaire.part_overall_item(SERVICE)
    if part_item is not None and data[part_item.code].notna().any():
        return (part_item.code,), "part"
    found = [questionnaire.overall_item(code) for code in dimensions]
    items = tuple(item.code for item in found if item is not None and data[item.code].notna().any())
    if not items:
        raise UserError(
            _l("Nobody answered an “in general” satisfaction item, so there is no outcome.")
        )
    return items, "dimensions"


def fit_drivers(frame: DriverFrame, design, family: str = DEFAULT_FAMILY, inside=None):
    """``analysis.glm`` of the outcome on the dimension scores, on ``design`` (the wave's
    design, whose rows are ``frame.data``'s); only the rows where ``inside`` is true
    (all without it) enter the fit, the others stay in the design."""
    from analysis import glm

    data = frame.data
    if inside is not None:
        data = data.copy()
        outside = ~pd.Series(inside, index=data.index).astype(bool)
        data.loc[outside, list(OUTCOME.values())] = float("nan")
    return glm(replace(design, data=data), frame.formula(family), family=family)


def analyse(
    wave: Wave, scope: UnitScope, *, family: str = DEFAULT_FAMILY, level: float = 0.95
) -> DriverAnalysis:
    """The driver analysis of ``wave`` over the respondents of the reader's units."""
    from survey.services.design_frame import wave_frame

    if family not in FAMILIES:
        raise UserError(_l("Unknown model %(name)s: choose gaussian or binomial.", name=family))
    if not 0 < level < 1:
        raise UserError(_l("The level must be between 0 and 1, like 0.95."))
    frame = wave_frame(wave)
    questionnaire = questionnaire_of(wave.questionnaire)
    drivers = driver_frame(frame, questionnaire)
    inside = None if scope.is_national else frame.data["unit_id"].isin(scope.unit_ids)
    if inside is not None and not inside.any():
        raise UserError(_l("Your units have no valid responses in this wave."))
    try:
        fit = fit_drivers(drivers, frame.design, family, inside)
        indices = _indices(frame, drivers.dimensions, inside)
    except ValueError as error:  # analysis names the problem (too few rows, separation...)
        raise UserError(
            _l("The drivers cannot be estimated: %(reason)s", reason=str(error))
        ) from error
    rows = []
    for code in drivers.dimensions:
        coefficient = fit[DriverFrame.column(code)]
        low, high = coefficient.ci(level)
        index = indices.get(code)
        index_low, index_high = index.ci(level) if index is not None else (None, None)
        rows.append(
            Driver(
                code, questionnaire.dimension(code).name.get(_locale()), coefficient.term,
                coefficient.estimate, _finite(low), _finite(high), _finite(coefficient.p_value),
                _finite(index.estimate) if index is not None else None,
                _finite(index_low), _finite(index_high),
            )
        )  # fmt: skip
    return DriverAnalysis(
        family, level, drivers.outcome_items, drivers.outcome_source, fit.to_records(level), rows,
        fit.n, fit.df_residual, "design" if frame.weighted else "unweighted",
    )  # fmt: skip


def _indices(frame, dimensions: tuple[str, ...], inside) -> dict[str, Any]:
    """Each dimension's index (an ``analysis`` Estimate) over the rows ``inside`` (all
    without it), as a domain of the whole design."""
    from analysis import sipas_index

    chosen = {code: frame.dimensions[code] for code in dimensions}
    by = None if inside is None else inside.rename("inside")
    table = sipas_index(frame.design, chosen, satisfied=(1,), by=by)
    return {
        e.variable: e
        for e in table
        if e.variable in chosen and (e.domain is None or e.domain.get("inside"))
    }


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _locale() -> str:
    """The reader's language; Vietnamese outside a request (the command line)."""
    from flask import has_request_context
    from flask_babel import get_locale

    return str(get_locale() or "vi") if has_request_context() else "vi"
