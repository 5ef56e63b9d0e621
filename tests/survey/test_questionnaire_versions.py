"""Shipped questionnaire files become stored versions; one with responses is never edited."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import QuestionnaireVersion, Response, ServicePoint, Unit, Wave
from survey.questionnaire import shipped_questionnaires
from survey.services import questionnaires


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
    desk_file = next(shipped_copy.glob("sipas-desk*.yaml"))
    desk_file.write_text(
        desk_file.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8"
    )
    versions = questionnaires.sync_questionnaires()
    assert count_versions() == 2
    stored = next(v for v in versions if v.kind == "desk")
    assert stored.definition.endswith("# a comment\n")


def test_changed_file_with_responses_is_refused(app, shipped_copy):
    desk = next(v for v in questionnaires.sync_questionnaires() if v.kind == "desk")
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
    desk_file = next(shipped_copy.glob("sipas-desk*.yaml"))
    desk_file.write_text(desk_file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(UserError, match="already has responses"):
        questionnaires.sync_questionnaires()
    db.session.rollback()
    assert db.session.scalar(select(QuestionnaireVersion.checksum).filter_by(kind="desk")) == before
