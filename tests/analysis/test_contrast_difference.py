"""The difference of two estimates from independent samples (two waves).

Checked against the same difference computed the long way: the two samples
stacked into one design with each sample's strata and PSUs kept apart, their
means estimated together with :func:`joint_estimate` (``by`` the sample) and
contrasted with :func:`contrast` -- R's ``svyby(~y, ~wave, stacked,
svymean, covmat = TRUE)`` and ``svycontrast``. In that design the two samples
share no stratum, so the covariance is zero and the degrees of freedom are
those of both designs together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.contrast import contrast, difference, joint_estimate
from analysis.design import SurveyDesign
from analysis.estimators import mean
from analysis.results import Estimate


@pytest.fixture
def samples(api) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two independent samples of the same population: a stratified and a cluster one."""
    strat = api("apistrat")
    strat = pd.DataFrame(
        {
            "wave": "a",
            "stratum": "a-" + strat["stype"],
            "psu": "a-" + strat.index.astype(str),
            "fpc": strat["fpc"],
            "w": strat["pw"],
            "api00": strat["api00"],
        }
    )
    clus = api("apiclus1")
    clus = pd.DataFrame(
        {
            "wave": "b",
            "stratum": "b",
            "psu": "b-" + clus["dnum"].astype(str),
            "fpc": clus["fpc"],
            "w": clus["pw"],
            "api00": clus["api00"],
        }
    )
    return strat, clus


def _design(frame: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign.from_frame(frame, weights="w", strata="stratum", psu="psu", fpc="fpc")


def test_difference_is_the_contrast_of_the_stacked_design(samples):
    first, second = samples
    a = mean(_design(first), "api00")
    b = mean(_design(second), "api00")
    stacked = _design(pd.concat([first, second], ignore_index=True))
    joint = joint_estimate(stacked, "mean", "api00", by="wave")
    assert joint.covariance[0, 1] == pytest.approx(0.0, abs=1e-9 * joint.covariance[0, 0])
    long_way = contrast(joint, [1, -1], df=stacked.df)

    ours = difference(a, b)

    assert ours.estimate == pytest.approx(long_way.estimate, rel=1e-12)
    assert ours.se == pytest.approx(long_way.se, rel=1e-9)
    assert ours.df == stacked.df == a.df + b.df
    assert ours.pvalue == pytest.approx(long_way.pvalue, rel=1e-8)
    assert ours.pvalue_t == pytest.approx(long_way.pvalue_t, rel=1e-8)


def test_variance_is_the_sum_and_the_test_is_normal_by_default():
    a = Estimate("overall", None, 0.82, 0.021, 40, None, 900)
    b = Estimate("overall", None, 0.77, 0.034, 25, None, 500)
    d = difference(a, b)
    se = np.hypot(0.021, 0.034)
    z = 0.05 / se
    assert d.estimate == pytest.approx(0.05, rel=1e-12)
    assert d.se == pytest.approx(se, rel=1e-12)
    assert d.statistic == pytest.approx(z, rel=1e-12)
    assert d.pvalue == pytest.approx(2 * stats.norm.sf(z), rel=1e-10)
    assert d.pvalue_t == pytest.approx(2 * stats.t.sf(z, 65), rel=1e-10)
    low, high = d.ci(0.95)
    assert (low, high) == pytest.approx(
        (0.05 - 1.959963984540054 * se, 0.05 + 1.959963984540054 * se)
    )
    low_t, high_t = d.ci(0.95, "wald-t")
    assert high_t - 0.05 == pytest.approx(stats.t.ppf(0.975, 65) * se, rel=1e-10)


def test_a_given_df_is_used_for_the_t_test():
    a = Estimate("x", None, 1.0, 0.5, 3, None, 10)
    b = Estimate("x", None, 0.0, 0.5, 3, None, 10)
    assert difference(a, b, df=4).pvalue_t == pytest.approx(
        2 * stats.t.sf(1 / np.sqrt(0.5), 4), rel=1e-10
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_an_estimate_without_a_finite_value_is_refused(bad):
    a = Estimate("x", None, 0.5, bad, 3, None, 10)
    b = Estimate("x", None, 0.4, 0.1, 3, None, 10)
    with pytest.raises(ValueError, match="a: estimate and standard error must be finite"):
        difference(a, b)
