"""Printed paper forms: ``flask paper print`` and the print page.

Two provinces, each with a commune and a desk; Hà Nội's commune has a village
cluster. An open desk wave (and last year's, closed) asks the desk
questionnaire and an open household wave (made as
tests/survey/test_household_design.py makes one) asks the newest household
questionnaire, whose items say where they come from.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEntry, PaperForm, QuestionnaireVersion, Unit, Wave
from survey.services import paper, paper_print
from survey.services.questionnaires import questionnaire_of, sync_questionnaires
from survey.services.service_points import create_service_point
from survey.services.units import create_unit

#: ``paper print`` options naming the desk wave and Hà Nội's desk.
DESK = ("--wave", "W-DESK", "--desk", "D-1")
ARTICLE = re.compile(r'<article class="paper-form".*?</article>', re.DOTALL)


@pytest.fixture
def world(app, make_user):
    hanoi = create_unit("01", "Thành phố Hà Nội", "province")
    ba_dinh = create_unit("00004", "Phường Ba Đình", "commune", hanoi)
    saigon = create_unit("79", "Thành phố Hồ Chí Minh", "province")
    sai_gon = create_unit("26734", "Phường Sài Gòn", "commune", saigon)
    db.session.add(Unit(code="00004-T1", name="Tổ dân phố 1", level="village", parent=ba_dinh))
    create_service_point("D-1", "Một cửa Ba Đình", ba_dinh, "commune")
    create_service_point("D-2", "Một cửa Sài Gòn", sai_gon, "commune")
    sync_questionnaires()
    for code, name, kind, status in (
        ("W-OLD", "Khảo sát năm trước", "desk", "closed"),
        ("W-DESK", "Khảo sát tại quầy", "desk", "open"),
        ("W-HH", "Khảo sát hộ gia đình", "household", "open"),
    ):
        version = db.session.scalar(
            select(QuestionnaireVersion)
            .where(QuestionnaireVersion.kind == kind)
            .order_by(QuestionnaireVersion.version.desc())
        )
        db.session.add(Wave(code=code, name=name, questionnaire=version, status=status))
    db.session.commit()
    return {"hanoi": hanoi, "saigon": saigon}


def wave(code: str) -> Wave:
    return db.session.scalar(select(Wave).where(Wave.code == code))


def issued() -> list[PaperForm]:
    return list(db.session.scalars(select(PaperForm).order_by(PaperForm.id)))


def run_print(runner, *args: str):
    return runner.invoke(args=["paper", "print", *args])


def item_codes(document: str) -> list[str]:
    return re.findall(r'data-item="([^"]+)"', document)


def pdf_pages(content: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(content)).pages


def needs_weasyprint():
    """Skip a PDF test where WeasyPrint cannot load Pango (fail instead on CI)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:
        if os.environ.get("SIPAS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WeasyPrint cannot load: {error}")
        pytest.skip(f"WeasyPrint cannot load here: {error}")


# --- the command line -----------------------------------------------------------------


def test_print_issues_the_forms_it_prints_in_the_entry_order(runner, world, tmp_path):
    out = tmp_path / "forms.html"
    result = run_print(
        runner, "--wave", "W-DESK", "--desk", "D-1", "--count", "3", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    serials = result.stdout.split()
    forms = issued()
    assert sorted(serials) == sorted(form.serial for form in forms)
    assert len(set(serials)) == 3
    assert all(paper.serial_problem(serial) is None for serial in serials)
    assert {(f.wave.code, f.service_point.code, f.status) for f in forms} == {
        ("W-DESK", "D-1", "issued")
    }
    document = out.read_text(encoding="utf-8")
    copies = ARTICLE.findall(document)
    assert len(copies) == 3
    expected = [
        item.code for item in paper.entry_items(questionnaire_of(wave("W-DESK").questionnaire))
    ]
    for serial, copy in zip(serials, copies, strict=True):
        assert f'data-serial="{serial}"' in copy
        assert paper.grouped_serial(serial) in copy
        assert f'aria-label="{serial}"' in copy  # its barcode
        assert item_codes(copy) == expected
        assert "W-DESK" in copy and "D-1 – Một cửa Ba Đình" in copy
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "paper forms issued"))
    assert entry.detail["after"]["count"] == 3 and entry.user_id is None


def test_the_form_shows_options_with_their_numbers_and_not_applicable_where_offered(
    runner, world, tmp_path
):
    out = tmp_path / "forms.html"
    args = ["--wave", "W-DESK", "--desk", "D-1", "--count", "1", "--out", str(out)]
    assert run_print(runner, *args, "--lang", "en").exit_code == 0
    document = html.unescape(out.read_text(encoding="utf-8"))
    questionnaire = questionnaire_of(wave("W-DESK").questionnaire)
    assert questionnaire.title.en in document and questionnaire.intro.en in document
    for item in questionnaire.items():
        row = re.search(rf'data-item="{item.code}">(.*?)</(tr|div)>\s*<', document, re.DOTALL)
        assert row, item.code
        numbers = re.findall(r'class="box"></span><span class="number">(\w+)<', row.group(1))
        assert numbers == [str(v) for v in item.scale.values], item.code
        assert item.text.en in row.group(1)
    labels = [option.label.en for item in questionnaire.items() for option in item.scale.options]
    assert "Not applicable" in labels and all(label in document for label in labels)


