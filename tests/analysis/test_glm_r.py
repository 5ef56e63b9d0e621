"""Design-based regression against R's ``svyglm``.

The reference values come from ``reference/glm/make_reference.R`` (R 4.2,
survey 4.1), which reads the api data of ``reference/core`` and the SIPAS-like
data of ``reference/sipas``. In R, for each case::

    options(survey.lonely.psu = POLICY)
    fit <- svyglm(FORMULA, DESIGN, family = gaussian() or quasibinomial(),
                  control = glm.control(epsilon = 1e-15))    # then refitted from coef(fit)
    summary(fit)$coefficients; fit$df.residual; vcov(fit)
    confint(fit); confint(fit, level = 0.9)

with the designs

    strat     svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    clus1     svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)
    clus2     svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2, data=apiclus2)
    lonely    svydesign(id=~dnum, strata=~lstrat, weights=~pw, data=apiclus1)
              (stratum "C" has one PSU; lonely_fpc adds fpc=~lfpc)
    poststrat postStratify(clus1, ~stype, population counts)
    sipas     svydesign(ids=~desk+day, strata=~province,
                        fpc=~desks_total+days_total, weights=~weight, data=sipas)

Estimates, standard errors, t statistics, p-values, intervals and the
covariance agree with R to 1e-9 relative (observed: 1e-12 or better); the
residual degrees of freedom and the number of rows used exactly; the terms
are R's, in R's order.

R's default ``glm.control(epsilon = 1e-8)`` stops the logistic fits early:
its ``Ainv`` and working weights come from the last-but-one iterate, so its
standard errors differ from the converged sandwich by up to 6e-5 relative
(clus2_binom) and its estimates by up to 2e-7. The converged fits are the
reference; :func:`test_r_default_control_is_close` shows the size of that
difference, and linear models agree with R's defaults to 1e-12.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import (
    Coefficient,
    GlmResult,
    SurveyDesign,
    as_replicate,
    glm,
    mean,
    post_stratify,
)
from tests.analysis.conftest import api_data, reference_values

REF = Path(__file__).parent / "reference" / "glm"
SIPAS = Path(__file__).parent / "reference" / "sipas" / "sipas.csv"
TOL = 1e-9

STRAT = {"weights": "pw", "strata": "stype", "fpc": "fpc"}
CLUS1 = {"weights": "pw", "psu": "dnum", "fpc": "fpc"}
CLUS2 = {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]}
LONELY = {"weights": "pw", "strata": "lstrat", "psu": "dnum"}
LONELY_FPC = {**LONELY, "fpc": "lfpc"}
SIPAS_DESIGN = {
    "weights": "weight",
    "strata": "province",
    "psu": ["desk", "day"],
    "fpc": ["desks_total", "days_total"],
}
POPULATION = {"E": 4421, "H": 755, "M": 1018}

# case: (data, design, lonely-PSU policy, formula, family), mirrored by make_reference.R
CASES: dict[str, tuple[str, dict, str, str, str]] = {
    "strat_gauss": ("apistrat", STRAT, "fail", "api00 ~ ell + meals + mobility + C(stype)", "g"),
    "strat_interact": ("apistrat", STRAT, "fail", "api00 ~ C(stype) * meals + ell", "g"),
    "strat_binom": ("apistrat", STRAT, "fail", "yes ~ ell + meals + mobility + C(stype)", "b"),
    "strat_missing": ("apistrat", STRAT, "fail", 'api00 ~ Q("acs.k3") + meals', "g"),
    "clus1_gauss": ("apiclus1", CLUS1, "fail", "api00 ~ ell + meals + C(stype)", "g"),
    "clus1_binom": ("apiclus1", CLUS1, "fail", "yes ~ ell + meals + mobility", "b"),
    "clus1_missing_binom": ("apiclus1", CLUS1, "fail", 'yes ~ Q("acs.k3") + meals', "b"),
    "clus2_gauss": ("apiclus2", CLUS2, "fail", "api00 ~ ell + meals + C(stype)", "g"),
    "clus2_binom": ("apiclus2", CLUS2, "fail", "yes ~ meals + mobility", "b"),
    "clus2_missing": ("apiclus2", CLUS2, "fail", 'api00 ~ Q("acs.46") + meals + C(stype)', "g"),
    "lonely_adjust": ("apiclus1", LONELY, "adjust", "api00 ~ ell + meals + C(stype)", "g"),
    "lonely_remove": ("apiclus1", LONELY, "remove", "api00 ~ ell + meals + C(stype)", "g"),
    "lonely_average": ("apiclus1", LONELY, "average", "api00 ~ ell + meals + C(stype)", "g"),
    "lonely_certainty": ("apiclus1", LONELY, "certainty", "api00 ~ ell + meals + C(stype)", "g"),
    "lonely_fpc_adjust": ("apiclus1", LONELY_FPC, "adjust", "api00 ~ ell + meals + C(stype)", "g"),
    "lonely_binom_adjust": ("apiclus1", LONELY, "adjust", "yes ~ ell + meals", "b"),
    "clus1_poststrat": ("poststrat", CLUS1, "fail", "api00 ~ ell + meals", "g"),
    "clus1_poststrat_missing_binom": ("poststrat", CLUS1, "fail", 'yes ~ Q("acs.k3") + meals', "b"),
    "strat_mean": ("apistrat", STRAT, "fail", "api00 ~ 1", "g"),
    "clus2_mean_missing": ("apiclus2", CLUS2, "fail", 'Q("acs.k3") ~ 1', "g"),
    "sipas_gauss": ("sipas", SIPAS_DESIGN, "fail", "fee ~ age + C(channel) + C(gender)", "g"),
    "sipas_binom": ("sipas", SIPAS_DESIGN, "fail", "paid ~ age + C(channel)", "b"),
}
FAMILY = {"g": "gaussian", "b": "binomial"}


@cache
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@cache
def r_terms() -> dict[str, list[str]]:
    terms = pd.read_csv(REF / "terms.csv")
    return {case: list(group["term"]) for case, group in terms.groupby("case", sort=False)}


@cache
def sipas_data() -> pd.DataFrame:
    return pd.read_csv(SIPAS)


def make_design(case: str) -> SurveyDesign:
    data, spec, policy, _, _ = CASES[case]
    if data == "sipas":
        frame = sipas_data()
    else:
        frame = api_data("apiclus1" if data == "poststrat" else data)
    design = SurveyDesign.from_frame(frame, lonely_psu=policy, **spec)
    if data == "poststrat":
        return post_stratify(design, "stype", POPULATION)
    return design


@cache
def fitted(case: str) -> GlmResult:
    _, _, _, formula, family = CASES[case]
    return glm(make_design(case), formula, family=FAMILY[family])


def r_name(term: str) -> str:
    """R's name of a Patsy term: ``C(g)[T.b]`` is ``gb``, ``Q("x.y")`` is ``x.y``."""
    if term == "Intercept":
        return "(Intercept)"
    parts = []
    for part in term.split(":"):
        part = re.sub(r"^C\((\w+)\)\[T\.(.+)\]$", r"\1\2", part)
        part = re.sub(r"^Q\(\"(.+)\"\)$", r"\1", part)
        parts.append(part)
    return ":".join(parts)


