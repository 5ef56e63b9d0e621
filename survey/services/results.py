"""Run a wave's SIPAS index computation: the numbers the pages, exports and CLI show.

Every index (item, dimension, part, overall) with its interval, for the
whole wave or by domain fields, from ``survey.services.design_frame``.
``overall`` is the mean of the questionnaire's headline parts; a part outside
the headline (the desk form's four policy items) is reported as a part row
after them, and each "in general" item as one row of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from analysis import EstimateTable, as_table, mean, sipas_index
from survey.errors import UserError
from survey.models import Wave
from survey.services.design_frame import DOMAIN_FIELDS, WaveFrame, grouping_items, wave_frame
from survey.services.questionnaires import questionnaire_of

INTERVALS = ("wald", "wald-t", "logit", "beta")
#: The keys of ``python -m analysis``, how the weights were made, and cautions.
COLUMNS = (
    "variable", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "weighting",
    "flags",
)  # fmt: skip


@dataclass(frozen=True)
class Computation:
    """The rows of one computation, how the wave was weighted, and what it read.

    ``digest`` is a SHA-256 of everything the numbers depend on (the analysed
    rows with their design columns, the options and the questionnaire's
    structure): two computations with the same digest give the same numbers.
    A saved result set (``survey.services.result_sets``) records it.
    """

    wave: str
    weighting: str
    records: list[dict[str, Any]]
    response_count: int
    digest: str


def domain_fields(wave: Wave) -> list[str]:
    """What a wave's results can be broken down by: places, desk, procedure, channel, items."""
    questionnaire = questionnaire_of(wave.questionnaire)
    return [*DOMAIN_FIELDS, *(item.code for item in grouping_items(questionnaire))]


def compute(
    wave: Wave, by: Sequence[str] = (), *, interval: str = "wald", level: float = 0.95
) -> Computation:
    """Every SIPAS index of ``wave`` with its ``level`` interval, for each domain of ``by``.

    For each domain, in this order: the items, dimensions and headline parts
    and ``overall`` (the mean of the headline parts) of ``analysis.sipas_index``;
    the parts outside the headline (their dimensions and items are already
    among the rows above); then the "in general" items (see
    :func:`overall_item_tables`).
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
    if interval not in INTERVALS:
        raise UserError(_l("Unknown interval %(name)s.", name=interval))
    if not 0 < level < 1:
        raise UserError(_l("The level must be between 0 and 1, like 0.95."))
    frame = wave_frame(wave)
    domains = list(by) or None
    try:
        table = sipas_index(
            frame.design,
            frame.dimensions,
            parts=frame.parts or None,
            satisfied=(1,),
            by=domains,
        )
    except ValueError as error:  # analysis names what is unusable, e.g. an item nobody answered
        raise UserError(
            _l("The indices of wave %(code)s cannot be computed: %(reason)s", code=wave.code,
               reason=str(error))
        ) from error  # fmt: skip
    rows = [table.to_records(level, interval)]
    if frame.other_parts:
        rows.append(_other_parts(frame, domains).to_records(level, interval))
    questionnaire = questionnaire_of(wave.questionnaire)
    overall_items = [item.code for item in questionnaire.items() if item.overall]
    for item_table in overall_item_tables(frame, overall_items, domains):
        rows.append(item_table.to_records(level, interval))
    weighting = "design" if frame.weighted else "unweighted"
    records = [
        {**row, "weighting": weighting, "flags": flags(row)} for row in _domain_by_domain(rows)
    ]
    options = {"by": list(by), "interval": interval, "level": level}
    digest = _digest(frame, options)
    return Computation(wave.code, weighting, records, len(frame.data), digest)


def _digest(frame: WaveFrame, options: dict[str, Any]) -> str:
    """SHA-256 of the analysed rows (design columns, domains, item scores), the index's
    structure and the options: what the numbers are a function of."""
    import hashlib
    import json

    import pandas as pd

    hasher = hashlib.sha256()
    structure = [frame.weighted, frame.dimensions, frame.parts, frame.other_parts, options]
    hasher.update(json.dumps(structure, sort_keys=True).encode())
    hasher.update(",".join(map(str, frame.data.columns)).encode())
    hasher.update(pd.util.hash_pandas_object(frame.data, index=False).to_numpy().tobytes())
    return hasher.hexdigest()


def flags(row: dict[str, Any]) -> list[str]:
    """Why an estimate deserves caution; it is flagged, never hidden.

    ``small_n``: fewer than ``RESULT_MIN_N`` valid answers; ``wide_ci``: the
    interval is wider than ``RESULT_MAX_CI_WIDTH`` (on the 0..1 scale);
    ``no_estimate``: nothing to estimate in the domain.
    """
    if row["estimate"] is None:
        return ["no_estimate"]
    found = []
    if row["n"] < int(current_app.config["RESULT_MIN_N"]):
        found.append("small_n")
    low, high = row["ci_low"], row["ci_high"]
    if low is None or high is None or high - low > float(current_app.config["RESULT_MAX_CI_WIDTH"]):
        found.append("wide_ci")
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
