"""Typing paper forms in a real browser, with the keyboard only.

Two surveyors of province 01 type the same desk form on the entry screen: the
serial (a mistyped one first, refused at its field), then every answer with
``page.keyboard`` alone, never a click: one key per scale answer (the focus moves
on by itself), the procedure found by part of its name in the list, the comment
typed and sent with Enter. An out-of-range key is refused beside its field and the
focus stays. The second surveyor sees none of the first one's values, and one
answer typed differently puts the form in dispute, as the service says. A pass
left half-way (the tab closed) is found again from its draft.

The server is the real app (CSRF on) on a SQLite file of its own, with the demo
data; forms and the batch are made through ``services.paper``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from survey.extensions import db
from tests.browser.conftest import serving

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "Đồng lúa chín vàng 2026"
TYPISTS = ("an.typist@sipas.test", "binh.typist@sipas.test")
COMMENT = "Cán bộ nhiệt tình"


@dataclass
class Desk:
    """What the typists need to know of the paper (as printed) and of the app."""

    app: Flask
    base_url: str
    batch: str
    serials: list[str]
    #: The questionnaire's items in the paper's order: (code, kind, option values, N/A).
    items: list[tuple[str, str, tuple[str, ...], str | None]]
    #: The desk's procedures: code to name.
    procedures: dict[str, str]
    #: A household form of commune 00004: its batch, serial and items, as above.
    household: tuple[str, str, list] = ("", "", [])

    def url(self, path: str) -> str:
        return self.base_url + path

    def form(self, serial: str) -> tuple[str, list[str]]:
        """The form's status and the items its two passes disagree on, from the service."""
        from survey.models import PaperForm
        from survey.services import paper

        with self.app.app_context():
            try:
                form = db.session.scalar(select(PaperForm).where(PaperForm.serial == serial))
                differing = paper.differing_items(form) if len(form.passes) == 2 else []
                return form.status, differing
            finally:
                db.session.remove()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    from survey.models import ServicePoint, Unit
    from survey.services import paper
    from survey.services.demo import WAVE_CODE, load_demo
    from survey.services.users import create_user
    from survey.services.waves import wave_by_code

    folder = tmp_path_factory.mktemp("paper")
    with serving(folder / "paper.sqlite3", "paper-browser-secret") as app:
        with app.app_context():
            load_demo(responses=20, seed=11)
            wave = wave_by_code(WAVE_CODE)
            province = db.session.scalar(select(Unit).where(Unit.code == "01"))
            point = db.session.scalars(
                select(ServicePoint).where(ServicePoint.unit_id == province.id)
            ).first()
            forms = paper.issue_forms(wave, 3, service_point=point, by=None)
            batch = paper.create_batch(wave, 3, service_point=point, by=None)
            for email in TYPISTS:
                create_user(email, "surveyor", [province], password=PASSWORD)
            procedures = {p.code: p.name for p in point.procedures}
            serials = [f.serial for f in forms]
            made = Desk(app, app.config["PUBLIC_URL"], batch.code, serials, items_of(wave),
                        procedures)  # fmt: skip
            made.household = household_form(db.session.get(Unit, point.unit_id))
            db.session.commit()
            db.session.remove()
        yield made


def items_of(wave) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    from survey.services import paper
    from survey.services.questionnaires import questionnaire_of

    return [
        (
            item.code,
            item.scale.kind,
            tuple(str(v) for v in item.scale.values),
            None if item.scale.not_applicable is None else str(item.scale.not_applicable),
        )
        for item in paper.entry_items(questionnaire_of(wave.questionnaire))
    ]


def household_form(commune) -> tuple[str, str, list]:
    """A form of a household wave (the latest household questionnaire) for a commune."""
    from survey.models import QuestionnaireVersion
    from survey.services import paper
    from survey.services.waves import create_wave, open_wave

    version = db.session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.kind == "household")
        .order_by(QuestionnaireVersion.version.desc())
    ).first()
    wave = create_wave("HH-PAPER", "Khảo sát hộ gia đình bằng phiếu giấy", version)
    open_wave(wave)
    (form,) = paper.issue_forms(wave, 1, unit=commune, by=None)
    batch = paper.create_batch(wave, 1, unit=commune, by=None)
    return batch.code, form.serial, items_of(wave)


