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
    "LARGEST_TOTAL",
    "as_1d_float",
    "as_names",
    "check_columns",
    "check_rows",
    "check_weighted_size",
    "numeric_column",
    "option",
    "weight_column",
]

#: Largest weighted total (of the weights, or of ``w |y|``) accepted. Variances
#: add up squares of such totals, which must stay below the float maximum
#: (about 1.8e308) with room to spare; anything near it is a data error.
LARGEST_TOTAL = 1e150


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


def check_rows(data: pd.DataFrame) -> None:
    """Raise ValueError if ``data`` has no rows: there is nothing to estimate."""
    if len(data) == 0:
        raise ValueError("data: no rows (nothing to estimate from)")


def numeric_column(
    data: pd.DataFrame, column: str, name: str, *, finite: bool = True
) -> np.ndarray:
    """Return a column as float, refusing text, True/False and infinite values.

    Missing values stay NaN; the caller decides whether they are allowed. A
    float column is returned without a copy: do not modify the result. With
    ``finite=False`` infinite values are left to the caller to refuse (when
    it scans the values anyway).
    """
    check_columns(data, [column], name)
    values = data[column]
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"{name}: column '{column}' appears more than once")
    if _holds_booleans(values):
        raise ValueError(f"{name}: column '{column}' holds True/False, not numbers")
    if values.dtype == np.float64:
        out = values.to_numpy()  # NaN already marks the missing values
    elif pd.api.types.is_numeric_dtype(values.dtype):
        out = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            example = values[bad].iloc[0]
            raise ValueError(f"{name}: column '{column}' is not numeric (value {example!r})")
        out = converted.to_numpy(dtype=float, na_value=np.nan)
    if finite and np.isinf(out).any():
        raise ValueError(f"{name}: column '{column}' has infinite values")
    return out


def _holds_booleans(values: pd.Series) -> bool:
    """Whether the values are True/False: a bool column, or bools among objects."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return True
    if values.dtype != object:
        return False
    return bool(values.map(lambda v: isinstance(v, bool | np.bool_)).any())


def weight_column(data: pd.DataFrame, column: str, name: str = "weights") -> np.ndarray:
    """Return a column of sampling weights, checked.

    Weights must be numbers (not True/False), present in every row, finite,
    non-negative, not all zero, and their sum at most :data:`LARGEST_TOTAL`.
    The result is a copy, which a design may keep.
    """
    w = numeric_column(data, column, name).copy()
    if np.isnan(w).any():
        raise ValueError(f"{name}: column '{column}' has missing values")
    if (w < 0).any():
        raise ValueError(f"{name}: column '{column}' has negative values")
    if w.size and not w.any():
        raise ValueError(f"{name}: column '{column}' is zero in every row")
    with np.errstate(over="ignore"):
        total = float(w.sum())
    if not total <= LARGEST_TOTAL:
        raise ValueError(
            f"{name}: column '{column}' has values too large to compute with "
            f"(they sum to {total:.3g})"
        )
    return w


def check_weighted_size(values: np.ndarray, weights: np.ndarray, name: str, column: str) -> None:
    """Raise ValueError if ``sum w |y|`` (missing ``y`` left out) exceeds :data:`LARGEST_TOTAL`.

    Past that the totals, or the sums of their squares in the variance,
    overflow to infinity.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        size = float(np.fmax(np.abs(values), 0.0) @ weights)
    if not size <= LARGEST_TOTAL:
        raise ValueError(
            f"{name}: column '{column}' has values too large to compute with "
            f"(their weighted sum is {size:.3g})"
        )


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
