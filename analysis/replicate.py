"""Replicate-weight survey designs: jackknife (JK1, JKn), bootstrap, BRR.

A replicate-weight design carries, besides the full-sample weights, ``R``
columns of replicate weights. Any statistic is computed once with the full
weights and once with each replicate column; its variance is the spread of
the replicate estimates (R ``survey::svrVar``)

.. math::

    V = s \\sum_{r=1}^{R} c_r (\\hat\\theta_r - \\bar\\theta)
        (\\hat\\theta_r - \\bar\\theta)^T

with ``scale`` :math:`s`, ``rscales`` :math:`c_r` and centre
:math:`\\bar\\theta` the mean of the replicates (``mse=False``, R's default)
or the full-sample estimate (``mse=True``).

The design is made either from replicate-weight columns supplied with the
data (:meth:`ReplicateDesign.from_frame`, R ``svrepdesign``) or generated
from a :class:`~analysis.design.SurveyDesign` (:func:`as_replicate`, R
``as.svrepdesign``).

A statistic is any function of a weight matrix: it receives an ``(n, m)``
array whose columns are weight vectors (the full weights first, then the
replicates) and returns an ``(m, k)`` array, one row of ``k`` estimates per
weight column. :func:`ratio_statistic` and :func:`total_statistic` build the
statistics of means, proportions, ratios and totals, in domains if wanted;
:func:`replicate_covariance` turns any statistic into estimates and their
covariance.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis._validate import (
    as_names,
    check_columns,
    check_rows,
    numeric_column,
    option,
    weight_column,
)
from analysis.design import LonelyPSU, SurveyDesign, _weights_text
from analysis.results import _number

__all__ = [
    "ReplicateDesign",
    "ReplicateType",
    "Statistic",
    "as_replicate",
    "ratio_statistic",
    "replicate_covariance",
    "replicate_variance",
    "total_statistic",
]

#: A statistic: weight matrix ``(n, m)`` -> estimates ``(m, k)``.
Statistic = Callable[[np.ndarray], np.ndarray]


class ReplicateType(StrEnum):
    """Kind of replicate weights (R ``svrepdesign(type=)``).

    Attributes
    ----------
    JK1
        Delete-one-PSU jackknife for an unstratified design.
    JKN
        Stratified delete-one-PSU jackknife.
    BOOTSTRAP
        Rescaled bootstrap of PSUs (Canty and Davison 1999, R
        ``type="bootstrap"``).
    BRR
        Balanced repeated replication.
    FAY
        BRR with Fay's perturbation factor ``rho``.
    OTHER
        Any other scheme; ``scale`` and ``rscales`` must be given.
    """

    JK1 = "JK1"
    JKN = "JKn"
    BOOTSTRAP = "bootstrap"
    BRR = "BRR"
    FAY = "Fay"
    OTHER = "other"


@dataclass(frozen=True, eq=False)
class ReplicateDesign:
    """A survey design with replicate weights (R ``svyrep.design``).

    Parameters
    ----------
    weights : ndarray of float, shape (n,)
        Full-sample weights, >= 0.
    repweights : ndarray of float, shape (n, R)
        Replicate weights, as full weights (R's ``combined.weights=TRUE``):
        the weight of each row in each replicate. They may be negative (some
        calibrated replicate weights are), as R allows.
    scale : float
        Overall multiplier of the variance.
    rscales : ndarray of float, shape (R,)
        Multiplier of each replicate's squared deviation.
    mse : bool, default False
        Centre the replicate estimates at the full-sample estimate instead of
        at their mean (R ``mse=TRUE``; R's default is ``FALSE``).
    type : ReplicateType, default ``OTHER``
        How the replicates were made; informative only once ``scale`` and
        ``rscales`` are set.
    data : DataFrame, optional
        The rows, so that estimators can take column names.
    names : dict, optional
        The columns the design was built from, for messages and reports.
    degf : int, optional
        Degrees of freedom, when known (:func:`as_replicate` sets them);
        otherwise computed as R does, see :attr:`df`.

    Notes
    -----
    The object is immutable and ``eq`` is identity, as for
    :class:`~analysis.design.SurveyDesign`. Domains are computed by setting
    the statistic's contributions to zero outside the domain, which for a
    replicate design is the same as R's ``subset``.
    """

    weights: np.ndarray
    repweights: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool = False
    type: ReplicateType = ReplicateType.OTHER
    data: pd.DataFrame | None = field(default=None, repr=False)
    names: dict[str, Any] = field(default_factory=dict)
    degf: int | None = None

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, dtype=float)
        if weights.ndim != 1:
            raise ValueError(f"weights: expected a one-dimensional array, got {weights.shape}")
        n = weights.shape[0]
        if not np.all(np.isfinite(weights)):
            raise ValueError("weights: missing or infinite values")
        if np.any(weights < 0):
            raise ValueError("weights: negative values")
        rep = np.asarray(self.repweights, dtype=float)
        if rep.ndim == 1:
            rep = rep[:, None]
        if rep.ndim != 2 or rep.shape[0] != n:
            raise ValueError(f"repweights: expected shape ({n}, R), got {rep.shape}")
        if not np.all(np.isfinite(rep)):
            raise ValueError("repweights: missing or infinite values")
        scale = float(self.scale)
        if not np.isfinite(scale) or scale < 0:
            raise ValueError(f"scale: expected a finite number >= 0, got {self.scale!r}")
        rscales = np.broadcast_to(np.asarray(self.rscales, dtype=float), (rep.shape[1],))
        if not np.all(np.isfinite(rscales)) or np.any(rscales < 0):
            raise ValueError("rscales: expected finite numbers >= 0, one per replicate")
        if self.data is not None and len(self.data) != n:
            raise ValueError(f"data: expected {n} rows, got {len(self.data)}")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "repweights", rep)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "rscales", rscales.copy())
        object.__setattr__(self, "mse", bool(self.mse))
        object.__setattr__(self, "type", ReplicateType(self.type))

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        *,
        weights: str,
        repweights: str | Sequence[str],
        type: str | ReplicateType,
        scale: float | None = None,
        rscales: float | Sequence[float] | np.ndarray | None = None,
        combined_weights: bool = True,
        rho: float | None = None,
        bootstrap_average: float = 1.0,
        fpc: Sequence[float] | np.ndarray | None = None,
        fpctype: str = "fraction",
        mse: bool = False,
    ) -> ReplicateDesign:
        """Build a design from replicate-weight columns (R ``svrepdesign``).

        Parameters
        ----------
        data : DataFrame
            One row per respondent, with the weight columns.
        weights : str
            Column of full-sample weights.
        repweights : str or sequence of str
            The replicate-weight columns: a list of names, or one string that
            is a regular expression matched against the column names (R's
            ``repweights="repw[0-9]+"``); a string holding commas is a list.
        type : {"JK1", "JKn", "bootstrap", "BRR", "Fay", "other"}
            The replication scheme; sets the default ``scale`` and
            ``rscales`` as R does (below).
        scale : float, optional
            Overall multiplier. Defaults as R: ``(R-1)/R`` for JK1 (the
            number of replicates taken as the number of PSUs; with
            ``combined_weights=False``, ``1/max`` of the first replicate
            column), ``bootstrap_average/(R-1)`` for the bootstrap, ``1/R``
            for BRR, ``1/(R (1-rho)^2)`` for Fay, 1 otherwise.
        rscales : float or array_like, optional
            Per-replicate multipliers; default 1. Required for JKn with
            combined weights (R's ``(n_h - 1)/n_h`` of each replicate's
            stratum); with ``combined_weights=False`` they are guessed as R
            does, ``1/max`` of each column.
        combined_weights : bool, default True
            The columns are full replicate weights. If False they are
            multipliers of ``weights`` (R ``combined.weights=FALSE``).
        rho : float, optional
            Fay's factor, required for ``type="Fay"``.
        bootstrap_average : float, default 1
            Number of bootstrap iterations each column averages (R
            ``bootstrap.average``).
        fpc : array_like of float, shape (R,), optional
            Finite population correction per replicate, as sampling
            fractions (``fpctype="fraction"``) or as ``1 - f``
            (``"correction"``); multiplies ``rscales``. Not for BRR, Fay or
            the bootstrap.
        fpctype : {"fraction", "correction"}
        mse : bool, default False
            Centre at the full-sample estimate (R ``mse=TRUE``).

        Returns
        -------
        ReplicateDesign

        Raises
        ------
        ValueError
            Naming the column or argument: a missing or non-numeric column,
            missing or negative weights, no replicate column, JKn without
            ``rscales``, Fay without ``rho``, an fpc of the wrong length.
        """
        if not isinstance(data, pd.DataFrame):
            raise ValueError("data: expected a pandas DataFrame")
        kind = ReplicateType(option(str(getattr(type, "value", type)), "type", _TYPES))
        w = weight_column(data, weights)
        check_rows(data)
        columns = _replicate_columns(data, repweights)
        rep = np.column_stack([numeric_column(data, c, "repweights") for c in columns])
        if np.isnan(rep).any():
            bad = columns[int(np.flatnonzero(np.isnan(rep).any(axis=0))[0])]
            raise ValueError(f"repweights: column '{bad}' has missing values")
        n_rep = rep.shape[1]
        if kind is ReplicateType.BRR:
            scale = 1.0 / n_rep
        elif kind is ReplicateType.FAY:
            if rho is None:
                raise ValueError("rho: required with type='Fay'")
            scale = 1.0 / (n_rep * (1.0 - rho) ** 2)
        elif kind is ReplicateType.BOOTSTRAP and scale is None:
            if n_rep < 2:
                raise ValueError("repweights: the bootstrap needs at least 2 replicate columns")
            scale = bootstrap_average / (n_rep - 1)
        elif kind is ReplicateType.JK1 and scale is None:
            scale = (n_rep - 1) / n_rep if combined_weights else 1.0 / rep[:, 0].max()
        if kind is ReplicateType.JKN and rscales is None:
            if combined_weights:
                raise ValueError("rscales: required for type='JKn' with combined weights")
            rscales = 1.0 / rep.max(axis=0)
        rsc = np.ones(n_rep) if rscales is None else np.asarray(rscales, dtype=float)
        if rsc.ndim > 1 or rsc.size not in (1, n_rep):
            raise ValueError(f"rscales: expected 1 or {n_rep} values, got {rsc.size}")
        rsc = np.broadcast_to(rsc, (n_rep,)).astype(float)
        if fpc is not None:
            if kind in (ReplicateType.BRR, ReplicateType.FAY, ReplicateType.BOOTSTRAP):
                raise ValueError(f"fpc: not available for type='{kind.value}'")
            f = np.asarray(fpc, dtype=float).ravel()
            if f.size != n_rep:
                raise ValueError(f"fpc: expected {n_rep} values (one per replicate)")
            if np.any((f < 0) | (f > 1)):
                raise ValueError("fpc: values must be between 0 and 1")
            option(fpctype, "fpctype", ("fraction", "correction"))
            rsc = rsc * (1.0 - f if fpctype == "fraction" else f)
        if not combined_weights:
            rep = rep * w[:, None]
        names = {"weights": weights, "repweights": tuple(columns)}
        return cls(
            weights=w,
            repweights=rep,
            scale=1.0 if scale is None else float(scale),
            rscales=rsc,
            mse=mse,
            type=kind,
            data=data,
            names=names,
        )

    # ------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.weights.shape[0])

    @property
    def n_replicates(self) -> int:
        """Number of replicate weight columns."""
        return int(self.repweights.shape[1])

    @cached_property
    def df(self) -> int:
        """Degrees of freedom: rank of the replicate weights minus one (R ``degf``).

        R takes the rank from a QR decomposition with tolerance 1e-5; here
        it is the number of eigenvalues of the replicate weights' normalised
        cross-product matrix above 1e-10 of the largest (singular values
        above 1e-5), the same in all but contrived cases, and one
        ``(R, R)`` matrix product instead of a decomposition of ``(n, R)``.
        """
        if self.degf is not None:
            return int(self.degf)
        return _rank(self.repweights) - 1

    def domain_df(self, mask: np.ndarray | None) -> int:
        """Degrees of freedom of the design restricted to the rows of ``mask``.

        R's ``degf`` of ``subset(design, mask)``, as ``svyby`` passes it: the
        rank of the domain's replicate weights minus one.

        Parameters
        ----------
        mask : ndarray of bool, shape (n,), or None
            The domain's rows; ``None`` for the whole design (:attr:`df`).

        Returns
        -------
        int
        """
        if mask is None:
            return self.df
        rows = np.asarray(mask, dtype=bool)
        if rows.shape != (self.n,):
            raise ValueError(f"mask: expected {self.n} values, got shape {rows.shape}")
        return _rank(self.repweights[rows]) - 1

    # ------------------------------------------------------------- variance
    def weight_matrix(self) -> np.ndarray:
        """Full weights and replicate weights side by side, shape ``(n, 1 + R)``."""
        return np.column_stack([self.weights, self.repweights])

    def estimate(self, statistic: Statistic) -> tuple[np.ndarray, np.ndarray]:
        """Estimates of a statistic and their replicate covariance.

        Parameters
        ----------
        statistic : callable
            Maps a weight matrix ``(n, m)`` to estimates ``(m, k)`` (or
            ``(m,)`` for one estimate).

        Returns
        -------
        estimate : ndarray, shape (k,)
            The full-sample estimates.
        covariance : ndarray, shape (k, k)
            Their replicate covariance (R ``svrVar``).
        """
        return replicate_covariance(self, statistic)

    # -------------------------------------------------------------- printing
    def __repr__(self) -> str:
        mse = ", mse" if self.mse else ""
        return (
            f"<{type(self).__name__}: {self.n} rows, "
            f"{self.n_replicates} {self.type.value} replicates{mse}>"
        )

    def __str__(self) -> str:
        """A summary like R's ``print`` of a replicate design: the kind, the columns, weights."""
        return "\n".join(self._summary_lines())

    def _repr_html_(self) -> str:
        return "".join(f"<p>{html.escape(line)}</p>" for line in self._summary_lines())

    def _summary_lines(self) -> list[str]:
        names = self.names or {}
        mse = " and MSE variances" if self.mse else ""
        columns = [f"weights '{names['weights']}'"] if names.get("weights") else []
        if names.get("strata"):
            columns.append(f"strata '{names['strata']}'")
        columns += [f"PSU '{col}'" for col in list(names.get("psu") or ())[:1]]
        repweights = list(names.get("repweights") or ())
        if repweights:
            shown = ", ".join(f"'{c}'" for c in repweights[:2])
            more = f", ..., '{repweights[-1]}'" if len(repweights) > 3 else ""
            last = f", '{repweights[2]}'" if len(repweights) == 3 else ""
            columns.append(f"replicate weights {shown}{last}{more}")
        elif names.get("replicates"):
            columns.append(f"replicates made from the design ({names['replicates']})")
        lines = [
            f"{_DESCRIPTIONS[self.type]} with {self.n_replicates} replicates{mse}",
            "; ".join([f"{self.n} rows", *columns]),
        ]
        if self.n_replicates:
            low, high = self.rscales.min(), self.rscales.max()
            rscales = _number(low) if low == high else f"{_number(low)} to {_number(high)}"
            lines.append(
                f"Variance: scale {_number(self.scale)}, rscales {rscales}; design df {self.df}"
            )
        lines.append(_weights_text("Weights", self.weights))
        if self.repweights.size:
            rep = self.repweights
            lines.append(f"Replicate weights: min {_number(rep.min())}, max {_number(rep.max())}")
        return lines


#: The kinds of replicates, as R's ``print.svyrep.design`` names them.
_DESCRIPTIONS = {
    ReplicateType.JK1: "Unstratified cluster jackknife (JK1)",
    ReplicateType.JKN: "Stratified cluster jackknife (JKn)",
    ReplicateType.BOOTSTRAP: "Survey bootstrap",
    ReplicateType.BRR: "Balanced Repeated Replicates (BRR)",
    ReplicateType.FAY: "Fay's variance method (BRR)",
    ReplicateType.OTHER: "Replicate weights (type other)",
}


def replicate_variance(
    full: np.ndarray,
    replicates: np.ndarray,
    scale: float,
    rscales: np.ndarray,
    *,
    mse: bool = False,
) -> np.ndarray:
    """Covariance of estimates from their replicates (R ``svrVar``).

    Parameters
    ----------
    full : ndarray, shape (k,)
        Full-sample estimates (the centre when ``mse`` is true).
    replicates : ndarray, shape (R, k)
        Replicate estimates.
    scale : float
        Overall multiplier.
    rscales : ndarray, shape (R,)
        Multiplier of each replicate.
    mse : bool, default False
        Centre at ``full`` instead of the mean of the replicates with a
        positive ``rscales``.

    Returns
    -------
    ndarray, shape (k, k)

    Notes
    -----
    Unlike R, replicates with a missing (NaN) estimate are not dropped: the
    covariance is then NaN, which a caller reports as "not estimable".
    """
    reps = np.asarray(replicates, dtype=float)
    if reps.ndim == 1:
        reps = reps[:, None]
    full = np.atleast_1d(np.asarray(full, dtype=float))
    rscales = np.asarray(rscales, dtype=float)
    if reps.shape[0] == 0:
        return np.zeros((full.shape[0], full.shape[0]))
    centre = full if mse else reps[rscales > 0].mean(axis=0)
    dev = (reps - centre) * np.sqrt(rscales)[:, None]
    return (dev.T @ dev) * scale


def replicate_covariance(
    design: ReplicateDesign, statistic: Statistic
) -> tuple[np.ndarray, np.ndarray]:
    """Estimates of a statistic and their replicate covariance.

    Parameters
    ----------
    design : ReplicateDesign
        The replicate-weight design.
    statistic : callable
        Maps a weight matrix ``(n, m)`` (full weights in column 0, then the
        replicates) to estimates ``(m, k)`` or ``(m,)``.

    Returns
    -------
    estimate : ndarray, shape (k,)
    covariance : ndarray, shape (k, k)

    Examples
    --------
    The mean of ``y`` (``W.T @ y / W.sum(0)``) is
    ``replicate_covariance(design, ratio_statistic(y, np.ones_like(y)))``.
    """
    # two calls rather than one on the stacked (n, 1 + R) matrix: no copy of
    # the replicate weights
    full = _call(statistic, design.weights[:, None], 1)[0]
    reps = _call(statistic, design.repweights, design.n_replicates)
    if reps.shape[1] != full.shape[0]:
        raise ValueError(
            f"statistic: {full.shape[0]} estimates with the full weights but "
            f"{reps.shape[1]} with the replicates"
        )
    cov = replicate_variance(full, reps, design.scale, design.rscales, mse=design.mse)
    return full, cov


def _call(statistic: Statistic, weights: np.ndarray, m: int) -> np.ndarray:
    theta = np.asarray(statistic(weights), dtype=float)
    if theta.ndim == 1:
        theta = theta[:, None] if m > 1 or theta.shape[0] == 1 else theta[None, :]
    if theta.ndim != 2 or theta.shape[0] != m:
        raise ValueError(
            f"statistic: expected {m} rows of estimates (one per weight column), "
            f"got shape {theta.shape}"
        )
    return theta


def total_statistic(values: np.ndarray) -> Statistic:
    """Statistic of weighted totals ``W.T @ values``.

    Parameters
    ----------
    values : ndarray, shape (n,) or (n, k)
        Values per row, zero outside a domain (and for missing values).

    Returns
    -------
    callable
        ``W (n, m) -> (m, k)``.
    """
    y = _as_matrix(values)

    def statistic(w: np.ndarray) -> np.ndarray:
        return w.T @ y

    return statistic


def ratio_statistic(numerator: np.ndarray, denominator: np.ndarray) -> Statistic:
    """Statistic of ratios of weighted totals ``(W.T @ num) / (W.T @ den)``.

    A mean of ``y`` in a domain ``d`` is the ratio of ``d * y`` to ``d``; a
    proportion is the mean of an indicator; R's ``svyratio`` is the ratio of
    ``y`` to ``x``.

    Parameters
    ----------
    numerator, denominator : ndarray, shape (n,) or (n, k)
        Values per row (zero outside the domain and where missing).

    Returns
    -------
    callable
        ``W (n, m) -> (m, k)``; a ratio with a zero denominator is NaN.
    """
    num = _as_matrix(numerator)
    den = _as_matrix(denominator)
    if num.shape != den.shape:
        raise ValueError(f"denominator: shape {den.shape} differs from numerator {num.shape}")

    def statistic(w: np.ndarray) -> np.ndarray:
        top = w.T @ num
        bottom = w.T @ den
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(bottom != 0, top / np.where(bottom != 0, bottom, 1.0), np.nan)

    return statistic


# ------------------------------------------------------------- generation
def as_replicate(
    design: SurveyDesign,
    type: str | ReplicateType = "auto",
    *,
    replicates: int = 50,
    seed: int | np.random.Generator | None = None,
    mse: bool = False,
    fpc: bool = True,
) -> ReplicateDesign:
    """Replicate weights generated from a design (R ``as.svrepdesign``).

    Parameters
    ----------
    design : SurveyDesign
        A Taylor-linearisation design. Only its first stage (strata and
        PSUs) and first-stage fpc are used, as in R.
    type : {"auto", "JK1", "JKn", "bootstrap"}
        ``"auto"`` is JK1 for an unstratified design and JKn otherwise.
    replicates : int, default 50
        Number of bootstrap replicates.
    seed : int or numpy Generator, optional
        Random seed of the bootstrap (R's random numbers cannot be matched,
        so the bootstrap replicates differ from R's; their distribution is
        the same).
    mse : bool, default False
        Centre at the full-sample estimate (R ``mse=TRUE``).
    fpc : bool, default True
        Use the design's first-stage finite population correction.

    Returns
    -------
    ReplicateDesign

    Raises
    ------
    ValueError
        JK1 for a stratified design, JKn for an unstratified one, a
        stratum with one PSU under the ``fail`` policy, or a design with
        every stratum fully sampled (no variance left to estimate).

    Notes
    -----
    * JK1: replicate ``j`` drops PSU ``j`` and multiplies the others by
      ``n/(n-1)``; ``scale = (1 - n/N) (n-1)/n``.
    * JKn: replicate ``(h, j)`` drops PSU ``j`` of stratum ``h`` and
      multiplies the other PSUs of ``h`` by ``n_h/(n_h-1)``; ``rscales`` are
      ``(1 - n_h/N_h) (n_h-1)/n_h``, ``scale = 1``. A fully sampled stratum
      gives no replicate. A single-PSU stratum follows
      ``design.lonely_psu`` as R's ``jknweights``: ``remove``,
      ``certainty`` and ``average`` give no replicate (``average`` rescales
      by PSUs over replicates), ``adjust`` gives one replicate that drops
      the stratum and multiplies all other rows by ``H/(H-1)``.
    * A calibrated design's replicates are not calibrated again (R's
      ``as.svrepdesign`` does not either): make the replicate design first
      and calibrate it (:func:`analysis.calibration.post_stratify` and the
      others accept a replicate design).
    * Bootstrap: in each replicate and stratum, ``n_h`` PSUs are drawn with
      replacement (with fpc: ``n_h`` without replacement from the PSUs
      repeated to ``N_h``), and each PSU's weights are multiplied by the
      number of times it was drawn; ``scale = m / ((m - 1)(R - 1))`` with
      ``m`` the harmonic mean of the PSUs per stratum (R ``bootweights``).
    """
    if not isinstance(design, SurveyDesign):
        raise ValueError("design: expected a SurveyDesign")
    kind = option(str(getattr(type, "value", type)), "type", ("auto", "JK1", "JKn", "bootstrap"))
    stratified = design.n_strata > 1
    if kind == "auto":
        kind = "JKn" if stratified else "JK1"
    if kind == "JK1" and stratified:
        raise ValueError("type: can't use JK1 for a stratified design; use JKn or bootstrap")
    if kind == "JKn" and not stratified:
        raise ValueError("type: JKn needs strata; use JK1 or bootstrap for an unstratified design")
    stage = design.stages[0]
    psu_stratum = stage.unit_group
    # PSUs with rows: a subset's design counts its absent PSUs, R's as.svrepdesign does not
    n_h = np.bincount(psu_stratum, minlength=stage.n_units.shape[0]).astype(float)
    pop_h = stage.pop_units if (fpc and design.fpc[0] is not None) else np.full(n_h.shape, np.inf)
    if kind == "JK1":
        factors, scale, rscales = _jk1(n_h[0], pop_h[0])
    elif kind == "JKn":
        factors, scale, rscales = _jkn(psu_stratum, n_h, pop_h, design)
    else:
        if int(replicates) < 2:
            raise ValueError("replicates: need at least 2 bootstrap replicates")
        factors, scale, rscales = _bootstrap(psu_stratum, n_h, pop_h, int(replicates), seed)
    repweights = factors[design.psu] * design.weights[:, None]
    # the rank of the replicate weights is that of the PSU factors (PSUs
    # whose rows all have weight zero drop out)
    weighted_psu = np.bincount(design.psu, weights=design.weights, minlength=factors.shape[0]) > 0
    degf = int(np.linalg.matrix_rank(factors[weighted_psu])) - 1 if factors.shape[1] else 0
    names = dict(design.names)
    names["replicates"] = kind
    return ReplicateDesign(
        weights=design.weights,
        repweights=repweights,
        scale=scale,
        rscales=rscales,
        mse=mse,
        type=ReplicateType(kind),
        data=design.data,
        names=names,
        degf=degf,
    )


def _rank(matrix: np.ndarray) -> int:
    """Numerical rank of the columns of ``matrix`` (relative tolerance 1e-5)."""
    if matrix.shape[1] == 0:
        return 0
    gram = matrix.T @ matrix
    norms = np.sqrt(np.diag(gram))
    keep = norms > 0
    if not keep.any():
        return 0
    gram = gram[np.ix_(keep, keep)] / np.outer(norms[keep], norms[keep])
    eigen = np.linalg.eigvalsh(gram)
    return int(np.sum(eigen > eigen.max() * 1e-10))


def _jk1(n: float, pop: float) -> tuple[np.ndarray, float, np.ndarray]:
    n_psu = int(n)
    if n_psu < 2:
        raise ValueError("design: JK1 needs at least two PSUs")
    correction = 1.0 if np.isinf(pop) else (pop - n) / pop
    if correction == 0:
        return np.zeros((n_psu, 0)), 0.0, np.zeros(0)
    factors = np.full((n_psu, n_psu), n / (n - 1))
    np.fill_diagonal(factors, 0.0)
    return factors, correction * (n - 1) / n, np.ones(n_psu)


def _jkn(
    psu_stratum: np.ndarray, n_h: np.ndarray, pop_h: np.ndarray, design: SurveyDesign
) -> tuple[np.ndarray, float, np.ndarray]:
    n_psu = psu_stratum.shape[0]
    n_strata = n_h.shape[0]
    correction = np.where(np.isinf(pop_h), 1.0, (pop_h - n_h) / np.where(np.isinf(pop_h), 1, pop_h))
    policy = design.lonely_psu
    columns: list[np.ndarray] = []
    rscales: list[np.ndarray] = []
    order = np.argsort(psu_stratum, kind="stable")
    for h in range(n_strata):
        members = order[psu_stratum[order] == h]
        nh = members.shape[0]
        if nh == 1:
            if policy is LonelyPSU.FAIL:
                label = design.stratum_label(h)
                raise ValueError(
                    f"stratum '{label}' has only one PSU; choose a lonely_psu policy "
                    "(remove, adjust, average, certainty)"
                )
            if policy is LonelyPSU.ADJUST:
                col = np.where(psu_stratum == h, 0.0, n_strata / (n_strata - 1))
                columns.append(col[:, None])
                rscales.append(np.array([(n_strata - 1) / n_strata]))
            continue
        if correction[h] == 0:
            continue
        block = np.ones((n_psu, nh))
        block[members, :] = nh / (nh - 1)
        block[members, np.arange(nh)] = 0.0
        columns.append(block)
        rscales.append(np.full(nh, correction[h] * (nh - 1) / nh))
    if not columns:
        raise ValueError("design: all strata were fully sampled; there is no variance")
    factors = np.hstack(columns)
    scale = 1.0
    if policy is LonelyPSU.AVERAGE and factors.shape[1] < n_psu:
        scale = n_psu / factors.shape[1]
    return factors, scale, np.concatenate(rscales)


def _bootstrap(
    psu_stratum: np.ndarray,
    n_h: np.ndarray,
    pop_h: np.ndarray,
    replicates: int,
    seed: int | np.random.Generator | None,
) -> tuple[np.ndarray, float, np.ndarray]:
    rng = np.random.default_rng(seed)
    factors = np.zeros((psu_stratum.shape[0], replicates))
    for h in range(n_h.shape[0]):
        members = np.flatnonzero(psu_stratum == h)
        nh = members.shape[0]
        if np.isinf(pop_h[h]):
            draws = rng.integers(0, nh, size=(replicates, nh))
        else:
            population = np.resize(np.arange(nh), int(round(pop_h[h])))
            draws = np.stack(
                [
                    population[rng.choice(population.shape[0], nh, replace=False)]
                    for _ in range(replicates)
                ]
            )
        counts = np.zeros((replicates, nh))
        np.add.at(counts, (np.repeat(np.arange(replicates), nh), draws.ravel()), 1.0)
        factors[members, :] = counts.T
    m = 1.0 / np.mean(1.0 / n_h)
    scale = m / ((m - 1.0) * (replicates - 1))
    return factors, scale, np.ones(replicates)


# ---------------------------------------------------------------- helpers
_TYPES = tuple(t.value for t in ReplicateType)


def _replicate_columns(data: pd.DataFrame, repweights: str | Sequence[str]) -> list[str]:
    if isinstance(repweights, str) and "," not in repweights:
        if repweights in data.columns:
            return [repweights]
        try:
            pattern = re.compile(repweights)
        except re.error as exc:
            message = f"repweights: '{repweights}' is not a column or a pattern ({exc})"
            raise ValueError(message) from None
        columns = [c for c in data.columns if pattern.search(str(c))]
        if not columns:
            raise ValueError(f"repweights: no column matches '{repweights}'")
        return columns
    columns = list(as_names(repweights, "repweights"))
    if not columns:
        raise ValueError("repweights: no replicate-weight column given")
    check_columns(data, columns, "repweights")
    return columns


def _as_matrix(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"values: expected shape (n,) or (n, k), got {arr.shape}")
    return arr
