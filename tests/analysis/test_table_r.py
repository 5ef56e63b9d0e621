"""Two-way tables and the Rao–Scott test against R's ``survey`` package.

``reference/table/make_reference.R`` (R 4.x, survey 4.1) wrote, for each
case below, R's ``svychisq(~row + col, design)`` (its default, the
second-order Rao–Scott F), ``svytable``, ``svymean(~interaction(row, col),
na.rm=TRUE)`` with its covariance and ``svyby(~col, ~row, svymean,
na.rm=TRUE)``, on R's api data and the SIPAS-like data of
``reference/sipas``: stratified, clustered, two-stage, with and without fpc,
nested ids, missing values in either variable, domains (R's ``subset``), a
stratum with a single PSU under each policy, a replicate design and a
post-stratified one. Every
number agrees to relative 1e-8.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, TwoWayTable, as_replicate, post_stratify, table
from tests.analysis.conftest import reference_values

REF = Path(__file__).parent / "reference" / "table"
SIPAS = Path(__file__).parent / "reference" / "sipas" / "sipas.csv"
TOL = 1e-8


@cache
def data(name: str) -> pd.DataFrame:
    if name == "sipas":
        return pd.read_csv(SIPAS, dtype={"province": str, "desk": str, "day": str})
    return pd.read_csv(REF / f"{name}.csv")


def design(name: str, **columns) -> Callable[[str], SurveyDesign]:
    def make(policy: str) -> SurveyDesign:
        return SurveyDesign.from_frame(data(name), lonely_psu=policy, **columns)

    return make


STRAT = design("apistrat", weights="pw", strata="stype", fpc="fpc")
STRAT_WR = design("apistrat", weights="pw", strata="stype")
CLUS1 = design("apiclus1", weights="pw", psu="dnum", fpc="fpc")
CLUS1_WR = design("apiclus1", weights="pw", psu="dnum")
CLUS2 = design("apiclus2", weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
LONELY = design("apiclus1", weights="pw", strata="lstrat", psu="dnum")
SIPAS1 = design("sipas", weights="weight", strata="province", psu="desk", fpc="desks_total")
SIPAS2 = design(
    "sipas",
    weights="weight",
    strata="province",
    psu=["desk", "day"],
    fpc=["desks_total", "days_total"],
)
SIPAS_NEST = design("sipas", weights="weight", strata="province", psu="desk_no", nest=True)


def domain(policy: str):
    return CLUS1(policy).subset("stype != 'H'")


def strat_domain(policy: str):
    return STRAT(policy).subset("`comp.imp` == 'Yes'")


def jk1(policy: str):
    return as_replicate(CLUS1(policy), "JK1")


def poststrat(policy: str):
    return post_stratify(CLUS1(policy), "stype", {"E": 4421, "H": 755, "M": 1018})


# name: (design, lonely-PSU policy, row, col), as in make_reference.R
CASES = {
    "strat_2x2": (STRAT, "fail", "sch.wide", "comp.imp"),
    "strat_3x2": (STRAT, "fail", "stype", "awards"),
    "strat_missing": (STRAT, "fail", "awards", "k3_cat"),
    "strat_wr_missing": (STRAT_WR, "fail", "k3_cat", "both"),
    "clus1": (CLUS1, "fail", "stype", "sch.wide"),
    "clus1_missing": (CLUS1, "fail", "k3_cat", "awards"),
    "clus1_wr": (CLUS1_WR, "fail", "stype", "yr.rnd"),
    "clus2": (CLUS2, "fail", "stype", "both"),
    "clus2_missing": (CLUS2, "fail", "comp.imp", "k3_cat"),
    "lonely_adjust": (LONELY, "adjust", "stype", "awards"),
    "lonely_average": (LONELY, "average", "stype", "awards"),
    "lonely_remove": (LONELY, "remove", "sch.wide", "k3_cat"),
    "lonely_certainty": (LONELY, "certainty", "stype", "awards"),
    "domain": (domain, "fail", "stype", "awards"),
    "strat_domain": (strat_domain, "fail", "stype", "sch.wide"),
    "jk1": (jk1, "fail", "stype", "awards"),
    "poststrat": (poststrat, "fail", "sch.wide", "awards"),
    "sipas_channel_gender": (SIPAS1, "fail", "channel", "gender"),
    "sipas_province_a1": (SIPAS1, "fail", "province", "a1"),
    "sipas_two_stage": (SIPAS2, "fail", "channel", "a2"),
    "sipas_nest": (SIPAS_NEST, "fail", "gender", "e3"),
}


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@cache
def computed(case: str) -> TwoWayTable:
    make, policy, row, col = CASES[case]
    return table(make(policy), row, col)


def close(actual, expected, what: str) -> None:
    np.testing.assert_allclose(
        np.ravel(actual), np.ravel(expected), rtol=TOL, atol=1e-15, err_msg=what
    )


@pytest.mark.parametrize("case", list(CASES))
def test_rao_scott_test_matches_svychisq(case: str, ref) -> None:
    result = computed(case)
    for name in ("statistic", "ndf", "ddf", "p_value", "pearson"):
        close(getattr(result, name), ref[f"{case}_{name}"], f"{case} {name}")
    assert 0 < result.p_value < 1


@pytest.mark.parametrize("case", list(CASES))
def test_cells_match_svytable_svymean_and_svyby(case: str, ref) -> None:
    result = computed(case)
    for name in ("total", "proportion", "proportion_se", "row_proportion", "row_proportion_se"):
        close(getattr(result, name), ref[f"{case}_{name}"], f"{case} {name}")
    close(result.covariance, ref[f"{case}_covariance"], f"{case} covariance")
    # the shape R gives: rows by columns, each row's proportions summing to 1
    assert result.proportion.shape == (len(result.row_levels), len(result.col_levels))
    assert np.allclose(result.row_proportion.sum(axis=1), 1.0)


def test_rows_missing_a_value_are_left_out() -> None:
    result = computed("strat_missing")
    frame = data("apistrat")
    both = frame["awards"].notna() & frame["k3_cat"].notna()
    assert result.n == int(both.sum()) < len(frame)
    assert result.count.sum() == result.n
    assert result.total.sum() == pytest.approx(frame.loc[both, "pw"].sum(), rel=1e-12)
    assert result.col_levels == ("large", "medium", "small")


def test_a_category_without_weight_is_refused_by_name() -> None:
    # high schools have no acs.k3, so no k3_cat: their row of the table is empty
    with pytest.raises(ValueError, match=r"^row: category 'H' of column 'stype' has no weight"):
        table(STRAT("fail"), "stype", "k3_cat")
    with pytest.raises(ValueError, match=r"^col: category 'H' of column 'stype' has no weight"):
        table(STRAT("fail"), "k3_cat", "stype")


def test_a_category_with_only_zero_weights_is_refused() -> None:
    frame = data("apistrat").copy()
    frame.loc[frame["stype"] == "M", "pw"] = 0.0
    zero = SurveyDesign.from_frame(frame, weights="pw", strata="stype")
    with pytest.raises(ValueError, match=r"^row: category 'M' of column 'stype' has no weight"):
        table(zero, "stype", "awards")


def test_unused_categories_of_a_categorical_are_dropped_as_r_does() -> None:
    frame = data("apistrat").copy()
    frame["awards"] = pd.Categorical(frame["awards"], categories=["Yes", "Maybe", "No"])
    result = table(SurveyDesign.from_frame(frame, weights="pw", strata="stype", fpc="fpc"),
                   "stype", "awards")  # fmt: skip
    assert result.col_levels == ("Yes", "No")  # the categories' order, "Maybe" unused
    same = computed("strat_3x2")
    assert result.statistic == pytest.approx(same.statistic, rel=1e-12)
    assert np.allclose(result.proportion[:, ::-1], same.proportion, rtol=1e-12)


@pytest.mark.parametrize(
    ("row", "col", "message"),
    [
        ("stype", "nope", "col: column 'nope' is missing"),
        ("nope", "stype", "row: column 'nope' is missing"),
        ("stype", [1, 2], "col: expected a column name or one value per row of the design (200)"),
    ],
)
def test_bad_arguments_name_the_argument(row, col, message) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        table(STRAT("fail"), row, col)


def test_a_variable_with_one_category_is_refused() -> None:
    frame = data("apistrat")
    only_e = SurveyDesign.from_frame(frame[frame["stype"] == "E"], weights="pw", psu="snum")
    with pytest.raises(ValueError, match=r"^row: column 'stype' has a single category \('E'\)"):
        table(only_e, "stype", "awards")


def test_values_may_be_given_as_arrays() -> None:
    frame = data("apistrat")
    by_name = computed("strat_3x2")
    by_value = table(STRAT("fail"), frame["stype"], frame["awards"].to_numpy())
    assert (by_value.row, by_value.col) == ("stype", "col")
    assert by_value.p_value == pytest.approx(by_name.p_value, rel=1e-12)


def test_margins_and_their_standard_errors(ref) -> None:
    result = computed("clus1")
    cov = ref["clus1_covariance"].reshape(result.covariance.shape)
    n_cols = len(result.col_levels)
    for i in range(len(result.row_levels)):
        cells = slice(i * n_cols, (i + 1) * n_cols)
        assert result.row_margin_se[i] == pytest.approx(np.sqrt(cov[cells, cells].sum()), rel=TOL)
    assert result.col_margin.sum() == pytest.approx(1.0)
    # the column margin is the distribution of the column variable: svymean(~sch.wide)
    from analysis import proportion

    margin = proportion(CLUS1("fail"), "sch.wide")
    assert result.col_margin_se == pytest.approx([e.se for e in margin], rel=TOL)


def test_records_and_frame_list_every_cell_row_by_row() -> None:
    result = computed("strat_3x2")
    records = result.to_records()
    assert [(r["row"], r["col"]) for r in records] == [
        (s, a) for s in ("E", "H", "M") for a in ("No", "Yes")
    ]
    assert set(records[0]) == {
        "row",
        "col",
        "n",
        "total",
        "proportion",
        "proportion_se",
        "row_proportion",
        "row_proportion_se",
    }
    assert sum(r["n"] for r in records) == 200
    frame = result.to_frame()
    assert list(frame.columns[:2]) == ["stype", "awards"] and len(frame) == 6
    whole = result.to_dict()
    assert whole["cells"] == records
    assert whole["ndf"] == result.ndf and whole["design_df"] == 197


# ------------------------------------------------------------- command line
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    """``python -m analysis ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


