"""Citizen pages: ``/s/<desk code>/<signature>`` → questionnaire → thank-you.

CSRF is checked for every POST by Flask-WTF's ``CSRFProtect`` before the view
runs; the questions are checked by the questionnaire's own validator.
"""

from __future__ import annotations

import time
import uuid

from flask import redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from survey.auth.policy import public
from survey.errors import UserError
from survey.extensions import db
from survey.models import Procedure, Response, ServicePoint
from survey.public import bp
from survey.questionnaire import CODE_MAX_LENGTH, AnswersError, Item, Questionnaire
from survey.ratelimits import enforce
from survey.services import qrcodes
from survey.services.responses import (
    Desk,
    OpenWave,
    Submission,
    desk_and_wave,
    is_stored,
    parse_uuid,
    store_response,
)

#: How long a phone that has sent its answers gets the same response id back,
#: so that Back and Send again stores nothing more.
SENT_MEMORY_SECONDS = 2 * 3600
ENVELOPE_FIELDS = ("csrf_token", "response_uuid", "wave")
#: An error page names this many fields that are not questions, then counts the rest.
UNKNOWN_SHOWN = 5
#: What is put back of an answer to a question with options (they are all short).
ANSWER_SHOWN_LENGTH = 100


@bp.route("/")
@public
def home():
    return render_template("public/home.html")


@bp.route("/s/<code>", defaults={"sig": ""})
@bp.route("/s/<code>/<sig>", methods=["GET", "POST"])
@public
def questionnaire(code: str, sig: str):
    # Every POST counts against its address; only one with the desk's valid
    # signature counts against the desk, so forged posts cannot block it.
    if request.method == "POST":
        enforce(("SUBMIT_LIMIT_PER_ADDRESS", request.remote_addr or ""))
    desk, wave = desk_and_wave(code)
    _check_desk(desk, sig)
    if request.method == "POST":
        enforce(("SUBMIT_LIMIT_PER_DESK", desk.code))
    if wave is None:
        raise UserError(
            _("No survey is open at this desk right now. Thank you for your interest."),
            status=404,
            title=_("No survey at the moment"),
        )
    if request.method == "POST":
        return _submit(desk, wave)
    if request.args.get("new"):
        _forget_sent(desk.code)
    sent = _sent_uuid(desk.code)
    return _render_form(desk, wave, sent or str(uuid.uuid4()), {}, {}, already_sent=bool(sent))


def _submit(desk: Desk, wave: OpenWave):
    response_uuid = parse_uuid(request.form.get("response_uuid"))
    if request.form.get("wave") != wave.code:
        if is_stored(response_uuid):
            return _thank(desk, response_uuid)
        raise UserError(
            _(
                "This survey round has closed; your answers were not stored. "
                "Please scan the code again."
            ),
            status=409,
            title=_("The survey round has changed"),
        )
    questionnaire = wave.questionnaire
    answers = _submitted_answers(questionnaire)
    submission = Submission(
        uuid=response_uuid, wave=wave, desk=desk, channel="qr", locale=str(get_locale())
    )
    try:
        store_response(submission, answers)
    except AnswersError as error:
        if is_stored(response_uuid):
            return _thank(desk, response_uuid)
        return _render_form(desk, wave, response_uuid, answers, error.errors)
    return _thank(desk, response_uuid)


def _thank(desk: Desk, response_uuid: str):
    """Remember the response on this phone, then show the thank-you page."""
    sent = {k: v for k, v in session.get("sent", {}).items() if k != desk.code}
    sent[desk.code] = [response_uuid, int(time.time())]
    session["sent"] = dict(list(sent.items())[-5:])
    return redirect(url_for("public.thanks", response_uuid=response_uuid), code=303)


def _sent_uuid(desk_code: str) -> str | None:
    """The response id this phone sent from this desk lately, if any."""
    entry = session.get("sent", {}).get(desk_code)
    if entry and time.time() - entry[1] < SENT_MEMORY_SECONDS:
        return entry[0]
    return None


