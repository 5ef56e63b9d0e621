"""The keyboard-only entry screen: a batch's serial field, then one form's pass.

A typist opens a batch, types or scans a form's serial (``type_form``) and
types the form in one column of fields, in the paper's order (``type_pass``).
The page is a plain form that works without JavaScript; ``static/entry.js``
adds auto-advance, skip logic, the procedure list and a draft saved as each
field is left (``save_draft``), so a closed tab loses nothing.

On the screen every question the skip logic shows must be typed, ``-`` for
"no answer": a field left blank is a field the typist missed, not a blank on
the paper (a spreadsheet's empty cell is "no answer", as the import says).
Only text answers may be left blank.

A typist sees their own pass only, never the other one's values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from survey.auth.policy import allow, current_scope
from survey.entry import bp
from survey.entry.forms import PassForm, SerialForm
from survey.errors import UserError
from survey.extensions import db
from survey.models import PaperBatch, PaperForm, Procedure
from survey.questionnaire import Item, Questionnaire
from survey.services import paper
from survey.services.questionnaires import questionnaire_of

TYPISTS = paper.TYPIST_ROLES
#: What the typist hears after finishing a pass, by the form's status afterwards.
STATUS_MESSAGES = {
    "typed": _l("Form %(serial)s is typed once; its second pass is for another surveyor."),
    "settled": _l("Form %(serial)s is settled: both passes agree, and it counts as one response."),
    "disputed": _l(
        "Form %(serial)s is in dispute: the two passes differ, and a supervisor settles it "
        "from the paper."
    ),
}


@dataclass(frozen=True)
class EntryField:
    """One item on the pass screen: what the typist typed and what is wrong with it."""

    item: Item
    label: str
    hint: str
    skip_hint: str | None
    value: str
    error: str | None
    autofocus: bool

    @property
    def keys(self) -> str:
        """The option values, for the page's script (which also knows ``-`` and ``/``)."""
        return " ".join(str(value) for value in self.item.scale.values)


# --- the serial field --------------------------------------------------------------


@bp.route("/batches/<code>/type", methods=["GET", "POST"])
@allow(*TYPISTS)
def type_form(code: str):
    """The serial of the next form of the batch; a good one opens its pass."""
    batch = paper.batch_by_code(code, scope=current_scope())
    form = SerialForm()
    if form.validate_on_submit():
        try:
            _refuse_foreign(form.serial.data or "")
            found = paper.form_for_entry(batch, form.serial.data or "", current_user)
        except UserError as refused:
            return _serial_page(batch, form, refused.message)
        return redirect(url_for("entry.type_pass", code=batch.code, serial=found.serial))
    return _serial_page(batch, form)


def _refuse_foreign(serial_text: str) -> None:
    """A serial of a form outside the reader's units is refused as an unknown one: the
    message names nothing of another province (its desk, batch or status)."""
    if paper.serial_problem(serial_text):
        return  # the service says what is wrong with it
    try:
        paper.form_by_serial(serial_text, scope=current_scope())
    except NotFound:
        serial = paper.normalise_serial(serial_text)
        raise UserError(_("No form has serial %(serial)s.", serial=serial)) from None


def _serial_page(batch: PaperBatch, form: SerialForm, refusal: str | None = None):
    """The serial field, with the reason a serial was refused next to it (400)."""
    if refusal:
        form.serial.errors = [refusal]
    page = render_template(
        "entry/type_form.html",
        batch=batch,
        form=form,
        place=paper.psu_label(batch),
        counts=paper.batch_counts(batch),
        unfinished=paper.unfinished_forms(batch, current_user),
        grouped_serial=paper.grouped_serial,
    )
    return page, 400 if refusal else 200


# --- the pass screen -----------------------------------------------------------------


@bp.route("/batches/<code>/forms/<serial>", methods=["GET", "POST"])
@allow(*TYPISTS)
def type_pass(code: str, serial: str):
    """One form's pass: the typist's draft so far; sent whole, the finished pass."""
    batch, form = _batch_and_form(code, serial)
    try:
        paper.form_for_entry(batch, form.serial, current_user)
    except UserError as refused:
        return _serial_page(batch, SerialForm(formdata=None, serial=form.serial), refused.message)
    questionnaire = questionnaire_of(form.wave.questionnaire)
    pass_form = PassForm()
    if not pass_form.validate_on_submit():
        return _pass_page(batch, form, pass_form, questionnaire, _draft_typed(form, questionnaire))
    items = paper.entry_items(questionnaire)
    typed = {item.code: request.form.get(item.code, "") for item in items}
    if request.form.get("action") == "draft":
        paper.save_pass(batch, form, current_user, typed, complete=False)
        db.session.commit()
        flash(_("Form %(serial)s is kept as a draft.", serial=form.serial), "info")
        return redirect(url_for("entry.type_form", code=batch.code))
    return _finish_pass(batch, form, pass_form, questionnaire, typed)


