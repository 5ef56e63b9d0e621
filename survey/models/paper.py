"""Paper forms: printed serials, the batches they come back in, and the passes typed from them.

A form is printed with a serial for one wave and one PSU: a desk (desk waves)
or a commune or village cluster (household waves); exactly one of
``service_point_id`` and ``unit_id`` is set, as in a frame entry. Returned
forms are registered in a batch of the same wave and PSU. Every form is typed
twice, by two different surveyors (two passes); when the passes agree, or a
supervisor has settled each field they disagree on, the form becomes one
response of channel ``paper``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models._common import utcnow
from survey.models.geo import ServicePoint, Unit
from survey.models.response import Response
from survey.models.user import User
from survey.models.wave import Wave

BATCH_STATUSES = ("open", "closed")
#: ``issued``: printed, not typed yet; ``typed``: one or two passes, not settled;
#: ``disputed``: two passes that disagree; ``settled``: counted as a response.
FORM_STATUSES = ("issued", "typed", "disputed", "settled", "void")
PASS_SOURCES = ("screen", "import")


class PaperBatch(db.Model):
    """A bundle of returned forms of one wave and one desk or cluster, with its count."""

    __table_args__ = (
        CheckConstraint("(service_point_id IS NULL) <> (unit_id IS NULL)", name="one_psu"),
        CheckConstraint("expected_count > 0", name="positive_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Printed on the bundle's cover and typed to open it: ``B000042``.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), index=True)
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    #: How many forms the bundle holds, counted when it arrived.
    expected_count: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Why the batch was closed with forms missing.
    close_reason: Mapped[str | None] = mapped_column(Text)

    wave: Mapped[Wave] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    forms: Mapped[list[PaperForm]] = relationship(back_populates="batch")

    @property
    def scope_unit_id(self) -> int:
        """The unit that decides who may see the batch: the desk's, or the cluster."""
        return self.service_point.unit_id if self.service_point else self.unit_id


class PaperForm(db.Model):
    """One printed copy, known by its serial: digits with a check digit (``services.paper``)."""

    __table_args__ = (
        CheckConstraint("(service_point_id IS NULL) <> (unit_id IS NULL)", name="one_psu"),
        Index("ix_paper_form_batch_status", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(16), unique=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), index=True)
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    #: The batch the form came back in; set when it is first typed.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("paper_batch.id"))
    status: Mapped[str] = mapped_column(String(16), default="issued")
    printed_at: Mapped[datetime] = mapped_column(default=utcnow)
    printed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: The response the settled form became (never two: the column is unique).
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id"), unique=True)
    settled_at: Mapped[datetime | None]
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Fields a supervisor settled: ``{item: {"first": v, "second": v, "settled": v}}``.
    resolution: Mapped[dict | None] = mapped_column(JSON)
    void_reason: Mapped[str | None] = mapped_column(Text)

    wave: Mapped[Wave] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    batch: Mapped[PaperBatch | None] = relationship(back_populates="forms")
    response: Mapped[Response | None] = relationship()
    passes: Mapped[list[PaperPass]] = relationship(
        back_populates="form", order_by="PaperPass.number", cascade="all, delete-orphan"
    )


class PaperPass(db.Model):
    """One surveyor's typing of one form: its answers as typed, saved field by field.

    A pass without ``completed_at`` is a draft the typist can come back to
    (a closed tab loses nothing); only completed passes are compared.
    """

    __table_args__ = (
        UniqueConstraint("form_id", "number", name="uq_paper_pass_form_number"),
        UniqueConstraint("form_id", "typist_id", name="uq_paper_pass_form_typist"),
        CheckConstraint("number IN (1, 2)", name="two_passes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("paper_form.id", ondelete="CASCADE"))
    number: Mapped[int]
    typist_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: ``{item_code: value}``: an int, a text, a list (several options) or None (no answer).
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(16), default="screen")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)

    form: Mapped[PaperForm] = relationship(back_populates="passes")
    typist: Mapped[User] = relationship()
