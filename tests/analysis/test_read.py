"""The command line's reader: only the named columns, the same frame from every reader.

pyarrow reads CSV when it is installed and pandas' C engine otherwise; both
must give what the library then computes the same numbers from. Parquet
needs pyarrow.
"""

from __future__ import annotations

import re
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
