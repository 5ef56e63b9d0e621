"""Reading the command line's data file: only the columns a command uses.

The format is chosen by the file's extension: ``.parquet`` (Parquet, which
needs pyarrow), ``.sav`` and ``.zsav`` (SPSS) and ``.dta`` (Stata), both
read by pyreadstat, and anything else as CSV.

CSV is read by pyarrow's multi-threaded reader when pyarrow is installed,
otherwise by pandas' C engine. Both readers give the same frame:

* group columns (strata, clusters, domains) as text, so that codes such as
  province "01" keep their leading zeros (pyarrow: categories in sorted
  order, which factorise as the text does);
* numeric columns (weights, fpc, items) as float, with empty fields missing
  (pyarrow parses answers on a scale as small integers, an eighth of the
  memory, when they all are; pandas makes them float as it converts);
* any other column (the variable of ``estimate``) with its type inferred.

Whatever pyarrow would read differently from pandas -- a field that is not a
number (text, True/False, "nan"), a duplicate header, an inferred type other
than a number, True/False or text -- is read again by pandas, whose result
the library then checks and names in its messages (``weights: column 'w'
holds True/False, not numbers``). Columns missing from the file are left out,
so that the library reports them by the option that names them.

SPSS and Stata files carry value labels (``1 = "Hà Nội"``). They name the
categories of the group columns (strata, clusters, domains, a table's rows
and columns), so that the output shows ``{"province": "Hà Nội"}`` rather
than ``{"province": "1"}``: a labelled column's categories keep the order of
their codes (a scale stays in order), a value without a label is shown as
its code, and two codes with the same label are shown as ``LABEL (CODE)`` so
that they stay apart. The analysed variables (``--var``, items, weights)
keep their numeric codes, which the statistics need: a proportion of a
labelled answer is reported per code. SPSS user-missing values and Stata's
extended missing values (``.a`` ...) are missing, as empty CSV fields are;
so is an empty text value. A group column without labels is text, as from
CSV (codes 1, 2, 10 sort as "1", "10", "2").
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["labelled", "read_columns"]

_TRUE = ["True", "TRUE", "true"]  # pandas' default spellings
_LABELLED = {".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata"}
_FALSE = ["False", "FALSE", "false"]


def read_columns(
    path: str,
    *,
    labels: Sequence[str] = (),
    numbers: Sequence[str] = (),
    answers: Sequence[str] = (),
    others: Sequence[str] = (),
    fast: bool = True,
) -> pd.DataFrame:
    """Read the named columns of a CSV or Parquet file.

    Parameters
    ----------
    path : str
        The file; ``.parquet`` (any case) is read as Parquet, anything else
        as CSV (UTF-8, comma-separated, header line).
    labels, numbers, others : sequence of str
        Columns to read as text, as float, and with their inferred type.
    answers : sequence of str
        Numeric columns expected to hold small whole numbers (answers on a
        scale), read as float like ``numbers``.
    fast : bool, default True
        Read CSV with pyarrow where it is installed; False: with pandas.

    Returns
    -------
    DataFrame
        The columns of the file among those asked for, in the file's order
        (all of them, renamed as pandas does, if the header repeats a name).

    Raises
    ------
    ValueError
        ``--data: ...``: the file is missing, unreadable, has no data rows,
        or is Parquet without pyarrow installed.
    """
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--data: file '{path}' not found")
    wanted = {*labels, *numbers, *answers, *others}
    kinds = _Kinds(set(labels), set(numbers) | set(answers), set(answers))
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        frame = _read_parquet(file, wanted, kinds)
    elif suffix in _LABELLED:
        frame = _read_labelled(file, wanted, kinds)
    else:
        frame = _read_csv(file, wanted, kinds, fast)
    if frame.columns.size and len(frame) == 0:
        header = ", only a header" if suffix not in {".parquet", *_LABELLED} else ""
        raise ValueError(f"--data: '{path}' has no data rows{header}")
    return frame


class _Kinds(NamedTuple):
    """How to read the columns: text, numbers (answers among them), the rest inferred."""

    labels: set[str]
    numbers: set[str]
    answers: set[str]


# ------------------------------------------------------------------- CSV
def _read_csv(file: Path, wanted: set[str], kinds: _Kinds, fast: bool) -> pd.DataFrame:
    try:
        header = _csv_header(file)
        if not header or len(set(header)) < len(header):
            # pandas' own message for an empty file, its renaming of duplicates (a, a.1)
            return _pandas_csv(file, None, kinds.labels)
        present = [c for c in header if c in wanted]
        if not present:
            return pd.DataFrame()  # the library names the first missing column
        frame = _arrow_csv(file, present, kinds) if fast else None
        return _pandas_csv(file, present, kinds.labels) if frame is None else frame
    except (ValueError, OSError, csv.Error) as exc:
        raise ValueError(f"--data: cannot read '{file}' as CSV ({_first_line(exc)})") from None


def _csv_header(file: Path) -> list[str]:
    with file.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def _pandas_csv(file: Path, columns: list[str] | None, labels: set[str]) -> pd.DataFrame:
    """pandas' C engine; numeric columns are left to the library to convert.

    Asking it for float would turn True/False into 1.0/0.0 without a word.
    """
    return pd.read_csv(
        file,
        usecols=columns,
        keep_default_na=False,
        na_values=[""],
        low_memory=False,
        dtype={name: str for name in labels},
    )


def _arrow_csv(file: Path, columns: list[str], kinds: _Kinds) -> pd.DataFrame | None:
    """pyarrow's reader, or None when pandas must read the file instead."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        return None
    for small in [True, False] if kinds.answers & set(columns) else [False]:
        table = _arrow_table(pa, pcsv, file, columns, kinds, small)
        if table is not None:
            break
    else:
        return None
    for name in columns:
        column = table.column(name)
        if name not in kinds.labels | kinds.numbers and not _plain_type(pa, column.type):
            return None
        if pa.types.is_null(column.type):
            index = table.schema.get_field_index(name)
            table = table.set_column(index, name, column.cast("float64"))
    floats = [n for n in columns if pa.types.is_float64(table.column(n).type)]
    empty = {name: table.column(name).null_count for name in floats if name in kinds.numbers}
    frame = table.to_pandas()
    for name, count in empty.items():
        if np.count_nonzero(np.isnan(frame[name].to_numpy())) != count:
            return None  # "nan" written out: pandas reads it as text, the library refuses it
    return _with_sorted_categories(frame, kinds.labels)


