"""``python -m analysis glm``: design-based regression from the command line.

The numbers are R's ``svyglm`` on the SIPAS-like data (``reference/glm``:
cases ``sipas_gauss`` and ``sipas_binom`` of ``make_reference.R``), with the
two-stage design::

    svydesign(ids = ~desk + day, strata = ~province,
              fpc = ~desks_total + days_total, weights = ~weight, data = sipas)

Bad input ends with exit status 2, one line on standard error and nothing on
standard output, as for the other commands.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import _GLM_COLUMNS, main
from analysis.glm import RECORD_COLUMNS
from tests.analysis.conftest import reference_values
from tests.analysis.test_glm_r import r_name, r_terms

ROOT = Path(__file__).resolve().parents[2]
REF = Path(__file__).parent / "reference" / "glm"
DATA = str(Path(__file__).parent / "reference" / "sipas" / "sipas.csv")
DESIGN = [
    "--weights",
    "weight",
    "--strata",
    "province",
    "--psu",
    "desk,day",
    "--fpc",
    "desks_total,days_total",
]
MODELS = {
    "sipas_gauss": ["--formula", "fee ~ age + C(channel) + C(gender)"],
    "sipas_binom": ["--formula", "paid ~ age + C(channel)", "--family", "binomial"],
}
TOL = 1e-9


def run(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m analysis ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def check_against_r(records: list[dict], case: str, level: int = 95) -> None:
    ref = reference_values(REF)
    assert [r_name(rec["term"]) for rec in records] == r_terms()[case]
    for key, name in [
        ("estimate", "est"),
        ("se", "se"),
        ("statistic", "t"),
        ("p_value", "p"),
        ("ci_low", f"ci{level}_low"),
        ("ci_high", f"ci{level}_high"),
    ]:
        np.testing.assert_allclose(
            [rec[key] for rec in records], ref[f"{case}_{name}"], rtol=TOL, err_msg=key
        )
    assert {rec["df"] for rec in records} == {int(ref[f"{case}_df"][0])}


def test_columns_are_the_librarys() -> None:
    assert _GLM_COLUMNS == RECORD_COLUMNS


@pytest.mark.parametrize("case", list(MODELS))
def test_glm_command_matches_r(case: str) -> None:
    result = run("glm", "--data", DATA, *DESIGN, *MODELS[case])
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    records = json.loads(result.stdout)
    assert [list(rec) for rec in records] == [list(RECORD_COLUMNS)] * len(records)
    check_against_r(records, case)


def test_csv_output_and_level() -> None:
    args = ["glm", "--data", DATA, *DESIGN, *MODELS["sipas_gauss"], "--level", "0.9"]
    as_json = json.loads(run(*args).stdout)
    check_against_r(as_json, "sipas_gauss", level=90)
    result = run(*args, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == list(RECORD_COLUMNS)
    for row, rec in zip(rows, as_json, strict=True):
        assert row["term"] == rec["term"]
        assert float(row["estimate"]) == rec["estimate"]
        assert float(row["p_value"]) == rec["p_value"]
        assert float(row["ci_high"]) == rec["ci_high"]
        assert int(row["df"]) == rec["df"]


def test_na_codes_in_the_formula_columns_are_missing(tmp_path: Path) -> None:
    coded = pd.read_csv(DATA).fillna({"fee": 0.0})  # "not applicable" written as 0
    path = tmp_path / "coded.csv"
    coded.to_csv(path, index=False)
    plain = run("glm", "--data", str(path), *DESIGN, *MODELS["sipas_gauss"])
    blanked = run("glm", "--data", str(path), *DESIGN, *MODELS["sipas_gauss"], "--na-codes", "0")
    assert plain.returncode == blanked.returncode == 0, plain.stderr + blanked.stderr
    check_against_r(json.loads(blanked.stdout), "sipas_gauss")
    assert json.loads(plain.stdout)[0]["estimate"] != json.loads(blanked.stdout)[0]["estimate"]


def test_categorical_columns_are_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    frame = pd.DataFrame(
        {
            "w": [1.0, 2, 1, 2, 3, 1, 2, 1, 2],
            "district": ["01", "02", "10"] * 3,
            "x": [1.0, 2, 3, 4, 5, 6, 7, 8, 10],
            "y": [2.0, 3, 7, 4, 6, 9, 8, 9, 14],
        }
    )
    frame.to_csv(path, index=False)
    result = run("glm", "--data", str(path), "--weights", "w", "--formula", "y ~ x + C(district)")
    assert result.returncode == 0, result.stderr
    terms = [rec["term"] for rec in json.loads(result.stdout)]
    assert terms == ["Intercept", "x", "C(district)[T.02]", "C(district)[T.10]"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--formula", "fee ~ age + region"], "--formula: column 'region' is missing"),
        (["--formula", "nope ~ age"], "--formula: column 'nope' is missing"),
        (
            ["--formula", "age ~ fee", "--family", "binomial"],
            "--formula: outcome column 'age' must be 0/1 for family 'binomial'",
        ),
        (
            ["--formula", "channel ~ age", "--family", "binomial"],
            "--formula: outcome column 'channel' has 3 values ('paper', 'phone', 'qr')",
        ),
        (["--formula", "channel ~ age"], "--formula: outcome column 'channel' is not numeric"),
        (["--formula", "fee ~ age +"], "--formula: cannot read 'fee ~ age +': expected a noun"),
        (["--formula", "fee age"], "--formula: no '~' in 'fee age'"),
        (["--formula", "fee ~ age", "--family", "poisson"], "invalid choice: 'poisson'"),
        ([], "the following arguments are required: --formula"),
    ],
)
def test_bad_input_exits_2_with_one_line(extra: list[str], message: str) -> None:
    result = run("glm", "--data", DATA, *DESIGN, *extra)
    assert (result.returncode, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m analysis: error: ")
    assert message in lines[0]


def test_main_in_process_writes_one_line(capsys) -> None:
    argv = ["glm", "--data", DATA, "--weights", "weight", "--formula", "fee ~ zz"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "python -m analysis: error: --formula: column 'zz' is missing\n"
    assert main(["glm", "--data", DATA, *DESIGN, *MODELS["sipas_binom"]]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    check_against_r(json.loads(out), "sipas_binom")
