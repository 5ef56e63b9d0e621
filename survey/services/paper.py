"""Paper forms from print to response: serials, batches, typed passes, comparison, settlement.

The path of one form:

1. ``issue_forms`` prints serials for a wave and a PSU (a desk, or a
   household cluster). A serial is eight digits and a Damm check digit,
   which catches every single mistyped digit and every swap of two
   neighbouring digits, so a mistyped serial is refused before any lookup.
2. ``create_batch`` registers a returned bundle with its count.
3. Two different surveyors type the form (``save_pass``); a pass is saved
   field by field as a draft and compared once both are complete.
4. Passes that agree settle the form at once; passes that differ put it in
   dispute until a supervisor settles each differing field from the paper
   (``settle_form``) or voids it. A settled form becomes exactly one
   response of channel ``paper`` (the form's ``response_id`` is unique).

Typed values use the entry codes: the option's value (``4``), ``-`` for no
answer and ``/`` for not applicable; several options of a multi-select item
are typed one after the other (``135``). ``parse_typed`` is the one place
that reads them, for the screen and for imported spreadsheets alike.

Functions flush but never commit: the caller's request or command commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import aliased, selectinload

from survey.auth.policy import UnitScope
from survey.errors import UserError
from survey.extensions import db
from survey.models import (
    Answer,
    PaperBatch,
    PaperForm,
    PaperPass,
    Procedure,
    Response,
    ServicePoint,
    Unit,
    User,
    Wave,
)
from survey.models._common import utcnow
from survey.models.geo import service_point_procedure
from survey.queries import local_day_start, today_local
from survey.questionnaire import Item, Questionnaire
from survey.services.audit import audit
from survey.services.questionnaires import questionnaire_of
from survey.services.responses import answer_rows

NO_ANSWER = "-"
NOT_APPLICABLE = "/"
SERIAL_NUMBER_DIGITS = 8
#: Most forms one print run issues: a desk's month, or a large cluster.
MAX_PRINT = 5000
#: Most forms a batch may hold.
MAX_BATCH = 10_000
#: The roles that type passes, on the entry screen or in a spreadsheet.
TYPIST_ROLES = ("surveyor", "supervisor")

Value = int | str | list | None


# --- serials -------------------------------------------------------------------

# Damm's quasigroup of order 10 (weakly totally anti-symmetric): one check digit
# detects every single-digit error and every adjacent transposition.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def check_digit(digits: str) -> str:
    """The Damm check digit of a string of digits."""
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return str(interim)


def serial_of(number: int) -> str:
    """The printed serial of form number ``number``: eight digits and the check digit."""
    digits = f"{number:0{SERIAL_NUMBER_DIGITS}d}"
    return digits + check_digit(digits)


def normalise_serial(text: str) -> str:
    """A serial as typed or scanned, without the spaces and dashes it is printed with."""
    return "".join(ch for ch in (text or "") if ch not in " -\t")


def serial_problem(text: str) -> str | None:
    """Why ``text`` cannot be a serial, or None: checked before any lookup."""
    serial = normalise_serial(text)
    if not serial:
        return _("Type the form's serial.")
    if not serial.isdigit() or len(serial) != SERIAL_NUMBER_DIGITS + 1:
        return _("A serial is %(count)d digits; %(serial)s is not.") % {
            "count": SERIAL_NUMBER_DIGITS + 1,
            "serial": serial[:20],
        }
    if check_digit(serial) != "0":
        return _("Serial %(serial)s fails its check digit: a digit is mistyped.") % {
            "serial": serial
        }
    return None


def grouped_serial(serial: str) -> str:
    """The serial as printed for the eye: ``0000 0042 7``."""
    return f"{serial[:4]} {serial[4:8]} {serial[8:]}"


# --- the PSU of forms and batches ----------------------------------------------


def _check_psu(wave: Wave, service_point: ServicePoint | None, unit: Unit | None) -> None:
    """A desk wave's forms belong to a desk; a household wave's to a cluster."""
    if wave.is_household:
        if unit is None or service_point is not None:
            raise UserError(
                _("Wave %(wave)s is a household wave: name the commune or village cluster.")
                % {"wave": wave.code}
            )
    elif service_point is None or unit is not None:
        raise UserError(_("Wave %(wave)s is a desk wave: name the desk.") % {"wave": wave.code})
    if wave.status == "closed":
        raise UserError(_("Wave %(wave)s is closed.") % {"wave": wave.code})


def psu_label(owner: PaperForm | PaperBatch) -> str:
    """The desk or cluster a form or batch belongs to, as ``CODE Name``."""
    place = owner.service_point or owner.unit
    return f"{place.code} {place.name}"


def _psu_unit(service_point: ServicePoint | None, unit: Unit | None) -> Unit:
    return service_point.unit if service_point is not None else unit


def _count(count: int, most: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        raise UserError(_("The count must be a whole number from 1 to %(most)d.") % {"most": most})
    return count


# --- printing and batches ------------------------------------------------------


def issue_forms(
    wave: Wave,
    count: int,
    *,
    service_point: ServicePoint | None = None,
    unit: Unit | None = None,
    by: User | None,
) -> list[PaperForm]:
    """``count`` new forms with new serials for ``wave`` and a desk or cluster."""
    _check_psu(wave, service_point, unit)
    _count(count, MAX_PRINT)
    forms = [
        PaperForm(
            serial=f"new-{uuid.uuid4().hex[:11]}",
            wave_id=wave.id,
            service_point_id=service_point.id if service_point else None,
            unit_id=unit.id if unit else None,
            printed_by_id=by.id if by else None,
        )
        for _number in range(count)
    ]
    db.session.add_all(forms)
    db.session.flush()
    for form in forms:
        form.serial = serial_of(form.id)
    db.session.flush()
    audit(
        "paper forms issued",
        wave,
        by,
        in_unit=_psu_unit(service_point, unit),
        after={"count": count, "first": forms[0].serial, "last": forms[-1].serial},
    )
    return forms


def create_batch(
    wave: Wave,
    count: int,
    *,
    service_point: ServicePoint | None = None,
    unit: Unit | None = None,
    by: User | None,
) -> PaperBatch:
    """Register a returned bundle of ``count`` forms of one desk or cluster."""
    _check_psu(wave, service_point, unit)
    _count(count, MAX_BATCH)
    batch = PaperBatch(
        code=f"new-{uuid.uuid4().hex[:11]}",
        wave_id=wave.id,
        service_point=service_point,
        unit=unit,
        expected_count=count,
        created_by_id=by.id if by else None,
    )
    db.session.add(batch)
    db.session.flush()
    batch.code = f"B{batch.id:06d}"
    db.session.flush()
    audit(
        "batch created",
        batch,
        by,
        in_unit=_psu_unit(service_point, unit),
        after={"code": batch.code, "wave": wave.code, "count": count},
    )
    return batch


def close_batch(batch: PaperBatch, by: User | None, reason: str | None = None) -> None:
    """Close a batch; with forms missing, only with a reason."""
    if batch.status == "closed":
        raise UserError(_("Batch %(batch)s is already closed.") % {"batch": batch.code})
    missing = batch_counts(batch).missing
    reason = (reason or "").strip()
    if missing and not reason:
        raise UserError(
            _("%(count)d forms of batch %(batch)s are missing: say why before closing it.")
            % {"count": missing, "batch": batch.code}
        )
    batch.status, batch.closed_at = "closed", utcnow()
    batch.closed_by_id = by.id if by else None
    batch.close_reason = reason or None
    audit(
        "batch closed",
        batch,
        by,
        in_unit=batch_unit(batch),
        before={"status": "open"},
        after={"status": "closed", "missing": missing, "reason": reason or None},
    )


def batch_unit(batch: PaperBatch) -> Unit:
    return _psu_unit(batch.service_point, batch.unit)


# --- finding a form to type ------------------------------------------------------


def form_for_entry(batch: PaperBatch, serial_text: str, typist: User) -> PaperForm:
    """The form ``typist`` may type next in ``batch``; a UserError says why not."""
    if batch.status == "closed":
        raise UserError(_("Batch %(batch)s is closed.") % {"batch": batch.code})
    problem = serial_problem(serial_text)
    if problem:
        raise UserError(problem)
    serial = normalise_serial(serial_text)
    form = db.session.scalar(select(PaperForm).where(PaperForm.serial == serial))
    if form is None:
        raise UserError(_("No form has serial %(serial)s.") % {"serial": serial})
    _check_form_fits(batch, form)
    _check_typist(form, typist)
    return form


def check_entry(batch: PaperBatch, form: PaperForm, typist: User) -> None:
    """Why ``typist`` may not type ``form`` in ``batch`` (UserError), as ``form_for_entry``
    checks the form it found: for a caller that found many forms at once (an import)."""
    if batch.status == "closed":
        raise UserError(_("Batch %(batch)s is closed.") % {"batch": batch.code})
    _check_form_fits(batch, form)
    _check_typist(form, typist)


def _check_form_fits(batch: PaperBatch, form: PaperForm) -> None:
    serial = form.serial
    if form.wave_id != batch.wave_id:
        raise UserError(
            _("Form %(serial)s belongs to wave %(wave)s, not to this batch's wave.")
            % {"serial": serial, "wave": form.wave.code}
        )
    if (form.service_point_id, form.unit_id) != (batch.service_point_id, batch.unit_id):
        raise UserError(
            _("Form %(serial)s was printed for %(place)s, not for this batch's %(batch_place)s.")
            % {"serial": serial, "place": psu_label(form), "batch_place": psu_label(batch)}
        )
    if form.batch_id is not None and form.batch_id != batch.id:
        raise UserError(
            _("Form %(serial)s is in batch %(batch)s.")
            % {"serial": serial, "batch": form.batch.code}
        )
    if form.status == "void":
        raise UserError(_("Form %(serial)s is void.") % {"serial": serial})
    if form.status == "settled":
        raise UserError(
            _("Form %(serial)s is settled already: it takes no further pass.") % {"serial": serial}
        )


def _check_typist(form: PaperForm, typist: User) -> None:
    mine = _pass_of(form, typist)
    if mine is not None and mine.completed_at is not None:
        raise UserError(
            _(
                "You have typed form %(serial)s already: its other pass must be typed by "
                "someone else."
            )
            % {"serial": form.serial}
        )
    if mine is None and len(form.passes) >= 2:
        raise UserError(
            _("Form %(serial)s has been typed twice already.") % {"serial": form.serial}
        )


def _pass_of(form: PaperForm, typist: User) -> PaperPass | None:
    return next((p for p in form.passes if p.typist_id == typist.id), None)


def unfinished_forms(batch: PaperBatch, typist: User) -> list[PaperForm]:
    """The forms of ``batch`` whose pass ``typist`` has started and not finished, that
    still take it (a tab closed half-way: the typist picks them up again)."""
    return list(
        db.session.scalars(
            select(PaperForm)
            .join(PaperPass, PaperPass.form_id == PaperForm.id)
            .where(
                PaperForm.batch_id == batch.id,
                PaperForm.status == "typed",
                PaperPass.typist_id == typist.id,
                PaperPass.completed_at.is_(None),
            )
            .order_by(PaperForm.serial)
        )
    )


# --- reading typed values --------------------------------------------------------


def entry_items(questionnaire: Questionnaire) -> tuple[Item, ...]:
    """The items typed from paper, in the paper's order (every item of the form)."""
    return questionnaire.items()


