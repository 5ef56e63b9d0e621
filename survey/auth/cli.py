"""``flask --app survey user create|list|deactivate|set-role|reset-password``.

Operators' messages are in English. Every mistake (an unknown role, unit or
user, a weak password) exits with status 2 and one line, and writes nothing.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from survey.errors import UserError
from survey.extensions import db
from survey.models import Unit, User
from survey.models.user import ROLES

user_cli = AppGroup("user", help="Manage back-office users.")

unit_option = click.option(
    "--unit",
    "unit_codes",
    multiple=True,
    metavar="CODE",
    help="A unit the user works for (repeat for several); none: a national administrator.",
)


class CommandError(click.ClickException):
    exit_code = 2


def _fail(error: UserError) -> CommandError:
    db.session.rollback()
    with force_locale("en"):
        return CommandError(str(error.message))


def _units(codes: tuple[str, ...]) -> list[Unit]:
    from survey.services.units import unit_by_code

    units = []
    for code in codes:
        unit = unit_by_code(code)
        if unit is None:
            raise CommandError(f"Unknown unit code '{code}'.")
        units.append(unit)
    return units


def _user(email: str) -> User:
    from survey.services.users import user_by_email

    user = user_by_email(email)
    if user is None:
        raise CommandError(f"No user has the email {email.strip().lower()}.")
    return user


def _describe(user: User) -> str:
    units = ",".join(unit.code for unit in user.units) or "national"
    return f"{user.role} {user.email} ({units})"


@user_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@unit_option
def create_user(email: str, role: str, unit_codes: tuple[str, ...]) -> None:
    """Create a user who signs in with EMAIL; the password is asked for, twice.

    There is deliberately no --password option: a password on the command
    line ends up in the shell history and the process list.
    """
    from survey.services import users

    units = _units(unit_codes)
    try:
        users.check_access(role, units)
    except UserError as error:
        raise _fail(error) from error
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_user(email, role, units, password=password)
    except UserError as error:
        raise _fail(error) from error
    db.session.commit()
    click.echo(f"Created {_describe(user)}.")


@user_cli.command("list")
def list_users() -> None:
    """Every user: email, role, units, and whether they may sign in."""
    from survey import queries
    from survey.auth.policy import NATIONAL

    for user in queries.users(scope=NATIONAL):
        state = "active" if user.active else "deactivated"
        units = ",".join(unit.code for unit in user.units) or "national"
        click.echo(f"{user.email}\t{user.role}\t{units}\t{state}")


@user_cli.command("deactivate")
@click.argument("email")
def deactivate_user(email: str) -> None:
    """Refuse EMAIL's sign-ins and end every session of theirs at once."""
    from survey.services import users

    user = _user(email)
    users.set_active(user, False, by=None)
    db.session.commit()
    click.echo(f"Deactivated {user.email}; their sessions have ended.")


@user_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@unit_option
def set_role(email: str, role: str, unit_codes: tuple[str, ...]) -> None:
    """Give EMAIL the ROLE and units (replacing the ones they had)."""
    from survey.services import users

    user, units = _user(email), _units(unit_codes)
    try:
        users.set_access(user, role, units, by=None)
    except UserError as error:
        raise _fail(error) from error
    db.session.commit()
    click.echo(f"Now {_describe(user)}.")


@user_cli.command("reset-password")
@click.argument("email")
def reset_password(email: str) -> None:
    """Void EMAIL's password and print a one-time link for choosing a new one."""
    from flask import url_for

    from survey.services import users
    from survey.services.qrcodes import PublicUrlError, public_base_url

    user = _user(email)
    try:
        base = public_base_url()
    except PublicUrlError as error:
        raise CommandError(str(error)) from error
    token = users.reset_password(user, by=None)
    db.session.commit()
    if not base:
        click.echo("SIPAS_PUBLIC_URL is not set: the link points to this machine.", err=True)
        base = "http://127.0.0.1:5000"
    with current_app.test_request_context():
        path = url_for("auth.password_link", token=token)
    hours = current_app.config["PASSWORD_LINK_HOURS"]
    click.echo(f"Password of {user.email} reset; their sessions have ended.", err=True)
    click.echo(f"Give them this link (works once, for {hours} hours):", err=True)
    click.echo(base.rstrip("/") + path)
