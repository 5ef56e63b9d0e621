"""Two units of a wave, or two waves, side by side: the difference, its interval and its
p-value; scoping to the reader's units; the chart's marks where the numbers say."""

from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import select

from analysis import SurveyDesign, contrast, sipas_index
from survey.extensions import db
from survey.models import FrameEntry, ServicePoint, Unit
from survey.services import comparisons, results
from survey.services import demo as demo_service
from survey.services import waves as wave_service
from survey.services.comparisons import Place
from survey.services.demo import WAVE_CODE, DemoDesk, generate_responses, load_demo
from survey.services.design_frame import wave_frame
from survey.services.waves import wave_by_code

COMPARED = ("overall", "service", "policy", "S-A", "S-B", "S-C", "S-D", "S-E",
            "P-A", "P-B", "P-C", "P-D")  # fmt: skip
PAGE = f"/workbench/waves/{WAVE_CODE}/compare"


def _earlier_wave(current):
    """The demo's earlier wave where the demo has one; else one made here the same way:
    the same questionnaire, desks and frame, its own responses, closed."""
    code = getattr(demo_service, "EARLIER_WAVE_CODE", None)
    found = wave_by_code(code) if code else None
    if found is not None:
        return found
    wave = wave_service.create_wave("TEST-EARLIER", "Earlier", current.questionnaire)
    wave.status = "closed"
    for entry in current.frame:
        db.session.add(
            FrameEntry(wave_id=wave.id, service_point_id=entry.service_point_id,
                       stratum=entry.stratum, stratum_desks=entry.stratum_desks,
                       transactions=entry.transactions)
        )  # fmt: skip
    db.session.flush()
    points = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).all()
    desks = [DemoDesk(point, "", 0) for point in points]
    generate_responses(wave, desks, 300, np.random.default_rng(12))
    return wave


@pytest.fixture
def waves(app):
    load_demo(responses=300, seed=11)
    current = wave_by_code(WAVE_CODE)
    earlier = _earlier_wave(current)
    db.session.commit()
    return current, earlier


@pytest.fixture
def request_context(app):
    """A request in English, so that messages can be matched."""
    with app.test_request_context("/?lang=en"):
        yield


def _row(comparison, variable):
    return next(row for row in comparison.rows if row.variable == variable)


# --- two units of one wave -------------------------------------------------------------


def test_two_units_difference_is_the_contrast_of_the_wave_table(waves, request_context):
    wave, _earlier = waves
    frame = wave_frame(wave)
    table = sipas_index(
        frame.design, frame.dimensions, parts=frame.parts, satisfied=(1,), by="province"
    )
    ours = comparisons.compare_units(wave, Place("province", "01"), Place("province", "48"))
    assert [row.variable for row in ours.rows] == list(COMPARED)
    national = results.compute(wave, ["province"]).records
    for variable in ("overall", "service", "S-A", "S-B", "S-C", "S-D", "S-E"):
        independent = contrast(
            table, {f"01:{variable}": 1, f"48:{variable}": -1}, df=frame.design.df
        )
        row = _row(ours, variable)
        assert row.estimate == pytest.approx(independent.estimate, rel=1e-12)
        assert row.se == pytest.approx(independent.se, rel=1e-10)
        assert row.p_value == pytest.approx(independent.pvalue, rel=1e-8)
        low, high = independent.ci(0.95)
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), rel=1e-10)
        for side, code in ((row.a, "01"), (row.b, "48")):
            shown = next(r for r in national if r["variable"] == variable
                         and r["domain"] == {"province": code})  # fmt: skip
            assert side.estimate == pytest.approx(shown["estimate"], rel=1e-12)
            assert (side.ci_low, side.ci_high) == pytest.approx(
                (shown["ci_low"], shown["ci_high"]), rel=1e-10
            )


def _strata_by_level(wave) -> None:
    """Stratify the wave's frame by the desks' level (provincial centres, commune desks)
    across provinces, as a national frame may: a province then cuts across strata."""
    for entry in db.session.scalars(select(FrameEntry).where(FrameEntry.wave_id == wave.id)):
        level = db.session.get(ServicePoint, entry.service_point_id).government_level
        entry.stratum = level
        entry.stratum_desks = 34 if level == "province" else 3300
    db.session.commit()


