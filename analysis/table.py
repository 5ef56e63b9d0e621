"""Two-way tables with design-based proportions, and the Rao–Scott test (R ``svychisq``).

:func:`table` crosses two categorical columns and gives, for every cell,

* the number of rows and the weighted count (R ``svytable(~a + b, design)``);
* the proportion of the whole table with its standard error (R
  ``svymean(~interaction(a, b), design, na.rm=TRUE)``);
* the proportion within its row with its standard error (R
  ``svyby(~b, ~a, design, svymean, na.rm=TRUE)``);

and tests the association of the two with R's default for ``svychisq``: the
Pearson statistic with Rao and Scott's second-order correction, referred to
an F distribution (Rao and Scott 1984; Thomas and Rao 1987):

.. math::

    F = \\frac{X^2}{\\operatorname{tr}\\Delta}, \\qquad
    d_0 = \\frac{(\\operatorname{tr}\\Delta)^2}{\\operatorname{tr}\\Delta^2}, \\qquad
    F \\sim F(d_0,\\; d_0 \\nu)

where :math:`X^2` is Pearson's statistic of the weighted table scaled to the
number of rows :math:`N`, :math:`\\Delta = (C' D^{-1} C / N)^{-1}
C' D^{-1} V D^{-1} C` the generalised design effects of the interaction
contrasts :math:`C` (the interaction columns of the saturated model,
residualised on the main effects), :math:`D` the diagonal of the cell
proportions, :math:`V` their design covariance, and :math:`\\nu` the design
degrees of freedom as ``svychisq`` counts them: PSUs minus strata over every
row of the design (for a replicate design, R's ``degf``).

Rows missing either value are left out, as ``na.rm=TRUE``: they are a domain
of the design, so every PSU and stratum still counts in the variance. The
categories are those of the rows of the design (a pandas categorical's
unused categories are dropped, as R's ``factor()`` drops unused levels); a
category with no weight among the rows with both values is refused, naming
it, because its row (or column) of the table is empty and the test is not
defined (R returns NaN).

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
contingency tables with cell proportions estimated from survey data. Annals
of Statistics 12, 46-60.

Thomas, D. R. and Rao, J. N. K. (1987). Small-sample comparisons of level
and power for simple goodness-of-fit statistics under cluster sampling.
JASA 82, 630-636.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.design import SurveyDesign
from analysis.replicate import ReplicateDesign, replicate_covariance
from analysis.results import _html_table, _level_text, _number, _text_grid
from analysis.variance import taylor_covariance

__all__ = ["TwoWayTable", "table"]

#: Keys of :meth:`TwoWayTable.to_records`, one record per cell.
CELL_COLUMNS = (
    "row",
    "col",
    "n",
    "total",
    "proportion",
    "proportion_se",
    "row_proportion",
    "row_proportion_se",
)


@dataclass(frozen=True, eq=False)
class TwoWayTable:
    """A weighted two-way table, its proportions, and the Rao–Scott test.

    Arrays are ``(R, C)``: rows of the table by its columns, in the order
    of :attr:`row_levels` and :attr:`col_levels`.

    Attributes
    ----------
    row, col : str
        The two variables (column names).
    row_levels, col_levels : tuple
        Their categories: sorted values, or a categorical's categories in
        their order.
    count : ndarray of int
        Rows in each cell (with both values).
    total : ndarray of float
        Weighted count of each cell (R ``svytable``).
    proportion, proportion_se : ndarray of float
        Share of the whole table and its standard error.
    row_proportion, row_proportion_se : ndarray of float
        Share of its row (the distribution of ``col`` within each category
        of ``row``) and its standard error.
    covariance : ndarray of float, shape (R*C, R*C)
        Design covariance of the cell proportions, cells in row-major order
        (row by row), as :meth:`to_records` lists them.
    statistic : float
        The Rao–Scott F statistic (R ``svychisq(...)$statistic``).
    ndf, ddf : float
        Its numerator and denominator degrees of freedom, ``d0`` and
        ``d0 * design_df`` (R ``$parameter``).
    p_value : float
        ``P(F(ndf, ddf) > statistic)`` (R ``$p.value``).
    pearson : float
        Pearson's statistic of the weighted table scaled to the rows of the
        design, before the correction.
    design_df : int
        The design degrees of freedom the test uses.
    n : int
        Rows with both values.
    """

    row: str
    col: str
    row_levels: tuple[Any, ...]
    col_levels: tuple[Any, ...]
    count: np.ndarray
    total: np.ndarray
    proportion: np.ndarray
    proportion_se: np.ndarray
    row_proportion: np.ndarray
    row_proportion_se: np.ndarray
    covariance: np.ndarray
    statistic: float
    ndf: float
    ddf: float
    p_value: float
    pearson: float
    design_df: int
    n: int

    # -------------------------------------------------------------- margins
    @property
    def row_margin(self) -> np.ndarray:
        """Share of each row category in the table, shape (R,)."""
        return self.proportion.sum(axis=1)

    @property
    def row_margin_se(self) -> np.ndarray:
        """Standard errors of :attr:`row_margin`."""
        n_cols = len(self.col_levels)
        sums = np.kron(np.eye(len(self.row_levels)), np.ones(n_cols))
        return _se_of_sums(sums, self.covariance)

    @property
    def col_margin(self) -> np.ndarray:
        """Share of each column category in the table, shape (C,)."""
        return self.proportion.sum(axis=0)

    @property
    def col_margin_se(self) -> np.ndarray:
        """Standard errors of :attr:`col_margin`."""
        n_rows = len(self.row_levels)
        sums = np.kron(np.ones(n_rows), np.eye(len(self.col_levels)))
        return _se_of_sums(sums, self.covariance)

    # --------------------------------------------------------------- output
    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per cell, row by row, with the keys of ``CELL_COLUMNS``."""
        out = []
        for i, r in enumerate(self.row_levels):
            for j, c in enumerate(self.col_levels):
                values = (
                    self.total[i, j],
                    self.proportion[i, j],
                    self.proportion_se[i, j],
                    self.row_proportion[i, j],
                    self.row_proportion_se[i, j],
                )
                out.append(
                    {
                        "row": _plain(r),
                        "col": _plain(c),
                        "n": int(self.count[i, j]),
                        **dict(zip(CELL_COLUMNS[3:], map(_finite, values), strict=True)),
                    }
                )
        return out

    def to_frame(self) -> pd.DataFrame:
        """The cells as a DataFrame: columns named after the two variables, then the numbers."""
        frame = pd.DataFrame(self.to_records(), columns=list(CELL_COLUMNS))
        return frame.rename(columns={"row": self.row, "col": self.col})

    def to_dict(self) -> dict[str, Any]:
        """The test and the cells as one JSON-ready dict (what the command line prints)."""
        return {
            "row": self.row,
            "col": self.col,
            "statistic": _finite(self.statistic),
            "ndf": _finite(self.ndf),
            "ddf": _finite(self.ddf),
            "p_value": _finite(self.p_value),
            "pearson": _finite(self.pearson),
            "design_df": self.design_df,
            "n": self.n,
            "cells": self.to_records(),
        }

    def test_text(self) -> str:
        """The test in one line, as R's ``svychisq`` reports it."""
        return (
            f"Rao-Scott F = {_number(self.statistic, 5)}, ndf = {_number(self.ndf, 5)}, "
            f"ddf = {_number(self.ddf, 5)}, p-value = {_number(self.p_value, 4)} "
            f"(Pearson X^2 = {_number(self.pearson, 5)}, design df {self.design_df})"
        )

    def __str__(self) -> str:
        parts = [
            f"Table of {self.row} (rows) by {self.col} (columns): {self.n} rows with both values",
            "",
            "Weighted counts",
            _text_grid(self._count_cells()),
            "",
            "Proportions of the table (SE)",
            _text_grid(self._share_cells(whole=True)),
            "",
            f"Proportions within each {self.row} (SE)",
            _text_grid(self._share_cells(whole=False)),
            "",
            self.test_text(),
        ]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        parts = [
            (
                self._share_cells(whole=True),
                f"{self.row} by {self.col}: proportions of the table (SE), {self.n} rows",
            ),
            (self._share_cells(whole=False), f"Proportions within each {self.row} (SE)"),
            (self._count_cells(), "Weighted counts"),
        ]
        tables = [_html_table(cells[0], cells[1:], caption=caption) for cells, caption in parts]
        return "".join([*tables, f"<p>{html.escape(self.test_text())}</p>"])

    def _count_cells(self) -> list[list[str]]:
        header = [self.row, *map(_level_text, self.col_levels), "Total"]
        rows = [
            [_level_text(r), *(_number(v) for v in self.total[i]), _number(self.total[i].sum())]
            for i, r in enumerate(self.row_levels)
        ]
        margin = self.total.sum(axis=0)
        rows.append(["Total", *(_number(v) for v in margin), _number(margin.sum())])
        return [header, *rows]

    def _share_cells(self, *, whole: bool) -> list[list[str]]:
        header = [self.row, *map(_level_text, self.col_levels)]
        if whole:
            header.append("Total")
            share, se = self.proportion, self.proportion_se
        else:
            share, se = self.row_proportion, self.row_proportion_se
        rows = []
        for i, r in enumerate(self.row_levels):
            cells = [_share(share[i, j], se[i, j]) for j in range(len(self.col_levels))]
            if whole:
                cells.append(_share(self.row_margin[i], self.row_margin_se[i]))
            rows.append([_level_text(r), *cells])
        margin = [_share(p, s) for p, s in zip(self.col_margin, self.col_margin_se, strict=True)]
        rows.append(["Total", *margin, *(["1.0000"] if whole else [])])
        return [header, *rows]