def parse_typed(
    questionnaire: Questionnaire,
    typed: Mapping[str, str | None],
    procedures: Iterable[str] | None,
) -> tuple[dict[str, Value], dict[str, str]]:
    """Typed entry codes → answer values, and a message per item that is refused.

    Every item of the questionnaire gets a value (None: no answer). An
    unknown item, an option the scale lacks, "not applicable" where the scale
    offers none, and an answer to a question the skip logic hides are refused.
    A question left blank on paper is "no answer", required or not.
    """
    known = {item.code for item in questionnaire.items()}
    errors = {
        code: _("There is no question %(code)s on this form.") % {"code": code}
        for code in typed
        if code not in known
    }
    allowed = None if procedures is None else set(procedures)
    values: dict[str, Value] = {}
    for item in entry_items(questionnaire):
        raw = (typed.get(item.code) or "").strip()
        value, error = _typed_value(item, raw, allowed)
        if error is None and value is not None and not questionnaire.is_shown(item, values):
            error = _("Skipped on this form: %(hint)s") % {"hint": skip_hint(questionnaire, item)}
        if error is not None:
            errors[item.code] = error
            value = None
        values[item.code] = value
    return values, errors


def _typed_value(item: Item, raw: str, procedures: set[str] | None) -> tuple[Value, str | None]:
    scale = item.scale
    if raw in ("", NO_ANSWER):
        return None, None
    if raw == NOT_APPLICABLE:
        if scale.not_applicable is None:
            return None, _('This question has no "not applicable" answer.')
        return scale.not_applicable, None
    if scale.kind == "text":
        if scale.max_length is not None and len(raw) > scale.max_length:
            return None, _("At most %(count)d characters.") % {"count": scale.max_length}
        return raw, None
    if scale.kind == "procedure":
        return _typed_procedure(raw, procedures)
    if scale.kind == "multi":
        return _typed_multi(item, raw)
    value = scale.parse(raw)
    if value is None:
        return None, allowed_hint(item)
    return value, None


