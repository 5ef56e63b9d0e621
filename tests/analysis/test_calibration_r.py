"""Calibration (post-stratification, raking, linear) against R's ``survey`` package.

The reference values come from ``reference/calibration/make_reference.R``
(R 4.2, survey 4.1), which also writes the data. In R::

    dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
    pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
    ps <- postStratify(dclus1, ~stype, pop.types)
    rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
    gr <- calibrate(dclus1, ~stype + api99,
                    c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018,
                      api99 = 3914069), calfun = "linear")
    svymean(~api00 + api99, ps); svytotal(~enroll, ps); svymean(~stype, ps)
    svyratio(~api00, ~api99, ps); svyby(~api00, ~sch.wide, ps, svymean)

and the weight diagnostics are computed in R from ``weights(design)`` with
the population CV ``sqrt(mean((w - mean(w))^2)) / mean(w)``. Estimates agree
to relative 1e-9, standard errors to 1e-7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.calibration import (
    CalibratedDesign,
    LinearCalibration,
    PostStratification,
    Raking,
    calibrate,
    calibrated_covariance,
    post_stratify,
    rake,
    weight_diagnostics,
)
from analysis.contrast import joint_estimate
from analysis.design import SurveyDesign
from analysis.replicate import ReplicateDesign, as_replicate
from analysis.variance import taylor_covariance
from tests.analysis.conftest import reference_values

REF = Path(__file__).parent / "reference" / "calibration"
EST = 1e-9
SE = 1e-7

POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@pytest.fixture(scope="module")
def dclus1() -> SurveyDesign:
    data = pd.read_csv(REF / "apiclus1.csv")
    return SurveyDesign.from_frame(data, weights="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dstrat() -> SurveyDesign:
    data = pd.read_csv(REF / "apistrat.csv")
    return SurveyDesign.from_frame(data, weights="pw", strata="stype", fpc="fpc")


def check_all(
    design: SurveyDesign | ReplicateDesign, ref: dict[str, np.ndarray], prefix: str
) -> None:
    """Every statistic recorded by make_reference.R's ``record()`` for ``prefix``."""
    np.testing.assert_allclose(design.weights, ref[f"{prefix}_weights"], rtol=EST)

    m = joint_estimate(design, "mean", ["api00", "api99"])
    np.testing.assert_allclose(m.estimate, ref[f"{prefix}_mean_est"], rtol=EST)
    # calibrated on api99 (greg), its mean has variance 0 up to rounding
    scale = np.abs(ref[f"{prefix}_mean_vcov"]).max()
    np.testing.assert_allclose(
        m.covariance.ravel(), ref[f"{prefix}_mean_vcov"], rtol=SE, atol=1e-10 * scale
    )

    t = joint_estimate(design, "total", "enroll")
    np.testing.assert_allclose(t.estimate, ref[f"{prefix}_total_enroll_est"], rtol=EST)
    np.testing.assert_allclose(t.se, ref[f"{prefix}_total_enroll_se"], rtol=SE)

    # calibrated on stype, the stype shares and counts have SE 0 up to rounding
    p = joint_estimate(design, "proportion", "stype")
    np.testing.assert_allclose(p.estimate, ref[f"{prefix}_prop_stype_est"], rtol=EST)
    np.testing.assert_allclose(p.se, ref[f"{prefix}_prop_stype_se"], rtol=SE, atol=1e-10)
    tt = joint_estimate(design, "total", pd.get_dummies(design.data["stype"], dtype=float))
    np.testing.assert_allclose(tt.estimate, ref[f"{prefix}_total_stype_est"], rtol=EST)
    np.testing.assert_allclose(tt.se, ref[f"{prefix}_total_stype_se"], rtol=SE, atol=1e-6)

    r = joint_estimate(design, "ratio", "api00", denominator="api99")
    np.testing.assert_allclose(r.estimate, ref[f"{prefix}_ratio_est"], rtol=EST)
    np.testing.assert_allclose(r.se, ref[f"{prefix}_ratio_se"], rtol=SE)

    n = joint_estimate(design, "mean", "acs.k3")
    np.testing.assert_allclose(n.estimate, ref[f"{prefix}_mean_acsk3_narm_est"], rtol=EST)
    np.testing.assert_allclose(n.se, ref[f"{prefix}_mean_acsk3_narm_se"], rtol=SE)

    b = joint_estimate(design, "mean", "api00", by="sch.wide")
    assert b.labels == ("No", "Yes")
    np.testing.assert_allclose(b.estimate, ref[f"{prefix}_by_schwide_est"], rtol=EST)
    np.testing.assert_allclose(b.se, ref[f"{prefix}_by_schwide_se"], rtol=SE)

    d = weight_diagnostics(design)
    got = [d.min, d.max, d.mean, d.cv, d.deff_kish, d.n_effective, d.total]
    np.testing.assert_allclose(got, ref[f"{prefix}_wdiag"], rtol=EST, atol=1e-15)
    assert d.n == design.n
    if isinstance(design, ReplicateDesign):
        assert design.df == ref[f"{prefix}_degf"][0]


