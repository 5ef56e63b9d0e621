"""The back office in a real browser: what each role sees, and sessions that end.

One province (Hà Nội, seeded by the conftest and extended here) is "ours";
a second (Đà Nẵng) is foreign to its supervisor and analyst. Every page they
reach is checked for the foreign province's desk codes, unit names, users and
audit entries, and every link they are shown is followed. Users are signed
in through the login page, each in a context of their own; the data is made
through the app's services, as the conftest does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from survey.extensions import db

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "Hoa sen nở giữa hồ 2026"
NOT_FOUND = "Page not found"
LINK_GONE = "This link no longer works"
OWN_PROVINCE = "01"
#: (code, name, level, parent code) added beside the conftest's 01 and 00004.
UNITS = [
    ("00070", "Phường Hoàn Kiếm", "commune", OWN_PROVINCE),
    ("48", "Thành phố Đà Nẵng", "province", None),
    ("20194", "Phường Hải Châu", "commune", "48"),
]
#: (code, name, unit code, level of government, responses made here).
DESKS = [
    ("HN-HOANKIEM-01", "Bộ phận một cửa phường Hoàn Kiếm", "00070", "commune", 7),
    ("HN-TTHCC", "Trung tâm Phục vụ hành chính công thành phố Hà Nội", "01", "province", 4),
    ("HN-QUAY-TRONG", "Quầy dự phòng phường Hoàn Kiếm", "00070", "commune", 0),
    ("DN-HAICHAU-01", "Bộ phận một cửa phường Hải Châu", "20194", "commune", 5),
    ("DN-TTHCC", "Trung tâm Phục vụ hành chính công thành phố Đà Nẵng", "48", "province", 9),
]
FOREIGN_UNITS = {"48", "20194"}


@dataclass
class Account:
    email: str
    password: str = PASSWORD


@dataclass
class Offices:
    """What the tests made, and questions to the database about it."""

    base_url: str
    app: object
    wave_code: str
    supervisor: Account
    analyst: Account
    national_admin: Account
    leaver: Account
    foreign_supervisor: Account
    own_desks: set[str]
    foreign_desks: set[str]
    own_units: set[str]
    #: Audit object labels ("ServicePoint 4") of the foreign province's rows.
    foreign_objects: dict[str, set[int]] = field(default_factory=dict)
    desk_names: dict[str, str] = field(default_factory=dict)
    made: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def counts(self) -> dict[str, tuple[int, int]]:
        """Each desk's valid responses in the wave: (today in Vietnam, total)."""
        from sqlalchemy import select

        from survey.models import Response, ServicePoint, Wave

        midnight = datetime.combine(datetime.now(VIETNAM).date(), time(), VIETNAM)
        with self.app.app_context():
            try:
                rows = db.session.execute(
                    select(ServicePoint.code, Response.submitted_at)
                    .join(Response, Response.service_point_id == ServicePoint.id)
                    .join(Wave, Wave.id == Response.wave_id)
                    .where(Wave.code == self.wave_code, Response.status == "valid")
                ).all()
            finally:
                db.session.remove()
        counts: dict[str, list[int]] = {}
        for code, at in rows:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            today, total = counts.setdefault(code, [0, 0])
            counts[code] = [today + (at >= midnight), total + 1]
        return {code: (today, total) for code, (today, total) in counts.items()}

    def survey_url(self, code: str) -> str:
        from survey.services.qrcodes import survey_url
        from survey.services.service_points import point_by_code

        with self.app.app_context(), self.app.test_request_context():
            try:
                return survey_url(point_by_code(code))
            finally:
                db.session.remove()