def _typed_procedure(raw: str, procedures: set[str] | None) -> tuple[Value, str | None]:
    if procedures is not None and raw not in procedures:
        return None, _("No procedure %(code)s is handled here.") % {"code": raw[:40]}
    return raw, None


def _typed_multi(item: Item, raw: str) -> tuple[Value, str | None]:
    """Several options typed one after another (``135``), or separated (``1 3 5``, ``1,3``)."""
    scale = item.scale
    if all(len(str(v)) == 1 for v in scale.values):
        parts = [ch for ch in raw if ch not in ", "]
    else:
        parts = raw.replace(",", " ").split()
    values = [scale.parse(part) for part in parts]
    if not values or None in values:
        return None, allowed_hint(item)
    return [value for value in scale.values if value in values], None


def allowed_hint(item: Item) -> str:
    """What may be typed for ``item``, shown beside the field when it refuses a value."""
    values = [v for v in item.scale.values if v != item.scale.not_applicable]
    shown = ", ".join(str(v) for v in values)
    if item.scale.not_applicable is not None:
        return _("Type %(values)s, - for no answer or / for not applicable.") % {"values": shown}
    return _("Type %(values)s, or - for no answer.") % {"values": shown}


def skip_hint(questionnaire: Questionnaire, item: Item) -> str:
    target, values = item.show_if
    shown = ", ".join(str(v) for v in values)
    return _("answered only when %(item)s is %(values)s.") % {"item": target, "values": shown}


