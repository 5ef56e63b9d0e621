"""Accounts: sessions that end when they should, passwords, one-time links, user admin, CLI."""

from __future__ import annotations

import html
import re
import time

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEntry, Unit, User
from survey.services.units import create_unit
from tests.conftest import PASSWORD, sign_in


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def province(app) -> Unit:
    unit = create_unit("01", "Thành phố Hà Nội", "province")
    create_unit("00004", "Phường Ba Đình", "commune", unit)
    db.session.commit()
    return unit


def copy_session(source, target) -> None:
    """Give ``target`` the very session cookie ``source`` holds, as a thief would."""
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)


# --- sessions ----------------------------------------------------------------


def test_signing_out_ends_a_copied_session_cookie(app, make_user):
    make_user("admin@example.vn")
    browser, thief = app.test_client(), app.test_client()
    sign_in(browser, "admin@example.vn")
    copy_session(browser, thief)
    assert thief.get("/admin/").status_code == 200
    browser.post("/auth/logout")
    assert thief.get("/admin/").headers["Location"].startswith("/auth/login")


def test_signing_out_ends_the_users_other_sessions(app, make_user):
    make_user("admin@example.vn")
    office, laptop = app.test_client(), app.test_client()
    sign_in(office, "admin@example.vn")
    sign_in(laptop, "admin@example.vn")
    office.post("/auth/logout")
    assert laptop.get("/admin/").status_code == 302


def test_deactivation_ends_every_session_at_once(app, make_user, province):
    admin = app.test_client()
    make_user("admin@example.vn")
    user = make_user("sup@example.vn", "supervisor", units=[province])
    staff = app.test_client()
    sign_in(staff, "sup@example.vn")
    assert staff.get("/admin/").status_code == 200
    sign_in(admin, "admin@example.vn")
    assert admin.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    assert staff.get("/admin/").status_code == 302
    assert sign_in(staff, "sup@example.vn").status_code == 200  # refused, form shown again


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, make_user):
    make_user("admin@example.vn")
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, "admin@example.vn")
    sign_in(elsewhere, "admin@example.vn")
    new = "a fresh long passphrase"
    response = here.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm": new},
    )
    assert response.status_code == 302
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), "admin@example.vn", new).status_code == 302
    assert sign_in(app.test_client(), "admin@example.vn", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("setting", "seconds"),
    [("SESSION_IDLE_MINUTES", 61 * 60), ("SESSION_LIFETIME_HOURS", 13 * 3600)],
)
def test_sessions_end_after_idling_and_after_their_lifetime(
    make_app, make_user, monkeypatch, setting, seconds
):
    app = make_app()
    make_user("admin@example.vn")
    client = app.test_client()
    sign_in(client, "admin@example.vn")
    start = time.time()
    if setting == "SESSION_LIFETIME_HOURS":
        for step in range(1, 14):  # busy all day: seen every hour, never idle
            monkeypatch.setattr(time, "time", lambda step=step: start + step * 3500)
            assert client.get("/admin/").status_code == (200 if step * 3500 < 12 * 3600 else 302)
    monkeypatch.setattr(time, "time", lambda: start + seconds)
    response = client.get("/admin/")
    assert response.headers["Location"].startswith("/auth/login")
    assert "Your session has ended" in text(client.get(response.headers["Location"]))


def test_the_idle_timeout_is_configurable(make_app, make_user, monkeypatch):
    app = make_app(SESSION_IDLE_MINUTES=5)
    make_user("admin@example.vn")
    client = app.test_client()
    sign_in(client, "admin@example.vn")
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 4 * 60)
    assert client.get("/admin/").status_code == 200
    monkeypatch.setattr(time, "time", lambda: start + 10 * 60)
    assert client.get("/admin/").status_code == 302


def test_the_session_cookie_is_refused_after_the_absolute_lifetime(make_app):
    app = make_app(SESSION_LIFETIME_HOURS=2)
    assert app.permanent_session_lifetime.total_seconds() == 7200


