"""Run a wave's SIPAS index computation: the numbers the pages, exports and CLI show.

Every index (item, dimension, part, overall) with its interval, for the
whole wave or by domain fields. With the frame's weights (or none) the
database sums the answers per PSU and domain (``survey.services.wave_sums``:
a national wave never comes into Python row by row); calibrated weights need
the rows (``survey.services.design_frame``). Both paths give the same numbers.
``overall`` is the mean of the questionnaire's headline parts; a part outside
the headline (the desk form's four policy items) is reported as a part row
after them, and each "in general" item as one row of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from analysis import EstimateTable, as_table, mean, sipas_index
from survey.errors import UserError
from survey.models import Wave
from survey.services import wave_sums
from survey.services.design_frame import (
    DOMAIN_FIELDS,
    LONELY_PSU,
    LONELY_PSU_POLICIES,
    WaveFrame,
    grouping_items,
    wave_frame,
)
from survey.services.questionnaires import questionnaire_of
from survey.services.wave_sums import Estimates

INTERVALS = ("wald", "wald-t", "logit", "beta")
#: The frame's base weights, or those calibrated to the wave's targets (one margin, or all).
WEIGHTINGS = ("design", "post-stratify", "rake")
#: The keys of ``python -m analysis``, how the weights were made, and cautions.
COLUMNS = (
    "variable", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "weighting",
    "flags",
)  # fmt: skip


@dataclass(frozen=True)
class Computation:
    """The rows of one computation, how the wave was weighted, and what it read.

    ``digest`` is a SHA-256 of everything the numbers depend on (what they were
    made from -- the database's sums per PSU and domain, or the analysed rows with
    their design columns --, the frame, the options and the questionnaire's
    structure): two computations with the same digest give the same numbers.
    A saved result set (``survey.services.result_sets``) records it.
    """

    wave: str
    weighting: str
    records: list[dict[str, Any]]
    response_count: int
    digest: str
    #: The ``sipas_index`` table of the item, dimension, part and ``overall`` rows, in
    #: memory only: its estimating functions give contrasts of them (e.g. the
    #: official-style mean of unit indices in ``survey.services.result_sets``).
    index_table: EstimateTable | None = field(default=None, repr=False, compare=False)


def domain_fields(wave: Wave) -> list[str]:
    """What a wave's results can be broken down by: places, desk, procedure, channel, items."""
    questionnaire = questionnaire_of(wave.questionnaire)
    return [*DOMAIN_FIELDS, *(item.code for item in grouping_items(questionnaire))]


def compute(
    wave: Wave,
    by: Sequence[str] = (),
    *,
    weighting: str = "design",
    interval: str = "wald",
    level: float = 0.95,
    lonely_psu: str = LONELY_PSU,
) -> Computation:
    """Every SIPAS index of ``wave`` with its ``level`` interval, for each domain of ``by``.

    For each domain, in this order: the items, dimensions and headline parts
    and ``overall`` (the mean of the headline parts) of ``analysis.sipas_index``;
    the parts outside the headline (their dimensions and items are already
    among the rows above); then the "in general" items (see
    :func:`overall_item_tables`). ``weighting`` is one of :data:`WEIGHTINGS`
    (``survey.services.targets`` calibrates); ``lonely_psu`` says what the variance does
    with a stratum in which one desk or cluster answered (``design_frame.LONELY_PSU``).
    """
    unknown = [name for name in by if name not in domain_fields(wave)]
    if unknown:
        raise UserError(
            _l(
                "Unknown field %(field)s: choose from %(fields)s.",
                field=unknown[0],
                fields=", ".join(domain_fields(wave)),
            )
        )
    if weighting not in WEIGHTINGS:
        raise UserError(
            _l("Unknown weighting %(name)s: choose from %(names)s.", name=weighting,
               names=", ".join(WEIGHTINGS))
        )  # fmt: skip
    if interval not in INTERVALS:
        raise UserError(_l("Unknown interval %(name)s.", name=interval))
    if not 0 < level < 1:
        raise UserError(_l("The level must be between 0 and 1, like 0.95."))
    if lonely_psu not in LONELY_PSU_POLICIES:
        raise UserError(
            _l("Unknown lonely PSU policy %(name)s: choose from %(names)s.", name=lonely_psu,
               names=", ".join(LONELY_PSU_POLICIES))
        )  # fmt: skip
    options = {"by": list(by), "interval": interval, "level": level}
    if lonely_psu != "fail":  # sets made before the policy was chosen keep their digest
        options["lonely_psu"] = lonely_psu
    try:
        found = (
            wave_sums.estimates(wave, by, options, lonely_psu)
            if weighting == "design"  # the frame's weights (or none): summed in the database
            else frame_estimates(
                wave, wave_frame(wave, weighting, lonely_psu), list(by) or None, options
            )
        )
    except ValueError as error:  # analysis names what is unusable, e.g. an item nobody answered
        raise UserError(
            _l("The indices of wave %(code)s cannot be computed: %(reason)s", code=wave.code,
               reason=str(error))
        ) from error  # fmt: skip
    rows = [table.to_records(level, interval) for table in found.tables]
    limits = (
        int(current_app.config["RESULT_MIN_N"]),
        float(current_app.config["RESULT_MAX_CI_WIDTH"]),
    )
    records = _domain_by_domain(rows)
    for row in records:  # the rows are new dicts: completed in place
        row["weighting"] = found.weighting
        row["flags"] = flags(row, *limits)
    return Computation(
        wave.code, found.weighting, records, found.response_count, found.digest, found.index_table
    )