def test_a_household_form_names_its_cluster_and_marks_reconstructed_items(runner, world, tmp_path):
    out = tmp_path / "forms.html"
    args = ["--wave", "W-HH", "--unit", "00004-T1", "--count", "2", "--out", str(out)]
    result = run_print(runner, *args, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert {form.unit.code for form in issued()} == {"00004-T1"}
    copy = html.unescape(ARTICLE.findall(out.read_text(encoding="utf-8"))[0])
    head = copy[: copy.index('class="intro"')]
    for place in ("00004-T1 – Tổ dân phố 1", "Phường Ba Đình", "Thành phố Hà Nội"):
        assert place in head
    questionnaire = questionnaire_of(wave("W-HH").questionnaire)
    assert item_codes(copy) == [item.code for item in paper.entry_items(questionnaire)]
    for item in questionnaire.items():
        row = re.search(rf'data-item="{item.code}">(.*?)</(tr|div)>\s*<', copy, re.DOTALL).group(1)
        origin = getattr(item, "origin", None)
        marked = '<sup class="mark">' in row
        assert marked == (origin in ("reconstructed", "local")), item.code
        if item.scale.kind == "multi":
            assert "Choose all that apply." in row
        if item.show_if:
            assert f"Answer only if {item.show_if[0]} " in row
        if item.scale.kind == "text":
            assert 'class="line"' in row
    assert "Reconstructed: the question follows" in copy
    assert "Added locally: the question is not on the ministry's form." in copy


def test_a_pdf_has_one_a4_page_per_desk_form(runner, world, tmp_path):
    needs_weasyprint()
    out = tmp_path / "forms.pdf"
    result = run_print(
        runner, "--wave", "W-DESK", "--desk", "D-1", "--count", "3", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    content = out.read_bytes()
    assert content.startswith(b"%PDF")
    pages = pdf_pages(content)
    assert len(pages) == 3
    for serial, page in zip(result.stdout.split(), pages, strict=True):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width * 25.4 / 72), round(height * 25.4 / 72)) == (210, 297)
        text = page.extract_text()
        assert paper.grouped_serial(serial) in text and "Phường Ba Đình" in text


