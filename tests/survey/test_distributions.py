"""The answers to each item of a wave: weighted shares that make 100 %, the satisfied part
equal to the item's index, "not applicable" and blank apart, a chart drawn to the shares,
and a reader tied to units counting their units' responses only."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest
from sqlalchemy import select

from survey.auth.policy import NATIONAL, scope_of, units_under
from survey.charts.stacked import NA_END, NA_START, STACK_END, STACK_START
from survey.extensions import db
from survey.models import Answer, Response, ServicePoint, Unit
from survey.services import results
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.distributions import answer_distributions
from survey.services.questionnaires import questionnaire_of
from survey.services.waves import wave_by_code

SVG = "{http://www.w3.org/2000/svg}"
ITEM = "S-B3"  # likert5 with "not applicable" (fees)
OPTIONAL = "P-A1"  # an optional policy item: often blank


@pytest.fixture
def wave(app):
    load_demo(responses=300, seed=11)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


def by_hand_weights(wave) -> dict[int, float]:
    """Each valid response's base weight from the raw rows: (desks of the stratum ÷ its
    desks answering) × (the desk's transactions ÷ its valid responses)."""
    responses = db.session.execute(
        select(Response.id, Response.service_point_id).where(
            Response.wave_id == wave.id, Response.status == "valid"
        )
    ).all()
    frame = {entry.service_point_id: entry for entry in wave.frame}
    per_desk: dict[int, int] = defaultdict(int)
    for _, desk in responses:
        per_desk[desk] += 1
    answering: dict[str, set] = defaultdict(set)
    for desk in per_desk:
        answering[frame[desk].stratum].add(desk)
    return {
        response_id: frame[desk].stratum_desks / len(answering[frame[desk].stratum])
        * frame[desk].transactions / per_desk[desk]
        for response_id, desk in responses
    }  # fmt: skip


def answers_to(item: str) -> dict[int, float]:
    rows = db.session.execute(
        select(Answer.response_id, Answer.value_num).where(Answer.item_code == item)
    ).all()
    return dict(rows)


def item_of(found, code: str):
    return next(i for group in found.groups for i in group.items if i.item.code == code)


def test_shares_make_100_percent_and_the_satisfied_share_is_the_items_index(wave):
    found = answer_distributions(wave)
    index = {r["variable"]: r for r in results.compute(wave).records if r["domain"] is None}
    items = [i for group in found.groups for i in group.items]
    scored = [i for i in questionnaire_of(wave.questionnaire).items() if i.scale.satisfied]
    assert [i.item.code for i in items] == [i.code for i in scored]
    for item in items:
        shares = [v.share for v in item.values]
        assert sum(shares) == pytest.approx(1, abs=1e-12), item.item.code
        assert all(v.value != 0 for v in item.values)  # "not applicable" is not in the bar
        assert item.satisfied_share == pytest.approx(index[item.item.code]["estimate"], rel=1e-12)
        assert item.valid == index[item.item.code]["n"]
        assert item.valid + (item.not_applicable or 0) + item.blank == item.responses


def test_not_applicable_and_blank_are_weighted_shares_of_all_responses(wave):
    weights = by_hand_weights(wave)
    total = sum(weights.values())
    found = answer_distributions(wave)
    fees = item_of(found, ITEM)
    answers = answers_to(ITEM)
    not_applicable = [rid for rid in weights if answers.get(rid) == 0]
    assert not_applicable, "the demo data should answer 'not applicable' to the fees"
    assert fees.not_applicable == len(not_applicable)
    expected = sum(weights[rid] for rid in not_applicable) / total
    assert fees.not_applicable_share == pytest.approx(expected, rel=1e-12)
    five = [rid for rid in weights if answers.get(rid) == 5]
    valid = [rid for rid in weights if answers.get(rid) in (1, 2, 3, 4, 5)]
    share = sum(weights[rid] for rid in five) / sum(weights[rid] for rid in valid)
    assert next(v for v in fees.values if v.value == 5).share == pytest.approx(share, rel=1e-12)

    policy = item_of(found, OPTIONAL)
    answered = answers_to(OPTIONAL)
    blank = [rid for rid in weights if rid not in answered]
    assert blank and policy.not_applicable is None  # no such option on its scale
    assert policy.blank == len(blank)
    expected = sum(weights[rid] for rid in blank) / total
    assert policy.blank_share == pytest.approx(expected, rel=1e-12)


def charts_of(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, re.S)]


