"""Calibration of survey weights to known population totals, and weight diagnostics.

Three calibrations, as in R's ``survey`` package:

* :func:`post_stratify` (R ``postStratify``): the weights of each
  post-stratum (a cell of one or more categorical columns) are scaled to the
  cell's population count;
* :func:`rake` (R ``rake``): post-stratification on several margins in turn,
  repeated until the weighted margins stop changing;
* :func:`calibrate` (R ``calibrate(calfun="linear")``): linear (GREG)
  calibration to totals of categorical and numeric columns.

Each returns a :class:`CalibratedDesign`: the same design with the new
weights and a record of the calibration, so that the variance is the
calibrated variance R gives. Given a
:class:`~analysis.replicate.ReplicateDesign`, each returns a replicate
design whose full weights and every replicate column are calibrated, as R
does for a ``svyrep.design``; its replicate variance needs no adjustment.

For a calibrated Taylor design, an estimator's weighted estimating function
``x = w z`` is replaced, before the usual Taylor variance, by its residual
from the calibration variables (R ``svyrecvar`` with ``postStrata``):

* post-stratification subtracts each post-stratum's weighted mean,
  ``x - w_new * sum_g(w_old z) / sum_g(w_old)``;
* raking repeats, ten times over all margins, ``x - w_m * ave(x / w_m)``,
  with ``w_m`` the weights after margin ``m`` in the last raking pass and
  ``ave`` the unweighted mean within the margin's categories (R's
  approximation, kept for agreement with R);
* linear calibration takes the weighted least-squares residual on the
  calibration variables (weighted by the weights before calibration).

:func:`calibrated_covariance` computes that variance;
:meth:`CalibratedDesign.adjust_scores` does the replacement for any caller
holding ``z``.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis._validate import as_names, check_columns, numeric_column
from analysis.design import SurveyDesign
from analysis.replicate import ReplicateDesign
from analysis.variance import taylor_covariance

__all__ = [
    "CalibratedDesign",
    "LinearCalibration",
    "PostStratification",
    "Raking",
    "WeightDiagnostics",
    "calibrate",
    "calibrated_covariance",
    "post_stratify",
    "rake",
    "weight_diagnostics",
]


# ------------------------------------------------------------ calibration steps
@dataclass(frozen=True, eq=False)
class PostStratification:
    """One post-stratification (an entry of R's ``design$postStrata``).

    Attributes
    ----------
    codes : ndarray of int, shape (n,)
        Post-stratum of each row, ``0..G-1``.
    labels : tuple
        The cell (a value, or a tuple of values for several columns) of each
        code.
    old_weights, new_weights : ndarray of float, shape (n,)
        Weights before and after the post-stratification.
    """

    codes: np.ndarray
    labels: tuple[Any, ...]
    old_weights: np.ndarray
    new_weights: np.ndarray

    def residualize(self, x: np.ndarray) -> np.ndarray:
        """Subtract each post-stratum's weighted mean from ``x = w z`` (shape (n, k))."""
        psw = self.new_weights.copy()
        oldw = self.old_weights
        psw[(psw == 0) & (oldw == 0)] = 1.0
        n_cells = len(self.labels)
        ratio = _safe_divide(x * oldw[:, None], psw[:, None])
        sums = _group_sums(ratio, self.codes, n_cells)
        base = np.bincount(self.codes, weights=oldw, minlength=n_cells)
        means = _safe_divide(sums, base[:, None])
        return x - means[self.codes] * psw[:, None]


@dataclass(frozen=True, eq=False)
class Raking:
    """A raking (R's ``"raking"`` entry of ``design$postStrata``).

    Attributes
    ----------
    margins : tuple of PostStratification
        The margins of the last raking pass, in order.
    iterations : int
        Passes of the residual step over the margins (R uses 10).
    converged : bool
        Whether the weighted margins stopped changing within ``epsilon``.
    passes : int
        Raking passes done.
    """

    margins: tuple[PostStratification, ...]
    iterations: int = 10
    converged: bool = True
    passes: int = 0

    def residualize(self, x: np.ndarray) -> np.ndarray:
        """Back-fit ``x = w z`` on the margins as R's ``svyrecvar`` does (shape (n, k))."""
        x = np.array(x, dtype=float)
        counts = [np.bincount(m.codes, minlength=len(m.labels)).astype(float) for m in self.margins]
        for _ in range(self.iterations):
            for margin, count in zip(self.margins, counts, strict=True):
                psw = margin.new_weights[:, None]
                ratio = _safe_divide(x, psw)
                means = _safe_divide(
                    _group_sums(ratio, margin.codes, count.shape[0]), count[:, None]
                )
                x = x - psw * means[margin.codes]
        return x


@dataclass(frozen=True, eq=False)
class LinearCalibration:
    """A linear (GREG) calibration (R's ``"greg_calibration"``, stage 0).

    Attributes
    ----------
    model : ndarray of float, shape (n, p)
        The calibration variables of each row.
    columns : tuple of str
        Name of each calibration variable (``column=level`` for a category).
    old_weights : ndarray of float, shape (n,)
        Weights before the calibration.
    g : ndarray of float, shape (n,)
        The calibration factors: new weights are ``g * old_weights``.
    """

    model: np.ndarray
    columns: tuple[str, ...]
    old_weights: np.ndarray
    g: np.ndarray

    def residualize(self, x: np.ndarray) -> np.ndarray:
        """Weighted least-squares residual of ``x = w z`` on the model (shape (n, k))."""
        sw = np.sqrt(self.old_weights)
        a = self.model * sw[:, None]
        scale = (self.g * sw)[:, None]
        b = _safe_divide(x, scale)
        coef = np.linalg.lstsq(a, b, rcond=None)[0]
        return (b - a @ coef) * scale


CalibrationStep = PostStratification | Raking | LinearCalibration


@dataclass(frozen=True, eq=False, repr=False)  # SurveyDesign's one-line repr, not the arrays
class CalibratedDesign(SurveyDesign):
    """A survey design whose weights were calibrated.

    The fields are those of :class:`~analysis.design.SurveyDesign`, with
    ``weights`` the calibrated weights, plus:

    Attributes
    ----------
    calibration : tuple of PostStratification, Raking or LinearCalibration
        The calibrations applied, in order.

    Notes
    -----
    The Taylor variance of a calibrated design uses
    :meth:`adjust_scores` (see :func:`calibrated_covariance`). Domains keep
    the full design and its calibration, as R's ``subset``.
    """

    calibration: tuple[CalibrationStep, ...] = ()

    def residualize(self, x: np.ndarray) -> np.ndarray:
        """Apply the calibration residual steps to weighted scores ``x = w z``.

        Parameters
        ----------
        x : ndarray, shape (n,) or (n, k)

        Returns
        -------
        ndarray, shape (n, k)
        """
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        for step in self.calibration:
            x = step.residualize(x)
        return x

    def adjust_scores(self, z: np.ndarray) -> np.ndarray:
        """Estimating functions whose weighted total has the calibrated variance.

        Parameters
        ----------
        z : ndarray, shape (n,) or (n, k)
            Estimating functions (linearised values) of estimated totals
            ``sum w z``.

        Returns
        -------
        ndarray, shape (n, k)
            ``z'`` such that ``w z'`` is the calibration residual of ``w z``;
            give it to :func:`~analysis.variance.taylor_covariance` of
            :meth:`uncalibrated_view`.
        """
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        w = self.weights[:, None]
        return _safe_divide(self.residualize(z * w), w)

    def uncalibrated_view(self) -> SurveyDesign:
        """The same design (calibrated weights) as a plain SurveyDesign, without the record."""
        return SurveyDesign(**{f.name: getattr(self, f.name) for f in fields(SurveyDesign)})


def calibrated_covariance(
    design: SurveyDesign, z: np.ndarray, *, domain: np.ndarray | None = None
) -> np.ndarray:
    """Taylor covariance of estimated totals ``sum w z``, calibrated if the design is.

    Parameters
    ----------
    design : SurveyDesign or CalibratedDesign
    z : ndarray, shape (n,) or (n, k)
        Estimating functions, zero outside a domain.
    domain : ndarray of bool, optional
        The domain's rows (see :func:`~analysis.variance.taylor_covariance`);
        ignored for a calibrated design, whose domains keep every stratum
        (calibration residuals are not zero outside the domain), as in R.

    Returns
    -------
    ndarray, shape (k, k)
        R's variance of the calibrated design (``svyrecvar`` with
        ``postStrata``); for an uncalibrated design, the usual variance.
    """
    if isinstance(design, CalibratedDesign):
        # R's subset of a calibrated design keeps every row (weight zero
        # outside), so every stratum stays in the design: ``domain`` is not used.
        return taylor_covariance(design.uncalibrated_view(), design.adjust_scores(z))
    return taylor_covariance(design, z, domain=domain)


# ------------------------------------------------------------------ calibrate
def post_stratify(
    design: SurveyDesign | ReplicateDesign,
    strata: str | Sequence[str],
    population: Mapping[Hashable, float] | pd.Series,
    *,
    partial: bool = False,
    data: pd.DataFrame | None = None,
) -> CalibratedDesign | ReplicateDesign:
    """Post-stratify a design to known population counts (R ``postStratify``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (possibly calibrated already; steps accumulate). A
        replicate design has its full weights and each replicate column
        post-stratified, as R's ``postStratify`` of a ``svyrep.design``.
    strata : str or sequence of str
        Column(s) whose cells are the post-strata.
    population : mapping or Series
        Population count of each cell: keyed by the value for one column,
        by a tuple of values for several columns (a Series with a
        MultiIndex works too).
    partial : bool, default False
        Ignore population cells without any sample row (R ``partial=TRUE``)
        instead of refusing them.
    data : DataFrame, optional
        The rows, if the design was not built from a data frame.

    Returns
    -------
    CalibratedDesign or ReplicateDesign
        The weights of each cell sum to its population count (a replicate
        design for a replicate design).

    Raises
    ------
    ValueError
        A missing column or missing value in it, a sample cell absent from
        the population, a population cell absent from the sample (unless
        ``partial``), or a negative or non-numeric count.
    """
    frame = _data(design, data)
    columns = as_names(strata, "strata")
    codes, labels = _cells(frame, columns, "strata")
    name = ", ".join(columns)
    step = _post_stratify_step(design.weights, codes, labels, population, partial, name)
    if isinstance(design, ReplicateDesign):
        counts = _population_counts(population, labels, name, partial)
        reps = _post_stratify_matrix(design.repweights, codes, labels, counts, name)
        return _replicate_with(design, step.new_weights, reps)
    return _with_step(design, step.new_weights, step)


def rake(
    design: SurveyDesign | ReplicateDesign,
    margins: Mapping[str | tuple[str, ...], Mapping[Hashable, float] | pd.Series],
    *,
    max_iter: int = 10,
    epsilon: float = 1.0,
    data: pd.DataFrame | None = None,
) -> CalibratedDesign | ReplicateDesign:
    """Rake a design to known margins by iterative post-stratification (R ``rake``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design; a replicate design has every replicate raked along with
        the full weights (convergence is judged on the full weights), as R.
    margins : mapping
        For each margin, its column (or a tuple of columns for a joint
        margin) and the population count of each of its cells, as for
        :func:`post_stratify`.
    max_iter : int, default 10
        Maximum number of passes over the margins (R ``control$maxit``).
    epsilon : float, default 1
        Convergence: the largest change of a weighted count in the joint
        table of all margin columns between two passes. Below 1 it is a
        fraction of the sum of the weights (R ``control$epsilon``).
    data : DataFrame, optional
        The rows, if the design was not built from a data frame.

    Returns
    -------
    CalibratedDesign or ReplicateDesign
        The weights after the last pass; :attr:`Raking.converged` tells
        whether the margins converged (a :class:`RuntimeWarning` is issued
        if not, as R warns).

    Raises
    ------
    ValueError
        As :func:`post_stratify`, or no margins.
    """
    frame = _data(design, data)
    if not margins:
        raise ValueError("margins: at least one margin is needed")
    if int(max_iter) < 1:
        raise ValueError("max_iter: must be at least 1")
    cells = []
    all_columns: list[str] = []
    for key, population in margins.items():
        columns = as_names(key if isinstance(key, str) else list(key), "margins")
        codes, labels = _cells(frame, columns, "margins")
        cells.append((codes, labels, population, ", ".join(columns)))
        all_columns.extend(c for c in columns if c not in all_columns)
    joint, joint_labels = _cells(frame, all_columns, "margins")
    n_joint = len(joint_labels)
    weights = design.weights
    replicate = isinstance(design, ReplicateDesign)
    reps = design.repweights if replicate else None
    tol = epsilon * weights.sum() if epsilon < 1 else epsilon
    old_table = np.bincount(joint, weights=weights, minlength=n_joint)
    converged = False
    passes = 0
    steps: list[PostStratification] = []
    while passes < max_iter:
        steps = []
        for codes, labels, population, name in cells:
            step = _post_stratify_step(weights, codes, labels, population, False, name)
            steps.append(step)
            weights = step.new_weights
            if reps is not None:
                counts = _population_counts(population, labels, name, False)
                reps = _post_stratify_matrix(reps, codes, labels, counts, name)
        new_table = np.bincount(joint, weights=weights, minlength=n_joint)
        delta = np.max(np.abs(old_table - new_table))
        passes += 1
        if delta < tol:
            converged = True
            break
        old_table = new_table
    if not converged:
        warnings.warn(
            f"rake: the margins did not converge after {passes} passes", RuntimeWarning, 2
        )
    if reps is not None:
        return _replicate_with(design, weights, reps)
    raking = Raking(margins=tuple(steps), converged=converged, passes=passes)
    return _with_step(design, weights, raking)


def calibrate(
    design: SurveyDesign | ReplicateDesign,
    population: Mapping[str, float | Mapping[Hashable, float] | pd.Series],
    *,
    intercept: float | None = None,
    data: pd.DataFrame | None = None,
) -> CalibratedDesign | ReplicateDesign:
    """Linear (GREG) calibration to population totals (R ``calibrate(calfun="linear")``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design; for a replicate design each replicate column is
        calibrated to the same totals, as R.
    population : mapping
        For each calibration column, its population total (a number: a
        numeric column) or the population count of each of its levels (a
        mapping: a categorical column, every sampled level included).
    intercept : float, optional
        Population size, to calibrate the sum of the weights as well (R's
        ``(Intercept)``); not needed when a categorical column is given.
    data : DataFrame, optional
        The rows, if the design was not built from a data frame.

    Returns
    -------
    CalibratedDesign or ReplicateDesign
        Weights ``w g`` with ``g = 1 + X (X' W X)^+ (T - X' w)``, which
        reproduce the totals exactly. Linear calibration is unbounded, as in
        R; weights that come out negative are refused.

    Raises
    ------
    ValueError
        A missing column, a missing value, a sampled level without a total,
        or totals that no weights can reproduce.

    Notes
    -----
    Giving all levels of a categorical column is the same calibration as
    R's intercept plus treatment contrasts; redundant but consistent totals
    (several categorical columns) are allowed, the pseudo-inverse picks the
    same weights.
    """
    frame = _data(design, data)
    if not population:
        raise ValueError("population: at least one calibration total is needed")
    blocks: list[np.ndarray] = []
    totals: list[float] = []
    names: list[str] = []
    if intercept is not None:
        blocks.append(np.ones((design.n, 1)))
        totals.append(float(intercept))
        names.append("(Intercept)")
    for column, target in population.items():
        if isinstance(target, Mapping | pd.Series):
            codes, labels = _cells(frame, [column], "population")
            counts = _population_counts(target, labels, f"population['{column}']", False)
            present = ~np.isnan(counts)
            missing = [labels[i] for i in np.flatnonzero(~present)]
            if missing:
                raise ValueError(
                    f"population['{column}']: no total for sampled level {missing[0]!r}"
                )
            block = np.zeros((design.n, len(labels)))
            block[np.arange(design.n), codes] = 1.0
            blocks.append(block)
            totals.extend(counts.tolist())
            names.extend(f"{column}={label}" for label in labels)
        else:
            values = numeric_column(frame, column, "population")
            if np.isnan(values).any():
                raise ValueError(f"population: column '{column}' has missing values")
            blocks.append(values[:, None])
            totals.append(_number(target, f"population['{column}']", nonnegative=False))
            names.append(column)
    model = np.hstack(blocks)
    target_totals = np.asarray(totals)
    w = design.weights
    g = _linear_g(model, w, target_totals, "population")
    if isinstance(design, ReplicateDesign):
        reps = np.column_stack(
            [
                design.repweights[:, r]
                * _linear_g(model, design.repweights[:, r], target_totals, f"replicate {r + 1}")
                for r in range(design.n_replicates)
            ]
        ).reshape(design.n, design.n_replicates)
        return _replicate_with(design, w * g, reps)
    step = LinearCalibration(model=model, columns=tuple(names), old_weights=w, g=g)
    return _with_step(design, w * g, step)


def _linear_g(model: np.ndarray, w: np.ndarray, totals: np.ndarray, name: str) -> np.ndarray:
    """Linear calibration factors ``g = 1 + X (X' W X)^+ (T - X' w)``."""
    sample_totals = model.T @ w
    tmat = (model * w[:, None]).T @ model
    lam = np.linalg.lstsq(tmat, totals - sample_totals, rcond=None)[0]
    g = 1.0 + model @ lam
    achieved = model.T @ (w * g)
    if not np.allclose(achieved, totals, rtol=1e-8, atol=1e-8 * np.abs(totals).max()):
        raise ValueError(f"{name}: the totals are inconsistent; no weights reproduce them")
    return g


# ----------------------------------------------------------------- diagnostics
@dataclass(frozen=True, slots=True)
class WeightDiagnostics:
    """Summary of a set of weights.

    Attributes
    ----------
    n : int
        Number of weights.
    total : float
        Sum of the weights (the estimated population size).
    min, max, mean : float
        Smallest, largest and mean weight.
    cv : float
        Coefficient of variation, population standard deviation over the
        mean.
    deff_kish : float
        Kish's design effect due to weighting, ``1 + cv**2``
        (``= n sum w^2 / (sum w)^2``).
    n_effective : float
        Effective sample size ``n / deff_kish`` (``= (sum w)^2 / sum w^2``).
    """

    n: int
    total: float
    min: float
    max: float
    mean: float
    cv: float
    deff_kish: float
    n_effective: float


def weight_diagnostics(
    weights: SurveyDesign | ReplicateDesign | np.ndarray | Sequence[float],
) -> WeightDiagnostics:
    """Min, max, mean, CV, Kish design effect and effective sample size of weights.

    Parameters
    ----------
    weights : SurveyDesign, ReplicateDesign or array_like
        A design (its full-sample weights are used) or the weights themselves.

    Returns
    -------
    WeightDiagnostics

    Raises
    ------
    ValueError
        No weights, missing or negative weights, or weights summing to 0.
    """
    if isinstance(weights, SurveyDesign | ReplicateDesign):
        weights = weights.weights
    w = np.asarray(weights, dtype=float).ravel()
    if w.size == 0:
        raise ValueError("weights: no weights given")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights: missing or infinite values")
    if np.any(w < 0):
        raise ValueError("weights: negative values")
    mean = float(w.mean())
    if mean == 0:
        raise ValueError("weights: all weights are zero")
    cv = float(np.sqrt(np.mean((w - mean) ** 2)) / mean)
    deff = 1.0 + cv**2
    return WeightDiagnostics(
        n=int(w.size),
        total=float(w.sum()),
        min=float(w.min()),
        max=float(w.max()),
        mean=mean,
        cv=cv,
        deff_kish=deff,
        n_effective=w.size / deff,
    )


# -------------------------------------------------------------------- helpers
def _data(design: SurveyDesign | ReplicateDesign, data: pd.DataFrame | None) -> pd.DataFrame:
    if not isinstance(design, SurveyDesign | ReplicateDesign):
        raise ValueError("design: expected a SurveyDesign or a ReplicateDesign")
    frame = data if data is not None else design.data
    if frame is None:
        raise ValueError("data: the design has no data; pass data=")
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("data: expected a pandas DataFrame")
    if len(frame) != design.n:
        raise ValueError(f"data: expected {design.n} rows, got {len(frame)}")
    return frame


def _cells(frame: pd.DataFrame, columns: Sequence[str], name: str) -> tuple[np.ndarray, tuple]:
    """Codes (sorted cells) and labels of the cells of one or more columns."""
    check_columns(frame, columns, name)
    for column in columns:
        if frame[column].isna().any():
            raise ValueError(f"{name}: column '{column}' has missing values")
    if len(columns) == 1:
        codes, labels = pd.factorize(frame[columns[0]], sort=True)
        return codes.astype(np.intp), tuple(labels.tolist())
    keys = pd.MultiIndex.from_frame(frame[list(columns)])
    codes, labels = pd.factorize(keys, sort=True)
    return codes.astype(np.intp), tuple(tuple(v) for v in labels.tolist())


def _population_counts(
    population: Mapping[Hashable, float] | pd.Series,
    labels: tuple,
    name: str,
    partial: bool,
) -> np.ndarray:
    """Population count of each sample cell (NaN where the population has none)."""
    if isinstance(population, pd.Series | Mapping):
        items = list(population.items())
    else:
        raise ValueError(f"{name}: expected a mapping of cell -> population count")
    lookup: dict[Any, float] = {}
    for key, value in items:
        lookup[_key(key)] = _number(value, f"{name}[{key!r}]")
    counts = np.array([lookup.get(_key(label), np.nan) for label in labels])
    sampled = {_key(label) for label in labels}
    absent = [k for k, v in lookup.items() if k not in sampled and v != 0]
    if absent and not partial:
        raise ValueError(
            f"{name}: cell {absent[0]!r} has no sample row; use partial=True to ignore it"
        )
    return counts


def _post_stratify_step(
    weights: np.ndarray,
    codes: np.ndarray,
    labels: tuple,
    population: Mapping[Hashable, float] | pd.Series,
    partial: bool,
    name: str,
) -> PostStratification:
    counts = _population_counts(population, labels, name, partial)
    sample = np.bincount(codes, weights=weights, minlength=len(labels))
    bad = np.isnan(counts) | (counts == 0)
    bad &= sample != 0
    if bad.any():
        raise ValueError(
            f"{name}: sample cell {labels[int(np.flatnonzero(bad)[0])]!r} is absent from "
            "the population"
        )
    if np.any((sample == 0) & (counts > 0)):
        cell = labels[int(np.flatnonzero((sample == 0) & (counts > 0))[0])]
        raise ValueError(f"{name}: cell {cell!r} has rows but all their weights are zero")
    factor = np.where(sample > 0, np.nan_to_num(counts) / np.where(sample > 0, sample, 1.0), 0.0)
    new_weights = weights * factor[codes]
    return PostStratification(
        codes=codes, labels=labels, old_weights=weights, new_weights=new_weights
    )


def _post_stratify_matrix(
    weights: np.ndarray, codes: np.ndarray, labels: tuple, counts: np.ndarray, name: str
) -> np.ndarray:
    """Post-stratify each column of a weight matrix (the replicates) to ``counts``."""
    sums = _group_sums(weights, codes, len(labels))
    target = np.nan_to_num(counts)[:, None]
    empty = (sums == 0) & (target > 0)
    if empty.any():
        cell, rep = (int(i[0]) for i in np.nonzero(empty))
        raise ValueError(
            f"{name}: cell {labels[cell]!r} has no weight in replicate {rep + 1}, so the "
            "replicate cannot be calibrated"
        )
    factor = np.where(sums > 0, target / np.where(sums > 0, sums, 1.0), 0.0)
    return weights * factor[codes]


def _replicate_with(
    design: ReplicateDesign, weights: np.ndarray, repweights: np.ndarray
) -> ReplicateDesign:
    if np.any(weights < 0) or np.any(repweights < 0):
        raise ValueError(
            "population: the calibration gave negative weights, which a design cannot hold; "
            "post-stratify or rake instead, or calibrate on fewer totals"
        )
    return replace(design, weights=weights, repweights=repweights, degf=None)


def _with_step(
    design: SurveyDesign, new_weights: np.ndarray, step: CalibrationStep
) -> CalibratedDesign:
    if np.any(new_weights < 0):
        raise ValueError(
            "population: the calibration gave negative weights, which a design cannot hold; "
            "post-stratify or rake instead, or calibrate on fewer totals"
        )
    previous = design.calibration if isinstance(design, CalibratedDesign) else ()
    base = {f.name: getattr(design, f.name) for f in fields(SurveyDesign)}
    base["weights"] = new_weights
    return CalibratedDesign(**base, calibration=(*previous, step))


def _key(value: Any) -> Any:
    """A comparable key for a cell label (numbers as float, tuples element-wise)."""
    if isinstance(value, tuple):
        return tuple(_key(v) for v in value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return value


def _number(value: Any, name: str, *, nonnegative: bool = True) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(number) or (nonnegative and number < 0):
        kind = "finite number >= 0" if nonnegative else "finite number"
        raise ValueError(f"{name}: expected a {kind}, got {value!r}")
    return number


def _group_sums(x: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.empty((n_groups, x.shape[1]))
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=n_groups)
    return out


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b``, zero where ``b`` is zero."""
    b = np.broadcast_to(b, np.broadcast_shapes(np.shape(a), np.shape(b)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), 0.0)
