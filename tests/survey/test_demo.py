"""``flask --app survey demo``: real units, desks, procedures, an open wave, valid responses."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    Answer,
    AuditEntry,
    FrameEntry,
    Procedure,
    QuestionnaireVersion,
    Response,
    ServicePoint,
    Unit,
    Wave,
)
from survey.queries import as_utc
from survey.services.demo import DEMO_DIR, UNITS_FILE, WAVE_CODE, load_demo
from survey.services.questionnaires import questionnaire_of

TABLES = [
    Unit,
    Procedure,
    ServicePoint,
    QuestionnaireVersion,
    Wave,
    FrameEntry,
    Response,
    Answer,
    AuditEntry,
]


def counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in TABLES}


@pytest.fixture
def demo(app):
    summary = load_demo(responses=400, seed=7)
    db.session.commit()
    return summary


def test_running_twice_changes_nothing(demo):
    assert "400 responses" in demo
    before = counts()
    assert load_demo(responses=400, seed=7) == "Demo data already loaded; nothing changed."
    db.session.commit()
    assert counts() == before
    assert before["Response"] == 400 and before["Procedure"] >= 12


def test_units_are_real_provinces_and_communes(demo):
    extract = json.loads(UNITS_FILE.read_text(encoding="utf-8"))["data"]
    assert len(extract) >= 3
    for province in extract:
        unit = db.session.scalar(select(Unit).filter_by(code=province["level1_id"]))
        assert unit.name == province["name"] and unit.level == "province"
        for commune in province["level2s"]:
            child = db.session.scalar(select(Unit).filter_by(code=commune["level2_id"]))
            assert child.name == commune["name"] and child.parent_id == unit.id
    assert db.session.scalar(select(Unit.name).filter_by(code="01")) == "Thành phố Hà Nội"


def test_extract_keeps_its_licence():
    assert "MIT License" in (DEMO_DIR / "LICENSE-units-2025").read_text()
    readme = (DEMO_DIR / "README.md").read_text()
    assert "dvhcvn/20250701" in readme and "MIT" in readme


def test_desks_per_province_and_open_wave_with_frame(demo):
    wave = db.session.scalar(select(Wave).filter_by(code=WAVE_CODE))
    assert wave.status == "open" and wave.questionnaire.kind == "desk"
    by_stratum = defaultdict(list)
    for entry in wave.frame:
        by_stratum[entry.stratum].append(entry)
        assert entry.transactions > 0
        assert entry.service_point.unit.code.startswith(entry.stratum) or (
            entry.service_point.unit.parent.code == entry.stratum
        )
    assert len(by_stratum) >= 3
    extract = {p["level1_id"]: p for p in json.loads(UNITS_FILE.read_text())["data"]}
    for stratum, entries in by_stratum.items():
        assert 2 <= len(entries) <= 4
        assert {e.stratum_desks for e in entries} == {extract[stratum]["level2_count"] + 1}
        names = [e.service_point.name for e in entries]
        assert any(n.startswith("Trung tâm Phục vụ hành chính công") for n in names)
        assert any(n.startswith("Bộ phận Một cửa UBND") for n in names)
    for point in db.session.scalars(select(ServicePoint)):
        assert point.procedures and point.active


def stored_answers(response: Response) -> dict:
    answers: dict = {}
    for answer in response.answers:
        if answer.item_code in answers:
            previous = answers[answer.item_code]
            answers[answer.item_code] = [*(previous if isinstance(previous, list) else [previous])]
            answers[answer.item_code].append(answer.value)
        else:
            answers[answer.item_code] = answer.value
    return answers


def test_responses_pass_the_questionnaire_validation(demo):
    wave = db.session.scalar(select(Wave).filter_by(code=WAVE_CODE))
    questionnaire = questionnaire_of(wave.questionnaire)
    now = datetime.now(UTC)
    responses = db.session.scalars(select(Response)).all()
    for response in responses:
        assert (response.channel, response.status, response.wave_id) == ("qr", "valid", wave.id)
        assert now - timedelta(days=31) < as_utc(response.submitted_at) <= now
        point = db.session.get(ServicePoint, response.service_point_id)
        handled = {p.code for p in point.procedures}
        answers = stored_answers(response)
        assert questionnaire.validate_answers(answers, procedures=handled) == {}
        procedure = db.session.get(Procedure, response.procedure_id)
        assert procedure.code == answers["PROCEDURE"] and procedure.code in handled


def test_answers_are_mostly_satisfied_and_desks_differ(demo):
    likert = [
        i.code
        for i in questionnaire_of(db.session.scalar(select(Wave)).questionnaire).items()
        if i.scale.kind == "likert5"
    ]
    rows = db.session.execute(
        select(Response.service_point_id, Answer.value_num)
        .join(Answer)
        .where(Answer.item_code.in_(likert), Answer.value_num.between(1, 5))
    ).all()
    satisfied = [value >= 4 for _desk, value in rows]
    assert 0.6 < sum(satisfied) / len(satisfied) < 0.95
    by_desk = defaultdict(list)
    for desk, value in rows:
        by_desk[desk].append(value >= 4)
    shares = [sum(v) / len(v) for v in by_desk.values() if len(v) > 100]
    assert max(shares) - min(shares) > 0.05
    answered = db.session.scalar(select(func.count()).where(Answer.item_code == "P-A1"))
    assert 200 < answered < 400  # an optional item is sometimes left blank


def test_demo_command(runner):
    result = runner.invoke(args=["demo", "--responses", "120", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "120 responses" in result.output
    again = runner.invoke(args=["demo", "--responses", "120", "--seed", "3"])
    assert "nothing changed" in again.output
    assert db.session.scalar(select(func.count(Response.id))) == 120