@pytest.fixture(scope="module")
def offices(live_server) -> Offices:
    """Two provinces with desks and responses, and a user of each role."""
    from survey.models import Unit
    from survey.services.demo import DemoDesk, generate_responses
    from survey.services.service_points import create_service_point, point_by_code, rotate_secret
    from survey.services.units import create_unit, unit_by_code
    from survey.services.users import create_user
    from survey.services.waves import open_wave_of_kind

    app = live_server.app
    rng = np.random.default_rng(48)
    with app.app_context():
        try:
            units: dict[str, Unit] = {}
            for code, name, level, parent in UNITS:
                parent_unit = unit_by_code(parent) if parent else None
                units[code] = create_unit(code, name, level, parent_unit)
            wave = open_wave_of_kind("desk")
            procedures = point_by_code(live_server.desk_code).procedures
            points = {}
            for code, name, unit_code, level, responses in DESKS:
                unit = units.get(unit_code) or unit_by_code(unit_code)
                points[code] = create_service_point(code, name, unit, level, procedures)
                if responses:
                    desk = DemoDesk(points[code], unit_code[:2], 3)
                    generate_responses(wave, [desk], responses, rng)
            province = unit_by_code(OWN_PROVINCE)
            create_user("giamsat.hanoi@sipas.test", "supervisor", [province], password=PASSWORD)
            create_user("phantich.hanoi@sipas.test", "analyst", [province], password=PASSWORD)
            create_user("quantri@sipas.test", "admin", [], password=PASSWORD)
            create_user("roi.di@sipas.test", "analyst", [province], password=PASSWORD)
            foreigner = create_user(
                "giamsat.danang@sipas.test", "supervisor", [units["48"]], password=PASSWORD
            )
            # An audited change in the foreign province, made by its own supervisor.
            rotate_secret(points["DN-HAICHAU-01"], by=foreigner)
            db.session.commit()
            foreign_objects = {
                "Unit": {units[code].id for code in FOREIGN_UNITS},
                "ServicePoint": {p.id for c, p in points.items() if c.startswith("DN-")},
                "User": {foreigner.id},
            }
            own_units = {OWN_PROVINCE, "00004", "00070"}
            wave_code = wave.code
        finally:
            db.session.remove()
    return Offices(
        base_url=live_server.base_url,
        app=app,
        wave_code=wave_code,
        supervisor=Account("giamsat.hanoi@sipas.test"),
        analyst=Account("phantich.hanoi@sipas.test"),
        national_admin=Account("quantri@sipas.test"),
        leaver=Account("roi.di@sipas.test"),
        foreign_supervisor=Account("giamsat.danang@sipas.test"),
        own_desks={live_server.desk_code} | {d[0] for d in DESKS if not d[0].startswith("DN-")},
        foreign_desks={d[0] for d in DESKS if d[0].startswith("DN-")},
        own_units=own_units,
        foreign_objects=foreign_objects,
        desk_names={d[0]: d[1] for d in DESKS},
        made={d[0]: d[4] for d in DESKS},
    )


@pytest.fixture
def new_desktop(browser) -> Iterator:
    """Open a page in a fresh desktop-sized browser context; closed after the test."""
    contexts = []

    def new():
        context = browser.new_context(viewport=DESKTOP, locale="en-GB")
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


# --- helpers -------------------------------------------------------------------


def path_of(page) -> str:
    return urlsplit(page.url).path


def sign_in(page, offices: Offices, account: Account, password: str | None = None) -> None:
    """Fill the login page (in English) and send it; the page is wherever it leads."""
    page.goto(offices.url("/auth/login?lang=en"))
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(password or account.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Sign out").click()
    assert path_of(page) == "/auth/login"
    assert "You have signed out." in page.inner_text("main")


def follow_nav(page, label: str) -> None:
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name=label, exact=True).click()


