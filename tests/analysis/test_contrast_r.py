"""Linear contrasts against R's ``svycontrast``.

The reference values come from ``reference/contrast/make_reference.R``
(R 4.2, survey 4.1), which also writes the data. In R::

    dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat,
                        fpc = ~fpc)
    a <- svyby(~api00, ~stype, dstrat, svymean, covmat = TRUE)
    con <- svycontrast(a, c(E = 1, H = -1, M = 0))
    coef(con); SE(con); 2 * pnorm(-abs(coef(con) / SE(con)))
    2 * pt(-abs(coef(con) / SE(con)), df = degf(dstrat))
    m <- svymean(~api00 + api99, dstrat)
    svycontrast(m, c(api00 = 0.6, api99 = 0.4))

For domains that share PSUs (``sch.wide`` in the cluster sample) the joint
covariance is taken in R from ``svyratio(..., covmat = TRUE)`` and from a JK1
replicate design. Estimates agree to relative 1e-9, standard errors and
p-values to 1e-7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.contrast import (
    Contrast,
    ContrastTable,
    JointEstimate,
    contrast,
    joint_estimate,
    nonlinear_contrast,
)
from analysis.design import SurveyDesign
from analysis.estimators import mean
from analysis.replicate import as_replicate
from tests.analysis.conftest import reference_values

REF = Path(__file__).parent / "reference" / "contrast"
EST = 1e-9
SE = 1e-7


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@pytest.fixture(scope="module")
def dstrat() -> SurveyDesign:
    data = pd.read_csv(REF / "apistrat.csv")
    return SurveyDesign.from_frame(data, weights="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def dclus1() -> SurveyDesign:
    data = pd.read_csv(REF / "apiclus1.csv")
    return SurveyDesign.from_frame(data, weights="pw", psu="dnum", fpc="fpc")


def check(c: Contrast, ref: dict[str, np.ndarray], name: str, i: int = 0) -> None:
    assert c.estimate == pytest.approx(ref[f"{name}_est"][i], rel=EST)
    assert c.se == pytest.approx(ref[f"{name}_se"][i], rel=SE)
    assert c.statistic == pytest.approx(ref[f"{name}_z"][i], rel=SE)
    assert c.pvalue == pytest.approx(ref[f"{name}_p"][i], rel=SE, abs=1e-300)
    assert c.pvalue_t == pytest.approx(ref[f"{name}_pt"][i], rel=SE, abs=1e-300)


def test_difference_of_domain_means(dstrat, ref):
    means = joint_estimate(dstrat, "mean", "api00", by="stype")
    assert means.labels == ("E", "H", "M")
    np.testing.assert_allclose(means.estimate, ref["strat_by_stype_est"], rtol=EST)
    c = contrast(means, {"E": 1, "H": -1})
    assert isinstance(c, Contrast)
    assert c.df == dstrat.df == 197
    check(c, ref, "strat_EminusH")
    # the same with a vector of coefficients
    check(contrast(means, [1, -1, 0]), ref, "strat_EminusH")


def test_two_contrasts_with_their_covariance(dstrat, ref):
    means = joint_estimate(dstrat, "mean", "api00", by="stype")
    table = contrast(means, {"EvH": [1, -1, 0], "EvM": {"E": 1, "M": -1}})
    assert isinstance(table, ContrastTable)
    assert [c.name for c in table] == ["EvH", "EvM"]
    np.testing.assert_allclose(table.covariance.ravel(), ref["strat_two_vcov"], rtol=SE)
    check(table["EvH"], ref, "strat_two", 0)
    check(table["EvM"], ref, "strat_two", 1)
    frame = table.to_frame()
    assert list(frame["contrast"]) == ["EvH", "EvM"]
    np.testing.assert_allclose(frame["se"], ref["strat_two_se"], rtol=SE)
    matrix = contrast(means, np.array([[1, -1, 0], [1, 0, -1]]))
    np.testing.assert_allclose(matrix.se, ref["strat_two_se"], rtol=SE)


def test_weighted_sum_and_difference_of_two_variables(dstrat, ref):
    means = joint_estimate(dstrat, "mean", ["api00", "api99"])
    assert means.labels == ("api00", "api99")
    check(contrast(means, {"api00": 0.6, "api99": 0.4}), ref, "strat_wsum")
    check(means.contrast({"api00": 1, "api99": -1}), ref, "strat_growth")


def test_nonlinear_contrasts_by_the_delta_method(dstrat, ref):
    means = joint_estimate(dstrat, "mean", ["api00", "api99"])
    ratio = nonlinear_contrast(means, lambda e: e["api00"] / e["api99"], name="ratio")
    assert ratio.name == "ratio"
    check(ratio, ref, "strat_nl_ratio")
    exact = nonlinear_contrast(
        means,
        lambda e: e["api00"] / e["api99"],
        gradient=lambda e: {"api00": 1 / e["api99"], "api99": -e["api00"] / e["api99"] ** 2},
    )
    check(exact, ref, "strat_nl_ratio")
    domains = joint_estimate(dstrat, "mean", "api00", by="stype")
    check(
        nonlinear_contrast(domains, lambda e: (e["E"] - e["H"]) / e["H"]), ref, "strat_nl_reldiff"
    )
    with pytest.raises(ValueError, match="function: no estimate is called 'X'"):
        nonlinear_contrast(domains, lambda e: e["X"])


def test_sum_of_domain_totals(dstrat, ref):
    totals = joint_estimate(dstrat, "total", "enroll", by="stype")
    check(contrast(totals, [1, 0, 1]), ref, "strat_total_EplusM")


def test_difference_of_proportions(dstrat, ref):
    shares = joint_estimate(dstrat, "proportion", "sch.wide")
    assert shares.labels == ("sch.wide=No", "sch.wide=Yes")
    check(contrast(shares, {"sch.wide=Yes": 1, "sch.wide=No": -1}), ref, "strat_prop_diff")


def test_domains_sharing_psus_use_the_joint_covariance(dclus1, ref):
    means = joint_estimate(dclus1, "mean", "api00", by="sch.wide")
    assert means.labels == ("No", "Yes")
    # R's order is Yes, No
    np.testing.assert_allclose(means.estimate[::-1], ref["clus_by_schwide_est"], rtol=EST)
    np.testing.assert_allclose(
        means.covariance[::-1, ::-1].ravel(), ref["clus_by_schwide_vcov"], rtol=SE
    )
    c = contrast(means, {"Yes": 1, "No": -1})
    assert c.estimate == pytest.approx(ref["clus_YminusN_est"][0], rel=EST)
    assert c.se == pytest.approx(ref["clus_YminusN_se"][0], rel=SE)
    assert c.pvalue == pytest.approx(ref["clus_YminusN_p"][0], rel=SE)
    assert c.pvalue_t == pytest.approx(ref["clus_YminusN_pt"][0], rel=SE)


def test_contrasts_on_a_replicate_design(dclus1, ref):
    jk1 = as_replicate(dclus1, "JK1")
    means = joint_estimate(jk1, "mean", "api00", by="sch.wide")
    check(contrast(means, [-1, 1]), ref, "jk1_YminusN")
    both = joint_estimate(jk1, "mean", ["api00", "api99"])
    check(contrast(both, [0.6, 0.4]), ref, "jk1_wsum")


def test_contrast_of_an_estimate_table_from_the_estimators(dstrat, ref):
    table = mean(dstrat, "api00", by="stype")
    # the domains' own df differ, so the design's df is given for the t test
    check(contrast(table, {"E": 1, "H": -1}, df=dstrat.df), ref, "strat_EminusH")
    assert np.isnan(contrast(table, {"E": 1, "H": -1}).pvalue_t)


def test_joint_ratios_agree_with_separate_ones(dstrat):
    joint = joint_estimate(dstrat, "ratio", ["api00", "api99"], denominator="enroll")
    assert joint.labels == ("api00/enroll", "api99/enroll")
    for i, y in enumerate(["api00", "api99"]):
        alone = joint_estimate(dstrat, "ratio", y, denominator="enroll")
        assert joint.estimate[i] == pytest.approx(alone.estimate[0], rel=1e-14)
        assert joint.se[i] == pytest.approx(alone.se[0], rel=1e-12)
    # the change of the ratio from api99 to api00, with their covariance
    change = contrast(joint, {"api00/enroll": 1, "api99/enroll": -1})
    assert change.se < joint.se.sum()


def test_contrast_of_arrays_and_intervals():
    c = contrast([3.0, 1.0], [1, -1], covariance=np.diag([1.0, 3.0]), df=10)
    assert (c.estimate, c.se, c.statistic) == (2.0, 2.0, 1.0)
    assert c.pvalue == pytest.approx(0.31731050786291415, rel=1e-12)
    assert c.pvalue_t == pytest.approx(0.34089313230205975, rel=1e-10)
    low, high = c.ci()
    assert (low, high) == pytest.approx((2 - 1.959963984540054 * 2, 2 + 1.959963984540054 * 2))
    low_t, _ = c.ci(0.9, "wald-t")
    assert low_t == pytest.approx(2 - 1.8124611228107335 * 2)
    joint = JointEstimate.from_arrays([1.0, 2.0, 4.0], np.eye(3), labels=["a", "b", "c"])
    assert contrast(joint, {"c": 1, "a": -1}).estimate == 3.0
    assert np.isnan(contrast(joint, {"a": 1}).pvalue_t)  # no df known


def test_bad_coefficients_name_the_problem(dstrat):
    means = joint_estimate(dstrat, "mean", "api00", by="stype")
    with pytest.raises(ValueError, match=r"no estimate is called 'X' \(estimates: 'E', 'H', 'M'\)"):
        contrast(means, {"X": 1})
    with pytest.raises(ValueError, match="expected 3 coefficients, got 2"):
        contrast(means, [1, -1])
    with pytest.raises(ValueError, match="covariance: required"):
        contrast([1.0, 2.0], [1, -1])
    with pytest.raises(ValueError, match="statistic: 'median' is not one of"):
        joint_estimate(dstrat, "median", "api00")
    with pytest.raises(ValueError, match="denominator: required"):
        joint_estimate(dstrat, "ratio", "api00")
    with pytest.raises(ValueError, match="y: column 'nope' is missing"):
        joint_estimate(dstrat, "mean", "nope")
    with pytest.raises(ValueError, match="method: 'beta' is not one of"):
        contrast(means, [1, -1, 0]).ci(method="beta")
