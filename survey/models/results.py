"""Saved computations: numbered, immutable result sets and their rows.

A published number must always be found again and recomputed: a result set
records the wave, the responses it saw, a hash of its inputs, its options
(breakdown, weighting, interval, level), the frame and targets it used, the
code version, who ran it and when. Neither a set nor its rows is ever edited
or deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models._common import utcnow
from survey.models.user import User
from survey.models.wave import Wave


class ResultSet(db.Model):
    """One computation of a wave's indices; its ``id`` is the number people cite."""

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Empty for a computation run from the command line.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Valid responses of the wave the computation saw.
    response_count: Mapped[int]
    #: SHA-256 of everything the numbers depend on (responses, answers, frame, targets,
    #: questionnaire, options): equal hashes give equal numbers.
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: ``by``, ``weighting``, ``interval``, ``level`` as asked.
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    #: What the weights were made of: the frame's and the targets' sizes and digests.
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    #: How the weights were in fact made: ``design``, ``unweighted``, ``post-stratify``, ``rake``.
    weighting: Mapped[str] = mapped_column(String(32))
    code_version: Mapped[str] = mapped_column(String(64))

    wave: Mapped[Wave] = relationship()
    created_by: Mapped[User | None] = relationship()
    rows: Mapped[list[ResultRow]] = relationship(
        back_populates="result_set", order_by="ResultRow.position"
    )


class ResultRow(db.Model):
    """One estimate of a result set, with the keys of ``python -m analysis``."""

    __table_args__ = (Index("ix_result_row_set_position", "result_set_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_set_id: Mapped[int] = mapped_column(ForeignKey("result_set.id"))
    position: Mapped[int]
    variable: Mapped[str] = mapped_column(String(64))
    #: ``{field: value}``, or empty for the whole wave.
    domain: Mapped[dict | None] = mapped_column(JSON)
    estimate: Mapped[float | None]
    se: Mapped[float | None]
    ci_low: Mapped[float | None]
    ci_high: Mapped[float | None]
    df: Mapped[int | None]
    deff: Mapped[float | None]
    n: Mapped[int]
    flags: Mapped[list] = mapped_column(JSON, default=list)

    result_set: Mapped[ResultSet] = relationship(back_populates="rows")


@event.listens_for(ResultSet, "before_update")
@event.listens_for(ResultSet, "before_delete")
@event.listens_for(ResultRow, "before_update")
@event.listens_for(ResultRow, "before_delete")
def _results_are_immutable(_mapper, _connection, target) -> None:
    raise RuntimeError(f"{type(target).__name__} {target.id} is immutable")