def test_units_across_strata_covary_and_the_covariance_counts(waves, request_context):
    """With strata that are not provinces, two provinces are domains across the same
    strata, whose estimates covary: the SE of the difference is the contrast's on the full
    covariance, not the root of the sum of the two variances."""
    wave, _earlier = waves
    _strata_by_level(wave)
    frame = wave_frame(wave)
    table = sipas_index(frame.design, frame.dimensions, parts=frame.parts, satisfied=(1,),
                        by="province")  # fmt: skip
    ours = comparisons.compare_units(wave, Place("province", "01"), Place("province", "48"))
    assert ours.notes == []
    for variable in ("overall", "S-A", "S-D"):
        independent = contrast(table, {f"01:{variable}": 1, f"48:{variable}": -1},
                               df=frame.design.df)  # fmt: skip
        row = _row(ours, variable)
        assert row.estimate == pytest.approx(independent.estimate, rel=1e-12)
        assert row.se == pytest.approx(independent.se, rel=1e-10)
        apart = math.hypot(*(table.find(variable, province=c).se for c in ("01", "48")))
        assert abs(row.se - apart) > 1e-6 * apart  # a covariance, small but not zero


def test_desks_are_compared_as_fixed_units(waves, request_context):
    """A desk is one PSU: the wave's design gives its index no variance, so two desks are
    compared holding the desks fixed (each desk a stratum, its respondents the sample)."""
    wave, _earlier = waves
    frame = wave_frame(wave)
    desks = frame.data["desk"].value_counts().index[:2]
    by_desk = sipas_index(frame.design, frame.dimensions, parts=frame.parts, satisfied=(1,),
                          by="desk")  # fmt: skip
    assert by_desk.find("overall", desk=desks[0]).se == pytest.approx(0.0, abs=1e-12)
    a, b = Place("desk", desks[0]), Place("desk", desks[1])
    ours = comparisons.compare_units(wave, a, b)
    assert comparisons.FIXED_PSU_NOTE in ours.notes
    rows = frame.data[frame.data["desk"].isin(desks)].reset_index(drop=True)
    fixed = SurveyDesign.from_frame(rows, weights="weight", strata="psu", psu="response_id")
    table = sipas_index(fixed, frame.dimensions, parts=frame.parts, satisfied=(1,), by="desk")
    for variable in ("overall", "S-A", "S-E"):
        first, second = (table.find(variable, desk=code) for code in desks)
        row = _row(ours, variable)
        assert row.estimate == pytest.approx(first.estimate - second.estimate, rel=1e-12)
        assert row.se == pytest.approx(math.hypot(first.se, second.se), rel=1e-10)
        assert row.df == fixed.df
        assert row.p_value == pytest.approx(2 * stats.norm.sf(abs(row.estimate / row.se)))


def test_the_t_test_uses_the_designs_degrees_of_freedom(waves, request_context):
    wave, _earlier = waves
    frame = wave_frame(wave)
    a, b = Place("province", "01"), Place("province", "96")
    normal = _row(comparisons.compare_units(wave, a, b), "overall")
    t = _row(comparisons.compare_units(wave, a, b, test="t"), "overall")
    z = normal.estimate / normal.se
    assert normal.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert t.df == frame.design.df
    assert t.p_value == pytest.approx(2 * stats.t.sf(abs(z), frame.design.df), rel=1e-10)
    half = stats.t.ppf(0.975, frame.design.df) * normal.se
    assert (t.ci_low, t.ci_high) == pytest.approx((t.estimate - half, t.estimate + half))


def test_items_only_when_asked(waves, request_context):
    wave, _earlier = waves
    a, b = Place("province", "01"), Place("province", "48")
    without = comparisons.compare_units(wave, a, b)
    with_items = comparisons.compare_units(wave, a, b, items=True)
    assert {row.kind for row in without.rows} == {"overall", "part", "dimension"}
    item_rows = [row.variable for row in with_items.rows if row.kind == "item"]
    assert "S-A1" in item_rows and "S-A0" in item_rows  # the "in general" items too
    assert [row.kind for row in with_items.rows] == sorted(
        (row.kind for row in with_items.rows), key=comparisons.KINDS.index
    )


