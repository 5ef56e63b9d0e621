"""Two waves, or two units of one wave, side by side: each index, the difference, its
interval and its p-value.

The difference is always ``A - B``: positive means A is more satisfied.

**Two units of one wave** (provinces, communes or desks). Both are domains of
the same design, so their estimates may be correlated: they are whenever the
two units cut across the same strata (two provinces under a frame stratified
by the desks' level, say). One ``analysis.sipas_index`` by the unit field
gives both units' indices and, through ``EstimateTable.vcov``, their joint
covariance; the difference is ``analysis.contrast`` with coefficients
(1, -1) (R's ``svyby(..., covmat=TRUE)`` and ``svycontrast``), its variance
``var A + var B - 2 cov``. The t test uses the design's degrees of freedom
(PSUs minus strata of the wave). A unit that is a single desk (PSU) has no
design variance of its own: such units are compared as fixed desks
(:func:`fixed_psu_design`), and the page says so.

**Two waves** (of the same questionnaire kind). Each wave's numbers are those
of its own results page (``survey.services.results.compute``). The samples
were drawn independently, so the covariance is zero and the variance of the
difference is the sum of the variances (``analysis.contrast.difference``).
The t test uses the degrees of freedom of the two designs together (the sum
of each estimate's PSUs minus strata): what R gives for the two samples
stacked into one design whose strata keep the waves apart.

**The test.** By default the normal distribution, as R's ``svycontrast`` and
``confint``: z = difference / SE, p = 2 Φ(-|z|), interval difference ± z₁₋α/₂
SE, and each side's interval the Wald (normal) one. With ``test="t"``,
Student's t on the degrees of freedom above, and each side's interval the
Wald interval on its own degrees of freedom (the results page's ``wald-t``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from survey.auth.policy import UnitScope
from survey.errors import UserError
from survey.extensions import db
from survey.models import ServicePoint, Unit, Wave
from survey.questionnaire import Questionnaire
from survey.services.questionnaires import questionnaire_of

#: The unit fields two units can be compared by, widest first.
FIELDS = ("province", "commune", "desk")
#: The tests offered: the normal distribution (the default) or Student's t.
TESTS = ("normal", "t")
#: The kinds of index, in the order they are shown.
KINDS = ("overall", "part", "dimension", "item")


@dataclass(frozen=True)
class Place:
    """A province, commune or desk of a wave, by its code: ``Place("province", "01")``."""

    field: str
    code: str

    @property
    def value(self) -> str:
        """The place as a form value, ``"province:01"``."""
        return f"{self.field}:{self.code}"

    @classmethod
    def parse(cls, value: str) -> Place | None:
        """The place a form value names, or None if it is not one."""
        name, _, code = (value or "").partition(":")
        return cls(name, code) if name in FIELDS and code else None


@dataclass(frozen=True)
class Side:
    """One side's estimate (0..1) with its interval and its count of answers."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


@dataclass(frozen=True)
class Difference:
    """One index compared: both sides and ``A - B`` with its interval and p-value."""

    variable: str
    kind: str
    label: str
    a: Side
    b: Side
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    df: int | None

    @property
    def title(self) -> str:
        """The index for people: a dimension's or an item's code, then its name."""
        return f"{self.variable} {self.label}" if self.kind in ("dimension", "item") else self.label

    def significant(self, level: float) -> bool:
        """Whether the difference is significant at ``1 - level`` (its interval excludes 0)."""
        return self.p_value is not None and self.p_value < 1 - level


@dataclass(frozen=True)
class Comparison:
    """What the page shows: the two sides' names, the rows, and how they were computed."""

    a: str
    b: str
    rows: list[Difference]
    test: str
    level: float
    #: "design" or "unweighted", for side A and side B.
    weighting: tuple[str, str]
    notes: list[str] = field(default_factory=list)
    #: Compared holding single-PSU units fixed (:func:`fixed_psu_design`).
    fixed: bool = False


# --- choosing what to compare ---------------------------------------------------


