"""``python -m analysis``: the command-line contract, run as a subprocess.

Results are compared with R's survey package on the SIPAS-like reference
data (``reference/sipas``: ``make_reference.R`` wrote the values). Bad input
must end with exit status 2, one line on standard error and nothing on
standard output.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent / "reference" / "sipas"
DATA = str(HERE / "sipas.csv")

DIMENSION_FLAGS = [
    "--dimension=a=a1,a2,a3",
    "--dimension=b=b1,b2,b3,b4",
    "--dimension=c=c1,c2,c3",
    "--dimension=d=d1,d2,d3",
    "--dimension=e=e1,e2,e3",
    "--dimension=pa=pa1,pa2",
    "--dimension=pb=pb1,pb2",
]
PART_FLAGS = ["--part", "service=a,b,c,d,e", "--part", "policy=pa,pb"]
ONE_STAGE = ["--strata", "province", "--psu", "desk", "--fpc", "desks_total"]
TWO_STAGE = ["--strata", "province", "--psu", "desk,day", "--fpc", "desks_total,days_total"]
NESTED = ["--strata", "province", "--psu", "desk_no", "--nest"]

# name: (R config, design flags, extra flags, ci method)
INDEX_CASES = {
    "one stage, wald": ("one", ONE_STAGE, PART_FLAGS, "wald"),
    "by channel, logit": ("one_by_channel", ONE_STAGE, PART_FLAGS + ["--by", "channel"], "logit"),
    "two stages, wald-t": ("two", TWO_STAGE, PART_FLAGS, "wald-t"),
    "complete cases, satisfied 5, no parts": (
        "nofpc_cc_noparts_sat5",
        NESTED,
        ["--complete-cases", "--satisfied", "5"],
        "wald",
    ),
}

# name: (R config, flags, ci method)
ESTIMATE_CASES = {
    "mean": ("mean_age", ["--stat", "mean", "--var", "age"], "wald"),
    "mean by two columns": (
        "mean_age_by_channel_gender",
        ["--stat", "mean", "--var", "age", "--by", "channel,gender"],
        "wald-t",
    ),
    "total by channel": (
        "total_fee_by_channel",
        ["--stat", "total", "--var", "fee", "--by", "channel"],
        "wald",
    ),
    "proportion of an indicator, logit": (
        "proportion_paid",
        ["--stat", "proportion", "--var", "paid"],
        "logit",
    ),
    "proportion by channel, beta": (
        "proportion_paid_by_channel",
        ["--stat", "proportion", "--var", "paid", "--by", "channel"],
        "beta",
    ),
    "proportions of levels": (
        "proportion_channel",
        ["--stat", "proportion", "--var", "channel"],
        "wald",
    ),
    "proportions of levels by domain": (
        "proportion_gender_by_channel",
        ["--stat", "proportion", "--var", "gender", "--by", "channel"],
        "beta",
    ),
    "ratio by channel": (
        "ratio_fee_age_by_channel",
        ["--stat", "ratio", "--var", "fee", "--denominator", "age", "--by", "channel"],
        "wald-t",
    ),
}

CI_COLUMNS = {
    "wald": ("wald_low", "wald_high", 1e-7),
    "wald-t": ("waldt_low", "waldt_high", 1e-7),
    "logit": ("logit_low", "logit_high", 1e-6),
    "beta": ("beta_low", "beta_high", 1e-6),
}


def run(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m analysis ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@cache
def reference(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"{name}_reference.csv", dtype=str, keep_default_na=False)


def domain_text(domain: dict | None) -> str:
    return "" if domain is None else ";".join(f"{k}={v}" for k, v in domain.items())


def check_against_r(records: list[dict], ref: pd.DataFrame, method: str) -> None:
    low_col, high_col, ci_tol = CI_COLUMNS[method]
    assert len(records) == len(ref)
    for rec, (_, row) in zip(records, ref.iterrows(), strict=True):
        where = f"{row.config} {row.variable} {row.domain}"
        assert set(rec) == {
            "variable",
            "domain",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "df",
            "deff",
            "n",
        }
        assert (rec["variable"], domain_text(rec["domain"])) == (row.variable, row.domain), where
        assert rec["estimate"] == pytest.approx(float(row.estimate), rel=1e-9), where
        assert rec["se"] == pytest.approx(float(row.se), rel=1e-7), where
        assert (rec["ci_low"], rec["ci_high"]) == pytest.approx(
            (float(row[low_col]), float(row[high_col])), rel=ci_tol
        ), where
        assert rec["df"] == int(row.df), where
        assert rec["n"] == int(row.n), where
        if row.deff == "":
            assert rec["deff"] is None, where
        else:
            assert rec["deff"] == pytest.approx(float(row.deff), rel=1e-7), where


@pytest.mark.parametrize("case", list(INDEX_CASES))
def test_index_command_matches_r(case: str) -> None:
    config, design, extra, method = INDEX_CASES[case]
    result = run(
        "index",
        "--data",
        DATA,
        "--weights",
        "weight",
        *design,
        *DIMENSION_FLAGS,
        *extra,
        "--ci-method",
        method,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    ref = reference("index")
    check_against_r(json.loads(result.stdout), ref[ref.config == config], method)


@pytest.mark.parametrize("case", list(ESTIMATE_CASES))
def test_estimate_command_matches_r(case: str) -> None:
    config, flags, method = ESTIMATE_CASES[case]
    result = run(
        "estimate",
        "--data",
        DATA,
        "--weights",
        "weight",
        *ONE_STAGE,
        *flags,
        "--ci-method",
        method,
    )
    assert result.returncode == 0, result.stderr
    ref = reference("estimate")
    check_against_r(json.loads(result.stdout), ref[ref.config == config], method)


def test_csv_output_has_the_same_columns_and_numbers() -> None:
    args = [
        "estimate",
        "--data",
        DATA,
        "--weights",
        "weight",
        *ONE_STAGE,
        "--stat",
        "mean",
        "--var",
        "age",
        "--by",
        "channel,gender",
    ]
    as_json = json.loads(run(*args).stdout)
    result = run(*args, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "variable",
        "domain",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "deff",
        "n",
    ]
    assert len(rows) == len(as_json)
    for row, rec in zip(rows, as_json, strict=True):
        assert row["domain"] == domain_text(rec["domain"])
        assert float(row["estimate"]) == rec["estimate"]
        assert float(row["ci_high"]) == rec["ci_high"]
        assert int(row["n"]) == rec["n"]


def test_index_level_changes_the_interval() -> None:
    base = ["index", "--data", DATA, "--weights", "weight", *ONE_STAGE, *DIMENSION_FLAGS[:2]]
    wide = json.loads(run(*base).stdout)
    narrow = json.loads(run(*base, "--level", "0.9").stdout)
    for a, b in zip(wide, narrow, strict=True):
        assert a["estimate"] == b["estimate"]
        assert a["ci_low"] < b["ci_low"] < b["ci_high"] < a["ci_high"]
        assert (b["ci_high"] - b["estimate"]) / (a["ci_high"] - a["estimate"]) == (
            pytest.approx(1.6448536269514722 / 1.959963984540054)
        )
    assert [r["variable"] for r in wide] == [
        "a1",
        "a2",
        "a3",
        "b1",
        "b2",
        "b3",
        "b4",
        "a",
        "b",
        "overall",
    ]
    assert all(r["deff"] is None for r in wide[-3:])


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, str]:
    """CSV files with one thing wrong each."""
    folder = tmp_path_factory.mktemp("bad")
    data = pd.read_csv(DATA)
    files = {}
    text_weights = data.astype({"weight": object})
    text_weights.loc[5, "weight"] = "heavy"
    negative = data.copy()
    negative.loc[3, "weight"] = -1.0
    for name, frame in {"text_weights": text_weights, "negative": negative}.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        files[name] = str(path)
    empty = folder / "empty.csv"
    empty.write_text("")
    files["empty"] = str(empty)
    return files


ESTIMATE = ["estimate", "--stat", "mean", "--var", "age"]
INDEX = ["index", "--dimension", "a=a1,a2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (ESTIMATE + ["--data", "no/such/file.csv", "--weights", "weight"], "not found"),
        (ESTIMATE + ["--data", "{empty}", "--weights", "weight"], "cannot read"),
        (ESTIMATE + ["--data", DATA, "--weights", "wt"], "column 'wt' is missing"),
        (ESTIMATE[:-1] + ["nope", "--data", DATA, "--weights", "weight"], "'nope' is missing"),
        (
            ESTIMATE + ["--data", DATA, "--weights", "weight", "--strata", "region"],
            "column 'region' is missing",
        ),
        (ESTIMATE + ["--data", "{text_weights}", "--weights", "weight"], "not numeric"),
        (ESTIMATE + ["--data", "{negative}", "--weights", "weight"], "negative"),
        (
            ESTIMATE
            + ["--data", DATA, "--weights", "weight", "--strata", "province", "--psu", "desk_no"],
            "not nested in strata",
        ),
        (
            ESTIMATE + ["--data", DATA, "--weights", "weight", "--lonely-psu", "ignore"],
            "invalid choice: 'ignore'",
        ),
        (ESTIMATE + ["--data", DATA, "--weights", "weight", "--level", "95"], "between 0 and 1"),
        (
            ["estimate", "--stat", "ratio", "--var", "fee", "--data", DATA, "--weights", "weight"],
            "--denominator",
        ),
        (ESTIMATE + ["--data", DATA, "--weights", "channel"], "not numeric"),
        (INDEX + ["--data", DATA, "--weights", "negative"], "column 'negative' is missing"),
        (INDEX + ["--data", "{negative}", "--weights", "weight"], "negative"),
        (
            INDEX
            + ["--data", DATA, "--weights", "weight", "--strata", "province", "--psu", "desk_no"],
            "not nested in strata",
        ),
        (
            ["index", "--dimension", "a=a1,zz", "--data", DATA, "--weights", "weight"],
            "column 'zz' is missing",
        ),
        (["index", "--dimension", "a", "--data", DATA, "--weights", "weight"], "NAME=A,B"),
        (INDEX + ["--part", "p=x", "--data", DATA, "--weights", "weight"], "unknown dimension 'x'"),
        (
            INDEX + ["--data", DATA, "--weights", "weight", "--ci-method", "beta"],
            "invalid choice: 'beta'",
        ),
        (INDEX + ["--data", DATA, "--weights", "weight", "--satisfied", "high"], "--satisfied"),
        (["summary", "--data", DATA], "invalid choice: 'summary'"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, bad_files) -> None:
    result = run(*[a.format(**bad_files) for a in args])
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert lines[0].startswith("python -m analysis: error: ")


def test_codes_in_group_columns_keep_their_leading_zeros(tmp_path):
    data = tmp_path / "codes.csv"
    data.write_text(
        "province,desk,w,q1\n01,0101,2,5\n01,0102,2,3\n04,0401,1,4\n04,0402,1,2\n",
        encoding="utf-8",
    )
    done = run(
        "index", "--data", str(data), "--weights", "w", "--strata", "province",
        "--psu", "desk", "--dimension", "A=q1", "--by", "province",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    provinces = {row["domain"]["province"] for row in json.loads(done.stdout)}
    assert provinces == {"01", "04"}