# --- sign-in -----------------------------------------------------------------


def test_sign_in_is_limited_per_account_from_any_address(make_app, make_user):
    app = make_app(
        RATELIMIT_ENABLED=True, LOGIN_LIMIT="100 per minute", LOGIN_LIMIT_PER_ACCOUNT="3 per minute"
    )
    make_user("admin@example.vn")
    make_user("other@example.vn")
    guesses = [
        app.test_client().post(
            "/auth/login",
            data={"email": "Admin@example.vn", "password": "guess guess guess"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
        )
        for n in range(4)
    ]
    assert [r.status_code for r in guesses] == [200, 200, 200, 429]
    assert sign_in(app.test_client(), "admin@example.vn").status_code == 429
    assert sign_in(app.test_client(), "other@example.vn").status_code == 302


def test_an_unknown_email_costs_a_password_check_like_a_wrong_password(make_app, make_user):
    """Full-strength scrypt: the refusal time must not tell which accounts exist."""
    app = make_app(PASSWORD_HASH_METHOD="scrypt")
    make_user("admin@example.vn")
    client = app.test_client()

    def fastest(email: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            client.post("/auth/login", data={"email": email, "password": "wrong password 1"})
            times.append(time.perf_counter() - started)
        return min(times)

    fastest("nobody@example.vn")  # the dummy hash is made once per process
    wrong, unknown = fastest("admin@example.vn"), fastest("nobody@example.vn")
    assert unknown > 0.5 * wrong, (unknown, wrong)


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/\t/evil.example",
        "/%0d%0aSet-Cookie:x=y",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/admin/",
        "javascript:alert(1)",
        "/no/such/page",
    ],
)
def test_sign_in_never_follows_next_off_this_site(client, make_user, target):
    make_user("admin@example.vn")
    credentials = {"email": "admin@example.vn", "password": PASSWORD}
    if "%" in target:  # already URL-encoded, as an attacker's link would be
        response = client.post(f"/auth/login?next={target}", data=credentials)
    else:
        response = client.post("/auth/login", query_string={"next": target}, data=credentials)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_sign_in_follows_next_to_a_page_of_this_site(client, make_user):
    make_user("admin@example.vn")
    response = client.post(
        "/auth/login?next=/admin/waves", data={"email": "admin@example.vn", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/admin/waves"


@pytest.mark.parametrize(
    ("role", "landing"),
    [("admin", "/admin/"), ("supervisor", "/admin/"), ("analyst", "/workbench/"),
     ("surveyor", "/entry/")],
)  # fmt: skip
def test_each_role_lands_on_its_own_page(client, make_user, province, role, landing):
    make_user(f"{role}@example.vn", role, units=[province])
    response = sign_in(client, f"{role}@example.vn")
    assert response.headers["Location"] == landing
    assert client.get(landing).status_code == 200


# --- passwords ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 10 characters"),
        ("password123456", "most common"),
        ("Matkhau@2025", "most common"),
        ("1234567890123", "most common"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("nguyen.van.a.2025", "too easy to guess"),
    ],
)
def test_weak_new_passwords_are_refused(client, make_user, password, message):
    make_user("nguyen.van.a@example.vn")
    sign_in(client, "nguyen.van.a@example.vn")
    response = client.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": password, "confirm": password},
    )
    assert response.status_code == 200
    assert message in text(response)
    assert sign_in(client.application.test_client(), "nguyen.van.a@example.vn").status_code == 302


def test_the_current_password_is_asked_before_a_change(client, make_user):
    make_user("admin@example.vn")
    sign_in(client, "admin@example.vn")
    new = "a fresh long passphrase"
    response = client.post(
        "/auth/password",
        data={"current_password": "not it at all", "new_password": new, "confirm": new},
    )
    assert "The current password is wrong." in text(response)
    assert sign_in(client.application.test_client(), "admin@example.vn").status_code == 302


# --- user administration and one-time links ------------------------------------


