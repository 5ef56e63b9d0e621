"""Printed paper forms in a real browser: the barcode a scanner reads, the A4 page.

``flask paper print`` writes the conftest's desk forms to an HTML file; Chromium
opens the file as an office would before printing it, a screenshot of one
form goes to zbar, and Chromium's own print to PDF is measured.
"""

from __future__ import annotations

import io

import pytest

from survey.services.paper import grouped_serial

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
WAVE_CODE = "2026-Q4-DESK"  # the conftest's open desk wave
COUNT = 2


@pytest.fixture
def printed(live_server, tmp_path) -> tuple[str, list[str]]:
    """The written file's URL and the serials printed on standard output."""
    out = tmp_path / "forms.html"
    result = live_server.app.test_cli_runner().invoke(
        args=["paper", "print", "--wave", WAVE_CODE, "--desk", live_server.desk_code,
              "--count", str(COUNT), "--out", str(out)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out.as_uri(), result.stdout.split()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN", device_scale_factor=2)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_scanner_reads_the_printed_serial(printed, page, decode_qr):
    url, serials = printed
    page.goto(url)
    forms = page.locator("article.paper-form")
    assert forms.count() == COUNT
    second = forms.nth(1)
    assert second.get_attribute("data-serial") == serials[1]
    assert grouped_serial(serials[1]) in second.locator(".serial-digits").inner_text()
    assert decode_qr(second.screenshot()) == serials[1]  # zbar reads Code 128 as QR codes


def test_chromium_prints_one_a4_page_per_form(printed, page):
    from pypdf import PdfReader

    url, serials = printed
    page.goto(url)
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    assert len(pdf.pages) == COUNT
    for serial, sheet in zip(serials, pdf.pages, strict=True):
        width, height = float(sheet.mediabox.width), float(sheet.mediabox.height)
        assert (round(width * 25.4 / 72), round(height * 25.4 / 72)) == (210, 297)
        assert grouped_serial(serial) in sheet.extract_text()