def test_each_household_form_starts_on_a_new_page(runner, world, tmp_path):
    needs_weasyprint()
    out = tmp_path / "forms.pdf"
    args = ["--wave", "W-HH", "--unit", "00004", "--count", "2", "--out", str(out)]
    result = run_print(runner, *args)
    assert result.exit_code == 0, result.output
    first, second = result.stdout.split()
    pages = [page.extract_text() for page in pdf_pages(out.read_bytes())]
    assert len(pages) % 2 == 0 and len(pages) > 2  # a long form: equal pages per copy
    half = len(pages) // 2
    assert paper.grouped_serial(first) in pages[0] and paper.grouped_serial(second) in pages[half]
    assert not any(paper.grouped_serial(second) in page for page in pages[:half])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wave", "NOPE", "--desk", "D-1"], "No wave has the code NOPE."),
        (["--wave", "W-DESK", "--desk", "D-9"], "No desk has the code D-9."),
        (["--wave", "W-HH", "--unit", "99999"], "No unit has the code 99999."),
        (["--wave", "W-HH", "--desk", "D-1"], "household wave"),
        (["--wave", "W-DESK", "--unit", "00004"], "desk wave"),
        (["--wave", "W-DESK", "--desk", "D-1", "--unit", "00004"], "one of them"),
        (["--wave", "W-DESK"], "one of them"),
        (["--wave", "W-OLD", "--desk", "D-1"], "Wave W-OLD is closed."),
        (["--wave", "W-DESK", "--desk", "D-1", "--count", "0"], f"from 1 to {paper.MAX_PRINT}"),
        (
            ["--wave", "W-DESK", "--desk", "D-1", "--count", str(paper.MAX_PRINT + 1)],
            f"from 1 to {paper.MAX_PRINT}",
        ),
        (["--wave", "W-DESK", "--desk", "D-1", "--count", "two"], "whole number"),
        (["--wave", "W-DESK", "--desk", "D-1", "--out", "forms.txt"], ".pdf or .html"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_issues_nothing(runner, world, tmp_path, args, message):
    folder = tmp_path / "out"
    folder.mkdir()
    given = dict(zip(args[::2], args[1::2], strict=True))
    options = {"--count": "2", "--out": "forms.html"} | given
    options["--out"] = str(folder / options["--out"])
    flat = [part for pair in options.items() for part in pair]
    result = run_print(runner, *flat)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert issued() == []
    assert list(folder.iterdir()) == []


def test_without_weasyprint_a_pdf_is_refused_and_nothing_is_issued(
    runner, world, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it could not be imported
    out = tmp_path / "forms.pdf"
    result = run_print(
        runner, "--wave", "W-DESK", "--desk", "D-1", "--count", "2", "--out", str(out)
    )
    assert result.exit_code == 2
    assert "--out FILE.html" in result.stderr and "browser's print" in result.stderr
    assert issued() == [] and not out.exists()


# --- the page --------------------------------------------------------------------------


def print_page(client, **fields):
    data = {"wave": "W-DESK", "desk": "D-1", "unit": "", "count": "2", "lang": "vi"}
    return client.post("/entry/print", data=data | {"format": "html"} | fields)


def test_a_supervisor_prints_forms_of_a_desk_of_their_units(client, login, world):
    supervisor = login("supervisor", units=[world["hanoi"]])
    page = client.get("/entry/print").get_data(as_text=True)
    assert "D-1" in page and "D-2" not in page and "00004-T1" in page and "26734" not in page
    assert "W-HH" in page and "W-OLD" not in page
    response = print_page(client)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Disposition"].startswith(
        "attachment; filename=forms-W-DESK-D-1-"
    )
    document = response.get_data(as_text=True)
    forms = issued()
    assert len(forms) == 2
    assert all(form.printed_by_id == supervisor.id for form in forms)
    assert all(f'data-serial="{form.serial}"' in document for form in forms)
    assert '<html lang="vi">' in document


def test_the_page_prints_a_household_cluster_as_pdf(client, login, world):
    needs_weasyprint()
    login("supervisor", units=[world["hanoi"]])
    response = print_page(client, wave="W-HH", desk="", unit="00004-T1", count="1", format="pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    (form,) = issued()
    assert paper.grouped_serial(form.serial) in pdf_pages(response.data)[0].extract_text()


def test_the_page_refuses_a_desk_for_a_household_wave_and_too_large_a_pdf(client, login, world):
    login("supervisor", units=[world["hanoi"]])
    response = print_page(client, wave="W-HH", desk="D-1")
    assert response.status_code == 400
    assert "household wave" in html.unescape(response.get_data(as_text=True))
    response = print_page(client, count="21", format="pdf")
    assert response.status_code == 400
    assert "choose HTML" in response.get_data(as_text=True)
    assert issued() == []


@pytest.mark.parametrize("role", ["surveyor", "analyst"])
def test_surveyors_and_analysts_may_not_print(client, login, world, role):
    login(role, units=[world["hanoi"]])
    assert client.get("/entry/print").status_code == 403
    assert print_page(client).status_code == 403
    assert issued() == []


def test_a_supervisor_cannot_print_for_a_desk_outside_their_units(client, login, world):
    login("supervisor", units=[world["saigon"]])
    page = client.get("/entry/print").get_data(as_text=True)
    assert "D-2" in page and "D-1" not in page
    response = print_page(client, desk="D-1")
    assert response.status_code == 400
    assert "Choose the desk from the list." in response.get_data(as_text=True)
    response = print_page(client, wave="W-HH", desk="", unit="00004-T1")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(PaperForm.id))) == 0


# --- the barcode -----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="needs zbarimg (zbar-tools)")
def test_the_printed_barcodes_scan_back_to_their_serials(tmp_path):
    """The SVG's bars, drawn as pixels, read by a real decoder: serials, and every
    printable character (so every symbol of the table and many check symbols)."""
    texts = [paper.serial_of(n) for n in (0, 1, 42, 99999999, 31415926, 27182818)]
    printable = "".join(chr(c) for c in range(32, 127))
    texts += [printable[i : i + 19] for i in range(0, len(printable), 19)]
    paths = []
    for number, text in enumerate(texts):
        paths.append(tmp_path / f"{number:02d}.pgm")
        paths[-1].write_bytes(raster(paper_print.barcode_svg(text)))
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", *map(str, paths)], capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    assert decoded == texts


def raster(svg: str, scale: int = 3, height: int = 40) -> bytes:
    """The SVG's bars (``M x 0 h w ...``) as a grey-scale PGM image, ``scale`` pixels a module."""
    width = int(re.search(r'viewBox="0 0 (\d+) 1"', svg).group(1)) * scale
    row = bytearray([255]) * width
    for x, w in re.findall(r"M(\d+) 0h(\d+)v1", svg):
        start, end = int(x) * scale, (int(x) + int(w)) * scale
        row[start:end] = bytes(end - start)
    return b"P5 %d %d 255\n" % (width, height) + bytes(row) * height