def places(wave: Wave, scope: UnitScope) -> dict[str, list[tuple[Place, str]]]:
    """The provinces, communes and desks with valid responses in ``wave`` that the
    reader may see, each with its label ("01 Thành phố Hà Nội"), by field.

    A province or commune is the reader's if it is one of their units or under
    them; a desk, if its unit is. A wave without valid responses has none.
    """
    from survey.services.design_frame import response_domains

    rows = response_domains(wave)
    if rows.empty:
        return {name: [] for name in FIELDS}
    unit_ids = _unit_ids([*rows["province"], *rows["commune"]])
    desk_units = dict(zip(rows["desk"], rows["unit_id"], strict=True))
    names = _names(rows)
    found: dict[str, list[tuple[Place, str]]] = {name: [] for name in FIELDS}
    for name in fields_of(wave):
        codes = sorted({code for code in rows[name] if code})
        owner = desk_units if name == "desk" else unit_ids
        found[name] = [
            (Place(name, code), f"{code} {names.get((name, code), '')}".strip())
            for code in codes
            if scope.covers(owner.get(code))
        ]
    return found


def fields_of(wave: Wave) -> tuple[str, ...]:
    """The fields whose units can be compared: a household wave has no desks."""
    return FIELDS if wave.questionnaire.kind != "household" else FIELDS[:2]


def _unit_ids(codes: list[str]) -> dict[str, int]:
    wanted = sorted({code for code in codes if code})
    rows = db.session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(wanted)))
    return dict(rows.all())


def _names(rows) -> dict[tuple[str, str], str]:
    """The names of the places in ``rows``: units by code, desks by code."""
    units = sorted({code for name in ("province", "commune") for code in rows[name] if code})
    desks = sorted({code for code in rows["desk"] if code})  # a household paper form has none
    names = {}
    for code, name in db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(units))):
        names[("province", code)] = names[("commune", code)] = name
    query = select(ServicePoint.code, ServicePoint.name).where(ServicePoint.code.in_(desks))
    for code, name in db.session.execute(query):
        names[("desk", code)] = name
    return names


def comparable_waves(wave: Wave, waves: list[Wave]) -> list[Wave]:
    """The other waves of ``waves`` that ask the same kind of questionnaire as ``wave``."""
    kind = wave.questionnaire.kind
    return [other for other in waves if other.id != wave.id and other.questionnaire.kind == kind]


def _check_options(level: float, test: str) -> str:
    """The interval method of each side for ``test``; UserError for a bad level or test."""
    if test not in TESTS:
        raise UserError(_l("Unknown test %(name)s: choose normal or t.", name=test))
    if not 0 < level < 1:
        raise UserError(_l("The level must be between 0 and 1, like 0.95."))
    return "wald" if test == "normal" else "wald-t"


# --- two units of one wave --------------------------------------------------------


def compare_units(
    wave: Wave,
    a: Place,
    b: Place,
    *,
    items: bool = False,
    level: float = 0.95,
    test: str = "normal",
) -> Comparison:
    """Each index of unit ``a`` and unit ``b`` of ``wave`` and their difference ``a - b``.

    Overall, the parts (the headline's, then the others), the dimensions and,
    with ``items``, the items (the dimensions' and the "in general" ones).
    The covariance of the two units' estimates comes from the wave's design
    (see the module's notes), except for units that are a single PSU (see
    :func:`fixed_psu_design`). The caller checks that the reader may see both.
    """
    from survey.services.design_frame import wave_frame

    method = _check_options(level, test)
    if a.field != b.field:
        raise UserError(
            _l("Choose two units of the same kind (two provinces, two communes or two desks).")
        )
    if a == b:
        raise UserError(_l("Choose two different units."))
    frame = wave_frame(wave)
    column = frame.data[a.field]
    for place in (a, b):
        if not (column == place.code).any():
            raise UserError(_l("%(place)s has no valid responses in this wave.", place=place.code))
    design, notes = frame.design, []
    if any(frame.data.loc[column == place.code, "psu"].nunique() == 1 for place in (a, b)):
        design = fixed_psu_design(frame.data[column.isin([a.code, b.code])])
        notes.append(FIXED_PSU_NOTE)
    column = design.data[a.field]
    by = column.where(column.isin([a.code, b.code])).rename(a.field)
    questionnaire = questionnaire_of(wave.questionnaire)
    tables = _unit_tables(wave, frame, design, by, items)
    rows = []
    for table, keep in tables:
        rows += _unit_differences(table, keep, a, b, design.df, level, method)
    weighting = "design" if frame.weighted else "unweighted"
    rows = _ordered(rows, questionnaire, items)
    fixed = bool(notes)
    return Comparison(a.code, b.code, rows, test, level, (weighting, weighting), notes, fixed)


