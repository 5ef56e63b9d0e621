"""A wave's valid responses as CSV, XLSX, SPSS and Stata files: the database's values and
labels, "not applicable" missing in each, scoped downloads, the same indices as
``python -m analysis`` on the exported CSV."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys

import openpyxl
import pyreadstat
import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Answer, Response, Unit
from survey.services import exports, results
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.design_frame import wave_frame
from survey.services.questionnaires import questionnaire_of
from survey.services.waves import wave_by_code
from tests.conftest import sign_in

ITEM = "S-B3"  # likert5 with "not applicable" 0
LONG = "P-A1"  # a question longer than Stata's 80 characters
TEXT_ITEM = "S-F1"  # the free-text suggestion
OVERALL_ITEMS = ("S-A0", "S-B0", "S-C0", "S-D0", "S-E0")


@pytest.fixture
def wave(app):
    load_demo(responses=300, seed=11)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


@pytest.fixture
def items(wave):
    return exports.exported_items(questionnaire_of(wave.questionnaire))


def stored(wave) -> dict[int, dict[str, int]]:
    """Each valid response's numeric answers, straight from the database."""
    rows = db.session.execute(
        select(Answer.response_id, Answer.item_code, Answer.value_num)
        .join(Response)
        .where(Response.wave_id == wave.id, Response.status == "valid")
    ).all()
    answers: dict[int, dict[str, int]] = {
        rid: {} for rid in db.session.scalars(
            select(Response.id).where(Response.wave_id == wave.id, Response.status == "valid")
        )
    }  # fmt: skip
    for rid, code, value in rows:
        if value is not None:
            answers[rid][code] = value
    return answers


def expected(answers: dict[str, int], item) -> int | None:
    """The exported code: the answer, or None for blank and not applicable."""
    value = answers.get(item.code)
    return None if value == item.scale.not_applicable else value


def is_missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def test_the_items_are_the_closed_ones_in_questionnaire_order(wave, items):
    questionnaire = questionnaire_of(wave.questionnaire)
    codes = [item.code for item in items]
    assert codes == [i.code for i in questionnaire.items() if i.code in codes]
    assert ITEM in codes and "CHANNEL" in codes and "R-OCC" in codes
    kinds = {i.scale.kind for i in questionnaire.items() if i.code not in codes}
    assert kinds <= {"text", "procedure", "multi"} and "text" in kinds


