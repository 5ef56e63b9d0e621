"""A wave in the database to SIPAS indices: valid responses only, N/A out of the denominator,
the frame's weights, the same numbers as ``python -m analysis`` on the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Answer, FrameEntry, Response, ServicePoint
from survey.services import results
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.design_frame import wave_frame
from survey.services.waves import wave_by_code

NOT_APPLICABLE = 0
ITEM = "S-B3"  # likert5 with "not applicable" (fees)


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
    frame = {e.service_point_id: e for e in db.session.scalars(select(FrameEntry))}
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
        select(Response).join(Answer).where(Answer.item_code == ITEM, Answer.value_num == 5)
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
    ours = results.compute(wave, ["province"]).records
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
    assert lines[0] == "variable,domain,estimate,se,ci_low,ci_high,df,deff,n,weighting"
    assert any(line.startswith("overall,province=") for line in lines[1:])


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
