"""Replicate-weight designs against R's ``survey`` package.

The reference values come from ``reference/replicate/make_reference.R``
(R 4.2, survey 4.1), which also writes the data and, for the bootstrap, the
replicate weights R drew (R's random numbers cannot be reproduced, so the
variance is compared given R's weights). In R::

    dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    jk1 <- as.svrepdesign(dclus1, type = "JK1")
    dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat,
                        fpc = ~fpc)
    jkn <- as.svrepdesign(dstrat, type = "JKn")
    boot <- as.svrepdesign(dclus1n, type = "bootstrap", replicates = 50)
    svymean(~api00 + api99, jk1); svytotal(~enroll, jk1); svymean(~stype, jk1)
    svyratio(~api00, ~api99, jk1); svymean(~acs.k3, jk1, na.rm = TRUE)
    svyby(~api00, ~sch.wide, jk1, svymean, covmat = TRUE)

Estimates agree to relative 1e-9, standard errors to 1e-7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.contrast import joint_estimate
from analysis.design import SurveyDesign
from analysis.replicate import (
    ReplicateDesign,
    ReplicateType,
    as_replicate,
    ratio_statistic,
    replicate_covariance,
    replicate_variance,
    total_statistic,
)
from tests.analysis.conftest import reference_values

REF = Path(__file__).parent / "reference" / "replicate"
EST = 1e-9
SE = 1e-7


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(REF / "apiclus1.csv")


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    return pd.read_csv(REF / "apistrat.csv")


@pytest.fixture(scope="module")
def dclus1(apiclus1: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign.from_frame(apiclus1, weights="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dclus1_nofpc(apiclus1: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign.from_frame(apiclus1, weights="pw", psu="dnum")


@pytest.fixture(scope="module")
def dstrat(apistrat: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign.from_frame(apistrat, weights="pw", strata="stype", fpc="fpc")


def _se_of(cov: np.ndarray) -> np.ndarray:
    return np.sqrt(np.diag(cov))


def check_all(design: ReplicateDesign, ref: dict[str, np.ndarray], prefix: str) -> None:
    """Every statistic recorded by make_reference.R's ``record()`` for ``prefix``."""
    m = joint_estimate(design, "mean", ["api00", "api99"])
    np.testing.assert_allclose(m.estimate, ref[f"{prefix}_mean_est"], rtol=EST)
    np.testing.assert_allclose(m.covariance.ravel(), ref[f"{prefix}_mean_vcov"], rtol=SE)

    t = joint_estimate(design, "total", "enroll")
    np.testing.assert_allclose(t.estimate, ref[f"{prefix}_total_enroll_est"], rtol=EST)
    np.testing.assert_allclose(t.se, ref[f"{prefix}_total_enroll_se"], rtol=SE)

    p = joint_estimate(design, "proportion", "stype")
    assert p.labels == ("stype=E", "stype=H", "stype=M")
    np.testing.assert_allclose(p.estimate, ref[f"{prefix}_prop_stype_est"], rtol=EST)
    # in apistrat stype is the stratum: its proportions have SE 0 up to rounding
    np.testing.assert_allclose(p.se, ref[f"{prefix}_prop_stype_se"], rtol=SE, atol=1e-12)

    r = joint_estimate(design, "ratio", "api00", denominator="api99")
    np.testing.assert_allclose(r.estimate, ref[f"{prefix}_ratio_est"], rtol=EST)
    np.testing.assert_allclose(r.se, ref[f"{prefix}_ratio_se"], rtol=SE)

    n = joint_estimate(design, "mean", "acs.k3")
    np.testing.assert_allclose(n.estimate, ref[f"{prefix}_mean_acsk3_narm_est"], rtol=EST)
    np.testing.assert_allclose(n.se, ref[f"{prefix}_mean_acsk3_narm_se"], rtol=SE)

    b = joint_estimate(design, "mean", "api00", by="sch.wide")
    assert b.labels == ("No", "Yes")
    np.testing.assert_allclose(b.estimate, ref[f"{prefix}_by_schwide_est"], rtol=EST)
    np.testing.assert_allclose(b.covariance.ravel(), ref[f"{prefix}_by_schwide_vcov"], rtol=SE)
    np.testing.assert_array_equal(b.domain_df, ref[f"{prefix}_by_schwide_degf"])
    assert [e.df for e in b.to_table()] == list(ref[f"{prefix}_by_schwide_degf"])

    assert design.df == ref[f"{prefix}_degf"][0]


