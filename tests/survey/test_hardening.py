"""What the security review asked for: request limits, NUL bytes, headers, file modes, QR hosts."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask_migrate import upgrade

from survey import create_app
from survey.extensions import db
from survey.questionnaire import load_questionnaire, shipped_questionnaires
from survey.services.qrcodes import PublicUrlError, qr_image, survey_path
from tests.conftest import sign_in
from tests.survey import test_public
from tests.survey.test_public import form_url, post_form, stored_responses, valid_answers

desk = test_public.desk  # the citizen tests' desk with its open wave (a fixture)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PUBLIC = "https://sipas.example.gov.vn"


def english(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "lang=en"


# --- 1. request size ---------------------------------------------------------


@pytest.mark.parametrize("csrf", [False, True], ids=["no-csrf", "csrf-checked"])
def test_a_huge_comment_is_refused_with_a_short_clear_page(make_app, desk, csrf):
    app = make_app(WTF_CSRF_ENABLED=csrf)
    flood = "lũ lụt " * 20_000 + "END-OF-FLOOD"
    data = {"response_uuid": str(uuid.uuid4()), "wave": "2026-Q4", "COMMENT": flood}
    page = app.test_client().post(english(form_url(desk)), data=data)
    assert page.status_code == 413
    html = page.get_data(as_text=True)
    assert "Too much was sent" in html and "none of it was kept" in html
    assert "END-OF-FLOOD" not in html and len(html) < 5_000
    assert stored_responses() == 0


def test_thousands_of_unknown_fields_are_refused_with_a_short_page(client, desk):
    data = {"response_uuid": str(uuid.uuid4()), "wave": "2026-Q4"}
    data.update({f"X{i}": "1" for i in range(2_000)})
    page = client.post(english(form_url(desk)), data=data)
    assert page.status_code == 413
    assert "X1999" not in page.get_data(as_text=True)
    assert len(page.get_data()) < 5_000


def test_the_citizen_form_limit_is_configurable(make_app, desk):
    app = make_app(MAX_FORM_BYTES=300)
    assert post_form(app.test_client(), desk, valid_answers(desk)).status_code == 413
    app = make_app(MAX_FORM_FIELDS=5)
    assert post_form(app.test_client(), desk, valid_answers(desk)).status_code == 413
    assert stored_responses() == 0


def test_every_shipped_questionnaire_answered_in_full_fits_the_default_limits(make_app):
    """Every question answered, every text at its longest in accented Vietnamese
    (nine bytes a letter once form-encoded), every option of a multi-select chosen."""
    config = make_app().config
    for path in shipped_questionnaires():
        fields = [("csrf_token", "t" * 91), ("response_uuid", str(uuid.uuid4())), ("wave", "W")]
        for item in load_questionnaire(path).items():
            if item.scale.kind == "text":
                fields.append((item.code, "ữ" * item.scale.max_length))
            elif item.scale.kind == "procedure":
                fields.append((item.code, "1" * 64))
            else:
                chosen = item.scale.values if item.scale.kind == "multi" else item.scale.values[-1:]
                fields.extend((item.code, str(value)) for value in chosen)
        assert len(urlencode(fields)) <= config["MAX_FORM_BYTES"], path.name
        assert len(fields) <= config["MAX_FORM_FIELDS"], path.name


def test_an_answer_up_to_the_longest_allowed_is_stored(client, desk):
    answers = {**valid_answers(desk), "COMMENT": "Cán bộ hướng dẫn tận tình, chu đáo. " * 27}
    assert len(answers["COMMENT"]) <= 1000
    assert post_form(client, desk, answers).status_code == 303


def test_an_overlong_comment_is_not_echoed_in_full(client, desk):
    answers = {**valid_answers(desk), "COMMENT": "y" * 3_000}
    page = post_form(client, desk, answers)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "y" * 1_000 in html and "y" * 1_001 not in html  # at most the 1,000 it takes


def test_an_error_page_names_a_few_unknown_fields_each_cut_short(client, desk):
    unknown = {f"X-{i}": "5" for i in range(40)}
    unknown["Q" * 3_000] = "5"
    page = client.post(
        english(form_url(desk)),
        data={"response_uuid": str(uuid.uuid4()), "wave": "2026-Q4", **unknown},
    )
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "X-0" in html and "X-39" not in html
    assert "more questions that are not in this survey" in html
    assert "Q" * 100 not in html
    assert stored_responses() == 0


def test_the_back_office_takes_more_than_the_citizen_form_up_to_its_own_limit(make_app):
    big = {"email": "a@example.vn", "password": "x", "note": "n" * 100_000}
    assert make_app().test_client().post("/auth/login", data=big).status_code != 413
    small = make_app(MAX_CONTENT_LENGTH=50_000).test_client()
    assert small.post("/auth/login?lang=en", data=big).status_code == 413


# --- 3. NUL characters -------------------------------------------------------


def nul_requests(point) -> dict:
    """(method, URL, form) with a NUL in one place; a clear 404 or 400 without it."""
    url = form_url(point)
    return {
        "path": ("get", url.replace(point.code, point.code + "%00"), {}),
        "query value": ("get", url + "?lang=%00", {}),
        "query key": ("get", url + "?x%00y=1", {}),
        "form value": ("post", url, {"COMMENT": "Tốt\x00"}),
        "form key": ("post", url, {"S-A1\x00": "5"}),
        "thank-you page": ("get", "/thanks/%00", {}),
        "sign-in email": ("post", "/auth/login", {"email": "a\x00@x.vn", "password": "x"}),
        "back office": ("get", "/admin/service-points/D%00", {}),
    }


NUL_PLACES = [
    "path",
    "query value",
    "query key",
    "form value",
    "form key",
    "thank-you page",
    "sign-in email",
    "back office",
]


@pytest.mark.parametrize("where", NUL_PLACES)
def test_a_nul_character_anywhere_is_a_clear_400(client, desk, login, where):
    login()  # also sets the interface to English
    method, url, form = nul_requests(desk)[where]
    data = {"response_uuid": str(uuid.uuid4()), "wave": "2026-Q4", **form} if form else None
    page = getattr(client, method)(url, data=data)
    assert page.status_code == 400
    assert "The request could not be understood" in page.get_data(as_text=True)
    assert stored_responses() == 0


# --- 4. security headers -----------------------------------------------------


def assert_protected(response) -> None:
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")


def test_every_kind_of_page_carries_the_security_headers(client, desk):
    pages = {
        "citizen form": client.get(form_url(desk)),
        "error page": client.get(f"/s/{desk.code}/forged"),
        "too large": client.post(form_url(desk), data={"COMMENT": "x" * 100_000}),
        "sign-in": client.get("/auth/login"),
        "stylesheet": client.get("/static/site.css"),
        "script": client.get("/static/survey.js"),
    }
    assert pages["citizen form"].status_code == 200
    assert pages["error page"].status_code == 404
    for response in pages.values():
        assert_protected(response)


def test_the_poster_prints_under_the_policy(client, login, desk):
    login()
    page = client.get(f"/admin/service-points/{desk.code}/poster")
    assert_protected(page)
    html = page.get_data(as_text=True)
    assert " onclick=" not in html
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=str)
def test_no_template_needs_inline_script_or_style_attributes(template):
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", source), "inline event handler"
    assert not re.search(r"\sstyle\s*=", source), "inline style attribute"


# --- 5. private database file ------------------------------------------------


def test_the_default_sqlite_database_and_instance_folder_are_private(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.delenv("SIPAS_DATABASE_URL", raising=False)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(instance))
    app = create_app({"TESTING": True})
    with app.app_context():
        upgrade()  # what "flask db upgrade" does on a fresh machine
        db.engine.dispose()
    database = instance / "sipas.sqlite3"
    assert database.stat().st_size > 0  # the schema is in the file made private
    assert database.stat().st_mode & 0o777 == 0o600
    assert instance.stat().st_mode & 0o777 == 0o700
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600


# --- 6. printed addresses ----------------------------------------------------


def as_evil_host(client, app) -> None:
    """Send the signed-in session to the host ``evil.example`` too."""
    name = app.config["SESSION_COOKIE_NAME"]
    client.set_cookie(name, client.get_cookie(name).value, domain="evil.example")


def test_printed_codes_use_the_public_url_whatever_the_host(make_app, desk, make_user):
    app = make_app(PUBLIC_URL=PUBLIC)
    client = app.test_client()
    assert sign_in(client, make_user().email).status_code == 302
    as_evil_host(client, app)
    expected = PUBLIC + survey_path(desk)
    base = f"/admin/service-points/{desk.code}"
    for page in (base, base + "/poster"):
        html = client.get(page, base_url="http://evil.example").get_data(as_text=True)
        assert expected in html and "evil.example" not in html
    image = client.get(base + "/qr.png", base_url="http://evil.example")
    assert image.status_code == 200 and image.data == qr_image(expected, "png")


def test_without_a_public_url_the_desk_page_warns_before_printing(make_app, desk, make_user):
    client = make_app(PUBLIC_URL="").test_client()
    sign_in(client, make_user().email)
    for page in ("", "/poster"):
        html = client.get(f"/admin/service-points/{desk.code}{page}").get_data(as_text=True)
        assert "SIPAS_PUBLIC_URL is not set" in html


def test_qr_export_warns_that_it_prints_local_addresses(make_app, desk, tmp_path):
    result = (
        make_app(PUBLIC_URL="")
        .test_cli_runner()
        .invoke(args=["qr", "export", "--out", str(tmp_path)])
    )
    assert result.exit_code == 0, result.output
    assert "SIPAS_PUBLIC_URL is not set" in result.stderr
    assert (tmp_path / f"{desk.code}.png").exists()


@pytest.mark.parametrize("url", ["ftp://x", "javascript:alert(1)", "https://a@evil.example"])
def test_qr_export_refuses_a_public_url_that_is_not_a_web_address(make_app, desk, tmp_path, url):
    result = (
        make_app(PUBLIC_URL=url)
        .test_cli_runner()
        .invoke(args=["qr", "export", "--out", str(tmp_path / "codes")])
    )
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        f"Error: SIPAS_PUBLIC_URL must be an http:// or https:// address such as "
        f"https://sipas.example.gov.vn, not {url!r}"
    ]
    assert "Traceback" not in result.output
    assert not (tmp_path / "codes").exists()


def test_the_back_office_prints_no_code_for_a_public_url_that_is_not_a_web_address(
    make_app, desk, make_user, caplog
):
    app = make_app(PUBLIC_URL="javascript:alert(1)")
    assert "SIPAS_PUBLIC_URL must be an http:// or https:// address" in caplog.text  # at start
    client = app.test_client()
    sign_in(client, make_user().email)
    with pytest.raises(PublicUrlError):  # a logged 500 outside tests
        client.get(f"/admin/service-points/{desk.code}/qr.png")