def _share(value: float, se: float) -> str:
    if not np.isfinite(value):
        return "NA"
    return f"{value:.4f} ({se:.4f})"


def _se_of_sums(sums: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(np.einsum("ik,kl,il->i", sums, covariance, sums), 0.0, None))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


# -------------------------------------------------------------------- table
def table(design: SurveyDesign | ReplicateDesign, row: Any, col: Any) -> TwoWayTable:
    """A weighted two-way table with the Rao–Scott test of association (R ``svychisq``).

    Parameters
    ----------
    design : SurveyDesign, CalibratedDesign or ReplicateDesign
    row, col : str or array_like
        Column names of ``design.data``, or one value per row (a Series
        gives its name). Any values: text, numbers, a pandas categorical
        (its categories in their order); missing values (NaN, None) leave
        the row out.

    Returns
    -------
    TwoWayTable

    Raises
    ------
    ValueError
        Naming ``row`` or ``col``: a missing column, values of the wrong
        length, a variable with fewer than two categories, a category with
        no weight among the rows with both values (an empty row or column
        of the table), no row with both values; or a table whose empty
        cells leave the test undefined.

    Notes
    -----
    The same numbers as R's::

        svytable(~row + col, design)
        svymean(~interaction(row, col), design, na.rm = TRUE)
        svyby(~col, ~row, design, svymean, na.rm = TRUE)
        svychisq(~row + col, design)          # statistic = "F", the default

    The cell proportions and their covariance come from the design as
    ``svymean``'s do: linearisation (with the calibration, for a calibrated
    design) or the replicate weights.

    Examples
    --------
    >>> t = table(design, "province", "satisfied")  # doctest: +SKIP
    >>> print(t)                                     # doctest: +SKIP
    >>> t.statistic, t.ndf, t.ddf, t.p_value         # doctest: +SKIP
    """
    if not isinstance(design, SurveyDesign | ReplicateDesign):
        raise TypeError(f"design: expected a SurveyDesign, got {type(design).__name__}")
    row_name, row_values = _column(design, row, "row")
    col_name, col_values = _column(design, col, "col")
    row_codes, row_levels = _categories(row_values)
    col_codes, col_levels = _categories(col_values)
    both = (row_codes >= 0) & (col_codes >= 0)
    if not both.any():
        raise ValueError(f"row: no row has values of both '{row_name}' and '{col_name}'")
    n_rows, n_cols = len(row_levels), len(col_levels)
    cell = np.where(both, row_codes * n_cols + col_codes, -1)
    k = n_rows * n_cols
    count = np.bincount(cell[both], minlength=k).reshape(n_rows, n_cols)
    total = np.bincount(cell[both], weights=design.weights[both], minlength=k)
    total = total.reshape(n_rows, n_cols)
    _check_categories(total.sum(axis=1), row_levels, "row", row_name, col_name)
    _check_categories(total.sum(axis=0), col_levels, "col", col_name, row_name)
    share = total.ravel() / total.sum()
    covariance = _cell_covariance(design, cell, both, share)
    within, within_se = _row_shares(design, row_codes, col_codes, both, n_rows, n_cols)
    design_df = _test_df(design)
    statistic, ndf, p_value, pearson = _rao_scott(
        share, covariance, n_rows, n_cols, design.n, design_df
    )
    return TwoWayTable(
        row=row_name,
        col=col_name,
        row_levels=row_levels,
        col_levels=col_levels,
        count=count,
        total=total,
        proportion=share.reshape(n_rows, n_cols),
        proportion_se=np.sqrt(np.clip(np.diag(covariance), 0.0, None)).reshape(n_rows, n_cols),
        row_proportion=within,
        row_proportion_se=within_se,
        covariance=covariance,
        statistic=statistic,
        ndf=ndf,
        ddf=ndf * design_df,
        p_value=p_value,
        pearson=pearson,
        design_df=design_df,
        n=int(both.sum()),
    )


