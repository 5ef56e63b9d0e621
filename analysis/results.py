"""Result objects: one estimate, and a table of estimates.

Both are frozen dataclasses. An :class:`Estimate` carries what is needed to
compute any of the intervals of :mod:`analysis.intervals` at any level; an
:class:`EstimateTable` is a sequence of them (one per variable, level and
domain) that can also give the covariance matrix of its estimates (as R's
``svyby(..., covmat=TRUE)``) for contrasts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import pandas as pd

from analysis.intervals import ConfidenceInterval, confidence_interval

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
        row = {
            "variable": self.variable,
            "domain": dict(self.domain) if self.domain is not None else None,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": ci.low,
            "ci_high": ci.high,
            "df": self.df,
            "deff": self.deff,
            "n": self.n,
        }
        return {k: _clean(v) for k, v in row.items()}


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
        """The table as a list of JSON-ready dicts (see :meth:`Estimate.to_dict`)."""
        return [e.to_dict(level, method) for e in self.estimates]

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
        from analysis.variance import taylor_covariance

        lin = self._linear
        z = lin.z[:, lin.column]
        inside = (lin.domain[None, :] < 0) | (lin.codes[:, None] == lin.domain[None, :])
        z = np.where(inside, z, 0.0)
        design = lin.design
        if hasattr(design, "adjust_scores") and hasattr(design, "uncalibrated_view"):
            return taylor_covariance(design.uncalibrated_view(), design.adjust_scores(z))
        return taylor_covariance(design, z)


def as_table(result: Estimate | EstimateTable) -> EstimateTable:
    """Wrap a single :class:`Estimate` in a table; return a table as it is."""
    if isinstance(result, EstimateTable):
        return result
    return EstimateTable((result,))


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
