"""Citizen pages: ``/s/<desk code>/<signature>`` → questionnaire → thank-you."""

from __future__ import annotations

import uuid

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from survey.errors import UserError
from survey.extensions import db, limiter
from survey.models import Procedure, Response, ServicePoint, Wave
from survey.public import bp
from survey.public.forms import ResponseEnvelope
from survey.questionnaire import AnswersError
from survey.services import qrcodes
from survey.services.questionnaires import questionnaire_of
from survey.services.responses import (
    Submission,
    open_wave_for,
    parse_uuid,
    store_response,
)


@bp.route("/")
def home():
    return render_template("public/home.html")


def _per_address() -> str:
    return current_app.config["SUBMIT_LIMIT_PER_ADDRESS"]


def _per_desk() -> str:
    return current_app.config["SUBMIT_LIMIT_PER_DESK"]


def _desk_key() -> str:
    return "desk:" + (request.view_args or {}).get("code", "")


@bp.route("/s/<code>", defaults={"sig": ""})
@bp.route("/s/<code>/<sig>", methods=["GET", "POST"])
@limiter.limit(_per_address, methods=["POST"])
@limiter.limit(_per_desk, key_func=_desk_key, methods=["POST"])
def questionnaire(code: str, sig: str):
    point = _verified_point(code, sig)
    wave = open_wave_for(point)
    if wave is None:
        raise UserError(
            _("No survey is open at this desk right now. Thank you for your interest."),
            status=404,
            title=_("No survey at the moment"),
        )
    envelope = ResponseEnvelope()
    errors: dict[str, list[str]] = {}
    answers: dict = {}
    if request.method == "POST":
        if not envelope.validate_on_submit():
            raise UserError(_("The form has expired. Please open it again."))
        if envelope.wave.data != wave.code:
            raise UserError(
                _(
                    "This survey round has closed; your answers were not stored. "
                    "Please scan the code again."
                ),
                status=409,
                title=_("The survey round has changed"),
            )
        answers = _submitted_answers(questionnaire_of(wave.questionnaire))
        submission = Submission(
            uuid=parse_uuid(envelope.response_uuid.data),
            wave=wave,
            service_point=point,
            channel="qr",
            locale=str(get_locale()),
        )
        try:
            store_response(submission, answers)
        except AnswersError as error:
            errors = error.errors
        else:
            return redirect(url_for("public.thanks", response_uuid=submission.uuid), code=303)
    else:
        envelope.response_uuid.data = str(uuid.uuid4())
        envelope.wave.data = wave.code
    return _render_form(point, wave, envelope, answers, errors)


def _verified_point(code: str, sig: str) -> ServicePoint:
    """The desk a QR code leads to; a clear page for a forged, revoked or closed one."""
    point = db.session.scalar(select(ServicePoint).where(ServicePoint.code == code))
    if point is None or not sig or not qrcodes.signature_matches(point, sig):
        if point is not None and _was_valid_once(point, sig):
            raise UserError(
                _(
                    "This QR code has been replaced. "
                    "Please scan the new code displayed at the desk."
                ),
                status=410,
                title=_("This QR code is no longer valid"),
            )
        raise UserError(
            _(
                "This QR code is not valid. Please scan the code displayed at the desk again, "
                "or ask the staff for help."
            ),
            status=404,
            title=_("Invalid QR code"),
        )
    if not point.active:
        raise UserError(
            _("This desk no longer takes part in the survey. Thank you for your interest."),
            status=410,
            title=_("Survey closed at this desk"),
        )
    return point


def _was_valid_once(point: ServicePoint, sig: str) -> bool:
    return any(
        qrcodes.signature(point.code, version) == sig for version in range(1, point.secret_version)
    )


def _submitted_answers(questionnaire) -> dict:
    """Answers keyed by item code, blanks left out; multi-select items as lists.

    Fields that are not items of the questionnaire are passed on too, so that
    the validator refuses them by name.
    """
    multi = {item.code for item in questionnaire.items() if item.scale.kind == "multi"}
    answers: dict = {}
    for key in request.form:
        if key in ("csrf_token", "response_uuid", "wave"):
            continue
        values = [v for v in request.form.getlist(key) if v.strip()]
        if values:
            answers[key] = values if key in multi else values[-1]
    return answers


def _render_form(point, wave: Wave, envelope, answers: dict, errors: dict):
    questionnaire = questionnaire_of(wave.questionnaire)
    procedures = point.procedures
    status = 400 if errors else 200
    return (
        render_template(
            "public/questionnaire.html",
            point=point,
            wave=wave,
            questionnaire=questionnaire,
            items={item.code: item for item in questionnaire.items()},
            procedures=procedures,
            envelope=envelope,
            answers=answers,
            errors=errors,
            locale=str(get_locale()),
        ),
        status,
    )


@bp.route("/thanks/<response_uuid>")
def thanks(response_uuid: str):
    response = db.session.scalar(select(Response).where(Response.uuid == response_uuid))
    if response is None:
        raise UserError(_("We could not find this response."), status=404)
    point = db.session.get(ServicePoint, response.service_point_id)
    procedure = db.session.get(Procedure, response.procedure_id) if response.procedure_id else None
    return render_template("public/thanks.html", point=point, procedure=procedure)
