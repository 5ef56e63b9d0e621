"""Geography and the places where procedures are handled.

Geography is data, never code: units of the three-level system before 1 July
2025 and of the two-level system after it live side by side, linked by
``UnitSuccession`` so that old waves can be re-aggregated to today's units.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db

UNIT_LEVELS = ("province", "district", "commune")
GOVERNMENT_LEVELS = ("province", "district", "commune")

service_point_procedure = Table(
    "service_point_procedure",
    db.metadata,
    Column(
        "service_point_id", ForeignKey("service_point.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("procedure_id", ForeignKey("procedure.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):
    """An administrative unit (tỉnh, huyện, xã) identified by its GSO code."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: GSO code: two digits for a province, five for a commune.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    #: False for units abolished by a reorganisation (kept for old waves).
    current: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    service_points: Mapped[list[ServicePoint]] = relationship(back_populates="unit")

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class UnitSuccession(db.Model):
    """Old unit ``predecessor`` went, wholly or in part, into ``successor``."""

    __table_args__ = (UniqueConstraint("predecessor_id", "successor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    #: "full" when the whole old unit went into the successor, "partial" otherwise.
    kind: Mapped[str] = mapped_column(String(16), default="full")


class Procedure(db.Model):
    """An administrative procedure (thủ tục hành chính) with its national code."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    #: Lĩnh vực: land, civil status, construction...
    field: Mapped[str] = mapped_column(String(120), default="")

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class ServicePoint(db.Model):
    """A one-stop desk or public-service centre where citizens are served."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code printed in QR URLs: letters, digits and dashes.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    government_level: Mapped[str] = mapped_column(String(16), default="commune")
    active: Mapped[bool] = mapped_column(default=True)
    #: Bumped to revoke every QR code printed so far for this desk.
    secret_version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship(back_populates="service_points")
    procedures: Mapped[list[Procedure]] = relationship(
        secondary=service_point_procedure, order_by="Procedure.name"
    )

    def __repr__(self) -> str:
        return f"<ServicePoint {self.code}>"