# ------------------------------------------------------------------ jackknife
def test_jk1_from_cluster_design_matches_r(dclus1, ref):
    jk1 = as_replicate(dclus1, "JK1")
    assert jk1.type is ReplicateType.JK1
    assert jk1.n_replicates == 15
    assert jk1.scale == pytest.approx(ref["jk1_scale"][0], rel=1e-15)
    np.testing.assert_array_equal(jk1.rscales, ref["jk1_rscales"])
    check_all(jk1, ref, "jk1")


def test_jk1_auto_is_jk1_for_unstratified_design(dclus1):
    assert as_replicate(dclus1).type is ReplicateType.JK1


def test_jk1_mse_centres_at_the_full_estimate(dclus1, ref):
    check_all(as_replicate(dclus1, "JK1", mse=True), ref, "jk1mse")


def test_jk1_without_fpc_matches_r(dclus1_nofpc, ref):
    jk1 = as_replicate(dclus1_nofpc, "JK1")
    assert jk1.scale == pytest.approx(ref["jk1nofpc_scale"][0], rel=1e-15)
    check_all(jk1, ref, "jk1nofpc")


def test_jk1_from_given_columns_matches_svrepdesign(apiclus1, dclus1_nofpc, ref):
    generated = as_replicate(dclus1_nofpc, "JK1")
    columns = {f"repw{i + 1}": generated.repweights[:, i] for i in range(15)}
    frame = pd.concat([apiclus1, pd.DataFrame(columns)], axis=1)
    given = ReplicateDesign.from_frame(
        frame, weights="pw", repweights="repw[0-9]+", type="JK1", scale=14 / 15
    )
    assert given.names["repweights"] == tuple(columns)
    check_all(given, ref, "jk1given")
    # R's default JK1 scale (n-1)/n with n the number of replicates
    default = ReplicateDesign.from_frame(frame, weights="pw", repweights=list(columns), type="JK1")
    assert default.scale == pytest.approx(14 / 15, rel=1e-15)


def test_jk1_given_as_multipliers(apiclus1, dclus1_nofpc, ref):
    generated = as_replicate(dclus1_nofpc, "JK1")
    factors = generated.repweights / generated.weights[:, None]
    frame = pd.concat(
        [apiclus1, pd.DataFrame(factors, columns=[f"m{i}" for i in range(15)])], axis=1
    )
    design = ReplicateDesign.from_frame(
        frame, weights="pw", repweights="^m", type="JK1", combined_weights=False
    )
    # R guesses scale = 1 / max(first column) = (n-1)/n
    assert design.scale == pytest.approx(14 / 15, rel=1e-12)
    check_all(design, ref, "jk1given")


def test_jkn_from_stratified_design_matches_r(dstrat, ref):
    jkn = as_replicate(dstrat)
    assert jkn.type is ReplicateType.JKN
    assert jkn.n_replicates == 200
    assert jkn.scale == ref["jkn_scale"][0]
    np.testing.assert_allclose(np.sort(jkn.rscales), np.sort(ref["jkn_rscales"]), rtol=1e-15)
    check_all(jkn, ref, "jkn")


def test_jkn_mse_matches_r(dstrat, ref):
    check_all(as_replicate(dstrat, "JKn", mse=True), ref, "jknmse")


def test_jkn_without_fpc_matches_r(apistrat, ref):
    design = SurveyDesign.from_frame(apistrat, weights="pw", strata="stype")
    jkn = as_replicate(design, "JKn")
    np.testing.assert_allclose(np.sort(jkn.rscales), np.sort(ref["jknnofpc_rscales"]), rtol=1e-15)
    check_all(jkn, ref, "jknnofpc")