def close(actual, expected, rel: float = TOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=rel, atol=0)


# ------------------------------------------------------------ against R
@pytest.mark.parametrize("case", list(CASES))
def test_coefficients_match_r(case: str) -> None:
    fit = fitted(case)
    r = ref()
    assert [r_name(t) for t in fit.terms] == r_terms()[case]
    close(fit.estimates, r[f"{case}_est"])
    close(fit.se, r[f"{case}_se"])
    close([c.statistic for c in fit], r[f"{case}_t"])
    close([c.p_value for c in fit], r[f"{case}_p"])
    assert fit.df_residual == r[f"{case}_df"][0]
    assert all(c.df == fit.df_residual for c in fit)
    assert fit.n == r[f"{case}_n"][0]
    # the full covariance, relative to the standard errors (covariances may be ~0)
    scale = np.outer(fit.se, fit.se).ravel()
    np.testing.assert_allclose(
        fit.covariance.T.ravel() / scale, r[f"{case}_vcov"] / scale, rtol=0, atol=TOL
    )


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_intervals_match_r_confint(case: str, level: float) -> None:
    fit = fitted(case)
    r = ref()
    key = f"{case}_ci{round(level * 100)}"
    intervals = [c.ci(level) for c in fit]
    close([i.low for i in intervals], r[f"{key}_low"])
    close([i.high for i in intervals], r[f"{key}_high"])
    assert all(i.method == "wald-t" and i.level == level for i in intervals)
    records = fit.to_records(level)
    close([rec["ci_low"] for rec in records], r[f"{key}_low"])
    close([rec["ci_high"] for rec in records], r[f"{key}_high"])