def heading(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def table_rows(page, selector: str = "main table tbody tr") -> list[list[str]]:
    return page.eval_on_selector_all(
        selector, "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )


def nav_labels(page) -> list[str]:
    return [text.strip() for text in page.locator("header nav a").all_inner_texts()]


def foreign_traces(html: str, offices: Offices) -> list[str]:
    """What of the foreign province shows in ``html`` (raw, or escaped as JSON)."""
    found = []
    words = [*offices.foreign_desks, offices.foreign_supervisor.email, "Đà Nẵng", "Hải Châu"]
    words += [name for code, name in offices.desk_names.items() if code.startswith("DN-")]
    for word in words:
        for form in {word, json.dumps(word)[1:-1]}:
            if form.lower() in html.lower():
                found.append(word)
    for kind, ids in offices.foreign_objects.items():
        listed = "|".join(str(i) for i in sorted(ids))
        if re.search(rf"\b{kind}[ /]({listed})(?!\d)", html):
            found.append(f"{kind} {sorted(ids)}")
    return found


def assert_nothing_foreign(page, offices: Offices) -> None:
    traces = foreign_traces(page.content(), offices)
    assert not traces, f"{path_of(page)} shows the other province: {traces}"


def assert_links_work(page, offices: Offices, followed: set[str]) -> None:
    """Every link on the page (nav included) opens with 200: no 403, nothing foreign."""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    for href in hrefs:
        if href.startswith(("?", "#")):  # the language switch, a skip link
            continue
        url = urljoin(page.url, href)
        assert url.startswith(offices.base_url), f"{path_of(page)} links off the site: {href}"
        if url in followed:
            continue
        followed.add(url)
        response = page.request.get(url)
        assert response.status == 200, f"{path_of(page)} links to {href}: {response.status}"
        if response.headers.get("content-type", "").startswith("text/"):  # pages, the CSV
            traces = foreign_traces(response.text(), offices)
            assert not traces, f"{href}, linked from {path_of(page)}, shows {traces}"


def assert_not_found(page, offices: Offices, path: str) -> None:
    """Typing ``path`` gives the 404 page, the same as for a thing that does not exist."""
    response = page.goto(offices.url(path))
    assert response.status == 404, f"{path}: {response.status}"
    assert heading(page) == NOT_FOUND
    assert_nothing_foreign(page, offices)


# --- the supervisor ------------------------------------------------------------


def test_supervisor_sees_their_province_only(offices, new_desktop, decode_qr):
    page = new_desktop()
    followed: set[str] = set()
    sign_in(page, offices, offices.supervisor)
    assert path_of(page) == "/admin/"
    assert heading(page) == "Responses arriving"
    dashboard = {row[0].split()[0] for row in table_rows(page)}
    counts = offices.counts()
    assert dashboard == offices.own_desks
    footer = table_rows(page, "main table tfoot tr")[0]
    assert int(footer[-2]) == sum(counts.get(code, (0, 0))[1] for code in offices.own_desks)
    assert_nothing_foreign(page, offices)
    labels = nav_labels(page)
    assert {"Dashboard", "Units", "Service points", "Waves", "Audit log"} <= set(labels)
    assert "Users" not in labels, "a supervisor is shown the administrators' Users page"
    assert_links_work(page, offices, followed)

    follow_nav(page, "Service points")
    assert path_of(page) == "/admin/service-points"
    assert {row[0] for row in table_rows(page)} == offices.own_desks
    assert_nothing_foreign(page, offices)
    assert_links_work(page, offices, followed)

    follow_nav(page, "Units")
    assert path_of(page) == "/admin/units"
    assert {row[0] for row in table_rows(page)} == offices.own_units
    assert_nothing_foreign(page, offices)
    assert_links_work(page, offices, followed)

    follow_nav(page, "Waves")
    assert path_of(page) == "/admin/waves"
    wave_row = next(row for row in table_rows(page) if row[0] == offices.wave_code)
    own_total = sum(counts.get(code, (0, 0))[1] for code in offices.own_desks)
    assert int(wave_row[5]) == own_total, "the wave's count is not that of the province's desks"
    # Opening and closing waves is national: no button that would be refused.
    assert page.locator("main table").get_by_role("button").count() == 0
    assert_nothing_foreign(page, offices)
    assert_links_work(page, offices, followed)

    follow_nav(page, "Audit log")
    assert path_of(page) == "/admin/audit"
    entries = table_rows(page)
    assert any(row[1] == offices.supervisor.email and row[2] == "sign_in" for row in entries), (
        "the supervisor's own sign-in is not in their audit log"
    )
    assert {row[4] for row in entries if row[4]} <= offices.own_units
    assert_nothing_foreign(page, offices)
    assert_links_work(page, offices, followed)

    # One of their desks and its poster.
    follow_nav(page, "Service points")
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name="HN-HOANKIEM-01", exact=True).click()
    assert path_of(page) == "/admin/service-points/HN-HOANKIEM-01"
    assert offices.desk_names["HN-HOANKIEM-01"] in heading(page)
    assert_nothing_foreign(page, offices)
    assert_links_work(page, offices, followed)
    with page.expect_navigation():
        page.get_by_role("link", name="Printable A4 poster").click()
    assert path_of(page) == "/admin/service-points/HN-HOANKIEM-01/poster"
    poster_text = page.inner_text("body")
    assert offices.desk_names["HN-HOANKIEM-01"] in poster_text
    assert "Phường Hoàn Kiếm" in poster_text
    code = page.locator('img[src*="/qr.svg"]')
    code.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=code.element_handle())
    assert decode_qr(code.screenshot()) == offices.survey_url("HN-HOANKIEM-01")
    assert_nothing_foreign(page, offices)
    assert_links_work(page, offices, followed)

    # The other province's desk, unit and history, typed in: not found, like nothing.
    assert_not_found(page, offices, "/admin/service-points/NO-SUCH-DESK")
    missing = page.inner_text("main")
    for code in sorted(offices.foreign_desks):
        assert_not_found(page, offices, f"/admin/service-points/{code}")
        assert page.inner_text("main") == missing
        for tail in ("poster", "qr.png", "qr.svg"):
            assert_not_found(page, offices, f"/admin/service-points/{code}/{tail}")
    for unit_code in sorted(FOREIGN_UNITS):
        assert_not_found(page, offices, f"/admin/units/{unit_code}")
        assert_not_found(page, offices, f"/workbench/waves/{offices.wave_code}/units/{unit_code}")
    for desk_id in sorted(offices.foreign_objects["ServicePoint"]):
        assert_not_found(page, offices, f"/admin/audit/ServicePoint/{desk_id}")


