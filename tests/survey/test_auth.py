"""Signing in and out, the login rate limit, and the first admin made from the command line."""

from __future__ import annotations

import html

from sqlalchemy import select

from survey.extensions import db
from survey.models import User
from tests.conftest import PASSWORD


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_user_create_asks_for_the_password_twice(runner):
    result = runner.invoke(
        args=["user", "create", "First.Admin@Example.vn", "--role", "admin"],
        input="a long secret 1\na long secret 1\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "a long secret" not in result.output
    user = db.session.scalar(select(User).filter_by(email="first.admin@example.vn"))
    assert user.role == "admin"
    assert user.password_hash != "a long secret 1" and user.check_password("a long secret 1")


def test_user_create_refuses_a_short_password(runner):
    result = runner.invoke(args=["user", "create", "a@example.vn"], input="short\nshort\n")
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert db.session.scalar(select(User)) is None


def test_user_create_refuses_a_mismatched_confirmation(runner):
    result = runner.invoke(
        args=["user", "create", "a@example.vn"], input="a long secret 1\nanother one 22\n"
    )
    assert result.exit_code != 0
    assert db.session.scalar(select(User)) is None


def test_user_create_refuses_a_duplicate(runner, make_user):
    make_user("admin@example.vn")
    result = runner.invoke(
        args=["user", "create", "ADMIN@example.vn"], input="a long secret 1\na long secret 1\n"
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert len(db.session.scalars(select(User)).all()) == 1


def test_login_and_reach_admin(client, make_user):
    make_user("admin@example.vn")
    response = client.post(
        "/auth/login?next=/admin/waves",
        data={"email": "Admin@Example.vn ", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/waves"
    assert client.get("/admin/waves").status_code == 200


def test_login_does_not_follow_next_off_site(client, make_user):
    make_user("admin@example.vn")
    response = client.post(
        "/auth/login?next=//evil.example/x",
        data={"email": "admin@example.vn", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_session_cookie_is_http_only(client, make_user):
    make_user("admin@example.vn")
    response = client.post("/auth/login", data={"email": "admin@example.vn", "password": PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie


def test_wrong_password_fails_with_a_message(client, make_user):
    make_user("admin@example.vn")
    client.get("/auth/login?lang=en")
    response = client.post(
        "/auth/login", data={"email": "admin@example.vn", "password": "not the password"}
    )
    assert response.status_code == 200
    assert "Wrong email or password." in text(response)
    assert client.get("/admin/").status_code == 302


def test_unknown_email_and_inactive_user_fail_alike(client, make_user):
    user = make_user("admin@example.vn")
    user.active = False
    db.session.commit()
    client.get("/auth/login?lang=en")
    for email in ("admin@example.vn", "nobody@example.vn"):
        response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
        assert "Wrong email or password." in text(response)
    assert client.get("/admin/").status_code == 302


def test_login_form_names_the_missing_fields(client):
    client.get("/auth/login?lang=en")
    page = text(client.post("/auth/login", data={"email": "", "password": ""}))
    assert "Enter your email address." in page and "Enter your password." in page


def test_login_is_rate_limited(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_LIMIT="3 per minute")
    client = app.test_client()
    make_user("admin@example.vn")
    data = {"email": "admin@example.vn", "password": "guess guess guess"}
    statuses = [client.post("/auth/login", data=data).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    right = {"email": "admin@example.vn", "password": PASSWORD}
    assert client.post("/auth/login", data=right).status_code == 429
    assert client.get("/auth/login").status_code == 200  # the form itself stays readable


def test_logout_needs_post(client, login):
    login()
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/admin/").status_code == 200
    response = client.post("/auth/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get("/admin/").status_code == 302


def test_logout_checks_the_csrf_token(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    make_user("admin@example.vn")
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    data = {"email": "admin@example.vn", "password": PASSWORD, "csrf_token": token}
    assert client.post("/auth/login", data=data).status_code == 302
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_user_create_takes_no_password_on_the_command_line(runner):
    result = runner.invoke(args=["user", "create", "a@example.vn", "--password", "a long secret 1"])
    assert result.exit_code != 0
    assert "No such option" in result.output
    assert db.session.scalar(select(User)) is None


def test_passwords_are_hashed_with_scrypt_by_default(make_app):
    app = make_app(PASSWORD_HASH_METHOD="scrypt")
    with app.test_request_context():
        user = User(email="x@example.vn", role="admin")
        user.set_password("a long secret 1")
    assert user.password_hash.startswith("scrypt:")