@pytest.fixture
def new_page(browser) -> Iterator:
    contexts = []

    def new():
        context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


# --- the keyboard --------------------------------------------------------------------------


def focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def sign_in(page, desk: Desk, email: str) -> None:
    page.goto(desk.url("/auth/login?lang=en"))
    page.get_by_label("Email", exact=True).focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == "/entry/"


def open_form(page, desk: Desk, serial: str, batch: str | None = None) -> None:
    """Type the serial into the batch's serial field (it has the focus) and Enter."""
    batch = batch or desk.batch
    page.goto(desk.url(f"/entry/batches/{batch}/type"))
    assert focused(page) == "serial"
    page.keyboard.type(serial)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == f"/entry/batches/{batch}/forms/{serial}"


def fold(text: str) -> str:
    """Without accents, as a typist types Vietnamese on a plain keyboard."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def pick_procedure(page, desk: Desk, code: str) -> None:
    """A word of the procedure's name, typed without accents; the arrow keys to it in
    the list of matches; Enter."""
    word = max(fold(desk.procedures[code]).split(), key=len)
    page.keyboard.type(word)
    listbox = page.locator('[role="listbox"]:visible')
    assert listbox.count() == 1
    for _ in range(listbox.locator('[role="option"]').count()):
        active = page.locator('[role="option"][aria-selected="true"]')
        if active.get_attribute("data-code") == code:
            break
        page.keyboard.press("ArrowDown")
    assert page.locator('[role="option"][aria-selected="true"]').get_attribute("data-code") == code
    page.keyboard.press("Enter")


def answers_for(desk: Desk, turn: int) -> dict[str, str]:
    """What the paper says: varied from item to item, the same for both typists."""
    answers = {}
    for number, (code, kind, values, not_applicable) in enumerate(desk.items):
        if kind == "procedure":
            answers[code] = sorted(desk.procedures)[turn % len(desk.procedures)]
        elif kind == "text":
            answers[code] = COMMENT
        elif kind == "multi":
            answers[code] = values[0]
        else:
            options = [v for v in values if v != not_applicable]
            answers[code] = options[(number + turn) % len(options)]
    return answers


def type_answers(page, desk: Desk, answers: dict[str, str]) -> None:
    """Every answer in the paper's order, each where the focus already is; the last one's
    Enter sends the pass."""
    for position, (code, kind, values, _na) in enumerate(desk.items):
        assert focused(page) == f"f-{code}", f"{code}: the focus is on {focused(page)}"
        value = answers[code]
        last = position == len(desk.items) - 1
        if kind == "procedure":
            pick_procedure(page, desk, value)
        elif kind in ("text", "multi") or any(v.startswith(value) and v != value for v in values):
            page.keyboard.type(value)
            if last:
                with page.expect_navigation():
                    page.keyboard.press("Enter")
            else:
                page.keyboard.press("Enter")
        else:
            page.keyboard.press(value)  # one key: the focus moves on by itself


def flash(page) -> str:
    return page.locator(".flash").inner_text()


# --- the tests ---------------------------------------------------------------------------------


def test_two_surveyors_type_a_form_with_the_keyboard_only(desk, new_page):
    serial = desk.serials[0]
    first = new_page()
    sign_in(first, desk, TYPISTS[0])
    first.goto(desk.url(f"/entry/batches/{desk.batch}/type"))
    mistyped = serial[:-1] + str((int(serial[-1]) + 1) % 10)
    first.keyboard.type(mistyped)
    with first.expect_navigation():
        first.keyboard.press("Enter")
    assert "check digit" in first.locator("#serial-error").inner_text()
    assert first.locator("#serial").get_attribute("aria-invalid") == "true"
    assert focused(first) == "serial"
    first.keyboard.type(serial)  # the mistyped serial is selected: typing replaces it
    with first.expect_navigation():
        first.keyboard.press("Enter")

    answers = answers_for(desk, 0)
    scale_code = next(code for code, kind, *_ in desk.items if kind == "likert5")
    type_answers(first, desk, answers)
    assert "typed once" in flash(first)

    second = new_page()
    sign_in(second, desk, TYPISTS[1])
    open_form(second, desk, serial)
    shown = second.locator("input[data-kind]").evaluate_all("els => els.map(e => e.value)")
    assert shown == [""] * len(desk.items)
    assert COMMENT not in second.content()
    other = "1" if answers[scale_code] != "1" else "2"
    type_answers(second, desk, answers | {scale_code: other})
    assert "in dispute" in flash(second)
    assert desk.form(serial) == ("disputed", [scale_code])


def test_an_out_of_range_key_is_refused_at_its_field(desk, new_page):
    page = new_page()
    sign_in(page, desk, TYPISTS[0])
    open_form(page, desk, desk.serials[1])
    answers = answers_for(desk, 1)
    before = [code for code, kind, *_ in desk.items if kind == "likert5"][0]
    for code, kind, _values, _na in desk.items:
        if code == before:
            break
        if kind == "procedure":
            pick_procedure(page, desk, answers[code])
        else:
            page.keyboard.press(answers[code])
    assert focused(page) == f"f-{before}"
    page.keyboard.press("7")
    error = page.locator(f"#f-{before}-error")
    assert error.is_visible() and "Type 1, 2, 3, 4, 5" in error.inner_text()
    assert focused(page) == f"f-{before}"
    assert page.locator(f"#f-{before}").input_value() == ""
    page.keyboard.press("4")
    assert page.locator(f"#f-{before}").input_value() == "4"
    assert not error.is_visible()
    assert focused(page) != f"f-{before}"
    page.keyboard.press("Backspace")  # an empty field: back to the one before
    assert focused(page) == f"f-{before}"


def test_a_pass_left_half_way_is_found_again(desk, new_page):
    page = new_page()
    sign_in(page, desk, TYPISTS[1])
    serial = desk.serials[2]
    open_form(page, desk, serial)
    answers = answers_for(desk, 2)
    typed = [code for code, *_ in desk.items[:6]]
    for code, kind, _values, _na in desk.items[:5]:
        if kind == "procedure":
            pick_procedure(page, desk, answers[code])
        else:
            page.keyboard.press(answers[code])

    def whole_draft(response) -> bool:
        sent = response.request.post_data_json if "/draft" in response.url else None
        return bool(sent) and all(sent.get(code) == answers[code] for code in typed)

    with page.expect_response(whole_draft) as saved:
        page.keyboard.press(answers[typed[-1]])  # leaving the field saves the draft
    assert saved.value.ok
    page.context.close()  # the tab is closed

    again = new_page()
    sign_in(again, desk, TYPISTS[1])
    open_form(again, desk, serial)
    for code in typed:
        assert again.locator(f"#f-{code}").input_value() == answers[code], code
    following = desk.items[len(typed)][0]
    assert focused(again) == f"f-{following}"  # it goes on where it stopped


def test_questions_the_skip_logic_leaves_out_are_skipped(desk, new_page):
    """A household form: a multi-select typed as digits then Enter; the question asked
    only for one of its options is hidden and skipped until that option is typed."""
    batch, serial, items = desk.household
    codes = [code for code, *_ in items]
    page = new_page()
    sign_in(page, desk, TYPISTS[0])
    open_form(page, desk, serial, batch)
    rows = page.locator("li.entry-field")
    skipped = page.locator("input[data-show-item]").first
    code = skipped.get_attribute("name")
    controller = skipped.get_attribute("data-show-item")
    wanted = skipped.get_attribute("data-show-values").split()
    assert not skipped.is_visible()  # nothing typed yet: the question is left out
    for _name, kind, values, _na in items[: codes.index(controller)]:
        if kind == "text":
            page.keyboard.press("Enter")
        else:
            page.keyboard.press(values[0])
    assert focused(page) == f"f-{controller}"
    kind, values = items[codes.index(controller)][1:3]
    others = [v for v in values if v not in wanted][:2]
    page.keyboard.type("".join(others) if kind == "multi" else others[0])
    if kind == "multi":
        page.keyboard.press("Enter")
    following = codes[codes.index(code) + 1]
    assert focused(page) == f"f-{following}"  # the question left out is skipped
    assert not skipped.is_visible()
    page.keyboard.press("Backspace")  # back to the controller, its answer selected
    assert focused(page) == f"f-{controller}"
    page.keyboard.type(wanted[0])
    if kind == "multi":
        page.keyboard.press("Enter")
    assert focused(page) == f"f-{code}"  # asked now
    assert rows.nth(codes.index(code)).is_visible()
