"""Questionnaire versions as loaded into the database from their data files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db
from survey.models._common import utcnow


class QuestionnaireVersion(db.Model):
    """One version of a questionnaire; never edited once it has responses.

    The definition is the data file's own text, so that what a wave asked is
    kept exactly even after the file in the repository moves on.
    """

    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    title_vi: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    #: sha256 of the definition text.
    checksum: Mapped[str] = mapped_column(String(64))
    #: Loaded only when a version is parsed (once per process): it is large.
    definition: Mapped[str] = mapped_column(Text, deferred=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_vi
