"""Signing in and out, changing one's password, and the one-time password link."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from survey.auth import bp
from survey.auth.forms import ChangePasswordForm, LoginForm, NewPasswordForm
from survey.auth.policy import allow, landing_endpoint, public
from survey.auth.sessions import load_user, sign_in
from survey.errors import UserError
from survey.extensions import db, login_manager
from survey.models.user import ROLES
from survey.ratelimits import enforce
from survey.services import users as user_service

login_manager.user_loader(load_user)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "POST":
        account = user_service.normalise_email(request.form.get("email", ""))[:254]
        enforce(("LOGIN_LIMIT", request.remote_addr or ""), ("LOGIN_LIMIT_PER_ACCOUNT", account))
    if current_user.is_authenticated:
        return redirect(url_for(landing_endpoint(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_service.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong email or password."), "error")
        else:
            sign_in(user)
            user_service.record_sign_in(user)
            db.session.commit()
            return redirect(safe_next() or url_for(landing_endpoint(user)))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@allow(*ROLES)
def logout():
    user_service.sign_out_everywhere(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@allow(*ROLES)
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm(user.email)
    if form.validate_on_submit():
        try:
            user_service.change_password(user, form.current_password.data, form.new_password.data)
        except UserError as error:
            db.session.rollback()
            form.current_password.errors.append(str(error.message))
        else:
            db.session.commit()
            sign_in(user)
            flash(_("Your password is changed; your other sessions have ended."), "info")
            return redirect(url_for(landing_endpoint(user)))
    return render_template("auth/password.html", form=form, title=_("Change your password"))


@bp.route("/password-link/<token>", methods=["GET", "POST"])
@public
def password_link(token: str):
    """The one-time link an administrator hands over: the user chooses a password."""
    user = user_service.user_for_link(token)
    if user is None:
        raise UserError(
            _(
                "This link has expired or has been used already. "
                "Ask your administrator for a new one."
            ),
            status=404,
            title=_("This link no longer works"),
        )
    form = NewPasswordForm(user.email)
    if form.validate_on_submit():
        user_service.set_password(user, form.new_password.data, by=user, action="set_password")
        db.session.commit()
        sign_in(user)
        flash(_("Your password is set. Welcome."), "info")
        return redirect(url_for(landing_endpoint(user)))
    return render_template(
        "auth/password.html", form=form, title=_("Choose your password"), account=user.email
    )


def safe_next() -> str | None:
    """``next`` only when it is, once normalised as a browser would, a page of this site."""
    target = request.args.get("next", "")
    if not target or any(ord(c) < 0x20 or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("//"):
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(parts.path, method="GET")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None
    return target
