"""The citizen's path in a real browser: scan the desk's QR code, answer, be thanked.

Each test starts from the PNG the app prints for the desk, decoded by zbar as
a phone camera would, and ends by looking in the database.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

COMMENT = "Cán bộ hướng dẫn tận tình, cảm ơn!"
MAX_TABS = 250
#: The thank-you page; a fragment (#field) may ride along through the redirect.
THANKS = re.compile(r"/thanks/[0-9a-f-]{36}(#.*)?$")


def required_answers(questionnaire, procedures: list[str]) -> dict[str, int | str]:
    """A value for every required question, varied so that a mix-up would show."""
    answers: dict[str, int | str] = {}
    for number, item in enumerate(questionnaire.items()):
        if not item.required:
            continue
        if item.show_if is not None and answers.get(item.show_if[0]) not in item.show_if[1]:
            continue
        if item.scale.kind == "procedure":
            answers[item.code] = procedures[1]
        elif item.scale.values:
            values = item.scale.values
            answers[item.code] = values[(number * 3 + 1) % len(values)]
    return answers


@pytest.fixture
def scanned_url(live_server, decode_qr) -> str:
    url = decode_qr(live_server.qr_png())
    assert re.fullmatch(re.escape(live_server.base_url) + r"/s/[A-Za-z0-9-]+/[\w-]+", url), url
    return url


@pytest.fixture
def answers(live_server) -> dict[str, int | str]:
    return required_answers(live_server.questionnaire(), live_server.procedure_codes)


def fill(page, answers: dict[str, int | str]) -> None:
    for code, value in answers.items():
        field = page.locator(f'[name="{code}"]').first
        if field.evaluate("el => el.tagName") == "SELECT":
            page.select_option(f'select[name="{code}"]', str(value))
        else:
            page.check(f'input[name="{code}"][value="{value}"]')


def issued_uuid(page) -> str:
    return page.locator('input[name="response_uuid"]').get_attribute("value")


def submit_and_see_thanks(page) -> None:
    page.click('button[type="submit"]')
    page.wait_for_url(THANKS)
    assert page.locator("#thanks").is_visible()


def assert_stored_once(live_server, response_uuid: str, before: int, expected: dict) -> None:
    assert live_server.count_responses() == before + 1
    stored = live_server.stored(response_uuid)
    assert stored is not None, "the acknowledged response is not in the database"
    desk, answers = stored
    assert desk == live_server.desk_code
    assert answers == expected


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_scan_answer_submit_is_stored_once(
    live_server, new_phone, scanned_url, answers, javascript
):
    page = new_phone(javascript=javascript)
    before = live_server.count_responses()
    page.goto(scanned_url)
    assert page.locator("#survey-form").is_visible()
    response_uuid = issued_uuid(page)
    fill(page, answers)
    page.fill('textarea[name="COMMENT"]', COMMENT)
    submit_and_see_thanks(page)
    assert urlsplit(page.url).path == f"/thanks/{response_uuid}"
    assert_stored_once(live_server, response_uuid, before, {**answers, "COMMENT": COMMENT})


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_back_and_send_again_stores_nothing_more(
    live_server, new_phone, scanned_url, answers, javascript
):
    """The thank-you page, Back, Send again: the same thank-you page, still one response."""
    page = new_phone(javascript=javascript)
    before = live_server.count_responses()
    page.goto(scanned_url)
    response_uuid = issued_uuid(page)
    fill(page, answers)
    submit_and_see_thanks(page)
    page.go_back()
    page.locator('button[type="submit"]').wait_for()
    page.click('button[type="submit"]')
    page.wait_for_url(THANKS)
    assert urlsplit(page.url).path == f"/thanks/{response_uuid}"
    assert live_server.count_responses() == before + 1


def test_keyboard_only(live_server, phone, scanned_url, answers):
    """Tab, Space, arrow keys and Enter only: no clicks, no typing into the DOM from scripts."""
    page = phone
    before = live_server.count_responses()
    page.goto(scanned_url)
    response_uuid = issued_uuid(page)
    pending = dict(answers)
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const el = document.activeElement;
                return {tag: el.tagName, type: el.type || "", name: el.name || "",
                        value: el.value || "", checked: !!el.checked}; }"""
        )
        name = focused["name"]
        if focused["tag"] == "BUTTON" and focused["type"] == "submit":
            assert not pending, f"reached the send button with {sorted(pending)} unanswered"
            page.keyboard.press("Enter")
            break
        if name not in pending:
            continue
        wanted = str(pending.pop(name))
        if focused["tag"] == "SELECT":
            choose_in_select(page, wanted)
        elif focused["type"] == "radio":
            choose_in_radio_group(page, name, wanted)
    else:
        pytest.fail(f"the send button was not reached in {MAX_TABS} presses of Tab")
    page.wait_for_url(THANKS)
    assert page.locator("#thanks").is_visible()
    assert_stored_once(live_server, response_uuid, before, answers)


