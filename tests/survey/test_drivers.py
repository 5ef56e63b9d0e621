"""Driver analysis: per-respondent dimension scores, the "in general" outcome, a design-based
regression that agrees with R's ``svyglm``, and the importance x performance page.

The R reference (``tests/analysis/reference/drivers``) is kept as R references
are elsewhere: ``drivers.csv`` is the driver frame the service builds from the
demo wave (:data:`FIXTURE_DEMO`), written by running this module
(``python -m tests.survey.test_drivers``); ``make_reference.R`` fits R's
``svyglm`` to it with the same design and formulas and writes
``values.csv``. The tests rebuild the design from the CSV and run the
service's fit on it (no R needed), and check that the service still builds
exactly that CSV from the demo.
"""

from __future__ import annotations

import html
import math
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from analysis import SurveyDesign
from survey.auth.policy import NATIONAL
from survey.extensions import db
from survey.models import Answer, Response, Unit
from survey.questionnaire import load_questionnaire, shipped_questionnaires
from survey.services import drivers
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.design_frame import wave_frame
from survey.services.questionnaires import questionnaire_of
from survey.services.waves import wave_by_code
from tests.analysis.conftest import reference_values

REF = Path(__file__).resolve().parent.parent / "analysis" / "reference" / "drivers"
FIXTURE = REF / "drivers.csv"
#: The demo the fixture was made from.
FIXTURE_DEMO = {"responses": 1000, "seed": 2025}
#: The fixture's columns: the design, the place R subsets by, the outcome and the scores.
DIMENSIONS = ("S-A", "S-B", "S-C", "S-D", "S-E")
SCORES = tuple(code.replace("-", "_") for code in DIMENSIONS)
COLUMNS = ("stratum", "psu", "fpc", "weight", "province", "outcome", "satisfied", *SCORES)
OVERALL_ITEMS = ("S-A0", "S-B0", "S-C0", "S-D0", "S-E0")
TOL = 1e-8


def fixture_rows(frame: drivers.DriverFrame) -> pd.DataFrame:
    """The columns of the fixture, from a driver frame."""
    return frame.data[list(COLUMNS)]


# --- agreement with R ------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    return reference_values(REF)


def _fixture_frame() -> tuple[drivers.DriverFrame, SurveyDesign]:
    text = {"stratum": str, "psu": str, "province": str}
    data = pd.read_csv(FIXTURE, dtype=text, keep_default_na=False, na_values=[""])
    frame = drivers.DriverFrame(data, DIMENSIONS, OVERALL_ITEMS, "dimensions")
    design = SurveyDesign.from_frame(data, weights="weight", strata="stratum", psu="psu", fpc="fpc")
    return frame, design


@pytest.mark.parametrize("scope", ["wave", "province"])
@pytest.mark.parametrize("family", drivers.FAMILIES)
def test_the_fit_agrees_with_r_svyglm(reference, scope, family):
    frame, design = _fixture_frame()
    inside = None if scope == "wave" else (frame.data["province"] == "01").to_numpy()
    fit = drivers.fit_drivers(frame, design, family, inside)
    case = f"{scope}_{family}"
    assert list(fit.terms) == ["Intercept", *SCORES]
    assert fit.n == reference[f"{case}_n"][0]
    assert fit.df_residual == reference[f"{case}_df"][0]
    observed = {
        "est": fit.estimates,
        "se": fit.se,
        "t": [c.statistic for c in fit],
        "p": [c.p_value for c in fit],
    }
    for key, ours in observed.items():
        theirs = reference[f"{case}_{key}"]
        if key == "p" and fit.df_residual <= 0:  # R: NaN p-values without residual df
            assert np.isnan(theirs).all() and np.isnan(np.asarray(ours, dtype=float)).all()
            continue
        np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=0, err_msg=f"{case} {key}")


def test_the_fixture_is_what_the_service_builds_from_the_demo(app):
    """The committed CSV is exactly the service's driver frame of the demo wave; if the
    demo or the frame changes, regenerate both files (see the module's docstring)."""
    load_demo(**FIXTURE_DEMO)
    db.session.commit()
    wave = wave_by_code(WAVE_CODE)
    built = drivers.driver_frame(wave_frame(wave), questionnaire_of(wave.questionnaire))
    assert built.formula("gaussian") == "outcome ~ S_A + S_B + S_C + S_D + S_E"
    assert built.formula("binomial") == "satisfied ~ S_A + S_B + S_C + S_D + S_E"
    assert fixture_rows(built).to_csv(index=False) == FIXTURE.read_text(), (
        "the demo's driver frame changed: run python -m tests.survey.test_drivers, then "
        f"Rscript make_reference.R in {REF}"
    )