def procedure_codes(form: PaperForm | PaperBatch) -> list[str] | None:
    """The procedures a form (or any form of a batch) may name: the desk's, or (household
    forms) every procedure."""
    if form.service_point_id is None:
        return None
    query = (
        select(Procedure.code)
        .join(service_point_procedure, service_point_procedure.c.procedure_id == Procedure.id)
        .where(service_point_procedure.c.service_point_id == form.service_point_id)
    )
    return list(db.session.scalars(query))


# --- passes ----------------------------------------------------------------------


class PassRefused(UserError):
    """A pass whose fields are refused; ``errors`` maps item code to the message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(
            _("%(count)d answers are refused: %(items)s.")
            % {"count": len(errors), "items": ", ".join(errors)}
        )
        self.errors = errors


@dataclass
class PassOutcome:
    """What saving a pass did: the form's status afterwards, and refused fields of a draft."""

    pass_: PaperPass
    status: str
    errors: dict[str, str] = field(default_factory=dict)
    differing: list[str] = field(default_factory=list)


def save_pass(
    batch: PaperBatch,
    form: PaperForm,
    typist: User,
    typed: Mapping[str, str | None],
    *,
    complete: bool,
    source: str = "screen",
) -> PassOutcome:
    """Save ``typist``'s pass of ``form``: a draft (refused fields left out) or complete.

    A complete pass with a refused field raises ``PassRefused`` and changes
    nothing. The second complete pass compares the two: agreement settles the
    form, a difference puts it in dispute.
    """
    _check_form_fits(batch, form)
    _check_typist(form, typist)
    questionnaire = questionnaire_of(form.wave.questionnaire)
    values, errors = parse_typed(questionnaire, typed, procedure_codes(form))
    if complete and errors:
        raise PassRefused(errors)
    pass_ = _pass_of(form, typist) or _new_pass(form, typist, source)
    # A draft keeps only the fields typed so far: reopened, a field not reached yet is
    # blank again, and None stays what it is in a complete pass, a typed "no answer".
    kept = values.keys() if complete else {c for c, raw in typed.items() if (raw or "").strip()}
    pass_.answers = {
        code: value for code, value in values.items() if code not in errors and code in kept
    }
    form.batch_id = batch.id
    if not complete:
        db.session.flush()
        return PassOutcome(pass_, form.status, errors)
    pass_.completed_at = utcnow()
    audit("pass typed", form, typist, in_unit=batch_unit(batch), after=_pass_detail(pass_))
    outcome = PassOutcome(pass_, form.status)
    _compare(form, outcome)
    db.session.flush()
    return outcome