# --- two waves --------------------------------------------------------------------------


@pytest.mark.parametrize("place", [None, Place("province", "01")])
def test_two_waves_difference_has_the_variance_of_independent_samples(
    waves, request_context, place
):
    wave, earlier = waves
    ours = comparisons.compare_waves(wave, earlier, place)
    domain = {place.field: place.code} if place else None
    by = [place.field] if place else []
    own = [
        {r["variable"]: r for r in results.compute(w, by).records if r["domain"] == domain}
        for w in (wave, earlier)
    ]
    for variable in COMPARED:
        a, b = own[0][variable], own[1][variable]
        row = _row(ours, variable)
        se = math.sqrt(a["se"] ** 2 + b["se"] ** 2)
        assert row.a.estimate == a["estimate"] and row.b.estimate == b["estimate"]
        assert row.estimate == pytest.approx(a["estimate"] - b["estimate"], rel=1e-12)
        assert row.se == pytest.approx(se, rel=1e-12)
        assert row.p_value == pytest.approx(2 * stats.norm.sf(abs(row.estimate) / se), rel=1e-9)
        assert row.ci_low == pytest.approx(row.estimate - stats.norm.ppf(0.975) * se)
        assert row.df == a["df"] + b["df"]
    with_t = _row(comparisons.compare_waves(wave, earlier, place, test="t"), "overall")
    a, b = own[0]["overall"], own[1]["overall"]
    z = (a["estimate"] - b["estimate"]) / math.hypot(a["se"], b["se"])
    assert with_t.p_value == pytest.approx(2 * stats.t.sf(abs(z), a["df"] + b["df"]), rel=1e-9)


def test_a_desk_across_waves_is_compared_as_a_fixed_desk(waves, request_context):
    wave, earlier = waves
    place = Place("desk", "TTHCC-01")
    ours = comparisons.compare_waves(wave, earlier, place)
    assert comparisons.FIXED_PSU_NOTE in ours.notes
    fixed = []
    for w in (wave, earlier):
        frame = wave_frame(w)
        rows = frame.data[frame.data["desk"] == place.code].reset_index(drop=True)
        design = SurveyDesign.from_frame(rows, weights="weight", strata="psu", psu="response_id")
        fixed.append(sipas_index(design, frame.dimensions, parts=frame.parts, satisfied=(1,)))
    for variable in ("overall", "S-A"):
        a, b = (table.find(variable) for table in fixed)
        row = _row(ours, variable)
        assert row.estimate == pytest.approx(a.estimate - b.estimate, rel=1e-12)
        assert row.se == pytest.approx(math.hypot(a.se, b.se), rel=1e-10) and row.se > 0


def test_a_wave_is_not_compared_with_itself(waves, request_context):
    from survey.errors import UserError

    wave, _earlier = waves
    with pytest.raises(UserError, match="another wave"):
        comparisons.compare_waves(wave, wave)


# --- the page ---------------------------------------------------------------------------


