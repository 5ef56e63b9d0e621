"""Administrative procedures (thủ tục hành chính)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import Procedure


def create_procedure(code: str, name: str, name_en: str = "", field: str = "") -> Procedure:
    """Add a procedure under its national code; the Vietnamese name is required."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise UserError(_l("A procedure needs a code and a Vietnamese name."))
    if procedure_by_code(code) is not None:
        raise UserError(_l("A procedure with code %(code)s already exists.", code=code))
    procedure = Procedure(code=code, name=name, name_en=name_en.strip(), field=field.strip())
    db.session.add(procedure)
    db.session.flush()
    return procedure


def procedure_by_code(code: str) -> Procedure | None:
    wanted = code.strip().lower()
    return db.session.scalar(select(Procedure).where(func.lower(Procedure.code) == wanted))
