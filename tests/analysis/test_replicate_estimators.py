"""The ordinary estimators accept a replicate-weight design and agree with joint_estimate."""

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, mean, proportion, ratio, total
from analysis.contrast import joint_estimate
from analysis.replicate import as_replicate


@pytest.fixture
def replicate_design():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "w": rng.uniform(1, 3, 200),
            "psu": np.repeat(np.arange(20), 10),
            "stratum": np.repeat(np.arange(4), 50),
            "y": rng.normal(10, 2, 200),
            "x": rng.uniform(1, 2, 200),
            "g": rng.choice(["a", "b", "c"], 200),
        }
    )
    design = SurveyDesign.from_frame(frame, weights="w", strata="stratum", psu="psu")
    return as_replicate(design, "JKn")


@pytest.mark.parametrize("statistic", ["mean", "total"])
def test_mean_and_total_on_replicates(replicate_design, statistic):
    estimator = {"mean": mean, "total": total}[statistic]
    result = estimator(replicate_design, "y")
    joint = joint_estimate(replicate_design, statistic, "y")
    assert result.estimate == pytest.approx(joint.estimate[0], rel=1e-12)
    assert result.se == pytest.approx(joint.se[0], rel=1e-12)
    assert result.se > 0


def test_domains_proportions_and_ratio_on_replicates(replicate_design):
    table = mean(replicate_design, "y", by="g")
    assert len(table) == 3 and all(row.se > 0 for row in table)
    shares = proportion(replicate_design, "g")
    assert sum(row.estimate for row in shares) == pytest.approx(1.0)
    r = ratio(replicate_design, "y", "x")
    assert r.estimate == pytest.approx(
        joint_estimate(replicate_design, "ratio", "y", denominator="x").estimate[0]
    )
