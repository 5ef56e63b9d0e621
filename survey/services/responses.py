"""Storing citizens' responses exactly once, on a lean path.

A response arrives as one POST carrying the UUID issued with the form. It is
written with its answers atomically. A second arrival of the same UUID
(double tap, back-and-resubmit, retry after a dropped line, or a concurrent
duplicate) is absorbed by ``INSERT … ON CONFLICT (uuid) DO NOTHING`` and
answered with the thank-you page of the response already stored.

This is the hottest path of the application (hundreds of submissions a
second in a national wave, on small servers), so it is built for few round
trips to the database rather than with ORM objects:

- one query reads the desk, its open wave and its procedures;
- on PostgreSQL one statement writes the response and its answers
  (data-modifying CTEs, the answers passed as arrays), in autocommit: a
  single statement is atomic, and no BEGIN or COMMIT round trip is needed;
  elsewhere (SQLite) a short transaction does the same in three statements.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import g
from flask_babel import gettext as _
from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import sqlite

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
    #: Procedure code → id, for the procedures handled at the desk.
    procedures: dict[str, int] = field(default_factory=dict)


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
            _("The form is damaged (its response number is missing). Please open it again.")
        ) from error


# --- statements, built once; each request only binds values ------------------

_DESK_COLUMNS = (
    ServicePoint.id,
    ServicePoint.code,
    ServicePoint.active,
    ServicePoint.secret_version,
)

#: "code=id,code=id": procedure codes hold letters, digits, dots and dashes only.
_PROCEDURE_LIST = (
    select(func.aggregate_strings(Procedure.code + "=" + cast(Procedure.id, String), ","))
    .join(service_point_procedure, service_point_procedure.c.procedure_id == Procedure.id)
    .where(service_point_procedure.c.service_point_id == ServicePoint.id)
    .scalar_subquery()
)

_WAVE_TAKES_DESK = and_(
    Wave.status == "open",
    or_(
        # A wave with a sampling frame takes responses at its desks only;
        exists().where(
            FrameEntry.wave_id == Wave.id, FrameEntry.service_point_id == ServicePoint.id
        ),
        # one without a frame, at every desk.
        ~exists().where(FrameEntry.wave_id == Wave.id),
    ),
)

#: The desk with its open wave (desk questionnaires first, then the newest).
_DESK_AND_WAVE = (
    select(
        *_DESK_COLUMNS,
        _PROCEDURE_LIST,
        Wave.id,
        Wave.code,
        QuestionnaireVersion.id,
        QuestionnaireVersion.checksum,
    )
    .select_from(ServicePoint)
    .join(Wave, _WAVE_TAKES_DESK)
    .join(QuestionnaireVersion, Wave.questionnaire_id == QuestionnaireVersion.id)
    .where(ServicePoint.code == bindparam("code"))
    .order_by(
        case((QuestionnaireVersion.kind == "desk", 0), else_=1),
        Wave.created_at.desc(),
        Wave.id.desc(),
    )
    .limit(1)
)

_FIND_DESK = select(*_DESK_COLUMNS, _PROCEDURE_LIST).where(ServicePoint.code == bindparam("code"))

_IS_STORED = select(RESPONSE.c.id).where(RESPONSE.c.uuid == bindparam("uuid"))

_RESPONSE_FIELDS = ("uuid", "wave_id", "service_point_id", "procedure_id", "channel", "locale")

#: PostgreSQL: the response and its answers in one atomic statement. Returns
#: the new response's id, or no row when the UUID was already stored.
_STORE_POSTGRESQL = text(
    "WITH stored AS ("
    " INSERT INTO response (uuid, wave_id, service_point_id, procedure_id, channel, locale,"
    " status, submitted_at)"
    " VALUES (:uuid, :wave_id, :service_point_id, :procedure_id, :channel, :locale,"
    " 'valid', now())"
    " ON CONFLICT (uuid) DO NOTHING RETURNING id"
    "), answers AS ("
    " INSERT INTO answer (response_id, item_code, value_num, value_text)"
    " SELECT stored.id, a.code, a.num, a.txt FROM stored, unnest("
    "CAST(:codes AS varchar[]), CAST(:nums AS integer[]), CAST(:texts AS text[])"
    ") AS a(code, num, txt)"
    ") SELECT id FROM stored"
)

_INSERT_ONCE_SQLITE = (
    sqlite.insert(RESPONSE)
    .values(status="valid", **{name: bindparam(name) for name in _RESPONSE_FIELDS})
    .on_conflict_do_nothing(index_elements=["uuid"])
    .returning(RESPONSE.c.id)
)


# --- reading ---------------------------------------------------------------------


def _autocommit() -> Connection:
    """This app context's connection outside any transaction: each statement
    commits by itself. Opened once per request; closed by :func:`close_connection`."""
    connection = g.get("autocommit_connection")
    if connection is None:
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        g.autocommit_connection = connection
    return connection


def close_connection(_error: BaseException | None = None) -> None:
    """Return the request's autocommit connection to the pool (app teardown)."""
    connection = g.pop("autocommit_connection", None)
    if connection is not None:
        connection.close()