def save_passes(
    batch: PaperBatch,
    typist: User,
    typed_forms: Sequence[tuple[PaperForm, Mapping[str, str | None]]],
    *,
    source: str = "import",
) -> list[PassOutcome]:
    """``typist``'s complete passes of many forms of ``batch`` (an imported file): each
    checked, saved, audited and compared as ``save_pass`` does it, the responses of the
    forms they settle made together (a flush per form would take minutes for ten
    thousand). PassRefused or UserError for the first form refused: the caller, who
    checked every form first, rolls back.
    """
    questionnaire = questionnaire_of(batch.wave.questionnaire)
    procedures = procedure_codes(batch)
    outcomes, agreed = [], []
    with db.session.no_autoflush:
        for form, typed in typed_forms:
            _check_form_fits(batch, form)
            _check_typist(form, typist)
            values, errors = parse_typed(questionnaire, typed, procedures)
            if errors:
                raise PassRefused(errors)
            pass_ = _pass_of(form, typist) or _new_pass(form, typist, source)
            pass_.answers, pass_.completed_at = values, utcnow()
            form.batch_id = batch.id
            audit("pass typed", form, typist, in_unit=batch_unit(batch), after=_pass_detail(pass_))
            outcome = PassOutcome(pass_, form.status)
            if _agreeing(form, outcome):
                agreed.append((form, outcome))
            outcomes.append(outcome)
    settled = [(form, _settled_answers(_completed(form)[0].answers)) for form, _ in agreed]
    for (form, outcome), response in zip(
        agreed, _responses_of(settled, questionnaire), strict=True
    ):
        _mark_settled(form, response, by=None, resolution=None)
        outcome.status = form.status
    db.session.flush()
    return outcomes


def _new_pass(form: PaperForm, typist: User, source: str) -> PaperPass:
    taken = {p.number for p in form.passes}
    pass_ = PaperPass(form=form, number=1 if 1 not in taken else 2, typist=typist, source=source)
    db.session.add(pass_)
    if form.status == "issued":
        form.status = "typed"
    return pass_


def _pass_detail(pass_: PaperPass) -> dict:
    return {"serial": pass_.form.serial, "pass": pass_.number, "answers": pass_.answers}


def _compare(form: PaperForm, outcome: PassOutcome) -> None:
    if _agreeing(form, outcome):
        _settle(form, dict(_completed(form)[0].answers), by=None, resolution=None)
        outcome.status = form.status


def _agreeing(form: PaperForm, outcome: PassOutcome) -> bool:
    """Whether the form has two complete passes that agree; if not, the form is typed
    (one pass) or disputed (two that differ), and so is the outcome."""
    if len(_completed(form)) < 2:
        form.status = outcome.status = "typed"
        return False
    outcome.differing = differing_items(form)
    if outcome.differing:
        form.status = outcome.status = "disputed"
        return False
    return True


def _completed(form: PaperForm) -> list[PaperPass]:
    return [p for p in form.passes if p.completed_at is not None]


def differing_items(form: PaperForm) -> list[str]:
    """The items whose two complete passes differ, in the paper's order."""
    first, second = (p.answers for p in form.passes[:2])
    codes = [item.code for item in entry_items(questionnaire_of(form.wave.questionnaire))]
    return [code for code in codes if first.get(code) != second.get(code)]


# --- settlement -----------------------------------------------------------------


def settle_form(form: PaperForm, choices: Mapping[str, str], by: User) -> Response:
    """A supervisor settles each differing field: ``first``, ``second`` or the value read
    off the paper (typed with the entry codes). The whole form is checked again."""
    if form.status != "disputed":
        raise UserError(_("Form %(serial)s is not in dispute.") % {"serial": form.serial})
    if any(p.typist_id == by.id for p in form.passes):
        raise UserError(
            _("You typed a pass of form %(serial)s: another supervisor settles it.")
            % {"serial": form.serial}
        )
    first, second = (p.answers for p in form.passes[:2])
    differing = differing_items(form)
    missing = [code for code in differing if not (choices.get(code) or "").strip()]
    if missing:
        raise PassRefused({code: _("Choose the value on the paper.") for code in missing})
    questionnaire = questionnaire_of(form.wave.questionnaire)
    typed = {
        item.code: typed_text(item, first[item.code])
        for item in entry_items(questionnaire)
        if item.code in first
    }
    for code in differing:
        choice = choices[code].strip()
        if choice in ("first", "second"):
            chosen = (first if choice == "first" else second).get(code)
            typed[code] = typed_text(questionnaire.item(code), chosen)
        else:
            typed[code] = choice
    values, errors = parse_typed(questionnaire, typed, procedure_codes(form))
    if errors:
        raise PassRefused(errors)
    resolution = {
        code: {"first": first.get(code), "second": second.get(code), "settled": values[code]}
        for code in differing
    }
    return _settle(form, values, by=by, resolution=resolution)


