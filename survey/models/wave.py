"""Survey waves and their sampling frames."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models._common import utcnow
from survey.models.geo import ServicePoint, Unit
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
    targets: Mapped[list[CalibrationTarget]] = relationship(back_populates="wave")

    @property
    def is_household(self) -> bool:
        """A household wave (forms delivered to sampled households; the PSU is the
        commune or village cluster each form records), not a desk wave (the PSU is the desk)."""
        return self.questionnaire.kind == "household"


class FrameEntry(db.Model):
    """A primary sampling unit of a wave's frame: its stratum and population counts.

    The PSU is a desk in a desk wave and a unit (commune or village cluster)
    in a household wave: exactly one of ``service_point_id`` and ``unit_id``
    is set. A desk wave without frame entries takes responses at every
    active desk; with them, only at the desks of its frame.
    """

    __table_args__ = (
        UniqueConstraint("wave_id", "service_point_id"),
        UniqueConstraint("wave_id", "unit_id", name="uq_frame_entry_wave_unit"),
        CheckConstraint("(service_point_id IS NULL) <> (unit_id IS NULL)", name="one_psu"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    stratum: Mapped[str] = mapped_column(String(64), default="")
    #: PSUs of the stratum in the population (first-stage finite population correction);
    #: ``stratum_psus`` in frame files.
    stratum_desks: Mapped[int | None]
    #: The PSU's size: a desk's transactions in the period, a cluster's households;
    #: ``size`` in frame files.
    transactions: Mapped[int | None]

    wave: Mapped[Wave] = relationship(back_populates="frame")
    service_point: Mapped[ServicePoint | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class CalibrationTarget(db.Model):
    """The population count of one cell of a margin, for post-stratification or raking.

    A margin is a set of variables (e.g. ``procedure_group`` and ``channel``,
    or ``gender`` and ``age``): one imported file, whose cells together cover
    the population. Post-stratification uses one margin; raking uses several.
    """

    __table_args__ = (Index("ix_calibration_target_wave_margin", "wave_id", "margin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    #: The margin's variables in file order, joined by ``+``: ``province+channel``.
    margin: Mapped[str] = mapped_column(String(200))
    #: ``{variable: category}`` for each of the margin's variables.
    cell: Mapped[dict] = mapped_column(JSON)
    count: Mapped[float]

    wave: Mapped[Wave] = relationship(back_populates="targets")
