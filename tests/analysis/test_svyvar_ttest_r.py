"""``variance`` against R's ``svyvar`` and ``ttest`` against R's ``svyttest``.

The reference values come from ``reference/svyvar/make_reference.R`` (R 4.2,
survey 4.1), which reads the api data of ``reference/core`` and the
SIPAS-like data of ``reference/sipas``. In R::

    svyvar(~x, design, na.rm = TRUE)          # domains: design[by == value, ]
    svyttest(x ~ group, design)

with the designs

    strat   svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    clus1   svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)
    clus2   svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2, data=apiclus2)
    lonely  svydesign(id=~dnum, strata=~lstrat, weights=~pw, data=apiclus1)
            (stratum "C" has one PSU), options(survey.lonely.psu = "adjust")
    sipas   svydesign(ids=~desk+day, strata=~province,
                      fpc=~desks_total+days_total, weights=~weight, data=sipas)

Estimates agree to 1e-12 relative, standard errors, t statistics, p-values
and intervals to 1e-9; degrees of freedom and rows exactly.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import Estimate, EstimateTable, SurveyDesign, TTest, mean, ttest, variance
from tests.analysis.conftest import api_data, reference_values

REF = Path(__file__).parent / "reference" / "svyvar"
SIPAS = Path(__file__).parent / "reference" / "sipas" / "sipas.csv"

DESIGNS: dict[str, tuple[str, dict, str]] = {
    "strat": ("apistrat", {"weights": "pw", "strata": "stype", "fpc": "fpc"}, "fail"),
    "clus1": ("apiclus1", {"weights": "pw", "psu": "dnum", "fpc": "fpc"}, "fail"),
    "clus2": (
        "apiclus2",
        {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]},
        "fail",
    ),
    "lonely": ("apiclus1", {"weights": "pw", "strata": "lstrat", "psu": "dnum"}, "adjust"),
    "sipas": (
        "sipas",
        {
            "weights": "weight",
            "strata": "province",
            "psu": ["desk", "day"],
            "fpc": ["desks_total", "days_total"],
        },
        "fail",
    ),
}

# (design, variable, by), mirrored by make_reference.R
VARIANCE_CASES = [
    ("strat", "api00", None),
    ("strat", "acs.k3", "comp.imp"),
    ("clus1", "api00", None),
    ("clus1", "enroll", "stype"),
    ("clus2", "api00", None),
    ("clus2", "enroll", None),
    ("clus2", "api00", "comp.imp"),
    ("lonely", "api00", None),
    ("lonely", "api00", "stype"),
    ("sipas", "age", None),
    ("sipas", "fee", "channel"),
]
# (design, variable, group)
TTEST_CASES = [
    ("strat", "api00", "comp.imp"),
    ("strat", "acs.k3", "comp.imp"),
    ("clus1", "api00", "sch.wide"),
    ("clus1", "api00", "yes"),
    ("clus2", "api00", "comp.imp"),
    ("clus2", "enroll", "comp.imp"),
    ("lonely", "api00", "comp.imp"),
    ("sipas", "fee", "gender"),
    ("sipas", "age", "paid"),
]


@cache
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@cache
def design(key: str) -> SurveyDesign:
    data, spec, policy = DESIGNS[key]
    if data == "sipas":
        frame = pd.read_csv(SIPAS, dtype={"province": str, "desk": str, "day": str})
    else:
        frame = api_data(data)
    return SurveyDesign.from_frame(frame, lonely_psu=policy, **spec)


@pytest.mark.parametrize(
    "key,var,by", VARIANCE_CASES, ids=["-".join(filter(None, c)) for c in VARIANCE_CASES]
)
def test_variance_matches_svyvar(key: str, var: str, by: str | None) -> None:
    result = variance(design(key), var, by=by)
    name = f"var_{key}_{var}"
    if by is None:
        assert isinstance(result, Estimate)
        checks = [(name, result)]
    else:
        assert isinstance(result, EstimateTable)
        checks = [(f"{name}_{by}={e.domain[by]}", e) for e in result]
    for ref_name, e in checks:
        est, se, df, nrow = ref()[ref_name]
        assert e.statistic == "variance"
        assert e.estimate == pytest.approx(est, rel=1e-12)
        assert e.se == pytest.approx(se, rel=1e-9)
        assert e.df == int(df)
        assert e.n_domain == int(nrow)
        assert e.deff is None


@pytest.mark.parametrize("key,var,group", TTEST_CASES, ids=["-".join(c) for c in TTEST_CASES])
def test_ttest_matches_svyttest(key: str, var: str, group: str) -> None:
    t = ttest(design(key), var, group)
    stat, df, diff, p, low, high, se = ref()[f"ttest_{key}_{var}_{group}"]
    assert isinstance(t, TTest)
    assert t.estimate == pytest.approx(diff, rel=1e-12)
    assert t.se == pytest.approx(se, rel=1e-9)
    assert t.statistic == pytest.approx(stat, rel=1e-9)
    assert t.df == int(df)
    assert t.p_value == pytest.approx(p, rel=1e-9)
    assert (t.ci_low, t.ci_high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))
    assert t.ci().low == t.ci_low


def test_the_difference_is_the_second_group_minus_the_first() -> None:
    d = design("clus2")
    t = ttest(d, "api00", "comp.imp")
    by = mean(d, "api00", by="comp.imp")
    assert t.levels == ("No", "Yes")
    assert t.means == (
        pytest.approx(by.find(**{"comp.imp": "No"}).estimate, rel=1e-12),
        pytest.approx(by.find(**{"comp.imp": "Yes"}).estimate, rel=1e-12),
    )
    assert t.estimate == pytest.approx(t.means[1] - t.means[0], rel=1e-12)
    text = str(t)
    assert "difference in mean (Yes - No)" in text and f"df = {t.df}" in text
    assert t.to_dict()["levels"] == ["No", "Yes"]


def test_variance_of_equal_weights_is_the_sample_variance() -> None:
    frame = pd.DataFrame({"w": 3.0, "y": [2.0, 4, 4, 4, 5, 5, 7, 9, np.nan]})
    v = variance(SurveyDesign.from_frame(frame, weights="w"), "y")
    # R's n counts every row with a weight, the missing one too: 9/8 of the
    # divisor-n variance of the eight answers
    values = frame.y.dropna()
    assert v.estimate == pytest.approx(np.var(values, ddof=0) * 9 / 8, rel=1e-12)
    assert v.n == 8


@pytest.mark.parametrize(
    "group,message",
    [
        ("stype", "group: column 'stype' has 3 groups (E, H, M) among the rows with a value"),
        ("nosuch", "group: column 'nosuch' is missing"),
    ],
)
def test_a_group_that_is_not_two_groups_is_refused(group: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        ttest(design("clus1"), "api00", group)
    assert str(info.value).startswith(message)


def test_a_group_with_no_residual_degree_of_freedom_gives_nan_p() -> None:
    frame = pd.DataFrame(
        {"w": 1.0, "y": [1.0, 2, 3, 4], "g": ["a", "a", "b", "b"], "psu": [1, 1, 2, 2]}
    )
    t = ttest(SurveyDesign.from_frame(frame, weights="w", psu="psu"), "y", "g")
    assert t.df == 0 and math.isnan(t.p_value) and math.isnan(t.ci_low)
    assert t.estimate == 2.0