def _column(design: SurveyDesign | ReplicateDesign, value: Any, arg: str) -> tuple[str, pd.Series]:
    """The variable's name and values (a Series of length n)."""
    if isinstance(value, str):
        if design.data is None:
            raise ValueError(
                f"{arg}: a column name needs a design built from a data frame; "
                "pass the values instead"
            )
        if value not in design.data.columns:
            raise ValueError(f"{arg}: column '{value}' is missing")
        return value, design.data[value].reset_index(drop=True)
    if isinstance(value, pd.Series):
        name = str(value.name) if value.name is not None else arg
        series = value.reset_index(drop=True)
    else:
        if np.ndim(value) != 1:
            raise ValueError(f"{arg}: expected a column name or one value per row")
        name, series = arg, pd.Series(value)
    if len(series) != design.n:
        raise ValueError(
            f"{arg}: expected a column name or one value per row of the design "
            f"({design.n}), got {len(series)} values"
        )
    return name, series


def _categories(values: pd.Series) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Codes 0..L-1 (-1 for missing) and the categories: sorted, or a categorical's order."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.intp)
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)))
        remap = np.full(len(values.cat.categories) + 1, -1, dtype=np.intp)
        remap[used] = np.arange(used.shape[0])
        codes = remap[codes]  # -1 indexes the last entry: stays -1
        levels = tuple(_plain(values.cat.categories[i]) for i in used)
        return codes, levels
    try:
        codes, levels = pd.factorize(values, sort=True)
    except TypeError:  # mixed types: sorted as text
        codes, levels = pd.factorize(values.where(values.isna(), values.astype(str)), sort=True)
    return codes.astype(np.intp), tuple(_plain(v) for v in levels)


