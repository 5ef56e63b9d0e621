"""Design-based estimators: mean, total, proportion, ratio, with domains.

Each estimator linearises the statistic into an estimating function and
takes its variance from :mod:`analysis.variance`, so standard errors are
those of R's ``survey`` package:

=============  ==========================================  ===============================
statistic      estimating function ``z_i`` (domain rows)   R
=============  ==========================================  ===============================
total          ``y_i``                                     ``svytotal``
mean           ``(y_i - ybar) / W``                        ``svymean``
proportion     ``(1{y_i = level} - p) / W``                ``svymean`` of a factor/indicator
ratio          ``(y_i - R x_i) / X``                       ``svyratio``
=============  ==========================================  ===============================

where ``W`` is the (domain's) sum of weights and ``X`` the estimated total of
the denominator.

Domains (``by=``) are subpopulations of the full design, as R's ``svyby``
and ``subset``: ``z`` is zero outside the domain and no row is dropped, so
every PSU and stratum of the design still counts. Missing values are
handled as ``na.rm=TRUE``: the rows with an answer form a domain of the
domain. The degrees of freedom of a domain are those of the design
restricted to the domain's rows (answered or not), as ``svyby`` passes them.

``y`` (and ``by``) may be column names, when the design was built with
:meth:`SurveyDesign.from_frame`, or arrays with one value per row. A
variable missing in every row, or with infinite values, or so large that its
weighted sums would overflow, is refused with a ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis._validate import check_weighted_size
from analysis.design import SurveyDesign
from analysis.replicate import ReplicateDesign
from analysis.results import Estimate, EstimateTable, _Linearization
from analysis.variance import DomainVariance, taylor_covariance

__all__ = ["Domains", "domains", "mean", "proportion", "ratio", "total"]

ByArg = str | Sequence[str] | np.ndarray | pd.Series | pd.DataFrame | None


# ------------------------------------------------------------------ domains
@dataclass(frozen=True)
class Domains:
    """A partition of the rows into domains (R ``svyby``'s ``by=``).

    Attributes
    ----------
    codes : ndarray of int, shape (n,)
        Domain of each row, 0..D-1, or -1 (a missing ``by`` value).
    labels : tuple of (dict or None)
        ``{column: value}`` of each domain, or ``(None,)`` for the whole
        population.
    """

    codes: np.ndarray
    labels: tuple[dict[str, Any] | None, ...]

    @property
    def count(self) -> int:
        """Number of domains."""
        return len(self.labels)


def domains(design: SurveyDesign, by: ByArg = None) -> Domains:
    """Partition the rows by the values of one or more columns.

    Parameters
    ----------
    design : SurveyDesign
    by : str, sequence of str, array, Series or DataFrame, optional
        Column name(s) of ``design.data`` (a string with commas is split),
        or the values themselves. ``None``: one domain, the population.

    Returns
    -------
    Domains
        Domains sorted by their values. Rows with a missing ``by`` value are
        in no domain; a domain whose rows all have weight zero is left out,
        as ``svyby`` does.

    Raises
    ------
    ValueError
        A missing column, or no row with a value of every ``by`` column.
    """
    n = design.n
    if by is None:
        return Domains(np.zeros(n, dtype=np.intp), (None,))
    frame = _by_frame(design, by)
    codes = np.zeros(n, dtype=np.int64)
    valid = np.ones(n, dtype=bool)
    level_values = []
    for col in frame.columns:
        try:
            c, levels = pd.factorize(frame[col], sort=True)
        except TypeError:
            c, levels = pd.factorize(frame[col].astype(str), sort=True)
        if not len(levels):
            raise ValueError(f"by: column '{col}' has no value in any row")
        valid &= c >= 0
        codes = codes * max(len(levels), 1) + np.maximum(c, 0)
        level_values.append(levels)
    if not valid.any():
        names = ", ".join(f"'{col}'" for col in frame.columns)
        raise ValueError(f"by: no row has a value in every one of the columns {names}")
    sizes = [max(len(v), 1) for v in level_values]
    valid_and_weighted = valid & (design.weights != 0)
    n_keys = int(np.prod(sizes, dtype=np.float64))
    out = np.full(n, -1, dtype=np.intp)
    if n_keys <= max(4 * n, 1 << 20):
        keys = np.flatnonzero(np.bincount(codes[valid_and_weighted], minlength=n_keys))
        lookup = np.full(n_keys, -1, dtype=np.intp)
        lookup[keys] = np.arange(keys.shape[0])
        out[valid] = lookup[codes[valid]]
    else:
        keys = np.unique(codes[valid_and_weighted])
        pos = np.searchsorted(keys, codes)
        hit = valid & (pos < keys.shape[0])
        hit[hit] = keys[pos[hit]] == codes[hit]
        out[hit] = pos[hit]
    labels = []
    for key in keys:
        idx = np.unravel_index(int(key), sizes)
        labels.append(
            {
                str(col): _py(level_values[j][i])
                for j, (col, i) in enumerate(zip(frame.columns, idx, strict=True))
            }
        )
    return Domains(out, tuple(labels))


def _by_frame(design: SurveyDesign, by: ByArg) -> pd.DataFrame:
    if isinstance(by, pd.DataFrame):
        frame = by.reset_index(drop=True)
    elif isinstance(by, str) or (
        isinstance(by, Sequence) and not isinstance(by, str) and all(isinstance(b, str) for b in by)
    ):
        names = [p.strip() for p in by.split(",")] if isinstance(by, str) else list(by)
        data = _require_data(design, "by")
        for col in names:
            if col not in data.columns:
                raise ValueError(f"by: column '{col}' is missing")
        frame = data[names].reset_index(drop=True)
    else:
        values = by if isinstance(by, pd.Series) else pd.Series(np.asarray(by))
        name = values.name if isinstance(values.name, str) else "by"
        frame = pd.DataFrame({name: values.to_numpy()})
    if len(frame) != design.n:
        raise ValueError(f"by: expected {design.n} values, got {len(frame)}")
    return frame


# ------------------------------------------------------------------ helpers
def _require_data(design: SurveyDesign, name: str) -> pd.DataFrame:
    if design.data is None:
        raise ValueError(
            f"{name}: a column name needs a design built with SurveyDesign.from_frame; "
            "pass the values instead"
        )
    return design.data


def _values(design: SurveyDesign, y: Any, name: str | None, arg: str) -> tuple[pd.Series, str]:
    """The variable as a Series of length n, and its name."""
    if not isinstance(design, SurveyDesign):
        raise TypeError(f"design: expected a SurveyDesign, got {type(design).__name__}")
    if isinstance(y, str):
        data = _require_data(design, arg)
        if y not in data.columns:
            raise ValueError(f"{arg}: column '{y}' is missing")
        series = data[y].reset_index(drop=True)
        return series, name or y
    if _is_names(y):
        names = ", ".join(repr(v) for v in y)
        raise ValueError(
            f"{arg}: expected one column, got {len(y)} ({names}); estimate several "
            "together with mean(design, [...]) or joint_estimate(design, statistic, [...])"
        )
    if isinstance(y, pd.Series):
        series = y.reset_index(drop=True)
        label = name or (str(y.name) if y.name is not None else arg)
    else:
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise ValueError(f"{arg}: expected one value per row, got shape {arr.shape}")
        series = pd.Series(arr)
        label = name or arg
    if len(series) != design.n:
        raise ValueError(
            f"{arg}: expected {design.n} values (one per row of the design) or a column "
            f"name, got {len(series)} values"
        )
    return series, label


def _is_names(y: Any) -> bool:
    """Whether ``y`` is a list or tuple of column names."""
    return isinstance(y, list | tuple) and len(y) > 0 and all(isinstance(v, str) for v in y)


def _numeric(series: pd.Series, label: str, arg: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        raise ValueError(
            f"{arg}: column '{label}' is not numeric (value {series[bad].iloc[0]!r}); "
            "use proportion() for a categorical variable"
        )
    values = converted.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():
        raise ValueError(f"{arg}: column '{label}' has infinite values")
    return values


def _variable(design: SurveyDesign, series: pd.Series, label: str, arg: str) -> np.ndarray:
    """A numeric variable with some valid value and weighted sums that stay finite."""
    values = _numeric(series, label, arg)
    _require_answers(~np.isnan(values), label, arg)
    check_weighted_size(values, design.weights, arg, label)
    return values


def _require_answers(answered: np.ndarray, label: str, arg: str) -> None:
    """Refuse a variable missing in every row: nothing can be estimated from it."""
    if not answered.any():
        raise ValueError(f"{arg}: column '{label}' has no valid value (missing in every row)")


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _level_name(value: Any) -> str:
    value = _py(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class _Context:
    """Domain bookkeeping shared by the estimators."""

    design: SurveyDesign
    dom: Domains
    answered: np.ndarray  # (n,) bool: the row has every value the statistic needs
    codes: np.ndarray  # (n,) domain code among answered rows, else -1
    n_answered: np.ndarray  # (D,)
    n_nonzero: np.ndarray  # (D,) answered rows with weight != 0
    n_domain: np.ndarray  # (D,) rows of the domain
    any_missing: np.ndarray  # (D,) bool
    df: np.ndarray  # (D,)
    variance: DomainVariance | _CalibratedVariance

    @classmethod
    def build(cls, design: SurveyDesign, by: ByArg, answered: np.ndarray) -> _Context:
        dom = domains(design, by)
        d = dom.count
        in_dom = dom.codes >= 0
        codes = np.where(answered & in_dom, dom.codes, -1)
        n_answered = np.bincount(codes[codes >= 0], minlength=d)
        nz = codes[(codes >= 0) & (design.weights != 0)]
        n_nonzero = np.bincount(nz, minlength=d)
        if _is_calibrated(design):
            # R's subset of a calibrated design keeps every row (weight zero).
            n_domain = np.full(d, design.n)
            variance: DomainVariance | _CalibratedVariance = _CalibratedVariance(design, codes, d)
        else:
            n_domain = np.bincount(dom.codes[in_dom], minlength=d)
            variance = DomainVariance(design, codes, d)
        any_missing = np.bincount(dom.codes[in_dom & ~answered], minlength=d) > 0
        df = _domain_df(design, dom.codes, d)
        return cls(
            design,
            dom,
            answered,
            codes,
            n_answered,
            n_nonzero,
            n_domain,
            any_missing,
            df,
            variance,
        )

    @cached_property
    def slot(self) -> np.ndarray:
        """``codes + 1``: 0 for rows outside every answered domain."""
        return self.codes + 1

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Weighted domain sums of ``values`` over answered rows."""
        weighted = values * self.design.weights
        return np.bincount(self.slot, weights=weighted, minlength=self.dom.count + 1)[1:]

    def per_row(self, per_domain: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Broadcast a per-domain array to rows (``fill`` outside the answered domain rows)."""
        return np.concatenate([[fill], per_domain])[self.slot]


def _is_calibrated(design: SurveyDesign) -> bool:
    """Whether the design carries a calibration (``analysis.calibration.CalibratedDesign``)."""
    return hasattr(design, "adjust_scores") and hasattr(design, "uncalibrated_view")


class _CalibratedVariance:
    """Domain variances of a calibrated design: dense domain columns, calibration residuals.

    The calibration residuals mix rows across domains, so each domain's
    estimating function is adjusted as a whole column (R's ``svyrecvar`` with
    ``postStrata``), and every stratum stays in the design (R keeps all rows
    of a calibrated design in ``subset``).
    """

    def __init__(self, design: SurveyDesign, codes: np.ndarray, n_domains: int) -> None:
        self.design = design
        self.codes = codes
        self.n_domains = n_domains

    def variances(self, z: np.ndarray) -> np.ndarray:
        inside = self.codes[:, None] == np.arange(self.n_domains)[None, :]
        columns = np.where(inside, np.asarray(z, dtype=float)[:, None], 0.0)
        adjusted = self.design.adjust_scores(columns)  # type: ignore[attr-defined]
        view = self.design.uncalibrated_view()  # type: ignore[attr-defined]
        return np.diag(taylor_covariance(view, adjusted)).copy()


def _domain_df(design: SurveyDesign, codes: np.ndarray, n_domains: int) -> np.ndarray:
    """PSUs minus strata per domain, counting rows with non-zero weight (R ``degf``)."""
    stage = design.stages[0]
    width = n_domains + 1
    slot = np.where(design.weights != 0, codes + 1, 0)
    counts = []
    for ids, size in (
        (stage.units, stage.unit_group.shape[0]),
        (stage.groups, stage.n_units.shape[0]),
    ):
        if size * width <= max(4 * design.n, 1 << 22):
            present = np.bincount(ids * width + slot, minlength=size * width).reshape(size, width)
            counts.append((present[:, 1:] > 0).sum(axis=0))
        else:
            keep = slot > 0
            pairs = np.unique(ids[keep].astype(np.int64) * width + slot[keep])
            counts.append(np.bincount(pairs % width - 1, minlength=n_domains))
    return counts[0] - counts[1]


def _srs_variance(ctx: _Context, z_centred: np.ndarray, wsum: np.ndarray) -> np.ndarray:
    """R's ``svyvar`` of a variable already centred at its domain mean."""
    nobs = ctx.n_nonzero.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = ctx.sums(z_centred * z_centred) / wsum * nobs / (nobs - 1)
    return s2


def _finish(
    ctx: _Context,
    statistic: str,
    variables: list[str],
    estimates: np.ndarray,
    variances: np.ndarray,
    deffs: np.ndarray,
    z: np.ndarray,
    na_rm: bool,
    single: bool,
) -> Estimate | EstimateTable:
    """Assemble estimates (variables x domains) into result objects."""
    out = []
    column = []
    domain = []
    for d, label in enumerate(ctx.dom.labels):
        for j, var in enumerate(variables):
            est, v, deff = estimates[j, d], variances[j, d], deffs[j, d]
            if ctx.n_answered[d] == 0 or (not na_rm and ctx.any_missing[d]):
                est, v, deff = np.nan, np.nan, np.nan
            out.append(
                Estimate(
                    variable=var,
                    domain=label,
                    estimate=float(est),
                    se=float(np.sqrt(v)) if v >= 0 else float("nan"),
                    df=int(ctx.df[d]),
                    deff=None if not np.isfinite(deff) else float(deff),
                    n=int(ctx.n_answered[d]),
                    statistic=statistic,
                    n_domain=int(ctx.n_domain[d]),
                )
            )
            column.append(j)
            domain.append(d if label is not None else -1)
    if single and len(out) == 1:
        return out[0]
    lin = _Linearization(ctx.design, z, ctx.codes, np.asarray(column), np.asarray(domain))
    return EstimateTable(tuple(out), lin)


def _mean_of_columns(
    ctx: _Context, columns: np.ndarray, statistic: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Means, variances, deffs and estimating functions of columns (n, L)."""
    d = ctx.dom.count
    n_cols = columns.shape[1]
    wsum = ctx.sums(np.ones(ctx.design.n))
    est = np.empty((n_cols, d))
    var = np.empty((n_cols, d))
    deff = np.empty((n_cols, d))
    z = np.zeros((ctx.design.n, n_cols))
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(n_cols):
            y = np.where(ctx.answered, columns[:, j], 0.0)
            m = ctx.sums(y) / wsum
            centred = np.where(ctx.codes >= 0, y - ctx.per_row(m), 0.0)
            zj = centred / ctx.per_row(np.where(wsum > 0, wsum, 1.0), fill=1.0)
            v = ctx.variance.variances(zj)
            vsrs = (
                _srs_variance(ctx, centred, wsum) * (wsum - ctx.n_nonzero) / (wsum * ctx.n_nonzero)
            )
            vsrs = np.where(wsum < ctx.n_nonzero, np.nan, vsrs)
            est[j], var[j], deff[j] = m, v, v / vsrs
            z[:, j] = zj
    return est, var, deff, z


# --------------------------------------------------------------- estimators
def _on_replicates(
    design: ReplicateDesign, statistic: str, y: Any, by: ByArg, denominator: Any = None
) -> Estimate | EstimateTable:
    """A replicate-weight design: the estimate from each weight column (R ``svrVar``).

    ``deff`` is not defined there and is left None.
    """
    from analysis.contrast import joint_estimate  # contrast imports this module

    return joint_estimate(design, statistic, y, by=by, denominator=denominator).to_result()


def mean(
    design: SurveyDesign | ReplicateDesign,
    y: Any,
    *,
    by: ByArg = None,
    na_rm: bool = True,
    name: str | None = None,
) -> Estimate | EstimateTable:
    """Weighted mean with its Taylor standard error (R ``svymean``/``svyby``).

    Parameters
    ----------
    design : SurveyDesign
    y : str or array_like
        Column name of ``design.data`` or one numeric value per row; NaN is
        missing.
    by : str, sequence of str or array_like, optional
        Domains (see :func:`domains`).
    na_rm : bool, default True
        Estimate over the rows with an answer (R ``na.rm=TRUE``: a domain of
        the design). With False, a domain with a missing value gets NaN.
    name : str, optional
        Variable name for the result (default: the column name, or ``"y"``).

    Returns
    -------
    Estimate or EstimateTable
        An :class:`Estimate` for one variable without ``by``; otherwise an
        :class:`EstimateTable` with one row per domain and variable.

    Notes
    -----
    Several variables (``y=["a1", "a2"]``) are estimated together, as R's
    ``svymean(~a1 + a2, design, na.rm=TRUE)``: over the rows that have all
    of them (complete cases), and the table's ``vcov()`` gives their
    covariance. Estimate each in its own call to use each variable's own
    answers.

    ``deff`` is R's ``deff=TRUE``: the variance over
    ``s^2 (N - n) / (N n)`` where ``s^2`` is the weighted variance with
    divisor ``n - 1``, ``N`` the sum of weights and ``n`` the rows with
    non-zero weight (NaN, reported as None, when ``N < n``).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import SurveyDesign, mean
    >>> df = pd.DataFrame({"w": [1.0, 2, 3, 4], "y": [1.0, 2, 3, 4]})
    >>> d = SurveyDesign.from_frame(df, weights="w")
    >>> round(mean(d, "y").estimate, 4)
    3.0
    """
    if isinstance(design, ReplicateDesign):
        return _on_replicates(design, "mean", y, by)
    if _is_names(y):
        return _means_of_several(design, list(y), by, na_rm, name)
    series, label = _values(design, y, name, "y")
    values = _variable(design, series, label, "y")
    ctx = _Context.build(design, by, ~np.isnan(values))
    est, var, deff, z = _mean_of_columns(ctx, values[:, None], "mean")
    return _finish(ctx, "mean", [label], est, var, deff, z, na_rm, by is None)


def _means_of_several(
    design: SurveyDesign, columns: list[str], by: ByArg, na_rm: bool, name: str | None
) -> EstimateTable:
    """Means of several columns over their complete cases (R ``svymean(~a + b, na.rm=TRUE)``)."""
    if name is not None:
        raise ValueError("name: only for one variable; several are named by their columns")
    values = np.column_stack(
        [_variable(design, *_values(design, col, None, "y"), "y") for col in columns]
    )
    complete = ~np.isnan(values).any(axis=1)
    if not complete.any():
        names = ", ".join(f"'{col}'" for col in columns)
        raise ValueError(f"y: no row has a value of every one of the columns {names}")
    ctx = _Context.build(design, by, complete)
    est, var, deff, z = _mean_of_columns(ctx, values, "mean")
    return _finish(ctx, "mean", columns, est, var, deff, z, na_rm, single=False)  # type: ignore[return-value]


def total(
    design: SurveyDesign | ReplicateDesign,
    y: Any,
    *,
    by: ByArg = None,
    na_rm: bool = True,
    name: str | None = None,
) -> Estimate | EstimateTable:
    """Weighted total with its Taylor standard error (R ``svytotal``/``svyby``).

    Parameters
    ----------
    design : SurveyDesign
    y : str or array_like
        Column name or one numeric value per row; NaN is missing.
    by : optional
        Domains (see :func:`domains`).
    na_rm : bool, default True
        Leave out missing values (R ``na.rm=TRUE``).
    name : str, optional
        Variable name for the result.

    Returns
    -------
    Estimate or EstimateTable

    Notes
    -----
    ``deff`` is R's: the variance over ``s^2 N^2 (N - n) / (N n)``.
    """
    if isinstance(design, ReplicateDesign):
        return _on_replicates(design, "total", y, by)
    series, label = _values(design, y, name, "y")
    values = _variable(design, series, label, "y")
    ctx = _Context.build(design, by, ~np.isnan(values))
    y0 = np.where(ctx.codes >= 0, values, 0.0)
    wsum = ctx.sums(np.ones(design.n))
    est = ctx.sums(y0)
    var = ctx.variance.variances(y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        centred = np.where(ctx.codes >= 0, y0 - ctx.per_row(est / wsum), 0.0)
        nobs = ctx.n_nonzero
        vsrs = _srs_variance(ctx, centred, wsum) * wsum**2 * (wsum - nobs) / (wsum * nobs)
        deff = var / vsrs
    return _finish(
        ctx, "total", [label], est[None], var[None], deff[None], y0[:, None], na_rm, by is None
    )


def proportion(
    design: SurveyDesign | ReplicateDesign,
    y: Any,
    *,
    by: ByArg = None,
    na_rm: bool = True,
    name: str | None = None,
    levels: Sequence[Any] | None = None,
) -> Estimate | EstimateTable:
    """Proportion of an indicator, or of each level of a categorical variable.

    Parameters
    ----------
    design : SurveyDesign
    y : str or array_like
        A 0/1 (or boolean) indicator: one estimate, the share of 1s, named
        after the column. Anything else: one estimate per level, named
        ``"COLUMN=LEVEL"`` (levels sorted, or the categories of a pandas
        categorical, or ``levels``). Missing values are NaN/None.
    by : optional
        Domains (see :func:`domains`).
    na_rm : bool, default True
        Leave out missing values (R ``na.rm=TRUE``).
    name : str, optional
        Variable name for the result.
    levels : sequence, optional
        The levels to report (forces the categorical form).

    Returns
    -------
    Estimate or EstimateTable
        A single :class:`Estimate` for an indicator without ``by``; a table
        otherwise (levels within domains).

    Notes
    -----
    The same as R's ``svymean(~factor(y), design, na.rm=TRUE, deff=TRUE)``
    (or of the indicator). Use ``estimate.ci(method="logit")`` or
    ``"beta"`` for R's ``svyciprop`` intervals.
    """
    if isinstance(design, ReplicateDesign):
        return _on_replicates(design, "proportion", y, by)
    series, label = _values(design, y, name, "y")
    answered = series.notna().to_numpy()
    _require_answers(answered, label, "y")
    indicator = levels is None and _is_indicator(series)
    if indicator:
        values = _numeric(series, label, "y")
        columns = values[:, None]
        variables = [label]
    else:
        if levels is None:
            if isinstance(series.dtype, pd.CategoricalDtype):
                levels = list(series.cat.categories)
            else:
                try:
                    levels = sorted(series[answered].unique())
                except TypeError:
                    levels = sorted(series[answered].astype(str).unique())
                    series = series.where(~answered, series.astype(str))
        if not levels:
            raise ValueError(f"levels: no level given for column '{label}'")
        columns = np.column_stack(
            [(series == lev).to_numpy(dtype=float, na_value=0.0) for lev in levels]
        )
        variables = [f"{label}={_level_name(lev)}" for lev in levels]
    ctx = _Context.build(design, by, answered)
    est, var, deff, z = _mean_of_columns(ctx, columns, "proportion")
    return _finish(ctx, "proportion", variables, est, var, deff, z, na_rm, by is None and indicator)


def _is_indicator(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series.dtype):
        return True
    if isinstance(series.dtype, pd.CategoricalDtype):
        return False
    values = pd.to_numeric(series.dropna(), errors="coerce")
    if values.isna().any() or values.empty:
        return False
    return bool(values.isin([0, 1]).all())


def ratio(
    design: SurveyDesign | ReplicateDesign,
    numerator: Any,
    denominator: Any,
    *,
    by: ByArg = None,
    na_rm: bool = True,
    name: str | None = None,
) -> Estimate | EstimateTable:
    """Ratio of two totals, ``Y / X``, with its Taylor standard error (R ``svyratio``).

    Parameters
    ----------
    design : SurveyDesign
    numerator, denominator : str or array_like
        Column names or one numeric value per row.
    by : optional
        Domains (see :func:`domains`).
    na_rm : bool, default True
        Use the rows where both are present (R ``na.rm=TRUE``).
    name : str, optional
        Variable name for the result (default ``"NUM/DEN"``).

    Returns
    -------
    Estimate or EstimateTable

    Notes
    -----
    The estimating function is ``(y - R x) / X``. ``deff`` is R's
    ``svyratio(..., deff=TRUE)``: the design effect of the total of that
    estimating function.
    """
    if isinstance(design, ReplicateDesign):
        return _on_replicates(design, "ratio", numerator, by, denominator)
    num_s, num_label = _values(design, numerator, None, "numerator")
    den_s, den_label = _values(design, denominator, None, "denominator")
    y = _variable(design, num_s, num_label, "numerator")
    x = _variable(design, den_s, den_label, "denominator")
    label = name or f"{num_label}/{den_label}"
    both = ~np.isnan(y) & ~np.isnan(x)
    if not both.any():
        raise ValueError(f"ratio: no row has values of both '{num_label}' and '{den_label}'")
    ctx = _Context.build(design, by, both)
    inside = ctx.codes >= 0
    y0 = np.where(inside, y, 0.0)
    x0 = np.where(inside, x, 0.0)
    wsum = ctx.sums(np.ones(design.n))
    with np.errstate(divide="ignore", invalid="ignore"):
        ytot, xtot = ctx.sums(y0), ctx.sums(x0)
        r = ytot / xtot
        z = np.where(inside, (y0 - ctx.per_row(r) * x0) / ctx.per_row(xtot, fill=1.0), 0.0)
        var = ctx.variance.variances(z)
        centred = np.where(inside, z - ctx.per_row(ctx.sums(z) / wsum), 0.0)
        nobs = ctx.n_nonzero
        vsrs = _srs_variance(ctx, centred, wsum) * wsum**2 * (wsum - nobs) / (wsum * nobs)
        deff = var / vsrs
    return _finish(
        ctx, "ratio", [label], r[None], var[None], deff[None], z[:, None], na_rm, by is None
    )
