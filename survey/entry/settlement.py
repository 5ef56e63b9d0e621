"""Settling a form in dispute, and voiding a form: the supervisor's half of double entry.

The supervisor sees both passes side by side, every item of the form, the
items the passes differ on marked (a sign and a word, not a colour alone),
with the typists' names. Each differing item is settled from the paper: the
first pass's value, the second's, or another value typed with the entry codes
(``-`` no answer, ``/`` not applicable). ``services.paper.settle_form``
checks the whole form again and makes the one response; a supervisor who
typed a pass of the form may not settle it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound

from survey import queries
from survey.auth.policy import allow, current_scope
from survey.entry import bp
from survey.entry.batches import SUPERVISORS, page_helpers
from survey.entry.forms import SettleForm, VoidForm
from survey.errors import UserError
from survey.extensions import db
from survey.models import PaperBatch, PaperForm, PaperPass
from survey.questionnaire import Item
from survey.services import paper
from survey.services.questionnaires import questionnaire_of

CHOICES = ("first", "second", "other")


@dataclass(frozen=True)
class FieldRow:
    """One item of the form: each finished pass's value as shown, and its settlement."""

    item: Item
    label: str
    first: str | None
    second: str | None
    differs: bool
    #: What the supervisor chose and typed (shown again when the page refuses it).
    choice: str
    other: str
    error: str | None
    hint: str


@bp.route("/forms/<serial>/settle", methods=["GET", "POST"])
@allow(*SUPERVISORS)
def settle(serial: str):
    """Both passes of a form; sent, each differing item settled and the form counted."""
    form = paper.form_by_serial(serial, scope=current_scope())
    settle_form = SettleForm()
    if not settle_form.validate_on_submit():
        return _form_page(form, settle_form, _void_form(form))
    db.session.refresh(form, with_for_update=True)
    choices, errors = _choices(form)
    try:
        if not errors:
            paper.settle_form(form, choices, current_user)
    except paper.PassRefused as refused:
        errors = refused.errors
    except UserError as refused:
        db.session.rollback()
        return _form_page(form, settle_form, _void_form(form), refusal=refused.message), 400
    if errors:
        db.session.rollback()
        return _form_page(form, settle_form, _void_form(form), errors=errors), 400
    db.session.commit()
    flash(_("Form %(serial)s is settled: it counts as one response.", serial=form.serial), "info")
    return redirect(url_for("entry.batch", code=form.batch.code))


def _choices(form: PaperForm) -> tuple[dict[str, str], dict[str, str]]:
    """The supervisor's choice for each differing item, and the items chosen "other"
    with no value typed. A value typed without choosing "other" counts as "other"."""
    if form.status != "disputed":
        return {}, {}
    choices, errors = {}, {}
    for code in paper.differing_items(form):
        choice = request.form.get(f"choice-{code}", "")
        other = request.form.get(f"other-{code}", "").strip()
        if choice in ("first", "second"):
            choices[code] = choice
        elif other:
            choices[code] = other
        elif choice == "other":
            errors[code] = _("Type the value on the paper, or - for no answer.")
    return choices, errors


@bp.route("/forms/<serial>/void", methods=["POST"])
@allow(*SUPERVISORS)
def void_form(serial: str):
    """Void a form with a reason; an untyped one is counted void in the batch named."""
    scope = current_scope()
    form = paper.form_by_serial(serial, scope=scope)
    void = VoidForm()
    if not void.validate_on_submit():
        return _form_page(form, SettleForm(formdata=None), void), 400
    batch = paper.batch_by_code(void.batch.data, scope=scope) if void.batch.data else None
    db.session.refresh(form, with_for_update=True)
    try:
        paper.void_form(form, void.reason.data, current_user, batch=batch)
    except UserError as refused:
        db.session.rollback()
        void.reason.errors = [refused.message]
        return _form_page(form, SettleForm(formdata=None), void), 400
    db.session.commit()
    flash(_("Form %(serial)s is void: it will never count.", serial=form.serial), "info")
    if form.batch is not None:
        return redirect(url_for("entry.batch", code=form.batch.code))
    return redirect(url_for("entry.batches"))


