"""Confidence intervals for survey estimates, as R's ``survey`` computes them.

Four methods, chosen by name:

``"wald"``
    ``estimate ± z * se`` with the normal quantile: R's ``confint(svymean(...))``.
``"wald-t"``
    ``estimate ± t_df * se`` with Student's t on the design degrees of freedom:
    R's ``confint(..., df=degf(design))``.
``"logit"``
    Wald on the logit scale, back-transformed, with the t quantile on the
    design degrees of freedom: R's ``svyciprop(method="logit")``, which fits
    ``svyglm(y ~ 1, family=quasibinomial)`` (its intercept is ``logit(p)``
    with standard error ``se / (p (1 - p))``).
``"beta"``
    Korn and Graubard (1998): a Clopper–Pearson interval on the effective
    sample size ``n* = p (1 - p) / se^2``, adjusted by
    ``(t_{n-1} / t_df)^2``: R's ``svyciprop(method="beta")``.

References
----------
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions
with small expected number of positive counts estimated from survey data.
Survey Methodology 24, 193-201.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

__all__ = [
    "CI_METHODS",
    "ConfidenceInterval",
    "beta_interval",
    "confidence_interval",
    "logit_interval",
    "wald_interval",
    "wald_intervals",
]


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """A confidence interval.

    Attributes
    ----------
    low, high : float
        The bounds (NaN where the interval is not defined).
    level : float
        Confidence level, e.g. 0.95.
    method : str
        One of :data:`CI_METHODS`.
    """

    low: float
    high: float
    level: float = 0.95
    method: str = "wald"

    def __iter__(self) -> Iterator[float]:
        """Unpack as ``low, high``."""
        yield self.low
        yield self.high


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: must be between 0 and 1 (exclusive), got {level}")
    return level


@lru_cache(maxsize=4096)
def _t_quantile(p: float, df: float | None) -> float:
    """Quantile of Student's t, the normal one for ``df`` None or infinite.

    The normal quantile is Wichura's AS 241, as R's ``qnorm`` (bit for bit),
    from the standard library; scipy is imported only for the t quantile,
    so that the default intervals do not pay for importing it.
    """
    if df is None or np.isinf(df):
        return _normal_quantile(p)
    if df <= 0:
        return float("nan")
    from scipy.special import stdtrit

    return float(stdtrit(df, p))


def _normal_quantile(p: float) -> float:
    """The normal quantile: -inf at 0, inf at 1, NaN outside [0, 1] (as scipy)."""
    if 0.0 < p < 1.0:
        return NormalDist().inv_cdf(p)
    if p in (0.0, 1.0):
        return math.copysign(math.inf, p - 0.5)
    return math.nan


def wald_interval(
    estimate: float, se: float, level: float = 0.95, df: float | None = None
) -> tuple[float, float]:
    """Wald interval ``estimate ± q * se``.

    Parameters
    ----------
    estimate, se : float
        Point estimate and standard error.
    level : float, default 0.95
        Confidence level.
    df : float, optional
        Degrees of freedom for Student's t; ``None`` or ``inf`` for the
        normal quantile (R's ``confint`` default). ``df <= 0`` gives NaN.

    Returns
    -------
    (low, high) : tuple of float
    """
    level = _check_level(level)
    q = _t_quantile(1.0 - (1.0 - level) / 2.0, df)
    return estimate - q * se, estimate + q * se


def wald_intervals(
    estimates: np.ndarray,
    ses: np.ndarray,
    level: float = 0.95,
    dfs: Sequence[float | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wald_interval` of many estimates at once: the same numbers, bit for bit.

    Parameters
    ----------
    estimates, ses : ndarray of float, shape (m,)
        Point estimates and standard errors.
    level : float, default 0.95
        Confidence level.
    dfs : sequence, optional
        Each estimate's degrees of freedom for Student's t (as ``df`` of
        :func:`wald_interval`); None for the normal quantile for all.

    Returns
    -------
    (low, high) : tuple of ndarray
        NaN where the estimate or its standard error is not finite (as
        :func:`confidence_interval`).
    """
    level = _check_level(level)
    p = 1.0 - (1.0 - level) / 2.0
    estimates = np.asarray(estimates, dtype=float)
    ses = np.asarray(ses, dtype=float)
    if dfs is None:
        q = np.full(estimates.shape, _t_quantile(p, None))
    else:
        quantiles = {df: _t_quantile(p, df) for df in set(dfs)}
        q = np.array([quantiles[df] for df in dfs], dtype=float)
    with np.errstate(invalid="ignore"):
        low, high = estimates - q * ses, estimates + q * ses
    defined = np.isfinite(estimates) & np.isfinite(ses)
    return np.where(defined, low, np.nan), np.where(defined, high, np.nan)


def logit_interval(
    estimate: float, se: float, level: float = 0.95, df: float | None = None
) -> tuple[float, float]:
    """Logit-scale Wald interval for a proportion (R ``svyciprop(method="logit")``).

    Parameters
    ----------
    estimate : float
        Estimated proportion, in [0, 1].
    se : float
        Its standard error.
    level : float, default 0.95
        Confidence level.
    df : float, optional
        Degrees of freedom for the t quantile; R uses the design's
        ``degf``. ``None`` gives the normal quantile.

    Returns
    -------
    (low, high) : tuple of float
        ``expit(logit(p) ± q se / (p (1 - p)))``. For ``p`` equal to 0 or 1
        the interval is the point itself.
    """
    level = _check_level(level)
    q = _t_quantile(1.0 - (1.0 - level) / 2.0, df)
    p = float(estimate)
    if p <= 0.0 or p >= 1.0:
        return (p, p) if np.isfinite(q) else (float("nan"), float("nan"))
    from scipy.special import expit, logit

    half = q * se / (p * (1.0 - p))
    centre = logit(p)
    return float(expit(centre - half)), float(expit(centre + half))


def beta_interval(
    estimate: float, se: float, level: float = 0.95, *, n: int, df: float | None
) -> tuple[float, float]:
    """Korn–Graubard interval for a proportion (R ``svyciprop(method="beta")``).

    Parameters
    ----------
    estimate : float
        Estimated proportion, in [0, 1].
    se : float
        Its standard error.
    level : float, default 0.95
        Confidence level.
    n : int
        Number of rows of the design (or domain) the proportion was computed
        on, R's ``nrow(design)``.
    df : float
        Design degrees of freedom, R's ``degf(design)``.

    Returns
    -------
    (low, high) : tuple of float

    Notes
    -----
    As R::

        n.eff <- p * (1 - p) / var
        n.eff <- n.eff * (qt(alpha/2, n - 1) / qt(alpha/2, df))^2
        c(qbeta(alpha/2, n.eff * p, n.eff * (1 - p) + 1),
          qbeta(1 - alpha/2, n.eff * p + 1, n.eff * (1 - p)))

    A lower bound with ``p = 0`` is 0 and an upper bound with ``p = 1`` is 1,
    as ``qbeta`` gives for a zero shape parameter.
    """
    level = _check_level(level)
    alpha = 1.0 - level
    p = float(estimate)
    var = float(se) ** 2
    if not np.isfinite(p) or not np.isfinite(var) or var <= 0:
        return float("nan"), float("nan")
    n_eff = p * (1.0 - p) / var
    n_eff *= (_t_quantile(alpha / 2.0, n - 1) / _t_quantile(alpha / 2.0, df)) ** 2
    a = n_eff * p
    b = n_eff * (1.0 - p)
    from scipy.special import betaincinv  # the beta quantile, as scipy.stats.beta.ppf

    low = 0.0 if a <= 0 else float(betaincinv(a, b + 1.0, alpha / 2.0))
    high = 1.0 if b <= 0 else float(betaincinv(a + 1.0, b, 1.0 - alpha / 2.0))
    return low, high


def _wald(estimate: float, se: float, level: float, df: float | None, n: int | None):
    return wald_interval(estimate, se, level, None)


def _wald_t(estimate: float, se: float, level: float, df: float | None, n: int | None):
    return wald_interval(estimate, se, level, df)


def _logit(estimate: float, se: float, level: float, df: float | None, n: int | None):
    return logit_interval(estimate, se, level, df)


def _beta(estimate: float, se: float, level: float, df: float | None, n: int | None):
    if n is None:
        raise ValueError("method 'beta' needs the number of rows n")
    return beta_interval(estimate, se, level, n=n, df=df)


_METHODS: dict[str, Callable[..., tuple[float, float]]] = {
    "wald": _wald,
    "wald-t": _wald_t,
    "logit": _logit,
    "beta": _beta,
}

#: Names accepted by ``method=``.
CI_METHODS: tuple[str, ...] = tuple(_METHODS)


def confidence_interval(
    estimate: float,
    se: float,
    *,
    level: float = 0.95,
    method: str = "wald",
    df: float | None = None,
    n: int | None = None,
) -> ConfidenceInterval:
    """Confidence interval by method name.

    Parameters
    ----------
    estimate, se : float
        Point estimate and standard error.
    level : float, default 0.95
        Confidence level.
    method : {"wald", "wald-t", "logit", "beta"}
        See the module docstring. ``logit`` and ``beta`` are for
        proportions.
    df : float, optional
        Design degrees of freedom (used by ``wald-t``, ``logit``, ``beta``).
    n : int, optional
        Rows of the design or domain (used by ``beta``).

    Returns
    -------
    ConfidenceInterval

    Raises
    ------
    ValueError
        For an unknown method (the message lists the valid ones) or a level
        outside (0, 1).
    """
    if method not in _METHODS:
        allowed = ", ".join(repr(m) for m in _METHODS)
        raise ValueError(f"method: {method!r} is not one of {allowed}")
    level = _check_level(level)
    if not (np.isfinite(estimate) and np.isfinite(se)):
        return ConfidenceInterval(float("nan"), float("nan"), level, method)
    low, high = _METHODS[method](float(estimate), float(se), level, df, n)
    return ConfidenceInterval(float(low), float(high), level, method)
