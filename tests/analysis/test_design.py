"""The design object, the variance engine's internal agreement, results and intervals."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import (
    CI_METHODS,
    ConfidenceInterval,
    Estimate,
    EstimateTable,
    LonelyPSU,
    SurveyDesign,
    as_table,
    beta_interval,
    confidence_interval,
    logit_interval,
    mean,
    proportion,
    ratio,
    taylor_covariance,
    total,
)
from analysis.estimators import domains
from analysis.variance import DomainVariance, stratified_covariance


def frame(**columns) -> pd.DataFrame:
    base = {
        "w": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "s": ["a", "a", "a", "b", "b", "b"],
        "p": [1, 1, 2, 3, 4, 4],
        "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


# ------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": "nope"}, "weights: column 'nope' is missing"),
        ({"weights": "w", "strata": "nope"}, "strata: column 'nope' is missing"),
        ({"weights": "w", "psu": "nope"}, "psu: column 'nope' is missing"),
        ({"weights": "w", "psu": "p,nope"}, "psu: column 'nope' is missing"),
        ({"weights": "w", "fpc": "nope"}, "fpc: column 'nope' is missing"),
        ({"weights": "w", "lonely_psu": "ignore"}, "lonely_psu: 'ignore' is not one of"),
        ({"weights": "w", "psu": "p", "fpc": ["y", "y"]}, "fpc: 2 columns given"),
    ],
)
def test_from_frame_names_the_problem(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SurveyDesign.from_frame(frame(), **kwargs)


@pytest.mark.parametrize(
    ("w", "message"),
    [
        (["1", "x", "2", "3", "4", "5"], "weights: column 'w' is not numeric"),
        ([1.0, -2, 3, 4, 5, 6], "weights: column 'w' has negative values"),
        ([1.0, np.nan, 3, 4, 5, 6], "weights: column 'w' has missing values"),
        ([1.0, np.inf, 3, 4, 5, 6], "weights: column 'w' has infinite values"),
    ],
)
def test_bad_weights(w: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SurveyDesign.from_frame(frame(w=w), weights="w")


def test_numeric_text_weights_are_accepted() -> None:
    d = SurveyDesign.from_frame(frame(w=["1", "2", "3", "4", "5", "6.5"]), weights="w")
    assert d.weights[-1] == 6.5


def test_missing_ids() -> None:
    with pytest.raises(ValueError, match="strata: column 's' has missing values"):
        SurveyDesign.from_frame(frame(s=["a", None, "a", "b", "b", "b"]), weights="w", strata="s")
    with pytest.raises(ValueError, match="psu: column 'p' has missing values"):
        SurveyDesign.from_frame(frame(p=[1, 1, np.nan, 3, 4, 4]), weights="w", psu="p")


def test_clusters_not_nested_in_strata() -> None:
    data = frame(p=[1, 1, 2, 2, 3, 3])
    with pytest.raises(
        ValueError, match=r"clusters not nested in strata: PSU '2' .* strata 'a' and 'b'"
    ):
        SurveyDesign.from_frame(data, weights="w", strata="s", psu="p")
    nested = SurveyDesign.from_frame(data, weights="w", strata="s", psu="p", nest=True)
    assert nested.n_psu == 4
    assert list(nested.psu) == [0, 0, 1, 2, 3, 3]


def test_second_stage_ids_are_relative_to_the_psu() -> None:
    """R makes stage-2 ids unique within their PSU (interaction of the ids)."""
    data = frame(ssu=[1, 2, 1, 1, 1, 2])
    d = SurveyDesign.from_frame(data, weights="w", strata="s", psu=["p", "ssu"])
    assert d.n_stages == 2
    assert list(d.clusters[1]) == [0, 1, 2, 3, 4, 5]


def test_only_one_psu() -> None:
    with pytest.raises(ValueError, match="only one PSU"):
        SurveyDesign.from_frame(frame(p=[1] * 6), weights="w", psu="p")


def test_fpc_counts_and_fractions_agree() -> None:
    counts = SurveyDesign.from_frame(
        frame(N=[10, 10, 10, 20, 20, 20]), weights="w", strata="s", fpc="N"
    )
    fractions = SurveyDesign.from_frame(
        frame(f=[0.3, 0.3, 0.3, 0.15, 0.15, 0.15]), weights="w", strata="s", fpc="f"
    )
    np.testing.assert_allclose(counts.fpc[0], fractions.fpc[0])
    assert counts.fpc[0][0] == 10.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([10, 10, 12, 20, 20, 20], "fpc: column 'N' varies within stratum 'a'"),
        ([2, 2, 2, 20, 20, 20], "implies more than 100% sampling"),
        ([10, 10, 10, 0.5, 0.5, 0.5], "mixes population counts"),
        ([10, 10, 10, np.nan, 20, 20], "fpc: column 'N' has missing values"),
        ([10, 10, 10, 0, 20, 20], "fpc: column 'N' has values <= 0"),
    ],
)
def test_bad_fpc(values: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SurveyDesign.from_frame(frame(N=values), weights="w", strata="s", fpc="N")


def test_design_counts_and_df() -> None:
    d = SurveyDesign.from_frame(frame(), weights="w", strata="s", psu="p")
    assert (d.n, d.n_strata, d.n_psu, d.df) == (6, 2, 4, 2)
    assert d.domain_df(np.array([True, True, True, False, False, True])) == 1
    assert d.domain_df(np.array([True, True, False, False, False, True])) == 0
    assert d.stratum_label(1) == "b"
    unclustered = SurveyDesign.from_frame(frame(), weights="w")
    assert (unclustered.n_psu, unclustered.n_strata, unclustered.df) == (6, 1, 5)


def test_zero_weights_do_not_count_in_df() -> None:
    d = SurveyDesign.from_frame(frame(w=[1.0, 2, 0, 4, 5, 6]), weights="w", strata="s", psu="p")
    assert d.df == 1  # R degf: PSU 2 has only a zero-weight row


def test_design_is_frozen_and_with_weights_copies() -> None:
    d = SurveyDesign.from_frame(frame(), weights="w", strata="s", psu="p")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.weights = np.ones(6)  # type: ignore[misc]
    e = d.with_weights(np.ones(6))
    assert e is not d and np.all(d.weights == frame().w.to_numpy())
    assert np.all(e.weights == 1) and e.clusters[0] is d.clusters[0]
    with pytest.raises(ValueError, match="weights: negative values"):
        d.with_weights(-np.ones(6))
    with pytest.raises(ValueError, match="weights: expected 6 values"):
        d.with_weights(np.ones(5))
    assert d.with_lonely_psu("adjust").lonely_psu is LonelyPSU.ADJUST


def test_direct_constructor_checks_nesting() -> None:
    w = np.ones(4)
    d = SurveyDesign(w, np.array([0, 0, 1, 1]), (np.array([5, 7, 9, 9]),), ())
    assert list(d.psu) == [0, 1, 2, 2] and d.fpc == (None,)
    with pytest.raises(ValueError, match="clusters not nested in strata"):
        SurveyDesign(w, np.array([0, 0, 1, 1]), (np.array([0, 1, 1, 2]),), ())


# --------------------------------------------------------- variance engine
def _random_design(seed: int, policy: str, stages: int = 1, with_fpc: bool = False):
    rng = np.random.default_rng(seed)
    n = 200
    strata = rng.integers(0, 5, n)
    psu = strata * 10 + rng.integers(0, 4, n)
    psu[strata == 4] = 40  # a lonely stratum
    data = pd.DataFrame(
        {
            "w": rng.uniform(1, 10, n),
            "s": strata,
            "p": psu,
            "q": rng.integers(0, 3, n),
            "y": rng.normal(size=n),
            "g": rng.integers(0, 3, n),
        }
    )
    psu_cols = ["p", "q"] if stages == 2 else ["p"]
    fpc = None
    if with_fpc:
        data["N1"] = 8
        data["N2"] = 5
        fpc = ["N1", "N2"][:stages]
    return data, SurveyDesign.from_frame(
        data, weights="w", strata="s", psu=psu_cols, fpc=fpc, lonely_psu=policy
    )


@pytest.mark.parametrize("policy", ["remove", "adjust", "average", "certainty"])
@pytest.mark.parametrize(("stages", "with_fpc"), [(1, False), (1, True), (2, True)])
def test_domain_engine_matches_dense_covariance(policy: str, stages: int, with_fpc: bool) -> None:
    data, d = _random_design(3, policy, stages, with_fpc)
    codes = data.g.to_numpy()
    z = data.y.to_numpy()
    fast = DomainVariance(d, codes, 3).variances(z)
    dense = [
        taylor_covariance(d, np.where(codes == k, z, 0.0), domain=codes == k)[0, 0]
        for k in range(3)
    ]
    np.testing.assert_allclose(fast, dense, rtol=1e-12)


def test_domain_engine_pair_path_matches_dense_path() -> None:
    data, d = _random_design(5, "adjust", 2, True)
    codes = np.arange(d.n) % 150  # many domains: (unit, domain) pairs
    z = data.y.to_numpy()
    engine = DomainVariance(d, codes, 150)
    assert any(entry[0] == "pairs" for entry in engine._stages) or d.n * 151 <= 1 << 22
    dense = [
        taylor_covariance(d, np.where(codes == k, z, 0.0), domain=codes == k)[0, 0]
        for k in (0, 7, 149)
    ]
    np.testing.assert_allclose(engine.variances(z)[[0, 7, 149]], dense, rtol=1e-12)


def test_covariance_from_psu_totals() -> None:
    """Per-PSU aggregates (as a database would sum them) give the same variance."""
    data, d = _random_design(7, "adjust")
    z = np.column_stack([data.y, data.y**2])
    stage = d.stages[0]
    totals = np.column_stack(
        [np.bincount(stage.units, weights=d.weights * z[:, j]) for j in range(2)]
    )
    direct = stratified_covariance(totals, stage.unit_group, lonely_psu="adjust")
    np.testing.assert_allclose(direct, taylor_covariance(d, z), rtol=1e-12)
    # PSUs without rows in a domain may be left out when n_units counts them
    keep = totals[:, 0] > 0
    partial = stratified_covariance(
        totals[keep], stage.unit_group[keep], n_units=stage.n_units, lonely_psu="adjust"
    )
    assert partial.shape == (2, 2)


def test_covariance_shapes_and_errors() -> None:
    _, d = _random_design(1, "remove")
    y = np.arange(d.n, dtype=float)
    assert taylor_covariance(d, y).shape == (1, 1)
    assert taylor_covariance(d, np.column_stack([y, y, y])).shape == (3, 3)
    with pytest.raises(ValueError, match="z: expected 200 rows"):
        taylor_covariance(d, y[:10])
    failing = d.with_lonely_psu("fail")
    with pytest.raises(ValueError, match="stratum '4' has only one PSU at stage 1"):
        taylor_covariance(failing, y)
    # a domain without the lonely stratum is fine
    inside = failing.strata != 4
    assert taylor_covariance(failing, np.where(inside, y, 0), domain=inside)[0, 0] > 0


def test_self_representing_stratum_contributes_nothing() -> None:
    data = frame(N=[2, 2, 2, 50, 50, 50])
    d = SurveyDesign.from_frame(data, weights="w", strata="s", psu="p", fpc="N")
    z = data.y.to_numpy()
    only_b = taylor_covariance(d, np.where(d.strata == 1, z, 0.0))
    np.testing.assert_allclose(taylor_covariance(d, z), only_b)


# -------------------------------------------------------------- estimators
def test_column_names_and_arrays_agree(small_frame, small_design) -> None:
    by_name = mean(small_design, "y", by="group")
    by_array = mean(small_design, small_frame.y.to_numpy(), by=small_frame.group.to_numpy())
    for a, b in zip(by_name, by_array, strict=True):
        assert (a.estimate, a.se, a.df, a.n) == (b.estimate, b.se, b.df, b.n)
        assert a.domain == {"group": b.domain["by"]}
    assert by_name[0].variable == "y" and by_array[0].variable == "y"
    named = mean(small_design, small_frame.y, name="score")
    assert named.variable == "score"


def test_by_two_columns_and_partition(small_design) -> None:
    table = total(small_design, "y", by=["stratum", "group"])
    assert len(table) == 6
    assert table[0].domain == {"stratum": "centre", "group": "a"}
    assert sum(e.estimate for e in table) == pytest.approx(total(small_design, "y").estimate)
    assert table.find(stratum="south", group="b").variable == "y"
    with pytest.raises(KeyError):
        table.find(stratum="east")


def test_missing_values_na_rm(small_frame, small_design) -> None:
    answered = small_frame.y.notna()
    est = mean(small_design, "y")
    assert est.n == answered.sum() and est.n_domain == len(small_frame)
    assert est.df == small_design.df
    strict = mean(small_design, "y", na_rm=False)
    assert np.isnan(strict.estimate) and np.isnan(strict.se)
    w = small_frame.w[answered]
    assert est.estimate == pytest.approx(np.average(small_frame.y[answered], weights=w))


def test_domain_without_answers_is_nan(small_frame, small_design) -> None:
    y = np.where(small_frame.group == "a", small_frame.y, np.nan)
    table = mean(small_design, y, by="group")
    assert not np.isnan(table[0].estimate)
    assert np.isnan(table[1].estimate) and np.isnan(table[1].se) and table[1].n == 0
    assert table[1].to_dict()["se"] is None


def test_proportion_indicator_and_levels(small_frame, small_design) -> None:
    ind = proportion(small_design, "sat")
    assert isinstance(ind, Estimate) and ind.variable == "sat"
    levels = proportion(small_design, "group")
    assert [e.variable for e in levels] == ["group=a", "group=b"]
    assert sum(e.estimate for e in levels) == pytest.approx(1.0)
    likert = proportion(small_design, small_frame.y.round(), name="q")
    assert all("=" in e.variable and "." not in e.variable for e in likert)
    boolean = proportion(small_design, small_frame.sat.to_numpy() > 0, name="yes")
    assert boolean.estimate == pytest.approx(ind.estimate)
    forced = proportion(small_design, "sat", levels=[0.0, 1.0])
    assert [e.variable for e in forced] == ["sat=0", "sat=1"]


def test_ratio(small_frame, small_design) -> None:
    r = ratio(small_design, "y", "w")
    answered = small_frame.y.notna()
    expected = (small_frame.w * small_frame.y)[answered].sum() / (small_frame.w**2)[answered].sum()
    assert r.estimate == pytest.approx(expected)
    assert r.variable == "y/w" and r.statistic == "ratio"


def test_estimator_errors(small_frame, small_design) -> None:
    with pytest.raises(ValueError, match="y: column 'stratum' is not numeric"):
        mean(small_design, "stratum")
    with pytest.raises(ValueError, match="y: column 'nope' is missing"):
        mean(small_design, "nope")
    with pytest.raises(ValueError, match="by: column 'nope' is missing"):
        mean(small_design, "y", by="nope")
    with pytest.raises(ValueError, match="y: expected 120 values"):
        mean(small_design, np.ones(3))
    bare = SurveyDesign(small_design.weights, small_design.strata, small_design.clusters, ())
    with pytest.raises(ValueError, match="needs a design built with SurveyDesign.from_frame"):
        mean(bare, "y")
    with pytest.raises(TypeError, match="expected a SurveyDesign"):
        mean(object(), np.ones(3))  # type: ignore[arg-type]


def test_domains_drop_missing_and_zero_weight_levels() -> None:
    data = frame(g=["x", None, "y", "y", "z", "x"], w=[1.0, 2, 3, 4, 0, 6])
    d = SurveyDesign.from_frame(data, weights="w", strata="s", psu="p")
    dom = domains(d, "g")
    assert dom.labels == ({"g": "x"}, {"g": "y"})
    assert list(dom.codes) == [0, -1, 1, 1, -1, 0]


# ---------------------------------------------------------------- results
def test_estimate_to_dict_has_the_json_keys(small_design) -> None:
    row = mean(small_design, "y").to_dict()
    assert list(row) == [
        "variable",
        "domain",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "deff",
        "n",
    ]
    json.dumps(row)
    nan = Estimate("v", None, float("nan"), float("nan"), 3, None, 0)
    assert nan.to_dict()["estimate"] is None and nan.to_dict()["ci_low"] is None


def test_table_to_frame_and_vcov(small_design) -> None:
    table = mean(small_design, "y", by="group")
    frame_ = table.to_frame(level=0.9, method="wald-t")
    assert list(frame_.columns) == [
        "group",
        "variable",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "deff",
        "n",
    ]
    low, high = table[0].ci(0.9, "wald-t")
    assert frame_.ci_low[0] == low and frame_.ci_high[0] == high
    cov = table.vcov()
    np.testing.assert_allclose(np.diag(cov), [e.se**2 for e in table], rtol=1e-12)
    assert as_table(table) is table
    single = as_table(mean(small_design, "y"))
    assert isinstance(single, EstimateTable) and len(single) == 1
    with pytest.raises(ValueError, match="no estimating functions"):
        EstimateTable(tuple(single)).vcov()
    assert EstimateTable(()).to_frame().empty


def test_vcov_of_levels_sums_to_zero(small_design) -> None:
    cov = proportion(small_design, "group").vcov()
    np.testing.assert_allclose(cov.sum(axis=0), 0.0, atol=1e-15)


# -------------------------------------------------------------- intervals
def test_interval_methods() -> None:
    assert CI_METHODS == ("wald", "wald-t", "logit", "beta")
    ci = confidence_interval(0.3, 0.05)
    assert isinstance(ci, ConfidenceInterval) and ci.method == "wald"
    assert ci.low == pytest.approx(0.3 - 1.959963984540054 * 0.05)
    with pytest.raises(ValueError, match="method: 'wilson' is not one of 'wald', 'wald-t'"):
        confidence_interval(0.3, 0.05, method="wilson")
    with pytest.raises(ValueError, match="level: must be between 0 and 1"):
        confidence_interval(0.3, 0.05, level=95)
    t = confidence_interval(0.3, 0.05, method="wald-t", df=0)
    assert np.isnan(t.low)
    assert logit_interval(0.0, 0.0, 0.95, 10) == (0.0, 0.0)
    low, high = beta_interval(0.0, 0.01, n=50, df=10)
    assert np.isnan(low) or low == 0.0
    low, high = beta_interval(1e-3, 1e-3, n=50, df=10)
    assert 0.0 <= low < 1e-3 < high
    low, high = confidence_interval(0.4, 0.1, method="beta", n=30, df=29)
    assert low < 0.4 < high


def test_analysis_does_not_import_the_web_app() -> None:
    code = (
        "import sys, analysis; "
        "bad = [m for m in sys.modules "
        "if m in ('flask', 'survey') or m.startswith('survey.')]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