def test_csv_has_the_databases_values_and_na_is_blank(wave, items, runner, tmp_path):
    out = tmp_path / "wave.csv"
    result = runner.invoke(
        args=["export", "responses", "--wave", WAVE_CODE, "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    header = list(rows[0])
    assert header == [*exports.COLUMNS, *(item.code for item in items)]
    assert TEXT_ITEM not in header
    answers = stored(wave)
    assert [int(row["response_id"]) for row in rows] == sorted(answers)
    not_applicable = 0
    for row in rows:
        mine = answers[int(row["response_id"])]
        for item in items:
            want = expected(mine, item)
            assert row[item.code] == ("" if want is None else str(want))
            not_applicable += mine.get(item.code) == item.scale.not_applicable
    assert not_applicable > 0, "the demo has N/A answers"
    frame = wave_frame(wave).data
    for row, (_, design) in zip(rows, frame.iterrows(), strict=True):
        assert float(row["weight"]) == design["weight"]  # full precision
        assert row["province"] == design["province"] and row["desk"] == design["desk"]
        assert row["stratum"] == design["stratum"] and float(row["fpc"]) == design["fpc"]


def test_xlsx_has_the_same_rows_and_a_codebook(wave, items, runner, tmp_path):
    out = tmp_path / "wave.xlsx"
    result = runner.invoke(args=["export", "responses", "--wave", WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["responses", "codebook"]
    sheet = list(book["responses"].iter_rows(values_only=True))
    header, body = list(sheet[0]), sheet[1:]
    answers = stored(wave)
    assert len(body) == len(answers)
    for row in body:
        values = dict(zip(header, row, strict=False))
        mine = answers[values["response_id"]]
        for item in items:
            want = expected(mine, item)
            assert values.get(item.code) == want, (values["response_id"], item.code)
    codebook = list(book["codebook"].iter_rows(values_only=True))
    assert codebook[0] == exports.CODEBOOK_COLUMNS
    entries = {(row[0], row[3]): row for row in codebook[1:]}
    item = next(i for i in items if i.code == ITEM)
    for option in item.scale.options:
        row = entries[(ITEM, option.value)]
        assert row[1:3] == (item.text.vi, item.text.en)
        assert row[4:6] == (option.label.vi, option.label.en)
        assert row[6] is (option.value == 0)
        assert row[7] == "S_B3"
    assert entries[(ITEM, 0)][4] == "Không áp dụng"


def test_sav_keeps_na_as_user_missing_with_labels(wave, items, runner, tmp_path):
    out = tmp_path / "wave.sav"
    result = runner.invoke(args=["export", "responses", "--wave", WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {item.code: item.code.replace("-", "_") for item in items}
    names["CHANNEL"] = "Q_CHANNEL"  # "channel" is taken, whatever the case, in SPSS
    data, meta = pyreadstat.read_sav(out, user_missing=True)
    plain, _ = pyreadstat.read_sav(out)  # user-missing read as missing
    answers = stored(wave)
    assert list(data["response_id"].astype(int)) == sorted(answers)
    for item in items:
        name = names[item.code]
        assert meta.column_names_to_labels[name] == item.text.vi
        assert meta.variable_value_labels[name] == {
            float(o.value): o.label.vi for o in item.scale.options
        }
        if item.scale.not_applicable is not None:
            assert meta.missing_ranges[name] == [{"lo": 0.0, "hi": 0.0}]
        for position, rid in enumerate(data["response_id"].astype(int)):
            raw = answers[rid].get(item.code)
            kept = data[name].iloc[position]
            assert (is_missing(kept) and raw is None) or kept == raw
            want = expected(answers[rid], item)
            got = plain[name].iloc[position]
            assert (is_missing(got) and want is None) or got == want
    assert (data["S_B3"] == 0).any() and not (plain["S_B3"] == 0).any()
    assert meta.column_names_to_labels["weight"] == "Trọng số cơ sở"
    assert list(data["province"]) == list(wave_frame(wave).data["province"])  # "01" stays text


def test_dta_makes_na_extended_missing_and_cuts_labels_to_80(wave, items, runner, tmp_path):
    out = tmp_path / "wave.dta"
    result = runner.invoke(args=["export", "responses", "--wave", WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data, meta = pyreadstat.read_dta(out, user_missing=True)
    plain, _ = pyreadstat.read_dta(out)
    answers = stored(wave)
    by_code = {item.code: item for item in items}
    assert len(by_code[LONG].text.vi) > 80
    label = meta.column_names_to_labels["P_A1"]
    assert len(label) <= 80 and label.endswith("…")
    assert by_code[LONG].text.vi.startswith(label[:-1])
    assert meta.column_names_to_labels["S_B3"] == by_code[ITEM].text.vi
    assert meta.missing_user_values["S_B3"] == ["a"]
    assert meta.variable_value_labels["S_B3"]["a"] == "Không áp dụng"
    assert meta.variable_value_labels["S_B3"][4] == "Hài lòng"
    for position, rid in enumerate(data["response_id"].astype(int)):
        raw = answers[rid].get(ITEM)
        kept = data["S_B3"].iloc[position]
        if raw == 0:
            assert kept == "a" and is_missing(plain["S_B3"].iloc[position])
        elif raw is None:
            assert is_missing(kept)
        else:
            assert kept == raw == plain["S_B3"].iloc[position]
    for item in items:
        name = "Q_CHANNEL" if item.code == "CHANNEL" else item.code.replace("-", "_")
        for position, rid in enumerate(plain["response_id"].astype(int)):
            want, got = expected(answers[rid], item), plain[name].iloc[position]
            assert (is_missing(got) and want is None) or got == want


def test_the_exported_csv_gives_the_same_indices_as_compute(wave, runner, tmp_path):
    out = tmp_path / "wave.csv"
    runner.invoke(args=["export", "responses", "--wave", WAVE_CODE, "--out", str(out)])
    frame = wave_frame(wave)
    dimensions = [f"--dimension={d}={','.join(items)}" for d, items in frame.dimensions.items()]
    parts = [f"--part={p}={','.join(dims)}" for p, dims in frame.parts.items()]
    command = [sys.executable, "-m", "analysis", "index", "--data", str(out), "--weights",
               "weight", "--strata", "stratum", "--psu", "psu", "--fpc", "fpc",
               *dimensions, *parts, "--satisfied", "4,5", "--na-codes", "0",
               "--by", "province"]  # fmt: skip
    cli = json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)
    extra = {*frame.other_parts, *OVERALL_ITEMS}
    ours = [r for r in results.compute(wave, ["province"]).records if r["variable"] not in extra]
    assert len(cli) == len(ours)
    for theirs, mine in zip(cli, ours, strict=True):
        assert theirs["variable"] == mine["variable"] and theirs["domain"] == mine["domain"]
        assert theirs["n"] == mine["n"]
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-12, abs=1e-15)


# --- the workbench's downloads ---------------------------------------------------


def _csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_a_scoped_analyst_downloads_only_their_provinces_rows(wave, make_user, app, tmp_path):
    national_rows = wave_frame(wave).data
    code = national_rows["province"].value_counts().index[0]
    province = db.session.scalar(select(Unit).where(Unit.code == code))
    make_user("analyst@example.vn", "analyst", units=[province])
    client = app.test_client()
    assert sign_in(client, "analyst@example.vn").status_code == 302
    response = client.get(f"/workbench/waves/{WAVE_CODE}/export.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename={WAVE_CODE}-responses.csv"
    )
    assert response.mimetype == "text/csv" and response.headers["Cache-Control"] == "no-store"
    rows = _csv_rows(response)
    mine = national_rows[national_rows["province"] == code]
    assert 0 < len(rows) == len(mine) < len(national_rows)
    assert {row["province"] for row in rows} == {code}
    assert [int(row["response_id"]) for row in rows] == list(mine["response_id"])
    assert [float(row["weight"]) for row in rows] == list(mine["weight"])  # the wave's weights
    for fmt, read in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        response = client.get(f"/workbench/waves/{WAVE_CODE}/export.{fmt}")
        assert response.status_code == 200
        assert f"filename={WAVE_CODE}-responses.{fmt}" in response.headers["Content-Disposition"]
        path = tmp_path / f"scoped.{fmt}"
        path.write_bytes(response.get_data())
        data, _ = read(path)
        assert set(data["province"]) == {code} and len(data) == len(mine)
    response = client.get(f"/workbench/waves/{WAVE_CODE}/export.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    body = list(book["responses"].iter_rows(min_row=2, values_only=True))
    assert len(body) == len(mine) and {row[6] for row in body} == {code}


def test_the_wave_page_links_the_downloads(wave, login, client):
    login("admin")
    page = client.get(f"/workbench/waves/{WAVE_CODE}").get_data(as_text=True)
    for fmt in exports.FORMATS:
        assert f'href="/workbench/waves/{WAVE_CODE}/export.{fmt}"' in page
    response = client.get(f"/workbench/waves/{WAVE_CODE}/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == exports.MEDIA_TYPES["xlsx"]


@pytest.mark.parametrize("path", [f"/workbench/waves/{WAVE_CODE}/export.png",
                                  f"/workbench/waves/{WAVE_CODE}/export.",
                                  "/workbench/waves/NO-SUCH/export.csv"])  # fmt: skip
def test_an_unknown_format_or_wave_is_404(wave, login, client, path):
    login("admin")
    assert client.get(path).status_code == 404


def test_a_surveyor_may_not_download(wave, login, client):
    province = db.session.scalar(select(Unit).where(Unit.level == "province"))
    login("surveyor", units=[province])
    assert client.get(f"/workbench/waves/{WAVE_CODE}/export.csv").status_code == 403


# --- the command line ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wave", "NO-SUCH", "--format", "csv"], "No wave has the code NO-SUCH."),
        (["--wave", WAVE_CODE, "--format", "pdf"], "Unknown format pdf"),
    ],
)
def test_cli_mistakes_exit_2_with_one_line(wave, runner, tmp_path, args, message):
    result = runner.invoke(args=["export", "responses", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {message}")
    assert not (tmp_path / "x").exists()


def test_cli_refuses_a_wave_without_valid_responses(wave, runner, tmp_path):
    for response in db.session.scalars(select(Response)):
        response.status = "void"
    db.session.commit()
    out = tmp_path / "x.csv"
    result = runner.invoke(args=["export", "responses", "--wave", WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 2 and "has no valid responses" in result.output


def test_a_reader_without_responses_in_their_units_gets_the_columns_only(
    wave, make_user, app, tmp_path
):
    from survey.services.units import create_unit

    empty = create_unit("99", "Tỉnh không có phiếu", "province")
    make_user("analyst@example.vn", "analyst", units=[empty])
    client = app.test_client()
    sign_in(client, "analyst@example.vn")
    lines = client.get(f"/workbench/waves/{WAVE_CODE}/export.csv").get_data(as_text=True)
    assert lines.splitlines()[0].startswith("response_id,desk,") and len(lines.splitlines()) == 1
    for fmt, read in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        response = client.get(f"/workbench/waves/{WAVE_CODE}/export.{fmt}")
        assert response.status_code == 200
        path = tmp_path / f"empty.{fmt}"
        path.write_bytes(response.get_data())
        data, meta = read(path)
        assert len(data) == 0 and meta.column_names_to_labels["S_B3"]
    assert client.get(f"/workbench/waves/{WAVE_CODE}/export.xlsx").status_code == 200