def test_jkn_from_given_columns_needs_rscales(apistrat, dstrat, ref):
    jkn = as_replicate(dstrat, "JKn")
    columns = [f"r{i}" for i in range(jkn.n_replicates)]
    frame = pd.concat([apistrat, pd.DataFrame(jkn.repweights, columns=columns)], axis=1)
    with pytest.raises(ValueError, match="rscales: required for type='JKn'"):
        ReplicateDesign.from_frame(frame, weights="pw", repweights=columns, type="JKn")
    given = ReplicateDesign.from_frame(
        frame, weights="pw", repweights=columns, type="JKn", rscales=jkn.rscales
    )
    check_all(given, ref, "jkn")


# ------------------------------------------------------------------ bootstrap
def _boot_frame(data: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[str]]:
    weights = pd.read_csv(REF / file, dtype=float)
    columns = [f"bw{i + 1}" for i in range(weights.shape[1])]
    weights.columns = columns
    return pd.concat([data, weights], axis=1), columns


def test_bootstrap_variance_given_r_replicates(apiclus1, ref):
    frame, columns = _boot_frame(apiclus1, "boot_clus1_repweights.csv")
    boot = ReplicateDesign.from_frame(
        frame, weights="pw", repweights=columns, type="bootstrap", scale=ref["boot_scale"][0]
    )
    check_all(boot, ref, "boot")


def test_bootstrap_given_columns_uses_r_default_scale(apiclus1, ref):
    frame, columns = _boot_frame(apiclus1, "boot_clus1_repweights.csv")
    boot = ReplicateDesign.from_frame(frame, weights="pw", repweights=columns, type="bootstrap")
    assert boot.scale == pytest.approx(ref["bootgiven_scale"][0], rel=1e-15)
    check_all(boot, ref, "bootgiven")
    mse = ReplicateDesign.from_frame(
        frame, weights="pw", repweights=columns, type="bootstrap", mse=True
    )
    check_all(mse, ref, "bootgivenmse")


def test_stratified_bootstrap_with_fpc_given_r_replicates(apistrat, ref):
    frame, columns = _boot_frame(apistrat, "boot_strat_repweights.csv")
    boot = ReplicateDesign.from_frame(
        frame,
        weights="pw",
        repweights=columns,
        type="bootstrap",
        scale=ref["bootstrat_scale"][0],
    )
    check_all(boot, ref, "bootstrat")


def test_generated_bootstrap_has_r_scale_and_structure(dclus1_nofpc, dstrat, ref):
    boot = as_replicate(dclus1_nofpc, "bootstrap", replicates=50, seed=1)
    assert boot.scale == pytest.approx(ref["boot_scale"][0], rel=1e-14)
    factors = boot.repweights / boot.weights[:, None]
    # each PSU's rows share one multiplier, a count; n PSUs drawn per replicate
    psu_factor = pd.DataFrame(factors).groupby(dclus1_nofpc.psu).agg(["min", "max"])
    assert (psu_factor.xs("min", axis=1, level=1) == psu_factor.xs("max", axis=1, level=1)).all(
        axis=None
    )
    counts = pd.DataFrame(factors).groupby(dclus1_nofpc.psu).first()
    np.testing.assert_array_equal(counts.sum(axis=0), 15)
    assert np.all(counts.to_numpy() == np.round(counts.to_numpy()))

    sboot = as_replicate(dstrat, "bootstrap", replicates=40, seed=2)
    assert sboot.scale == pytest.approx(ref["bootstrat_scale"][0], rel=1e-14)
    per_stratum = pd.DataFrame(sboot.repweights / sboot.weights[:, None]).groupby(dstrat.strata)
    np.testing.assert_array_equal(
        per_stratum.sum().to_numpy(), np.bincount(dstrat.strata)[:, None] * np.ones((1, 40))
    )