def typed_text(item: Item, value: Value) -> str:
    """A stored value back in the entry codes it was typed with: the inverse of
    :func:`parse_typed`, for a draft reopened and for values a settlement checks again."""
    scale = item.scale
    if value is None:
        return NO_ANSWER
    if scale.not_applicable is not None and value == scale.not_applicable:
        return NOT_APPLICABLE
    if isinstance(value, list):
        joiner = "" if all(len(str(v)) == 1 for v in scale.values) else " "
        return joiner.join(str(v) for v in value)
    return str(value)


def _settle(form: PaperForm, values: dict, *, by: User | None, resolution: dict | None):
    questionnaire = questionnaire_of(form.wave.questionnaire)
    (response,) = _responses_of([(form, _settled_answers(values))], questionnaire)
    _mark_settled(form, response, by=by, resolution=resolution)
    return response


def _settled_answers(values: Mapping[str, Value]) -> dict:
    return {code: value for code, value in values.items() if value is not None}


def _mark_settled(
    form: PaperForm, response: Response, *, by: User | None, resolution: dict | None
) -> None:
    before = form.status
    form.status, form.response_id = "settled", response.id
    form.settled_at, form.settled_by_id = utcnow(), by.id if by else None
    if resolution is not None:  # None set on a new row is stored as JSON null, not NULL
        form.resolution = resolution
    audit(
        "form settled" if by else "form settled automatically",
        form,
        by,
        in_unit=_psu_unit(form.service_point, form.unit),
        before={"status": before},
        after={"status": "settled", "response": response.id, "fields": resolution or {}},
    )


def _responses_of(
    settled: Sequence[tuple[PaperForm, dict]], questionnaire: Questionnaire
) -> list[Response]:
    """The responses of settled forms with their answers (``{item: value}``, no None),
    inserted together: one flush and one INSERT of answers for any number of forms."""
    procedure_items = [i.code for i in questionnaire.items() if i.scale.kind == "procedure"]
    named = {answers[code] for _, answers in settled for code in procedure_items if code in answers}
    procedure_ids = {}
    if named:
        query = select(Procedure.code, Procedure.id).where(Procedure.code.in_(sorted(named)))
        procedure_ids = dict(db.session.execute(query).all())
    responses = []
    for form, answers in settled:
        procedure_id = None
        for code in procedure_items:
            if code in answers:
                procedure_id = procedure_ids.get(answers[code])
        typists = [p.typist_id for p in form.passes]
        responses.append(
            Response(
                uuid=str(uuid.uuid4()),
                wave_id=form.wave_id,
                service_point_id=form.service_point_id,
                unit_id=form.unit_id,
                procedure_id=procedure_id,
                channel="paper",
                status="valid",
                form_serial=form.serial,
                entered_by_id=typists[0] if typists else None,
            )
        )
    db.session.add_all(responses)
    db.session.flush()
    rows = [
        row
        for (_form, answers), response in zip(settled, responses, strict=True)
        for row in answer_rows(answers, response.id)
    ]
    _insert_answers(rows)
    return responses


def _insert_answers(rows: list[dict]) -> None:
    """The answers of settled forms in bulk: an import settles thousands of forms, a
    hundred answers each. PostgreSQL takes them with COPY on the session's connection (its
    transaction), several times faster than INSERT there."""
    if not rows:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert(Answer), rows)
        return
    columns = ("response_id", "item_code", "value_num", "value_text")
    connection = db.session.connection().connection.driver_connection
    statement = f"COPY answer ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(tuple(row[name] for name in columns))


def void_form(form: PaperForm, reason: str, by: User, *, batch: PaperBatch | None = None) -> None:
    """Void a form (spoilt, blank, unreadable): it never counts, and takes no pass.

    ``batch``: the bundle a form never typed came back in, so that it counts
    there as void rather than missing."""
    reason = (reason or "").strip()
    if not reason:
        raise UserError(_("Say why the form is void."))
    if form.status == "settled":
        raise UserError(
            _("Form %(serial)s is settled: void its response instead.") % {"serial": form.serial}
        )
    if form.status == "void":
        raise UserError(_("Form %(serial)s is void already.") % {"serial": form.serial})
    if batch is not None and form.batch_id is None:
        if batch.status == "closed":
            raise UserError(_("Batch %(batch)s is closed.") % {"batch": batch.code})
        _check_form_fits(batch, form)
        form.batch = batch
    before = form.status
    form.status, form.void_reason = "void", reason
    audit(
        "form voided",
        form,
        by,
        in_unit=_psu_unit(form.service_point, form.unit),
        before={"status": before},
        after={
            "status": "void",
            "reason": reason,
            "batch": form.batch.code if form.batch else None,
        },
    )