# --- the analyst ---------------------------------------------------------------


def test_analyst_sees_the_counts_of_their_desks(offices, new_desktop):
    page = new_desktop()
    followed: set[str] = set()
    sign_in(page, offices, offices.analyst)
    assert path_of(page) == "/workbench/"
    assert heading(page) == "Waves progress"
    counts = offices.counts()
    own_total = sum(counts.get(code, (0, 0))[1] for code in offices.own_desks)
    wave_row = next(row for row in table_rows(page) if row[0] == offices.wave_code)
    assert int(wave_row[4]) == own_total, "the wave's count is not that of the province's desks"
    assert_nothing_foreign(page, offices)
    assert "Users" not in nav_labels(page)
    assert_links_work(page, offices, followed)

    with page.expect_navigation():
        page.locator("main").get_by_role("link", name=offices.wave_code, exact=True).click()
    assert path_of(page) == f"/workbench/waves/{offices.wave_code}"
    shown = {row[0].split()[0]: (int(row[2]), int(row[3])) for row in table_rows(page)}
    expected = {code: counts.get(code, (0, 0)) for code in offices.own_desks}
    assert shown == expected
    for code, made in offices.made.items():
        if code in offices.own_desks:
            assert shown[code][1] == made, f"{code}: {shown[code][1]} responses, {made} made"
    footer = table_rows(page, "main table tfoot tr")[0]
    assert int(footer[-2]) == sum(total for _today, total in expected.values())
    assert_nothing_foreign(page, offices)
    assert_links_work(page, offices, followed)

    # One commune of theirs: its desks only.
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name="Phường Hoàn Kiếm").first.click()
    assert path_of(page) == f"/workbench/waves/{offices.wave_code}/units/00070"
    in_commune = {row[0].split()[0] for row in table_rows(page)}
    assert in_commune == {"HN-HOANKIEM-01", "HN-QUAY-TRONG"}
    assert_nothing_foreign(page, offices)

    for unit_code in sorted(FOREIGN_UNITS):
        assert_not_found(page, offices, f"/workbench/waves/{offices.wave_code}/units/{unit_code}")


# --- a national administrator makes a user, then resets their password -----------


