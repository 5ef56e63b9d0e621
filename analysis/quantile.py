"""Quantiles with Woodruff confidence intervals, as R's ``svyquantile``.

This is ``svyquantile`` of survey 4.1 (the rewrite of version 4.1; the
older function is ``oldsvyquantile`` there) with its defaults::

    svyquantile(~y, design, quantiles, alpha = 0.05, interval.type = "mean",
                qrule = "math", na.rm = TRUE, ci = TRUE)

For a probability ``p``:

1. The estimate is R's ``qrule_math``, the inverse of the weighted
   distribution function: the rows sorted by ``y`` (rows with weight zero
   left out), the value whose cumulative share of the weight is ``p``
   exactly, or else the first whose share passes ``p``. (As R, when the
   first share already passes ``p``, the second value is taken.)
   ``qrule="school"`` is the other rule offered: the same, but the mid-point
   of two values when a share is ``p`` exactly.
2. Woodruff's interval: the design-based mean of the indicator
   ``y <= estimate`` and its standard error (R's ``svymean``, so the
   variance keeps every PSU and stratum of the design), an interval for that
   proportion -- by default ``mean`` +- t on the design degrees of freedom
   -- and the quantile rule applied to its two ends. An end below 0 or above
   1 gives no bound (NaN), as in R.
3. The standard error is derived from the interval's width:
   ``(high - low) / (2 t_{1 - alpha/2, df})``, as R reports it.

The degrees of freedom are R's ``degf`` of the design restricted to the
rows with an answer (in the domain): PSUs minus strata among them.
Domains (``by=``) are R's ``svyby(..., svyquantile)``: each domain is a
subset of the full design.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd

from analysis._validate import option
from analysis.design import SurveyDesign
from analysis.estimators import (
    ByArg,
    _Context,
    _domain_df,
    _is_calibrated,
    _values,
    _variable,
)
from analysis.intervals import (
    ConfidenceInterval,
    _check_level,
    _t_quantile,
    beta_interval,
    wald_interval,
)
from analysis.results import (
    _clean,
    _domain_cells,
    _domain_columns,
    _number,
    _rows_html,
    _rows_text,
)

__all__ = [
    "INTERVAL_TYPES",
    "QRULES",
    "QUANTILE_COLUMNS",
    "QuantileEstimate",
    "QuantileTable",
    "quantile",
]

#: Interval types of R's ``svyquantile`` offered here (``"score"`` is not).
INTERVAL_TYPES = ("mean", "beta", "xlogit", "asin")
#: Quantile rules offered (R's ``qrule=``).
QRULES = ("math", "school")
#: Keys of :meth:`QuantileEstimate.to_dict`, columns of the command line's CSV.
QUANTILE_COLUMNS = (
    "variable",
    "domain",
    "quantile",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "n",
)


@dataclass(frozen=True)
class QuantileEstimate:
    """One estimated quantile with its Woodruff interval.

    Attributes
    ----------
    variable : str
        The column.
    domain : dict or None
        The domain as ``{column: value}``, or ``None`` for the population.
    quantile : float
        The probability, e.g. 0.5 for the median.
    estimate : float
        The estimated quantile.
    se : float
        R's standard error: the interval's width over ``2 t_{1-alpha/2, df}``.
    ci_low, ci_high : float
        Woodruff's interval at :attr:`level` (NaN where an end of the
        proportion's interval falls outside [0, 1]).
    df : int
        Degrees of freedom: PSUs minus strata among the rows used.
    n : int
        Rows with an answer in the domain.
    level : float
        Confidence level of the interval.
    interval_type : str
        How the interval of the proportion was made (R ``interval.type``).
    """

    variable: str
    domain: Mapping[str, Any] | None
    quantile: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    n: int
    level: float = 0.95
    interval_type: str = "mean"

    @property
    def statistic(self) -> str:
        """``"quantile"``, as :attr:`analysis.Estimate.statistic` names a statistic."""
        return "quantile"

    def ci(self, level: float | None = None) -> ConfidenceInterval:
        """Woodruff's interval.

        Parameters
        ----------
        level : float, optional
            Must be the level it was computed at (give ``level=`` to
            :func:`quantile` for another one).
        """
        self._check(level)
        return ConfidenceInterval(self.ci_low, self.ci_high, self.level, "woodruff")

    def to_dict(self, level: float | None = None, method: str | None = None) -> dict[str, Any]:
        """The estimate as a JSON-ready dict with the keys of ``QUANTILE_COLUMNS``.

        ``method`` is accepted for the signature of :meth:`analysis.Estimate.to_dict`
        and not used: the interval is Woodruff's. NaN values become ``None``.
        """
        self._check(level)
        row = {
            "variable": self.variable,
            "domain": dict(self.domain) if self.domain is not None else None,
            "quantile": self.quantile,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "df": self.df,
            "n": self.n,
        }
        return {k: _clean(v) for k, v in row.items()}

    def __str__(self) -> str:
        """The estimate as a one-row table with its Woodruff interval."""
        return _rows_text(*_quantile_rows((self,)))

    def _repr_html_(self) -> str:
        return _rows_html(*_quantile_rows((self,)))

    def _check(self, level: float | None) -> None:
        if level is not None and not np.isclose(level, self.level, rtol=0, atol=1e-12):
            raise ValueError(
                f"level: the interval was computed at {self.level}; "
                f"call quantile(..., level={level}) for another level"
            )


@dataclass(frozen=True)
class QuantileTable(Sequence[QuantileEstimate]):
    """Quantiles of a variable (probabilities within domains).

    Attributes
    ----------
    estimates : tuple of QuantileEstimate
    """

    estimates: tuple[QuantileEstimate, ...]

    @overload
    def __getitem__(self, index: int) -> QuantileEstimate: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[QuantileEstimate, ...]: ...

    def __getitem__(self, index):
        return self.estimates[index]

    def __len__(self) -> int:
        return len(self.estimates)

    def __iter__(self) -> Iterator[QuantileEstimate]:
        return iter(self.estimates)

    def find(self, quantile: float | None = None, **domain: Any) -> QuantileEstimate:
        """The estimate of probability ``quantile`` (if given) in the domain ``column=value``.

        Raises
        ------
        KeyError
            If no estimate or more than one matches.
        """
        found = [
            e
            for e in self.estimates
            if (quantile is None or np.isclose(e.quantile, quantile, rtol=0, atol=1e-12))
            and all((e.domain or {}).get(k) == v for k, v in domain.items())
        ]
        if len(found) != 1:
            raise KeyError(f"{len(found)} estimates match quantile={quantile!r}, {domain}")
        return found[0]

    def to_records(
        self, level: float | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """The table as a list of JSON-ready dicts (see :meth:`QuantileEstimate.to_dict`)."""
        return [e.to_dict(level, method) for e in self.estimates]

    def to_frame(self) -> pd.DataFrame:
        """One row per estimate: the domain columns, then the keys of ``QUANTILE_COLUMNS``."""
        rows = []
        for e in self.estimates:
            d = e.to_dict()
            dom = d.pop("domain") or {}
            rows.append({**dom, **d})
        if not rows:
            return pd.DataFrame(columns=[c for c in QUANTILE_COLUMNS if c != "domain"])
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        """The quantiles as a text table, one row each, with their Woodruff intervals."""
        return _rows_text(*_quantile_rows(self.estimates))

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        return _rows_html(*_quantile_rows(self.estimates))


def _quantile_rows(
    estimates: Sequence[QuantileEstimate],
) -> tuple[str, list[str], list[list[str]], int]:
    """Title, header, text cells and label columns of quantiles (see ``analysis.results``)."""
    level = estimates[0].level if estimates else 0.95
    kinds = ", ".join(dict.fromkeys(e.interval_type for e in estimates))
    kind = f", interval.type {kinds}" if kinds not in ("", "mean") else ""
    title = (
        f"quantiles ({level * 100:g}% Woodruff interval{kind}; SE from its width; R's svyquantile)"
    )
    by = _domain_columns(estimates)
    header = [*by, "variable", "quantile", "estimate", "SE", "ci_low", "ci_high", "df", "n"]
    rows = [
        [
            *_domain_cells(e.domain, by),
            e.variable,
            f"{e.quantile:g}",
            _number(e.estimate),
            _number(e.se),
            _number(e.ci_low),
            _number(e.ci_high),
            str(e.df),
            str(e.n),
        ]
        for e in estimates
    ]
    return title, header, rows, len(by) + 1


def quantile(
    design: SurveyDesign,
    y: Any,
    probs: float | Sequence[float] = 0.5,
    *,
    by: ByArg = None,
    level: float = 0.95,
    interval_type: str = "mean",
    qrule: str = "math",
    na_rm: bool = True,
    name: str | None = None,
) -> QuantileEstimate | QuantileTable:
    """Quantiles with Woodruff intervals (R ``svyquantile``, survey >= 4.1).

    Parameters
    ----------
    design : SurveyDesign
        A Taylor design (replicate designs are not supported).
    y : str or array_like
        Column name of ``design.data`` or one numeric value per row; NaN is
        missing.
    probs : float or sequence of float, default 0.5
        Probabilities, each strictly between 0 and 1.
    by : optional
        Domains (see :func:`analysis.domains`), as ``svyby``.
    level : float, default 0.95
        Confidence level (R ``alpha = 1 - level``).
    interval_type : {"mean", "beta", "xlogit", "asin"}, default "mean"
        The interval of the proportion below the estimate (R
        ``interval.type``): Wald with t on the degrees of freedom, Korn and
        Graubard's beta, Wald on the logit or on the arcsine-square-root
        scale.
    qrule : {"math", "school"}, default "math"
        The quantile rule (R ``qrule``).
    na_rm : bool, default True
        Use the rows with an answer (R ``na.rm=TRUE``). With False, a domain
        with a missing value gets NaN.
    name : str, optional
        Variable name for the result.

    Returns
    -------
    QuantileEstimate or QuantileTable
        One estimate for a single probability without ``by``; otherwise a
        table, probabilities within domains.

    Raises
    ------
    ValueError
        ``probs: ...`` for a probability outside (0, 1) or none; the
        messages of the other estimators for the variable and domains.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import SurveyDesign, quantile
    >>> df = pd.DataFrame({"w": [1.0, 1, 1, 1, 1], "y": [1.0, 2, 3, 4, 5]})
    >>> quantile(SurveyDesign.from_frame(df, weights="w"), "y").estimate
    3.0
    """
    if not isinstance(design, SurveyDesign):
        raise ValueError(
            f"design: quantile needs a SurveyDesign (Taylor linearisation), "
            f"got {type(design).__name__}"
        )
    level = _check_level(level)
    option(interval_type, "interval_type", INTERVAL_TYPES)
    option(qrule, "qrule", QRULES)
    ps = _probabilities(probs)
    series, label = _values(design, y, name, "y")
    values = _variable(design, series, label, "y")
    ctx = _Context.build(design, by, ~np.isnan(values))
    n_dom = ctx.dom.count
    # R's svyquantile takes degf of the domain's rows with an answer
    df = _domain_df(design, ctx.codes, n_dom)
    rows = _domain_rows(ctx)
    wsum = ctx.sums(np.ones(design.n))
    nrow = np.full(n_dom, design.n) if _is_calibrated(design) else ctx.n_answered
    rule = _RULES[qrule]
    sorted_rows = [_Sorted.of(values[r], design.weights[r]) for r in rows]
    x0 = np.where(ctx.codes >= 0, values, 0.0)

    out = []
    for p in ps:
        qhat = np.array([rule(s, p) for s in sorted_rows])
        below = np.where(ctx.codes >= 0, x0 <= ctx.per_row(qhat), False).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = ctx.sums(below) / wsum
            z = np.where(ctx.codes >= 0, below - ctx.per_row(share), 0.0)
            z = z / ctx.per_row(np.where(wsum > 0, wsum, 1.0), fill=1.0)
        share_se = np.sqrt(np.clip(ctx.variance.variances(z), 0.0, None))
        for d in range(n_dom):
            low, high = _share_interval(
                interval_type, share[d], share_se[d], level, int(df[d]), int(nrow[d])
            )
            ci_low = rule(sorted_rows[d], low) if low >= 0.0 else np.nan
            ci_high = rule(sorted_rows[d], high) if high <= 1.0 else np.nan
            crit = _t_quantile(1.0 - (1.0 - level) / 2.0, float(df[d]))
            est = qhat[d]
            if ctx.n_answered[d] == 0 or (not na_rm and ctx.any_missing[d]):
                est = ci_low = ci_high = np.nan
            out.append(
                QuantileEstimate(
                    variable=label,
                    domain=ctx.dom.labels[d],
                    quantile=p,
                    estimate=float(est),
                    se=float((ci_high - ci_low) / (2.0 * crit)),
                    ci_low=float(ci_low),
                    ci_high=float(ci_high),
                    df=int(df[d]),
                    n=int(ctx.n_answered[d]),
                    level=level,
                    interval_type=interval_type,
                )
            )
    order = sorted(range(len(out)), key=lambda i: (i % n_dom, i // n_dom))
    table = QuantileTable(tuple(out[i] for i in order))
    if by is None and len(ps) == 1:
        return table[0]
    return table


def _probabilities(probs: float | Sequence[float]) -> list[float]:
    values = [probs] if np.isscalar(probs) else list(probs)  # type: ignore[arg-type]
    if not values:
        raise ValueError("probs: no probability given")
    out = []
    for p in values:
        try:
            p = float(p)
        except (TypeError, ValueError):
            raise ValueError(f"probs: {p!r} is not a number") from None
        if not 0.0 < p < 1.0:
            raise ValueError(f"probs: each must be between 0 and 1 (exclusive), got {p:g}")
        out.append(p)
    return out


def _domain_rows(ctx: _Context) -> list[np.ndarray]:
    """Indices of the answered rows with non-zero weight of each domain (R's qrule drops zeros)."""
    usable = (ctx.codes >= 0) & (ctx.design.weights != 0)
    idx = np.flatnonzero(usable)
    codes = ctx.codes[idx]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(ctx.dom.count + 1))
    return [idx[order[bounds[d] : bounds[d + 1]]] for d in range(ctx.dom.count)]


