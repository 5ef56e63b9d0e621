"""Coercion and checks shared by the analysis modules.

Every error is a :class:`ValueError` whose message names the argument or the
column and says what is wrong, so that the command line and the web app can
show it to the user as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "as_1d_float",
    "as_names",
    "check_columns",
    "numeric_column",
    "option",
]


def as_names(value: str | Sequence[str] | None, name: str) -> tuple[str, ...]:
    """Return column names given as one string or a sequence of strings.

    A string holding commas (``"dnum,snum"``) is split, as the command line
    passes it.
    """
    if value is None:
        return ()
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    if not parts or any(not isinstance(p, str) or not p for p in parts):
        raise ValueError(f"{name}: expected column names, got {value!r}")
    return tuple(parts)


def check_columns(data: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise ValueError if a column is missing from ``data``."""
    for col in columns:
        if col not in data.columns:
            raise ValueError(f"{name}: column '{col}' is missing")


def numeric_column(data: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """Return a column as float, refusing text that is not a number.

    Missing values stay NaN; the caller decides whether they are allowed.
    """
    check_columns(data, [column], name)
    values = data[column]
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"{name}: column '{column}' appears more than once")
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        example = values[bad].iloc[0]
        raise ValueError(f"{name}: column '{column}' is not numeric (value {example!r})")
    return converted.to_numpy(dtype=float, na_value=np.nan)


def as_1d_float(values: Any, name: str, n: int | None = None) -> np.ndarray:
    """Return ``values`` as a one-dimensional float array of length ``n``."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=float, na_value=np.nan)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: values are not numeric ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a one-dimensional array, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values, got {arr.shape[0]}")
    return arr


def option(value: str, name: str, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise ValueError listing them."""
    if value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name}: {value!r} is not one of {allowed}")
    return value