FIXED_PSU_NOTE = _l(
    "A unit compared here is a single sampling unit of the wave's sample (a desk, or a "
    "household cluster), and the sample design measures how those units vary, not how one "
    "unit's respondents do: it gives such a unit's index no interval. The two are therefore "
    "compared holding those sampling units fixed: each interval counts the variation among "
    "their own respondents, with the wave's weights."
)


def fixed_psu_design(data: pd.DataFrame):
    """A design for comparing units that are single PSUs, holding the PSUs fixed.

    In the wave's design a desk (or a commune with one desk) is one PSU: the
    variance of its index comes from the variation between PSUs, so it is
    zero (R's ``svyby`` by the PSU gives SE 0 too), and a test between two
    such units would mean nothing. Holding the desks fixed -- the question a
    desk's manager asks: are *these* two desks' clients differently
    satisfied? -- the sample is the desks' respondents: each PSU becomes a
    stratum and each response its own PSU, with the wave's weights and no
    finite population correction (conservative). A PSU with a single
    response contributes no variance (R's ``lonely.psu = "certainty"``).
    The two units share no stratum, so their covariance is zero, and the t
    test has the responses minus the PSUs as degrees of freedom. In a
    household wave the PSU is the cluster, held fixed the same way.
    """
    from analysis import SurveyDesign

    rows = data.reset_index(drop=True)
    return SurveyDesign.from_frame(
        rows, weights="weight", strata="psu", psu="response_id", lonely_psu="certainty"
    )


def _unit_tables(wave: Wave, frame, design, by, items: bool) -> list[tuple[Any, Any]]:
    """The ``analysis`` tables of the two units' indices on ``design``, each with the
    variables to keep from it (None: all), as ``results.compute`` makes them: the index
    chain; the parts outside the headline; with ``items``, each "in general" item
    anyone answered. UserError naming what ``analysis`` found unusable."""
    try:
        return _tables(frame, design, questionnaire_of(wave.questionnaire), by, items)
    except ValueError as error:
        raise UserError(
            _l("The indices of wave %(code)s cannot be computed: %(reason)s", code=wave.code,
               reason=str(error))
        ) from error  # fmt: skip


def _tables(frame, design, questionnaire: Questionnaire, by, items: bool) -> list[tuple[Any, Any]]:
    from analysis import as_table, mean, sipas_index

    tables: list[tuple[Any, Any]] = [
        (sipas_index(design, frame.dimensions, parts=frame.parts or None, satisfied=(1,), by=by),
         None)
    ]  # fmt: skip
    if frame.other_parts:
        dimensions = {code: frame.dimensions[code] for codes in frame.other_parts.values()
                      for code in codes}  # fmt: skip
        table = sipas_index(design, dimensions, parts=frame.other_parts, satisfied=(1,), by=by)
        tables.append((table, set(frame.other_parts)))
    if items:
        for item in questionnaire.items():
            answered = item.code in design.data and design.data[item.code].notna().any()
            if item.overall and answered:
                tables.append((as_table(mean(design, item.code, by=by, name=item.code)), None))
    return tables


