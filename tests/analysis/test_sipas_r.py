"""The SIPAS index against R's survey package on a generated SIPAS-like data set.

Data: ``reference/sipas/sipas.csv`` from ``make_data.py`` (fixed seed): 6
provinces as strata, 33 desks as PSUs, survey days as a second stage, fpc at
both stages, 20 Likert items with missing answers, domains ``channel`` and
``gender``. Reference values: ``make_reference.R`` (R ``survey``)::

    svymean(~I(a1 %in% c(4, 5)), subset(des, !is.na(a1)), deff = TRUE)   # items
    tot <- svytotal(~s_a1 + n_a1 + ..., des)         # s_ satisfied, n_ answered
    svycontrast(tot, list(a = quote((s_a1/n_a1 + s_a2/n_a2 + s_a3/n_a3)/3), ...))
    # checked against svyratio(covmat = TRUE) + a linear svycontrast,
    # domains by subset(des, channel == v), checked against svyby

Tolerances: estimates relative 1e-9, SEs and Wald intervals 1e-7, logit
intervals 1e-6.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import EstimateTable, SurveyDesign
from analysis.sipas import OVERALL, IndexSpec, sipas_index

HERE = Path(__file__).parent / "reference" / "sipas"

DIMENSIONS = {
    "a": ["a1", "a2", "a3"],
    "b": ["b1", "b2", "b3", "b4"],
    "c": ["c1", "c2", "c3"],
    "d": ["d1", "d2", "d3"],
    "e": ["e1", "e2", "e3"],
    "pa": ["pa1", "pa2"],
    "pb": ["pb1", "pb2"],
}
PARTS = {"service": ["a", "b", "c", "d", "e"], "policy": ["pa", "pb"]}

# config: (design kind, by, complete cases, with parts, satisfied)
CONFIGS = {
    "one": ("one", None, False, True, (4, 5)),
    "one_by_channel": ("one", "channel", False, True, (4, 5)),
    "one_by_province": ("one", "province", False, True, (4, 5)),
    "two": ("two", None, False, True, (4, 5)),
    "two_by_channel": ("two", "channel", False, True, (4, 5)),
    "nofpc_cc_noparts_sat5": ("nofpc", None, True, False, (5,)),
    "nofpc_cc_by_gender": ("nofpc", "gender", True, True, (4, 5)),
}


@cache
def sipas_data() -> pd.DataFrame:
    """The generated SIPAS-like data set."""
    return pd.read_csv(HERE / "sipas.csv")


@cache
def index_reference() -> pd.DataFrame:
    """R's index values (strings, to keep all 17 digits)."""
    return pd.read_csv(HERE / "index_reference.csv", dtype=str, keep_default_na=False)


def make_design(kind: str, data: pd.DataFrame | None = None) -> SurveyDesign:
    """The designs of make_reference.R."""
    data = sipas_data() if data is None else data
    if kind == "one":
        return SurveyDesign.from_frame(
            data, weights="weight", strata="province", psu="desk", fpc="desks_total"
        )
    if kind == "two":
        return SurveyDesign.from_frame(
            data,
            weights="weight",
            strata="province",
            psu="desk,day",
            fpc="desks_total,days_total",
        )
    return SurveyDesign.from_frame(
        data, weights="weight", strata="province", psu="desk_no", nest=True
    )


def domain_text(domain: dict | None) -> str:
    """The domain as make_reference.R writes it: ``col=value;col=value``."""
    return "" if domain is None else ";".join(f"{k}={v}" for k, v in domain.items())


def compute(config: str):
    kind, by, cc, with_parts, satisfied = CONFIGS[config]
    return sipas_index(
        make_design(kind),
        DIMENSIONS,
        parts=PARTS if with_parts else None,
        satisfied=satisfied,
        complete_cases=cc,
        by=by,
    )