def frame_estimates(
    wave: Wave, frame: WaveFrame, domains: list[str] | None, options: dict[str, Any]
) -> Estimates:
    """The row path: every index from the wave's rows in ``frame`` (calibrated weights
    need them); the same tables as ``wave_sums.estimates`` makes from the database's sums.
    """
    table = sipas_index(
        frame.design, frame.dimensions, parts=frame.parts or None, satisfied=(1,), by=domains
    )
    tables = [table]
    if frame.other_parts:
        tables.append(_other_parts(frame, domains))
    questionnaire = questionnaire_of(wave.questionnaire)
    overall_items = [item.code for item in questionnaire.items() if item.overall]
    tables += overall_item_tables(frame, overall_items, domains)
    digest = _digest(frame, options)
    return Estimates(tables, frame.weighting, len(frame.data), digest, table)


def _digest(frame: WaveFrame, options: dict[str, Any]) -> str:
    """SHA-256 of the analysed rows (design columns, domains, item scores), the index's
    structure, the weighting and targets, and the options: what the numbers are a function of."""
    import hashlib
    import json

    import pandas as pd

    hasher = hashlib.sha256()
    structure = [frame.weighted, frame.weighting, frame.targets, frame.dimensions, frame.parts,
                 frame.other_parts, options]  # fmt: skip
    hasher.update(json.dumps(structure, sort_keys=True).encode())
    hasher.update(",".join(map(str, frame.data.columns)).encode())
    hasher.update(pd.util.hash_pandas_object(frame.data, index=False).to_numpy().tobytes())
    return hasher.hexdigest()


def flags(
    row: dict[str, Any], min_n: int | None = None, max_width: float | None = None
) -> list[str]:
    """Why an estimate deserves caution; it is flagged, never hidden.

    ``small_n``: fewer than ``min_n`` (``RESULT_MIN_N``) valid answers; ``wide_ci``:
    the interval is wider than ``max_width`` (``RESULT_MAX_CI_WIDTH``, on the 0..1
    scale); ``one_psu``: the domain has a single PSU (desk or cluster) in each of its
    strata, so no variance between PSUs can be estimated (``df`` 0): its standard
    error is 0 for one PSU, as R's ``svyby`` gives it, and its interval means nothing
    (a single desk's or commune's index, say); ``no_estimate``: nothing to estimate
    in the domain.
    """
    if row["estimate"] is None:
        return ["no_estimate"]
    if min_n is None:
        min_n = int(current_app.config["RESULT_MIN_N"])
    if max_width is None:
        max_width = float(current_app.config["RESULT_MAX_CI_WIDTH"])
    found = []
    if row["n"] < min_n:
        found.append("small_n")
    low, high = row["ci_low"], row["ci_high"]
    if low is None or high is None or high - low > max_width:
        found.append("wide_ci")
    if row["df"] == 0:
        found.append("one_psu")
    return found


def _other_parts(frame: WaveFrame, domains: list[str] | None) -> EstimateTable:
    """The index of each part outside the headline: one more ``sipas_index`` over those
    parts' dimensions, of which only the part rows are kept (its items and dimensions
    are the same numbers as the main table's, its ``overall`` is no headline)."""
    dimensions = {
        code: frame.dimensions[code] for codes in frame.other_parts.values() for code in codes
    }
    table = sipas_index(
        frame.design, dimensions, parts=frame.other_parts, satisfied=(1,), by=domains
    )
    return EstimateTable(tuple(e for e in table if e.variable in frame.other_parts))


def overall_item_tables(
    frame: WaveFrame, codes: list[str], domains: list[str] | None
) -> list[EstimateTable]:
    """The satisfied share of each "in general" (*nói chung*) item, one table each.

    ``analysis.mean`` of the item's 0/1 indicator over its valid answers (not
    applicable and blank are missing, out of the denominator), on the wave's
    design and domains: the same number as an item row of ``sipas_index``.
    An item nobody answered in the wave is left out (analysis refuses a
    column without a valid value); in a domain without answers it is NaN with
    ``n`` 0.

    The items stay out of every dimension, part and ``overall``: the method's
    default (``sipas-method.md``, "Platform defaults" and section 4) makes a
    factor or component index the mean of its item indices, and a part the
    mean of its factors. Its setting -- the factor's (or part's) "in general"
    item instead -- would change this: that item's share would then *be* the
    dimension (or part) index, and these rows would feed the chain rather
    than stand beside it.
    """
    tables = []
    for code in codes:
        if frame.data[code].notna().any():
            tables.append(as_table(mean(frame.design, code, by=domains, name=code)))
    return tables


def _domain_by_domain(tables: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of several tables, domain by domain in the order of the first, each
    domain's rows in the order of the tables."""
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for rows in tables:
        for row in rows:
            domain = row["domain"]
            key = None if domain is None else tuple(domain.items())
            grouped.setdefault(key, []).append(row)
    return [row for rows in grouped.values() for row in rows]