def _share_interval(
    kind: str, share: float, se: float, level: float, df: int, nrow: int
) -> tuple[float, float]:
    """R's ``woodruffCI``: the interval of the proportion below the estimate."""
    if not (np.isfinite(share) and np.isfinite(se)):
        return np.nan, np.nan
    crit_df = float(df)
    if kind == "mean":
        return wald_interval(share, se, level, crit_df)
    if kind == "beta":
        return beta_interval(share, se, level, n=nrow, df=crit_df)
    if not 0.0 < share < 1.0:
        return np.nan, np.nan  # R: an infinite transform and a NaN standard error
    q = _t_quantile(1.0 - (1.0 - level) / 2.0, crit_df)
    if kind == "xlogit":
        centre = np.log(share / (1.0 - share))
        half = q * se / (share * (1.0 - share))
        return _expit(centre - half), _expit(centre + half)
    centre = np.arcsin(np.sqrt(share))
    half = q * se / (2.0 * np.sqrt(share * (1.0 - share)))
    return np.sin(centre - half) ** 2, np.sin(centre + half) ** 2


def _expit(value: float) -> float:
    return float(np.exp(value) / (1.0 + np.exp(value)))


@dataclass(frozen=True)
class _Sorted:
    """A domain's values in increasing order with their cumulative weights."""

    x: np.ndarray
    cumw: np.ndarray
    total: float

    @classmethod
    def of(cls, x: np.ndarray, w: np.ndarray) -> _Sorted:
        """Sort ``x``; the cumulative sums as R's ``cumsum`` makes them.

        R accumulates sums in extended precision; so does this, so that the
        rule's knots equal R's to the last bit and a probability falling on a
        knot gives the same data value, not its neighbour.
        """
        order = np.argsort(x, kind="stable")
        cumw = np.cumsum(w[order], dtype=np.longdouble)
        return cls(x[order], cumw.astype(float), float(cumw[-1]) if cumw.size else 0.0)