def test_generated_bootstrap_is_reproducible_and_close_to_linearisation(dclus1_nofpc):
    a = as_replicate(dclus1_nofpc, "bootstrap", replicates=30, seed=123)
    b = as_replicate(dclus1_nofpc, "bootstrap", replicates=30, seed=123)
    np.testing.assert_array_equal(a.repweights, b.repweights)
    # many replicates: the bootstrap SE is near the with-replacement Taylor SE
    boot = as_replicate(dclus1_nofpc, "bootstrap", replicates=4000, seed=5)
    se_boot = joint_estimate(boot, "mean", "api00").se[0]
    se_taylor = joint_estimate(dclus1_nofpc, "mean", "api00").se[0]
    assert se_boot == pytest.approx(se_taylor, rel=0.1)


# ------------------------------------------------------- protocol and checks
def test_replicate_covariance_of_any_statistic(dclus1):
    jk1 = as_replicate(dclus1, "JK1")
    y = jk1.data["api00"].to_numpy(float)
    x = jk1.data["api99"].to_numpy(float)
    est, cov = replicate_covariance(jk1, ratio_statistic(y, x))
    r = joint_estimate(jk1, "ratio", "api00", denominator="api99")
    np.testing.assert_allclose(est, r.estimate, rtol=1e-14)
    np.testing.assert_allclose(cov, r.covariance, rtol=1e-12)
    # a non-linear statistic: the weighted median-free "mean of squares minus square of mean"
    est, cov = jk1.estimate(lambda w: (w.T @ y**2) / w.sum(0) - ((w.T @ y) / w.sum(0)) ** 2)
    assert est.shape == (1,) and cov.shape == (1, 1) and cov[0, 0] > 0
    totals, _ = replicate_covariance(jk1, total_statistic(np.column_stack([y, x])))
    np.testing.assert_allclose(totals, [jk1.weights @ y, jk1.weights @ x], rtol=1e-14)


def test_replicate_variance_formula():
    reps = np.array([[1.0], [2.0], [4.0]])
    v = replicate_variance(np.array([3.0]), reps, 0.5, np.array([1.0, 1.0, 2.0]))
    mean = 7 / 3
    expected = 0.5 * ((1 - mean) ** 2 + (2 - mean) ** 2 + 2 * (4 - mean) ** 2)
    assert v[0, 0] == pytest.approx(expected, rel=1e-15)
    v = replicate_variance(np.array([3.0]), reps, 0.5, np.array([1.0, 1.0, 2.0]), mse=True)
    assert v[0, 0] == pytest.approx(0.5 * (4 + 1 + 2), rel=1e-15)


def test_results_are_estimate_objects(dstrat):
    jkn = as_replicate(dstrat)
    table = joint_estimate(jkn, "mean", "api00", by="sch.wide").to_result()
    est = table.find("api00", **{"sch.wide": "Yes"})
    assert est.df == jkn.domain_df(dstrat.data["sch.wide"].to_numpy() == "Yes")
    assert est.n == est.n_domain == int((dstrat.data["sch.wide"] == "Yes").sum())
    assert est.ci().low < est.estimate < est.ci().high
    single = joint_estimate(jkn, "mean", "api00").to_result()
    assert single.variable == "api00" and single.domain is None and single.df == jkn.df