def test_uncalibrated_design_matches_r(dclus1, ref):
    check_all(dclus1, ref, "base")


def test_post_stratify_matches_r(dclus1, ref):
    ps = post_stratify(dclus1, "stype", POP_TYPES)
    assert isinstance(ps, CalibratedDesign)
    assert isinstance(ps.calibration[0], PostStratification)
    totals = pd.Series(ps.weights).groupby(ps.data["stype"]).sum()
    np.testing.assert_allclose(totals.to_numpy(), [4421, 755, 1018], rtol=1e-14)
    check_all(ps, ref, "ps")


def test_post_stratify_accepts_a_series_and_a_cell_of_two_columns(dclus1):
    ps = post_stratify(dclus1, "stype", pd.Series(POP_TYPES))
    np.testing.assert_array_equal(ps.weights, post_stratify(dclus1, "stype", POP_TYPES).weights)
    cells = dclus1.data.groupby(["stype", "sch.wide"]).size()
    population = {key: 10.0 * count for key, count in cells.items()}
    two = post_stratify(dclus1, ["stype", "sch.wide"], population)
    assert two.weights.sum() == pytest.approx(10 * dclus1.n)


def test_post_stratify_stratified_design_matches_r(dstrat, ref):
    check_all(post_stratify(dstrat, "sch.wide", POP_SCHWIDE), ref, "psstrat")


