"""Importing a wave's sampling frame: every bad row named, nothing half-imported, scoped."""

from __future__ import annotations

import html
import io

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import FrameEntry, QuestionnaireVersion, ServicePoint, Wave
from survey.services.frames import target_sample_size
from survey.services.service_points import create_service_point
from survey.services.units import create_unit
from tests.conftest import sign_in

GOOD = """psu,stratum,stratum_psus,size
D-1,01,5,1200
d-2,01,5,800
D-9,79,3,2000
"""


@pytest.fixture
def wave(app):
    hanoi = create_unit("01", "Thành phố Hà Nội", "province")
    saigon = create_unit("79", "Thành phố Hồ Chí Minh", "province")
    for code, unit in (("D-1", hanoi), ("D-2", hanoi), ("D-9", saigon)):
        create_service_point(code, f"Quầy {code}", unit, "province")
    version = QuestionnaireVersion(
        code="sipas-desk",
        version=1,
        kind="desk",
        title_vi="Phiếu",
        title_en="Form",
        checksum="0" * 64,
        definition="code: x",
    )
    wave = Wave(code="W-1", name="Đợt 1", questionnaire=version, status="open")
    db.session.add(wave)
    db.session.commit()
    return wave


def entries() -> dict[str, tuple]:
    rows = db.session.execute(
        select(ServicePoint.code, FrameEntry.stratum, FrameEntry.stratum_desks,
               FrameEntry.transactions).join(ServicePoint)
    ).all()  # fmt: skip
    return {code: rest for code, *rest in rows}


def run_import(runner, tmp_path, text: str, name: str = "frame.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["wave", "import-frame", "W-1", str(path)])


def test_a_good_file_replaces_the_frame(wave, runner, tmp_path):
    result = run_import(runner, tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert "Imported 3 PSUs in 2 strata" in result.output
    assert entries() == {"D-1": ["01", 5, 1200], "D-2": ["01", 5, 800], "D-9": ["79", 3, 2000]}
    run_import(runner, tmp_path, "psu,stratum,stratum_psus,size\nD-1,01,4,10\n")
    assert entries() == {"D-1": ["01", 4, 10]}


def test_an_xlsx_file_is_read_like_csv(wave, runner, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["PSU", "Stratum", "Stratum_PSUs", "Size"])
    sheet.append(["D-1", "01", 5, 1200.0])
    sheet.append(["D-2", "01", 5, 800])
    book.save(tmp_path / "frame.xlsx")
    result = runner.invoke(args=["wave", "import-frame", "W-1", str(tmp_path / "frame.xlsx")])
    assert result.exit_code == 0, result.output
    assert entries() == {"D-1": ["01", 5, 1200], "D-2": ["01", 5, 800]}


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("psu,stratum,stratum_psus,size\nD-7,01,5,10\n", ["frame.csv:2: Unknown PSU D-7."]),
        (
            "psu,stratum,stratum_psus,size\nD-1,01,5,10\nD-1,02,5,10\n",
            ["frame.csv:3: This PSU is also in stratum 01 (line 2)."],
        ),
        (
            "psu,stratum,stratum_psus,size\nD-1,01,5,\nD-2,01,-5,3\nD-9,79,3,many\n",
            [
                "frame.csv:2: size is missing.",
                "frame.csv:3: stratum_psus is negative.",
                "frame.csv:4: size is not a whole number: many.",
            ],
        ),
        (
            "psu,stratum,stratum_psus,size\nD-1,01,5,10\nD-2,01,6,10\n",
            [
                "frame.csv:2: Stratum 01 has different stratum_psus: 5, 6.",
                "frame.csv:3: Stratum 01 has different stratum_psus: 5, 6.",
            ],
        ),
        (
            "psu,stratum,stratum_psus,size\nD-1,01,1,10\nD-2,01,1,10\n",
            ["frame.csv:2: Stratum 01 lists 2 PSUs but stratum_psus says 1."],
        ),
        ("psu,stratum,size\nD-1,01,10\n", ["frame.csv:1: Missing columns: stratum_psus."]),
        ("psu,stratum,stratum_psus,size\n", ["The file has no rows."]),
    ],
)
def test_every_bad_row_is_named_and_nothing_is_imported(wave, runner, tmp_path, text, problems):
    assert run_import(runner, tmp_path, GOOD).exit_code == 0
    before = entries()
    result = run_import(runner, tmp_path, text)
    assert result.exit_code == 2
    for problem in problems:
        assert problem in result.output
    assert f"Nothing imported: {len(problems)} problems." in result.output
    assert entries() == before


def test_an_unknown_wave_or_a_foreign_file_type_exits_2(wave, runner, tmp_path):
    path = tmp_path / "frame.pdf"
    path.write_bytes(b"%PDF")
    result = runner.invoke(args=["wave", "import-frame", "W-1", str(path)])
    assert result.exit_code == 2 and "must be CSV or XLSX" in result.output
    unknown = runner.invoke(args=["wave", "import-frame", "W-9", str(path)])
    assert unknown.exit_code == 2 and "No wave has the code W-9" in unknown.output


def test_a_provincial_analyst_imports_the_frame_of_their_units_only(
    app, wave, make_user, runner, tmp_path
):
    assert run_import(runner, tmp_path, GOOD).exit_code == 0
    hanoi = db.session.scalar(select(ServicePoint).where(ServicePoint.code == "D-1")).unit
    make_user("analyst@example.vn", "analyst", units=[hanoi])
    client = app.test_client()
    sign_in(client, "analyst@example.vn")
    foreign = io.BytesIO(b"psu,stratum,stratum_psus,size\nD-1,01,5,100\nD-9,79,3,5\n")
    page = client.post("/workbench/waves/W-1/frame", data={"file": (foreign, "f.csv")})
    assert page.status_code == 400
    assert "Line 3: Unknown PSU D-9." in html.unescape(page.get_data(as_text=True))
    mine = io.BytesIO(b"psu,stratum,stratum_psus,size\nD-1,01,5,100\n")
    page = client.post("/workbench/waves/W-1/frame", data={"file": (mine, "f.csv")})
    assert page.status_code == 302
    assert entries() == {"D-1": ["01", 5, 100], "D-9": ["79", 3, 2000]}
    progress = html.unescape(client.get("/workbench/waves/W-1/frame").get_data(as_text=True))
    assert ">01<" in progress and ">79<" not in progress


def test_the_target_sample_follows_the_method():
    assert target_sample_size(1000, 0.05) == 286
    assert target_sample_size(100_000, 0.05) == 399
    assert target_sample_size(0, 0.05) == 0


def test_the_frame_page_shows_weight_diagnostics_and_flags_extreme_weights(client, login):
    from survey.services.demo import WAVE_CODE, load_demo

    load_demo(responses=200, seed=3)
    db.session.commit()
    entry = db.session.scalars(select(FrameEntry)).first()
    entry.transactions *= 1000
    db.session.commit()
    desk = db.session.get(ServicePoint, entry.service_point_id).code
    login()
    page = html.unescape(client.get(f"/workbench/waves/{WAVE_CODE}/frame").get_data(as_text=True))
    assert "Kish design effect" in page and "Effective n" in page
    assert "Extreme weights" in page and desk in page.split("Extreme weights")[1]
