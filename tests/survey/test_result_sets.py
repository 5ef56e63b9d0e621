"""Result sets: a computation saved with its provenance, immutable, reproduced exactly, with
the official-style figure beside the design-based one; its page, charts, downloads and CLI,
scoped to the reader's units."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from analysis import contrast, sipas_index
from survey import charts
from survey.charts.bands import BAND_END, BAND_START
from survey.extensions import db
from survey.models import Answer, FrameEntry, Response, ResultRow, ResultSet, ServicePoint, Unit
from survey.queries import as_utc
from survey.services import result_sets, results
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.design_frame import wave_frame
from survey.services.waves import wave_by_code
from tests.conftest import sign_in

SVG = "{http://www.w3.org/2000/svg}"
SERVICE = ("S-A", "S-B", "S-C", "S-D", "S-E")
POLICY = ("P-A", "P-B", "P-C", "P-D")


@pytest.fixture
def wave(app):
    load_demo(responses=300, seed=11)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


def saved(wave, by=("province",), user=None, **options) -> ResultSet:
    result_set = result_sets.run(wave, list(by), user=user, **options)
    db.session.commit()
    return result_set


def stored_rows(result_set: ResultSet) -> list[dict]:
    return result_sets.rows(result_set)


def row_of(rows, variable, domain):
    (row,) = [r for r in rows if r["variable"] == variable and r["domain"] == domain]
    return row


def provinces_of(rows) -> list[str]:
    return sorted(
        {r["domain"]["province"] for r in rows if r["domain"] and "province" in r["domain"]}
    )


# --- saving, provenance, immutability ---------------------------------------------


def test_a_set_is_saved_with_all_its_provenance(wave, make_user):
    user = make_user("admin@example.vn", "admin")  # national
    before = datetime.now(UTC)
    result_set = saved(wave, ["province"], user, weighting="design", interval="logit", level=0.9)
    db.session.expire_all()
    result_set = db.session.get(ResultSet, result_set.id)
    valid = db.session.scalar(
        select(func.count()).where(Response.wave_id == wave.id, Response.status == "valid")
    )
    assert result_set.wave_id == wave.id and result_set.response_count == valid
    assert result_set.options == {"by": ["province"], "weighting": "design", "interval": "logit",
                                  "level": 0.9, "lonely_psu": "adjust"}  # fmt: skip
    assert result_set.weighting == "design"
    assert result_set.created_by_id == user.id
    assert before - timedelta(seconds=1) <= as_utc(result_set.created_at) <= datetime.now(UTC)
    entries = db.session.scalars(select(FrameEntry).where(FrameEntry.wave_id == wave.id)).all()
    frame = result_set.inputs["frame"]
    assert frame["entries"] == len(entries) > 0 and re.fullmatch(r"[0-9a-f]{64}", frame["digest"])
    assert result_set.inputs["targets"] == {"margins": [], "cells": 0, "digest": None}
    version = metadata.version("sipas")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()  # fmt: skip
    assert result_set.code_version == (f"{version}+g{commit}" if commit else version)

    rows = stored_rows(result_set)
    whole = results.compute(wave, interval="logit", level=0.9)
    by_province = results.compute(wave, ["province"], interval="logit", level=0.9)
    expected = hashlib.sha256(f"{whole.digest}\n{by_province.digest}".encode()).hexdigest()
    assert result_set.input_hash == expected
    assert [r for r in rows if r["domain"] is None] == whole.records
    assert [r for r in rows if r["domain"] and "province" in r["domain"]] == by_province.records
    official = [r for r in rows if r["domain"] == {"official": "province"}]
    assert [r["variable"] for r in official] == [*SERVICE, *POLICY, "service", "overall", "policy"]


def test_a_set_of_the_whole_wave_records_the_computations_digest(wave):
    result_set = saved(wave, [])
    computation = results.compute(wave)
    assert result_set.input_hash == computation.digest
    assert stored_rows(result_set) == computation.records  # no official rows without units


def test_the_orm_refuses_to_change_or_delete_a_set_or_its_rows(wave):
    result_set = saved(wave)
    number, estimate = result_set.id, stored_rows(result_set)[0]["estimate"]
    result_set.weighting = "rake"
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.commit()
    db.session.rollback()
    row = db.session.scalars(select(ResultRow).where(ResultRow.result_set_id == number)).first()
    row.estimate = 0.5
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.flush()
    db.session.rollback()
    for victim in (db.session.get(ResultSet, number), row):
        db.session.delete(victim)
        with pytest.raises(RuntimeError, match="immutable"):
            db.session.flush()
        db.session.rollback()
    db.session.expire_all()
    kept = db.session.get(ResultSet, number)
    assert kept.weighting == "design" and stored_rows(kept)[0]["estimate"] == estimate


def test_recomputing_unchanged_inputs_reproduces_the_set_exactly(wave):
    result_set = saved(wave, ["province"])
    computation, differences = result_sets.recompute(result_set)
    assert differences == []
    assert computation.digest == result_set.input_hash
    assert computation.records == stored_rows(result_set)


def test_the_lonely_psu_policy_is_saved_and_a_set_from_before_it_recomputes(wave):
    chosen = saved(wave, ["province"], lonely_psu="certainty")
    assert chosen.options["lonely_psu"] == "certainty"
    assert result_sets.provenance(chosen)["lonely_psu"] == "certainty"
    assert result_sets.recompute(chosen)[1] == []
    # a set saved before the option existed: computed as "fail", its options without it
    before = saved(wave, ["province"], lonely_psu="fail")
    options = {k: v for k, v in before.options.items() if k != "lonely_psu"}
    with db.engine.begin() as connection:  # the ORM refuses to change a set
        connection.execute(
            ResultSet.__table__.update()
            .where(ResultSet.__table__.c.id == before.id)
            .values(options=options)
        )
    db.session.expire_all()
    old = db.session.get(ResultSet, before.id)
    assert "lonely_psu" not in old.options
    assert result_sets.provenance(old)["lonely_psu"] == "fail"
    computation, differences = result_sets.recompute(old)
    assert differences == [] and computation.digest == old.input_hash


def test_a_changed_answer_is_reported_as_a_difference(wave):
    result_set = saved(wave, ["province"])
    answer = db.session.scalars(
        select(Answer)
        .join(Response)
        .where(
            Answer.item_code == "S-A1", Answer.value_num == 5, Response.status == "valid"
        )  # fmt: skip
    ).first()
    answer.value_num = 1
    db.session.commit()
    _, differences = result_sets.recompute(result_set)
    subjects = {(d.subject, d.field) for d in differences}
    assert ("digest", "") in subjects
    assert ("S-A1", "estimate") in subjects  # the whole wave's row of the item
    assert any(s.startswith("S-A1 province=") and f == "estimate" for s, f in subjects)
    assert ("responses", "") not in subjects  # the same responses, one answer changed


# --- the official-style figure ------------------------------------------------------


def test_the_official_figure_is_the_mean_of_the_units_with_its_se_from_a_contrast(wave):
    result_set = saved(wave, ["province"])
    rows = stored_rows(result_set)
    provinces = provinces_of(rows)
    assert len(provinces) == 3
    frame = wave_frame(wave)
    table = sipas_index(frame.design, frame.dimensions, parts=frame.parts, satisfied=(1,),
                        by=["province"])  # fmt: skip
    policy = sipas_index(
        frame.design, {code: frame.dimensions[code] for code in POLICY},
        parts=frame.other_parts, satisfied=(1,), by=["province"],
    )  # fmt: skip
    for variable, source in [("overall", table), ("service", table), ("S-C", table),
                             ("P-B", table), ("policy", policy)]:  # fmt: skip
        official = row_of(rows, variable, {"official": "province"})
        units = [row_of(rows, variable, {"province": p})["estimate"] for p in provinces]
        assert official["estimate"] == pytest.approx(sum(units) / len(units), rel=1e-12)
        mean = contrast(source, {f"{p}:{variable}": 1 / len(provinces) for p in provinces})
        assert mean.estimate == pytest.approx(official["estimate"], rel=1e-12)
        assert official["se"] == pytest.approx(mean.se, rel=1e-9)
        assert official["ci_low"] < official["estimate"] < official["ci_high"]
        assert official["n"] == sum(row_of(rows, variable, {"province": p})["n"] for p in provinces)


def test_the_analysis_combination_is_the_contrast_of_the_full_covariance(wave):
    """``EstimateTable.combination_vcov`` (which never forms V) against ``C V C'``."""
    import numpy as np

    frame = wave_frame(wave)
    table = sipas_index(frame.design, frame.dimensions, parts=frame.parts, satisfied=(1,),
                        by=["desk"])  # fmt: skip
    rng = np.random.default_rng(3)
    combinations = rng.normal(size=(3, len(table)))
    full = combinations @ table.vcov() @ combinations.T
    assert table.combination_vcov(combinations) == pytest.approx(full, rel=1e-9, abs=1e-15)