def _finish_pass(
    batch: PaperBatch,
    form: PaperForm,
    pass_form: PassForm,
    questionnaire: Questionnaire,
    typed: dict[str, str],
):
    """Save the finished pass and go on to the next serial; a refused field keeps the
    pass a draft (the fields that are right are saved) and shows each message (400)."""
    errors = pass_errors(questionnaire, typed, paper.procedure_codes(form))
    if not errors:
        try:
            outcome = paper.save_pass(batch, form, current_user, typed, complete=True)
        except paper.PassRefused as refused:
            errors = refused.errors
    if errors:
        paper.save_pass(batch, form, current_user, typed, complete=False)
        db.session.commit()
        return _pass_page(batch, form, pass_form, questionnaire, typed, errors), 400
    db.session.commit()
    flash(STATUS_MESSAGES[outcome.status] % {"serial": form.serial}, "info")
    return redirect(url_for("entry.type_form", code=batch.code))


@bp.route("/batches/<code>/forms/<serial>/draft", methods=["POST"])
@allow(*TYPISTS)
def save_draft(code: str, serial: str):
    """Save the pass typed so far (JSON ``{item: typed}``); answer each refused field."""
    limit = int(current_app.config["MAX_FORM_BYTES"])
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    batch, form = _batch_and_form(code, serial)
    typed = _typed_json(request.get_json(silent=True))
    paper.form_for_entry(batch, form.serial, current_user)
    outcome = paper.save_pass(batch, form, current_user, typed, complete=False)
    db.session.commit()
    return {"errors": outcome.errors, "status": outcome.status}


def _batch_and_form(code: str, serial: str) -> tuple[PaperBatch, PaperForm]:
    """The batch and the form in the reader's scope (404 outside it), the form's row held
    until the request commits: two passes finished at the same moment are compared one
    after the other, and a draft sent late never overwrites a finished pass."""
    scope = current_scope()
    batch = paper.batch_by_code(code, scope=scope)
    form = paper.form_by_serial(serial, scope=scope)
    db.session.refresh(form, with_for_update=True)
    return batch, form


def _typed_json(data: object) -> dict[str, str]:
    """A draft as the page's script sends it: item code to the text typed."""
    if not isinstance(data, dict) or not all(
        isinstance(code, str) and isinstance(typed, str) for code, typed in data.items()
    ):
        raise UserError(_("A draft is sent as an object of typed answers, item code to text."))
    return data


def pass_errors(
    questionnaire: Questionnaire, typed: Mapping[str, str], procedures: list[str] | None
) -> dict[str, str]:
    """Why each refused field of a finished pass is refused, in the paper's order: the
    service's checks, and every question the skip logic shows left blank (text apart)."""
    values, errors = paper.parse_typed(questionnaire, typed, procedures)
    missed = {
        item.code: _("Type the answer, or - for no answer.")
        for item in paper.entry_items(questionnaire)
        if item.scale.kind != "text"
        and not (typed.get(item.code) or "").strip()
        and questionnaire.is_shown(item, values)
    }
    return {
        item.code: errors.get(item.code) or missed[item.code]
        for item in paper.entry_items(questionnaire)
        if item.code in errors or item.code in missed
    }


def _draft_typed(form: PaperForm, questionnaire: Questionnaire) -> dict[str, str]:
    """The typist's own draft of ``form`` as entry codes (never the other pass)."""
    mine = next((p for p in form.passes if p.typist_id == current_user.id), None)
    if mine is None:
        return {}
    return {
        item.code: paper.typed_text(item, mine.answers[item.code])
        for item in paper.entry_items(questionnaire)
        if item.code in mine.answers
    }


def _pass_page(
    batch: PaperBatch,
    form: PaperForm,
    pass_form: PassForm,
    questionnaire: Questionnaire,
    typed: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
) -> str:
    errors = errors or {}
    procedures = paper.procedure_codes(form)
    return render_template(
        "entry/type_pass.html",
        batch=batch,
        form=form,
        pass_form=pass_form,
        place=paper.psu_label(form),
        serial=paper.grouped_serial(form.serial),
        fields=entry_fields(questionnaire, typed, errors, procedures),
        errors=errors,
        procedures=_procedures(questionnaire, procedures),
        locale=str(get_locale() or "vi"),
    )


def entry_fields(
    questionnaire: Questionnaire,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    procedures: list[str] | None,
) -> list[EntryField]:
    """The items in the paper's order, each with its keys, what was typed and its
    message. The focus goes to the first refused field, else the first field still to
    type (a draft reopened goes on where it stopped)."""
    values, _refused = paper.parse_typed(questionnaire, typed, procedures)
    locale = str(get_locale() or "vi")
    items = paper.entry_items(questionnaire)
    focus = next((item.code for item in items if item.code in errors), None)
    if focus is None:
        focus = next(
            (
                item.code
                for item in items
                if not (typed.get(item.code) or "").strip() and questionnaire.is_shown(item, values)
            ),
            None,
        )
    return [
        EntryField(
            item=item,
            label=item.text.get(locale),
            hint=paper.allowed_hint(item) if item.scale.options else "",
            skip_hint=paper.skip_hint(questionnaire, item) if item.show_if else None,
            value=typed.get(item.code) or "",
            error=errors.get(item.code),
            autofocus=item.code == focus,
        )
        for item in items
    ]


def _procedures(questionnaire: Questionnaire, codes: list[str] | None) -> list[Procedure]:
    """The procedures a form may name (its desk's; every one for a household form), for
    the procedure field's list of matches; none if the form asks for no procedure."""
    if not any(item.scale.kind == "procedure" for item in paper.entry_items(questionnaire)):
        return []
    query = select(Procedure).order_by(Procedure.code)
    if codes is not None:
        query = query.where(Procedure.code.in_(codes))
    return list(db.session.scalars(query))
