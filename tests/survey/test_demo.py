"""``flask --app survey demo``: real units, desks, procedures, an open wave and the closed
wave of the year before, valid responses to both."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

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
from survey.queries import as_utc, local_day_start
from survey.services import results
from survey.services.demo import DEMO_DIR, EARLIER_WAVE_CODE, UNITS_FILE, WAVE_CODE, load_demo
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


def wave_responses(code: str) -> int:
    return db.session.scalar(select(func.count(Response.id)).join(Wave).where(Wave.code == code))


def test_running_twice_changes_nothing(demo):
    assert "2 waves" in demo and "400 responses," in demo
    assert f"400 responses to {EARLIER_WAVE_CODE}" in demo
    before = counts()
    assert load_demo(responses=400, seed=7) == "Demo data already loaded; nothing changed."
    db.session.commit()
    assert counts() == before
    assert before["Wave"] == 2 and before["Response"] == 800 and before["Procedure"] >= 12
    assert wave_responses(WAVE_CODE) == wave_responses(EARLIER_WAVE_CODE) == 400


def test_a_demo_loaded_before_the_earlier_wave_existed_gets_it(app):
    """A database holding only the open demo wave gets the earlier one on the next run."""
    load_demo(responses=100, seed=5)
    earlier = db.session.scalar(select(Wave.id).filter_by(code=EARLIER_WAVE_CODE))
    answered = select(Response.id).where(Response.wave_id == earlier)
    db.session.execute(delete(Answer).where(Answer.response_id.in_(answered)))
    db.session.execute(delete(Response).where(Response.wave_id == earlier))
    db.session.execute(delete(FrameEntry).where(FrameEntry.wave_id == earlier))
    db.session.execute(delete(Wave).where(Wave.id == earlier))
    db.session.commit()
    summary = load_demo(responses=100, seed=5)
    assert f"100 responses to {EARLIER_WAVE_CODE}" in summary and "100 responses," not in summary
    assert wave_responses(WAVE_CODE) == wave_responses(EARLIER_WAVE_CODE) == 100


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


@pytest.mark.parametrize("code", [WAVE_CODE, EARLIER_WAVE_CODE])
def test_desks_per_province_and_each_wave_with_its_frame(demo, code):
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    assert wave.questionnaire.kind == "desk"
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


def test_the_earlier_wave_is_closed_a_year_before_on_the_same_questionnaire(demo):
    wave = db.session.scalar(select(Wave).filter_by(code=WAVE_CODE))
    earlier = db.session.scalar(select(Wave).filter_by(code=EARLIER_WAVE_CODE))
    assert (wave.status, earlier.status) == ("open", "closed")
    assert earlier.questionnaire_id == wave.questionnaire_id
    assert 357 <= (wave.starts_on - earlier.starts_on).days <= 371
    assert earlier.ends_on < wave.starts_on
    sizes = {
        code: {e.service_point_id: e.transactions for e in w.frame}
        for code, w in ((WAVE_CODE, wave), (EARLIER_WAVE_CODE, earlier))
    }
    assert sizes[WAVE_CODE].keys() == sizes[EARLIER_WAVE_CODE].keys()
    assert sizes[WAVE_CODE] != sizes[EARLIER_WAVE_CODE]  # a frame of its own


def test_the_earlier_wave_is_a_little_less_satisfied(demo):
    def overall(code: str) -> float:
        wave = db.session.scalar(select(Wave).filter_by(code=code))
        return next(r for r in results.compute(wave).records if r["variable"] == "overall")

    now, before = overall(WAVE_CODE), overall(EARLIER_WAVE_CODE)
    assert 0 < now["estimate"] - before["estimate"] < 0.15


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


@pytest.mark.parametrize("code", [WAVE_CODE, EARLIER_WAVE_CODE])
def test_responses_pass_the_questionnaire_validation(demo, code):
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    questionnaire = questionnaire_of(wave.questionnaire)
    now = datetime.now(UTC)
    if wave.status == "open":
        since, until = now - timedelta(days=31), now
    else:
        since, until = local_day_start(wave.starts_on), local_day_start(wave.ends_on)
        until += timedelta(days=1)
    responses = db.session.scalars(select(Response).where(Response.wave_id == wave.id)).all()
    assert len(responses) == 400
    for response in responses:
        assert (response.channel, response.status) == ("qr", "valid")
        assert since < as_utc(response.submitted_at) <= until
        point = db.session.get(ServicePoint, response.service_point_id)
        handled = {p.code for p in point.procedures}
        answers = stored_answers(response)
        assert questionnaire.validate_answers(answers, procedures=handled) == {}
        procedure = db.session.get(Procedure, response.procedure_id)
        assert procedure.code == answers["PROCEDURE"] and procedure.code in handled


def test_answers_are_mostly_satisfied_and_desks_differ(demo):
    wave = db.session.scalar(select(Wave).filter_by(code=WAVE_CODE))
    likert = [
        i.code for i in questionnaire_of(wave.questionnaire).items() if i.scale.kind == "likert5"
    ]
    rows = db.session.execute(
        select(Response.service_point_id, Answer.value_num)
        .join(Answer)
        .where(Answer.item_code.in_(likert), Answer.value_num.between(1, 5))
        .where(Response.wave_id == wave.id)
    ).all()
    satisfied = [value >= 4 for _desk, value in rows]
    assert 0.6 < sum(satisfied) / len(satisfied) < 0.95
    by_desk = defaultdict(list)
    for desk, value in rows:
        by_desk[desk].append(value >= 4)
    shares = [sum(v) / len(v) for v in by_desk.values() if len(v) > 100]
    assert max(shares) - min(shares) > 0.05
    answered = db.session.scalar(
        select(func.count())
        .select_from(Answer)
        .join(Response)
        .where(Answer.item_code == "P-A1", Response.wave_id == wave.id)
    )
    assert 200 < answered < 400  # an optional item is sometimes left blank


def test_demo_command(runner):
    result = runner.invoke(args=["demo", "--responses", "120", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "120 responses," in result.output
    again = runner.invoke(args=["demo", "--responses", "120", "--seed", "3"])
    assert "nothing changed" in again.output
    assert wave_responses(WAVE_CODE) == 120
    assert db.session.scalar(select(func.count(Response.id))) == 240
