"""Questionnaire versions: shipped files loaded into the database, parsed once.

A version that has responses is never edited: when its file has changed, the
sync refuses and asks for a new version number.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import QuestionnaireVersion, Response, Wave
from survey.questionnaire import (
    Questionnaire,
    load_questionnaire,
    parse_questionnaire,
    shipped_questionnaires,
)


def sync_questionnaires() -> list[QuestionnaireVersion]:
    """Load every shipped questionnaire file; new versions are added, unchanged ones kept."""
    return [store_questionnaire_file(path) for path in shipped_questionnaires()]


def store_questionnaire_file(path) -> QuestionnaireVersion:
    """Store one questionnaire file as a version (a province's own form, say); an
    unchanged file is kept as it is, a changed one only while no wave has responses."""
    definition = path.read_text(encoding="utf-8")
    parsed = load_questionnaire(path)
    stored = db.session.scalar(
        select(QuestionnaireVersion).filter_by(code=parsed.code, version=parsed.version)
    )
    if stored is None:
        stored = QuestionnaireVersion(code=parsed.code, version=parsed.version)
        db.session.add(stored)
    elif stored.checksum == parsed.checksum:
        return stored
    elif has_responses(stored):
        raise UserError(
            f"{path.name}: questionnaire {parsed.code} version {parsed.version} already has "
            "responses and cannot be changed; give the changed file a new version number."
        )
    stored.kind = parsed.kind
    stored.title_vi = parsed.title.vi
    stored.title_en = parsed.title.en
    stored.checksum = parsed.checksum
    stored.definition = definition
    db.session.flush()
    return stored


def has_responses(version: QuestionnaireVersion) -> bool:
    waves = select(Wave.id).where(Wave.questionnaire_id == version.id)
    return bool(db.session.scalar(select(exists().where(Response.wave_id.in_(waves)))))


_parsed: dict[str, Questionnaire] = {}


def questionnaire_of(version: QuestionnaireVersion) -> Questionnaire:
    """The parsed definition of a stored version, parsed once per process."""
    return questionnaire_by_checksum(version.id, version.checksum)


def questionnaire_by_checksum(version_id: int, checksum: str) -> Questionnaire:
    """The parsed definition of version ``version_id``, cached by its checksum.

    The large definition text is read from the database only the first time
    a version is seen by this process.
    """
    parsed = _parsed.get(checksum)
    if parsed is None:
        definition = db.session.scalar(
            select(QuestionnaireVersion.definition).where(QuestionnaireVersion.id == version_id)
        )
        source = f"questionnaire version {version_id}"
        parsed = _parsed[checksum] = parse_questionnaire(definition, source=source)
    return parsed