@pytest.mark.parametrize("case", list(CASES))
def test_r_default_control_is_close(case: str) -> None:
    """R's default glm.control stops IRLS early; only logistic fits differ, by < 1e-4."""
    fit = fitted(case)
    r = ref()
    linear = CASES[case][4] == "g"
    close(fit.estimates, r[f"{case}_default_est"], TOL if linear else 1e-6)
    close(fit.se, r[f"{case}_default_se"], TOL if linear else 1e-4)


def test_intercept_only_is_svymean() -> None:
    r = ref()
    for case in ("strat_mean", "clus2_mean_missing"):
        fit = fitted(case)
        est, se = r[f"{case}_svymean"]
        assert fit.terms == ("Intercept",)
        assert fit[0].estimate == pytest.approx(est, rel=TOL)
        assert fit[0].se == pytest.approx(se, rel=TOL)
    # the missing values leave rows out of the fit, not out of the design
    assert fitted("clus2_mean_missing").n == int(api_data("apiclus2")["acs.k3"].notna().sum())


def test_a_stratum_left_without_rows_leaves_the_variance() -> None:
    # acs.k3 is only known in elementary schools: strata H and M have no row
    fit = fitted("strat_missing")
    design = make_design("strat_missing")
    data = api_data("apistrat")
    known = data["acs.k3"].notna().to_numpy()
    assert set(data["stype"][known]) == {"E"}
    # 97 schools (PSUs) in one stratum: degf 96, three coefficients
    assert fit.df_residual == design.domain_df(known) + 1 - 3 == 94
    assert fit.n == known.sum() == 97


# ----------------------------------------------------- the API and options
def test_result_api() -> None:
    fit = fitted("strat_gauss")
    assert isinstance(fit, GlmResult)
    assert fit.family == "gaussian"
    assert fit.formula == "api00 ~ ell + meals + mobility + C(stype)"
    assert fit.n == 200
    assert fit.terms == ("Intercept", "ell", "meals", "mobility", "C(stype)[T.H]", "C(stype)[T.M]")
    assert len(fit) == 6 and isinstance(fit[1], Coefficient)
    assert fit["meals"] is fit.coefficients[2]
    assert [c.term for c in fit[4:]] == ["C(stype)[T.H]", "C(stype)[T.M]"]
    with pytest.raises(KeyError, match="no term 'x9'"):
        fit["x9"]
    low, high = fit["ell"].ci()
    assert low < fit["ell"].estimate < high
    records = fit.to_records()
    assert [list(rec) for rec in records] == [
        ["term", "estimate", "se", "statistic", "p_value", "df", "ci_low", "ci_high"]
    ] * 6
    assert records[2]["term"] == "meals" and records[2]["df"] == fit.df_residual
    frame = fit.to_frame(level=0.9)
    assert list(frame.columns) == list(records[0])
    assert frame["ci_low"].iloc[2] == pytest.approx(fit["meals"].ci(0.9).low)