def test_rake_matches_r(dclus1, ref):
    rk = rake(dclus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    raking = rk.calibration[0]
    assert isinstance(raking, Raking)
    assert raking.converged
    assert len(raking.margins) == 2
    check_all(rk, ref, "rake")


def test_rake_to_convergence_matches_r(dclus1, ref):
    rk = rake(dclus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, max_iter=50, epsilon=1e-9)
    check_all(rk, ref, "raketight")
    margins = pd.Series(rk.weights).groupby(rk.data["sch.wide"]).sum()
    np.testing.assert_allclose(margins.to_numpy(), [1072, 5122], rtol=1e-9)


def test_rake_warns_when_not_converged(dclus1):
    with pytest.warns(RuntimeWarning, match="did not converge after 1 passes"):
        rk = rake(dclus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, max_iter=1, epsilon=1e-9)
    assert not rk.calibration[0].converged


def test_linear_calibration_matches_r(dclus1, ref):
    gr = calibrate(dclus1, {"stype": POP_TYPES, "api99": 3914069})
    assert isinstance(gr.calibration[0], LinearCalibration)
    assert gr.calibration[0].columns == ("stype=E", "stype=H", "stype=M", "api99")
    assert gr.weights @ gr.data["api99"].to_numpy(float) == pytest.approx(3914069, rel=1e-12)
    check_all(gr, ref, "greg")


def test_linear_calibration_with_intercept_is_the_same(dclus1):
    a = calibrate(dclus1, {"stype": POP_TYPES, "api99": 3914069})
    b = calibrate(dclus1, {"api99": 3914069}, intercept=6194)
    c = calibrate(
        dclus1, {"stype": POP_TYPES, "api99": 3914069}, intercept=6194
    )  # redundant but consistent
    np.testing.assert_allclose(b.weights.sum(), 6194, rtol=1e-12)
    np.testing.assert_allclose(c.weights, a.weights, rtol=1e-10)


def test_replicate_design_post_stratified_matches_r(dclus1, ref):
    jk1 = post_stratify(as_replicate(dclus1, "JK1"), "stype", POP_TYPES)
    assert isinstance(jk1, ReplicateDesign)
    check_all(jk1, ref, "jk1ps")
    cells = pd.DataFrame(jk1.repweights).groupby(jk1.data["stype"].to_numpy()).sum()
    np.testing.assert_allclose(cells.to_numpy(), np.outer([4421, 755, 1018], np.ones(15)))


def test_replicate_design_raked_matches_r(dclus1, ref):
    jk1 = rake(as_replicate(dclus1, "JK1"), {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    check_all(jk1, ref, "jk1rake")


def test_replicate_design_calibrated_matches_r(dclus1, ref):
    jk1 = calibrate(as_replicate(dclus1, "JK1"), {"stype": POP_TYPES, "api99": 3914069})
    check_all(jk1, ref, "jk1greg")


def test_replicate_without_weight_in_a_cell_is_refused(dclus1):
    # a cell held by a single district is empty in the replicate that drops it
    data = dclus1.data
    marked = data.assign(cell=np.where(data["dnum"] == data["dnum"].iloc[0], "a", "b"))
    design = SurveyDesign.from_frame(marked, weights="pw", psu="dnum", fpc="fpc")
    with pytest.raises(ValueError, match="cell: cell 'a' has no weight in replicate"):
        post_stratify(as_replicate(design, "JK1"), "cell", {"a": 100, "b": 6000})


def test_calibration_steps_accumulate(dclus1):
    ps = post_stratify(dclus1, "stype", POP_TYPES)
    both = post_stratify(ps, "sch.wide", POP_SCHWIDE)
    assert len(both.calibration) == 2
    assert both.weights.sum() == pytest.approx(6194)
    z = (both.data["api00"].to_numpy(float) - 600.0) / 6194
    # adjusting the scores of a post-stratified design is a projection
    once = both.adjust_scores(z)
    w = both.weights[:, None]
    again = both.calibration[-1].residualize(once * w) / w
    np.testing.assert_allclose(again, once, rtol=1e-12, atol=1e-18)


def test_calibrated_covariance_of_a_plain_design_is_taylor(dclus1):
    z = dclus1.data[["api00", "api99"]].to_numpy(float)
    np.testing.assert_array_equal(calibrated_covariance(dclus1, z), taylor_covariance(dclus1, z))


def test_weight_diagnostics_of_known_weights():
    d = weight_diagnostics(np.array([1.0, 1.0, 2.0, 4.0]))
    assert (d.n, d.total, d.min, d.max, d.mean) == (4, 8.0, 1.0, 4.0, 2.0)
    assert d.cv == pytest.approx(np.sqrt(1.5) / 2)
    assert d.deff_kish == pytest.approx(4 * 22 / 64)
    assert d.n_effective == pytest.approx(64 / 22)
    with pytest.raises(ValueError, match="weights: negative values"):
        weight_diagnostics([1.0, -1.0])
    with pytest.raises(ValueError, match="weights: no weights given"):
        weight_diagnostics([])


def test_bad_populations_name_the_problem(dclus1):
    with pytest.raises(ValueError, match="sample cell 'M' is absent from the population"):
        post_stratify(dclus1, "stype", {"E": 4421, "H": 755})
    with pytest.raises(ValueError, match="cell 'X' has no sample row; use partial=True"):
        post_stratify(dclus1, "stype", {**POP_TYPES, "X": 10})
    partial = post_stratify(dclus1, "stype", {**POP_TYPES, "X": 10}, partial=True)
    assert partial.weights.sum() == pytest.approx(6194)
    with pytest.raises(ValueError, match="strata: column 'nope' is missing"):
        post_stratify(dclus1, "nope", POP_TYPES)
    with pytest.raises(ValueError, match="acs.k3' has missing values"):
        post_stratify(dclus1, "acs.k3", {1: 1})
    with pytest.raises(ValueError, match=r"stype\['E'\]: expected a number"):
        post_stratify(dclus1, "stype", {"E": "many", "H": 755, "M": 1018})
    with pytest.raises(ValueError, match="no total for sampled level 'M'"):
        calibrate(dclus1, {"stype": {"E": 4421, "H": 755}})
    with pytest.raises(ValueError, match="margins: at least one margin"):
        rake(dclus1, {})
    data_less = SurveyDesign(dclus1.weights, dclus1.strata, dclus1.clusters, dclus1.fpc)
    with pytest.raises(ValueError, match="data: the design has no data"):
        post_stratify(data_less, "stype", POP_TYPES)
