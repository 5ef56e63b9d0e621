"""The indices over the waves of one questionnaire kind: in time order, each wave's own
numbers from ``results.compute``, breaks where the questionnaire version changes, and a
reader tied to units seeing their places' trend only."""

from __future__ import annotations

import html
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from survey.auth.policy import NATIONAL, scope_of
from survey.extensions import db
from survey.models import QuestionnaireVersion, Response, Unit, Wave
from survey.services import results, trends
from survey.services.demo import (
    EARLIER_WAVE_CODE,
    WAVE_CODE,
    DemoDesk,
    generate_responses,
    load_demo,
)
from survey.services.result_sets import visible
from survey.services.waves import create_wave, wave_by_code

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def current(app) -> Wave:
    load_demo(responses=200, seed=13)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


def desk_version(version: int) -> QuestionnaireVersion:
    return db.session.scalar(
        select(QuestionnaireVersion).filter_by(code="sipas-desk", version=version)
    )


def add_wave(
    code: str,
    version: QuestionnaireVersion,
    starts_on: date,
    *,
    responses: int = 80,
    province: str | None = None,
) -> Wave:
    """A closed wave with ``responses`` generated at the demo's desks (of ``province``)."""
    wave = create_wave(code, f"Đợt {code}", version, starts_on, starts_on + timedelta(days=40))
    wave.status = "closed"
    current = wave_by_code(WAVE_CODE)
    desks = [
        DemoDesk(entry.service_point, entry.stratum, entry.stratum_desks)
        for entry in current.frame
        if province is None or entry.stratum == province
    ]
    if responses:
        period = (starts_on, starts_on + timedelta(days=30))
        rng = np.random.default_rng(list(code.encode()))
        generate_responses(wave, desks, responses, rng, period=period)
    db.session.commit()
    return wave


def codes(found: trends.Trend) -> list[str]:
    return [item.wave.code for item in found.waves]


def main_chart(page: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg .*?</svg>", page, re.S).group(0))


def of_class(svg: ET.Element, name: str) -> list[ET.Element]:
    return [element for element in svg.iter() if element.get("class") == name]


def test_the_waves_come_in_time_order_each_with_its_own_numbers(current, client, login):
    earlier = wave_by_code(EARLIER_WAVE_CODE)
    oldest = add_wave("OLDEST", current.questionnaire, earlier.starts_on - timedelta(days=365))
    same_start = add_wave("SAME-START", current.questionnaire, current.starts_on)
    same_start.created_at = current.created_at + timedelta(hours=1)
    add_wave("EMPTY", current.questionnaire, current.starts_on, responses=0)
    db.session.commit()
    found = trends.trend(current, scope=NATIONAL)
    # Started first comes first; a wave starting the same day as another, made later, after
    # it; a wave without valid responses is left out.
    assert codes(found) == ["OLDEST", EARLIER_WAVE_CODE, WAVE_CODE, "SAME-START"]
    assert oldest.created_at > current.created_at  # made last, shown first
    for item in found.waves:
        assert item.rows == results.compute(item.wave).records
        assert not item.version_changed and item.problem is None
    assert found.domains == [None] and found.breaks == {}

    login("admin")
    page = html.unescape(client.get(f"/workbench/waves/{WAVE_CODE}/trend").get_data(True))
    chart = main_chart(page)
    assert [t.text for t in of_class(chart, "wave")] == codes(found)
    overall = [item.row("overall", None)["estimate"] for item in found.waves]
    assert [t.text for t in of_class(chart, "value")] == [f"{100 * e:.1f}" for e in overall]
    heights = [float(p.get("cy")) for p in of_class(chart, "point")]
    assert np.argsort(heights).tolist() == np.argsort([-e for e in overall]).tolist()
    assert len(of_class(chart, "line")) == 3 and len(of_class(chart, "whisker")) == 4
    for item in found.waves:  # the table has the same numbers
        row = item.row("overall", None)
        cells = f'{100 * row["estimate"]:.1f}</td>\\s*<td class="num">{100 * row["ci_low"]:.1f}'
        assert re.search(rf"<td>{item.wave.code}</td>\s*<td class=\"num\">{cells}", page)


def test_a_wave_of_another_questionnaire_kind_is_not_in_the_trend(current):
    household = db.session.scalar(select(QuestionnaireVersion).filter_by(kind="household"))
    other = create_wave("HOUSEHOLD", "Hộ gia đình", household, current.starts_on)
    other.status = "closed"
    point = current.frame[0].service_point
    db.session.add(
        Response(uuid=str(uuid.uuid4()), wave_id=other.id, service_point_id=point.id,
                 channel="paper", status="valid")
    )  # fmt: skip
    db.session.commit()
    assert codes(trends.trend(current, scope=NATIONAL)) == [EARLIER_WAVE_CODE, WAVE_CODE]
    assert codes(trends.trend(other, scope=NATIONAL)) == ["HOUSEHOLD"]


def test_a_new_questionnaire_version_breaks_the_series(current, client, login):
    earlier = wave_by_code(EARLIER_WAVE_CODE)
    between = earlier.starts_on + timedelta(days=100)
    add_wave("V1-A", desk_version(1), between)
    add_wave("V1-B", desk_version(1), between + timedelta(days=100))
    found = trends.trend(current, scope=NATIONAL)
    assert codes(found) == [EARLIER_WAVE_CODE, "V1-A", "V1-B", WAVE_CODE]
    assert [item.version_changed for item in found.waves] == [False, True, False, True]
    assert found.breaks == {1: "sipas-desk v1", 3: "sipas-desk v2"}
    v1 = found.waves[1].row("overall", None)
    service, policy = (found.waves[1].row(code, None)["estimate"] for code in ("service", "policy"))
    assert v1["estimate"] == pytest.approx((service + policy) / 2)  # v1's headline differs

    login("admin")
    response = client.get(f"/workbench/waves/{WAVE_CODE}/trend?index=overall&index=S-A")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    chart = main_chart(page)
    assert len(of_class(chart, "break")) == 2
    # Two series, each joined only between the two waves of version 1.
    assert len(of_class(chart, "series")) == 2 and len(of_class(chart, "line")) == 2
    assert page.count("new version: the series breaks here") == 2


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).filter_by(code=code))


