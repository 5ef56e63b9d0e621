"""The command line's reader: only the named columns, the same frame from every reader.

pyarrow reads CSV when it is installed and pandas' C engine otherwise; both
must give what the library then computes the same numbers from. Parquet
needs pyarrow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis._read import read_columns
from analysis._validate import numeric_column, weight_column

DATA = Path(__file__).parent / "reference" / "sipas" / "sipas.csv"
LABELS = ["province", "desk", "day", "channel"]
NUMBERS = ["weight", "desks_total", "age", "fee"]
ANSWERS = ["a1", "a2", "e3", "pb2"]
OTHERS = ["gender", "paid"]
KINDS = {"labels": LABELS, "numbers": NUMBERS, "answers": ANSWERS, "others": OTHERS}


def read(path: Path | str, **kinds: Any) -> pd.DataFrame:
    return read_columns(str(path), **kinds)


def test_pyarrow_and_pandas_give_the_same_values() -> None:
    pytest.importorskip("pyarrow")
    fast = read(DATA, **KINDS)
    slow = read(DATA, **KINDS, fast=False)
    assert list(fast.columns) == list(slow.columns)
    assert set(fast.columns) == {*LABELS, *NUMBERS, *ANSWERS, *OTHERS}
    assert isinstance(fast["desk"].dtype, pd.CategoricalDtype)  # the fast reader was used
    for name in LABELS:
        assert fast[name].astype(str).tolist() == slow[name].tolist()
        codes = [pd.factorize(data[name], sort=True)[0] for data in (fast, slow)]
        assert np.array_equal(*codes), name
    for name in NUMBERS + ANSWERS:
        assert fast[name].dtype == np.float64
        a, b = numeric_column(fast, name, "x"), numeric_column(slow, name, "x")
        assert np.array_equal(a, b, equal_nan=True), name
    for name in OTHERS:
        assert fast[name].dtype == slow[name].dtype
        assert fast[name].equals(slow[name])


@pytest.mark.parametrize("q", ["4,,5", "4,5,1", "4.0,,5", "4.5,,5", "4,,300", "-2,,1e1"])
def test_answers_that_are_not_small_integers_are_read_as_float(tmp_path, q: str) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("w,q\n" + "".join(f"1,{v}\n" for v in q.split(",")), encoding="utf-8")
    expected = [float(v) if v else np.nan for v in q.split(",")]
    for fast in (True, False):
        data = read(path, numbers=["w"], answers=["q"], fast=fast)
        assert np.array_equal(numeric_column(data, "q", "x"), expected, equal_nan=True)


def test_group_codes_sort_as_text(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("province,w\n9,1\n10,1\n01,1\n9,2\n", encoding="utf-8")
    data = read(path, labels=["province"], numbers=["w"])
    codes, labels = pd.factorize(data["province"], sort=True)
    assert list(labels) == ["01", "10", "9"] and codes.tolist() == [2, 1, 0, 2]


def test_missing_columns_are_left_for_the_library_to_name(tmp_path: Path) -> None:
    data = read(DATA, labels=["province", "region"], numbers=["weight", "wt"])
    assert list(data.columns) == ["province", "weight"]
    assert read(DATA, numbers=["wt"]).columns.size == 0


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("1,nan,2", "weights: column 'w' is not numeric (value 'nan')"),
        ("True,False,True", "weights: column 'w' holds True/False, not numbers"),
        ("1,heavy,2", "weights: column 'w' is not numeric (value 'heavy')"),
    ],
)
def test_what_pyarrow_would_read_differently_is_read_by_pandas(tmp_path, weights, message):
    path = tmp_path / "odd.csv"
    rows = [f"{w},{q}" for w, q in zip(weights.split(","), "453", strict=True)]
    path.write_text("\n".join(["w,q", *rows]) + "\n", encoding="utf-8")
    data = read(path, numbers=["w", "q"])
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        weight_column(data, "w")


def test_duplicate_headers_are_renamed_as_pandas_does(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("q,w,q\n1,2,3\n4,5,6\n", encoding="utf-8")
    data = read(path, numbers=["q", "w"])
    assert data["q"].tolist() == [1, 4] and data["q.1"].tolist() == [3, 6]


def test_dates_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text("day,w\n2025-01-01,1\n2025-01-02,2\n", encoding="utf-8")
    assert read(path, numbers=["w"], others=["day"])["day"].tolist() == ["2025-01-01", "2025-01-02"]


def test_header_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("w,q\n", encoding="utf-8")
    with pytest.raises(ValueError, match="^--data: '.*header.csv' has no data rows, only a header"):
        read(path, numbers=["w", "q"])


def test_parquet_gives_text_groups_and_float_numbers(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "data.parquet"
    pd.DataFrame({"province": [1, 2, 2], "w": [1, 2, 3], "q": [4.0, None, 5.0]}).to_parquet(path)
    data = read(path, labels=["province"], numbers=["w", "q", "absent"])
    assert list(data.columns) == ["province", "w", "q"]
    assert data["province"].astype(str).tolist() == ["1", "2", "2"]
    assert data["w"].dtype == np.float64 and data["q"].isna().tolist() == [False, True, False]


# ------------------------------------------------------------ SPSS and Stata
ROOT = Path(__file__).resolve().parents[2]
PROVINCES = {"CT": "Cần Thơ", "DN": "Đà Nẵng", "GL": "Gia Lai", "HN": "Hà Nội", "HP": "Hải Phòng"}
PROVINCES["QN"] = "Quảng Ninh"
CHANNELS = {"qr": "QR code", "paper": "Paper form", "phone": "Telephone"}
DESIGN = ["--weights", "weight", "--strata", "province", "--psu", "desk", "--fpc", "desks_total"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sipas() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype={"province": str, "desk": str, "day": str})


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The SIPAS data as CSV (labels as text, N/A as empty fields), SPSS and Stata.

    In the SPSS and Stata files the province and channel are numeric codes
    with value labels; in SPSS "not applicable" of a1 is the user-missing
    code 0, in Stata a system-missing value.
    """
    pyreadstat = pytest.importorskip("pyreadstat")
    folder = tmp_path_factory.mktemp("formats")
    frame = sipas()
    text = frame.assign(
        province=frame["province"].map(PROVINCES),
        channel=frame["channel"].map(CHANNELS),
        a1=frame["a1"].astype("Int64"),  # written 1, not 1.0
    )
    text.to_csv(folder / "sipas.csv", index=False)
    codes = {}
    for name, labels in (("province", PROVINCES), ("channel", CHANNELS)):
        numbered = {key: i + 1 for i, key in enumerate(labels)}
        frame[name] = frame[name].map(numbered).astype(float)
        codes[name] = {i + 1: label for i, label in enumerate(labels.values())}
    spss = frame.assign(a1=frame["a1"].fillna(0))
    pyreadstat.write_sav(
        spss, folder / "sipas.sav", variable_value_labels=codes, missing_ranges={"a1": [0]}
    )
    pyreadstat.write_dta(frame, folder / "sipas.dta", variable_value_labels=codes)
    return {"csv": folder / "sipas.csv", "sav": folder / "sipas.sav", "dta": folder / "sipas.dta"}