# --- the driver frame -------------------------------------------------------------


@pytest.fixture
def wave(app):
    load_demo(responses=300, seed=11)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


def _answers_by_hand(wave) -> dict[int, dict[str, float]]:
    """Each valid response's answers, straight from the database: item code to value."""
    rows = db.session.execute(
        select(Answer.response_id, Answer.item_code, Answer.value_num)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.wave_id == wave.id, Response.status == "valid")
    ).all()
    found: dict[int, dict[str, float]] = defaultdict(dict)
    for response_id, code, value in rows:
        if value is not None:
            found[response_id][code] = value
    return found


def _share(answers: dict[str, float], codes) -> float:
    """The satisfied share (4 or 5) of the answered codes; 0 is "not applicable"."""
    given = [answers[c] for c in codes if c in answers and answers[c] != 0]
    return sum(v >= 4 for v in given) / len(given) if given else math.nan


def test_scores_and_outcome_are_shares_of_each_respondents_answers(wave):
    frame = wave_frame(wave)
    built = drivers.driver_frame(frame, questionnaire_of(wave.questionnaire))
    assert built.outcome_items == OVERALL_ITEMS and built.outcome_source == "dimensions"
    answers = _answers_by_hand(wave)
    items = {code: frame.dimensions[code] for code in DIMENSIONS}
    for response_id, row in zip(frame.data["response_id"], built.data.itertuples(), strict=True):
        given = answers.get(response_id, {})
        outcome = _share(given, OVERALL_ITEMS)
        assert row.outcome == pytest.approx(outcome, nan_ok=True)
        expected = math.nan if math.isnan(outcome) else float(outcome > 0.5)
        assert row.satisfied == pytest.approx(expected, nan_ok=True)
        for code, column in zip(DIMENSIONS, SCORES, strict=True):
            assert getattr(row, column) == pytest.approx(_share(given, items[code]), nan_ok=True)
    assert not any(code in items[d] for d in DIMENSIONS for code in OVERALL_ITEMS)


def test_the_household_form_uses_its_service_part_item():
    path = next(p for p in shipped_questionnaires() if "household" in p.name)
    questionnaire = load_questionnaire(path)
    dimensions = {
        d.code: [i.code for i in questionnaire.dimension_items(d.code)]
        for d in questionnaire.dimensions
    }
    codes = [item.code for item in questionnaire.items() if item.scale.satisfied]
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.integers(0, 2, (40, len(codes))).astype(float), columns=codes)
    for column in ("stratum", "psu", "fpc", "weight", "province", "commune", "desk", "unit_id"):
        data[column] = 1
    frame = SimpleNamespace(data=data, dimensions=dimensions)
    built = drivers.driver_frame(frame, questionnaire)
    assert built.outcome_items == ("S-0",) and built.outcome_source == "part"
    assert built.dimensions == DIMENSIONS
    assert built.data["outcome"].tolist() == data["S-0"].tolist()


# --- the service and the page ------------------------------------------------------


def test_a_scoped_reader_gets_the_fit_of_their_units_as_a_domain(wave, app):
    from survey.auth.policy import scope_of

    frame = wave_frame(wave)
    built = drivers.driver_frame(frame, questionnaire_of(wave.questionnaire))
    province = db.session.scalar(select(Unit).where(Unit.code == "01"))
    scope = scope_of(SimpleNamespace(is_national=False, units=[province]))
    mine = drivers.analyse(wave, scope)
    inside = frame.data["province"] == "01"
    complete = built.data[["outcome", *SCORES]].notna().all(axis=1)
    assert mine.n == int((inside & complete).sum())
    national = drivers.analyse(wave, scope_of(SimpleNamespace(is_national=True)))
    assert national.n == int(complete.sum())
    expected = drivers.fit_drivers(built, frame.design, "gaussian", inside.to_numpy())
    assert [c["estimate"] for c in mine.coefficients] == pytest.approx(list(expected.estimates))