def _arrow_table(
    pa: Any, pcsv: Any, file: Path, columns: list[str], kinds: _Kinds, small: bool
) -> Any:
    """The columns as a pyarrow Table, answers as 8-bit integers if ``small``; None if not."""

    def kind(name: str) -> Any:
        if name in kinds.labels:
            return pa.dictionary(pa.int32(), pa.string())
        return pa.int8() if small and name in kinds.answers else pa.float64()

    options = pcsv.ConvertOptions(
        column_types={c: kind(c) for c in columns if c in kinds.labels | kinds.numbers},
        include_columns=columns,
        null_values=[""],
        strings_can_be_null=True,
        true_values=_TRUE,
        false_values=_FALSE,
        timestamp_parsers=[],
    )
    try:
        return pcsv.read_csv(file, convert_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _plain_type(pa: Any, kind: Any) -> bool:
    """Whether pandas would infer the same type for the column (number, bool, text, empty)."""
    checks = (pa.types.is_int64, pa.types.is_float64, pa.types.is_boolean, pa.types.is_string)
    return pa.types.is_null(kind) or any(check(kind) for check in checks)


def _with_sorted_categories(frame: pd.DataFrame, labels: set[str]) -> pd.DataFrame:
    """Categories in sorted order, so that codes and domains come out as from text."""
    for name in frame.columns:
        if name in labels and isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = _sorted_categorical(frame[name].array)
    return frame


def _sorted_categorical(values: pd.Categorical) -> pd.Categorical:
    """The same values with their categories sorted (``reorder_categories``, faster)."""
    categories = np.asarray(values.categories, dtype=object)
    order = np.argsort(categories, kind="stable")
    rank = np.empty(len(order) + 1, dtype=values.codes.dtype)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # a missing value (code -1) stays missing
    return pd.Categorical.from_codes(rank[values.codes], categories[order])


# --------------------------------------------------------------- Parquet
def _read_parquet(file: Path, wanted: set[str], kinds: _Kinds) -> pd.DataFrame:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(
            f"--data: reading Parquet ('{file}') needs the pyarrow package "
            "(pip install pyarrow), or give a CSV file"
        ) from None
    try:
        columns = [c for c in pq.read_schema(file).names if c in wanted]
        labels = [c for c in columns if c in kinds.labels]  # text as categories where stored so
        table = pq.read_table(file, columns=columns, read_dictionary=labels)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"--data: cannot read '{file}' as Parquet ({_first_line(exc)})") from None
    for name in table.column_names:
        index = table.schema.get_field_index(name)
        column = table.column(name)
        if name in kinds.labels and not _is_text_categories(pa, column.type):
            text = column if pa.types.is_string(column.type) else column.cast(pa.string())
            table = table.set_column(index, name, pc.dictionary_encode(text))
        elif name in kinds.numbers and _is_number(pa, column.type):
            table = table.set_column(index, name, column.cast(pa.float64()))
    return _with_sorted_categories(table.to_pandas(), kinds.labels)


