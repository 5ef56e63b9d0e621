"""Survey waves and their sampling frames."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models._common import utcnow
from survey.models.geo import ServicePoint
from survey.models.questionnaire import QuestionnaireVersion

WAVE_STATUSES = ("draft", "open", "closed")


class Wave(db.Model):
    """A survey round: one questionnaire version asked over a period."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    questionnaire: Mapped[QuestionnaireVersion] = relationship()
    frame: Mapped[list[FrameEntry]] = relationship(back_populates="wave")


class FrameEntry(db.Model):
    """A desk in a wave's sampling frame: its stratum and population counts.

    A wave without frame entries takes responses at every active desk.
    """

    __table_args__ = (UniqueConstraint("wave_id", "service_point_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_point.id"))
    stratum: Mapped[str] = mapped_column(String(64), default="")
    #: Number of desks in the stratum (first-stage finite population correction).
    stratum_desks: Mapped[int | None]
    #: Completed transactions at the desk in the wave's period (for weighting).
    transactions: Mapped[int | None]

    wave: Mapped[Wave] = relationship(back_populates="frame")
    service_point: Mapped[ServicePoint] = relationship()
