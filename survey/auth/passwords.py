"""Password rules, constant-time refusal of unknown accounts, and one-time password links.

A password link lets a user choose their own password: the administrator who
creates an account or resets a password hands over the link and never sees
or types the password. The link is signed with the secret key and carries a
fingerprint of the user's current password hash and session version, so it
works once (setting the password changes the hash) and stops working when
it expires or when anything else changes the account.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from survey.errors import UserError
from survey.extensions import db
from survey.models import User

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")
_TRAILING_DIGITS = re.compile(r"[\d\W_]+$")
LINK_SALT = "sipas-password-link"


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_new_password(password: str, email: str = "") -> None:
    """Refuse a password that is short, common, or made of the email address."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            _l(
                "The password must have at least %(count)d characters.",
                count=MIN_PASSWORD_LENGTH,
            )
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(_l("The password is too long."))
    lowered = password.lower()
    stem = _TRAILING_DIGITS.sub("", lowered)
    local_part = email.lower().partition("@")[0]
    if lowered in common_passwords() or stem in common_passwords() or not stem:
        raise UserError(
            _l("This password is one of the most common ones. Choose a less predictable one.")
        )
    if len(set(lowered)) < 4 or (len(local_part) >= 4 and local_part in lowered):
        raise UserError(_l("This password is too easy to guess. Choose a less predictable one."))


def unusable_password_hash() -> str:
    """A hash no password matches: the account waits for its password link."""
    return "!" + secrets.token_hex(16)


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def spend_like_a_check(password: str) -> None:
    """Take as long as checking a real password, so a wrong email is not told apart."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    check_password_hash(_dummy_hash(method), password)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def _fingerprint(user: User) -> str:
    state = f"{user.password_hash}:{user.session_version}:{user.active}"
    return hashlib.sha256(state.encode()).hexdigest()[:20]


def password_link_token(user: User) -> str:
    """A token for the password link of ``user``, valid until used or expired."""
    return _serializer().dumps([user.id, _fingerprint(user)])


def user_for_link(token: str) -> User | None:
    """The user a still-valid ``token`` was issued for, or None."""
    hours = float(current_app.config["PASSWORD_LINK_HOURS"])
    try:
        user_id, fingerprint = _serializer().loads(token, max_age=int(hours * 3600))
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or fingerprint != _fingerprint(user):
        return None
    return user