# --- the set's page, its charts and downloads -----------------------------------------


def page_of(client, number: int, **query) -> str:
    response = client.get(f"/workbench/result-sets/{number}", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def svg(page: str, chart_id: str) -> ET.Element:
    (found,) = re.findall(rf'<svg class="chart"[^>]*aria-labelledby="{chart_id}-title.*?</svg>',
                          page, re.S)  # fmt: skip
    return ET.fromstring(found)


def bars_of(chart: ET.Element) -> list[tuple[str, ET.Element, ET.Element]]:
    """(label, bar, whisker) of each unit, top to bottom."""
    found = []
    for group in chart.iter(f"{SVG}g"):
        label = group.find(f"{SVG}text").text  # without its <title>, the full name
        bar = group.find(f"{SVG}rect[@class='bar']")
        whisker = group.find(f"{SVG}line[@class='whisker']")
        found.append((label, bar, whisker))
    return found


def test_the_page_shows_sorted_bars_with_whiskers_at_the_interval_ends(wave, login, client):
    login("admin")
    result_set = saved(wave, ["desk"])
    rows = stored_rows(result_set)
    for index in ("overall", "S-B"):
        page = page_of(client, result_set.id, index=index)
        units = [r for r in rows if r["variable"] == index and r["domain"]
                 and "desk" in r["domain"] and r["estimate"] is not None]  # fmt: skip
        units.sort(key=lambda r: -r["estimate"])
        whole = row_of(rows, index, None)
        values = [whole["estimate"]]
        for row in units:
            values += [row["estimate"], row["ci_low"], row["ci_high"]]
        scale = charts.Scale(*charts.percent_axis(values), BAND_START, BAND_END)
        chart = svg(page, "bars-chart")
        drawn = bars_of(chart)
        assert len(drawn) == len(units)
        names = dict(db.session.execute(select(ServicePoint.code, ServicePoint.name)).all())
        for (label, bar, whisker), row in zip(drawn, units, strict=True):
            code = row["domain"]["desk"]
            assert label == charts.unit_label(names[code], code, charts.LABEL_LIMIT)
            assert float(bar.get("x")) == pytest.approx(scale(scale.low), abs=0.01)
            right = float(bar.get("x")) + float(bar.get("width"))
            assert right == pytest.approx(scale(row["estimate"]), abs=0.02)
            assert float(whisker.get("x1")) == pytest.approx(scale(row["ci_low"]), abs=0.01)
            assert float(whisker.get("x2")) == pytest.approx(scale(row["ci_high"]), abs=0.01)
        widths = [float(bar.get("width")) for _, bar, _ in drawn]
        assert widths == sorted(widths, reverse=True)
        (reference,) = [
            line for line in chart.iter(f"{SVG}line") if line.get("class") == "reference"
        ]
        assert float(reference.get("x1")) == pytest.approx(scale(whole["estimate"]), abs=0.01)
        assert chart.get("role") == "img"
        text = html.unescape(page)
        assert f"{100 * whole['estimate']:.1f}" in text  # the table of the same numbers


def test_the_page_says_which_indices_rest_on_one_sampling_unit(wave, login, client):
    login("admin")
    by_desk = saved(wave, ["desk"])
    rows = stored_rows(by_desk)
    desk = next(r["domain"] for r in rows if r["domain"] and "desk" in r["domain"])
    assert "one_psu" in row_of(rows, "overall", desk)["flags"]
    assert "one_psu" not in row_of(rows, "overall", None)["flags"]
    note = "“One sampling unit”: the index rests on a single desk or household cluster"
    page = html.unescape(page_of(client, by_desk.id))  # the whole wave's table, desks' bars
    numbers = page[page.index('id="by-unit"') : page.index('id="table"')]
    cells = re.findall(r"<tr><td>[^<]*</td>(.*?)</tr>", numbers, re.S)
    assert cells and all("one sampling unit" in cell for cell in cells)
    assert page.count(note) == 1  # below the bars; the whole wave's own table has none
    bars = bars_of(svg(page, "bars-chart"))
    assert bars and all(bar.get("fill").endswith("-hatch)") for _, bar, _ in bars)
    page = html.unescape(page_of(client, by_desk.id, unit=f"desk={desk['desk']}"))
    table = page[page.index('id="table"') :]
    assert "one sampling unit" in table and note in table
    by_province = saved(wave, ["province"])
    page = html.unescape(page_of(client, by_province.id))
    assert note not in page
    assert not any("one sampling unit" in cell for cell in re.findall(r"<td>[^<]*</td>", page))


def test_the_page_labels_the_official_figure_and_shows_the_provenance(wave, login, client):
    login("admin")
    result_set = saved(wave, ["province"])
    rows = stored_rows(result_set)
    page = html.unescape(page_of(client, result_set.id))
    assert "Official-style figures" in page and "unweighted mean of the unit indices" in page
    official = row_of(rows, "overall", {"official": "province"})
    design = row_of(rows, "overall", None)
    line = re.search(r"<td>Overall index \(headline\)</td>(.*?)</tr>", page, re.S).group(1)
    assert f"{100 * official['estimate']:.1f}" in line and f"{100 * design['estimate']:.1f}" in line
    assert "3 provinces" in line
    for value in (
        result_set.input_hash,
        result_set.code_version,
        result_set.inputs["frame"]["digest"],
    ):
        assert value in page
    profile = svg(page_of(client, result_set.id, unit="province=48"), "profile-chart")
    dots = [c for c in profile.iter(f"{SVG}circle")]
    assert len(dots) == len(SERVICE) + len(POLICY)


def test_recompute_button_says_whether_the_numbers_were_reproduced(wave, login, client):
    login("admin")
    result_set = saved(wave, ["province"])
    page = client.post(f"/workbench/result-sets/{result_set.id}/recompute").get_data(as_text=True)
    assert "Reproduced exactly" in page
    answer = db.session.scalars(
        select(Answer)
        .join(Response)
        .where(Answer.item_code == "S-B1", Answer.value_num == 5, Response.status == "valid")
    ).first()
    answer.value_num = 1
    db.session.commit()
    page = html.unescape(
        client.post(f"/workbench/result-sets/{result_set.id}/recompute").get_data(as_text=True)
    )
    assert "Not reproduced" in page and "digest" in page and "S-B1 estimate" in page
    assert db.session.scalar(select(func.count()).select_from(ResultSet)) == 1  # nothing saved


def test_downloads_have_the_page_numbers(wave, login, client):
    login("admin")
    result_set = saved(wave, ["province"])
    rows = stored_rows(result_set)
    page = html.unescape(page_of(client, result_set.id))
    text = client.get(f"/workbench/result-sets/{result_set.id}/index.csv").get_data(as_text=True)
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == len(rows)
    for line, row in zip(table, rows, strict=True):
        assert line["variable"] == row["variable"]
        assert line["domain"] == result_sets.domain_text(row["domain"])
        assert float(line["estimate"]) == row["estimate"]
        expected = (
            "official-style" if row["domain"] and "official" in row["domain"] else "design-based"
        )
        assert line["figure"].startswith(expected)
    whole = [r for r in rows if r["domain"] is None]
    for row in whole:  # the page's table of the whole wave
        assert f"{100 * row['estimate']:.1f}" in page
    assert {line["domain_name"] for line in table if line["domain"] == "province=01"} == {
        "Thành phố Hà Nội"
    }
    book = load_workbook(
        io.BytesIO(client.get(f"/workbench/result-sets/{result_set.id}/index.xlsx").data)
    )
    sheet = list(book["indices"].iter_rows(values_only=True))
    assert list(sheet[0]) == list(result_sets.EXPORT_COLUMNS)
    for cells, row in zip(sheet[1:], rows, strict=True):
        record = dict(zip(sheet[0], cells, strict=True))
        assert record["variable"] == row["variable"] and record["n"] == row["n"]
        for key in ("estimate", "ci_low", "ci_high"):  # written with 15-17 significant digits
            assert record[key] == pytest.approx(row[key], rel=1e-14)
    provenance = dict(book["provenance"].iter_rows(min_row=2, values_only=True))
    assert provenance["input_hash"] == result_set.input_hash
    assert provenance["result_set"] == result_set.id


# --- scope ------------------------------------------------------------------------------


@pytest.mark.parametrize("by", [["province"], ["desk"]])
def test_a_scoped_reader_sees_only_their_provinces_rows(wave, make_user, app, by):
    result_set = saved(wave, by)  # computed by a national analyst
    rows = stored_rows(result_set)
    hanoi = db.session.scalar(select(Unit).where(Unit.code == "01"))
    make_user("analyst01@example.vn", "analyst", units=[hanoi])
    client = app.test_client()
    sign_in(client, "analyst01@example.vn")
    desks = dict(db.session.execute(
        select(ServicePoint.code, ServicePoint.unit_id)).all())  # fmt: skip
    from survey.auth.policy import units_under

    mine = units_under([hanoi.id])

    def is_mine(domain) -> bool:
        if not domain or "official" in domain:
            return False
        if "province" in domain:
            return domain["province"] == "01"
        return desks[domain["desk"]] in mine

    shown = [r for r in rows if is_mine(r["domain"])]
    hidden = [r for r in rows if not is_mine(r["domain"]) and r["estimate"] is not None]
    assert shown and hidden
    page = html.unescape(page_of(client, result_set.id))
    chart = svg(page, "bars-chart")
    assert len(bars_of(chart)) == len({repr(r["domain"]) for r in shown})
    assert not [line for line in chart.iter(f"{SVG}line") if line.get("class") == "reference"]
    assert "Official-style figures" not in page and "Whole wave:" not in page
    for name in ("Đà Nẵng", "Cà Mau"):
        assert name not in page
    text = client.get(f"/workbench/result-sets/{result_set.id}/index.csv").get_data(as_text=True)
    domains = [line["domain"] for line in csv.DictReader(io.StringIO(text))]
    assert sorted(domains) == sorted(result_sets.domain_text(r["domain"]) for r in shown)
    book = load_workbook(
        io.BytesIO(client.get(f"/workbench/result-sets/{result_set.id}/index.xlsx").data)
    )
    cells = [row[1] for row in book["indices"].iter_rows(min_row=2, values_only=True)]
    assert sorted(cells) == sorted(domains)
    # the whole wave's profile is not theirs to choose
    assert client.get(f"/workbench/result-sets/{result_set.id}",
                      query_string={"unit": "province=48"}).status_code == 400  # fmt: skip


def test_a_scoped_readers_computation_is_by_their_provinces(wave, make_user, app):
    hanoi = db.session.scalar(select(Unit).where(Unit.code == "01"))
    make_user("analyst01@example.vn", "analyst", units=[hanoi])
    client = app.test_client()
    sign_in(client, "analyst01@example.vn")
    response = client.post(f"/workbench/waves/{WAVE_CODE}/results",
                           data={"by": "channel", "weighting": "design", "interval": "wald",
                                 "level": "0.95"})  # fmt: skip
    assert response.status_code == 302
    number = int(response.headers["Location"].rsplit("/", 1)[1])
    result_set = db.session.get(ResultSet, number)
    assert result_set.options["by"] == ["province", "channel"]
    assert result_set.created_by.email == "analyst01@example.vn"
    page = html.unescape(client.get(f"/workbench/waves/{WAVE_CODE}/results").get_data(as_text=True))
    assert f'/workbench/result-sets/{number}"' in page and "analyst01@example.vn" in page


def test_a_bad_computation_saves_nothing_and_says_why(wave, login, client):
    login("admin")
    data = {"by": "colour", "weighting": "design", "interval": "wald", "level": "0.95"}
    response = client.post(f"/workbench/waves/{WAVE_CODE}/results", data=data)
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    data = {"by": "", "weighting": "rake", "interval": "wald", "level": "0.95"}
    response = client.post(f"/workbench/waves/{WAVE_CODE}/results", data=data)
    assert response.status_code == 400  # the wave has no targets to rake to
    assert db.session.scalar(select(func.count()).select_from(ResultSet)) == 0


def test_the_page_offers_the_lonely_psu_policy_and_shows_the_one_used(wave, login, client):
    login("admin")
    form = html.unescape(client.get(f"/workbench/waves/{WAVE_CODE}/results").get_data(as_text=True))
    assert "A stratum where only one desk or cluster answered" in form
    assert '<option selected value="adjust">Measured from the whole wave' in form
    data = {"by": "", "weighting": "design", "interval": "wald", "level": "0.95"}
    refused = client.post(f"/workbench/waves/{WAVE_CODE}/results", data=data | {"lonely_psu": "x"})
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ResultSet)) == 0
    sent = client.post(
        f"/workbench/waves/{WAVE_CODE}/results", data=data | {"lonely_psu": "certainty"}
    )
    assert sent.status_code == 302
    result_set = db.session.scalar(select(ResultSet))
    assert result_set.options["lonely_psu"] == "certainty"
    page = html.unescape(page_of(client, result_set.id))
    assert re.search(r"only one desk or cluster answered</th><td><code>certainty</code>", page)


