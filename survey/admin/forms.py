"""Back-office forms: labels and messages are lazily translated; uniqueness in validate_*."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from survey.models.geo import GOVERNMENT_LEVELS
from survey.services.procedures import procedure_by_code
from survey.services.service_points import CODE_RE, point_by_code
from survey.services.units import PARENT_LEVEL, unit_by_code
from survey.services.users import ROLE_LABELS, user_by_email
from survey.services.waves import wave_by_code

UNIT_LEVEL_LABELS = {
    "province": _l("Province"),
    "district": _l("District (before July 2025)"),
    "commune": _l("Commune"),
}
GOVERNMENT_LEVEL_LABELS = {
    "province": _l("Province"),
    "district": _l("District"),
    "commune": _l("Commune"),
}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _code_field(label, example: str, description=None) -> StringField:
    return StringField(
        label,
        description=description,
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter a code.")),
            Length(max=32, message=_l("The code is too long.")),
            Regexp(
                CODE_RE,
                message=_l(
                    "The code may contain only letters, digits and dashes (like %(example)s).",
                    example=example,
                ),
            ),
        ],
    )


def _name_field(label, message, max_length: int = 200, required: bool = True) -> StringField:
    first = DataRequired(message=message) if required else Optional()
    return StringField(
        label,
        filters=[_strip],
        validators=[first, Length(max=max_length, message=_l("The name is too long."))],
    )


class UnitForm(FlaskForm):
    code = StringField(
        _l("Code"),
        description=_l("The GSO code: two digits for a province, five for a commune."),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter the unit's code.")),
            Regexp(
                r"^[0-9]{1,16}$", message=_l("The unit code has digits only, like 01 or 00004.")
            ),
        ],
    )
    name = _name_field(_l("Name"), _l("Enter the unit's name."))
    level = SelectField(
        _l("Level"), choices=[SelectChoice(k, v) for k, v in UNIT_LEVEL_LABELS.items()]
    )
    parent_id = SelectField(_l("Parent unit"), coerce=int, validate_choice=False)

    def __init__(self, units, *args, national: bool = True, **kwargs) -> None:
        """``units``: the parents to offer; a province only where ``national``."""
        super().__init__(*args, **kwargs)
        self.units = {unit.id: unit for unit in units if unit.level != "commune"}
        provinces = [SelectChoice(0, _l("None (a province)"))] if national else []
        self.parent_id.choices = provinces + [
            SelectChoice(unit.id, f"{unit.code} {unit.name}") for unit in self.units.values()
        ]
        if not national:
            self.level.choices = [c for c in self.level.choices if c.value != "province"]

    @property
    def parent(self):
        return self.units.get(self.parent_id.data)

    def validate_code(self, field) -> None:
        if unit_by_code(field.data) is not None:
            raise ValidationError(_l("A unit with this code already exists."))

    def validate_parent_id(self, field) -> None:
        allowed = PARENT_LEVEL.get(self.level.data)
        if field.data and self.parent is None:
            raise ValidationError(_l("Choose a parent unit from the list."))
        if allowed is None and self.parent is not None:
            raise ValidationError(_l("A province has no parent unit."))
        if allowed is not None and (self.parent is None or self.parent.level not in allowed):
            raise ValidationError(_l("Choose the province (or district) this unit belongs to."))


class ServicePointForm(FlaskForm):
    code = _code_field(
        _l("Code"),
        "HN-BADINH",
        _l("Printed in the QR address: letters, digits and dashes."),
    )
    name = _name_field(_l("Name"), _l("Enter the desk's name."))
    unit_id = SelectField(_l("Unit"), coerce=int, validate_choice=False)
    government_level = SelectField(
        _l("Level of government"),
        choices=[
            SelectChoice(level, GOVERNMENT_LEVEL_LABELS[level]) for level in GOVERNMENT_LEVELS
        ],
    )
    procedure_ids = SelectMultipleField(
        _l("Procedures handled"),
        coerce=int,
        description=_l("Hold Ctrl (or Cmd) to choose several."),
    )

    def __init__(self, units, procedures, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.units = {unit.id: unit for unit in units}
        self.procedures = {procedure.id: procedure for procedure in procedures}
        self.unit_id.choices = [SelectChoice(0, _l("Choose a unit"))] + [
            SelectChoice(unit.id, f"{unit.code} {unit.name}") for unit in units
        ]
        self.procedure_ids.choices = [SelectChoice(p.id, f"{p.code} {p.name}") for p in procedures]

    @property
    def unit(self):
        return self.units.get(self.unit_id.data)

    @property
    def chosen_procedures(self):
        return [self.procedures[i] for i in self.procedure_ids.data or () if i in self.procedures]

    def validate_code(self, field) -> None:
        if point_by_code(field.data) is not None:
            raise ValidationError(_l("A desk with this code already exists."))

    def validate_unit_id(self, field) -> None:
        if self.unit is None:
            raise ValidationError(_l("Choose the unit the desk belongs to."))


class DeskProceduresForm(FlaskForm):
    procedure_ids = SelectMultipleField(
        _l("Procedures handled"),
        coerce=int,
        description=_l("Hold Ctrl (or Cmd) to choose several."),
    )

    def __init__(self, procedures, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.procedures = {procedure.id: procedure for procedure in procedures}
        self.procedure_ids.choices = [SelectChoice(p.id, f"{p.code} {p.name}") for p in procedures]

    @property
    def chosen_procedures(self):
        return [self.procedures[i] for i in self.procedure_ids.data or () if i in self.procedures]


class ProcedureForm(FlaskForm):
    code = StringField(
        _l("National code"),
        description=_l("As in the national database of procedures, like 1.001193."),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter the procedure's national code.")),
            Length(max=32, message=_l("The code is too long.")),
            Regexp(
                r"^[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*$",
                message=_l("The code may contain only letters, digits, dots and dashes."),
            ),
        ],
    )
    name = _name_field(_l("Name in Vietnamese"), _l("Enter the procedure's Vietnamese name."), 300)
    name_en = _name_field(_l("Name in English"), None, 300, required=False)
    field = _name_field(_l("Field (lĩnh vực)"), None, 120, required=False)

    def validate_code(self, field) -> None:
        if procedure_by_code(field.data) is not None:
            raise ValidationError(_l("A procedure with this code already exists."))


class WaveForm(FlaskForm):
    code = _code_field(_l("Code"), "2025-Q4")
    name = _name_field(_l("Name"), _l("Enter the wave's name."))
    questionnaire_id = SelectField(_l("Questionnaire version"), coerce=int, validate_choice=False)
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])

    def __init__(self, versions, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.versions = {version.id: version for version in versions}
        locale = str(get_locale())
        self.questionnaire_id.choices = [SelectChoice(0, _l("Choose a questionnaire"))] + [
            SelectChoice(v.id, f"{v.code} v{v.version} — {v.title(locale)}") for v in versions
        ]

    @property
    def questionnaire(self):
        return self.versions.get(self.questionnaire_id.data)

    def validate_code(self, field) -> None:
        if wave_by_code(field.data) is not None:
            raise ValidationError(_l("A wave with this code already exists."))

    def validate_questionnaire_id(self, field) -> None:
        if self.questionnaire is None:
            raise ValidationError(_l("Choose the questionnaire version the wave asks."))

    def validate_ends_on(self, field) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end date must not be before the start date."))


class RotateSecretForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that every printed code of this desk stops working"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )


class ActionForm(FlaskForm):
    """A button that posts: CSRF token only."""


class AccessForm(FlaskForm):
    """A user's role and units; ``units`` are those the granting user may give."""

    role = SelectField(_l("Role"), choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()])
    unit_ids = SelectMultipleField(
        _l("Units"),
        coerce=int,
        description=_l(
            "A unit covers the units under it. Only an administrator may have none: "
            "then they see the whole country."
        ),
    )

    def __init__(self, units, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.units = {unit.id: unit for unit in units}
        self.unit_ids.choices = [SelectChoice(u.id, f"{u.code} {u.name}") for u in units]

    @property
    def chosen_units(self):
        return [self.units[i] for i in self.unit_ids.data or () if i in self.units]


class NewUserForm(AccessForm):
    email = EmailField(
        _l("Email"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter the user's email address.")),
            Regexp(
                r"^[^@\s]+@[^@\s]+$", message=_l("Enter an email address like name@example.vn.")
            ),
            Length(max=254, message=_l("The email address is too long.")),
        ],
    )

    def validate_email(self, field) -> None:
        if user_by_email(field.data) is not None:
            raise ValidationError(_l("A user with this email already exists."))


class AuditFilterForm(FlaskForm):
    """The audit viewer's filters, sent by GET (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    user_id = SelectField(_l("User"), coerce=int, validate_choice=False)
    entity = SelectField(_l("Kind of object"), validate_choice=False)
    action = SelectField(_l("Action"), validate_choice=False)
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def __init__(self, users, kinds, actions, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        every = _l("All")
        self.user_id.choices = [SelectChoice(0, every)] + [
            SelectChoice(user.id, user.email) for user in users
        ]
        self.entity.choices = [SelectChoice("", every)] + [SelectChoice(k, k) for k in kinds]
        self.action.choices = [SelectChoice("", every)] + [SelectChoice(a, a) for a in actions]
