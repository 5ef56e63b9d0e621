"""A wave in the database to SIPAS indices: valid responses only, N/A out of the denominator,
the frame's weights, the same numbers as ``python -m analysis`` on the same rows."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import (
    Answer,
    FrameEntry,
    Procedure,
    QuestionnaireVersion,
    Response,
    ServicePoint,
)
from survey.services import results
from survey.services import waves as wave_service
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.design_frame import wave_frame
from survey.services.waves import wave_by_code

NOT_APPLICABLE = 0
ITEM = "S-B3"  # likert5 with "not applicable" (fees)
OVERALL_ITEMS = ("S-A0", "S-B0", "S-C0", "S-D0", "S-E0")  # the desk form's "nói chung" items
SERVICE = ("S-A", "S-B", "S-C", "S-D", "S-E")
POLICY = ("P-A", "P-B", "P-C", "P-D")


@pytest.fixture
def wave(app):
    load_demo(responses=300, seed=11)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


def by_hand(wave, item: str) -> tuple[float, int]:
    """The satisfied share of ``item`` with the frame's base weights, from the raw rows."""
    responses = db.session.execute(
        select(Response.id, Response.service_point_id).where(
            Response.wave_id == wave.id, Response.status == "valid"
        )
    ).all()
    frame = {e.service_point_id: e for e in wave.frame}
    per_desk = defaultdict(int)
    for _, desk in responses:
        per_desk[desk] += 1
    answering = defaultdict(set)
    for desk in per_desk:
        answering[frame[desk].stratum].add(desk)
    weight = {}
    for response_id, desk in responses:
        entry = frame[desk]
        weight[response_id] = (entry.stratum_desks / len(answering[entry.stratum])) * (
            entry.transactions / per_desk[desk]
        )
    answers = db.session.execute(
        select(Answer.response_id, Answer.value_num).where(Answer.item_code == item)
    ).all()
    kept = [(rid, v) for rid, v in answers if rid in weight and v != NOT_APPLICABLE]
    total = sum(weight[rid] for rid, _ in kept)
    return sum(weight[rid] for rid, v in kept if v >= 4) / total, len(kept)


def estimate(result, variable: str, domain=None) -> dict:
    return next(r for r in result.records if r["variable"] == variable and r["domain"] == domain)


def test_not_applicable_is_out_of_the_denominator_and_weights_follow_the_frame(wave):
    not_applicable = db.session.scalar(
        select(db.func.count()).where(Answer.item_code == ITEM, Answer.value_num == 0)
    )
    assert not_applicable > 0, "the demo data should have N/A answers for this item"
    share, answered = by_hand(wave, ITEM)
    row = estimate(results.compute(wave), ITEM)
    assert row["estimate"] == pytest.approx(share, rel=1e-12)
    assert row["n"] == answered
    assert row["weighting"] == "design"


def test_void_responses_do_not_count(wave):
    before = estimate(results.compute(wave), ITEM)
    voided = db.session.scalars(
        select(Response)
        .join(Answer)
        .where(Response.wave_id == wave.id, Answer.item_code == ITEM, Answer.value_num == 5)
    ).first()
    voided.status = "void"
    db.session.commit()
    after = estimate(results.compute(wave), ITEM)
    assert after["n"] == before["n"] - 1
    assert after["estimate"] == pytest.approx(by_hand(wave, ITEM)[0], rel=1e-12)


def test_without_a_frame_results_are_unweighted(wave):
    db.session.execute(FrameEntry.__table__.delete())
    db.session.commit()
    result = results.compute(wave, ["province"])
    assert result.weighting == "unweighted"
    frame = wave_frame(wave)
    assert set(frame.data["weight"]) == {1.0}
    assert list(frame.data["stratum"]) == list(frame.data["province"])
    provinces = {r["domain"]["province"] for r in result.records}
    assert provinces == set(frame.data["province"])


def test_the_same_numbers_as_python_m_analysis_on_the_same_rows(wave, tmp_path):
    frame = wave_frame(wave)
    path = tmp_path / "wave.csv"
    frame.data.to_csv(path, index=False)
    dimensions = [f"--dimension={d}={','.join(items)}" for d, items in frame.dimensions.items()]
    parts = [f"--part={p}={','.join(dims)}" for p, dims in frame.parts.items()]
    command = [sys.executable, "-m", "analysis", "index", "--data", str(path), "--weights",
               "weight", "--strata", "stratum", "--psu", "psu", "--fpc", "fpc",
               *dimensions, *parts, "--satisfied", "1", "--by", "province"]  # fmt: skip
    cli = json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)
    extra = {*frame.other_parts, *OVERALL_ITEMS}  # rows appended after sipas_index's
    ours = [r for r in results.compute(wave, ["province"]).records if r["variable"] not in extra]
    assert len(cli) == len(ours)
    for theirs, mine in zip(cli, ours, strict=True):
        assert theirs["variable"] == mine["variable"] and theirs["domain"] == mine["domain"]
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-12, abs=1e-15)