def num(text: str) -> float:
    return float(text) if text != "" else float("nan")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_index_matches_r(config: str) -> None:
    table = compute(config)
    ref = index_reference()
    ref = ref[ref.config == config]
    assert len(table) == len(ref)
    for est, (_, row) in zip(table, ref.iterrows(), strict=True):
        where = f"{config} {row.variable} {row.domain}"
        assert (est.variable, domain_text(est.domain)) == (row.variable, row.domain), where
        assert est.estimate == pytest.approx(num(row.estimate), rel=1e-9), where
        assert est.se == pytest.approx(num(row.se), rel=1e-7), where
        assert est.df == int(row.df), where
        assert est.n == int(row.n), where
        if row.deff == "":
            assert est.deff is None, where
        else:
            assert est.deff == pytest.approx(num(row.deff), rel=1e-7), where
        wald = est.ci(0.95, "wald")
        assert (wald.low, wald.high) == pytest.approx(
            (num(row.wald_low), num(row.wald_high)), rel=1e-7
        ), where
        wald_t = est.ci(0.95, "wald-t")
        assert (wald_t.low, wald_t.high) == pytest.approx(
            (num(row.waldt_low), num(row.waldt_high)), rel=1e-7
        ), where
        logit = est.ci(0.95, "logit")
        assert (logit.low, logit.high) == pytest.approx(
            (num(row.logit_low), num(row.logit_high)), rel=1e-6
        ), where