def test_a_reader_tied_to_a_province_sees_their_provinces_trend(current, client, login):
    mine, other = unit("01"), unit("48")
    add_wave("ELSEWHERE", current.questionnaire, current.starts_on, province=other.code)
    user = login("analyst", units=[mine])
    scope = scope_of(user)
    found = trends.trend(current, scope=scope, by=["province"], keep=visible(scope))
    assert codes(found) == [EARLIER_WAVE_CODE, WAVE_CODE]  # no response of theirs elsewhere
    assert found.domains == [{"province": mine.code}]
    for item in found.waves:
        by_province = results.compute(item.wave, ["province"]).records
        assert item.rows == [r for r in by_province if r["domain"] == {"province": mine.code}]
    assert "ELSEWHERE" in codes(trends.trend(current, scope=NATIONAL))

    page = html.unescape(client.get(f"/workbench/waves/{WAVE_CODE}/trend").get_data(True))
    assert f"{mine.name} ({mine.code})" in page and other.name not in page
    assert "ELSEWHERE" not in page
    values = [t.text for t in of_class(main_chart(page), "value")]
    theirs = [item.row("overall", {"province": mine.code})["estimate"] for item in found.waves]
    assert values == [f"{100 * e:.1f}" for e in theirs]
    whole = [r["estimate"] for r in results.compute(current).records if r["variable"] == "overall"]
    assert f"{100 * whole[0]:.1f}" != values[-1]  # the whole wave's number is not theirs


@pytest.mark.parametrize(
    ("role", "scoped", "status"),
    [("analyst", True, 200), ("supervisor", True, 200), ("admin", True, 200),
     ("admin", False, 200), ("surveyor", True, 403)],
)  # fmt: skip
def test_the_page_renders_for_every_role_that_may_see_it(
    current, client, login, role, scoped, status
):
    login(role, units=[unit("01")] if scoped else [])
    response = client.get(f"/workbench/waves/{EARLIER_WAVE_CODE}/trend")
    assert response.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert page.count("<svg") == 1 + 5  # overall, then the five service dimensions
        assert WAVE_CODE in page and '<details class="numbers" open>' in page


def test_an_unknown_index_is_refused(current, client, login):
    login("admin")
    response = client.get(f"/workbench/waves/{WAVE_CODE}/trend?index=colour")
    assert response.status_code == 400
    assert "Unknown index colour" in response.get_data(as_text=True)
