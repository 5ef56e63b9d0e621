"""Passes typed in a spreadsheet, for offices that type paper forms in Excel.

A pass file (CSV or XLSX) has one row per form: the header is ``serial``
followed by the questionnaire's item codes in the paper's order
(``paper.entry_items``), and each cell holds what the typist would type on the
entry screen (``paper.parse_typed``: the option's value, ``-`` for no answer,
``/`` for not applicable; an empty cell is no answer). Importing a file counts
as the named typist's pass of each form in it.

Every row is checked exactly as a typed pass is (the serial, the form's wave,
desk or cluster and batch, the typist, every value and the skip logic), and
a file with any bad row is refused whole: ``PassFileError`` names each problem
with its line in the file, and nothing is stored. A good file is saved by
``paper.save_passes`` (``save_pass`` for many forms at once), which audits each
pass and settles or disputes a form whose other pass is typed already.

The forms are found in one query per thousand serials, with their passes, and
the responses of the forms a file settles are inserted together, so a file of
ten thousand forms takes seconds, not a query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from survey.auth.policy import scope_of
from survey.errors import UserError
from survey.extensions import db
from survey.models import PaperBatch, PaperForm, User
from survey.models.user import user_unit
from survey.questionnaire import Questionnaire
from survey.services import frames, paper
from survey.services.questionnaires import questionnaire_of

SERIAL_COLUMN = "serial"
#: Most forms one file may hold: two batches of the largest size.
MAX_ROWS = 2 * paper.MAX_BATCH
#: Serials looked up per query.
LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class ImportResult:
    """What an import saved: one pass per row, and the forms it settled or put in dispute."""

    passes: int
    settled: int
    disputed: int


class PassFileError(UserError):
    """A pass file refused whole; ``problems`` lists ``(line, message)``, line 1 being the
    header and line 0 the file itself."""

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem[0])
        super().__init__(
            _("Nothing was imported: %(count)d problems.") % {"count": len(self.problems)}
        )


@dataclass(frozen=True)
class _Row:
    line: int
    serial: str
    typed: dict[str, str]
    #: Whether the row has cells beyond the header's last column.
    overflows: bool


def import_passes(batch: PaperBatch, typist: User, content: bytes, filename: str) -> ImportResult:
    """Import ``typist``'s passes of the forms of ``batch`` from a CSV or XLSX file.

    PassFileError (every problem, by line) and nothing stored, or every row saved
    as a complete pass; flushes, the caller commits.
    """
    check_typist(batch, typist)
    if batch.status == "closed":
        raise PassFileError([(0, _("Batch %(batch)s is closed.") % {"batch": batch.code})])
    questionnaire = questionnaire_of(batch.wave.questionnaire)
    rows = _rows(content, filename, questionnaire)
    forms = _forms(row.serial for row in rows)
    problems = _problems(rows, batch, typist, forms, questionnaire)
    if problems:
        raise PassFileError(problems)
    typed_forms = [(forms[row.serial], row.typed) for row in rows]
    outcomes = paper.save_passes(batch, typist, typed_forms, source="import")
    return ImportResult(
        passes=len(outcomes),
        settled=sum(outcome.status == "settled" for outcome in outcomes),
        disputed=sum(outcome.status == "disputed" for outcome in outcomes),
    )


def check_typist(batch: PaperBatch, typist: User) -> None:
    """UserError unless ``typist`` is an active surveyor or supervisor working for the
    batch's desk or cluster."""
    if not typist.active:
        raise UserError(_("The account %(email)s is deactivated.") % {"email": typist.email})
    if typist.role not in paper.TYPIST_ROLES:
        raise UserError(
            _("%(email)s does not type paper forms: only surveyors and supervisors do.")
            % {"email": typist.email}
        )
    if not scope_of(typist).covers(batch.scope_unit_id):
        raise UserError(
            _("%(email)s does not work for %(place)s, whose forms batch %(batch)s holds.")
            % {"email": typist.email, "place": paper.psu_label(batch), "batch": batch.code}
        )


def typists_for(batch: PaperBatch) -> list[User]:
    """The active surveyors and supervisors who may type ``batch``: those working for its
    desk's unit or cluster, or a unit above it; by email."""
    unit, above = paper.batch_unit(batch), []
    while unit is not None:
        above.append(unit.id)
        unit = unit.parent
    working_here = select(user_unit.c.user_id).where(user_unit.c.unit_id.in_(above))
    return list(
        db.session.scalars(
            select(User)
            .where(User.id.in_(working_here), User.role.in_(paper.TYPIST_ROLES), User.active)
            .order_by(User.email)
        )
    )


# --- reading the file ------------------------------------------------------------


def _rows(content: bytes, filename: str, questionnaire: Questionnaire) -> list[_Row]:
    """The file's forms, each cell under its item's code; PassFileError for a file that
    cannot be read, a bad header, too many forms or none."""
    try:
        lines = frames.numbered_rows(content, filename, most=MAX_ROWS + 2)
    except frames.FrameFileError as error:
        raise PassFileError(error.problems) from error
    if not lines:
        raise PassFileError([(0, _("The file is empty."))])
    (header_line, header), body = lines[0], lines[1:]
    codes = _columns(header_line, header, questionnaire)
    if not body:
        raise PassFileError([(0, _("The file has a header but no forms."))])
    if len(body) > MAX_ROWS:
        raise PassFileError([(0, _("At most %(count)d forms per file.") % {"count": MAX_ROWS})])
    rows = []
    for line, cells in body:
        typed = {code: cells[i + 1] if i + 1 < len(cells) else "" for i, code in enumerate(codes)}
        overflows = any(cells[len(codes) + 1 :])
        rows.append(_Row(line, _serial_cell(cells[0]), typed, overflows))
    return rows


