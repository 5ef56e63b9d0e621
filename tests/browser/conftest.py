"""A live server on 127.0.0.1 and Debian's Chromium driven by Playwright.

The server runs the real app (CSRF and rate limits on) in a thread, on a
SQLite file brought to the head revision by Alembic and seeded through the
app's own services: one province, one desk with three procedures, the
shipped questionnaires and an open wave asking the desk questionnaire.

Needs ``/usr/bin/chromium`` and ``zbarimg`` (Debian: chromium, zbar-tools).
Without them the tests are skipped, unless ``SIPAS_REQUIRE_BROWSER=1`` (CI),
which makes their absence a failure. Playwright never downloads a browser.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import make_server

from survey import create_app
from survey.extensions import db
from survey.models import Answer, Response, ServicePoint
from survey.questionnaire import Questionnaire

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
DESK_CODE = "HN-MOTCUA-01"
PROCEDURES = [
    ("1.001612", "Đăng ký khai sinh", "Birth registration", "Hộ tịch"),
    ("1.004227", "Chứng thực bản sao từ bản chính", "Certified copy of an original", "Chứng thực"),
    ("1.000894", "Đăng ký kết hôn", "Marriage registration", "Hộ tịch"),
]


def missing_tools() -> list[str]:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"Debian's chromium ({CHROMIUM})")
    if shutil.which("zbarimg") is None:
        missing.append("zbarimg (Debian's zbar-tools)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright Python package (pip install -e '.[dev]')")
    return missing


@pytest.fixture(scope="session", autouse=True)
def browser_tools() -> None:
    """Skip the browser tests when their tools are absent; fail instead on CI."""
    missing = missing_tools()
    if not missing:
        return
    reason = "browser tests need " + ", ".join(missing) + ": apt-get install chromium zbar-tools"
    if os.environ.get("SIPAS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (SIPAS_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveServer:
    app: Flask
    base_url: str
    desk_code: str
    procedure_codes: tuple[str, ...] = tuple(row[0] for row in PROCEDURES)

    def count_responses(self) -> int:
        with self.app.app_context():
            try:
                return db.session.scalar(select(func.count(Response.id)))
            finally:
                db.session.remove()

    def stored(self, response_uuid: str) -> tuple[str, dict[str, int | str]] | None:
        """The desk code and answers stored under ``response_uuid``, or None."""
        with self.app.app_context():
            try:
                response = db.session.scalar(select(Response).where(Response.uuid == response_uuid))
                if response is None:
                    return None
                point = db.session.get(ServicePoint, response.service_point_id)
                answers = db.session.scalars(
                    select(Answer).where(Answer.response_id == response.id)
                ).all()
                return point.code, {answer.item_code: answer.value for answer in answers}
            finally:
                db.session.remove()

    def questionnaire(self) -> Questionnaire:
        from survey.services.questionnaires import questionnaire_of
        from survey.services.waves import open_wave_of_kind

        with self.app.app_context():
            try:
                return questionnaire_of(open_wave_of_kind("desk").questionnaire)
            finally:
                db.session.remove()

    def qr_png(self) -> bytes:
        from survey.services.qrcodes import qr_image, survey_url
        from survey.services.service_points import point_by_code

        with self.app.app_context(), self.app.test_request_context():
            try:
                return qr_image(survey_url(point_by_code(self.desk_code)), "png")
            finally:
                db.session.remove()


def seed() -> None:
    """One province, one desk with its procedures, the questionnaires, an open desk wave."""
    from survey.services.procedures import create_procedure
    from survey.services.questionnaires import sync_questionnaires
    from survey.services.service_points import create_service_point
    from survey.services.units import create_unit
    from survey.services.waves import create_wave, open_wave

    province = create_unit("01", "Thành phố Hà Nội", "province")
    commune = create_unit("00004", "Phường Ba Đình", "commune", parent=province)
    procedures = [create_procedure(*row) for row in PROCEDURES]
    create_service_point(
        DESK_CODE, "Bộ phận một cửa phường Ba Đình", commune, "commune", procedures
    )
    desk_version = next(v for v in sync_questionnaires() if v.kind == "desk")
    wave = create_wave("2026-Q4-DESK", "Khảo sát tại quầy quý IV/2026", desk_version)
    open_wave(wave)
    db.session.commit()


@contextmanager
def serving(database: Path, secret_key: str) -> Iterator[Flask]:
    """The real app on a SQLite file of its own, brought to the head revision, served
    from a thread on 127.0.0.1 (its address in ``PUBLIC_URL``); the caller fills the
    database before the browser's first request. Stopped, and its engine disposed, after."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": secret_key})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    with app.app_context():
        upgrade()
    thread = threading.Thread(target=server.serve_forever, name=database.stem, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    with serving(folder / "browser.sqlite3", "browser-test-secret") as app:
        with app.app_context():
            seed()
            db.session.remove()
        yield LiveServer(app, app.config["PUBLIC_URL"], DESK_CODE)


@pytest.fixture(scope="session")
def browser(browser_tools) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_phone(browser):
    """Open a page in a fresh phone-sized context (360x740); closed after the test."""
    contexts = []

    def new(*, javascript: bool = True):
        context = browser.new_context(
            viewport=PHONE, java_script_enabled=javascript, locale="vi-VN", device_scale_factor=2
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


@pytest.fixture
def phone(new_phone):
    """A page on a phone-sized screen with JavaScript on."""
    return new_phone()


@pytest.fixture
def decode_qr(tmp_path):
    """Decode a QR PNG with a real reader (zbar), as a phone camera would."""

    def decode(png: bytes) -> str:
        path = tmp_path / "desk-qr.png"
        path.write_bytes(png)
        result = subprocess.run(
            ["zbarimg", "--raw", "-q", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout.strip()

    return decode
