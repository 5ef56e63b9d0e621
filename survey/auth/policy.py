"""Who may use a route, and which rows they may see.

Every view declares its rule with ``@public`` or ``@allow(role, ...)``;
``check_access`` runs before every request and refuses a route that declares
none, so a forgotten declaration is a 403, never an open page (and
``tests/survey/test_policy.py`` walks the URL map to catch it first).

Rows are scoped by units: a user works for one or more units, and a unit
covers the units under it (a province its communes). An administrator tied
to no unit is national and sees everything; nobody else does. An object
outside the user's scope answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import ColumnElement, false, select, true

from survey.extensions import db, login_manager
from survey.models import Unit, User

#: Endpoints that are not views of ours.
FRAMEWORK_ENDPOINTS = frozenset({"static"})


@dataclass(frozen=True)
class Rule:
    """The roles that may use a route; ``national``: only users who see every unit."""

    roles: frozenset[str] | None
    national: bool = False

    @property
    def is_public(self) -> bool:
        return self.roles is None

    def admits(self, user: User) -> bool:
        if self.is_public:
            return True
        if user.role not in self.roles:
            return False
        return user.is_national or not self.national


def public(view: Callable) -> Callable:
    """Anyone may use this route, signed in or not."""
    view.access_rule = Rule(None)
    return view


def allow(*roles: str, national: bool = False) -> Callable[[Callable], Callable]:
    """Signed-in users of ``roles`` may use this route (``national``: unscoped only)."""
    rule = Rule(frozenset(roles), national)

    def declare(view: Callable) -> Callable:
        view.access_rule = rule
        return view

    return declare


def rule_of(endpoint: str | None) -> Rule | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "access_rule", None)


def check_access():
    """Before every request: apply the route's rule; refuse a route that has none."""
    if request.endpoint is None or request.endpoint in FRAMEWORK_ENDPOINTS:
        return None
    rule = rule_of(request.endpoint)
    if rule is None:
        current_app.logger.error("Route %s declares no access rule", request.endpoint)
        abort(403)
    if rule.is_public:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not rule.admits(current_user):
        abort(403)
    return None


def may_use(endpoint: str, user: User | None = None) -> bool:
    """Whether the interface should show a link to ``endpoint`` (templates: ``may_use``)."""
    user = user or current_user
    rule = rule_of(endpoint)
    if rule is None or not user.is_authenticated:
        return False
    return rule.admits(user)


def landing_endpoint(user: User) -> str:
    """Where each role starts after signing in."""
    return {
        "admin": "admin.index",
        "supervisor": "admin.index",
        "analyst": "workbench.index",
        "surveyor": "entry.index",
    }[user.role]


# --- unit scope ----------------------------------------------------------------


@dataclass(frozen=True)
class UnitScope:
    """The units a user may see: every unit (``unit_ids`` None) or these ids."""

    unit_ids: frozenset[int] | None

    @property
    def is_national(self) -> bool:
        return self.unit_ids is None

    def covers(self, unit_id: int | None) -> bool:
        """Whether a row of ``unit_id`` is visible; rows of no unit are national."""
        if self.unit_ids is None:
            return True
        return unit_id is not None and unit_id in self.unit_ids

    def where(self, unit_column: ColumnElement) -> ColumnElement[bool]:
        """A WHERE clause keeping the rows of ``unit_column`` in scope."""
        if self.unit_ids is None:
            return true()
        if not self.unit_ids:
            return false()
        return unit_column.in_(sorted(self.unit_ids))

    def require(self, unit_id: int | None) -> None:
        """404 for an object outside the scope, exactly as for one that does not exist."""
        if not self.covers(unit_id):
            abort(404)


NATIONAL = UnitScope(None)


def scope_of(user: User) -> UnitScope:
    """The units ``user`` may see: their own and every unit under them."""
    if user.is_national:
        return NATIONAL
    return UnitScope(frozenset(units_under(unit.id for unit in user.units)))


def units_under(unit_ids: Iterable[int]) -> set[int]:
    """``unit_ids`` and every unit below them, in one recursive query."""
    ids = list(unit_ids)
    if not ids:
        return set()
    tree = select(Unit.id).where(Unit.id.in_(ids)).cte("tree", recursive=True)
    tree = tree.union(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)))


def current_scope() -> UnitScope:
    """The signed-in user's scope, computed once per request."""
    if "unit_scope" not in g:
        g.unit_scope = scope_of(current_user)
    return g.unit_scope