# --- counts ---------------------------------------------------------------------


@dataclass(frozen=True)
class BatchCounts:
    """A batch at a glance. ``typed_once`` and ``typed_twice`` count forms with at least
    one and with two complete passes (settled and disputed forms among them);
    ``missing`` is the bundle's count less the forms typed or voided in it."""

    expected: int
    typed_once: int
    typed_twice: int
    settled: int
    disputed: int
    void: int
    missing: int
    #: Forms settled without a supervisor, of those typed twice (None before any).
    agreement_rate: float | None

    def as_dict(self) -> dict:
        return {
            "typed_once": self.typed_once,
            "typed_twice": self.typed_twice,
            "settled": self.settled,
            "disputed": self.disputed,
            "missing": self.missing,
            "void": self.void,
        }


def batch_counts(batch: PaperBatch) -> BatchCounts:
    done = (
        select(PaperPass.form_id, func.count().label("passes"))
        .where(PaperPass.completed_at.is_not(None))
        .group_by(PaperPass.form_id)
        .subquery()
    )
    passes = func.coalesce(done.c.passes, 0)
    status = PaperForm.status

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = db.session.execute(
        select(
            func.count(PaperForm.id),
            total(passes >= 1),
            total(passes >= 2),
            total(status == "settled"),
            total(status == "disputed"),
            total(status == "void"),
            total((status == "settled") & PaperForm.resolution.is_(None) & (passes >= 2)),
        )
        .outerjoin(done, done.c.form_id == PaperForm.id)
        .where(PaperForm.batch_id == batch.id)
    ).one()
    forms, once, twice, settled, disputed, void, agreed = (int(v or 0) for v in row)
    return BatchCounts(
        expected=batch.expected_count,
        typed_once=once,
        typed_twice=twice,
        settled=settled,
        disputed=disputed,
        void=void,
        missing=max(batch.expected_count - forms, 0),
        agreement_rate=(agreed / twice) if twice else None,
    )


@dataclass(frozen=True)
class Dispute:
    """One field on which a form's two passes differ."""

    serial: str
    item: str
    first: Value
    second: Value


def batch_disputes(batch: PaperBatch) -> list[Dispute]:
    """Every field in dispute in ``batch``, form by form in serial order."""
    forms = db.session.scalars(
        select(PaperForm)
        .where(PaperForm.batch_id == batch.id, PaperForm.status == "disputed")
        .order_by(PaperForm.serial)
    )
    disputes = []
    for form in forms:
        first, second = (p.answers for p in form.passes[:2])
        disputes += [
            Dispute(form.serial, code, first.get(code), second.get(code))
            for code in differing_items(form)
        ]
    return disputes


# --- scope ------------------------------------------------------------------------


def batch_scope_unit():
    """The unit column that scopes batches: the desk's unit, or the cluster."""
    desk = aliased(ServicePoint)
    return desk, func.coalesce(desk.unit_id, PaperBatch.unit_id)


def batches(*, scope: UnitScope, wave: Wave | None = None, status: str | None = None):
    """The batches a reader may see, newest first."""
    desk, unit_id = batch_scope_unit()
    query = (
        select(PaperBatch)
        .outerjoin(desk, desk.id == PaperBatch.service_point_id)
        .where(scope.where(unit_id))
        .order_by(PaperBatch.id.desc())
    )
    if wave is not None:
        query = query.where(PaperBatch.wave_id == wave.id)
    if status is not None:
        query = query.where(PaperBatch.status == status)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class FormRow:
    """A form of a batch's list and its finished passes."""

    serial: str
    status: str
    passes: int


