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

from analysis.cli import main

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


SMALL = {
    "w": ["1", "2", "1", "2", "1", "2", "1", "2"],
    "st": ["A", "A", "A", "A", "B", "B", "B", "B"],
    "desk": ["d1", "d1", "d2", "d2", "d3", "d3", "d4", "d4"],
    "q1": ["5", "4", "3", "2", "1", "5", "4", "3"],
    "q2": ["4", "4", "", "2", "5", "5", "1", "3"],
}
SMALL_INDEX = ["index", "--weights", "w", "--strata", "st", "--psu", "desk", "--dimension=A=q1,q2"]
SMALL_MEAN = ["estimate", "--weights", "w", "--strata", "st", "--psu", "desk", "--stat", "mean"]


def small_csv(folder: Path, **columns: list[str]) -> str:
    """The small design above as a CSV file, with some columns replaced."""
    table = {**SMALL, **columns}
    lines = [",".join(table)] + [",".join(row) for row in zip(*table.values(), strict=True)]
    path = folder / "small.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


# name: (columns replaced, command, option and message the one line starts with)
UNUSABLE = {
    "weights all zero, index": (
        {"w": ["0"] * 8},
        SMALL_INDEX,
        "--weights: column 'w' is zero in every row",
    ),
    "weights all zero, estimate": (
        {"w": ["0"] * 8},
        [*SMALL_MEAN, "--var", "q1"],
        "--weights: column 'w' is zero in every row",
    ),
    "item answered by nobody": (
        {"q2": [""] * 8},
        SMALL_INDEX,
        "--dimension: column 'q2' has no valid answer",
    ),
    "variable missing in every row": (
        {"q2": [""] * 8},
        [*SMALL_MEAN, "--var", "q2"],
        "--var: column 'q2' has no valid value",
    ),
    "denominator missing in every row": (
        {"q2": [""] * 8},
        [*SMALL_MEAN[:-1], "ratio", "--var", "q1", "--denominator", "q2"],
        "--denominator: column 'q2' has no valid value",
    ),
    "domain column empty in every row": (
        {"g": [""] * 8},
        [*SMALL_INDEX, "--by", "g"],
        "--by: column 'g' has no value in any row",
    ),
    "satisfied nan": ({}, [*SMALL_INDEX, "--satisfied", "nan"], "--satisfied: expected numbers"),
    "satisfied inf": ({}, [*SMALL_INDEX, "--satisfied", "4,inf"], "--satisfied: expected numbers"),
    "infinite weight": (
        {"w": ["1", "inf", "1", "2", "1", "2", "1", "2"]},
        SMALL_INDEX,
        "--weights: column 'w' has infinite values",
    ),
    "infinite answer": (
        {"q1": ["5", "4", "inf", "2", "1", "5", "4", "3"]},
        SMALL_INDEX,
        "--dimension: column 'q1' has infinite values",
    ),
    "infinite value": (
        {"q1": ["5", "4", "-inf", "2", "1", "5", "4", "3"]},
        [*SMALL_MEAN, "--var", "q1"],
        "--var: column 'q1' has infinite values",
    ),
    "weights whose sum overflows": (
        {"w": ["1e308"] * 8},
        SMALL_INDEX,
        "--weights: column 'w' has values too large to compute with",
    ),
    "values whose weighted sum overflows": (
        {"q1": ["1e308"] * 8},
        [*SMALL_MEAN, "--var", "q1"],
        "--var: column 'q1' has values too large to compute with",
    ),
    "weights written as True/False": (
        {"w": ["True", "False"] * 4},
        SMALL_INDEX,
        "--weights: column 'w' holds True/False, not numbers",
    ),
    "na codes not numbers": (
        {},
        [*SMALL_INDEX, "--na-codes", "x"],
        "--na-codes: expected numbers such as 0 or 0,9 (got 'x')",
    ),
    "na codes nan": ({}, [*SMALL_INDEX, "--na-codes", "0,nan"], "--na-codes: expected numbers"),
    "na codes empty": ({}, [*SMALL_INDEX, "--na-codes", ""], "--na-codes: expected numbers"),
    "na codes inf, estimate": (
        {},
        [*SMALL_MEAN, "--var", "q1", "--na-codes", "inf"],
        "--na-codes: expected numbers",
    ),
    "na codes not numbers, estimate": (
        {},
        [*SMALL_MEAN, "--var", "q1", "--na-codes", "n/a"],
        "--na-codes: expected numbers",
    ),
    "na code also satisfied by default": (
        {},
        [*SMALL_INDEX, "--na-codes", "0,5"],
        "--na-codes: 5 is also in --satisfied",
    ),
    "na code also satisfied": (
        {},
        [*SMALL_INDEX, "--satisfied", "3,4", "--na-codes", "3.0"],
        "--na-codes: 3 is also in --satisfied",
    ),
    "every answer not applicable": (
        {"q2": ["0"] * 8},
        [*SMALL_INDEX, "--na-codes", "0"],
        "--dimension: column 'q2' has no valid answer",
    ),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_unusable_input_exits_2_with_one_plain_line(case: str, tmp_path: Path) -> None:
    columns, command, message = UNUSABLE[case]
    result = run(*command, "--data", small_csv(tmp_path, **columns))
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # no numpy warning either
    assert lines[0].startswith(f"python -m analysis: error: {message}"), lines[0]


# Not applicable coded 0 (and 9 in q2); the same answers with those fields empty. The
# weights and the domain column hold 0 too: --na-codes leaves them as they are.
CODED = {
    "w": ["1", "2", "1", "0", "1", "2", "1", "2"],
    "g": ["0", "1", "0", "1", "0", "1", "0", "0"],
    "q1": ["5", "0", "3", "2", "1", "5", "0", "3"],
    "q2": ["4", "4", "", "0", "5", "9", "1", "3"],
}
BLANKED = {**CODED, "q1": ["5", "", "3", "2", "1", "5", "", "3"]}
BLANKED["q2"] = ["4", "4", "", "", "5", "", "1", "3"]


def coded_and_blanked(folder: Path) -> tuple[str, str]:
    """The small design with N/A coded, and with those cells empty, as two CSV files."""
    (folder / "coded").mkdir()
    (folder / "blanked").mkdir()
    return small_csv(folder / "coded", **CODED), small_csv(folder / "blanked", **BLANKED)


def outputs(command: list[str], *runs: list[str]) -> list[list[dict]]:
    """The JSON records of ``python -m analysis COMMAND RUN`` for each run."""
    out = []
    for extra in runs:
        done = run(*command, *extra)
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        out.append(json.loads(done.stdout))
    return out


@pytest.mark.parametrize(
    "extra",
    [[], ["--complete-cases"], ["--by", "g", "--ci-method", "logit"]],
    ids=["items", "complete cases", "by a column holding 0"],
)
def test_index_na_codes_are_as_empty_fields(extra: list[str], tmp_path: Path) -> None:
    coded, blanked = coded_and_blanked(tmp_path)
    with_codes, as_blanks, without = outputs(
        [*SMALL_INDEX, *extra],
        ["--data", coded, "--na-codes", "0,9"],
        ["--data", blanked],
        ["--data", coded],
    )
    assert with_codes == as_blanks
    assert with_codes != without
    if extra == ["--by", "g", "--ci-method", "logit"]:
        assert {rec["domain"]["g"] for rec in with_codes} == {"0", "1"}
    # without the option a 0 is an answer, and a dissatisfied one
    q1 = {domain_text(rec["domain"]): rec for rec in with_codes if rec["variable"] == "q1"}
    for rec in without:
        if rec["variable"] == "q1":
            blank = q1[domain_text(rec["domain"])]
            assert rec["n"] > blank["n"] and rec["estimate"] < blank["estimate"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--stat", "mean", "--var", "q1"],
        ["--stat", "mean", "--var", "q1", "--by", "g"],
        ["--stat", "ratio", "--var", "q2", "--denominator", "q1"],
        ["--stat", "proportion", "--var", "q2"],
    ],
    ids=["mean", "mean by a column holding 0", "ratio", "proportions of levels"],
)
def test_estimate_na_codes_are_as_empty_fields(flags: list[str], tmp_path: Path) -> None:
    coded, blanked = coded_and_blanked(tmp_path)
    with_codes, as_blanks, without = outputs(
        [*SMALL_MEAN[:-2], *flags],
        ["--data", coded, "--na-codes", "9,0"],
        ["--data", blanked],
        ["--data", coded],
    )
    assert with_codes == as_blanks
    assert with_codes != without
    if "--by" in flags:
        assert [rec["domain"] for rec in with_codes] == [{"g": "0"}, {"g": "1"}]
    if flags[1] == "mean":  # the 0s pull the mean down and count as answers
        for rec, blank in zip(without, with_codes, strict=True):
            assert rec["n"] > blank["n"] and rec["estimate"] < blank["estimate"]
    if flags[1] == "proportion":  # no level 0 or 9 left
        assert [rec["variable"] for rec in with_codes] == ["q2=1", "q2=3", "q2=4", "q2=5"]