def _forget_sent(desk_code: str) -> None:
    sent = session.get("sent", {})
    if desk_code in sent:
        session["sent"] = {k: v for k, v in sent.items() if k != desk_code}


def _check_desk(desk: Desk | None, sig: str) -> None:
    """A clear page for a QR code that is forged, mistyped, revoked or closed."""
    if (
        desk is None
        or not sig
        or not qrcodes.signature_matches(desk.code, desk.secret_version, sig)
    ):
        if desk is not None and _was_valid_once(desk, sig):
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
    if not desk.active:
        raise UserError(
            _("This desk no longer takes part in the survey. Thank you for your interest."),
            status=410,
            title=_("Survey closed at this desk"),
        )


def _was_valid_once(desk: Desk, sig: str) -> bool:
    return any(
        qrcodes.signature(desk.code, version) == sig for version in range(1, desk.secret_version)
    )


def _submitted_answers(questionnaire: Questionnaire) -> dict:
    """Answers keyed by item code, blanks left out; multi-select items as lists.

    Fields that are not items of the questionnaire are passed on too, so that
    the validator refuses them by name.
    """
    multi = questionnaire.multi_select_codes
    answers: dict = {}
    for key in request.form:
        if key in ENVELOPE_FIELDS:
            continue
        values = [v for v in request.form.getlist(key) if v.strip()]
        if values:
            answers[key] = values if key in multi else values[-1]
    return answers


def _render_form(
    desk: Desk,
    wave: OpenWave,
    response_uuid: str,
    answers: dict,
    errors: dict,
    *,
    already_sent: bool = False,
):
    point = db.session.scalar(
        select(ServicePoint)
        .options(selectinload(ServicePoint.procedures), selectinload(ServicePoint.unit))
        .where(ServicePoint.id == desk.id)
    )
    questionnaire = wave.questionnaire
    items = {item.code: item for item in questionnaire.items()}
    shown_errors, unknown_more = _shown_errors(errors, items)
    page = render_template(
        "public/questionnaire.html",
        point=point,
        wave=wave,
        response_uuid=response_uuid,
        already_sent=already_sent,
        questionnaire=questionnaire,
        items=items,
        procedures=point.procedures,
        answers=_refill(answers, items),
        errors=shown_errors,
        unknown_more=unknown_more,
        locale=str(get_locale()),
    )
    return page, 400 if errors else 200


def _refill(answers: dict, items: dict[str, Item]) -> dict:
    """The answers to put back in the form: its own questions only, none longer than
    the question takes (a text's ``max_length``), so a page never echoes a flood."""
    refill = {}
    for code, value in answers.items():
        item = items.get(code)
        if item is not None:
            limit = item.scale.max_length or ANSWER_SHOWN_LENGTH
            refill[code] = [v[:limit] for v in value] if isinstance(value, list) else value[:limit]
    return refill


def _shown_errors(errors: dict, items: dict[str, Item]) -> tuple[dict, int]:
    """The errors the page lists, with at most a few unknown fields, their names cut
    short; and how many more unknown fields there were."""
    shown = {code: keys for code, keys in errors.items() if code in items}
    unknown = [code for code in errors if code not in items]
    for code in unknown[:UNKNOWN_SHOWN]:
        short = code if len(code) <= CODE_MAX_LENGTH else code[:CODE_MAX_LENGTH] + "…"
        shown[short] = errors[code]
    return shown, max(0, len(unknown) - UNKNOWN_SHOWN)


@bp.route("/thanks/<response_uuid>")
@public
def thanks(response_uuid: str):
    response = db.session.scalar(select(Response).where(Response.uuid == response_uuid))
    if response is None:
        raise UserError(_("We could not find this response."), status=404)
    point = db.session.get(ServicePoint, response.service_point_id)
    procedure = db.session.get(Procedure, response.procedure_id) if response.procedure_id else None
    return render_template("public/thanks.html", point=point, procedure=procedure)
