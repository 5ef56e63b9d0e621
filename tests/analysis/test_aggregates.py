"""Estimates from per-PSU aggregates equal those from the rows.

The aggregated input is made with pandas ``groupby`` (as a database
``GROUP BY`` would return it), independently of the bincount path that
:func:`analysis.sipas.sipas_index` uses on the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, mean, ratio, total
from analysis.aggregates import (
    group_sums,
    index_from_aggregates,
    mean_from_aggregates,
    ratio_from_aggregates,
    total_from_aggregates,
)
from analysis.sipas import OVERALL, sipas_index
from tests.analysis.test_sipas_r import DIMENSIONS, PARTS, sipas_data

ITEMS = [i for items in DIMENSIONS.values() for i in items]


def composite_counts(data: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``NAME.n``: rows answering at least one item of each composite, per group."""
    reach = {d: data[items].notna().any(axis=1) for d, items in DIMENSIONS.items()}
    for p, dims in PARTS.items():
        reach[p] = pd.concat([reach[d] for d in dims], axis=1).any(axis=1)
    reach[OVERALL] = reach["service"] | reach["policy"]
    frame = data[keys].assign(**{f"{k}.n": v.astype(int) for k, v in reach.items()})
    return frame.groupby(keys, sort=True).sum().reset_index()


def assert_same(rows, aggregated, *, exact_n: bool = True) -> None:
    assert len(rows) == len(aggregated)
    for a, b in zip(rows, aggregated, strict=True):
        assert (a.variable, a.domain) == (b.variable, b.domain)
        assert b.estimate == pytest.approx(a.estimate, rel=1e-12)
        assert b.se == pytest.approx(a.se, rel=1e-10)
        assert b.df == a.df
        if a.deff is None:
            assert b.deff is None
        else:
            assert b.deff == pytest.approx(a.deff, rel=1e-10)
        if exact_n:
            assert b.n == a.n


@pytest.mark.parametrize("by", [None, "channel", ["channel", "gender"], "province"])
def test_index_from_aggregates_equals_rows(by) -> None:
    data = sipas_data()
    design = SurveyDesign.from_frame(
        data, weights="weight", strata="province", psu="desk", fpc="desks_total"
    )
    rows = sipas_index(design, DIMENSIONS, parts=PARTS, by=by)
    by_cols = [] if by is None else [by] if isinstance(by, str) else by
    keys = list(dict.fromkeys(["province", "desk", *by_cols]))
    groups = group_sums(
        data,
        ITEMS,
        weights="weight",
        psu="desk",
        strata="province",
        by=by_cols or None,
        fpc="desks_total",
    )
    groups = groups.merge(composite_counts(data, keys), on=keys)
    assert len(groups) < len(data) / 5
    aggregated = index_from_aggregates(
        groups,
        DIMENSIONS,
        psu="desk",
        strata="province",
        fpc="desks_total",
        parts=PARTS,
        by=by,
    )
    assert_same(rows, aggregated)


def test_finer_groups_are_added_up() -> None:
    # Groups by (province, desk, day, channel): several rows per PSU and domain.
    data = sipas_data()
    design = SurveyDesign.from_frame(data, weights="weight", strata="province", psu="desk")
    rows = sipas_index(design, DIMENSIONS, parts=PARTS, by="channel")
    groups = group_sums(
        data, ITEMS, weights="weight", psu="desk", strata="province", by=["day", "channel"]
    )
    aggregated = index_from_aggregates(
        groups, DIMENSIONS, psu="desk", strata="province", parts=PARTS, by="channel"
    )
    assert_same(rows, aggregated, exact_n=False)
    # without NAME.n columns, a composite's n is the number of rows of the domain
    n_domain = data.groupby("channel").size()
    for e in aggregated:
        if e.variable == OVERALL:
            assert e.n == n_domain[e.domain["channel"]]


@pytest.mark.parametrize("policy", ["remove", "adjust", "average", "certainty"])
def test_lonely_psu_policies_agree(policy) -> None:
    data = sipas_data()
    data = data[(data.province != "GL") | (data.desk == "GL-01")]  # GL keeps one desk
    design = SurveyDesign.from_frame(
        data, weights="weight", strata="province", psu="desk", lonely_psu=policy
    )
    rows = sipas_index(design, DIMENSIONS, by="channel")
    groups = group_sums(data, ITEMS, weights="weight", psu="desk", strata="province", by="channel")
    aggregated = index_from_aggregates(
        groups, DIMENSIONS, psu="desk", strata="province", by="channel", lonely_psu=policy
    )
    assert_same(rows, aggregated, exact_n=False)


