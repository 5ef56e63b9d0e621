"""Storing responses exactly once.

A response arrives as one POST carrying the UUID issued with the form. It is
written with its answers in one transaction; a second arrival of the same UUID
(double tap, back-and-resubmit, retry after a dropped line, or a concurrent
duplicate) hits the unique constraint and is answered with the response
already stored, so the citizen sees the same thank-you page.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from survey.errors import UserError
from survey.extensions import db
from survey.models import Answer, FrameEntry, Procedure, Response, ServicePoint, Wave
from survey.questionnaire import AnswersError, Questionnaire
from survey.services.questionnaires import questionnaire_of


@dataclass(frozen=True)
class Submission:
    """Where and how an answer set arrived."""

    uuid: str
    wave: Wave
    service_point: ServicePoint
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


def open_wave_for(point: ServicePoint) -> Wave | None:
    """The open wave that takes responses at this desk.

    A wave with a sampling frame takes them only at its desks; one without a
    frame, at every desk. Desk questionnaires come before household ones, and
    the newest wave first.
    """
    in_frame = select(FrameEntry.id).where(
        FrameEntry.wave_id == Wave.id, FrameEntry.service_point_id == point.id
    )
    no_frame = ~select(FrameEntry.id).where(FrameEntry.wave_id == Wave.id).exists()
    waves = db.session.scalars(
        select(Wave)
        .options(joinedload(Wave.questionnaire))
        .where(Wave.status == "open", or_(in_frame.exists(), no_frame))
    ).all()
    waves = sorted(waves, key=lambda w: (w.questionnaire.kind == "desk", w.created_at, w.id))
    return waves[-1] if waves else None


def procedure_codes(point: ServicePoint) -> dict[str, int]:
    """Procedure code → id for the procedures handled at the desk."""
    rows = db.session.execute(
        select(Procedure.code, Procedure.id)
        .join(ServicePoint.procedures)
        .where(ServicePoint.id == point.id)
    )
    return {code: procedure_id for code, procedure_id in rows}


def store_response(submission: Submission, answers: Mapping[str, object]) -> tuple[Response, bool]:
    """Validate and store one response; returns it and whether it is new.

    Raises AnswersError (nothing stored) when the answers do not fit the
    wave's questionnaire. Commits: the whole response or nothing.
    """
    existing = _find(submission.uuid)
    if existing is not None:
        return existing, False
    questionnaire = questionnaire_of(submission.wave.questionnaire)
    procedures = procedure_codes(submission.service_point)
    # Without JavaScript every question is on the page, so a citizen may
    # answer one that skip logic hides: it is left out rather than refused.
    cleaned = questionnaire.clean_answers(questionnaire.drop_hidden(answers), procedures=procedures)
    response = Response(
        uuid=submission.uuid,
        wave_id=submission.wave.id,
        service_point_id=submission.service_point.id,
        procedure_id=_procedure_id(questionnaire, cleaned, procedures),
        channel=submission.channel,
        locale=submission.locale,
    )
    try:
        db.session.add(response)
        db.session.flush()
        rows = answer_rows(questionnaire, cleaned, response.id)
        if rows:
            db.session.execute(insert(Answer.__table__), rows)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _find(submission.uuid)
        if existing is None:
            raise
        return existing, False
    return response, True


def _find(response_uuid: str) -> Response | None:
    return db.session.scalar(select(Response).where(Response.uuid == response_uuid))


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


__all__ = ["AnswersError", "Submission", "open_wave_for", "parse_uuid", "store_response"]