SIPAS_DESIGN = ["--weights", "weight", "--strata", "province", "--psu", "desk"]
SIPAS_DESIGN += ["--fpc", "desks_total"]


@pytest.mark.parametrize(
    ("case", "flags"),
    [
        ("sipas_channel_gender", [*SIPAS_DESIGN, "--row", "channel", "--col", "gender"]),
        ("sipas_province_a1", [*SIPAS_DESIGN, "--row", "province", "--col", "a1"]),
        (
            "sipas_two_stage",
            [
                *SIPAS_DESIGN[:-4],
                "--psu",
                "desk,day",
                "--fpc",
                "desks_total,days_total",
                "--row",
                "channel",
                "--col",
                "a2",
            ],
        ),
    ],
)
def test_table_command_prints_one_json_object_matching_r(case, flags, ref) -> None:
    done = run("table", "--data", str(SIPAS), *flags)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    for name in ("statistic", "ndf", "ddf", "p_value", "pearson"):
        close(result[name], ref[f"{case}_{name}"], name)
    cells = result["cells"]
    for name in ("total", "proportion", "proportion_se", "row_proportion", "row_proportion_se"):
        close([c[name] for c in cells], ref[f"{case}_{name}"], name)
    assert result["n"] == sum(c["n"] for c in cells)
    if case == "sipas_province_a1":  # answers read as text: "1", not 1.0
        assert [c["col"] for c in cells[:5]] == ["1", "2", "3", "4", "5"]
        assert result["n"] == int(data("sipas")["a1"].notna().sum())


