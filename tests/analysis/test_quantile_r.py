"""Quantiles with Woodruff intervals against R's ``svyquantile`` (survey 4.1).

The reference values come from ``reference/quantile/make_reference.R``,
which reads the api data of ``reference/core`` and the SIPAS-like data of
``reference/sipas``. In R, for each case::

    svyquantile(~x, design, c(0.1, 0.25, 0.5, 0.75, 0.9), na.rm = TRUE)

with survey 4.1's defaults (``interval.type = "mean"``, ``qrule = "math"``,
``alpha = 0.05``), and a few cases with ``interval.type`` ``"beta"``,
``"xlogit"``, ``"asin"``, ``qrule = "school"`` and ``alpha = 0.1``; domains
are ``design[by == value, ]``, as ``svyby`` passes them. The designs::

    srs       svydesign(id=~1, weights=~pw, fpc=~fpc, data=apisrs)
    strat     svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    clus1     svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)
    clus2     svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2, data=apiclus2)
    clus2_wr  ... without fpc
    lonely    svydesign(id=~dnum, strata=~lstrat, weights=~pw, data=apiclus1)
              (stratum "C" has one PSU), under each lonely-PSU policy
    sipas     svydesign(ids=~desk+day, strata=~province,
                        fpc=~desks_total+days_total, weights=~weight, data=sipas)

Estimates and interval ends are data values and must be equal; standard
errors agree to 1e-12 relative; df and n exactly. A bound R leaves out
(the proportion's interval passes 0 or 1) is NaN here too.

A property test: the median of a sample that is symmetric about ``c``
(mirrored values of equal weight, and rows at ``c``) is ``c``.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import QuantileEstimate, QuantileTable, SurveyDesign, quantile
from tests.analysis.conftest import api_data, reference_values

REF = Path(__file__).parent / "reference" / "quantile"
SIPAS = Path(__file__).parent / "reference" / "sipas" / "sipas.csv"
ROOT = Path(__file__).resolve().parents[2]
PROBS = (0.1, 0.25, 0.5, 0.75, 0.9)
TOL = 1e-12

DESIGNS: dict[str, tuple[str, dict]] = {
    "srs": ("apisrs", {"weights": "pw", "fpc": "fpc"}),
    "strat": ("apistrat", {"weights": "pw", "strata": "stype", "fpc": "fpc"}),
    "clus1": ("apiclus1", {"weights": "pw", "psu": "dnum", "fpc": "fpc"}),
    "clus2": ("apiclus2", {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]}),
    "clus2_wr": ("apiclus2", {"weights": "pw", "psu": ["dnum", "snum"]}),
    "lonely": ("apiclus1", {"weights": "pw", "strata": "lstrat", "psu": "dnum"}),
    "sipas": (
        "sipas",
        {
            "weights": "weight",
            "strata": "province",
            "psu": ["desk", "day"],
            "fpc": ["desks_total", "days_total"],
        },
    ),
}

# (design, variable, by), mirrored by make_reference.R
CASES = [
    ("srs", "api00", None),
    ("strat", "api00", None),
    ("strat", "api00", "comp.imp"),
    ("clus1", "api00", None),
    ("clus1", "enroll", "stype"),
    ("clus2", "api00", None),
    ("clus2", "enroll", None),
    ("clus2", "api00", "stype"),
    ("clus2", "acs.k3", "comp.imp"),
    ("clus2_wr", "api00", None),
    ("sipas", "age", None),
    ("sipas", "fee", "channel"),
]

# name: (design, lonely policy, variable, keyword arguments of quantile)
OPTION_CASES = {
    **{
        f"lonely_{policy}_api00": ("lonely", policy, "api00", {})
        for policy in ("adjust", "average", "remove", "certainty")
    },
    **{
        f"{key}_{var}_{kind}": (key, "fail", var, {"interval_type": kind})
        for kind in ("beta", "xlogit", "asin")
        for key, var in (("clus1", "api00"), ("sipas", "age"))
    },
    "strat_api00_school": ("strat", "fail", "api00", {"qrule": "school"}),
    "sipas_age_school": ("sipas", "fail", "age", {"qrule": "school"}),
    "clus2_api00_alpha10": ("clus2", "fail", "api00", {"level": 0.9}),
}


@cache
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@cache
def frame(name: str) -> pd.DataFrame:
    if name == "sipas":
        return pd.read_csv(SIPAS, dtype={"province": str, "desk": str, "day": str})
    return api_data(name)


@cache
def design(key: str, policy: str = "fail") -> SurveyDesign:
    data, spec = DESIGNS[key]
    return SurveyDesign.from_frame(frame(data), lonely_psu=policy, **spec)


def check(name: str, estimates: list[QuantileEstimate]) -> None:
    r = ref()
    assert [e.quantile for e in estimates] == list(PROBS)
    for column, values in (
        ("est", [e.estimate for e in estimates]),
        ("low", [e.ci_low for e in estimates]),
        ("high", [e.ci_high for e in estimates]),
    ):
        np.testing.assert_array_equal(values, r[f"{name}_{column}"], err_msg=f"{name} {column}")
    np.testing.assert_allclose(
        [e.se for e in estimates], r[f"{name}_se"], rtol=TOL, atol=0, err_msg=f"{name} se"
    )
    assert {e.df for e in estimates} == {int(r[f"{name}_df"][0])}
    assert {e.n for e in estimates} == {int(r[f"{name}_n"][0])}


@pytest.mark.parametrize("key,var,by", CASES, ids=["-".join(filter(None, c)) for c in CASES])
def test_quantiles_match_r(key: str, var: str, by: str | None) -> None:
    table = quantile(design(key), var, PROBS, by=by)
    assert isinstance(table, QuantileTable)
    if by is None:
        check(f"{key}_{var}", list(table))
        return
    domains = sorted({str(e.domain[by]) for e in table if e.n > 0})
    assert domains, "no domain with a value"
    for value in domains:
        rows = [e for e in table if str(e.domain[by]) == value]
        check(f"{key}_{var}_{by}={value}", rows)


@pytest.mark.parametrize("name", sorted(OPTION_CASES))
def test_interval_types_rules_levels_and_lonely_psus_match_r(name: str) -> None:
    key, policy, var, options = OPTION_CASES[name]
    table = quantile(design(key, policy), var, PROBS, **options)
    check(name, list(table))


def test_r_leaves_out_a_bound_outside_0_1_and_so_does_this() -> None:
    r = ref()
    missing = [k for k, v in r.items() if k.endswith(("_low", "_high")) and np.isnan(v).any()]
    assert missing, "the reference should hold a bound R leaves out"
    table = quantile(design("clus2"), "acs.k3", PROBS, by="comp.imp")
    no = [e for e in table if e.domain == {"comp.imp": "No"}]
    assert any(math.isnan(e.ci_high) and math.isnan(e.se) for e in no)
    assert all(not math.isnan(e.estimate) for e in no)


def test_one_probability_without_domains_is_one_estimate() -> None:
    med = quantile(design("strat"), "api00", 0.5)
    assert isinstance(med, QuantileEstimate)
    assert med.estimate == ref()["strat_api00_est"][2]
    assert med.ci().low == med.ci_low and med.ci().method == "woodruff"
    assert list(med.to_dict()) == [
        "variable",
        "domain",
        "quantile",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "n",
    ]
    with pytest.raises(ValueError, match="computed at 0.95"):
        med.ci(0.9)


def test_a_domain_without_any_value_gives_nan_not_an_error() -> None:
    # acs.k3 is missing in every high school: R's svyquantile stops there
    table = quantile(design("clus2"), "acs.k3", 0.5, by="stype")
    high = table.find(0.5, stype="H")
    assert high.n == 0 and math.isnan(high.estimate) and math.isnan(high.se)
    assert not math.isnan(table.find(0.5, stype="E").estimate)


def test_na_rm_false_gives_nan_where_a_value_is_missing() -> None:
    est = quantile(design("clus2"), "enroll", 0.5, na_rm=False)
    assert math.isnan(est.estimate) and math.isnan(est.ci_low)
    assert not math.isnan(quantile(design("clus2"), "api00", 0.5, na_rm=False).estimate)


@pytest.mark.parametrize("probs", [0.0, 1.0, -0.1, 1.5, [0.5, 2.0], []])
def test_a_probability_outside_0_1_is_refused(probs) -> None:
    with pytest.raises(ValueError, match=r"^probs: "):
        quantile(design("strat"), "api00", probs)


def test_the_command_line_gives_r_quantiles_by_domain() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "estimate",
            "--data",
            str(SIPAS),
            "--weights",
            "weight",
            "--strata",
            "province",
            "--psu",
            "desk,day",
            "--fpc",
            "desks_total,days_total",
            "--stat",
            "quantile",
            "--var",
            "fee",
            "--quantiles",
            ",".join(str(p) for p in PROBS),
            "--by",
            "channel",
            "--format",
            "csv",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    out = pd.read_csv(io.StringIO(result.stdout))
    assert list(out.columns) == [
        "variable",
        "domain",
        "quantile",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "n",
    ]
    r = ref()
    for domain, rows in out.groupby("domain", sort=True):
        name = f"sipas_fee_{domain}"
        assert list(rows["quantile"]) == list(PROBS)
        np.testing.assert_array_equal(rows["estimate"], r[f"{name}_est"])
        np.testing.assert_array_equal(rows["ci_low"], r[f"{name}_low"])
        np.testing.assert_array_equal(rows["ci_high"], r[f"{name}_high"])
        np.testing.assert_allclose(rows["se"], r[f"{name}_se"], rtol=TOL, atol=0)
        assert set(rows["df"]) == {int(r[f"{name}_df"][0])}


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.2", "0.5,abc"])
def test_the_command_line_refuses_a_bad_probability_in_one_line(value: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "estimate",
            "--data",
            str(SIPAS),
            "--weights",
            "weight",
            "--stat",
            "quantile",
            "--var",
            "age",
            "--quantiles",
            value,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("python -m analysis: error: --quantiles: ")


@st.composite
def symmetric_samples(draw) -> tuple[pd.DataFrame, float]:
    """Rows in mirrored pairs ``c - d``, ``c + d`` of equal weight, and rows at ``c``."""
    centre = draw(st.floats(-100.0, 100.0).map(lambda v: round(v, 2)))
    n_pairs = draw(st.integers(1, 15))
    offsets = draw(st.lists(st.floats(0.01, 50.0), min_size=n_pairs, max_size=n_pairs))
    weights = draw(st.lists(st.floats(0.5, 100.0), min_size=n_pairs, max_size=n_pairs))
    centre_weights = draw(st.lists(st.floats(0.5, 100.0), min_size=1, max_size=3))
    y = (
        [centre + d for d in offsets]
        + [centre - d for d in offsets]
        + [centre] * len(centre_weights)
    )
    w = weights + weights + centre_weights
    rows = pd.DataFrame({"y": y, "w": w}).sample(frac=1.0, random_state=draw(st.integers(0, 99)))
    rows["stratum"] = np.arange(len(rows)) % 2
    rows["psu"] = np.arange(len(rows)) % 4
    return rows.reset_index(drop=True), centre


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=symmetric_samples())
def test_the_median_of_a_symmetric_weighted_sample_is_its_centre(sample) -> None:
    rows, centre = sample
    d = SurveyDesign.from_frame(
        rows, weights="w", strata="stratum", psu="psu", nest=True, lonely_psu="adjust"
    )
    med = quantile(d, "y", 0.5)
    assert med.estimate == centre
    # the same under a rescaling of the weights, and with the school rule
    rescaled = SurveyDesign.from_frame(rows.assign(w=rows.w * 7.5), weights="w")
    assert quantile(rescaled, "y", 0.5).estimate == centre
    assert quantile(d, "y", 0.5, qrule="school").estimate == centre