def _province(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("role", ["analyst", "supervisor", "admin"])
def test_the_page_renders_for_each_reader(waves, login, client, role):
    _wave, earlier = waves
    login(role, units=[_province("01")])
    assert client.get(PAGE).status_code == 200
    units = client.get(PAGE, query_string={"kind": "units", "unit_a": "commune:00004",
                                           "unit_b": "desk:TTHCC-01"})  # fmt: skip
    assert units.status_code == 200 and "Choose two units of the same kind" in _text(units)
    both = client.get(PAGE, query_string={"kind": "waves", "other": earlier.code,
                                          "place": "province:01", "items": "y"})  # fmt: skip
    assert both.status_code == 200
    text = _text(both)
    assert f"{WAVE_CODE} · 01" in text and f"{earlier.code} · 01" in text
    assert 'role="img"' in text and "S-A1" in text


def test_a_surveyor_may_not_compare(waves, login, client):
    login("surveyor", units=[_province("01")])
    assert client.get(PAGE).status_code == 403


def test_a_scoped_reader_compares_only_their_units(waves, login, client):
    _wave, earlier = waves
    login("analyst", units=[_province("01")])
    form = _text(client.get(PAGE))
    assert "province:01" in form and "province:48" not in form and "desk:TTHCC-48" not in form
    assert "Đà Nẵng" not in form and "Cà Mau" not in form
    for query in (
        {"kind": "units", "unit_a": "province:01", "unit_b": "province:48"},
        {"kind": "units", "unit_a": "desk:TTHCC-48", "unit_b": "desk:TTHCC-01"},
        {"kind": "units", "unit_a": "province:01", "unit_b": "province:NOPE"},
        {"kind": "waves", "other": earlier.code, "place": "province:96"},
        {"kind": "waves", "other": "NO-SUCH-WAVE", "place": "province:01"},
    ):
        assert client.get(PAGE, query_string=query).status_code == 404, query
    whole = client.get(PAGE, query_string={"kind": "waves", "other": earlier.code, "place": ""})
    assert whole.status_code == 200
    assert "Choose one of your units" in _text(whole)
    mine = _text(client.get(PAGE, query_string={"kind": "units", "unit_a": "desk:TTHCC-01",
                                                "unit_b": "commune:00004"}))  # fmt: skip
    assert "Đà Nẵng" not in mine and "TTHCC-48" not in mine


def test_a_national_reader_compares_whole_waves(waves, login, client):
    _wave, earlier = waves
    login("admin")
    page = client.get(PAGE, query_string={"kind": "waves", "other": earlier.code, "place": ""})
    assert page.status_code == 200
    assert f"{WAVE_CODE} compared with {earlier.code}" in _text(page)


@pytest.mark.parametrize(
    "query", [{"kind": "units", "level": "0.5"}, {"kind": "colour"}, {"kind": "units", "test": "f"}]
)
def test_unknown_choices_are_refused(waves, login, client, query):
    login("admin")
    assert client.get(PAGE, query_string=query).status_code == 400


def test_the_same_unit_twice_is_named(waves, login, client):
    login("admin")
    query = {"kind": "units", "unit_a": "province:01", "unit_b": "province:01"}
    assert "Choose two different units." in _text(client.get(PAGE, query_string=query))


def _svg(page: str) -> ET.Element:
    found = re.search(r'<svg[^>]*aria-labelledby="difference-title[^>]*>.*?</svg>', page, re.S)
    assert found, "no difference chart"
    return ET.fromstring(found.group(0))


@pytest.mark.parametrize("kind", ["units", "waves"])
def test_dots_and_whiskers_are_where_the_numbers_say(waves, login, client, request_context, kind):
    wave, earlier = waves
    login("admin")
    if kind == "units":
        query = {"kind": "units", "unit_a": "province:01", "unit_b": "province:96"}
        expected = comparisons.compare_units(wave, Place("province", "01"),
                                             Place("province", "96"))  # fmt: skip
    else:
        query = {"kind": "waves", "other": earlier.code, "place": ""}
        expected = comparisons.compare_waves(wave, earlier)
    svg = _svg(client.get(PAGE, query_string=query).get_data(as_text=True))
    ns = {"s": "http://www.w3.org/2000/svg"}
    labels = svg.iterfind(".//s:text[@class='x-tick']", ns)
    ticks = [(float(t.text), float(t.get("x"))) for t in labels]
    assert any(value == 0 for value, _x in ticks)
    (v0, p0), (v1, p1) = ticks[0], ticks[-1]

    def x(points: float) -> float:
        return p0 + (points - v0) * (p1 - p0) / (v1 - v0)

    zero = svg.find(".//s:line[@class='zero']", ns)
    assert float(zero.get("x1")) == pytest.approx(x(0), abs=0.02)
    groups = svg.findall(".//s:g[@class='difference']", ns)
    assert len(groups) == len(expected.rows)
    for group, row in zip(groups, expected.rows, strict=True):
        dot = group.find("s:circle", ns)
        assert float(dot.get("cx")) == pytest.approx(x(100 * row.estimate), abs=0.02)
        whisker = group.find("s:line[@class='whisker']", ns)
        assert float(whisker.get("x1")) == pytest.approx(x(100 * row.ci_low), abs=0.02)
        assert float(whisker.get("x2")) == pytest.approx(x(100 * row.ci_high), abs=0.02)
        filled = dot.get("fill") == "#1a1a1a"
        assert filled == (row.ci_low > 0 or row.ci_high < 0)