def test_cli_computes_by_a_field_as_csv(wave, runner, tmp_path):
    out = tmp_path / "index.csv"
    result = runner.invoke(
        args=[
            "results",
            "compute",
            "--wave",
            WAVE_CODE,
            "--by",
            "province",
            "--format",
            "csv",
            "--out",
            str(out),
            "--interval",
            "logit",
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "variable,domain,estimate,se,ci_low,ci_high,df,deff,n,weighting,flags"
    assert any(line.startswith("overall,province=") for line in lines[1:])


def test_cli_rows_by_desk_carry_the_one_psu_flag_in_csv_and_json(wave, runner, tmp_path):
    for fmt in ("csv", "json"):
        out = tmp_path / f"index.{fmt}"
        args = ["results", "compute", "--wave", WAVE_CODE, "--by", "desk", "--format", fmt,
                "--out", str(out)]  # fmt: skip
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            rows = list(csv.DictReader(out.open(encoding="utf-8")))
            flags = {row["domain"]: row["flags"].split(";") for row in rows}
        else:
            rows = json.loads(out.read_text(encoding="utf-8"))
            flags = {"desk=" + row["domain"]["desk"] if row["domain"] else "": row["flags"]
                     for row in rows}  # fmt: skip
        desks = [domain for domain in flags if domain.startswith("desk=")]
        assert desks and all("one_psu" in flags[domain] for domain in desks)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wave", "NO-SUCH"], "No wave has the code NO-SUCH"),
        (["--wave", WAVE_CODE, "--by", "colour"], "Unknown field colour"),
    ],
)
def test_cli_mistakes_exit_2_with_one_line(wave, runner, args, message):
    result = runner.invoke(args=["results", "compute", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_wave_without_valid_responses_is_refused(wave, runner):
    for response in db.session.scalars(select(Response)):
        response.status = "void"
    db.session.commit()
    result = runner.invoke(args=["results", "compute", "--wave", WAVE_CODE])
    assert result.exit_code == 2 and "has no valid responses" in result.output


def test_a_desk_outside_the_frame_is_named(wave, runner):
    entry = db.session.scalars(select(FrameEntry)).first()
    code = db.session.get(ServicePoint, entry.service_point_id).code
    db.session.delete(entry)
    db.session.commit()
    result = runner.invoke(args=["results", "compute", "--wave", WAVE_CODE])
    assert result.exit_code == 2
    assert f"Desks {code} have responses but are not in the frame" in result.output


# --- the headline, the parts outside it, the "in general" items ----------------


def test_the_demo_wave_uses_the_desk_form_whose_headline_is_the_service_index(wave):
    assert (wave.questionnaire.code, wave.questionnaire.version) == ("sipas-desk", 2)
    frame = wave_frame(wave)
    assert frame.parts == {"service": list(SERVICE)}
    assert frame.other_parts == {"policy": list(POLICY)}
    assert list(frame.dimensions) == [*SERVICE, *POLICY]


@pytest.mark.parametrize("by", [[], ["province"]])
def test_overall_is_the_service_index_and_policy_is_reported_beside_it(wave, by):
    records = results.compute(wave, by).records
    domains = list(dict.fromkeys(repr(r["domain"]) for r in records))
    assert len(domains) == (1 if not by else len({r["domain"]["province"] for r in records}))
    for row in records:
        if row["variable"] != "overall":
            continue
        domain = row["domain"]
        service = estimate_in(records, "service", domain)
        assert row["estimate"] == pytest.approx(service["estimate"], rel=0, abs=1e-12)
        assert row["se"] == pytest.approx(service["se"], rel=0, abs=1e-12)
        assert row["n"] == service["n"]
        dimensions = [estimate_in(records, code, domain)["estimate"] for code in SERVICE]
        assert service["estimate"] == pytest.approx(sum(dimensions) / 5, abs=1e-12)
        policy = estimate_in(records, "policy", domain)
        components = [estimate_in(records, code, domain)["estimate"] for code in POLICY]
        assert policy["estimate"] == pytest.approx(sum(components) / 4, abs=1e-12)
        assert policy["se"] > 0 and policy["n"] > 0
        assert row["estimate"] != pytest.approx((service["estimate"] + policy["estimate"]) / 2)
    for variable in ("P-A1", "P-D10", *POLICY, "policy"):
        assert sum(r["variable"] == variable for r in records) == len(domains)


def estimate_in(records, variable: str, domain) -> dict:
    (row,) = [r for r in records if r["variable"] == variable and r["domain"] == domain]
    return row


def test_overall_items_are_reported_with_their_own_n(wave):
    records = results.compute(wave).records
    rows = len(wave_frame(wave).data)
    blank_or_na = 0
    for code in OVERALL_ITEMS:
        row = estimate_in(records, code, None)
        share, answered = by_hand(wave, code)
        assert row["estimate"] == pytest.approx(share, rel=1e-12)
        assert row["n"] == answered
        assert row["weighting"] == "design" and row["se"] > 0
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
        blank_or_na += rows - answered
    assert blank_or_na > 0, "the demo leaves optional items blank"
    na = db.session.scalar(
        select(db.func.count()).where(Answer.item_code == "S-D0", Answer.value_num == 0)
    )
    assert na > 0, "S-D0 offers 'not applicable' and the demo uses it"
    assert [r["variable"] for r in records][-len(OVERALL_ITEMS) :] == list(OVERALL_ITEMS)
    dimension = estimate_in(records, "S-A", None)
    items = [estimate_in(records, code, None)["estimate"] for code in ("S-A1", "S-A2", "S-A3")]
    assert dimension["estimate"] == pytest.approx(sum(items) / 3, abs=1e-12)  # S-A0 stays out


def test_overall_items_by_domain_keep_the_domains_together(wave):
    records = results.compute(wave, ["province"]).records
    provinces = list(dict.fromkeys(r["domain"]["province"] for r in records))
    seen = [r["domain"]["province"] for r in records]
    assert seen == sorted(seen, key=provinces.index)  # one block of rows per province
    for province in provinces:
        block = [r["variable"] for r in records if r["domain"]["province"] == province]
        assert block[-len(OVERALL_ITEMS) :] == list(OVERALL_ITEMS)
        assert block.index("overall") < block.index("policy") < block.index("S-A0")
    total = sum(estimate_in(records, "S-B0", {"province": p})["n"] for p in provinces)
    assert total == by_hand(wave, "S-B0")[1]


def test_an_overall_item_nobody_answered_is_left_out(wave):
    db.session.execute(Answer.__table__.delete().where(Answer.item_code == "S-E0"))
    db.session.commit()
    variables = {r["variable"] for r in results.compute(wave).records}
    assert "S-E0" not in variables and {"S-A0", "S-D0"} <= variables


def test_a_wave_on_desk_v1_keeps_policy_in_its_headline(wave):
    v1 = db.session.scalar(select(QuestionnaireVersion).filter_by(code="sipas-desk", version=1))
    old = wave_service.create_wave("OLD-1", "v1", v1, wave.starts_on, wave.ends_on)
    db.session.flush()
    for table in (Response.__table__, FrameEntry.__table__):
        db.session.execute(table.update().where(table.c.wave_id == wave.id).values(wave_id=old.id))
    db.session.commit()
    frame = wave_frame(old)
    assert frame.parts == {"service": list(SERVICE), "policy": list(POLICY)}
    assert frame.other_parts == {}
    records = results.compute(old).records
    overall, service, policy = (
        estimate_in(records, v, None) for v in ("overall", "service", "policy")
    )
    assert overall["estimate"] == pytest.approx(
        (service["estimate"] + policy["estimate"]) / 2, abs=1e-12
    )
    assert sum(r["variable"] == "policy" for r in records) == 1


def test_small_samples_and_wide_intervals_are_flagged_not_hidden(make_app):
    make_app(RESULT_MIN_N=0, RESULT_MAX_CI_WIDTH=1.0)
    load_demo(responses=300, seed=11)
    db.session.commit()
    wave = wave_by_code(WAVE_CODE)
    rows = [r for r in results.compute(wave, ["desk"]).records if r["estimate"] is not None]
    assert all(r["flags"] == ["one_psu"] for r in rows)  # a desk is one PSU (see below)
    widths = sorted(r["ci_high"] - r["ci_low"] for r in rows)
    sizes = sorted(r["n"] for r in rows)
    min_n, max_width = sizes[len(sizes) // 2], widths[len(widths) // 2]
    make_app(RESULT_MIN_N=min_n, RESULT_MAX_CI_WIDTH=max_width)
    flagged = results.compute(wave, ["desk"]).records
    assert len(flagged) == len(rows) + sum(r["estimate"] is None for r in flagged)  # none hidden
    for row in (r for r in flagged if r["estimate"] is not None):
        assert ("small_n" in row["flags"]) == (row["n"] < min_n)
        assert ("wide_ci" in row["flags"]) == (row["ci_high"] - row["ci_low"] > max_width)
    cautions = [set(r["flags"]) - {"one_psu"} for r in flagged]
    assert any(cautions) and not all(cautions)


def valid_desks(wave, column) -> dict[str, set[int]]:
    """The desks (PSUs) of each value of ``column`` among the wave's valid responses, from
    the raw rows."""
    found = defaultdict(set)
    query = (
        select(column, Response.service_point_id)
        .select_from(Response)
        .join(ServicePoint, ServicePoint.id == Response.service_point_id)
        .outerjoin(Procedure, Procedure.id == Response.procedure_id)
        .where(Response.wave_id == wave.id, Response.status == "valid")
    )
    for value, desk in db.session.execute(query):
        found[value].add(desk)
    return found


@pytest.mark.parametrize("by", ["desk", "procedure", "province"])
def test_an_index_resting_on_one_desk_per_stratum_is_flagged_one_psu(wave, by):
    """A domain whose responses come from a single desk (or one desk in each of its
    strata) has no variance between PSUs to estimate: df 0, and for one desk a standard
    error of 0 (R's svyby gives the same); its rows say so, never hidden."""
    stratum = {e.service_point_id: e.stratum for e in wave.frame}
    if by == "province":  # the demo frame's strata are its provinces
        desks = defaultdict(set)
        for desk in set().union(*valid_desks(wave, ServicePoint.code).values()):
            desks[stratum[desk]].add(desk)
    else:
        desks = valid_desks(wave, {"desk": ServicePoint.code, "procedure": Procedure.code}[by])
    records = results.compute(wave, [by]).records
    seen = set()
    for row in records:
        if row["estimate"] is None:
            continue
        if row["domain"] is None:
            assert "one_psu" not in row["flags"]
            continue
        mine = desks[row["domain"][by]]
        alone = len(mine) == len({stratum[desk] for desk in mine})
        assert ("one_psu" in row["flags"]) == alone, row
        seen.add(alone)
        if len(mine) == 1:
            assert row["se"] == pytest.approx(0.0, abs=1e-12)
            assert row["ci_high"] - row["ci_low"] == pytest.approx(0.0, abs=1e-12)
    assert seen == ({True} if by == "desk" else {False} if by == "province" else {True, False})


def test_the_results_page_shows_the_service_numbers_scoped_to_the_readers_units(
    wave, make_user, app
):
    import html

    from survey.models import Unit
    from tests.conftest import sign_in

    national = results.compute(wave, ["province"]).records
    provinces = sorted({r["domain"]["province"] for r in national})
    mine, other = (
        db.session.scalar(select(Unit).where(Unit.code == code)) for code in provinces[:2]
    )
    make_user("analyst@example.vn", "analyst", units=[mine])
    client = app.test_client()
    sign_in(client, "analyst@example.vn")
    form = {"by": "", "weighting": "design", "interval": "wald", "level": "0.95"}
    saved = client.post(f"/workbench/waves/{WAVE_CODE}/results", data=form)
    assert saved.status_code == 302  # a result set, computed by the reader's provinces
    page = html.unescape(client.get(saved.headers["Location"]).get_data(as_text=True))
    overall = next(
        r for r in national if r["variable"] == "overall" and r["domain"] == {"province": mine.code}
    )
    assert f"{100 * overall['estimate']:.1f}" in page
    assert f"{mine.name} ({mine.code})" in page and other.name not in page
    assert "Whole wave:" not in page and "Official-style figures" not in page
    csv_text = client.get(saved.headers["Location"] + "/index.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("variable,domain,estimate")
    assert f"province={mine.code}" in csv_text and f"province={other.code}" not in csv_text
    form["by"] = "colour"
    assert client.post(f"/workbench/waves/{WAVE_CODE}/results", data=form).status_code == 400