@pytest.mark.parametrize("role", ["analyst", "supervisor", "admin"])
def test_the_page_renders_for_each_reader(wave, login, client, role):
    province = db.session.scalar(select(Unit).where(Unit.code == "01"))
    login(role, units=[province])
    page = client.get(f"/workbench/waves/{WAVE_CODE}/drivers")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "S-A0, S-B0, S-C0, S-D0, S-E0" in text  # the outcome is named
    assert 'role="img"' in text
    assert "Respondents at the desks of your units" in text
    inside = wave_frame(wave).data["province"] == "01"
    assert int(re.search(r"(\d+) respondents with the outcome", text).group(1)) <= inside.sum()


def test_a_surveyor_may_not_see_it(wave, login, client):
    province = db.session.scalar(select(Unit).where(Unit.code == "01"))
    login("surveyor", units=[province])
    assert client.get(f"/workbench/waves/{WAVE_CODE}/drivers").status_code == 403


def _svg(page: str, label: str) -> ET.Element:
    found = re.search(rf'<svg[^>]*aria-labelledby="{label}[^"]*"[^>]*>.*?</svg>', page, re.S)
    assert found, f"no chart {label}"
    return ET.fromstring(found.group(0))


def _axis(ticks: list[tuple[float, float]]):
    """The linear map from value to pixel that two labelled ticks of an axis define."""
    (v0, p0), (v1, p1) = ticks[0], ticks[-1]
    return lambda value: p0 + (value - v0) * (p1 - p0) / (v1 - v0)


@pytest.mark.parametrize("family", drivers.FAMILIES)
def test_points_and_whiskers_are_where_the_numbers_say(wave, login, client, family):
    login("admin")
    page = client.get(f"/workbench/waves/{WAVE_CODE}/drivers", query_string={"family": family})
    svg = _svg(page.get_data(as_text=True), "importance-title")
    result = drivers.analyse(wave, NATIONAL, family=family)
    ns = {"s": "http://www.w3.org/2000/svg"}
    x_ticks = [
        (float(t.text), float(t.get("x"))) for t in svg.iterfind(".//s:text[@class='x-tick']", ns)
    ]
    y_ticks = [
        (float(t.text), float(t.get("y")) - 4)
        for t in svg.iterfind(".//s:text[@class='y-tick']", ns)
    ]
    x, y = _axis(x_ticks), _axis(y_ticks)
    points = svg.findall(".//s:g[@class='point']", ns)
    assert len(points) == len(result.drivers) == 5
    for group, driver in zip(points, result.drivers, strict=True):
        circle = group.find("s:circle", ns)
        assert float(circle.get("cx")) == pytest.approx(x(100 * driver.index), abs=0.02)
        assert float(circle.get("cy")) == pytest.approx(y(driver.effect), abs=0.02)
        across = group.find("s:line[@class='index-ci']", ns)
        assert float(across.get("x1")) == pytest.approx(x(100 * driver.index_low), abs=0.02)
        assert float(across.get("x2")) == pytest.approx(x(100 * driver.index_high), abs=0.02)
        up = group.find("s:line[@class='effect-ci']", ns)
        assert float(up.get("y1")) == pytest.approx(y(driver.effect_low), abs=0.02)
        assert float(up.get("y2")) == pytest.approx(y(driver.effect_high), abs=0.02)
        assert group.find("s:text", ns).text == driver.dimension


# --- regenerating the fixture --------------------------------------------------------


def write_fixture(path: Path = FIXTURE) -> None:
    """Build the driver frame of the demo wave (:data:`FIXTURE_DEMO`) and write it to ``path``."""
    import tempfile

    from flask_migrate import upgrade

    from survey import create_app
    from tests.conftest import _test_config

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(_test_config(f"sqlite:///{folder}/fixture.sqlite3", folder))
        with app.app_context(), app.test_request_context():
            upgrade()
            load_demo(**FIXTURE_DEMO)
            db.session.commit()
            wave = wave_by_code(WAVE_CODE)
            built = drivers.driver_frame(wave_frame(wave), questionnaire_of(wave.questionnaire))
            fixture_rows(built).to_csv(path, index=False)
            db.session.remove()


if __name__ == "__main__":
    write_fixture()
    print(f"wrote {FIXTURE}; now run Rscript make_reference.R in {REF}", file=sys.stderr)