def _check_categories(
    weights: np.ndarray, levels: tuple[Any, ...], arg: str, name: str, other: str
) -> None:
    empty = np.flatnonzero(weights <= 0)
    if empty.size:
        level = _level_text(levels[int(empty[0])])
        raise ValueError(
            f"{arg}: category '{level}' of column '{name}' has no weight in the rows with a "
            f"value of '{other}', so its {arg} of the table is empty; leave its rows out"
        )
    if len(levels) < 2:
        raise ValueError(
            f"{arg}: column '{name}' has a single category ('{_level_text(levels[0])}'); "
            "a two-way table needs at least two"
        )


def _cell_covariance(
    design: SurveyDesign | ReplicateDesign, cell: np.ndarray, both: np.ndarray, share: np.ndarray
) -> np.ndarray:
    """Covariance of the cell proportions (R ``vcov(svymean(~interaction(a, b)))``)."""
    rows = np.flatnonzero(both)
    indicator = np.zeros((design.n, share.shape[0]))
    indicator[rows, cell[rows]] = 1.0
    if isinstance(design, ReplicateDesign):
        inside = both.astype(float)

        def shares(w: np.ndarray) -> np.ndarray:
            return (w.T @ indicator) / (w.T @ inside)[:, None]

        return replicate_covariance(design, shares)[1]
    z = indicator  # the estimating functions (1{cell} - p) / W on the rows with both values
    np.subtract(z, share, out=z, where=both[:, None])
    z /= design.weights[rows].sum()
    if hasattr(design, "adjust_scores") and hasattr(design, "uncalibrated_view"):
        # a calibrated design: R keeps every row in the domain, so every stratum
        return taylor_covariance(design.uncalibrated_view(), design.adjust_scores(z))
    return taylor_covariance(design, z, domain=both)