def test_the_chart_draws_each_segment_to_its_share(wave, client, login):
    login("admin")
    found = answer_distributions(wave)
    response = client.get(f"/workbench/waves/{WAVE_CODE}/answers")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    drawn = {}
    for svg in charts_of(page):
        assert svg.get("role") == "img" and svg.get("aria-labelledby")
        for group in svg.iter(f"{SVG}g"):
            if group.get("class") == "item":
                drawn[group.get("data-item")] = group
    items = {i.item.code: i for group in found.groups for i in group.items}
    assert drawn.keys() == items.keys()
    full = STACK_END - STACK_START
    for code, group in drawn.items():
        rects = list(group.iter(f"{SVG}rect"))
        (bar,) = [r for r in rects if r.get("class") == "bar"]
        assert float(bar.get("width")) == pytest.approx(full)
        segments = [r for r in rects if r.get("class") == "segment"]
        shares = {v.value: v.share for v in items[code].values}
        assert [int(s.get("data-value")) for s in segments] == list(shares)
        for segment in segments:
            width = float(segment.get("width"))
            assert width / full == pytest.approx(shares[int(segment.get("data-value"))], abs=1e-4)
        assert sum(float(s.get("width")) for s in segments) == pytest.approx(full, abs=0.05)
        satisfied = [r for r in rects if r.get("class") == "satisfied"]
        underlined = sum(float(r.get("width")) for r in satisfied)
        assert underlined / full == pytest.approx(items[code].satisfied_share, abs=1e-3)
        na = [r for r in rects if r.get("class") == "not-applicable"]
        if items[code].not_applicable is None:
            assert na == []
        else:
            share = float(na[0].get("width")) / (NA_END - NA_START)
            assert share == pytest.approx(items[code].not_applicable_share, abs=1e-3)
    fees = items[ITEM]  # the same numbers in the table
    assert f"<strong>{100 * fees.satisfied_share:.1f}</strong>" in page
    five = next(v for v in fees.values if v.value == 5)
    assert f'{100 * five.share:.1f}<br><span class="muted">{five.count}</span>' in page


def province_with_two_desks(wave) -> tuple[Unit, Unit]:
    """A province of the demo (the reader's) and another one."""
    codes = sorted({e.stratum for e in wave.frame})
    mine, other = (db.session.scalar(select(Unit).filter_by(code=code)) for code in codes[:2])
    return mine, other


def responses_under(wave, unit: Unit) -> int:
    units = units_under([unit.id])
    return db.session.scalar(
        select(db.func.count(Response.id))
        .join(ServicePoint, ServicePoint.id == Response.service_point_id)
        .where(Response.wave_id == wave.id, Response.status == "valid")
        .where(ServicePoint.unit_id.in_(units))
    )


def test_a_reader_tied_to_a_province_sees_its_answers_only(wave, client, login):
    mine, other = province_with_two_desks(wave)
    user = login("analyst", units=[mine])
    found = answer_distributions(wave, scope_of(user))
    assert found.responses == responses_under(wave, mine) < len(by_hand_weights(wave))
    assert mine.code in found.places and other.code not in found.places
    by_province = results.compute(wave, ["province"]).records
    theirs = {r["variable"]: r for r in by_province if r["domain"] == {"province": mine.code}}
    for group in found.groups:
        for item in group.items:
            assert item.satisfied_share == pytest.approx(
                theirs[item.item.code]["estimate"], rel=1e-12
            )
    page = html.unescape(client.get(f"/workbench/waves/{WAVE_CODE}/answers").get_data(True))
    assert f"{found.responses} valid responses at the desks of your units" in page
    fees = item_of(found, ITEM)
    assert f"<strong>{100 * fees.satisfied_share:.1f}</strong>" in page
    assert f'value="{mine.code}"' in page and f'value="{other.code}"' not in page
    answers = f"/workbench/waves/{WAVE_CODE}/answers"
    assert client.get(answers, query_string={"unit": other.code}).status_code == 404
    assert client.get(answers, query_string={"unit": "NO-SUCH"}).status_code == 404


def test_answers_narrow_to_one_unit(wave, client, login):
    mine, _other = province_with_two_desks(wave)
    login("admin")
    desks = [e.service_point for e in wave.frame if e.stratum == mine.code]
    commune = next(d.unit for d in desks if d.unit.level == "commune")
    for unit in (mine, commune):
        found = answer_distributions(wave, NATIONAL, units_under([unit.id]))
        assert found.responses == responses_under(wave, unit) > 0
        page = html.unescape(
            client.get(
                f"/workbench/waves/{WAVE_CODE}/answers", query_string={"unit": unit.code}
            ).get_data(True)
        )
        assert f"{found.responses} valid responses at the desks of {unit.code}" in page
        fees = item_of(found, ITEM)
        assert f"<strong>{100 * fees.satisfied_share:.1f}</strong>" in page


@pytest.mark.parametrize(
    ("role", "scoped", "status"),
    [("analyst", True, 200), ("supervisor", True, 200), ("admin", True, 200),
     ("admin", False, 200), ("surveyor", True, 403)],
)  # fmt: skip
def test_the_page_renders_for_every_role_that_may_see_it(wave, client, login, role, scoped, status):
    mine, _other = province_with_two_desks(wave)
    login(role, units=[mine] if scoped else [])
    response = client.get(f"/workbench/waves/{WAVE_CODE}/answers")
    assert response.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert page.count("<svg") == len(answer_distributions(wave).groups)
        assert "S-B3" in page and '<details class="numbers" open>' in page


def test_a_wave_without_valid_responses_says_so(wave, client, login):
    login("admin")
    for response in db.session.scalars(select(Response).where(Response.wave_id == wave.id)):
        response.status = "void"
    db.session.commit()
    page = client.get(f"/workbench/waves/{WAVE_CODE}/answers").get_data(as_text=True)
    assert "has no valid responses" in page and "<svg" not in page