def choose_in_select(page, wanted: str) -> None:
    for _ in range(30):
        if page.evaluate("() => document.activeElement.value") == wanted:
            return
        page.keyboard.press("ArrowDown")
    pytest.fail(f"could not reach option {wanted} with the arrow keys")


def choose_in_radio_group(page, name: str, wanted: str) -> None:
    values = page.eval_on_selector_all(f'input[name="{name}"]', "els => els.map(e => e.value)")
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    current = page.evaluate("() => document.activeElement.value")
    steps = values.index(wanted) - values.index(current)
    for _ in range(abs(steps)):
        page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
    checked = page.eval_on_selector(f'input[name="{name}"]:checked', "el => el.value")
    assert checked == wanted, f"{name}: wanted {wanted}, the keys chose {checked}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_missing_answer_shows_error_summary_and_stores_nothing(
    live_server, new_phone, scanned_url, answers, javascript, tmp_path
):
    from playwright.sync_api import expect

    page = new_phone(javascript=javascript)
    before = live_server.count_responses()
    page.goto(scanned_url)
    response_uuid = issued_uuid(page)
    required_radio = next(
        code for code, value in answers.items() if page.locator(f'input[name="{code}"]').count()
    )
    incomplete = {code: value for code, value in answers.items() if code != required_radio}
    fill(page, incomplete)
    page.click('button[type="submit"]')

    summary = page.locator(".error-summary")
    summary.wait_for()
    expect(summary).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / "error-summary.png"))
    links = summary.locator("a")
    assert links.count() == 1
    target = links.first.get_attribute("href")
    assert target.startswith("#") and page.locator(target).count() == 1
    assert page.locator(target).get_attribute("name") == required_radio
    links.first.click()
    assert page.url.endswith(target)
    assert page.locator(target).is_visible()
    # The answers already given are still there.
    for code, value in incomplete.items():
        if page.locator(f'select[name="{code}"]').count():
            assert page.input_value(f'select[name="{code}"]') == str(value)
        else:
            assert page.is_checked(f'input[name="{code}"][value="{value}"]'), code
    assert live_server.count_responses() == before
    assert live_server.stored(response_uuid) is None

    # Answer the missing question and send again: stored once, under the same UUID.
    page.check(f'input[name="{required_radio}"][value="{answers[required_radio]}"]')
    submit_and_see_thanks(page)
    assert_stored_once(live_server, response_uuid, before, answers)


def test_form_on_a_phone_screenshot(live_server, phone, scanned_url, tmp_path_factory):
    page = phone
    page.goto(scanned_url)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, (
        "the form scrolls sideways on a 360 px wide phone"
    )
    assert page.locator("html").get_attribute("lang") == "vi"
    text = page.inner_text("main")
    assert "<span" not in text and "&lt;" not in text, "markup shown as text on the form"
    assert page.inner_text('button[type="submit"]').strip() != "Send my answers", (
        "the Vietnamese form shows the English send button: translations not compiled?"
    )
    folder = tmp_path_factory.mktemp("screenshots")
    page.screenshot(path=str(folder / "form-top.png"))
    page.screenshot(path=str(folder / "form-full.png"), full_page=True)
    assert (folder / "form-full.png").stat().st_size > 10_000
    print(f"screenshots in {folder}")