def _qs(s: _Sorted, p: float) -> tuple[float, float, bool]:
    """R's ``qs``: the last value whose cumulative share is at most ``p``, the next one,
    and whether that share is ``p`` exactly.

    When no share is at most ``p`` R takes the first value as the last one
    (its ``last()`` gives 1), so that the rules then return the second value.
    """
    pos = max(int(np.count_nonzero(s.cumw <= p * s.total)), 1)  # 1-based, as in R
    nxt = pos if pos == s.x.size else pos + 1
    exact = p - s.cumw[pos - 1] / s.total == 0
    return float(s.x[pos - 1]), float(s.x[nxt - 1]), bool(exact)


def _qrule_math(s: _Sorted, p: float) -> float:
    """R's ``qrule_math``: the inverse of the weighted distribution function."""
    if s.x.size == 0 or not np.isfinite(p):
        return np.nan
    low, up, exact = _qs(s, p)
    return low if exact else up


def _qrule_school(s: _Sorted, p: float) -> float:
    """R's ``qrule_school``: as ``math``, but the mid-point when a share is ``p`` exactly."""
    if s.x.size == 0 or not np.isfinite(p):
        return np.nan
    low, up, exact = _qs(s, p)
    return (low + up) / 2.0 if exact else up


_RULES = {"math": _qrule_math, "school": _qrule_school}