def _link(page) -> str:
    return re.search(r'value="(http[^"]+/auth/password-link/[^"]+)"', page.get_data(as_text=True))[
        1
    ]


def test_admin_creates_a_user_who_chooses_their_password_with_a_one_time_link(
    client, login, province
):
    login()
    commune = db.session.scalar(select(Unit).where(Unit.code == "00004"))
    page = client.post(
        "/admin/users/new",
        data={"email": "New.Clerk@example.vn", "role": "surveyor", "unit_ids": [commune.id]},
    )
    assert page.status_code == 200
    link = _link(page)
    assert link.startswith("http://localhost/auth/password-link/")
    user = db.session.scalar(select(User).where(User.email == "new.clerk@example.vn"))
    assert [u.code for u in user.units] == ["00004"] and user.role == "surveyor"

    clerk = client.application.test_client()
    path = link.removeprefix("http://localhost")
    assert "new.clerk@example.vn" in text(clerk.get(path))
    chosen = "a long clerk passphrase"
    response = clerk.post(path, data={"new_password": chosen, "confirm": chosen})
    assert response.headers["Location"] == "/entry/"
    assert clerk.get("/entry/").status_code == 200
    again = clerk.application.test_client().get(path + "?lang=en")
    assert again.status_code == 404 and "expired or has been used" in text(again)
    assert (
        sign_in(clerk.application.test_client(), "new.clerk@example.vn", chosen).status_code == 302
    )


def test_reset_voids_the_password_ends_sessions_and_gives_a_link(app, make_user, province):
    staff = app.test_client()
    user = make_user("sup@example.vn", "supervisor", units=[province])
    sign_in(staff, "sup@example.vn")
    admin = app.test_client()
    make_user("boss@example.vn")
    sign_in(admin, "boss@example.vn")
    page = admin.post(f"/admin/users/{user.id}/reset-password")
    assert PASSWORD not in page.get_data(as_text=True)
    link = _link(page).removeprefix("http://localhost")
    assert staff.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), "sup@example.vn").status_code == 200
    chosen = "another long passphrase"
    assert (
        app.test_client().post(link, data={"new_password": chosen, "confirm": chosen}).status_code
        == 302
    )
    assert app.test_client().get(link).status_code == 404


def test_a_password_link_expires(make_app, make_user, monkeypatch):
    app = make_app(PASSWORD_LINK_HOURS=1)
    from survey.services.users import reset_password

    user = make_user("sup@example.vn")
    token = reset_password(user, by=None)
    db.session.commit()
    assert app.test_client().get(f"/auth/password-link/{token}").status_code == 200
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 3601)
    assert app.test_client().get(f"/auth/password-link/{token}").status_code == 404


def test_admin_changes_role_and_units(client, login, make_user, province):
    login()
    user = make_user("sup@example.vn", "supervisor", units=[province])
    commune = db.session.scalar(select(Unit).where(Unit.code == "00004"))
    response = client.post(
        f"/admin/users/{user.id}", data={"role": "analyst", "unit_ids": [commune.id]}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == "analyst" and [u.code for u in user.units] == ["00004"]
    refused = client.post(f"/admin/users/{user.id}", data={"role": "analyst"})
    assert "needs at least one unit" in text(refused)
    db.session.refresh(user)
    assert [u.code for u in user.units] == ["00004"]


def test_a_scoped_admin_gives_only_units_of_theirs(app, make_user, province):
    other = create_unit("79", "Thành phố Hồ Chí Minh", "province")
    db.session.commit()
    make_user("hanoi-admin@example.vn", "admin", units=[province])
    client = app.test_client()
    sign_in(client, "hanoi-admin@example.vn")
    page = client.post(
        "/admin/users/new",
        data={"email": "x@example.vn", "role": "analyst", "unit_ids": [other.id]},
    )
    assert page.status_code == 200 and "Hồ Chí Minh" not in text(page)
    assert db.session.scalar(select(User).where(User.email == "x@example.vn")) is None
    national = client.post("/admin/users/new", data={"email": "y@example.vn", "role": "admin"})
    assert "Only a national administrator" in text(national)


# --- command line ------------------------------------------------------------


def users_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_cli_creates_a_user_with_units(runner, province):
    result = runner.invoke(
        args=["user", "create", "Sup@Example.vn", "--role", "supervisor", "--unit", "01"],
        input="a long secret 1\na long secret 1\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "sup@example.vn"))
    assert user.role == "supervisor" and [u.code for u in user.units] == ["01"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "a@example.vn", "--role", "analyst", "--unit", "99"], "Unknown unit code '99'"),
        (["create", "a@example.vn", "--role", "analyst"], "needs at least one unit"),
        (["create", "a@example.vn", "--role", "boss"], "Invalid value for '--role'"),
        (["set-role", "a@example.vn", "analyst", "--unit", "01"], "No user has the email"),
        (["deactivate", "nobody@example.vn"], "No user has the email"),
    ],
)
def test_cli_mistakes_exit_2_and_write_nothing(runner, province, args, message):
    result = runner.invoke(args=["user", *args], input="a long secret 1\na long secret 1\n")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert users_count() == 0