def test_rows_come_in_output_order() -> None:
    table = compute("one_by_channel")
    names = [e.variable for e in table[: len(table) // 3]]
    items = [i for items in DIMENSIONS.values() for i in items]
    assert names == items + list(DIMENSIONS) + list(PARTS) + [OVERALL]
    assert {e.domain["channel"] for e in table} == {"paper", "phone", "qr"}
    assert all(e.statistic == "index" for e in table)


def test_composites_are_means_of_their_parts() -> None:
    table = compute("one")
    value = {e.variable: e.estimate for e in table}
    assert value["a"] == pytest.approx(np.mean([value[i] for i in DIMENSIONS["a"]]))
    assert value["service"] == pytest.approx(np.mean([value[d] for d in PARTS["service"]]))
    assert value[OVERALL] == pytest.approx((value["service"] + value["policy"]) / 2)


@pytest.mark.parametrize("policy", ["fail", "remove", "adjust", "average", "certainty"])
def test_row_level_variance_agrees_with_psu_totals(policy: str) -> None:
    # A two-stage design without fpc has the first-stage variance only, computed
    # from PSU totals; the same design with a huge fpc at both stages goes through
    # the row-level engine of analysis.variance and must agree closely.
    data = sipas_data().assign(big=1e12, days=1e12)
    if policy != "fail":
        data = data[(data.province != "GL") | (data.desk == "GL-01")]  # one desk in GL
    common = {"weights": "weight", "strata": "province", "psu": "desk,day", "lonely_psu": policy}
    fast = sipas_index(
        SurveyDesign.from_frame(data, **common), DIMENSIONS, parts=PARTS, by="channel"
    )
    rows = sipas_index(
        SurveyDesign.from_frame(data, fpc="big,days", **common),
        DIMENSIONS,
        parts=PARTS,
        by="channel",
    )
    for a, b in zip(fast, rows, strict=True):
        assert a.estimate == b.estimate
        assert a.se == pytest.approx(b.se, rel=1e-9)


def test_answers_that_are_not_whole_numbers() -> None:
    # Answers on another scale go through the general (not small-integer) path.
    data = sipas_data()
    tenths = data.assign(**{i: data[i] / 10 for i in DIMENSIONS["a"] + DIMENSIONS["b"]})
    base = sipas_index(
        make_design("one"), {"a": DIMENSIONS["a"], "b": DIMENSIONS["b"]}, by="gender"
    )
    other = sipas_index(
        make_design("one", tenths),
        {"a": DIMENSIONS["a"], "b": DIMENSIONS["b"]},
        satisfied=(0.4, 0.5),
        by="gender",
    )
    for a, b in zip(base, other, strict=True):
        assert (a.variable, a.domain, a.n, a.df) == (b.variable, b.domain, b.n, b.df)
        assert b.estimate == pytest.approx(a.estimate, rel=1e-12)
        assert b.se == pytest.approx(a.se, rel=1e-10)


def test_scaling_weights_leaves_indices_unchanged() -> None:
    data = sipas_data()
    base = sipas_index(make_design("nofpc", data), DIMENSIONS, by="channel")
    scaled = sipas_index(
        make_design("nofpc", data.assign(weight=data.weight * 7.5)), DIMENSIONS, by="channel"
    )
    for a, b in zip(base, scaled, strict=True):
        assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
        assert a.se == pytest.approx(b.se, rel=1e-10)


def test_item_without_answers_in_a_domain_is_nan() -> None:
    data = sipas_data().copy()
    data.loc[data.channel == "phone", "a1"] = np.nan
    table = sipas_index(make_design("nofpc", data), {"a": ["a1", "a2"], "b": ["b1"]}, by="channel")
    phone = {e.variable: e for e in table if e.domain == {"channel": "phone"}}
    assert np.isnan(phone["a1"].estimate) and np.isnan(phone["a"].estimate)
    assert np.isnan(phone[OVERALL].estimate)
    assert phone["b"].estimate == pytest.approx(table.find("b1", channel="phone").estimate)
    assert np.isfinite(phone["b"].se)


@pytest.mark.parametrize(
    ("dimensions", "parts", "message"),
    [
        ({}, None, "at least one dimension"),
        ({"a": []}, None, "dimension 'a'"),
        ({"a": ["a1", "a1"]}, None, "listed twice"),
        ({"a": ["a1"]}, {"p": ["zz"]}, "unknown dimension 'zz'"),
        ({"a1": ["a1"]}, None, "'a1' is used twice"),
        ({"overall": ["a1"]}, None, "'overall' is used twice"),
    ],
)
def test_bad_specification_is_refused(dimensions, parts, message) -> None:
    with pytest.raises(ValueError, match=message):
        IndexSpec.build(dimensions, parts=parts)


def test_missing_or_text_item_column_is_named() -> None:
    design = make_design("one")
    with pytest.raises(ValueError, match="column 'zz' is missing"):
        sipas_index(design, {"a": ["a1", "zz"]})
    with pytest.raises(ValueError, match="column 'channel' is not numeric"):
        sipas_index(design, {"a": ["a1", "channel"]})


@pytest.mark.parametrize("by", [None, "channel", "province"])
def test_vcov_of_an_index_table(by) -> None:
    data = sipas_data().assign(big=1e12, days=1e12)
    common = {"weights": "weight", "strata": "province", "psu": "desk,day"}
    fast = sipas_index(SurveyDesign.from_frame(data, **common), DIMENSIONS, parts=PARTS, by=by)
    rows = sipas_index(
        SurveyDesign.from_frame(data, fpc="big,days", **common), DIMENSIONS, parts=PARTS, by=by
    )
    cov = fast.vcov()
    assert np.sqrt(np.diag(cov)) == pytest.approx([e.se for e in fast], rel=1e-9)
    assert cov == pytest.approx(rows.vcov(), rel=1e-8, abs=1e-14)


def test_contrast_between_domains_uses_the_covariance() -> None:
    from analysis.contrast import contrast

    table = sipas_index(make_design("one"), DIMENSIONS, parts=PARTS, by="channel")
    overall = EstimateTable(tuple(e for e in table if e.variable == OVERALL), None)
    keep = [i for i, e in enumerate(table) if e.variable == OVERALL]
    cov = table.vcov()[np.ix_(keep, keep)]
    result = contrast(overall, [1.0, 0.0, -1.0], covariance=cov)
    qr, paper = table.find(OVERALL, channel="qr"), table.find(OVERALL, channel="paper")
    assert result.estimate == pytest.approx(paper.estimate - qr.estimate)
    expected = paper.se**2 + qr.se**2 - 2 * cov[0, 2]
    assert result.se == pytest.approx(np.sqrt(expected))
    assert cov[0, 2] != 0  # domains share PSUs: not independent


@pytest.mark.parametrize("config", ["one_by_channel", "two", "nofpc_cc_by_gender"])
def test_threads_give_the_same_numbers(config: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On large data the per-item passes run in threads; the numbers are the same."""
    import analysis.sipas

    serial = compute(config)
    monkeypatch.setattr(analysis.sipas, "_PARALLEL_ROWS", 1)
    monkeypatch.setattr(analysis.sipas.os, "cpu_count", lambda: 3)
    threaded = compute(config)
    assert [e.to_dict() for e in threaded] == [e.to_dict() for e in serial]