@pytest.mark.parametrize("command", [SMALL_INDEX, [*SMALL_MEAN, "--var", "q1"]])
def test_header_only_file_exits_2_with_one_line(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text(",".join(SMALL) + "\n", encoding="utf-8")
    result = run(*command, "--data", str(path))
    assert (result.returncode, result.stdout) == (2, "")
    message = f"--data: '{path}' has no data rows, only a header"
    assert result.stderr == f"python -m analysis: error: {message}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*SMALL_INDEX, "--satisfied", "nan"], "--satisfied: expected numbers such as 4,5"),
        ([*SMALL_MEAN, "--var", "q2"], "--var: column 'q2' has no valid value"),
    ],
)
def test_main_in_process_writes_one_line(argv, message, tmp_path, capsys) -> None:
    data = small_csv(tmp_path, q2=[""] * 8)
    assert main([*argv, "--data", data]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"python -m analysis: error: {message}") and err.count("\n") == 1


WITHOUT_PYARROW = (
    "import sys; sys.modules['pyarrow'] = None; "  # as on a machine without it
    "from analysis.cli import main; raise SystemExit(main())"
)
SAYING_READER = (
    "import sys; from analysis.cli import main; code = main(); "
    "sys.stderr.write('pyarrow.csv' if 'pyarrow.csv' in sys.modules else 'pandas'); "
    "raise SystemExit(code)"
)
ONE_STAGE_INDEX = ["index", "--weights", "weight", *ONE_STAGE, *DIMENSION_FLAGS, *PART_FLAGS]


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -c SCRIPT ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "command",
    [
        [*ONE_STAGE_INDEX, "--by", "channel"],
        ["estimate", "--weights", "weight", *TWO_STAGE, "--stat", "proportion", "--var", "gender"],
        ["estimate", "--weights", "weight", *NESTED, "--stat", "mean", "--var", "age"],
    ],
)
def test_csv_gives_the_same_output_with_and_without_pyarrow(command: list[str]) -> None:
    pytest.importorskip("pyarrow")
    fast = run_script(SAYING_READER, *command, "--data", DATA)
    slow = run_script(WITHOUT_PYARROW, *command, "--data", DATA)
    assert fast.returncode == slow.returncode == 0, fast.stderr + slow.stderr
    assert fast.stderr == "pyarrow.csv"
    assert fast.stdout == slow.stdout