def desk_and_wave(code: str) -> tuple[Desk | None, OpenWave | None]:
    """The desk with ``code`` and the open wave taking responses there, if any."""
    connection = _autocommit()
    row = connection.execute(_DESK_AND_WAVE, {"code": code}).first()
    if row is not None:
        return _desk(row[:5]), OpenWave(*row[5:])
    row = connection.execute(_FIND_DESK, {"code": code}).first()
    return (_desk(row) if row else None), None


def _desk(row) -> Desk:
    listed = row[4] or ""
    pairs = (entry.rsplit("=", 1) for entry in listed.split(",") if entry)
    return Desk(*row[:4], procedures={code: int(pk) for code, pk in pairs})


def is_stored(response_uuid: str) -> bool:
    return _autocommit().execute(_IS_STORED, {"uuid": response_uuid}).first() is not None


# --- writing ---------------------------------------------------------------------


def store_response(submission: Submission, answers: Mapping[str, object]) -> bool:
    """Validate and store one response; True if it is new, False if already stored.

    Raises AnswersError (nothing stored) when the answers do not fit the
    wave's questionnaire. The response and its answers are stored together or
    not at all.
    """
    questionnaire = submission.wave.questionnaire
    procedures = submission.desk.procedures
    # Without JavaScript every question is on the page, so a citizen may
    # answer one that skip logic hides: it is left out rather than refused.
    cleaned = questionnaire.clean_answers(questionnaire.drop_hidden(answers), procedures=procedures)
    values = {
        "uuid": submission.uuid,
        "wave_id": submission.wave.id,
        "service_point_id": submission.desk.id,
        "procedure_id": _procedure_id(questionnaire, cleaned, procedures),
        "channel": submission.channel,
        "locale": submission.locale,
    }
    if db.engine.dialect.name == "postgresql":
        return _store_postgresql(values, cleaned)
    return _store_generic(values, cleaned)


def _store_postgresql(values: dict, cleaned: Mapping) -> bool:
    rows = answer_rows(cleaned, None)
    arrays = {
        "codes": [row["item_code"] for row in rows],
        "nums": [row["value_num"] for row in rows],
        "texts": [row["value_text"] for row in rows],
    }
    stored = _autocommit().execute(_STORE_POSTGRESQL, {**values, **arrays})
    return stored.first() is not None


def _store_generic(values: dict, cleaned: Mapping) -> bool:
    with db.engine.begin() as connection:
        response_id = connection.execute(_INSERT_ONCE_SQLITE, values).scalar()
        if response_id is None:
            return False
        rows = answer_rows(cleaned, response_id)
        if rows:
            connection.execute(insert(ANSWER), rows)
    return True


def _procedure_id(questionnaire: Questionnaire, cleaned: Mapping, procedures: dict) -> int | None:
    for item in questionnaire.items():
        if item.scale.kind == "procedure" and item.code in cleaned:
            return procedures.get(str(cleaned[item.code]))
    return None


def answer_rows(cleaned: Mapping, response_id: int | None) -> list[dict]:
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
    "desk_and_wave",
    "is_stored",
    "parse_uuid",
    "store_response",
]