def test_bad_inputs_name_the_problem(apiclus1, apistrat, dclus1, dstrat):
    with pytest.raises(ValueError, match="can't use JK1 for a stratified design"):
        as_replicate(dstrat, "JK1")
    with pytest.raises(ValueError, match="JKn needs strata"):
        as_replicate(dclus1, "JKn")
    with pytest.raises(ValueError, match="type: 'BRR' is not one of"):
        as_replicate(dclus1, "BRR")
    with pytest.raises(ValueError, match="repweights: column 'nope' is missing"):
        ReplicateDesign.from_frame(apiclus1, weights="pw", repweights=["nope"], type="JK1")
    with pytest.raises(ValueError, match="repweights: no column matches"):
        ReplicateDesign.from_frame(apiclus1, weights="pw", repweights="^zz", type="JK1")
    with pytest.raises(ValueError, match="rho: required"):
        ReplicateDesign.from_frame(apiclus1, weights="pw", repweights="api00", type="Fay")
    with pytest.raises(ValueError, match="repweights: expected shape"):
        ReplicateDesign(np.ones(3), np.ones((4, 2)), 1.0, 1.0)
    with pytest.raises(ValueError, match="repweights: missing or infinite values"):
        ReplicateDesign(np.ones(2), np.array([[1.0, np.nan], [1.0, 1.0]]), 1.0, 1.0)
    with pytest.raises(ValueError, match="weights: column 'api00' has negative values"):
        frame = apiclus1.assign(api00=-apiclus1["api00"])
        ReplicateDesign.from_frame(frame, weights="api00", repweights="pw", type="JK1")
    with pytest.raises(ValueError, match="fpc: not available for type='bootstrap'"):
        ReplicateDesign.from_frame(
            apiclus1, weights="pw", repweights="pw", type="bootstrap", scale=1.0, fpc=[0.1]
        )
    with pytest.raises(ValueError, match="bootstrap needs at least 2 replicate columns"):
        ReplicateDesign.from_frame(apiclus1, weights="pw", repweights="pw", type="bootstrap")


def test_single_psu_stratum_fails_by_default(apistrat):
    design = SurveyDesign.from_frame(apistrat, weights="pw", strata="st")
    with pytest.raises(ValueError, match="stratum 'X' has only one PSU"):
        as_replicate(design, "JKn")


@pytest.mark.parametrize("policy", ["remove", "adjust", "average", "certainty"])
def test_single_psu_stratum_policies_match_r(apistrat, ref, policy):
    # column st: the first high school alone in stratum "X" (make_reference.R)
    design = SurveyDesign.from_frame(apistrat, weights="pw", strata="st", lonely_psu=policy)
    jkn = as_replicate(design, "JKn")
    assert jkn.n_replicates == ref[f"lonely_{policy}_nrep"][0]
    assert jkn.scale == pytest.approx(ref[f"lonely_{policy}_scale"][0], rel=1e-15)
    assert jkn.df == ref[f"lonely_{policy}_degf"][0]
    m = joint_estimate(jkn, "mean", ["api00", "api99"])
    np.testing.assert_allclose(m.estimate, ref[f"lonely_{policy}_mean_est"], rtol=EST)
    np.testing.assert_allclose(m.covariance.ravel(), ref[f"lonely_{policy}_mean_vcov"], rtol=SE)


@pytest.mark.parametrize("fpc", [True, False])
def test_jackknife_variance_of_a_total_is_the_linearisation_variance(apistrat, dclus1, fpc):
    # for a linear statistic the delete-one jackknife reproduces the Taylor variance
    strat = SurveyDesign.from_frame(
        apistrat, weights="pw", strata="stype", fpc="fpc" if fpc else None
    )
    for design in (dclus1, strat):
        if not fpc and design is dclus1:
            design = SurveyDesign.from_frame(dclus1.data, weights="pw", psu="dnum")
        taylor = joint_estimate(design, "total", ["enroll", "api00"])
        jack = joint_estimate(as_replicate(design), "total", ["enroll", "api00"])
        np.testing.assert_allclose(jack.estimate, taylor.estimate, rtol=1e-14)
        np.testing.assert_allclose(jack.covariance, taylor.covariance, rtol=1e-10)


def test_rescaled_weights_leave_means_and_ses_unchanged(dclus1):
    jk1 = as_replicate(dclus1, "JK1")
    scaled = ReplicateDesign(
        jk1.weights * 7.5, jk1.repweights * 7.5, jk1.scale, jk1.rscales, data=jk1.data
    )
    a = joint_estimate(jk1, "mean", "api00", by="stype")
    b = joint_estimate(scaled, "mean", "api00", by="stype")
    np.testing.assert_allclose(b.estimate, a.estimate, rtol=1e-14)
    np.testing.assert_allclose(b.covariance, a.covariance, rtol=1e-12)
