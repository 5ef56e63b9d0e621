"""Users of the back office, their role and the units they may see."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from survey.extensions import db
from survey.models._common import utcnow
from survey.models.geo import Unit

ROLES = ("admin", "supervisor", "surveyor", "analyst")

user_unit = Table(
    "user_unit",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Part of the session cookie; bumping it ends every session of the user at once.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    #: The units the user works for; each covers the units under it. None: national.
    units: Mapped[list[Unit]] = relationship(secondary=user_unit, order_by="Unit.code")

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """Flask-Login keeps this in the session: a cookie of an older version is refused."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login: an inactive user cannot sign in
        return self.active

    @property
    def is_national(self) -> bool:
        """An administrator tied to no unit sees everything; nobody else does."""
        return self.role == "admin" and not self.units
