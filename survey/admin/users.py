"""Administrators' pages for users: list, create, role and units, deactivate, reset.

The administrator never sees or types a user's password: a new account and
a reset both give a one-time link that the user opens to choose their own.
A scoped administrator manages only the users whose every unit is theirs.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import queries
from survey.admin import bp
from survey.admin.forms import AccessForm, ActionForm, NewUserForm
from survey.auth.policy import allow, current_scope
from survey.errors import UserError
from survey.extensions import db
from survey.models import User
from survey.services import users as user_service
from survey.services.qrcodes import public_base_url
from survey.services.users import ROLE_LABELS


@bp.context_processor
def role_labels() -> dict:
    return {"role_labels": ROLE_LABELS}


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id) or abort(404)
    if not queries.user_in_scope(user, current_scope()):
        abort(404)
    return user


def _link_page(user: User, token: str, *, new: bool):
    """Show the one-time link once; it is not stored anywhere."""
    path = url_for("auth.password_link", token=token)
    base = public_base_url() or request.host_url
    hours = current_app.config["PASSWORD_LINK_HOURS"]
    return render_template(
        "admin/user_link.html", user=user, link=base.rstrip("/") + path, hours=hours, new=new
    )


@bp.route("/users")
@allow("admin")
def users():
    return render_template("admin/users.html", users=queries.users(scope=current_scope()))


@bp.route("/users/new", methods=["GET", "POST"])
@allow("admin")
def new_user():
    scope = current_scope()
    form = NewUserForm(queries.units(scope=scope))
    if form.validate_on_submit():
        try:
            user = user_service.create_user(
                form.email.data,
                form.role.data,
                form.chosen_units,
                by=current_user,
                granted_by=scope,
            )
        except UserError as error:
            db.session.rollback()
            form.unit_ids.errors.append(str(error.message))
        else:
            token = user_service.password_link(user)
            db.session.commit()
            return _link_page(user, token, new=True)
    return render_template("admin/form.html", form=form, title=_("New user"))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow("admin")
def user(user_id: int):
    user = _user(user_id)
    scope = current_scope()
    form = AccessForm(queries.units(scope=scope), obj=None if request.method == "POST" else user)
    if request.method == "GET":
        form.unit_ids.data = [unit.id for unit in user.units]
    if form.validate_on_submit():
        try:
            user_service.set_access(
                user, form.role.data, form.chosen_units, by=current_user, granted_by=scope
            )
        except UserError as error:
            db.session.rollback()
            form.unit_ids.errors.append(str(error.message))
        else:
            db.session.commit()
            flash(_("Role and units of %(email)s saved.", email=user.email), "info")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user.html", user=user, form=form, action=ActionForm())


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@allow("admin")
def deactivate_user(user_id: int):
    user = _user(user_id)
    if user.id == current_user.id:
        raise UserError(_("You cannot deactivate your own account."), status=409)
    return _set_user_active(user, False)


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
@allow("admin")
def activate_user(user_id: int):
    return _set_user_active(_user(user_id), True)


def _set_user_active(user: User, active: bool):
    if not ActionForm().validate_on_submit():
        abort(400)
    user_service.set_active(user, active, by=current_user)
    db.session.commit()
    if active:
        flash(_("%(email)s can sign in again.", email=user.email), "info")
    else:
        flash(_("%(email)s is deactivated and signed out everywhere.", email=user.email), "info")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@allow("admin")
def reset_password(user_id: int):
    user = _user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    token = user_service.reset_password(user, by=current_user)
    db.session.commit()
    return _link_page(user, token, new=False)
