"""``design.subset(...)`` against R's ``subset(design, ...)``, and ``--subset``.

The reference values come from ``reference/subset/make_reference.R`` (R 4.2,
survey 4.1), which reads the api data of ``reference/core`` and the
SIPAS-like data of ``reference/sipas``. R's subset of a design keeps the
number of PSUs each stratum had (``fpc$sampsize``), so a PSU without a row
in the subset counts as a PSU with a total of zero, and a stratum without a
row leaves the design. The designs::

    strat   svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    clus1   svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)
    clus2   svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2, data=apiclus2)
    lonely  svydesign(id=~dnum, strata=~lstrat, weights=~pw, data=apiclus1)
            (stratum "C" has one PSU), policies average, adjust and fail
    sipas   svydesign(ids=~desk+day, strata=~province,
                      fpc=~desks_total+days_total, weights=~weight, data=sipas)

For each subset: ``degf``, ``nrow`` and ``svymean``, ``svytotal``,
``svyratio`` (with ``deff=TRUE``, ``na.rm=TRUE``), a factor's proportions,
an indicator's, and on the SIPAS-like data the index of seven items, two
dimensions and the overall index; and ``svymean`` on
``as.svrepdesign(subset(...))`` (JK1 and JKn), whose replicates are made
from the PSUs the subset has. Estimates agree to 1e-12 relative,
standard errors and design effects to 1e-9; df and rows exactly.

A property test: on random stratified cluster samples, with lonely PSUs
under each policy and missing values, every estimator gives the same on
``design.subset("group == 'a'")`` as ``by="group"`` gives for ``a``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis import (
    SurveyDesign,
    as_replicate,
    as_table,
    glm,
    mean,
    post_stratify,
    proportion,
    quantile,
    ratio,
    sipas_index,
    table,
    total,
    variance,
)
from tests.analysis.conftest import api_data, reference_values

REF = Path(__file__).parent / "reference" / "subset"
SIPAS = Path(__file__).parent / "reference" / "sipas" / "sipas.csv"
ROOT = Path(__file__).resolve().parents[2]

STRAT = ("apistrat", {"weights": "pw", "strata": "stype", "fpc": "fpc"})
CLUS1 = ("apiclus1", {"weights": "pw", "psu": "dnum", "fpc": "fpc"})
CLUS2 = ("apiclus2", {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]})
LONELY = ("apiclus1", {"weights": "pw", "strata": "lstrat", "psu": "dnum"})
SIPAS_DESIGN = {
    "weights": "weight",
    "strata": "province",
    "psu": ["desk", "day"],
    "fpc": ["desks_total", "days_total"],
}
SIPAS_FLAGS = ["--strata", "province", "--psu", "desk,day", "--fpc", "desks_total,days_total"]
DIMENSIONS = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3", "b4"]}

# case: (data and design, lonely-PSU policy, expression), mirrored by make_reference.R
API_CASES = {
    "strat_high": (STRAT, "fail", "api00 > 600"),
    "strat_E": (STRAT, "fail", "stype == 'E'"),
    "clus1_yes": (CLUS1, "fail", "`comp.imp` == 'Yes'"),
    "clus2_big": (CLUS2, "fail", "enroll > 400"),
    "clus2_EM": (CLUS2, "fail", "stype in ['E', 'M'] and api00 >= 650"),
    "lonely_average_low": (LONELY, "average", "api00 < 700"),
    "lonely_adjust_low": (LONELY, "adjust", "api00 < 700"),
    "lonely_fail_noC": (LONELY, "fail", "lstrat != 'C'"),
}
SIPAS_CASES = {
    "sipas_HN": "province == 'HN'",
    "sipas_qr_old": "channel == 'qr' & age >= 50",
}


@cache
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@cache
def sipas_frame() -> pd.DataFrame:
    return pd.read_csv(SIPAS, dtype={"province": str, "desk": str, "day": str})


@cache
def api_design(case: str) -> SurveyDesign:
    (data, spec), policy, _ = API_CASES[case]
    return SurveyDesign.from_frame(api_data(data), lonely_psu=policy, **spec)


@cache
def sipas_design() -> SurveyDesign:
    return SurveyDesign.from_frame(sipas_frame(), **SIPAS_DESIGN)


def assert_matches(name: str, result, *, deff: bool = True) -> None:
    r = ref()
    rows = result if isinstance(result, list) else list(as_table(result))
    np.testing.assert_allclose(
        [e.estimate for e in rows], r[f"{name}_est"], rtol=1e-12, atol=1e-14, err_msg=name
    )
    np.testing.assert_allclose(
        [e.se for e in rows], r[f"{name}_se"], rtol=1e-9, atol=1e-14, err_msg=name
    )
    if deff:
        expected = r[f"{name}_deff"]
        actual = [np.nan if e.deff is None else e.deff for e in rows]
        np.testing.assert_allclose(actual, expected, rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_subset_of_the_api_designs_matches_r(case: str) -> None:
    sub = api_design(case).subset(API_CASES[case][2])
    r = ref()
    assert sub.df == int(r[f"{case}_df"][0])
    assert sub.n == int(r[f"{case}_nrow"][0])
    assert_matches(f"{case}_mean_api00", mean(sub, "api00"))
    assert_matches(f"{case}_mean_acs.k3", mean(sub, "acs.k3"))
    assert_matches(f"{case}_total_enroll", total(sub, "enroll"))
    assert_matches(f"{case}_ratio_api.stu", ratio(sub, "api.stu", "enroll"))
    # R's factor keeps its three levels in every subset
    assert_matches(f"{case}_proportion_stype", proportion(sub, "stype", levels=["E", "H", "M"]))
    assert_matches(f"{case}_proportion_yes", proportion(sub, "yes"))
    for e in (mean(sub, "api00"), total(sub, "enroll")):
        assert e.df == sub.df


@pytest.mark.parametrize("case", sorted(SIPAS_CASES))
def test_subset_of_the_two_stage_sipas_design_matches_r(case: str) -> None:
    sub = sipas_design().subset(SIPAS_CASES[case])
    r = ref()
    assert (sub.df, sub.n) == (int(r[f"{case}_df"][0]), int(r[f"{case}_nrow"][0]))
    assert_matches(f"{case}_mean_age", mean(sub, "age"))
    assert_matches(f"{case}_total_fee", total(sub, "fee"))
    assert_matches(f"{case}_ratio_fee", ratio(sub, "fee", "age"))
    assert_matches(f"{case}_proportion_gender", proportion(sub, "gender"))
    index = sipas_index(sub, DIMENSIONS)
    names = [*DIMENSIONS["a"], *DIMENSIONS["b"], "a", "b", "overall"]
    assert_matches(f"{case}_index", [index.find(v) for v in names], deff=False)


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_subset_gives_what_by_gives_for_the_same_domain(case: str) -> None:
    design = api_design(case)
    sub = design.subset(API_CASES[case][2])
    inside = design.data.eval(API_CASES[case][2], engine="python").fillna(False).to_numpy(bool)
    # one domain, the rows inside (the others in no domain)
    domain = pd.Series(np.where(inside, 1.0, np.nan), name="inside")
    for estimator, args in ((mean, ("acs.k3",)), (ratio, ("api.stu", "enroll"))):
        a = estimator(sub, *args)
        b = estimator(design, *args, by=domain).find(inside=1.0)
        assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
        assert a.se == pytest.approx(b.se, rel=1e-10)
        assert (a.df, a.n, a.n_domain) == (b.df, b.n, b.n_domain)


def test_a_missing_value_in_the_expression_leaves_the_row_out() -> None:
    design = api_design("clus2_big")
    enroll = design.data["enroll"]
    assert enroll.isna().any()
    sub = design.subset("enroll > 400")
    assert sub.n == int((enroll > 400).sum())
    mask = pd.array((enroll > 400).where(enroll.notna(), None), dtype="boolean")
    assert design.subset(mask).n == sub.n


def test_a_mask_a_subset_of_a_subset_and_the_design_left_unchanged() -> None:
    design = api_design("clus2_EM")
    mask = ((design.data.stype != "H") & (design.data.api00 >= 650)).to_numpy()
    a = mean(design.subset(mask), "api00")
    b = mean(design.subset("stype != 'H'").subset("api00 >= 650"), "api00")
    assert (a.estimate, a.se, a.df) == (b.estimate, pytest.approx(b.se, rel=1e-12), b.df)
    assert design.n == len(design.data)  # a subset is a new design


@pytest.mark.parametrize(
    "rows,message",
    [
        ("nosuch == 1", "subset: column 'nosuch' is missing"),
        ("`no such` > 2", "subset: column 'no such' is missing"),
        ("api00 >", "subset: cannot read 'api00 >'"),
        ("api00 + 1", "subset: 'api00 + 1' is not True/False for each row"),
        ("api00 > 5000", "subset: no row is in the subset 'api00 > 5000'"),
        ("api00 > @limit", "subset: 'api00 > @limit' uses an @variable"),
        ([True, False], "subset: expected 183 values True/False, got 2"),
    ],
)
def test_bad_subsets_are_refused_naming_the_problem(rows, message: str) -> None:
    with pytest.raises(ValueError) as info:
        api_design("clus1_yes").subset(rows)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_a_calibrated_design_is_refused_with_the_way_out() -> None:
    design = api_design("clus1_yes")
    calibrated = post_stratify(design, "stype", {"E": 4421, "H": 755, "M": 1018})
    with pytest.raises(ValueError, match="estimate with by= instead"):
        calibrated.subset("api00 > 600")


def test_glm_and_table_on_a_subset_keep_the_design() -> None:
    # no R reference here: the check is that the subset is a domain (the
    # absent PSUs count), which glm and table get from the design itself
    design = sipas_design()
    sub = design.subset("channel == 'qr'")
    fit = glm(sub, "age ~ 1")
    m = mean(sub, "age")
    assert fit.coefficients[0].estimate == pytest.approx(m.estimate, rel=1e-12)
    assert fit.coefficients[0].se == pytest.approx(m.se, rel=1e-9)
    two_way = table(sub, "gender", "paid")
    assert two_way is not None


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_estimate_with_subset_on_the_command_line_matches_r() -> None:
    result = run(
        "estimate",
        "--data",
        str(SIPAS),
        "--weights",
        "weight",
        *SIPAS_FLAGS,
        "--stat",
        "total",
        "--var",
        "fee",
        "--subset",
        SIPAS_CASES["sipas_qr_old"],
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    (row,) = json.loads(result.stdout)
    r = ref()
    assert row["estimate"] == pytest.approx(r["sipas_qr_old_total_fee_est"][0], rel=1e-12)
    assert row["se"] == pytest.approx(r["sipas_qr_old_total_fee_se"][0], rel=1e-9)
    assert row["df"] == int(r["sipas_qr_old_df"][0])


def test_index_with_subset_on_the_command_line_matches_r() -> None:
    result = run(
        "index",
        "--data",
        str(SIPAS),
        "--weights",
        "weight",
        *SIPAS_FLAGS,
        "--dimension",
        "a=a1,a2,a3",
        "--dimension",
        "b=b1,b2,b3,b4",
        "--subset",
        SIPAS_CASES["sipas_HN"],
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    rows = {row["variable"]: row for row in json.loads(result.stdout)}
    names = [*DIMENSIONS["a"], *DIMENSIONS["b"], "a", "b", "overall"]
    r = ref()
    for name, est, se in zip(names, r["sipas_HN_index_est"], r["sipas_HN_index_se"], strict=True):
        assert rows[name]["estimate"] == pytest.approx(est, rel=1e-12)
        assert rows[name]["se"] == pytest.approx(se, rel=1e-9)


@pytest.mark.parametrize(
    "command",
    [
        ["estimate", "--stat", "mean", "--var", "age"],
        ["estimate", "--stat", "quantile", "--var", "age"],
        ["index", "--dimension", "a=a1,a2,a3"],
        ["glm", "--formula", "age ~ fee"],
        ["table", "--row", "gender", "--col", "channel"],
    ],
    ids=["estimate", "quantile", "index", "glm", "table"],
)
def test_every_command_takes_subset_and_names_an_unknown_column(command: list[str]) -> None:
    base = ["--data", str(SIPAS), "--weights", "weight", *SIPAS_FLAGS]
    good = run(*command[:1], *base, *command[1:], "--subset", "province == 'HN'")
    assert (good.returncode, good.stderr) == (0, ""), good.stderr
    whole = run(*command[:1], *base, *command[1:])
    assert good.stdout != whole.stdout
    bad = run(*command[:1], *base, *command[1:], "--subset", "provinc == 'HN'")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == "python -m analysis: error: --subset: column 'provinc' is missing\n"


def test_a_text_code_keeps_its_leading_zero(tmp_path: Path) -> None:
    data = sipas_frame().copy()
    codes = {p: f"{i:02d}" for i, p in enumerate(sorted(data.province.unique()), start=1)}
    data["code"] = data.province.map(codes)
    path = tmp_path / "coded.csv"
    data.to_csv(path, index=False)
    result = run(
        "estimate",
        "--data",
        str(path),
        "--weights",
        "weight",
        *SIPAS_FLAGS,
        "--stat",
        "total",
        "--var",
        "fee",
        "--subset",
        f"code == '{codes['HN']}'",
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    (row,) = json.loads(result.stdout)
    assert row["estimate"] == pytest.approx(ref()["sipas_HN_total_fee_est"][0], rel=1e-12)
    assert not math.isnan(row["se"])


@st.composite
def samples(draw) -> pd.DataFrame:
    """A stratified cluster sample (1-4 strata, 1-5 PSUs each), with missing values."""
    rows = []
    for h in range(draw(st.integers(1, 4))):
        for p in range(draw(st.integers(1, 5))):
            rows += [(f"s{h}", f"s{h}-p{p}")] * draw(st.integers(1, 5))
    n = len(rows)
    frame = pd.DataFrame(rows, columns=["stratum", "psu"])
    frame["w"] = draw(st.lists(st.floats(0.5, 100.0), min_size=n, max_size=n))
    value = st.floats(-50.0, 50.0).map(lambda v: round(v, 2))
    y = draw(st.lists(value | st.none(), min_size=n, max_size=n))
    frame["y"] = pd.array(y, dtype="Float64").astype(float)
    frame["x"] = draw(st.lists(st.floats(1.0, 20.0), min_size=n, max_size=n))
    frame["group"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    frame["sat"] = (frame["x"] > 10).astype(float)
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=samples(),
    policy=st.sampled_from(["remove", "adjust", "average", "certainty"]),
    level=st.sampled_from(["a", "b", "c"]),
)
def test_subset_equals_by_for_the_same_domain(frame: pd.DataFrame, policy: str, level: str):
    assume((frame.group == level).any() and frame.y[frame.group == level].notna().any())
    assume(frame.psu.nunique() > 1)
    design = SurveyDesign.from_frame(
        frame, weights="w", strata="stratum", psu="psu", lonely_psu=policy
    )
    sub = design.subset(f"group == '{level}'")
    pairs = [
        (mean(sub, "y"), mean(design, "y", by="group")),
        (total(sub, "y"), total(design, "y", by="group")),
        (ratio(sub, "y", "x"), ratio(design, "y", "x", by="group")),
        (proportion(sub, "sat"), proportion(design, "sat", by="group")),
        (variance(sub, "y"), variance(design, "y", by="group")),
    ]
    for a, table_ in pairs:
        b = table_.find(group=level)
        assert a.estimate == pytest.approx(b.estimate, rel=1e-9, abs=1e-12, nan_ok=True)
        assert a.se == pytest.approx(b.se, rel=1e-7, abs=1e-12, nan_ok=True)
        assert (a.df, a.n, a.n_domain) == (b.df, b.n, b.n_domain)
    q_sub = quantile(sub, "y", [0.25, 0.5])
    q_by = quantile(design, "y", [0.25, 0.5], by="group")
    for a in q_sub:
        b = q_by.find(a.quantile, group=level)
        assert (a.estimate, a.df, a.n) == (b.estimate, b.df, b.n)
        for got, want in ((a.ci_low, b.ci_low), (a.ci_high, b.ci_high)):
            assert got == want or (math.isnan(got) and math.isnan(want))


@pytest.mark.parametrize(
    "name,data,spec,expression,kind",
    [
        ("jk1_clus1_yes", "apiclus1", {"psu": "dnum", "fpc": "fpc"}, "`comp.imp` == 'Yes'", "JK1"),
        (
            "jkn_strat_high",
            "apistrat",
            {"psu": "dnum", "strata": "stype", "nest": True},
            "api00 > 650",
            "JKn",
        ),
    ],
)
def test_a_replicate_design_made_from_a_subset_matches_r(name, data, spec, expression, kind):
    design = SurveyDesign.from_frame(api_data(data), weights="pw", **spec).subset(expression)
    est = mean(as_replicate(design, kind), "api00")
    expected_est, expected_se = ref()[name]
    assert est.estimate == pytest.approx(expected_est, rel=1e-12)
    assert est.se == pytest.approx(expected_se, rel=1e-9)
