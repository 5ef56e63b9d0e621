"""Result objects: one estimate, and a table of estimates.

Both are frozen dataclasses. An :class:`Estimate` carries what is needed to
compute any of the intervals of :mod:`analysis.intervals` at any level; an
:class:`EstimateTable` is a sequence of them (one per variable, level and
domain) that can also give the covariance matrix of its estimates (as R's
``svyby(..., covmat=TRUE)``) for contrasts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import pandas as pd

from analysis.intervals import ConfidenceInterval, confidence_interval, wald_intervals

__all__ = ["Estimate", "EstimateTable", "as_table"]

#: Columns of :meth:`Estimate.to_dict` and :meth:`EstimateTable.to_frame`.
COLUMNS = ("variable", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n")


@dataclass(frozen=True)
class Estimate:
    """One design-based estimate with its standard error.

    Attributes
    ----------
    variable : str
        What was estimated: a column name, ``"COLUMN=LEVEL"`` for a level of
        a categorical, ``"NUM/DEN"`` for a ratio.
    domain : dict or None
        The domain as ``{column: value}``, or ``None`` for the whole
        population.
    estimate : float
        The point estimate.
    se : float
        Its Taylor-linearisation standard error.
    df : int
        Design degrees of freedom: PSUs minus strata of the design restricted
        to the domain (R ``degf`` of the ``svyby`` subset).
    deff : float or None
        Design effect, R's ``deff=TRUE``: the variance over the
        without-replacement SRS variance. ``None`` where not defined.
    n : int
        Number of rows that entered the estimate (answered, in the domain).
    statistic : str
        ``"mean"``, ``"total"``, ``"proportion"`` or ``"ratio"`` (or another
        name given by the module that made it).
    n_domain : int
        Number of rows of the domain, answered or not (R's ``nrow`` of the
        ``svyby`` subset), used by the ``beta`` interval. Defaults to ``n``.
    """

    variable: str
    domain: Mapping[str, Any] | None
    estimate: float
    se: float
    df: int
    deff: float | None
    n: int
    statistic: str = "mean"
    n_domain: int | None = None

    @property
    def var(self) -> float:
        """The variance, ``se ** 2``."""
        return self.se**2

    @property
    def cv(self) -> float:
        """Coefficient of variation, ``se / estimate``."""
        return self.se / self.estimate if self.estimate != 0 else float("nan")

    def ci(self, level: float = 0.95, method: str = "wald") -> ConfidenceInterval:
        """Confidence interval.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level.
        method : {"wald", "wald-t", "logit", "beta"}, default "wald"
            ``wald``: normal quantile (R ``confint``); ``wald-t``: Student's
            t on :attr:`df`; ``logit`` and ``beta``: R ``svyciprop`` methods,
            for proportions.

        Returns
        -------
        ConfidenceInterval
        """
        return confidence_interval(
            self.estimate,
            self.se,
            level=level,
            method=method,
            df=self.df,
            n=self.n_domain if self.n_domain is not None else self.n,
        )

    def to_dict(self, level: float = 0.95, method: str = "wald") -> dict[str, Any]:
        """The estimate as a JSON-ready dict with the keys of ``COLUMNS``.

        NaN values become ``None``.
        """
        ci = self.ci(level, method)
        return self._record(ci.low, ci.high)

    def _record(self, low: float, high: float) -> dict[str, Any]:
        """:meth:`to_dict` with the interval ``low``, ``high``."""
        return {
            "variable": self.variable,
            "domain": dict(self.domain) if self.domain is not None else None,
            "estimate": _clean(self.estimate),
            "se": _clean(self.se),
            "ci_low": _clean(low),
            "ci_high": _clean(high),
            "df": _clean(self.df),
            "deff": _clean(self.deff),
            "n": _clean(self.n),
        }

    def __str__(self) -> str:
        """The estimate as a one-row table, with its 95% Wald interval."""
        return _estimates_text((self,))

    def _repr_html_(self) -> str:
        return _estimates_html((self,))


@dataclass(frozen=True)
class _Linearization:
    """Estimating functions behind a table, for its covariance matrix."""

    design: Any
    z: np.ndarray  # (n, L): one column per variable/level
    codes: np.ndarray  # (n,): domain code of each row, -1 outside every domain
    column: np.ndarray  # (m,): column of z for each estimate
    domain: np.ndarray  # (m,): domain code for each estimate, -1 for no domain


@dataclass(frozen=True)
class EstimateTable(Sequence[Estimate]):
    """A sequence of estimates (variables x levels x domains).

    Attributes
    ----------
    estimates : tuple of Estimate
    """

    estimates: tuple[Estimate, ...]
    _linear: _Linearization | None = field(default=None, repr=False, compare=False)

    @overload
    def __getitem__(self, index: int) -> Estimate: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Estimate, ...]: ...

    def __getitem__(self, index):
        return self.estimates[index]

    def __len__(self) -> int:
        return len(self.estimates)

    def __iter__(self) -> Iterator[Estimate]:
        return iter(self.estimates)

    def find(self, variable: str | None = None, **domain: Any) -> Estimate:
        """The estimate for ``variable`` (if given) in the domain ``column=value, ...``.

        Raises
        ------
        KeyError
            If no estimate or more than one matches.
        """
        found = [
            e
            for e in self.estimates
            if (variable is None or e.variable == variable)
            and all((e.domain or {}).get(k) == v for k, v in domain.items())
        ]
        if len(found) != 1:
            raise KeyError(f"{len(found)} estimates match variable={variable!r}, {domain}")
        return found[0]

    def to_frame(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """The table as a DataFrame, one row per estimate.

        The domain columns come first (one column per ``by`` column), then
        ``variable, estimate, se, ci_low, ci_high, df, deff, n``.
        """
        rows = []
        for e in self.estimates:
            d = e.to_dict(level, method)
            dom = d.pop("domain") or {}
            rows.append({**dom, **d})
        frame = pd.DataFrame(rows)
        if frame.empty:
            return pd.DataFrame(columns=[c for c in COLUMNS if c != "domain"])
        return frame

    def to_records(self, level: float = 0.95, method: str = "wald") -> list[dict[str, Any]]:
        """The table as a list of JSON-ready dicts (see :meth:`Estimate.to_dict`).

        Wald intervals are computed for the whole table at once (a table by
        desk has a hundred thousand rows), with the same numbers.
        """
        if method not in ("wald", "wald-t") or not self.estimates:
            return [e.to_dict(level, method) for e in self.estimates]
        lows, highs = wald_intervals(
            np.array([e.estimate for e in self.estimates], dtype=float),
            np.array([e.se for e in self.estimates], dtype=float),
            level,
            [e.df for e in self.estimates] if method == "wald-t" else None,
        )
        return [
            e._record(low, high)
            for e, low, high in zip(self.estimates, lows.tolist(), highs.tolist(), strict=True)
        ]

    def __str__(self) -> str:
        """The estimates as a text table, one row each, with 95% Wald intervals."""
        return _estimates_text(self.estimates)

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        return _estimates_html(self.estimates)

    def vcov(self) -> np.ndarray:
        """Covariance matrix of the estimates (R ``vcov(svyby(..., covmat=TRUE))``).

        Computed from the estimating functions on the full design, so the
        covariances between domains and between levels are included.

        Returns
        -------
        ndarray, shape (m, m)

        Raises
        ------
        ValueError
            If the table was not made by an estimator of this package.
        """
        if self._linear is None:
            raise ValueError("this table carries no estimating functions")
        lin = self._linear
        z = lin.z[:, lin.column]
        inside = (lin.domain[None, :] < 0) | (lin.codes[:, None] == lin.domain[None, :])
        return _design_covariance(lin.design, np.where(inside, z, 0.0))

    def combination_vcov(self, coefficients: Any) -> np.ndarray:
        """Covariance ``C V C'`` of linear combinations ``C theta`` of the estimates.

        The same numbers as ``C @ self.vcov() @ C.T`` (and as the covariance of
        :func:`analysis.contrast.contrast`), computed from the estimating
        functions of the combinations, without forming ``V``: the time and
        memory grow with the rows times the combinations, not with the
        square of the estimates, so a table of every desk of a national wave
        can be combined (for instance into the unweighted mean of its desks).

        Parameters
        ----------
        coefficients : array_like, shape (m,) or (r, m)
            One row of coefficients per combination, one per estimate.

        Returns
        -------
        ndarray, shape (r, r)

        Raises
        ------
        ValueError
            If the table was not made by an estimator of this package, or the
            coefficients do not have one column per estimate.
        """
        if self._linear is None:
            raise ValueError("this table carries no estimating functions")
        c = np.atleast_2d(np.asarray(coefficients, dtype=float))
        if c.ndim != 2 or c.shape[1] != len(self):
            raise ValueError(f"coefficients: expected {len(self)} columns, got shape {c.shape}")
        lin = self._linear
        used = np.flatnonzero(np.any(c != 0.0, axis=0))
        n_domains = int(max(lin.codes.max(initial=-1), lin.domain.max(initial=-1))) + 1
        z = np.zeros((lin.z.shape[0], c.shape[0]))
        for column in np.unique(lin.column[used]):
            estimates = used[lin.column[used] == column]
            # the coefficient of each domain's estimate; the last row (code -1) stays 0
            per_domain = np.zeros((n_domains + 1, c.shape[0]))
            inside = estimates[lin.domain[estimates] >= 0]
            np.add.at(per_domain, lin.domain[inside], c[:, inside].T)
            everywhere = c[:, estimates[lin.domain[estimates] < 0]].sum(axis=1)
            z += lin.z[:, [column]] * (per_domain[lin.codes] + everywhere[None, :])
        return _design_covariance(lin.design, z)


def _design_covariance(design: Any, z: np.ndarray) -> np.ndarray:
    """Taylor covariance of the totals of ``z`` on ``design``, calibrated where it is."""
    from analysis.variance import taylor_covariance

    if hasattr(design, "adjust_scores") and hasattr(design, "uncalibrated_view"):
        return taylor_covariance(design.uncalibrated_view(), design.adjust_scores(z))
    return taylor_covariance(design, z)


def as_table(result: Estimate | EstimateTable) -> EstimateTable:
    """Wrap a single :class:`Estimate` in a table; return a table as it is."""
    if isinstance(result, EstimateTable):
        return result
    return EstimateTable((result,))


def _clean(value: Any) -> Any:
    """A JSON-ready value: a NumPy scalar as Python's, a NaN or infinite float as None."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if value is None or type(value) is int:
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