# --- the command line -----------------------------------------------------------------


def test_cli_compute_saves_a_set_and_show_prints_it(wave, runner):
    result = runner.invoke(args=["results", "compute", "--wave", WAVE_CODE, "--by", "province"])
    assert result.exit_code == 0, result.output
    match = re.search(r"Result set (\d+) saved \(digest ([0-9a-f]{64})\)", result.stderr)
    assert match
    result_set = db.session.get(ResultSet, int(match.group(1)))
    assert result_set.created_by is None and result_set.input_hash == match.group(2)
    shown = runner.invoke(args=["results", "show", match.group(1), "--format", "csv"])
    assert shown.exit_code == 0
    lines = list(csv.DictReader(io.StringIO(shown.stdout)))
    rows = stored_rows(result_set)
    assert [float(line["estimate"]) if line["estimate"] else None for line in lines] == [
        r["estimate"] for r in rows
    ]
    assert f"input_hash: {result_set.input_hash}" in shown.stderr
    assert runner.invoke(args=["results", "show", "999"]).exit_code == 2


def test_cli_recompute_exits_0_when_identical_and_1_naming_differences(wave, runner):
    result_set = saved(wave, ["province"])
    same = runner.invoke(args=["results", "recompute", str(result_set.id)])
    assert same.exit_code == 0 and "identical" in same.stdout
    response = db.session.scalars(
        select(Response)
        .where(Response.wave_id == wave.id, Response.status == "valid")
        .order_by(Response.id)
    ).first()
    response.status = "void"
    db.session.commit()
    changed = runner.invoke(args=["results", "recompute", str(result_set.id)])
    assert changed.exit_code == 1
    assert "responses:" in changed.stdout and "digest:" in changed.stdout
    assert re.search(r"^overall province=\d+ estimate: ", changed.stdout, re.M)
