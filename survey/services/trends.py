"""An index over the waves of one questionnaire kind: the trend.

Every wave whose questionnaire is of the same kind (desk or household) and
that has valid responses in the reader's units takes part, in time order (its
start, then when it was made). Each wave's numbers are those of its own
results page: ``results.compute`` on that wave, by the reader's places when
the reader is tied to units (and only their rows kept). A wave whose
questionnaire version differs from the previous wave's starts a new series:
its numbers may not measure the same thing (a new headline, new items), so
the pages mark the break and do not join the points across it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from survey import queries
from survey.auth.policy import UnitScope
from survey.errors import UserError
from survey.models import Wave
from survey.questionnaire import Questionnaire
from survey.services import results

Row = dict[str, Any]


@dataclass(frozen=True)
class TrendWave:
    """One wave of a trend: its rows (``results.compute``'s records) or why it has none."""

    wave: Wave
    #: Valid responses in the reader's units.
    responses: int
    #: The questionnaire version differs from the previous wave's (never for the first).
    version_changed: bool
    rows: list[Row]
    problem: str | None = None

    @property
    def questionnaire(self) -> str:
        version = self.wave.questionnaire
        return f"{version.code} v{version.version}"

    def row(self, variable: str, domain: dict | None) -> Row | None:
        return next(
            (r for r in self.rows if r["variable"] == variable and r["domain"] == domain), None
        )


@dataclass(frozen=True)
class Trend:
    """The waves of one questionnaire kind in time order, with their indices."""

    kind: str
    waves: list[TrendWave]

    @property
    def domains(self) -> list[dict | None]:
        """The domains of the rows (the whole wave: None), in the order first met."""
        found: list[dict | None] = []
        for trend_wave in self.waves:
            for row in trend_wave.rows:
                if row["domain"] not in found:
                    found.append(row["domain"])
        return found

    def series(self, variable: str, domain: dict | None) -> list[Row | None]:
        """``variable``'s row in ``domain`` for each wave (None where there is none)."""
        return [trend_wave.row(variable, domain) for trend_wave in self.waves]

    @property
    def breaks(self) -> dict[int, str]:
        """Position of each wave whose questionnaire version changed: that version."""
        return {
            i: trend_wave.questionnaire
            for i, trend_wave in enumerate(self.waves)
            if trend_wave.version_changed
        }


def waves_of_kind(kind: str, *, scope: UnitScope) -> list[tuple[Wave, int]]:
    """The waves of questionnaire ``kind`` with valid responses in ``scope`` (and how many),
    oldest first: by start, then by when they were made."""
    found = [
        (wave, count) for wave, count in queries.waves(scope=scope)
        if count and wave.questionnaire.kind == kind
    ]  # fmt: skip
    return sorted(found, key=lambda pair: _when(pair[0]))


def _when(wave: Wave) -> tuple:
    """A wave's place in time: its start (a wave without one: the day it was made)."""
    return (wave.starts_on or wave.created_at.date(), wave.created_at, wave.id)


def trend(
    wave: Wave,
    *,
    scope: UnitScope,
    by: Sequence[str] = (),
    keep: Callable[[dict | None], bool] = lambda domain: True,
) -> Trend:
    """The indices of every wave of ``wave``'s questionnaire kind, each from
    ``results.compute(that wave, by)``, keeping the rows whose domain passes ``keep``."""
    kind = wave.questionnaire.kind
    found, previous = [], None
    for other, responses in waves_of_kind(kind, scope=scope):
        changed = previous is not None and other.questionnaire_id != previous.questionnaire_id
        found.append(_wave_rows(other, responses, changed, by, keep))
        previous = other
    return Trend(kind, found)


def _wave_rows(
    wave: Wave, responses: int, changed: bool, by: Sequence[str], keep: Callable
) -> TrendWave:
    try:
        computation = results.compute(wave, by)
    except UserError as error:  # a wave that cannot be computed is named, not dropped
        return TrendWave(wave, responses, changed, [], error.message)
    rows = [row for row in computation.records if keep(row["domain"])]
    return TrendWave(wave, responses, changed, rows)


def indices(questionnaire: Questionnaire) -> tuple[list[str], list[str]]:
    """The indices a trend can show: ``overall``, the parts and the dimensions, in that
    order; and the dimensions of the headline parts (the desk form's five service
    dimensions), shown side by side."""
    parts = list(dict.fromkeys(dimension.part for dimension in questionnaire.dimensions))
    dimensions = [dimension.code for dimension in questionnaire.dimensions]
    headline = [d.code for d in questionnaire.dimensions if d.part in questionnaire.headline]
    return ["overall", *parts, *dimensions], headline