def choose_password(page, password: str) -> None:
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("New password again", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Save the password").click()


def assert_refused_beside_field(page, words: str) -> None:
    """The link page again, the message under the new-password field, tied to it."""
    assert "/auth/password-link/" in path_of(page)
    field = page.locator(".field", has=page.locator("#new_password"))
    error = field.locator("p.error")
    assert error.count() == 1, "no message beside the new-password field"
    assert words in error.inner_text()
    box = page.locator("#new_password")
    assert box.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in (box.get_attribute("aria-describedby") or "").split()


def read_link(page) -> str:
    link = page.locator("#password-link").input_value()
    assert re.fullmatch(re.escape(page.url.split("/admin")[0]) + r"/auth/password-link/\S+", link)
    assert page.locator('input[type="password"]').count() == 0
    return link


def test_admin_creates_a_user_and_resets_their_password(offices, new_desktop):
    email = "dieutra.moi@sipas.test"
    admin = new_desktop()
    sign_in(admin, offices, offices.national_admin)
    assert path_of(admin) == "/admin/"
    # The control of the other tests: a national administrator does see the other province.
    follow_nav(admin, "Audit log")
    traces = set(foreign_traces(admin.content(), offices))
    assert {*offices.foreign_desks, offices.foreign_supervisor.email, "Đà Nẵng"} <= traces
    assert {t.split()[0] for t in traces} >= {"Unit", "ServicePoint", "User"}
    follow_nav(admin, "Users")
    with admin.expect_navigation():
        admin.get_by_role("link", name="New user").click()
    assert path_of(admin) == "/admin/users/new"
    admin.get_by_label("Email", exact=True).fill(email)
    admin.get_by_label("Role", exact=True).select_option(label="Surveyor")
    admin.get_by_label("Units", exact=True).select_option(label="00070 Phường Hoàn Kiếm")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Create").click()
    assert heading(admin) == f"Account {email} created"
    first_link = read_link(admin)
    sign_out(admin)

    # The new user, in a browser of their own, chooses a password.
    user = new_desktop()
    user.goto(first_link)
    with user.expect_navigation():
        user.get_by_role("link", name="English").click()
    assert heading(user) == "Choose your password"
    assert email in user.inner_text("main")
    choose_password(user, "ngan-qua")
    assert_refused_beside_field(user, "at least 10 characters")
    choose_password(user, "password123")
    assert_refused_beside_field(user, "most common")
    first_password = "Sông Hồng chảy mãi 1"
    choose_password(user, first_password)
    assert path_of(user) == "/entry/"
    assert heading(user) == "Paper entry"
    assert "00070 Phường Hoàn Kiếm" in user.inner_text("main")
    assert "Your password is set" in user.inner_text("main")

    # The administrator resets it.
    sign_in(admin, offices, offices.national_admin)
    follow_nav(admin, "Users")
    with admin.expect_navigation():
        admin.get_by_role("link", name=email, exact=True).click()
    with admin.expect_navigation():
        admin.get_by_role("button", name="Reset the password").click()
    assert heading(admin) == f"Password of {email} reset"
    second_link = read_link(admin)
    assert second_link != first_link

    # The user's open session has ended, and the old password is void.
    user.reload()
    assert path_of(user) == "/auth/login", "the reset left the user's session signed in"
    sign_in(user, offices, Account(email), first_password)
    assert path_of(user) == "/auth/login"
    assert "Wrong email or password." in user.inner_text("main")

    # The new link works once.
    user.goto(second_link)
    assert heading(user) == "Choose your password"
    choose_password(user, "Sông Hồng chảy mãi 2")
    assert path_of(user) == "/entry/"
    for used in (second_link, first_link):
        response = user.goto(used)
        assert response.status == 404
        assert heading(user) == LINK_GONE
        assert user.locator("#new_password").count() == 0


# --- sessions ---------------------------------------------------------------------


def test_signing_out_ends_a_copied_session(offices, new_desktop):
    first = new_desktop()
    sign_in(first, offices, offices.leaver)
    assert path_of(first) == "/workbench/"

    second = new_desktop()
    second.context.add_cookies(first.context.cookies())
    second.goto(offices.url("/workbench/"))
    assert path_of(second) == "/workbench/", "the copied cookie does not carry the session"
    assert offices.leaver.email in second.inner_text("header")

    sign_out(first)
    second.reload()
    assert path_of(second) == "/auth/login", "signing out elsewhere left this copy signed in"
    first.goto(offices.url("/workbench/"))
    assert path_of(first) == "/auth/login"
