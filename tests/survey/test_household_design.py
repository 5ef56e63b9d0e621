"""Household waves: the PSU is the commune or village cluster each response records.

Responses are made here, in two provinces: a commune and a village cluster
(whose commune is the one above it) in the first, a commune in the second.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from flask_babel import force_locale
from sqlalchemy import select

from survey.errors import UserError
from survey.extensions import db
from survey.models import Answer, QuestionnaireVersion, Response, ServicePoint, Unit, Wave
from survey.services import frames, results, targets
from survey.services.design_frame import design_rows, scored_items, wave_frame
from survey.services.questionnaires import questionnaire_of, sync_questionnaires
from survey.services.service_points import create_service_point
from survey.services.units import create_unit

#: Valid responses per cluster, and the frame: stratum, its clusters in the population,
#: the cluster's households.
RESPONSES = {"00004": 3, "00007-T1": 2, "26734": 4, "26740": 2}
FRAME = {
    "00004": ("01", 10, 300),
    "00007-T1": ("01", 10, 120),
    "26734": ("79", 5, 500),
    "26740": ("79", 5, 200),
}
PLACES = {
    "00004": ("01", "00004"),
    "00007-T1": ("01", "00007"),
    "26734": ("79", "26734"),
    "26740": ("79", "26740"),
}


@pytest.fixture
def wave(app):
    hanoi = create_unit("01", "Thành phố Hà Nội", "province")
    create_unit("00004", "Phường Ba Đình", "commune", hanoi)
    commune = create_unit("00007", "Phường Ngọc Hà", "commune", hanoi)
    saigon = create_unit("79", "Thành phố Hồ Chí Minh", "province")
    create_unit("26734", "Phường Sài Gòn", "commune", saigon)
    create_unit("26740", "Phường Tân Định", "commune", saigon)
    db.session.add(Unit(code="00007-T1", name="Tổ dân phố 1", level="village", parent=commune))
    desk = create_service_point("D-1", "Một cửa Ba Đình", hanoi, "province")
    sync_questionnaires()
    version = db.session.scalar(
        select(QuestionnaireVersion).where(QuestionnaireVersion.kind == "household")
    )
    wave = Wave(code="H-1", name="Khảo sát hộ gia đình", questionnaire=version, status="open")
    db.session.add(wave)
    db.session.flush()
    items = scored_items(questionnaire_of(version))
    rng = np.random.default_rng(7)
    for code, count in RESPONSES.items():
        for _ in range(count):
            respond(wave, desk, unit(code), items, rng)
    db.session.commit()
    return wave


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def respond(wave, desk, cluster: Unit | None, items, rng, status: str = "valid") -> Response:
    response = Response(
        uuid=str(uuid.uuid4()),
        wave_id=wave.id,
        service_point_id=desk.id,
        channel="paper",
        status=status,
        unit_id=cluster.id if cluster else None,
    )
    db.session.add(response)
    db.session.flush()
    for item in items:
        values = [v for v in item.scale.values if v != item.scale.not_applicable]
        value = int(rng.choice(values))
        db.session.add(Answer(response_id=response.id, item_code=item.code, value_num=value))
    return response


def import_frame(wave, clusters=FRAME) -> None:
    text = "psu,stratum,stratum_psus,size\n" + "".join(
        f"{code},{stratum},{psus},{size}\n" for code, (stratum, psus, size) in clusters.items()
    )
    rows = frames.parse_frame(frames.read_table(text.encode(), "frame.csv"), wave)
    frames.import_frame(wave, rows)
    db.session.commit()


def weights_by_hand() -> dict[str, float]:
    """(stratum_psus / clusters of the stratum answering) x (households / responses)."""
    answering = {}
    for code, (stratum, _, _) in FRAME.items():
        answering[stratum] = answering.get(stratum, 0) + (RESPONSES[code] > 0)
    return {
        code: psus / answering[stratum] * size / RESPONSES[code]
        for code, (stratum, psus, size) in FRAME.items()
    }


def message(error: pytest.ExceptionInfo) -> str:
    with force_locale("en"):
        return str(error.value.message)


def test_the_cluster_is_the_psu_and_weights_follow_the_frame(wave):
    import_frame(wave)
    rows, weighted = design_rows(wave)
    assert weighted
    expected = weights_by_hand()
    assert sorted(expected.values()) == pytest.approx([250.0, 300.0, 312.5, 500.0])
    for row in rows.itertuples():
        assert row.weight == pytest.approx(expected[row.psu], rel=1e-12)
        assert row.stratum == FRAME[row.psu][0]
        assert row.fpc == FRAME[row.psu][1]
        assert (row.province, row.commune) == PLACES[row.psu]
        assert row.unit_id == unit(row.psu).id
    assert dict(rows["psu"].value_counts()) == RESPONSES


def test_the_frame_entries_are_matched_by_unit(wave):
    import_frame(wave, {code: FRAME[code] for code in ("00004", "00007-T1", "26740")})
    with pytest.raises(UserError) as raised:
        design_rows(wave)
    assert message(raised) == "Clusters 26734 have responses but are not in the frame of wave H-1."


def test_a_response_without_a_cluster_is_refused_with_how_many(wave):
    desk = db.session.scalar(select(ServicePoint))
    items = scored_items(questionnaire_of(wave.questionnaire))
    rng = np.random.default_rng(1)
    respond(wave, desk, None, items, rng)
    respond(wave, desk, None, items, rng)
    respond(wave, desk, None, items, rng, status="void")  # void: does not count
    db.session.commit()
    with pytest.raises(UserError) as raised:
        results.compute(wave)
    assert message(raised) == (
        "2 valid responses of household wave H-1 record no commune or village cluster; "
        "enter it on each form first."
    )


def test_without_a_frame_strata_are_provinces_and_weights_1(wave):
    rows, weighted = design_rows(wave)
    assert not weighted
    assert set(rows["weight"]) == {1.0}
    assert list(rows["stratum"]) == list(rows["province"])
    assert set(rows["psu"]) == set(RESPONSES)
    assert results.compute(wave).weighting == "unweighted"


def test_province_and_commune_domains_are_the_clusters(wave):
    import_frame(wave)
    first = questionnaire_of(wave.questionnaire).dimension_items("S-A")[0]
    item, satisfied = first.code, first.scale.satisfied
    weight = weights_by_hand()
    answers = db.session.execute(
        select(Unit.code, Answer.value_num)
        .join(Response, Response.id == Answer.response_id)
        .join(Unit, Unit.id == Response.unit_id)
        .where(Answer.item_code == item)
    ).all()
    records = results.compute(wave, ["province"]).records
    for province in ("01", "79"):
        mine = [(code, value) for code, value in answers if PLACES[code][0] == province]
        total = sum(weight[code] for code, _ in mine)
        share = sum(weight[code] for code, value in mine if value in satisfied) / total
        (row,) = [
            r for r in records if r["variable"] == item and r["domain"] == {"province": province}
        ]
        assert row["estimate"] == pytest.approx(share, rel=1e-12)
        assert row["n"] == len(mine) and row["weighting"] == "design"
    communes = {r["domain"]["commune"] for r in results.compute(wave, ["commune"]).records}
    assert communes == {"00004", "00007", "26734", "26740"}  # the village counts in its commune


def test_a_household_wave_is_post_stratified_to_province_targets(wave):
    import_frame(wave)
    rows = targets.read_table(b"province,count\n01,5000\n79,8000\n", "targets.csv")
    targets.import_targets(wave, targets.parse_targets(rows, wave))
    db.session.commit()
    frame = wave_frame(wave, "post-stratify")
    sums = frame.data.assign(w=frame.design.weights).groupby("province")["w"].sum()
    assert dict(sums) == pytest.approx({"01": 5000.0, "79": 8000.0}, rel=1e-12)
    assert results.compute(wave, weighting="post-stratify").weighting == "post-stratify"