# ------------------------------------------------------------------ printing
#: Longest table printed in full; longer ones show their first and last rows.
_MAX_PRINTED = 40
_HEAD, _TAIL = 20, 10


def _estimates_text(estimates: Sequence[Estimate]) -> str:
    return _rows_text(*_estimate_rows(estimates))


def _estimates_html(estimates: Sequence[Estimate]) -> str:
    return _rows_html(*_estimate_rows(estimates))


def _rows_text(title: str, header: list[str], rows: list[list[str]], left: int) -> str:
    """A title and an aligned table; a long one shows its first and last rows."""
    shown, skipped = _shown_rows(rows)
    lines = _text_grid([header, *shown], left=left).splitlines()
    if skipped:
        lines.insert(1 + _HEAD, f"... {skipped} more rows ...")
    return "\n".join([title, *lines])


def _rows_html(title: str, header: list[str], rows: list[list[str]], left: int) -> str:
    """The same as :func:`_rows_text`, as an HTML table captioned by the title."""
    shown, skipped = _shown_rows(rows)
    if skipped:
        gap = [f"... {skipped} more rows ..."] + [""] * (len(header) - 1)
        shown = [*shown[:_HEAD], gap, *shown[_HEAD:]]
    return _html_table(header, shown, caption=title, left=left)