def test_binomial_outcome_may_be_two_valued_text_or_boolean() -> None:
    design = make_design("strat_binom")
    numbers = glm(design, "yes ~ ell + meals", family="binomial")
    # R's factor: the first level ("No") is 0, the second ("Yes") 1
    text = glm(design, 'Q("sch.wide") ~ ell + meals', family="binomial")
    frame = api_data("apistrat").assign(flag=lambda d: d["sch.wide"] == "Yes")
    flags = glm(SurveyDesign.from_frame(frame, **STRAT), "flag ~ ell + meals", family="binomial")
    for other in (text, flags):
        assert other.terms == numbers.terms
        close(other.estimates, numbers.estimates, 1e-12)
        close(other.se, numbers.se, 1e-12)


def test_unused_categories_are_dropped_as_r_does() -> None:
    # acs.46 is missing in every high school: level H of stype has no row
    frame = api_data("apiclus2").astype({"stype": pd.CategoricalDtype(["E", "H", "M"])})
    design = SurveyDesign.from_frame(frame, **CLUS2)
    fit = glm(design, 'api00 ~ Q("acs.46") + meals + C(stype)')
    assert fit.terms == fitted("clus2_missing").terms
    close(fit.estimates, ref()["clus2_missing_est"])
    close(fit.se, ref()["clus2_missing_se"])


def test_scaling_the_weights_changes_nothing() -> None:
    frame = api_data("apiclus1").assign(pw3=lambda d: d.pw * 1e-3)
    base = glm(make_design("clus1_binom"), "yes ~ ell + meals + mobility", family="binomial")
    scaled = glm(
        SurveyDesign.from_frame(frame, weights="pw3", psu="dnum", fpc="fpc"),
        "yes ~ ell + meals + mobility",
        family="binomial",
    )
    close(scaled.estimates, base.estimates, 1e-10)
    close(scaled.se, base.se, 1e-10)


def test_no_residual_degrees_of_freedom_gives_nan_p_values() -> None:
    # two strata of two PSUs: degf 2, three coefficients: df.residual 0 (R: NaN)
    frame = pd.DataFrame(
        {
            "w": [1.0, 2, 1, 3, 2, 1, 2, 2],
            "s": ["a"] * 4 + ["b"] * 4,
            "p": [1, 1, 2, 2, 3, 3, 4, 4],
            "y": [1.0, 2, 4, 3, 5, 7, 6, 9],
            "x": [0.5, 1, 2, 2, 3, 4, 4, 5],
            "z": [1.0, 0, 1, 1, 0, 0, 1, 0],
        }
    )
    fit = glm(SurveyDesign.from_frame(frame, weights="w", strata="s", psu="p"), "y ~ x + z")
    assert fit.df_residual == 0
    assert all(np.isnan(c.p_value) for c in fit)
    assert np.isnan(fit["x"].ci().low)
    record = fit.to_records()[1]
    assert (record["p_value"], record["ci_low"], record["ci_high"]) == (None, None, None)
    assert record["se"] > 0