def batch_forms(
    batch: PaperBatch, *, status: str | None = None, offset: int = 0, limit: int | None = None
) -> list[FormRow]:
    """The forms typed or voided in ``batch`` (of ``status`` only, if given), by serial:
    ``limit`` of them from ``offset``, for a page of a batch of thousands."""
    done = (
        select(PaperPass.form_id, func.count().label("passes"))
        .where(PaperPass.completed_at.is_not(None))
        .group_by(PaperPass.form_id)
        .subquery()
    )
    query = (
        select(PaperForm.serial, PaperForm.status, func.coalesce(done.c.passes, 0))
        .outerjoin(done, done.c.form_id == PaperForm.id)
        .where(PaperForm.batch_id == batch.id)
        .order_by(PaperForm.serial)
        .offset(offset)
        .limit(limit)
    )
    if status is not None:
        query = query.where(PaperForm.status == status)
    return [FormRow(serial, shown, int(n)) for serial, shown, n in db.session.execute(query)]


def batch_status_counts(batch: PaperBatch) -> dict[str, int]:
    """The forms typed or voided in ``batch``, counted by status."""
    rows = db.session.execute(
        select(PaperForm.status, func.count())
        .where(PaperForm.batch_id == batch.id)
        .group_by(PaperForm.status)
    )
    return {status: int(n) for status, n in rows}


def forms_in_dispute(*, scope: UnitScope) -> list[PaperForm]:
    """The forms waiting for a supervisor in the reader's units, by serial."""
    desk = aliased(ServicePoint)
    query = (
        select(PaperForm)
        .outerjoin(desk, desk.id == PaperForm.service_point_id)
        .where(
            PaperForm.status == "disputed",
            scope.where(func.coalesce(desk.unit_id, PaperForm.unit_id)),
        )
        .order_by(PaperForm.serial)
    )
    return list(db.session.scalars(query))


def batch_by_code(code: str, *, scope: UnitScope) -> PaperBatch:
    """The batch ``code`` in the reader's scope; 404 outside it, as for an unknown code."""
    batch = db.session.scalar(select(PaperBatch).where(PaperBatch.code == code.strip().upper()))
    if batch is None:
        abort(404)
    scope.require(batch.scope_unit_id)
    return batch


def form_by_serial(serial_text: str, *, scope: UnitScope) -> PaperForm:
    """The form with this serial in the reader's scope; 404 outside it or if there is none."""
    serial = normalise_serial(serial_text)
    form = db.session.scalar(select(PaperForm).where(PaperForm.serial == serial))
    if form is None:
        abort(404)
    scope.require(_psu_unit(form.service_point, form.unit).id)
    return form


# --- surveyors --------------------------------------------------------------------


@dataclass(frozen=True)
class TypistStats:
    """One surveyor's work: passes completed per day, and how often their value lost."""

    typist: User
    passes: int
    per_day: dict[date, int]
    #: Fields of theirs a supervisor settled, and those where the paper said otherwise.
    fields_settled: int
    fields_lost: int
    fields_typed: int

    @property
    def error_rate(self) -> float | None:
        """Fields lost in a settlement per field typed."""
        return self.fields_lost / self.fields_typed if self.fields_typed else None


def typist_stats(*, scope: UnitScope, since: date | None = None) -> list[TypistStats]:
    """Per surveyor in scope: passes per local day, settled fields lost, error rate."""
    desk = aliased(ServicePoint)
    unit_id = func.coalesce(desk.unit_id, PaperForm.unit_id)
    query = (
        select(PaperPass)
        .join(PaperForm, PaperForm.id == PaperPass.form_id)
        .outerjoin(desk, desk.id == PaperForm.service_point_id)
        .where(PaperPass.completed_at.is_not(None), scope.where(unit_id))
        .options(selectinload(PaperPass.form), selectinload(PaperPass.typist))
    )
    if since is not None:
        query = query.where(PaperPass.completed_at >= local_day_start(since))
    by_typist: dict[int, list[PaperPass]] = {}
    for pass_ in db.session.scalars(query):
        by_typist.setdefault(pass_.typist_id, []).append(pass_)
    return [_stats(passes) for passes in by_typist.values()]


def _stats(passes: list[PaperPass]) -> TypistStats:
    per_day: dict[date, int] = {}
    settled = lost = typed = 0
    for pass_ in passes:
        day = today_local(pass_.completed_at)
        per_day[day] = per_day.get(day, 0) + 1
        typed += len(pass_.answers)
        for fields in (pass_.form.resolution or {}).values():
            settled += 1
            mine = fields["first"] if pass_.number == 1 else fields["second"]
            lost += mine != fields["settled"]
    return TypistStats(
        typist=passes[0].typist,
        passes=len(passes),
        per_day=dict(sorted(per_day.items())),
        fields_settled=settled,
        fields_lost=lost,
        fields_typed=typed,
    )
