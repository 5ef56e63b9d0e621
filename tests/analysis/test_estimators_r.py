"""Estimates, SEs, design effects, df and intervals against R's survey package.

The reference values come from ``reference/core/make_reference.R`` (run
``Rscript make_reference.R`` in that folder to regenerate them); R's api data
sets are exported beside it. Each row of ``reference.csv`` is one
design x statistic x variable x domain x level. The designs, in R::

    srs         svydesign(id=~1, weights=~pw, fpc=~fpc, data=apisrs)
    srs_frac    ... fpc=~frac (sampling fraction 200/6194)
    srs_wr      svydesign(id=~1, weights=~pw, data=apisrs)
    strat       svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    strat_wr    ... without fpc
    strat_nest  svydesign(id=~dnum, strata=~stype, weights=~pw, data=apistrat, nest=TRUE)
    clus1       svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)
    clus1_wr    ... without fpc
    clus2       svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2, data=apiclus2)
    clus2_frac  ... fpc=~frac1+frac2 (sampling fractions at both stages)
    clus2_wr    ... without fpc (ultimate clusters)
    lonely_*    svydesign(id=~dnum, strata=~lstrat, weights=~pw, data=apiclus1),
                stratum "C" has one PSU; options(survey.lonely.psu=*)
    lonely_fpc_*      ... with fpc=~lfpc
    lonely_cert_fpc   ... fpc of stratum C is 1 (self-representing), policy "fail"
    lonely2_*   svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2_lonely, data=apiclus2)
                ten PSUs have one school sampled out of 4: lonely at stage 2

Statistics: ``svymean`` (api00; acs.k3 with missing values), ``svytotal``
(enroll, missing in apiclus2), ``svyratio`` (api.stu/enroll), proportions of
a factor (stype; k3_cat with missing values) and of an indicator (yes;
small_k3 with missing values), each with ``deff=TRUE`` and ``na.rm=TRUE``;
whole population and ``svyby`` domains (comp.imp, stype, stype x comp.imp);
``confint`` (normal) and ``confint(df=degf)`` at levels 0.95 and 0.90;
``svyciprop`` logit and beta for the indicators.

``extra.csv`` adds covariance matrices (``vcov(svyby(..., covmat=TRUE))``,
``vcov(svymean(~factor))``) and domains of a post-stratified design
(``postStratify(dclus1, ~stype, pop)``, whose ``subset`` keeps every row).

Tolerances: estimates relative 1e-9; SEs, deff, covariances and Wald
intervals 1e-7; logit and beta intervals 1e-6.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, as_table, mean, proportion, ratio, total

from .conftest import REFERENCE, api_data

DESIGNS: dict[str, tuple[str, dict, str]] = {
    "srs": ("apisrs", {"weights": "pw", "fpc": "fpc"}, "fail"),
    "srs_frac": ("apisrs", {"weights": "pw", "fpc": "frac"}, "fail"),
    "srs_wr": ("apisrs", {"weights": "pw"}, "fail"),
    "strat": ("apistrat", {"weights": "pw", "strata": "stype", "fpc": "fpc"}, "fail"),
    "strat_wr": ("apistrat", {"weights": "pw", "strata": "stype"}, "fail"),
    "strat_nest": (
        "apistrat",
        {"weights": "pw", "strata": "stype", "psu": "dnum", "nest": True},
        "fail",
    ),
    "clus1": ("apiclus1", {"weights": "pw", "psu": "dnum", "fpc": "fpc"}, "fail"),
    "clus1_wr": ("apiclus1", {"weights": "pw", "psu": "dnum"}, "fail"),
    "clus2": (
        "apiclus2",
        {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]},
        "fail",
    ),
    "clus2_frac": (
        "apiclus2",
        {"weights": "pw", "psu": "dnum,snum", "fpc": "frac1,frac2"},
        "fail",
    ),
    "clus2_wr": ("apiclus2", {"weights": "pw", "psu": ["dnum", "snum"]}, "fail"),
    "lonely_cert_fpc": (
        "apiclus1",
        {"weights": "pw", "strata": "lstrat", "psu": "dnum", "fpc": "lfpc_cert"},
        "fail",
    ),
}
for _policy in ("remove", "adjust", "average", "certainty"):
    DESIGNS[f"lonely_{_policy}"] = (
        "apiclus1",
        {"weights": "pw", "strata": "lstrat", "psu": "dnum"},
        _policy,
    )
    DESIGNS[f"lonely_fpc_{_policy}"] = (
        "apiclus1",
        {"weights": "pw", "strata": "lstrat", "psu": "dnum", "fpc": "lfpc"},
        _policy,
    )
    DESIGNS[f"lonely2_{_policy}"] = (
        "apiclus2",
        {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2_lonely"]},
        _policy,
    )

INDICATORS = {"yes", "small_k3"}


@cache
def reference() -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE / "reference.csv", keep_default_na=False, na_values=[""])
    ref["domain"] = ref["domain"].fillna("")
    ref["base"] = ref["variable"].str.split("=").str[0]
    ref["by"] = ref["domain"].map(
        lambda d: ",".join(part.split("=")[0] for part in d.split(";")) if d else ""
    )
    return ref


@cache
def design(key: str) -> SurveyDesign:
    data, spec, policy = DESIGNS[key]
    return SurveyDesign.from_frame(api_data(data), lonely_psu=policy, **spec)


def compute(key: str, stat: str, base: str, by: str):
    d = design(key)
    by_arg = by.split(",") if by else None
    if stat == "mean":
        return as_table(mean(d, base, by=by_arg))
    if stat == "total":
        return as_table(total(d, base, by=by_arg))
    if stat == "ratio":
        num, den = base.split("/")
        return as_table(ratio(d, num, den, by=by_arg))
    return as_table(proportion(d, base, by=by_arg))


def _groups():
    ref = reference()
    keys = ref[["design", "stat", "base", "by"]].drop_duplicates()
    return [tuple(row) for row in keys.itertuples(index=False)]


def _domain(label: str) -> dict:
    return dict(part.split("=", 1) for part in label.split(";")) if label else {}


def _close(actual, expected, rel: float, abs_: float = 1e-12) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if actual is None:
        return False
    return actual == pytest.approx(expected, rel=rel, abs=abs_)


@pytest.mark.parametrize(("key", "stat", "base", "by"), _groups())
def test_against_r(key: str, stat: str, base: str, by: str) -> None:
    ref = reference()
    rows = ref[(ref.design == key) & (ref.stat == stat) & (ref.base == base) & (ref.by == by)]
    table = compute(key, stat, base, by)
    problems = []
    for row in rows.itertuples(index=False):
        dom = _domain(row.domain)
        variable = row.variable
        est = table.find(variable, **dom)
        if dom:
            assert est.domain == dom
        else:
            assert est.domain is None
        where = f"{variable} {row.domain or 'all'} level={row.level}"
        checks = [
            ("estimate", est.estimate, row.estimate, 1e-9),
            ("se", est.se, row.se, 1e-7),
            ("deff", est.deff, row.deff, 1e-7),
        ]
        wald = est.ci(row.level, "wald")
        wald_t = est.ci(row.level, "wald-t")
        checks += [
            ("wald_low", wald.low, row.wald_low, 1e-7),
            ("wald_high", wald.high, row.wald_high, 1e-7),
            ("waldt_low", wald_t.low, row.waldt_low, 1e-7),
            ("waldt_high", wald_t.high, row.waldt_high, 1e-7),
        ]
        if base in INDICATORS and not math.isnan(row.logit_low):
            logit = est.ci(row.level, "logit")
            beta = est.ci(row.level, "beta")
            checks += [
                ("logit_low", logit.low, row.logit_low, 1e-6),
                ("logit_high", logit.high, row.logit_high, 1e-6),
                ("beta_low", beta.low, row.beta_low, 1e-6),
                ("beta_high", beta.high, row.beta_high, 1e-6),
            ]
        for name, actual, expected, rel in checks:
            if isinstance(actual, float) and math.isnan(actual):
                actual = None
            if not _close(actual, expected, rel):
                problems.append(f"{where}: {name} {actual!r} != R {expected!r}")
        for name, actual, expected in [
            ("df", est.df, row.df),
            ("n", est.n, row.n),
            ("n_domain", est.n_domain, row.n_domain),
        ]:
            if actual != expected:
                problems.append(f"{where}: {name} {actual} != R {expected}")
    assert not problems, "\n".join(problems[:20])


def test_reference_covers_the_brief() -> None:
    ref = reference()
    assert set(ref.design) == set(DESIGNS)
    assert {"mean", "total", "ratio", "proportion"} <= set(ref.stat)
    assert ref["logit_low"].notna().sum() > 100
    assert (ref["by"] == "stype,comp.imp").any()


@pytest.mark.parametrize(
    ("data", "spec"),
    [
        ("apiclus1", {"weights": "pw", "strata": "lstrat", "psu": "dnum"}),
        ("apiclus2", {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2_lonely"]}),
    ],
)
def test_lonely_fail_raises_like_r(data: str, spec: dict) -> None:
    """R stops with "Stratum (C) has only one PSU at stage 1" (or stage 2)."""
    d = SurveyDesign.from_frame(api_data(data), lonely_psu="fail", **spec)
    with pytest.raises(ValueError, match="has only one PSU at stage"):
        mean(d, "api00")


def test_lonely_fail_ignores_a_domain_without_the_stratum() -> None:
    """A domain with no row in the lonely stratum is estimable, as with R's subset.

    R: ``svymean(~api00, subset(d, lstrat != "C"))`` works under "fail", and so
    does a variable answered only outside stratum C (na.rm=TRUE).
    """
    data = api_data("apiclus1")
    d = SurveyDesign.from_frame(data, weights="pw", strata="lstrat", psu="dnum")
    outside = (data.lstrat != "C").to_numpy()
    result = mean(d, np.where(outside, data.api00, np.nan))
    assert result.se > 0
    by_table = mean(d, "api00", by=np.where(outside, "AB", None))
    assert len(by_table) == 1
    assert by_table[0].estimate == pytest.approx(result.estimate, rel=1e-12)
    assert by_table[0].se == pytest.approx(result.se, rel=1e-12)
    with pytest.raises(ValueError, match="stratum 'C' has only one PSU at stage 1"):
        mean(d, "api00", by="lstrat")


def test_strata_not_nested_like_r() -> None:
    """R: "Clusters not nested in strata at top level; you may want nest=TRUE"."""
    with pytest.raises(ValueError, match="clusters not nested in strata"):
        SurveyDesign.from_frame(api_data("apistrat"), weights="pw", strata="stype", psu="dnum")


# ------------------------------------------------------------ extra.csv
@cache
def extra() -> dict[str, np.ndarray]:
    """Matrices of ``extra.csv`` by case (missing cells NaN)."""
    ext = pd.read_csv(REFERENCE / "extra.csv")
    out = {}
    for case, rows in ext.groupby("case"):
        m = np.full((rows.i.max(), rows.j.max()), np.nan)
        m[rows.i - 1, rows.j - 1] = rows.value
        out[case] = m
    return out


@pytest.mark.parametrize(
    ("case", "compute_table"),
    [
        ("vcov_clus1_mean_api00_by_stype", lambda: mean(design("clus1"), "api00", by="stype")),
        (
            "vcov_clus2_total_api00_by_comp.imp",
            lambda: total(design("clus2"), "api00", by="comp.imp"),
        ),
        ("vcov_strat_proportion_stype", lambda: proportion(design("strat"), "stype")),
        ("vcov_clus1_proportion_k3_cat", lambda: proportion(design("clus1"), "k3_cat")),
    ],
)
def test_vcov_against_r(case: str, compute_table) -> None:
    """``EstimateTable.vcov()`` is R's ``vcov(svyby(..., covmat=TRUE))`` / ``vcov(svymean)``."""
    table = compute_table()
    expected = extra()[case]
    if case.endswith("k3_cat"):  # R orders the levels small, medium, large
        order = [
            [e.variable for e in table].index(f"k3_cat={lev}")
            for lev in ("small", "medium", "large")
        ]
        got = table.vcov()[np.ix_(order, order)]
    else:
        got = table.vcov()
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-15)


