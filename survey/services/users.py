"""Back-office users: create, give a role and units, sign in, passwords, end sessions.

Every change is audited. Functions flush and never commit; the caller does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from survey.auth import passwords
from survey.auth.policy import NATIONAL, UnitScope
from survey.errors import UserError
from survey.extensions import db
from survey.models import Unit, User
from survey.models.user import ROLES
from survey.services.audit import audit

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
ROLE_LABELS = {
    "admin": _l("Administrator"),
    "supervisor": _l("Supervisor"),
    "surveyor": _l("Surveyor"),
    "analyst": _l("Analyst"),
}


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_access(role: str, units: Sequence[Unit], granted_by: UnitScope = NATIONAL) -> None:
    """Refuse a role or units the granting user may not give.

    Only a national administrator makes national users; everyone else needs
    at least one unit, and a scoped administrator gives only units of theirs.
    """
    if role not in ROLES:
        raise UserError(
            _l(
                "Unknown role '%(role)s': choose one of %(roles)s.",
                role=role,
                roles=", ".join(ROLES),
            )
        )
    if not units and role != "admin":
        raise UserError(_l("The role %(role)s needs at least one unit.", role=ROLE_LABELS[role]))
    if not units and not granted_by.is_national:
        raise UserError(_l("Only a national administrator can make a national administrator."))
    for unit in units:
        if not granted_by.covers(unit.id):
            raise UserError(_l("Unit %(code)s is not one of yours.", code=unit.code))


def create_user(
    email: str,
    role: str,
    units: Sequence[Unit] = (),
    *,
    password: str | None = None,
    by: User | None = None,
    granted_by: UnitScope = NATIONAL,
) -> User:
    """Add a user who signs in with ``email``.

    Without ``password`` the account has none yet: hand the user the link of
    ``password_link`` to choose one.
    """
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise UserError(_l("'%(email)s' is not an email address.", email=email[:254]))
    check_access(role, units, granted_by)
    if password is not None:
        passwords.check_new_password(password, email)
    if user_by_email(email) is not None:
        raise UserError(_l("A user with email %(email)s already exists.", email=email))
    user = User(email=email, role=role, units=list(units))
    if password is None:
        user.password_hash = passwords.unusable_password_hash()
    else:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit("create", user, by, in_unit=_audit_unit(user), role=role, units=_codes(units))
    return user


def set_access(
    user: User,
    role: str,
    units: Sequence[Unit],
    *,
    by: User | None,
    granted_by: UnitScope = NATIONAL,
) -> None:
    """Give ``user`` a new role and units; takes effect on their next request."""
    check_access(role, units, granted_by)
    before = {"role": user.role, "units": _codes(user.units)}
    user.role, user.units = role, list(units)
    db.session.flush()
    audit(
        "set_access",
        user,
        by,
        in_unit=_audit_unit(user),
        before=before,
        role=role,
        units=_codes(units),
    )


def set_active(user: User, active: bool, *, by: User | None) -> None:
    """Deactivating ends every session of the user at once and refuses new ones."""
    if user.active == active:
        return
    user.active = active
    end_sessions(user)
    audit("activate" if active else "deactivate", user, by, in_unit=_audit_unit(user))


def end_sessions(user: User) -> None:
    """Every session cookie issued to ``user`` so far stops working."""
    user.session_version += 1
    db.session.flush()


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None.

    An unknown or inactive account costs one password check too, so that the
    time of a refusal does not tell which accounts exist.
    """
    user = user_by_email(email)
    if user is None:
        passwords.spend_like_a_check(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def record_sign_in(user: User) -> None:
    audit("sign_in", user, user, in_unit=_audit_unit(user))


def sign_out_everywhere(user: User) -> None:
    """Signing out on one device signs the user out on all of them."""
    end_sessions(user)
    audit("sign_out", user, user, in_unit=_audit_unit(user))


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password first; ends their other sessions."""
    if not user.check_password(current):
        raise UserError(_l("The current password is wrong."))
    if new == current:
        raise UserError(_l("The new password must differ from the current one."))
    set_password(user, new, by=user, action="change_password")


def set_password(user: User, new: str, *, by: User | None, action: str) -> None:
    """Store a new password and end every session signed in with the old one."""
    passwords.check_new_password(new, user.email)
    user.set_password(new)
    end_sessions(user)
    audit(action, user, by, in_unit=_audit_unit(user))


def reset_password(user: User, *, by: User | None) -> str:
    """Void the password, end every session; returns the token of a one-time link.

    The old password stops working at once, so a reset also locks out
    whoever may have learnt it.
    """
    user.password_hash = passwords.unusable_password_hash()
    end_sessions(user)
    audit("reset_password", user, by, in_unit=_audit_unit(user))
    return passwords.password_link_token(user)


def password_link(user: User) -> str:
    """The token of a link that lets ``user`` set a password, for a new account."""
    return passwords.password_link_token(user)


def user_for_link(token: str) -> User | None:
    return passwords.user_for_link(token)


def _codes(units: Sequence[Unit]) -> list[str]:
    return [unit.code for unit in units]


def _audit_unit(user: User) -> Unit | None:
    """A user's audit entries are filed under their first unit (national: none)."""
    return user.units[0] if user.units else None
