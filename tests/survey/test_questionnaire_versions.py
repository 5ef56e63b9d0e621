"""Shipped questionnaire files become stored versions; one with responses is never edited."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import QuestionnaireVersion, Response, ServicePoint, Unit, Wave
from survey.questionnaire import SHIPPED_DIR, shipped_questionnaires
from survey.services import questionnaires

DESK_V1, DESK_V2 = "sipas-desk.v1.yaml", "sipas-desk.v2.yaml"


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """The shipped files, copied where a test may change them."""
    for path in shipped_questionnaires():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(
        questionnaires, "shipped_questionnaires", lambda: sorted(tmp_path.glob("*.yaml"))
    )
    return tmp_path


def count_versions() -> int:
    return db.session.scalar(select(func.count(QuestionnaireVersion.id)))


def test_sync_loads_each_shipped_file_once(app):
    first = questionnaires.sync_questionnaires()
    assert {v.kind for v in first} == {"desk", "household"}
    questionnaires.sync_questionnaires()
    assert count_versions() == len(shipped_questionnaires())


def test_changed_file_without_responses_updates_its_version(app, shipped_copy):
    questionnaires.sync_questionnaires()
    desk_file = shipped_copy / DESK_V1
    desk_file.write_text(
        desk_file.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8"
    )
    versions = questionnaires.sync_questionnaires()
    assert count_versions() == len(shipped_questionnaires())
    stored = next(v for v in versions if (v.code, v.version) == ("sipas-desk", 1))
    assert stored.definition.endswith("# a comment\n")


def test_changed_file_with_responses_is_refused(app, shipped_copy):
    versions = questionnaires.sync_questionnaires()
    desk = next(v for v in versions if (v.code, v.version) == ("sipas-desk", 1))
    unit = Unit(code="01", name="Hà Nội", level="province")
    point = ServicePoint(code="HN-1", name="Một cửa", unit=unit)
    wave = Wave(code="W1", name="W1", questionnaire=desk, status="open")
    db.session.add_all([unit, point, wave])
    db.session.flush()
    db.session.add(
        Response(
            uuid="5f0c1e9e-0000-4000-8000-000000000001",
            wave_id=wave.id,
            service_point_id=point.id,
            channel="qr",
        )
    )
    db.session.commit()
    before = desk.checksum
    desk_file = shipped_copy / DESK_V1
    desk_file.write_text(desk_file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(UserError, match="already has responses"):
        questionnaires.sync_questionnaires()
    db.session.rollback()
    stored = select(QuestionnaireVersion.checksum).filter_by(code="sipas-desk", version=1)
    assert db.session.scalar(stored) == before


def test_a_new_version_beside_one_with_responses_is_loaded(app, shipped_copy):
    """The way to change a version with responses: v2 is added, v1 stays as it was."""
    (shipped_copy / DESK_V2).unlink()
    v1 = next(v for v in questionnaires.sync_questionnaires() if v.code == "sipas-desk")
    unit = Unit(code="01", name="Hà Nội", level="province")
    point = ServicePoint(code="HN-1", name="Một cửa", unit=unit)
    wave = Wave(code="W1", name="W1", questionnaire=v1, status="open")
    db.session.add_all([unit, point, wave])
    db.session.flush()
    db.session.add(
        Response(
            uuid="5f0c1e9e-0000-4000-8000-000000000002",
            wave_id=wave.id,
            service_point_id=point.id,
            channel="qr",
        )
    )
    db.session.commit()
    before = v1.checksum
    shutil.copy(SHIPPED_DIR / DESK_V2, shipped_copy / DESK_V2)
    versions = questionnaires.sync_questionnaires()
    desk = {v.version: v for v in versions if v.code == "sipas-desk"}
    assert set(desk) == {1, 2} and desk[1].checksum == before
    assert questionnaires.questionnaire_of(desk[2]).headline == ("service",)
    assert questionnaires.questionnaire_of(desk[1]).headline == ("service", "policy")


def test_a_provinces_own_file_is_loaded_from_the_command_line(app, runner, tmp_path):
    """A province loads the ministry's form as its own file, from anywhere on disk."""
    own = (SHIPPED_DIR / "sipas-household-2023.v2.yaml").read_text(encoding="utf-8")
    own = own.replace("code: sipas-household-2023", "code: sipas-household-bnv", 1)
    path = tmp_path / "sipas-household-bnv.v1.yaml"
    path.write_text(own.replace("version: 2", "version: 1", 1), encoding="utf-8")
    result = runner.invoke(args=["questionnaire", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "sipas-household-bnv v1 (household): stored" in result.output
    stored = db.session.scalar(
        select(QuestionnaireVersion).filter_by(code="sipas-household-bnv", version=1)
    )
    assert stored.kind == "household"

    broken = tmp_path / "sipas-household-bad.v1.yaml"
    broken.write_text(own.replace("kind: household", "kind: housefold", 1), encoding="utf-8")
    result = runner.invoke(args=["questionnaire", "load", str(path), str(broken)])
    assert result.exit_code == 1
    assert "kind" in result.output
    assert db.session.scalar(select(func.count(QuestionnaireVersion.id))) == 1


def test_load_without_files_stores_every_shipped_file(app, runner):
    result = runner.invoke(args=["questionnaire", "load"])
    assert result.exit_code == 0, result.output
    count = db.session.scalar(select(func.count(QuestionnaireVersion.id)))
    assert count == len(shipped_questionnaires())