def _unit_differences(table, keep, a: Place, b: Place, df: int, level: float, method: str):
    """A row per variable of ``table`` (those in ``keep``): both units and ``a - b``."""
    import numpy as np

    from analysis import contrast

    position = {}
    for index, estimate in enumerate(table):
        if keep is None or estimate.variable in keep:
            position[(estimate.variable, estimate.domain[a.field])] = index
    variables = list(dict.fromkeys(variable for variable, _code in position))
    coefficients = np.zeros((len(variables), len(table)))
    for row, variable in enumerate(variables):
        coefficients[row, position[(variable, a.code)]] = 1.0
        coefficients[row, position[(variable, b.code)]] = -1.0
    contrasts = contrast(table, coefficients, df=df, names=variables)
    rows = []
    for variable, result in zip(variables, contrasts, strict=True):
        sides = [table[position[(variable, place.code)]] for place in (a, b)]
        rows.append(
            _row(variable, *(_side(e, level, method) for e in sides), result, level, method)
        )
    return rows


def _side(estimate, level: float, method: str) -> Side:
    if not math.isfinite(estimate.estimate):
        return Side(None, None, None, estimate.n)
    low, high = estimate.ci(level, method)
    return Side(estimate.estimate, _finite(low), _finite(high), estimate.n)


def _row(variable: str, a: Side, b: Side, result, level: float, method: str) -> Difference:
    """A row of the comparison from the two sides and the ``analysis`` Contrast."""
    if not math.isfinite(result.estimate):
        return Difference(variable, "", variable, a, b, None, None, None, None, None, None)
    if not (math.isfinite(result.se) and result.se > 0):  # no variance: nothing to test
        return Difference(
            variable, "", variable, a, b, result.estimate, None, None, None, None, None
        )
    low, high = result.ci(level, method)
    p_value = result.pvalue if method == "wald" else result.pvalue_t
    return Difference(
        variable, "", variable, a, b, result.estimate, result.se, _finite(low), _finite(high),
        _finite(p_value), result.df,
    )  # fmt: skip


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


# --- two waves --------------------------------------------------------------------


def compare_waves(
    wave_a: Wave,
    wave_b: Wave,
    place: Place | None = None,
    *,
    items: bool = False,
    level: float = 0.95,
    test: str = "normal",
) -> Comparison:
    """Each index of ``wave_a`` and ``wave_b`` (the whole waves, or ``place`` in both) and
    their difference ``a - b``, from each wave's own results.

    Only indices both questionnaires have are compared. If the two
    questionnaires make their headline of different parts, ``overall`` is not
    the same index in both and is left out, with a note. A place that is a
    single desk (PSU) of either wave's sample is compared as a fixed desk in
    both (see :func:`fixed_psu_design`).
    """
    method = _check_options(level, test)
    if wave_a.id == wave_b.id:
        raise UserError(_l("Choose another wave to compare with."))
    if wave_a.questionnaire.kind != wave_b.questionnaire.kind:
        raise UserError(_l("Only waves of the same kind of questionnaire can be compared."))
    sides = [_wave_estimates(wave, place, method, level) for wave in (wave_a, wave_b)]
    notes = []
    fixed = place is not None and any(_single_psu(found) for _weighting, found in sides)
    if fixed:
        sides = [_fixed_estimates(wave, place) for wave in (wave_a, wave_b)]
        notes.append(FIXED_PSU_NOTE)
    (weighting_a, found_a), (weighting_b, found_b) = sides
    questionnaire_a = questionnaire_of(wave_a.questionnaire)
    questionnaire_b = questionnaire_of(wave_b.questionnaire)
    common = [variable for variable in found_a if variable in found_b]
    if questionnaire_a.headline != questionnaire_b.headline:
        common = [variable for variable in common if variable != "overall"]
        notes.append(
            _l("The two questionnaires make the overall index of different parts (%(a)s; %(b)s), "
               "so it is not compared: compare the parts.",
               a=", ".join(questionnaire_a.headline), b=", ".join(questionnaire_b.headline))
        )  # fmt: skip
    rows = [
        _wave_difference(variable, found_a[variable], found_b[variable], level, method)
        for variable in common
    ]
    rows = _ordered(rows, questionnaire_a, items)
    suffix = f" · {place.code}" if place else ""
    return Comparison(
        f"{wave_a.code}{suffix}", f"{wave_b.code}{suffix}", rows, test, level,
        (weighting_a, weighting_b), notes, fixed,
    )  # fmt: skip


