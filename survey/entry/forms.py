"""Forms of the paper-entry pages (each page's form beside its neighbours')."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from survey.services.paper import MAX_BATCH


class SerialForm(FlaskForm):
    """The serial of the next form to type (typed, or scanned: a scanner types it and Enter).

    No validator: ``services.paper.form_for_entry`` judges the serial and says why not."""

    serial = StringField(
        _l("Serial"),
        description=_l("Type or scan the serial printed on the form, then Enter."),
    )


class PassForm(FlaskForm):
    """The pass screen's CSRF token; its fields are the questionnaire's items, read from
    the request by the view and checked by ``services.paper.parse_typed``."""


# --- batches and settlement (survey/entry/batches.py, settlement.py) ---------------


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class BatchFilterForm(FlaskForm):
    """Which batches to list; sent by GET, it changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    wave = SelectField(_l("Wave"), validate_choice=False)
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("open", _l("Open")),
            SelectChoice("closed", _l("Closed")),
            SelectChoice("all", _l("All")),
        ],
        validate_choice=False,
    )

    def __init__(self, waves, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.wave.choices = [SelectChoice("", _l("Every wave"))] + [
            SelectChoice(wave.code, f"{wave.code} {wave.name}") for wave in waves
        ]


class NewBatchForm(FlaskForm):
    """A returned bundle: its wave, its desk (desk wave) or cluster (household wave), its
    count. Only the waves, desks and clusters given are accepted."""

    wave = SelectField(_l("Wave"), validate_choice=False)
    desk = SelectField(
        _l("Desk"),
        description=_l("For a desk wave: the desk that handed the forms out."),
        validate_choice=False,
    )
    unit = SelectField(
        _l("Commune or cluster"),
        description=_l("For a household wave: the commune or village cluster of the forms."),
        validate_choice=False,
    )
    count = StringField(
        _l("Forms in the bundle"),
        description=_l("Count the forms before typing any of them."),
        filters=[_strip],
    )

    def __init__(self, waves, desks, units, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.waves = {wave.code: wave for wave in waves}
        self.desks = {desk.code: desk for desk in desks}
        self.units = {unit.code: unit for unit in units}
        self.wave.choices = [SelectChoice("", _l("Choose a wave"))] + [
            SelectChoice(wave.code, f"{wave.code} {wave.name}") for wave in waves
        ]
        self.desk.choices = [SelectChoice("", _l("None (a household wave)"))] + [
            SelectChoice(desk.code, f"{desk.code} {desk.name}") for desk in desks
        ]
        self.unit.choices = [SelectChoice("", _l("None (a desk wave)"))] + [
            SelectChoice(unit.code, f"{unit.code} {unit.name}") for unit in units
        ]

    @property
    def chosen_wave(self):
        return self.waves.get(self.wave.data or "")

    @property
    def chosen_desk(self):
        return self.desks.get(self.desk.data or "")

    @property
    def chosen_unit(self):
        return self.units.get(self.unit.data or "")

    @property
    def number(self) -> int:
        return int(self.count.data)

    def validate_wave(self, field) -> None:
        if self.chosen_wave is None:
            raise ValidationError(_l("Choose the wave from the list."))

    def validate_desk(self, field) -> None:
        if field.data and self.chosen_desk is None:
            raise ValidationError(_l("Choose the desk from the list."))
        wave = self.chosen_wave
        if wave is not None and wave.is_household and field.data:
            raise ValidationError(_l("A household wave's forms belong to a cluster, not a desk."))
        if wave is not None and not wave.is_household and not field.data:
            raise ValidationError(_l("Choose the desk: this is a desk wave."))

    def validate_unit(self, field) -> None:
        if field.data and self.chosen_unit is None:
            raise ValidationError(_l("Choose the commune or cluster from the list."))
        wave = self.chosen_wave
        if wave is not None and not wave.is_household and field.data:
            raise ValidationError(_l("A desk wave's forms belong to a desk, not a cluster."))
        if wave is not None and wave.is_household and not field.data:
            raise ValidationError(_l("Choose the commune or cluster: this is a household wave."))

    def validate_count(self, field) -> None:
        text = field.data or ""
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_BATCH:
            raise ValidationError(
                _l("The count must be a whole number from 1 to %(most)d.", most=MAX_BATCH)
            )


class CloseBatchForm(FlaskForm):
    """Closing a batch; the reason is required only with forms missing (the service says)."""

    reason = TextAreaField(
        _l("Reason for closing with forms missing"),
        filters=[_strip],
        validators=[Length(max=1000, message=_l("At most %(max)d characters."))],
    )


class VoidForm(FlaskForm):
    """Voiding a form; ``batch``: the bundle an untyped form came back in."""

    reason = TextAreaField(
        _l("Why the form is void"),
        description=_l("For example: blank, spoilt, unreadable, or a duplicate copy."),
        filters=[_strip],
        validators=[Length(max=1000, message=_l("At most %(max)d characters."))],
    )
    batch = HiddenField()


class SettleForm(FlaskForm):
    """The settlement's CSRF token; its radios (``choice-ITEM``) and typed values
    (``other-ITEM``) are the differing items, read by the view."""


# --- printing (survey/entry/printing.py) -------------------------------------------

#: A PDF made on the page takes about a second a page: more would outlast a request.
PAGE_PDF_MAX = 20


class PrintForm(NewBatchForm):
    """New forms to print: a batch's wave, desk and cluster rules, then how many, in which
    language and format."""

    desk = SelectField(
        _l("Desk"),
        description=_l("For a desk wave: the desk that hands the forms out."),
        validate_choice=False,
    )
    unit = SelectField(
        _l("Commune or cluster"),
        description=_l("For a household wave: the commune or village cluster the forms go to."),
        validate_choice=False,
    )
    count = StringField(
        _l("Number of forms"),
        description=_l("Each form gets a new serial."),
        filters=[_strip],
    )
    lang = SelectField(
        _l("Language"),
        choices=[SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")],
        default="vi",
    )
    format = SelectField(
        _l("Format"),
        choices=[
            SelectChoice("pdf", _l("PDF, ready to print")),
            SelectChoice("html", _l("HTML, printed from the browser")),
        ],
        default="pdf",
        description=_l(
            "A PDF made here holds at most %(most)d forms. HTML holds any number: print it "
            "from the browser on A4 at full size, without headers and footers.",
            most=PAGE_PDF_MAX,
        ),
    )

    def validate_count(self, field) -> None:
        from survey.services.paper import MAX_PRINT

        text = field.data or ""
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PRINT:
            raise ValidationError(
                _l("The count must be a whole number from 1 to %(most)d.", most=MAX_PRINT)
            )
        if self.format.data == "pdf" and int(text) > PAGE_PDF_MAX:
            raise ValidationError(
                _l(
                    "A PDF made here holds at most %(most)d forms: choose HTML, or print "
                    "more with the command line (flask paper print).",
                    most=PAGE_PDF_MAX,
                )
            )


# --- importing passes (survey/entry/imports.py) --------------------------------------


class ImportPassForm(FlaskForm):
    """A spreadsheet of one typist's passes. Supervisors and administrators name the
    typist among ``typists``; a surveyor (``typists`` None) imports their own passes."""

    typist = SelectField(
        _l("Typist"),
        description=_l("Who typed the file: each row counts as their pass of that form."),
        validate_choice=False,
    )
    file = FileField(
        _l("Spreadsheet of passes (CSV or XLSX)"),
        description=_l("One row per form: serial, then each question's code in the paper's order."),
        validators=[FileRequired(message=_l("Choose the file to import."))],
    )

    def __init__(self, typists, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if typists is None:
            del self.typist
            return
        self.typists = {str(user.id): user for user in typists}
        self.typist.choices = [SelectChoice("", _l("Choose the typist"))] + [
            SelectChoice(str(user.id), user.email) for user in typists
        ]

    @property
    def chosen_typist(self):
        return self.typists.get(self.typist.data or "")

    def validate_typist(self, field) -> None:
        if self.chosen_typist is None:
            raise ValidationError(_l("Choose the typist from the list."))