# ------------------------------------------------------ intercept = mean
@st.composite
def samples(draw) -> pd.DataFrame:
    """A stratified cluster sample: 1-3 strata, 2-4 PSUs each, 1-5 rows per PSU."""
    rows = []
    for h in range(draw(st.integers(1, 3))):
        for p in range(draw(st.integers(2, 4))):
            rows.extend((f"s{h}", f"s{h}-p{p}") for _ in range(draw(st.integers(1, 5))))
    n = len(rows)
    frame = pd.DataFrame(rows, columns=["stratum", "psu"])
    frame["w"] = draw(st.lists(st.floats(0.5, 100.0), min_size=n, max_size=n))
    frame["y"] = draw(
        st.lists(st.one_of(st.floats(-50.0, 50.0), st.none()), min_size=n, max_size=n)
    )
    frame["y"] = frame["y"].astype(float)
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=samples(), policy=st.sampled_from(["adjust", "remove", "certainty"]))
def test_intercept_only_equals_the_mean(frame: pd.DataFrame, policy: str) -> None:
    if frame["y"].notna().sum() == 0:
        return
    design = SurveyDesign.from_frame(
        frame, weights="w", strata="stratum", psu="psu", lonely_psu=policy
    )
    fit = glm(design, "y ~ 1")
    m = mean(design, "y")
    assert fit[0].estimate == pytest.approx(m.estimate, rel=1e-10, abs=1e-10)
    assert fit[0].se == pytest.approx(m.se, rel=1e-8, abs=1e-10)
    assert fit.n == m.n
    # svyglm's df are those of the rows used; svymean(na.rm=TRUE) keeps the design's
    answered = frame["y"].notna().to_numpy()
    assert fit.df_residual == design.domain_df(answered)
    if answered.all():
        assert fit.df_residual == m.df


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("formula", "family", "message"),
    [
        ("api00 ~ ell + nope", "gaussian", "formula: column 'nope' is missing"),
        ("nope ~ ell", "gaussian", "formula: column 'nope' is missing"),
        ('api00 ~ C(Q("no.such"))', "gaussian", "formula: column 'no.such' is missing"),
        ("api00 ~ ell + meals", "binomial", "outcome column 'api00' must be 0/1"),
        ("stype ~ ell", "binomial", r"outcome column 'stype' has 3 values \('E', 'H', 'M'\)"),
        ("stype ~ ell", "gaussian", "outcome column 'stype' is not numeric"),
        ("api00 ~ ell +", "gaussian", "formula: cannot read 'api00 ~ ell \\+': expected a noun"),
        ("api00 ~ (ell", "gaussian", "formula: cannot read .*Unmatched"),
        ("api00 + api99 ~ ell", "gaussian", "expected one outcome before '~'"),
        ("api00 ell", "gaussian", "formula: no '~'"),
        ("~ ell", "gaussian", "expected one outcome"),
        ("", "gaussian", "formula: expected a formula"),
        ("api00 ~ ell", "poisson", "family: 'poisson' is not one of 'gaussian', 'binomial'"),
        ("api00 ~ ell + I(2 * ell)", "gaussian", "term 'I\\(2 \\* ell\\)' is a linear comb"),
        ("api00 ~ np.log(ell - ell)", "gaussian", "term 'np.log\\(ell - ell\\)' has infinite"),
    ],
)
def test_bad_models_raise_value_errors_naming_the_problem(
    formula: str, family: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        glm(make_design("strat_gauss"), formula, family=family)


def test_more_bad_input() -> None:
    design = make_design("strat_gauss")
    with pytest.raises(ValueError, match=r"term 'C\(stype\)' has a single level in the rows used"):
        glm(design, 'api00 ~ Q("acs.k3") + C(stype)')  # acs.k3: elementary schools only
    all_yes = SurveyDesign.from_frame(api_data("apistrat").assign(yes=1.0), **STRAT)
    with pytest.raises(ValueError, match="outcome column 'yes' is 1 in every row used"):
        glm(all_yes, "yes ~ ell", family="binomial")
    with pytest.raises(ValueError, match="perfectly"):
        glm(design, "yes ~ I(yes * 10.0)", family="binomial")
    empty = SurveyDesign.from_frame(api_data("apistrat").assign(x=np.nan), **STRAT)
    with pytest.raises(ValueError, match="no row has a value in every one of the columns"):
        glm(empty, "api00 ~ ell + x")
    with pytest.raises(ValueError, match="design: glm needs a SurveyDesign"):
        glm(as_replicate(make_design("clus1_gauss"), "JK1"), "api00 ~ ell")
    bare = SurveyDesign(weights=np.ones(4), strata=np.zeros(4, dtype=int), clusters=(), fpc=())
    with pytest.raises(ValueError, match="need a design built with SurveyDesign.from_frame"):
        glm(bare, "y ~ x")
