"""Administrative units: create them, find them by code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from survey.errors import UserError
from survey.extensions import db
from survey.models import Unit, User
from survey.models.geo import UNIT_LEVELS
from survey.services.audit import audit

#: The level a unit's parent must have.
PARENT_LEVEL = {"province": None, "district": "province", "commune": ("district", "province")}


def create_unit(
    code: str, name: str, level: str, parent: Unit | None = None, *, by: User | None = None
) -> Unit:
    """Add a unit; a province has no parent, a district or commune needs one above it."""
    code, name = code.strip(), name.strip()
    if level not in UNIT_LEVELS:
        raise UserError(
            _l(
                "Unknown level '%(level)s': choose one of %(choices)s.",
                level=level,
                choices=", ".join(UNIT_LEVELS),
            )
        )
    if not code or not name:
        raise UserError(_l("A unit needs a code and a name."))
    if unit_by_code(code) is not None:
        raise UserError(_l("A unit with code %(code)s already exists.", code=code))
    allowed = PARENT_LEVEL[level]
    if allowed is None and parent is not None:
        raise UserError(_l("A province has no parent unit."))
    if allowed is not None and (parent is None or parent.level not in allowed):
        raise UserError(_l("A district or commune needs a parent unit of a higher level."))
    unit = Unit(code=code, name=name, level=level, parent=parent)
    db.session.add(unit)
    db.session.flush()
    audit("create", unit, by, code=code, name=name, level=level)
    return unit


def unit_by_code(code: str) -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.code == code.strip()))
