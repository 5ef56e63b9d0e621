"""Run a wave's SIPAS index computation: the numbers the pages, exports and CLI show.

Every index (item, dimension, part, overall) with its interval, for the
whole wave or by domain fields, from ``survey.services.design_frame``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from analysis import sipas_index
from survey.errors import UserError
from survey.models import Wave
from survey.services.design_frame import DOMAIN_FIELDS, grouping_items, wave_frame
from survey.services.questionnaires import questionnaire_of

INTERVALS = ("wald", "wald-t", "logit", "beta")
#: The keys of ``python -m analysis``, and how the weights were made.
COLUMNS = (
    "variable", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "weighting",
)  # fmt: skip


@dataclass(frozen=True)
class ResultSet:
    """The rows of one computation and how the wave was weighted."""

    wave: str
    weighting: str
    records: list[dict[str, Any]]


def domain_fields(wave: Wave) -> list[str]:
    """What a wave's results can be broken down by: places, desk, procedure, channel, items."""
    questionnaire = questionnaire_of(wave.questionnaire)
    return [*DOMAIN_FIELDS, *(item.code for item in grouping_items(questionnaire))]


def compute(
    wave: Wave, by: Sequence[str] = (), *, interval: str = "wald", level: float = 0.95
) -> ResultSet:
    """Every SIPAS index of ``wave`` with its ``level`` interval, for each domain of ``by``."""
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
    table = sipas_index(
        frame.design,
        frame.dimensions,
        parts=frame.parts or None,
        satisfied=(1,),
        by=list(by) or None,
    )
    weighting = "design" if frame.weighted else "unweighted"
    records = [{**row, "weighting": weighting} for row in table.to_records(level, interval)]
    return ResultSet(wave.code, weighting, records)