def test_lonely_psu_fails_by_default() -> None:
    data = sipas_data()
    data = data[(data.province != "GL") | (data.desk == "GL-01")]
    groups = group_sums(data, ITEMS, weights="weight", psu="desk", strata="province")
    with pytest.raises(ValueError, match="stratum 'GL' has only one PSU"):
        index_from_aggregates(groups, DIMENSIONS, psu="desk", strata="province")


def _numeric_groups(data: pd.DataFrame, by: str | None) -> pd.DataFrame:
    keys = ["province", "desk"] + ([by] if by else [])
    both = data.fee.notna() & data.age.notna()
    frame = data[keys].assign(
        weight=data.weight,
        n=1,
        fee_w=(data.fee * data.weight).fillna(0.0),
        fee_wsum=np.where(data.fee.notna(), data.weight, 0.0),
        fee_n=data.fee.notna().astype(int),
        fee_both=np.where(both, data.fee * data.weight, 0.0),
        age_both=np.where(both, data.age * data.weight, 0.0),
        both_n=both.astype(int),
    )
    return frame.groupby(keys, sort=True).sum().reset_index()


@pytest.mark.parametrize("by", [None, "channel"])
def test_mean_total_ratio_from_aggregates(by) -> None:
    data = sipas_data()
    design = SurveyDesign.from_frame(
        data, weights="weight", strata="province", psu="desk", fpc="desks_total"
    )
    groups = _numeric_groups(data, by).merge(
        data.groupby("province").desks_total.first().reset_index(), on="province"
    )
    common = {"psu": "desk", "strata": "province", "fpc": "desks_total", "by": by}
    cases = [
        (
            mean(design, "fee", by=by),
            mean_from_aggregates(
                groups.assign(wf=groups.fee_wsum), "fee_w", weight="wf", count="fee_n", **common
            ),
        ),
        (
            total(design, "fee", by=by),
            total_from_aggregates(groups, "fee_w", count="fee_n", **common),
        ),
        (
            ratio(design, "fee", "age", by=by),
            ratio_from_aggregates(groups, "fee_both", "age_both", count="both_n", **common),
        ),
    ]
    for rows, aggregated in cases:
        rows = [rows] if by is None else list(rows)
        assert len(rows) == len(aggregated)
        for a, b in zip(rows, aggregated, strict=True):
            assert a.domain == b.domain
            assert b.estimate == pytest.approx(a.estimate, rel=1e-12)
            assert b.se == pytest.approx(a.se, rel=1e-10)
            assert (b.df, b.n) == (a.df, a.n)


def test_aggregated_input_errors_name_the_column() -> None:
    data = sipas_data()
    groups = group_sums(data, ITEMS, weights="weight", psu="desk", strata="province")
    with pytest.raises(ValueError, match="column 'zz.sat' is missing"):
        index_from_aggregates(groups, {"a": ["zz"]}, psu="desk", strata="province")
    with pytest.raises(ValueError, match="negative"):
        index_from_aggregates(
            groups.assign(weight=-groups.weight), DIMENSIONS, psu="desk", strata="province"
        )
    moved = pd.concat([groups, groups.iloc[:1].assign(province="HP")], ignore_index=True)
    with pytest.raises(ValueError, match="not nested in strata"):
        index_from_aggregates(moved, DIMENSIONS, psu="desk", strata="province")
    with pytest.raises(ValueError, match="one-stage"):
        index_from_aggregates(groups, DIMENSIONS, psu="desk,day", strata="province")


def test_aggregated_tables_give_the_covariance_across_domains() -> None:
    data = sipas_data()
    design = SurveyDesign.from_frame(
        data, weights="weight", strata="province", psu="desk", fpc="desks_total"
    )
    groups = _numeric_groups(data, "channel").merge(
        data.groupby("province").desks_total.first().reset_index(), on="province"
    )
    aggregated = ratio_from_aggregates(
        groups,
        "fee_both",
        "age_both",
        psu="desk",
        strata="province",
        fpc="desks_total",
        by="channel",
    )
    rows = ratio(design, "fee", "age", by="channel")
    assert aggregated.vcov() == pytest.approx(rows.vcov(), rel=1e-9)

    items = group_sums(
        data,
        ITEMS,
        weights="weight",
        psu="desk",
        strata="province",
        by="channel",
        fpc="desks_total",
    )
    index = index_from_aggregates(
        items, DIMENSIONS, psu="desk", strata="province", fpc="desks_total", by="channel"
    )
    direct = sipas_index(design, DIMENSIONS, by="channel")
    assert index.vcov() == pytest.approx(direct.vcov(), rel=1e-9, abs=1e-15)