def test_parquet_gives_the_same_output_as_csv(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "sipas.parquet"
    pd.read_csv(DATA, dtype={"province": str, "desk": str, "day": str}).to_parquet(parquet)
    command = [*ONE_STAGE_INDEX, "--by", "province", "--format", "csv"]
    from_csv, from_parquet = run(*command, "--data", DATA), run(*command, "--data", str(parquet))
    assert from_parquet.returncode == 0, from_parquet.stderr
    assert from_parquet.stdout == from_csv.stdout


def test_parquet_without_pyarrow_exits_2_with_one_line(tmp_path: Path) -> None:
    parquet = tmp_path / "sipas.parquet"
    parquet.write_bytes(b"PAR1")
    result = run_script(WITHOUT_PYARROW, *SMALL_INDEX, "--data", str(parquet))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("python -m analysis: error: --data: reading Parquet")
    assert "needs the pyarrow package" in result.stderr


IMPORTED = (
    "import contextlib, io, sys; from analysis.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()): code = main(sys.argv[1:])\n"
    "print(code, *sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'statsmodels')))"
)


@pytest.mark.parametrize(
    ("method", "unused"),
    [
        ("wald", ("scipy",)),
        ("wald-t", ("scipy.stats", "scipy.sparse")),
        ("logit", ("scipy.stats",)),
    ],
)
def test_index_command_imports_only_what_it_uses(method: str, unused: tuple[str, ...]) -> None:
    """Importing scipy.stats took longer than computing the index on 100,000 rows."""
    result = run_script(IMPORTED, *ONE_STAGE_INDEX, "--data", DATA, "--ci-method", method)
    code, *modules = result.stdout.split()
    assert code == "0", result.stderr
    assert [m for m in modules if m.startswith((*unused, "statsmodels"))] == []
