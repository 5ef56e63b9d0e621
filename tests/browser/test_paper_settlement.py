"""A supervisor settles a disagreement in a real browser, with the keyboard only.

A desk form is typed twice through ``services.paper`` (two surveyors of province
01) with one answer typed differently, so it is in dispute. The supervisor opens
it from the batch's page and settles it with the keyboard: the focus starts on
the field in dispute, an arrow key chooses the second pass's value, Enter sends.
The form is then counted once, as one response of channel ``paper`` with its
serial and its value the one chosen; the same page sent again from another tab
changes nothing.

The server is the conftest's live server (the real app, CSRF on).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from survey.extensions import db

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "Trăng rằm soi bến nước 2026"
SURVEYORS = ("an.settle@sipas.test", "binh.settle@sipas.test")
SUPERVISOR = "chi.settle@sipas.test"


@dataclass
class Dispute:
    base_url: str
    app: object
    batch: str
    serial: str
    item: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def counted(self) -> tuple[int, list]:
        """Responses of channel paper with the form's serial, and the disputed item's
        stored values."""
        from survey.models import Answer, Response

        with self.app.app_context():
            try:
                count = db.session.scalar(
                    select(func.count(Response.id)).where(
                        Response.channel == "paper", Response.form_serial == self.serial
                    )
                )
                values = db.session.scalars(
                    select(Answer.value_num)
                    .join(Response, Response.id == Answer.response_id)
                    .where(Response.form_serial == self.serial, Answer.item_code == self.item)
                ).all()
                return count, list(values)
            finally:
                db.session.remove()


@pytest.fixture(scope="module")
def dispute(live_server) -> Dispute:
    """One desk form of the live server's desk, typed twice: 4, then 2 for one item."""
    from survey.services import paper
    from survey.services.service_points import point_by_code
    from survey.services.units import unit_by_code
    from survey.services.users import create_user
    from survey.services.waves import open_wave_of_kind
    from tests.survey.paper_world import likert_item, typed_form

    app = live_server.app
    with app.app_context():
        try:
            province = unit_by_code("01")
            first, second = (
                create_user(email, "surveyor", [province], password=PASSWORD) for email in SURVEYORS
            )
            create_user(SUPERVISOR, "supervisor", [province], password=PASSWORD)
            wave = open_wave_of_kind("desk")
            desk = point_by_code(live_server.desk_code)
            (form,) = paper.issue_forms(wave, 1, service_point=desk, by=None)
            batch = paper.create_batch(wave, 1, service_point=desk, by=None)
            item = likert_item(wave)
            for typist, value in ((first, "4"), (second, "2")):
                typed = typed_form(wave, desk, **{item: value})
                paper.save_pass(batch, form, typist, typed, complete=True)
            assert form.status == "disputed"
            db.session.commit()
            made = Dispute(live_server.base_url, app, batch.code, form.serial, item)
        finally:
            db.session.remove()
    return made


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_supervisor_settles_a_dispute_with_the_keyboard_and_it_counts_once(desktop, dispute):
    page = desktop
    assert dispute.counted() == (0, [])
    page.goto(dispute.url("/auth/login?lang=en"))
    page.get_by_label("Email", exact=True).fill(SUPERVISOR)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(dispute.url(f"/entry/batches/{dispute.batch}"))
    page.get_by_role("link", name=f"Settle form {dispute.serial}").first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    stale = page.context.new_page()
    stale.goto(page.url)

    # Both typists named; the one field in dispute marked with a sign and a word.
    main = page.locator("main").inner_text()
    assert SURVEYORS[0] in main and SURVEYORS[1] in main
    marked = page.locator("table.passes tr.differs")
    assert marked.count() == 1
    assert dispute.item in marked.inner_text() and "≠ Differs" in marked.inner_text()

    # The focus starts on the field in dispute; one arrow key picks the second pass.
    focused = page.evaluate("document.activeElement.id")
    assert focused == f"choice-{dispute.item}-first"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == f"choice-{dispute.item}-second"
    assert page.locator(f"#choice-{dispute.item}-second").is_checked()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url.endswith(f"/entry/batches/{dispute.batch}")
    assert f"Form {dispute.serial} is settled" in page.locator("main").inner_text()
    assert dispute.counted() == (1, [2])

    # The same page, opened before in another tab and sent now: refused, counted once.
    stale.bring_to_front()
    stale.locator(f"#choice-{dispute.item}-first").focus()
    stale.keyboard.press("ArrowDown")
    with stale.expect_navigation():
        stale.keyboard.press("Enter")
    assert "is not in dispute" in stale.locator("main").inner_text()
    assert dispute.counted() == (1, [2])