def test_table_command_na_codes_blank_the_row_and_column(tmp_path) -> None:
    frame = data("sipas").copy()
    frame["a1"] = frame["a1"].fillna(0).astype(int)  # "not applicable" written as 0
    path = tmp_path / "coded.csv"
    frame.to_csv(path, index=False)
    flags = [*SIPAS_DESIGN, "--row", "province", "--col", "a1"]
    coded = run("table", "--data", str(path), *flags, "--na-codes", "0")
    plain = run("table", "--data", str(SIPAS), *flags)
    assert coded.returncode == 0, coded.stderr
    assert json.loads(coded.stdout) == json.loads(plain.stdout)


APISTRAT = str(REF / "apistrat.csv")
STRAT_FLAGS = ["--data", APISTRAT, "--weights", "pw", "--strata", "stype", "--fpc", "fpc"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--row", "stype", "--col", "k3_cat"],
            "--row: category 'H' of column 'stype' has no weight in the rows with a value "
            "of 'k3_cat', so its row of the table is empty",
        ),
        (
            ["--row", "k3_cat", "--col", "stype"],
            "--col: category 'H' of column 'stype' has no weight",
        ),
        (["--row", "stype", "--col", "nope"], "--col: column 'nope' is missing"),
        (["--row", "nope", "--col", "stype"], "--row: column 'nope' is missing"),
        (["--row", "stype"], "the following arguments are required: --col"),
    ],
)
def test_table_command_bad_input_exits_2_with_one_line(flags, message) -> None:
    done = run("table", *STRAT_FLAGS, *flags)
    assert (done.returncode, done.stdout) == (2, "")
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"python -m analysis: error: {message}"), lines[0]


def test_table_command_refuses_a_variable_with_one_category(tmp_path) -> None:
    path = tmp_path / "one.csv"
    data("apistrat").assign(one="x").to_csv(path, index=False)
    done = run("table", "--data", str(path), "--weights", "pw", "--row", "one", "--col", "stype")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "python -m analysis: error: --row: column 'one' has a single category ('x'); "
        "a two-way table needs at least two\n"
    )