def output(command: list[str], path: Path) -> Any:
    done = run(*command, "--data", str(path))
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return json.loads(done.stdout)


def keyed(records: list[dict]) -> dict:
    return {(r["variable"], tuple((r["domain"] or {}).items())): r for r in records}


COMMANDS = {
    "mean by two labelled columns": [
        "estimate",
        *DESIGN,
        "--stat",
        "mean",
        "--var",
        "age",
        "--by",
        "province,channel",
    ],
    "proportion with user-missing codes": [
        "estimate",
        *DESIGN,
        "--stat",
        "proportion",
        "--var",
        "a1",
        "--by",
        "channel",
    ],
    "index by a labelled column": [
        "index",
        *DESIGN,
        "--dimension",
        "a=a1,a2,a3",
        "--by",
        "channel",
        "--ci-method",
        "logit",
    ],
}


@pytest.mark.parametrize("suffix", ["sav", "dta"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_spss_and_stata_give_the_numbers_of_csv_with_labels(files, suffix, command) -> None:
    from_csv = keyed(output(COMMANDS[command], files["csv"]))
    from_file = output(COMMANDS[command], files[suffix])
    assert keyed(from_file).keys() == from_csv.keys()  # labels, not codes, in the output
    for key, rec in keyed(from_file).items():
        expected = from_csv[key]
        assert rec["n"] == expected["n"] and rec["df"] == expected["df"], key
        for name in ("estimate", "se", "ci_low", "ci_high"):
            assert rec[name] == pytest.approx(expected[name], rel=1e-12), (key, name)
    by = COMMANDS[command][COMMANDS[command].index("--by") + 1].split(",")[0]
    if command != "index by a labelled column":
        # a labelled column's categories come in the order of their codes
        order = list(dict.fromkeys(r["domain"][by] for r in from_file))
        labels = list((PROVINCES if by == "province" else CHANNELS).values())
        assert order == [label for label in labels if label in order]


@pytest.mark.parametrize("suffix", ["sav", "dta"])
def test_table_command_reads_spss_and_stata(files, suffix) -> None:
    command = ["table", *DESIGN, "--row", "channel", "--col", "a1"]
    from_csv, from_file = output(command, files["csv"]), output(command, files[suffix])
    assert [c["row"] for c in from_file["cells"][::5]] == list(CHANNELS.values())
    assert [c["col"] for c in from_file["cells"][:5]] == ["1", "2", "3", "4", "5"]
    assert from_file["n"] == from_csv["n"] == int(sipas()["a1"].notna().sum())
    for name in ("statistic", "ndf", "ddf", "p_value"):
        assert from_file[name] == pytest.approx(from_csv[name], rel=1e-12)
    csv_cells = {(c["row"], c["col"]): c for c in from_csv["cells"]}
    for cell in from_file["cells"]:
        assert cell["proportion_se"] == pytest.approx(
            csv_cells[cell["row"], cell["col"]]["proportion_se"], rel=1e-12
        )


def test_spss_reads_only_the_columns_asked_for(files, monkeypatch) -> None:
    import pyreadstat

    calls = []
    original = pyreadstat.read_sav

    def spy(path, **kwargs):
        calls.append(kwargs)
        return original(path, **kwargs)

    monkeypatch.setattr(pyreadstat, "read_sav", spy)
    data = read(files["sav"], labels=["channel", "region"], numbers=["weight", "a1"])
    assert list(data.columns) == ["weight", "channel", "a1"]  # the file's order
    assert calls[-1]["usecols"] == ["weight", "channel", "a1"]
    assert isinstance(data["channel"].dtype, pd.CategoricalDtype)
    assert data["a1"].dtype == np.float64 and data["a1"].isna().sum() == sipas()["a1"].isna().sum()


def test_value_labels_name_group_columns() -> None:
    from analysis._read import labelled

    codes = pd.Series([3.0, 1.0, np.nan, 10.0, 2.0, 1.0])
    named = labelled(codes, {1: "Very bad", 2: "Bad", 3: "Bad", 5: "Very good"})
    assert list(named.cat.categories) == ["Very bad", "Bad (2)", "Bad (3)", "10"]
    assert named.astype(object).tolist()[:3] == ["Bad (3)", "Very bad", np.nan]
    plain = labelled(codes, {})  # no labels: the codes as text, in text order as from CSV
    assert list(plain.cat.categories) == ["1", "10", "2", "3"]
    text = labelled(pd.Series(["b", "", "a", None]), {"a": "Alpha"})
    assert text.astype(object).tolist() == ["b", np.nan, "Alpha", np.nan]


@pytest.mark.parametrize(("suffix", "kind"), [("sav", "SPSS"), ("dta", "Stata")])
def test_unreadable_spss_or_stata_exits_2_with_one_line(tmp_path, suffix, kind) -> None:
    path = tmp_path / f"broken.{suffix}"
    path.write_bytes(b"not a data file")
    done = run("estimate", *DESIGN, "--stat", "mean", "--var", "age", "--data", str(path))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        f"python -m analysis: error: --data: cannot read '{path}' as {kind} ("
    )


def test_missing_columns_of_spss_are_named_by_their_option(files) -> None:
    done = run("estimate", *DESIGN, "--stat", "mean", "--var", "nope", "--data", str(files["sav"]))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "python -m analysis: error: --var: column 'nope' is missing\n"
