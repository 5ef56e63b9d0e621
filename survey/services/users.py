"""Back-office users."""

from __future__ import annotations

from sqlalchemy import select

from survey.errors import UserError
from survey.extensions import db
from survey.models import User
from survey.models.user import ROLES

MIN_PASSWORD_LENGTH = 10


def create_user(email: str, password: str, role: str) -> User:
    """Create a user; the email is the login, the password is stored hashed."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError(f"'{email}' is not an email address.")
    if role not in ROLES:
        raise UserError(f"Unknown role '{role}': choose one of {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"A user with email {email} already exists.")
    user = User(email=email, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