def _wave_estimates(wave: Wave, place: Place | None, method: str, level: float):
    """How ``wave`` is weighted, and its results (the whole wave's or ``place``'s) as
    ``analysis`` Estimates by variable: the numbers of its results page."""
    from analysis.results import Estimate
    from survey.services import results

    by = [place.field] if place else []
    domain = {place.field: place.code} if place else None
    computed = results.compute(wave, by, interval=method, level=level)
    found = {
        row["variable"]: Estimate(
            variable=row["variable"],
            domain=row["domain"],
            estimate=_number(row["estimate"]),
            se=_number(row["se"]),
            df=row["df"],
            deff=row["deff"],
            n=row["n"],
        )  # fmt: skip
        for row in computed.records
        if row["domain"] == domain
    }
    if not found:
        raise _no_responses(place, wave)
    return computed.weighting, found


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _single_psu(found: dict) -> bool:
    """Whether a place's estimates have no design variance: a single PSU of the sample."""
    overall = found.get("overall")
    return overall is not None and math.isfinite(overall.estimate) and overall.se == 0


def _fixed_estimates(wave: Wave, place: Place):
    """How ``wave`` is weighted, and ``place``'s indices on :func:`fixed_psu_design`."""
    from survey.services.design_frame import wave_frame

    frame = wave_frame(wave)
    rows = frame.data[frame.data[place.field] == place.code]
    if rows.empty:
        raise _no_responses(place, wave)
    tables = _unit_tables(wave, frame, fixed_psu_design(rows), None, True)
    found = {
        estimate.variable: estimate
        for table, keep in tables
        for estimate in table
        if keep is None or estimate.variable in keep
    }
    return ("design" if frame.weighted else "unweighted"), found


def _no_responses(place: Place, wave: Wave) -> UserError:
    return UserError(
        _l("%(place)s has no valid responses in wave %(wave)s.", place=place.code, wave=wave.code)
    )


def _wave_difference(variable: str, a, b, level: float, method: str) -> Difference:
    """A row of two waves' estimates of ``variable``, independent samples."""
    from analysis.contrast import difference

    side_a, side_b = _side(a, level, method), _side(b, level, method)
    if not all(math.isfinite(v) for v in (a.estimate, a.se, b.estimate, b.se)):
        return Difference(variable, "", variable, side_a, side_b, *[None] * 6)
    return _row(variable, side_a, side_b, difference(a, b, name=variable), level, method)


# --- order and labels -------------------------------------------------------------


def _ordered(rows: list[Difference], questionnaire: Questionnaire, items: bool) -> list[Difference]:
    """Overall, parts, dimensions, then (with ``items``) items; each row named for the page."""
    labelled = []
    for row in rows:
        kind, label = describe(row.variable, questionnaire)
        if kind == "item" and not items:
            continue
        labelled.append(replace(row, kind=kind, label=label))
    return sorted(labelled, key=lambda row: KINDS.index(row.kind))


def describe(variable: str, questionnaire: Questionnaire) -> tuple[str, str]:
    """The kind of an index (overall, part, dimension, item) and its name for the page
    (in the reader's language; Vietnamese outside a request)."""
    locale = str(get_locale() or "vi") if has_request_context() else "vi"
    if variable == "overall":
        return "overall", _l("Overall (headline)")
    if variable in {dimension.part for dimension in questionnaire.dimensions}:
        return "part", PART_NAMES.get(variable, variable)
    try:
        return "dimension", questionnaire.dimension(variable).name.get(locale)
    except KeyError:
        pass
    try:
        return "item", questionnaire.item(variable).text.get(locale)
    except KeyError:
        return "item", variable


PART_NAMES = {"service": _l("Service delivery"), "policy": _l("Policy")}
