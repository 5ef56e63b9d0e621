"""Storing citizens' responses exactly once, on a lean path.

A response arrives as one POST carrying the UUID issued with the form. It is
written with its answers in one transaction. A second arrival of the same
UUID (double tap, back-and-resubmit, retry after a dropped line, or a
concurrent duplicate) is absorbed by ``INSERT … ON CONFLICT (uuid) DO
NOTHING`` and answered with the thank-you page of the response already
stored.

This is the hottest path of the application (hundreds of submissions a
second in a national wave), so it reads and writes with a few Core
statements instead of ORM objects.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, case, exists, insert, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from survey.errors import UserError
from survey.extensions import db
from survey.models import (
    Answer,
    FrameEntry,
    Procedure,
    QuestionnaireVersion,
    Response,
    ServicePoint,
    Wave,
)
from survey.models.geo import service_point_procedure
from survey.questionnaire import AnswersError, Questionnaire
from survey.services.questionnaires import questionnaire_by_checksum

RESPONSE = Response.__table__
ANSWER = Answer.__table__


@dataclass(frozen=True)
class Desk:
    """What a submission needs to know of a service point."""

    id: int
    code: str
    active: bool
    secret_version: int


@dataclass(frozen=True)
class OpenWave:
    """The open wave taking responses at a desk, with its questionnaire version."""

    id: int
    code: str
    questionnaire_id: int
    checksum: str

    @property
    def questionnaire(self) -> Questionnaire:
        return questionnaire_by_checksum(self.questionnaire_id, self.checksum)


@dataclass(frozen=True)
class Submission:
    """Where and how an answer set arrived."""

    uuid: str
    wave: OpenWave
    desk: Desk
    channel: str
    locale: str = "vi"


def parse_uuid(value: str | None) -> str:
    """The canonical form of a response UUID; UserError if it is not one."""
    try:
        return str(uuid_module.UUID(str(value or "")))
    except ValueError as error:
        raise UserError(
            "The form is damaged (missing response id). Please open it again."
        ) from error


def _connection() -> Connection:
    return db.session.connection()


# The statements of the hot path, built once; each request only binds values.
_FIND_DESK = select(
    ServicePoint.id, ServicePoint.code, ServicePoint.active, ServicePoint.secret_version
).where(ServicePoint.code == bindparam("code"))

_OPEN_WAVE = (
    select(Wave.id, Wave.code, QuestionnaireVersion.id, QuestionnaireVersion.checksum)
    .join(QuestionnaireVersion, Wave.questionnaire_id == QuestionnaireVersion.id)
    .where(
        Wave.status == "open",
        or_(
            # A wave with a sampling frame takes responses at its desks only;
            exists().where(
                FrameEntry.wave_id == Wave.id, FrameEntry.service_point_id == bindparam("desk_id")
            ),
            # one without a frame, at every desk.
            ~exists().where(FrameEntry.wave_id == Wave.id),
        ),
    )
    .order_by(
        case((QuestionnaireVersion.kind == "desk", 0), else_=1),
        Wave.created_at.desc(),
        Wave.id.desc(),
    )
    .limit(1)
)

_PROCEDURES = (
    select(Procedure.code, Procedure.id)
    .join(service_point_procedure, service_point_procedure.c.procedure_id == Procedure.id)
    .where(service_point_procedure.c.service_point_id == bindparam("desk_id"))
)

_IS_STORED = select(RESPONSE.c.id).where(RESPONSE.c.uuid == bindparam("uuid"))

_RESPONSE_VALUES = {
    name: bindparam(name)
    for name in ("uuid", "wave_id", "service_point_id", "procedure_id", "channel", "locale")
}


def _insert_once(dialect_name: str):
    """INSERT of a response that does nothing when its UUID is already stored."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(RESPONSE)
        .values(status="valid", **_RESPONSE_VALUES)
        .on_conflict_do_nothing(index_elements=["uuid"])
        .returning(RESPONSE.c.id)
    )


_INSERT_ONCE = {name: _insert_once(name) for name in ("postgresql", "sqlite")}


