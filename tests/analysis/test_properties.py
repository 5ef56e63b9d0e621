"""Property tests (hypothesis) of the estimators and the variance engine.

* Scaling every weight by a constant leaves means, proportions, ratios and
  their standard errors unchanged.
* With one PSU per respondent and no strata, the variance of a mean is the
  with-replacement SRS variance ``n/(n-1) sum w_i^2 (y_i - ybar)^2 / W^2``.
* Estimates over the domains of a partition recombine to the population
  estimate: totals add up, means average with the domain weights, and the
  variance of the total is the sum of the domain covariance matrix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import SurveyDesign, mean, proportion, ratio, total

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def samples(draw, min_psu: int = 2) -> pd.DataFrame:
    """A stratified cluster sample: 1-4 strata, 2-5 PSUs each, 1-6 rows per PSU."""
    n_strata = draw(st.integers(1, 4))
    rows = []
    for h in range(n_strata):
        for p in range(draw(st.integers(min_psu, 5))):
            for _ in range(draw(st.integers(1, 6))):
                rows.append((f"s{h}", f"s{h}-p{p}"))
    n = len(rows)
    weights = draw(st.lists(st.floats(0.5, 100.0), min_size=n, max_size=n))
    y = draw(st.lists(st.floats(-50.0, 50.0), min_size=n, max_size=n))
    x = draw(st.lists(st.floats(1.0, 20.0), min_size=n, max_size=n))
    group = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    frame = pd.DataFrame(rows, columns=["stratum", "psu"])
    frame["w"] = weights
    frame["y"] = y
    frame["x"] = x
    frame["group"] = group
    frame["sat"] = (frame["y"] > 0).astype(float)
    return frame


def _design(frame: pd.DataFrame, weights: str = "w") -> SurveyDesign:
    return SurveyDesign.from_frame(
        frame, weights=weights, strata="stratum", psu="psu", lonely_psu="adjust"
    )


@SETTINGS
@given(frame=samples(), factor=st.floats(0.01, 1000.0))
def test_scaling_weights_leaves_means_and_ses_unchanged(frame: pd.DataFrame, factor: float) -> None:
    frame = frame.assign(w2=frame.w * factor)
    a, b = _design(frame), _design(frame, "w2")
    pairs = [
        (mean(a, "y"), mean(b, "y")),
        (proportion(a, "sat"), proportion(b, "sat")),
        (ratio(a, "y", "x"), ratio(b, "y", "x")),
    ]
    pairs += list(zip(mean(a, "y", by="group"), mean(b, "y", by="group"), strict=True))
    pairs += list(zip(proportion(a, "group"), proportion(b, "group"), strict=True))
    for ea, eb in pairs:
        assert eb.estimate == pytest.approx(ea.estimate, rel=1e-9, abs=1e-9)
        assert eb.se == pytest.approx(ea.se, rel=1e-7, abs=1e-12)
        assert (ea.df, ea.n) == (eb.df, eb.n)


@SETTINGS
@given(frame=samples())
def test_one_psu_per_respondent_gives_the_with_replacement_srs_variance(
    frame: pd.DataFrame,
) -> None:
    d = SurveyDesign.from_frame(frame, weights="w")
    w, y = frame.w.to_numpy(), frame.y.to_numpy()
    n, big_w = len(frame), w.sum()
    ybar = np.sum(w * y) / big_w
    expected = n / (n - 1) * np.sum(w**2 * (y - ybar) ** 2) / big_w**2
    est = mean(d, "y")
    assert est.se**2 == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert est.df == n - 1
    equal = SurveyDesign.from_frame(frame.assign(one=1.0), weights="one")
    s2 = np.var(y, ddof=1)
    assert mean(equal, "y").se ** 2 == pytest.approx(s2 / n, rel=1e-9, abs=1e-15)


@SETTINGS
@given(frame=samples())
def test_domains_of_a_partition_recombine_to_the_total(frame: pd.DataFrame) -> None:
    d = _design(frame)
    overall = total(d, "y")
    by_group = total(d, "y", by="group")
    assert sum(e.estimate for e in by_group) == pytest.approx(overall.estimate, rel=1e-9, abs=1e-9)
    assert by_group.vcov().sum() == pytest.approx(overall.se**2, rel=1e-9, abs=1e-9)

    means = mean(d, "y", by="group")
    shares = proportion(d, "group")
    recombined = sum(m.estimate * s.estimate for m, s in zip(means, shares, strict=True))
    assert recombined == pytest.approx(mean(d, "y").estimate, rel=1e-9, abs=1e-9)
    assert sum(s.estimate for s in shares) == pytest.approx(1.0)

    by_stratum = total(d, "y", by="stratum")
    assert sum(e.estimate for e in by_stratum) == pytest.approx(
        overall.estimate, rel=1e-9, abs=1e-9
    )
    # strata are independent: their variances add up
    assert sum(e.se**2 for e in by_stratum) == pytest.approx(overall.se**2, rel=1e-9, abs=1e-9)