def _estimate_rows(
    estimates: Sequence[Estimate],
) -> tuple[str, list[str], list[list[str]], int]:
    """Title, header, text cells and label columns of estimates.

    The domain columns and the variable, then the numbers; ``deff`` only
    where an estimate has one (a variance, a SIPAS index have none).
    """
    statistics = ", ".join(dict.fromkeys(e.statistic for e in estimates)) or "estimates"
    title = f"{statistics} (95% interval: estimate ± 1.96 SE, as R's confint)"
    by = _domain_columns(estimates)
    deff = any(e.deff is not None for e in estimates)
    header = [*by, "variable", "estimate", "SE", "ci_low", "ci_high", "df"]
    header += ["deff", "n"] if deff else ["n"]
    rows = []
    for e in estimates:
        ci = e.ci()
        rows.append(
            [
                *_domain_cells(e.domain, by),
                e.variable,
                _number(e.estimate),
                _number(e.se),
                _number(ci.low),
                _number(ci.high),
                str(e.df),
                *(["NA" if e.deff is None else _number(e.deff, 3)] if deff else []),
                str(e.n),
            ]
        )
    return title, header, rows, len(by) + 1


def _domain_columns(estimates: Sequence[Any]) -> list[str]:
    """The domain columns of estimates with a ``domain`` (``{column: value}`` or None)."""
    return list(dict.fromkeys(k for e in estimates for k in (e.domain or {})))


def _domain_cells(domain: Mapping[str, Any] | None, by: Sequence[str]) -> list[str]:
    """An estimate's value of each domain column, empty where it has none."""
    domain = domain or {}
    return [_level_text(domain[k]) if k in domain else "" for k in by]


def _shown_rows(rows: list[list[str]]) -> tuple[list[list[str]], int]:
    """The rows to print, and how many are left out of the middle."""
    if len(rows) <= _MAX_PRINTED:
        return rows, 0
    return [*rows[:_HEAD], *rows[-_TAIL:]], len(rows) - _HEAD - _TAIL


def _number(value: Any, digits: int = 6) -> str:
    """A number with ``digits`` significant digits (large ones whole); NA where missing."""
    if value is None:
        return "NA"
    value = float(value)
    if math.isnan(value):
        return "NA"
    if 10**digits <= abs(value) < 1e15:
        return f"{value:.0f}"  # a total: 3687178, not 3.68718e+06
    return f"{value:.{digits}g}"


def _level_text(value: Any) -> str:
    """A category as text: ``1.0`` as ``1``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _text_grid(rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Cells as aligned text: the first ``left`` columns left-aligned, the others right."""
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if j < left else cell.rjust(width)
            for j, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    caption: str | None = None,
    left: int = 1,
) -> str:
    """Cells as an HTML table for notebooks: escaped, no style attribute (notebooks align).

    The first ``left`` columns (labels) are header cells of their row.
    """

    def cell(tag: str, text: str) -> str:
        return f"<{tag}>{html.escape(text)}</{tag}>"

    parts = ["<table>"]
    if caption:
        parts.append(cell("caption", caption))
    parts.append("<thead><tr>" + "".join(cell("th", h) for h in header) + "</tr></thead><tbody>")
    for row in rows:
        cells = [cell("th" if j < left else "td", c) for j, c in enumerate(row)]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)