def _serial_cell(text: str) -> str:
    """The serial as typed, with the leading zeros a spreadsheet drops from a number put
    back (``427`` is ``000000427``); the check digit is checked afterwards all the same."""
    serial = paper.normalise_serial(text)
    width = paper.SERIAL_NUMBER_DIGITS + 1
    if serial.isdigit() and len(serial) < width:
        return serial.zfill(width)
    return serial


def _columns(line: int, header: list[str], questionnaire: Questionnaire) -> list[str]:
    """The item codes of the header's columns after ``serial``, in order; PassFileError
    naming each missing, unknown, duplicated or misplaced column."""
    names = list(header)
    while names and not names[-1]:
        names.pop()
    expected = [item.code for item in paper.entry_items(questionnaire)]
    by_name = {code.lower(): code for code in expected}
    problems, given = _serial_heading(names, by_name)
    codes, seen = [], set()
    for number, name in enumerate(given, start=len(names) - len(given) + 1):
        code = by_name.get(name.lower())
        if not name:
            problems.append(_("Column %(number)d has no heading.") % {"number": number})
        elif code is None:
            problems.append(
                _("Column %(column)s is not a question of this form.") % {"column": name[:40]}
            )
        elif code in seen:
            problems.append(_("Column %(column)s appears twice.") % {"column": code})
        else:
            seen.add(code)
        codes.append(code)
    problems += [
        _("Column %(column)s is missing.") % {"column": code}
        for code in expected
        if code not in seen
    ]
    if not problems:
        problems += _order_problems(codes, expected)
    if problems:
        raise PassFileError([(line, problem) for problem in problems])
    return codes


def _serial_heading(names: list[str], by_name: dict[str, str]) -> tuple[list[str], list[str]]:
    """The problem with the first heading, and the headings of the items: after the
    first, unless it is an item's (then ``serial`` is missing, not misnamed)."""
    first = names[0].lower() if names else ""
    if first == SERIAL_COLUMN:
        return [], names[1:]
    if first in by_name:
        return [_("The first column must be %(name)s.") % {"name": SERIAL_COLUMN}], names
    problem = _("The first column must be %(name)s, not %(column)s.")
    return [problem % {"name": SERIAL_COLUMN, "column": names[0][:40]}], names[1:]


def _order_problems(codes: list[str], expected: list[str]) -> list[str]:
    """The first column out of the paper's order, named with the one expected there."""
    for code, wanted in zip(codes, expected, strict=True):
        if code != wanted:
            return [
                _("Column %(column)s is out of the paper's order: %(expected)s comes here.")
                % {"column": code, "expected": wanted}
            ]
    return []


# --- checking the rows -----------------------------------------------------------


def _forms(serials) -> dict[str, PaperForm]:
    """The forms of the serials that can be serials, by serial, with their passes."""
    wanted = sorted({serial for serial in serials if paper.serial_problem(serial) is None})
    found: dict[str, PaperForm] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        query = (
            select(PaperForm)
            .where(PaperForm.serial.in_(chunk))
            .options(selectinload(PaperForm.passes))
        )
        found.update((form.serial, form) for form in db.session.scalars(query))
    return found


def _problems(
    rows: list[_Row],
    batch: PaperBatch,
    typist: User,
    forms: dict[str, PaperForm],
    questionnaire: Questionnaire,
) -> list[tuple[int, str]]:
    """Every problem of every row, as the entry screen would refuse the pass: its serial,
    then each refused value (``ITEM: message``)."""
    procedures = paper.procedure_codes(batch)  # every form of the batch is of its desk
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for row in rows:
        if row.overflows:
            problems.append((row.line, _("This row has more cells than the header has columns.")))
        problems += _serial_problems(row, batch, typist, forms, first_line)
        _values, errors = paper.parse_typed(questionnaire, row.typed, procedures)
        problems += [(row.line, f"{code}: {message}") for code, message in errors.items()]
    return problems


def _serial_problems(
    row: _Row,
    batch: PaperBatch,
    typist: User,
    forms: dict[str, PaperForm],
    first_line: dict[str, int],
) -> list[tuple[int, str]]:
    """The problem with a row's serial, as the entry screen would refuse it; none if the
    typist may type the form."""
    problem = paper.serial_problem(row.serial)
    if problem is not None:
        return [(row.line, problem)]
    earlier = first_line.setdefault(row.serial, row.line)
    if earlier != row.line:
        message = _("Serial %(serial)s is also on line %(line)d.")
        return [(row.line, message % {"serial": row.serial, "line": earlier})]
    form = forms.get(row.serial)
    if form is None:
        return [(row.line, _("No form has serial %(serial)s.") % {"serial": row.serial})]
    try:
        paper.check_entry(batch, form, typist)
    except UserError as error:
        return [(row.line, str(error.message))]
    return []
