"""Back-office sessions: one version per user, an idle timeout and an absolute lifetime.

The session cookie holds ``<user id>:<session version>`` (``User.get_id``).
Signing out, a password change, a reset and deactivation bump the version,
so every cookie issued before, copied or not, stops working at once. The
cookie also records when the user signed in and was last seen; past
``SESSION_IDLE_MINUTES`` of silence or ``SESSION_LIFETIME_HOURS`` in all the
user signs in again.
"""

from __future__ import annotations

import time

from flask import current_app, flash, session
from flask_babel import gettext as _
from flask_login import login_user

from survey.extensions import db
from survey.models import User

#: Being seen is written to the cookie at most this often, not on every request.
SEEN_RESOLUTION_SECONDS = 60
LOGIN_KEYS = ("_user_id", "_fresh", "_id", "signed_in_at", "seen_at")


def sign_in(user: User) -> None:
    """Start a session for ``user`` on this browser."""
    login_user(user)
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the session's user while it is current, else None."""
    user_id, _sep, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return _forget()
    if _timed_out():
        flash(_("Your session has ended. Please sign in again."), "info")
        return _forget()
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return _forget()
    _seen()
    return user


def _timed_out() -> bool:
    now = time.time()
    idle = float(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    lifetime = float(current_app.config["SESSION_LIFETIME_HOURS"]) * 3600
    signed_in_at = session.get("signed_in_at", 0)
    seen_at = session.get("seen_at", 0)
    return now - seen_at > idle or now - signed_in_at > lifetime


def _seen() -> None:
    now = int(time.time())
    if now - session.get("seen_at", 0) >= SEEN_RESOLUTION_SECONDS:
        session["seen_at"] = now


def _forget() -> None:
    for key in LOGIN_KEYS:
        session.pop(key, None)
    return None
