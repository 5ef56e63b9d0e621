"""Service points (desks): create, revoke their QR codes, deactivate.

Every change to a desk is written to the audit log with the user who made it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import Procedure, ServicePoint, Unit, User
from survey.models.geo import GOVERNMENT_LEVELS
from survey.services.audit import audit

CODE_RE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")


def create_service_point(
    code: str,
    name: str,
    unit: Unit,
    government_level: str,
    procedures: Iterable[Procedure] = (),
    *,
    by: User | None = None,
) -> ServicePoint:
    """Add a desk; its code goes into QR URLs: letters, digits and single dashes."""
    code, name = code.strip(), name.strip()
    if not CODE_RE.match(code) or len(code) > 32:
        raise UserError(
            _l("Desk code '%(code)s' may have only letters, digits and dashes.", code=code)
        )
    if not name:
        raise UserError(_l("A desk needs a name."))
    if government_level not in GOVERNMENT_LEVELS:
        raise UserError(_l("Unknown level of government '%(level)s'.", level=government_level))
    if point_by_code(code) is not None:
        raise UserError(_l("A desk with code %(code)s already exists.", code=code))
    point = ServicePoint(
        code=code,
        name=name,
        unit=unit,
        government_level=government_level,
        procedures=list(procedures),
    )
    db.session.add(point)
    db.session.flush()
    audit("create", point, by, code=code, name=name, unit=unit.code)
    return point


def set_procedures(point: ServicePoint, procedures: Iterable[Procedure], *, by: User | None):
    """Replace the procedures handled at ``point``."""
    point.procedures = list(procedures)
    db.session.flush()
    audit("set_procedures", point, by, procedures=[p.code for p in point.procedures])


def rotate_secret(point: ServicePoint, *, by: User | None) -> int:
    """Revoke every QR code printed so far for ``point``; returns the new secret version."""
    point.secret_version += 1
    db.session.flush()
    audit("rotate_secret", point, by, secret_version=point.secret_version)
    return point.secret_version


def set_active(point: ServicePoint, active: bool, *, by: User | None) -> None:
    """Open or close a desk; an inactive desk's codes take no responses."""
    if point.active == active:
        return
    point.active = active
    db.session.flush()
    audit("activate" if active else "deactivate", point, by)


def point_by_code(code: str) -> ServicePoint | None:
    """The desk with ``code``, ignoring case (codes are read aloud and retyped)."""
    wanted = code.strip().lower()
    return db.session.scalar(select(ServicePoint).where(func.lower(ServicePoint.code) == wanted))
