"""The audit log: who changed what, when, in which unit. Written here only, never edited."""

from __future__ import annotations

from survey.extensions import db
from survey.models import AuditEntry, Unit, User


def audit(
    action: str, entity: object, by: User | None, *, in_unit: Unit | None = None, **detail
) -> AuditEntry:
    """Record that ``by`` did ``action`` to ``entity`` (a model with an ``id``).

    The entry's unit decides who may read it: ``in_unit`` when given, else the
    entity itself if it is a unit, else the unit it belongs to (``unit_id``).
    """
    entry = AuditEntry(
        user_id=by.id if by is not None else None,
        action=action,
        entity=type(entity).__name__,
        entity_id=str(entity.id),
        unit_id=_unit_id(entity, in_unit),
        detail=detail,
    )
    db.session.add(entry)
    return entry


def _unit_id(entity: object, unit: Unit | None) -> int | None:
    if unit is not None:
        return unit.id
    if isinstance(entity, Unit):
        return entity.id
    return getattr(entity, "unit_id", None)