def test_calibrated_design_domains_against_r() -> None:
    """Domains of ``postStratify(dclus1, ~stype, pop)``: R keeps every row in ``subset``.

    The estimators use the calibrated variance, the df of the domain and, for
    the beta interval, ``nrow`` of the whole design.
    """
    calibration = pytest.importorskip("analysis.calibration")
    ps = calibration.post_stratify(design("clus1"), "stype", {"E": 4421, "H": 755, "M": 1018})
    for lev in ("No", "Yes"):
        ref = extra()[f"ps_comp.imp={lev}"]
        m = mean(ps, "api00", by="comp.imp").find(**{"comp.imp": lev})
        assert m.estimate == pytest.approx(ref[0, 0], rel=1e-9)
        assert m.se == pytest.approx(ref[0, 1], rel=1e-7)
        assert m.deff == pytest.approx(ref[0, 2], rel=1e-7)
        assert (m.df, m.n_domain) == (ref[0, 3], ref[0, 4])
        if lev == "Yes":  # every such school met its target: p = 1, nothing more to check
            continue
        p = proportion(ps, "yes", by="comp.imp").find(**{"comp.imp": lev})
        assert p.estimate == pytest.approx(ref[1, 0], rel=1e-9)
        assert p.se == pytest.approx(ref[1, 1], rel=1e-7)
        assert p.deff == pytest.approx(ref[1, 2], rel=1e-7)
        assert tuple(p.ci(method="beta")) == pytest.approx((ref[1, 3], ref[1, 4]), rel=1e-6)
        assert tuple(p.ci(method="logit")) == pytest.approx((ref[2, 0], ref[2, 1]), rel=1e-6)