def find_desk(code: str) -> Desk | None:
    row = _connection().execute(_FIND_DESK, {"code": code}).first()
    return Desk(*row) if row else None


def open_wave_for(desk_id: int) -> OpenWave | None:
    """The open wave that takes responses at this desk.

    Desk questionnaires come before household ones, and the newest wave first.
    """
    row = _connection().execute(_OPEN_WAVE, {"desk_id": desk_id}).first()
    return OpenWave(*row) if row else None


def procedure_codes(desk_id: int) -> dict[str, int]:
    """Procedure code → id for the procedures handled at the desk."""
    rows = _connection().execute(_PROCEDURES, {"desk_id": desk_id})
    return {code: procedure_id for code, procedure_id in rows}


def is_stored(response_uuid: str) -> bool:
    return _connection().execute(_IS_STORED, {"uuid": response_uuid}).first() is not None


def store_response(submission: Submission, answers: Mapping[str, object]) -> bool:
    """Validate and store one response; True if it is new, False if already stored.

    Raises AnswersError (nothing stored) when the answers do not fit the
    wave's questionnaire. Commits: the whole response or nothing.
    """
    questionnaire = submission.wave.questionnaire
    procedures = procedure_codes(submission.desk.id)
    # Without JavaScript every question is on the page, so a citizen may
    # answer one that skip logic hides: it is left out rather than refused.
    cleaned = questionnaire.clean_answers(questionnaire.drop_hidden(answers), procedures=procedures)
    connection = _connection()
    response_id = connection.execute(
        _INSERT_ONCE[connection.dialect.name],
        {
            "uuid": submission.uuid,
            "wave_id": submission.wave.id,
            "service_point_id": submission.desk.id,
            "procedure_id": _procedure_id(questionnaire, cleaned, procedures),
            "channel": submission.channel,
            "locale": submission.locale,
        },
    ).scalar()
    if response_id is None:
        db.session.rollback()
        return False
    insert_answers(connection, answer_rows(questionnaire, cleaned, response_id))
    db.session.commit()
    return True


#: PostgreSQL takes a response's answers as three arrays in one statement that
#: is parsed once per connection; a multi-row VALUES would be compiled anew for
#: each response length, and executemany costs a round of work per row.
_ANSWERS_FROM_ARRAYS = text(
    "INSERT INTO answer (response_id, item_code, value_num, value_text) "
    "SELECT :response_id, code, num, txt FROM unnest("
    "CAST(:codes AS varchar[]), CAST(:nums AS integer[]), CAST(:texts AS text[])"
    ") AS a(code, num, txt)"
)


def insert_answers(connection: Connection, rows: list[dict]) -> None:
    """Insert one response's answer rows (all with the same ``response_id``)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(
            _ANSWERS_FROM_ARRAYS,
            {
                "response_id": rows[0]["response_id"],
                "codes": [row["item_code"] for row in rows],
                "nums": [row["value_num"] for row in rows],
                "texts": [row["value_text"] for row in rows],
            },
        )
    else:
        connection.execute(insert(ANSWER), rows)


def _procedure_id(questionnaire: Questionnaire, cleaned: Mapping, procedures: dict) -> int | None:
    for item in questionnaire.items():
        if item.scale.kind == "procedure" and item.code in cleaned:
            return procedures.get(str(cleaned[item.code]))
    return None


def answer_rows(questionnaire: Questionnaire, cleaned: Mapping, response_id: int) -> list[dict]:
    """One row per answer; a multi-select answer gives one row per option chosen."""
    rows = []
    for code, value in cleaned.items():
        values = value if isinstance(value, list | tuple) else [value]
        for single in values:
            numeric = isinstance(single, int) and not isinstance(single, bool)
            rows.append(
                {
                    "response_id": response_id,
                    "item_code": code,
                    "value_num": single if numeric else None,
                    "value_text": None if numeric else str(single),
                }
            )
    return rows


__all__ = [
    "AnswersError",
    "Desk",
    "OpenWave",
    "Submission",
    "find_desk",
    "is_stored",
    "open_wave_for",
    "parse_uuid",
    "store_response",
]