def _void_form(form: PaperForm) -> VoidForm:
    """The void form, naming the batch an untyped form was found from (``?batch=``)."""
    void = VoidForm(formdata=None)
    batch = form.batch or _batch_named(request.args.get("batch"))
    void.batch.data = batch.code if batch is not None else ""
    return void


def _batch_named(code: str | None) -> PaperBatch | None:
    if not code:
        return None
    try:
        return paper.batch_by_code(code, scope=current_scope())
    except NotFound:
        return None


# --- the page ----------------------------------------------------------------------


def _form_page(
    form: PaperForm,
    settle_form: SettleForm,
    void: VoidForm,
    *,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
):
    errors = errors or {}
    passes = _finished_passes(form)
    typed_by_me = any(p.typist_id == current_user.id for p in form.passes)
    rows = field_rows(form, passes, errors)
    batch = form.batch or _batch_named(void.batch.data)
    return render_template(
        "entry/settle.html",
        form=form,
        batch=batch,
        passes=passes,
        rows=rows,
        differing=[row for row in rows if row.differs],
        errors=errors,
        refusal=refusal,
        may_settle=form.status == "disputed" and not typed_by_me,
        typed_by_me=typed_by_me,
        settle_form=settle_form,
        void_form=void,
        focus=_focus(rows, errors),
        **page_helpers(),
    )


def _finished_passes(form: PaperForm) -> list[PaperPass | None]:
    """Pass 1 and pass 2 if finished (a draft is not shown: it may still change)."""
    by_number = {p.number: p for p in form.passes if p.completed_at is not None}
    return [by_number.get(1), by_number.get(2)]


def _focus(rows: list[FieldRow], errors: dict[str, str]) -> str | None:
    """The item whose first control takes the focus: the first refused, else the first
    differing."""
    refused = next((row.item.code for row in rows if row.item.code in errors), None)
    return refused or next((row.item.code for row in rows if row.differs), None)


def field_rows(
    form: PaperForm, passes: list[PaperPass | None], errors: dict[str, str]
) -> list[FieldRow]:
    """Every item in the paper's order with both passes' values as shown; an item the
    passes differ on with the supervisor's choice so far."""
    questionnaire = questionnaire_of(form.wave.questionnaire)
    locale = str(get_locale() or "vi")
    names = _procedure_names(questionnaire.items(), locale)
    differing = set(paper.differing_items(form)) if form.status == "disputed" else set()
    first, second = (p.answers if p is not None else None for p in passes)
    return [
        FieldRow(
            item=item,
            label=item.text.get(locale),
            first=None if first is None else shown_value(item, first.get(item.code), names),
            second=None if second is None else shown_value(item, second.get(item.code), names),
            differs=item.code in differing,
            choice=request.form.get(f"choice-{item.code}", ""),
            other=request.form.get(f"other-{item.code}", ""),
            error=errors.get(item.code),
            hint=paper.allowed_hint(item) if item.scale.options else "",
        )
        for item in paper.entry_items(questionnaire)
    ]


def _procedure_names(items, locale: str) -> dict[str, str]:
    """Procedure code to name, if the form asks for a procedure."""
    if not any(item.scale.kind == "procedure" for item in items):
        return {}
    return {procedure.code: procedure.label(locale) for procedure in queries.procedures()}


def shown_value(item: Item, value: paper.Value, procedures: dict[str, str]) -> str:
    """A stored answer as the supervisor compares it with the paper: the entry code
    typed for it and what it means (``4 · Satisfied``; ``- · no answer``)."""
    if value is None:
        return f"{paper.NO_ANSWER} · {_('no answer')}"
    if item.scale.kind == "text":
        return str(value)
    values = value if isinstance(value, list) else [value]
    return "; ".join(_shown_option(item, one, procedures) for one in values)


def _shown_option(item: Item, value: int | str, procedures: dict[str, str]) -> str:
    scale = item.scale
    code = paper.NOT_APPLICABLE if value == scale.not_applicable else str(value)
    if scale.kind == "procedure":
        meaning = procedures.get(str(value), "")
    else:
        option = scale.option(value)
        meaning = option.label.get(str(get_locale() or "vi")) if option else ""
    return f"{code} · {meaning}" if meaning else code