def _row_shares(
    design: SurveyDesign | ReplicateDesign,
    row_codes: np.ndarray,
    col_codes: np.ndarray,
    both: np.ndarray,
    n_rows: int,
    n_cols: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Proportions within rows and their SEs: ``col``'s levels in the domains of ``row``."""
    from analysis.estimators import proportion

    y = pd.Series(pd.Categorical.from_codes(np.where(both, col_codes, -1), range(n_cols)))
    by = pd.Series(np.where(row_codes >= 0, row_codes, np.nan), name="row")
    result = proportion(design, y, by=by, levels=list(range(n_cols)))
    estimates = list(result)  # type: ignore[arg-type]
    if len(estimates) != n_rows * n_cols:
        raise ValueError("row: a category of the table has no weight")  # checked before
    share = np.array([e.estimate for e in estimates]).reshape(n_rows, n_cols)
    se = np.array([e.se for e in estimates]).reshape(n_rows, n_cols)
    return share, se


def _test_df(design: SurveyDesign | ReplicateDesign) -> int:
    """``svychisq``'s degrees of freedom: PSUs minus strata over all rows, or R's ``degf``."""
    if isinstance(design, ReplicateDesign):
        return int(design.df)
    return design.n_psu - design.n_strata


def _rao_scott(
    share: np.ndarray,
    covariance: np.ndarray,
    n_rows: int,
    n_cols: int,
    n: int,
    design_df: int,
) -> tuple[float, float, float, float]:
    """Rao–Scott second-order F: statistic, ndf, p-value, and Pearson's X^2.

    As R's ``svychisq(statistic="F")``: the interaction contrasts ``C`` are
    the interaction columns of the saturated model on the cells, residualised
    on the main effects; the generalised design effects are the eigenvalues
    of ``Delta = (C' D^-1 C / N)^-1 C' D^-1 V D^-1 C``.
    """
    from scipy import special

    grid_row = np.repeat(np.arange(n_rows), n_cols)
    grid_col = np.tile(np.arange(n_cols), n_rows)
    main = np.column_stack(
        [
            np.ones(n_rows * n_cols),
            *((grid_row == i).astype(float) for i in range(1, n_rows)),
            *((grid_col == j).astype(float) for j in range(1, n_cols)),
        ]
    )
    interaction = np.column_stack(
        [
            ((grid_row == i) & (grid_col == j)).astype(float)
            for j in range(1, n_cols)
            for i in range(1, n_rows)
        ]
    )
    q, _ = np.linalg.qr(main)
    contrasts = interaction - q @ (q.T @ interaction)
    inverse = np.where(share == 0, 0.0, 1.0 / np.where(share == 0, 1.0, share))
    scaled = contrasts * inverse[:, None]  # D^-1 C
    denominator = contrasts.T @ scaled / n
    numerator = scaled.T @ covariance @ scaled
    try:
        delta = np.linalg.solve(denominator, numerator)
    except np.linalg.LinAlgError:
        raise ValueError("the table has too many empty cells for the Rao-Scott test") from None
    trace = float(np.trace(delta))
    ndf = trace**2 / float(np.trace(delta @ delta))
    table_ = share.reshape(n_rows, n_cols)
    expected = np.outer(table_.sum(axis=1), table_.sum(axis=0))
    pearson = float(n * ((table_ - expected) ** 2 / expected).sum())
    statistic = pearson / trace
    with np.errstate(invalid="ignore", divide="ignore"):
        p_value = float(special.fdtrc(ndf, ndf * design_df, statistic))
    return statistic, ndf, p_value, pearson