def _is_text_categories(pa: Any, kind: Any) -> bool:
    return pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type)


def _is_number(pa: Any, kind: Any) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


# ----------------------------------------------------------- SPSS, Stata
def _read_labelled(file: Path, wanted: set[str], kinds: _Kinds) -> pd.DataFrame:
    """An SPSS or Stata file's columns; group columns named by their value labels."""
    kind = _LABELLED[file.suffix.lower()]
    try:
        import pyreadstat
    except ImportError:
        raise ValueError(
            f"--data: reading {kind} files ('{file}') needs the pyreadstat package "
            "(pip install pyreadstat), or give a CSV file"
        ) from None
    read = pyreadstat.read_dta if kind == "Stata" else pyreadstat.read_sav
    try:
        _, meta = read(str(file), metadataonly=True)
        columns = [c for c in meta.column_names if c in wanted]
        if not columns:
            return pd.DataFrame()  # the library names the first missing column
        frame, meta = read(str(file), usecols=columns)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError) as exc:
        raise ValueError(f"--data: cannot read '{file}' as {kind} ({_first_line(exc)})") from None
    for name in columns:
        values = frame[name]
        if name in kinds.labels:
            frame[name] = labelled(values, meta.variable_value_labels.get(name, {}))
        elif name in kinds.numbers and values.dtype.kind in "iuf":
            frame[name] = values.astype(np.float64)
    return frame


def labelled(values: pd.Series, labels: dict[Any, str]) -> pd.Series:
    """A group column as a categorical named by its value labels (see the module's notes).

    Parameters
    ----------
    values : Series
        Codes (numbers or text); NaN, None and empty text are missing.
    labels : dict
        ``{code: label}``, possibly empty.

    Returns
    -------
    Series
        Categorical: with labels, categories in the order of the codes;
        without, the codes as text in text order.
    """
    if not pd.api.types.is_numeric_dtype(values.dtype):
        values = values.astype(object).where(values.notna() & (values.astype(object) != ""))
    present = pd.unique(values.dropna())
    numeric = pd.api.types.is_numeric_dtype(values.dtype)
    lookup = {(float(k) if numeric else k): str(v) for k, v in labels.items()}
    if lookup:
        codes = sorted(present) if numeric else sorted(present, key=str)
    else:
        codes = sorted(present, key=_code_text)
    names = [lookup.get(code, _code_text(code)) for code in codes]
    repeated = {n for n in names if names.count(n) > 1}
    names = [
        f"{n} ({_code_text(c)})" if n in repeated else n for n, c in zip(names, codes, strict=True)
    ]
    position = {code: i for i, code in enumerate(codes)}
    index = values.map(position).fillna(-1).to_numpy(dtype=np.int64)
    return pd.Series(pd.Categorical.from_codes(index, names), index=values.index, name=values.name)


def _code_text(code: Any) -> str:
    """A code as text: ``1.0`` as ``1``."""
    if isinstance(code, float | np.floating) and float(code).is_integer():
        return str(int(code))
    return str(code)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
