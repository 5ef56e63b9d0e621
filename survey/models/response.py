"""Responses, their answers (a long table) and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models._common import utcnow
from survey.models.geo import Unit
from survey.models.user import User

CHANNELS = ("qr", "paper", "phone", "web")
RESPONSE_STATUSES = ("valid", "void", "duplicate")


class Response(db.Model):
    """One filled questionnaire, stored once per client-issued UUID."""

    __table_args__ = (Index("ix_response_wave_point", "wave_id", "service_point_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Issued with the form; a retried submission carries the same one.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"))
    #: The desk; empty for a household paper form, which records its cluster (``unit_id``).
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedure.id"))
    channel: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    #: Household waves: the commune or village cluster the form records, the wave's PSU.
    #: Desk responses leave it empty (their PSU is the desk).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    #: Paper forms: the serial printed on the form and who typed it.
    form_serial: Mapped[str | None] = mapped_column(String(64))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )
    unit: Mapped[Unit | None] = relationship()


class Answer(db.Model):
    """One answer: numeric for scales, text for free text.

    A multi-select item has one row per option chosen.
    """

    __table_args__ = (Index("ix_answer_response_item", "response_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(32))
    value_num: Mapped[int | None]
    value_text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")

    @property
    def value(self) -> int | str | None:
        return self.value_num if self.value_num is not None else self.value_text


class AuditEntry(db.Model):
    """Who changed what, and when. Written once, never edited or deleted.

    ``unit_id`` is the unit the object belonged to when it changed; an entry
    without one (a wave, a procedure, a national user) is seen by national
    administrators only.
    """

    __table_args__ = (Index("ix_audit_entry_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _audit_is_append_only(_mapper, _connection, entry: AuditEntry) -> None:
    raise RuntimeError(f"audit entry {entry.id} is append-only")