def test_cli_lists_sets_role_deactivates_and_resets(runner, make_user, province):
    make_user("sup@example.vn", "supervisor", units=[province])
    listed = runner.invoke(args=["user", "list"])
    assert "sup@example.vn\tsupervisor\t01\tactive" in listed.output
    changed = runner.invoke(
        args=["user", "set-role", "sup@example.vn", "analyst", "--unit", "00004"]
    )
    assert changed.exit_code == 0 and "analyst sup@example.vn (00004)" in changed.output
    bad = runner.invoke(args=["user", "set-role", "sup@example.vn", "surveyor", "--unit", "nope"])
    assert bad.exit_code == 2
    user = db.session.scalar(select(User).where(User.email == "sup@example.vn"))
    assert user.role == "analyst"
    reset = runner.invoke(args=["user", "reset-password", "sup@example.vn"])
    assert reset.exit_code == 0
    assert re.search(r"^http://localhost/auth/password-link/\S+$", reset.stdout, re.M)
    assert "a long secret" not in reset.output
    assert runner.invoke(args=["user", "deactivate", "sup@example.vn"]).exit_code == 0
    assert "deactivated" in runner.invoke(args=["user", "list"]).output


# --- audit viewer --------------------------------------------------------------


def test_audit_viewer_filters_shows_history_and_downloads_csv(client, login, province):
    admin = login()
    client.post(
        "/admin/service-points/new",
        data={
            "code": "D-9",
            "name": "Quầy 9",
            "unit_id": province.id,
            "government_level": "province",
        },
    )
    client.post("/admin/service-points/D-9/deactivate")
    page = text(client.get("/admin/audit", query_string={"entity": "ServicePoint"}))
    table = page[page.index("<table>") :]
    assert "deactivate" in table and "Quầy 9" in table and "sign_in" not in table
    entry = db.session.scalar(select(AuditEntry).filter_by(entity="ServicePoint", action="create"))
    history = text(client.get(f"/admin/audit/ServicePoint/{entry.entity_id}"))
    assert "create" in history and "deactivate" in history
    csv = client.get(
        "/admin/audit.csv", query_string={"user_id": admin.id, "action": "deactivate"}
    ).get_data(as_text=True)
    lines = csv.strip().splitlines()
    assert lines[0] == "at,user,action,entity,entity_id,unit,detail"
    assert len(lines) == 2 and "admin@example.vn,deactivate,ServicePoint" in lines[1]
    assert client.get("/admin/audit/ServicePoint/99999").status_code == 404


def test_audit_entries_cannot_be_edited_or_deleted(app, login):
    login()
    entry = db.session.scalar(select(AuditEntry))
    entry.action = "nothing happened"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.delete(db.session.scalar(select(AuditEntry)))
        db.session.flush()
    db.session.rollback()
    audit_routes = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert audit_routes and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in audit_routes)
