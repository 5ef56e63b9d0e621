"""Joint estimates with their covariance, and linear contrasts of them (R ``svycontrast``).

A contrast is any linear combination ``c' theta`` of estimates ``theta``:
the difference between two domains (waves, provinces, desks), a weighted
sum of several means, the change of an index. Its variance is
``c' V c``, which needs the joint covariance ``V`` of the estimates, not only
their standard errors.

:func:`joint_estimate` computes means, totals, proportions or ratios of one
or more variables, optionally in domains, together with their full
covariance matrix, for every kind of design of this package:

* a :class:`~analysis.design.SurveyDesign`: Taylor linearisation, one
  estimating function per estimate, one call of
  :func:`~analysis.variance.taylor_covariance`, so covariances between
  variables and between domains that share PSUs are included;
* a :class:`~analysis.calibration.CalibratedDesign`: the same, with the
  calibrated variance (residuals on the calibration variables);
* a :class:`~analysis.replicate.ReplicateDesign`: the replicate estimates of
  all the statistics at once, and their replicate covariance (R
  ``svrVar``).

:func:`contrast` then gives the estimate, standard error, test statistic and
two-sided p-value of one or several contrasts; :func:`nonlinear_contrast`
does the same for a smooth function of the estimates (delta method, R's
``svycontrast`` with an expression). It also accepts an
:class:`~analysis.results.EstimateTable` (its covariance comes from
:meth:`~analysis.results.EstimateTable.vcov`) or plain arrays.
:func:`difference` gives the difference of two estimates from independent
samples (two waves), whose covariance is zero.

Notes
-----
R's ``svyby(..., covmat=TRUE)`` on a linearisation design sets the
covariance between different domains to zero. Here it is computed; it is
zero, and the results agree with R, when the domains do not share PSUs (for
instance when they are strata), and it is the correct value (R's
``svyratio(..., covmat=TRUE)`` or a replicate design give it) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from analysis._validate import option
from analysis.calibration import calibrated_covariance
from analysis.design import SurveyDesign
from analysis.estimators import _is_indicator, domains
from analysis.intervals import ConfidenceInterval, wald_interval
from analysis.replicate import ReplicateDesign, ratio_statistic, replicate_covariance
from analysis.results import Estimate, EstimateTable, _number, _rows_html, _rows_text

__all__ = [
    "Contrast",
    "ContrastTable",
    "JointEstimate",
    "contrast",
    "difference",
    "joint_estimate",
    "nonlinear_contrast",
]

_STATISTICS = ("mean", "total", "proportion", "ratio")

Coefficients = Sequence[float] | np.ndarray | Mapping[str, float]


# -------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class JointEstimate:
    """Several estimates with their joint covariance matrix.

    Attributes
    ----------
    labels : tuple of str
        Name of each estimate, used as the key of contrast coefficients:
        the variable (``"api00"``, ``"stype=E"``, ``"api00/api99"``)
        without domains; with domains, the domain's values joined by ``.``
        (``"E"``, ``"E.Yes"``), followed by ``:variable`` when there are
        several variables (``"E:api00"``), as R's ``svyby`` names them.
    variables : tuple of str
        The variable of each estimate.
    domains : tuple of (dict or None)
        The domain of each estimate, ``{column: value}``, or None.
    estimate : ndarray of float, shape (k,)
    covariance : ndarray of float, shape (k, k)
    df : int
        Degrees of freedom of the design (PSUs minus strata; for a
        replicate design the rank of the replicate weights minus one).
    n : ndarray of int, shape (k,)
        Rows that entered each estimate.
    domain_df : ndarray of int, shape (k,)
        Degrees of freedom of each estimate's domain, as R's ``svyby``
        passes them: PSUs minus strata with a row in the domain, or for a
        replicate design the rank of the domain's replicate weights minus
        one.
    statistic : str
        ``"mean"``, ``"total"``, ``"proportion"``, ``"ratio"`` or
        ``"estimate"`` (made from arrays).
    n_domain : ndarray of int, shape (k,), optional
        Rows of each estimate's domain, answered or not (for the ``beta``
        interval); ``n`` when not given.
    """

    labels: tuple[str, ...]
    variables: tuple[str, ...]
    domains: tuple[dict[str, Any] | None, ...]
    estimate: np.ndarray
    covariance: np.ndarray
    df: int | None
    n: np.ndarray
    domain_df: np.ndarray
    statistic: str = "estimate"
    n_domain: np.ndarray | None = None

    @property
    def se(self) -> np.ndarray:
        """Standard errors, the square roots of the covariance diagonal."""
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    def to_table(self) -> EstimateTable:
        """The estimates as an :class:`~analysis.results.EstimateTable` (``deff`` None)."""
        return EstimateTable(
            tuple(
                Estimate(
                    variable=self.variables[i],
                    domain=self.domains[i],
                    estimate=float(self.estimate[i]),
                    se=float(self.se[i]),
                    df=int(self.domain_df[i]),
                    deff=None,
                    n=int(self.n[i]),
                    statistic=self.statistic,
                    n_domain=int(self.n[i] if self.n_domain is None else self.n_domain[i]),
                )
                for i in range(len(self.labels))
            )
        )

    def to_result(self) -> Estimate | EstimateTable:
        """One :class:`~analysis.results.Estimate` if there is a single estimate
        without domain, else :meth:`to_table` (as the estimators return)."""
        table = self.to_table()
        if len(table) == 1 and self.domains[0] is None:
            return table[0]
        return table

    def contrast(self, coefficients: Any, *, names: Sequence[str] | None = None) -> Any:
        """Shortcut for :func:`contrast` of these estimates."""
        return contrast(self, coefficients, names=names)

    def __repr__(self) -> str:
        return (
            f"<JointEstimate: {len(self.labels)} {self.statistic} estimates and their "
            f"covariance, df {self.df}>"
        )

    def __str__(self) -> str:
        """The estimates as a table (their covariance is :attr:`covariance`)."""
        return str(self.to_table())

    def _repr_html_(self) -> str:
        return self.to_table()._repr_html_()

    @classmethod
    def from_arrays(
        cls,
        estimate: Sequence[float] | np.ndarray,
        covariance: np.ndarray,
        *,
        labels: Sequence[str] | None = None,
        df: int | None = None,
    ) -> JointEstimate:
        """Estimates and covariance computed elsewhere.

        Parameters
        ----------
        estimate : array_like, shape (k,)
        covariance : array_like, shape (k, k)
        labels : sequence of str, optional
            Names of the estimates (default ``"0"``, ``"1"``, ...).
        df : int, optional
            Degrees of freedom for the t test (None: normal only).

        Returns
        -------
        JointEstimate
        """
        est = np.atleast_1d(np.asarray(estimate, dtype=float))
        cov = np.atleast_2d(np.asarray(covariance, dtype=float))
        k = est.shape[0]
        if est.ndim != 1 or cov.shape != (k, k):
            raise ValueError(f"covariance: expected shape ({k}, {k}), got {cov.shape}")
        labs = tuple(str(i) for i in range(k)) if labels is None else tuple(map(str, labels))
        if len(labs) != k:
            raise ValueError(f"labels: expected {k} names, got {len(labs)}")
        dfv = -1 if df is None else int(df)
        return cls(
            labels=labs,
            variables=labs,
            domains=(None,) * k,
            estimate=est,
            covariance=cov,
            df=df,
            n=np.zeros(k, dtype=int),
            domain_df=np.full(k, dfv),
        )


@dataclass(frozen=True, slots=True)
class Contrast:
    """One linear contrast with its test.

    Attributes
    ----------
    name : str
        The contrast's name.
    estimate : float
        ``c' theta``.
    se : float
        ``sqrt(c' V c)``.
    df : int or None
        Degrees of freedom for the t test and interval (None: not known).
    statistic : float
        ``estimate / se`` (a z statistic; with ``df``, also a t statistic).
    pvalue : float
        Two-sided p-value on the normal distribution,
        ``2 * Phi(-|statistic|)``, as R's ``2*pnorm(-abs(est/se))``.
    pvalue_t : float
        Two-sided p-value on Student's t with ``df`` degrees of freedom
        (NaN if ``df`` is not known or not positive).
    """

    name: str
    estimate: float
    se: float
    df: int | None
    statistic: float
    pvalue: float
    pvalue_t: float

    def ci(self, level: float = 0.95, method: str = "wald") -> ConfidenceInterval:
        """Wald interval with the normal (``"wald"``) or t (``"wald-t"``) quantile."""
        method = option(method, "method", ("wald", "wald-t"))
        if method == "wald-t":
            df = float(self.df) if self.df is not None and self.df > 0 else 0.0
        else:
            df = None
        low, high = wald_interval(self.estimate, self.se, level, df)
        return ConfidenceInterval(float(low), float(high), level, method)


@dataclass(frozen=True, eq=False)
class ContrastTable(Sequence[Contrast]):
    """Several contrasts of the same estimates, with their joint covariance.

    Attributes
    ----------
    contrasts : tuple of Contrast
    covariance : ndarray, shape (m, m)
        Covariance of the contrasts, ``C V C'``.
    """

    contrasts: tuple[Contrast, ...]
    covariance: np.ndarray

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, str):
            for c in self.contrasts:
                if c.name == index:
                    return c
            raise KeyError(index)
        return self.contrasts[index]

    def __len__(self) -> int:
        return len(self.contrasts)

    @property
    def estimate(self) -> np.ndarray:
        """The contrast estimates."""
        return np.array([c.estimate for c in self.contrasts])

    @property
    def se(self) -> np.ndarray:
        """Their standard errors."""
        return np.array([c.se for c in self.contrasts])

    def to_frame(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """One row per contrast: name, estimate, se, ci_low, ci_high, df, statistic, p-values."""
        rows = []
        for c in self.contrasts:
            ci = c.ci(level, method)
            rows.append(
                {
                    "contrast": c.name,
                    "estimate": c.estimate,
                    "se": c.se,
                    "ci_low": ci.low,
                    "ci_high": ci.high,
                    "df": c.df,
                    "statistic": c.statistic,
                    "pvalue": c.pvalue,
                    "pvalue_t": c.pvalue_t,
                }
            )
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        """The contrasts as a table: estimate, SE, 95% Wald interval, z and p-values."""
        return _rows_text(*self._rows())

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        return _rows_html(*self._rows())

    def _rows(self) -> tuple[str, list[str], list[list[str]], int]:
        title = "contrasts (95% interval: estimate ± 1.96 SE; p-values normal and on t with df)"
        header = ["contrast", "estimate", "SE", "ci_low", "ci_high", "z", "p", "df", "p (t)"]
        rows = []
        for c in self.contrasts:
            ci = c.ci()
            rows.append(
                [
                    c.name,
                    *(_number(v) for v in (c.estimate, c.se, ci.low, ci.high)),
                    _number(c.statistic, 4),
                    _number(c.pvalue, 3),
                    "NA" if c.df is None else str(c.df),
                    _number(c.pvalue_t, 3),
                ]
            )
        return title, header, rows, 1


# ------------------------------------------------------------------ contrast
def contrast(
    estimates: JointEstimate | EstimateTable | Estimate | Sequence[float] | np.ndarray,
    coefficients: Coefficients | Sequence[Coefficients] | Mapping[str, Coefficients],
    *,
    covariance: np.ndarray | None = None,
    df: int | None = None,
    names: Sequence[str] | None = None,
) -> Contrast | ContrastTable:
    """Linear contrasts of estimates with standard errors and tests (R ``svycontrast``).

    Parameters
    ----------
    estimates : JointEstimate, EstimateTable, Estimate or array_like
        The estimates. An :class:`~analysis.results.EstimateTable` gives its
        covariance through ``vcov()``; arrays need ``covariance``.
    coefficients : array_like, mapping, or a sequence / mapping of them
        One contrast: a vector with one coefficient per estimate, or a
        mapping ``label -> coefficient`` (labels not named get 0; see
        :attr:`JointEstimate.labels`; for a table, ``variable`` without
        domains or the domain values joined by ``.``). Several contrasts: a
        2-D array, a sequence of vectors or mappings, or a mapping
        ``name -> vector or mapping``.
    covariance : ndarray, shape (k, k), optional
        Covariance of array estimates.
    df : int, optional
        Degrees of freedom for the t test; by default those of the
        estimates: the design's for a JointEstimate, the estimates' own if
        they all agree for a table (domains of different sizes do not: give
        the design's, ``design.df``), none for arrays.
    names : sequence of str, optional
        Names of the contrasts (default ``"contrast"`` for one; the mapping
        keys or ``"contrast1"``, ... for several).

    Returns
    -------
    Contrast or ContrastTable
        A :class:`Contrast` for a single vector or mapping of coefficients,
        a :class:`ContrastTable` for several.

    Raises
    ------
    ValueError
        Coefficients of the wrong length, unknown labels, or a covariance
        of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> c = contrast([3.0, 1.0], [1, -1], covariance=np.diag([1.0, 3.0]))
    >>> c.estimate, c.se
    (2.0, 2.0)
    """
    joint = _as_joint(estimates, covariance, df)
    matrix, contrast_names, single = _coefficient_matrix(coefficients, joint.labels)
    if names is not None:
        contrast_names = [str(n) for n in names]
        if len(contrast_names) != matrix.shape[0]:
            raise ValueError(f"names: expected {matrix.shape[0]} names, got {len(contrast_names)}")
    dfv = joint.df if df is None else int(df)
    est = matrix @ joint.estimate
    cov = matrix @ joint.covariance @ matrix.T
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    p = 2.0 * special.ndtr(-np.abs(z))  # the normal tail, as scipy.stats.norm.sf
    if dfv is not None and dfv > 0:
        pt = 2.0 * special.stdtr(dfv, -np.abs(z))  # as scipy.stats.t.sf
    else:
        pt = np.full(z.shape, np.nan)
    items = tuple(
        Contrast(
            name=contrast_names[i],
            estimate=float(est[i]),
            se=float(se[i]),
            df=dfv,
            statistic=float(z[i]),
            pvalue=float(p[i]),
            pvalue_t=float(pt[i]),
        )
        for i in range(est.shape[0])
    )
    if single:
        return items[0]
    return ContrastTable(items, cov)


def nonlinear_contrast(
    estimates: JointEstimate | EstimateTable | Estimate | Sequence[float] | np.ndarray,
    function: Callable[[Mapping[str, float]], float],
    *,
    gradient: Callable[[Mapping[str, float]], Sequence[float] | Mapping[str, float]] | None = None,
    covariance: np.ndarray | None = None,
    df: int | None = None,
    name: str = "contrast",
) -> Contrast:
    """A smooth function of estimates, with its delta-method standard error.

    R's ``svycontrast(stat, quote(expression))``: the estimate is
    ``f(theta)`` and its variance ``g' V g`` with ``g`` the gradient of
    ``f`` at ``theta``.

    Parameters
    ----------
    estimates : JointEstimate, EstimateTable, Estimate or array_like
        As for :func:`contrast`.
    function : callable
        Receives a mapping ``label -> estimate`` (see
        :attr:`JointEstimate.labels`) and returns a number, e.g.
        ``lambda e: (e["E"] - e["H"]) / e["H"]``.
    gradient : callable, optional
        Receives the same mapping and returns the partial derivatives, as a
        vector (one per estimate) or a mapping ``label -> derivative``
        (others 0). By default central finite differences with a step of
        ``1e-5`` times each estimate (relative error about 1e-10).
    covariance : ndarray, optional
        Covariance of array estimates.
    df : int, optional
        Degrees of freedom for the t test (see :func:`contrast`).
    name : str, default "contrast"
        Name of the result.

    Returns
    -------
    Contrast

    Raises
    ------
    ValueError
        If ``function`` does not return a finite number or the gradient has
        the wrong length.
    """
    joint = _as_joint(estimates, covariance, df)
    theta = joint.estimate
    labels = joint.labels

    def evaluate(values: np.ndarray) -> float:
        try:
            result = float(function(dict(zip(labels, values.tolist(), strict=True))))
        except KeyError as exc:
            known = ", ".join(repr(lab) for lab in labels)
            raise ValueError(
                f"function: no estimate is called {exc} (estimates: {known})"
            ) from None
        return result

    value = evaluate(theta)
    if not np.isfinite(value):
        raise ValueError(f"function: returned {value} at the estimates")
    if gradient is not None:
        given = gradient(dict(zip(labels, theta.tolist(), strict=True)))
        grad = _coefficient_row(given, labels, "gradient")
    else:
        grad = np.empty(theta.shape[0])
        for i in range(theta.shape[0]):
            step = 1e-5 * max(abs(theta[i]), 1e-8)
            up, down = theta.copy(), theta.copy()
            up[i] += step
            down[i] -= step
            grad[i] = (evaluate(up) - evaluate(down)) / (2.0 * step)
    joint_value = JointEstimate.from_arrays([value], grad @ joint.covariance @ grad, df=joint.df)
    return contrast(joint_value, [1.0], df=df, names=[name])


def _as_joint(estimates: Any, covariance: np.ndarray | None, df: int | None) -> JointEstimate:
    if isinstance(estimates, JointEstimate):
        return estimates
    if isinstance(estimates, Estimate):
        return JointEstimate.from_arrays(
            [estimates.estimate],
            np.array([[estimates.se**2]]),
            labels=[estimates.variable],
            df=estimates.df,
        )
    if isinstance(estimates, EstimateTable):
        cov = estimates.vcov() if covariance is None else covariance
        labels = _table_labels(estimates)
        dfs = {e.df for e in estimates}
        return JointEstimate.from_arrays(
            [e.estimate for e in estimates],
            cov,
            labels=labels,
            df=dfs.pop() if len(dfs) == 1 else df,
        )
    if covariance is None:
        raise ValueError("covariance: required when the estimates are given as numbers")
    return JointEstimate.from_arrays(estimates, covariance, df=df)


def _table_labels(table: EstimateTable) -> list[str]:
    variables = list(dict.fromkeys(e.variable for e in table))
    return [_label(e.variable, e.domain, len(variables) > 1) for e in table]


def _label(variable: str, domain: Mapping[str, Any] | None, several: bool) -> str:
    if domain is None:
        return variable
    key = ".".join(_text(v) for v in domain.values())
    return f"{key}:{variable}" if several else key


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _coefficient_matrix(
    coefficients: Any, labels: Sequence[str]
) -> tuple[np.ndarray, list[str], bool]:
    """Rows of contrast coefficients, their names, and whether there is one contrast."""
    k = len(labels)
    if (
        isinstance(coefficients, Mapping)
        and coefficients
        and all(
            isinstance(v, Mapping | Sequence | np.ndarray) and not isinstance(v, str)
            for v in coefficients.values()
        )
    ):
        rows = [
            _coefficient_row(v, labels, f"coefficients['{n}']") for n, v in coefficients.items()
        ]
        return np.vstack(rows), [str(n) for n in coefficients], False
    if isinstance(coefficients, Mapping):
        return _coefficient_row(coefficients, labels, "coefficients")[None, :], ["contrast"], True
    arr = None
    if not (
        isinstance(coefficients, Sequence)
        and coefficients
        and all(isinstance(c, Mapping) for c in coefficients)
    ):
        try:
            arr = np.asarray(coefficients, dtype=float)
        except (TypeError, ValueError):
            arr = None
    if arr is not None and arr.ndim == 1:
        return _coefficient_row(arr, labels, "coefficients")[None, :], ["contrast"], True
    if arr is not None and arr.ndim == 2:
        if arr.shape[1] != k:
            raise ValueError(f"coefficients: expected {k} columns, got {arr.shape[1]}")
        return arr, [f"contrast{i + 1}" for i in range(arr.shape[0])], False
    rows = [_coefficient_row(c, labels, f"coefficients[{i}]") for i, c in enumerate(coefficients)]
    return np.vstack(rows), [f"contrast{i + 1}" for i in range(len(rows))], False


def _coefficient_row(values: Any, labels: Sequence[str], name: str) -> np.ndarray:
    k = len(labels)
    if isinstance(values, Mapping):
        row = np.zeros(k)
        index = {lab: i for i, lab in enumerate(labels)}
        for key, coef in values.items():
            if str(key) not in index:
                known = ", ".join(repr(lab) for lab in labels)
                raise ValueError(f"{name}: no estimate is called {key!r} (estimates: {known})")
            row[index[str(key)]] = float(coef)
        return row
    try:
        row = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name}: coefficients must be numbers") from None
    if row.shape[0] != k:
        raise ValueError(f"{name}: expected {k} coefficients, got {row.shape[0]}")
    if not np.all(np.isfinite(row)):
        raise ValueError(f"{name}: coefficients must be finite numbers")
    return row


# ------------------------------------------------------------ joint estimates
def joint_estimate(
    design: SurveyDesign | ReplicateDesign,
    statistic: str,
    y: str | Sequence[str] | np.ndarray | pd.Series | pd.DataFrame,
    *,
    denominator: str | Sequence[str] | np.ndarray | None = None,
    by: Any = None,
) -> JointEstimate:
    """Estimates of one kind for several variables and domains, with their covariance.

    Parameters
    ----------
    design : SurveyDesign, CalibratedDesign or ReplicateDesign
        The design; its ``data`` holds the columns named.
    statistic : {"mean", "total", "proportion", "ratio"}
        ``proportion`` of a 0/1 or boolean column is the share of 1s; of
        any other column, one estimate per level (``"COLUMN=LEVEL"``).
    y : str, sequence of str, array, Series or DataFrame
        The variable(s): column names or values (one column per variable).
    denominator : str, sequence of str or array, optional
        For ``ratio``: the denominator of each variable (one, or one per
        variable).
    by : optional
        Domains, as for :func:`analysis.estimators.domains`.

    Returns
    -------
    JointEstimate
        Estimates ordered by domain, then variable (then level).

    Raises
    ------
    ValueError
        An unknown statistic, a missing or non-numeric column, or a ratio
        without denominator.

    Notes
    -----
    Missing values are handled as R's ``na.rm=TRUE`` for a call with
    several variables: a row enters the estimates when it has all the
    variables (and denominators), the complete cases. Estimate each
    variable in its own call to use each variable's own answers (their
    covariance is then not available).
    """
    option(statistic, "statistic", _STATISTICS)
    if not isinstance(design, SurveyDesign | ReplicateDesign):
        raise ValueError("design: expected a SurveyDesign or a ReplicateDesign")
    frame = _variables(design, y, "y")
    if statistic == "ratio":
        if denominator is None:
            raise ValueError("denominator: required for statistic='ratio'")
        den = _variables(design, denominator, "denominator")
        if den.shape[1] == 1 and frame.shape[1] > 1:
            den = pd.concat([den.iloc[:, 0]] * frame.shape[1], axis=1)
        if den.shape[1] != frame.shape[1]:
            raise ValueError(
                f"denominator: expected 1 or {frame.shape[1]} columns, got {den.shape[1]}"
            )
    elif denominator is not None:
        raise ValueError(f"denominator: only for statistic='ratio', not '{statistic}'")
    answered = frame.notna().all(axis=1).to_numpy()
    if statistic == "ratio":
        answered = answered & den.notna().all(axis=1).to_numpy()
    names, num = _columns(frame, statistic, answered)
    if statistic == "ratio":
        denom = np.column_stack(
            [
                _numeric(den.iloc[:, j], str(den.columns[j]), "denominator")
                for j in range(den.shape[1])
            ]
        )
        names = [f"{a}/{b}" for a, b in zip(frame.columns, den.columns, strict=True)]
    else:
        denom = np.ones_like(num)

    dom = domains(design, by)  # type: ignore[arg-type]
    codes = np.where(answered, dom.codes, -1)
    n_dom, n_var = dom.count, num.shape[1]
    # (n, D*V) columns: domain-major, variable-minor
    inside = codes[:, None] == np.arange(n_dom)[None, :]
    num0 = np.where(answered[:, None], num, 0.0)
    den0 = np.where(answered[:, None], denom, 0.0)
    big_num = (inside[:, :, None] * num0[:, None, :]).reshape(design.n, n_dom * n_var)
    big_den = (inside[:, :, None] * den0[:, None, :]).reshape(design.n, n_dom * n_var)
    if statistic == "total":
        big_den = None

    several = n_var > 1
    labels = []
    variables = []
    dom_labels = []
    for label in dom.labels:
        for var in names:
            labels.append(_label(var, label, several))
            variables.append(var)
            dom_labels.append(label)
    counts = np.bincount(codes[codes >= 0], minlength=n_dom)
    n = np.repeat(counts, n_var)
    in_domain = dom.codes >= 0
    n_domain = np.repeat(np.bincount(dom.codes[in_domain], minlength=n_dom), n_var)

    if isinstance(design, ReplicateDesign):
        if big_den is None:
            est, cov = replicate_covariance(design, lambda w: w.T @ big_num)
        else:
            est, cov = replicate_covariance(design, ratio_statistic(big_num, big_den))
        df = design.df
        per_domain = np.array(
            [design.domain_df(dom.codes == d) for d in range(n_dom)] if by is not None else [df]
        )
        domain_df = np.repeat(per_domain, n_var)
    else:
        w = design.weights
        if big_den is None:
            est = w @ big_num
            z = big_num
        else:
            top, bottom = w @ big_num, w @ big_den
            with np.errstate(divide="ignore", invalid="ignore"):
                est = top / bottom
                z = (big_num - big_den * est[None, :]) / bottom[None, :]
        cov = calibrated_covariance(design, z, domain=codes >= 0)
        df = design.df
        per_domain = np.array(
            [design.domain_df(dom.codes == d) for d in range(n_dom)] if by is not None else [df]
        )
        domain_df = np.repeat(per_domain, n_var)
    return JointEstimate(
        labels=tuple(labels),
        variables=tuple(variables),
        domains=tuple(dom_labels),
        estimate=np.asarray(est, dtype=float),
        covariance=np.asarray(cov, dtype=float),
        df=df,
        n=n,
        domain_df=domain_df,
        statistic=statistic,
        n_domain=n_domain,
    )


def _variables(design: SurveyDesign | ReplicateDesign, y: Any, arg: str) -> pd.DataFrame:
    """The variables as a data frame with one column per variable."""
    if isinstance(y, pd.DataFrame):
        frame = y.reset_index(drop=True)
    elif isinstance(y, pd.Series):
        frame = y.reset_index(drop=True).to_frame(name=str(y.name) if y.name is not None else arg)
    elif isinstance(y, str) or (
        isinstance(y, Sequence) and y and all(isinstance(v, str) for v in y)
    ):
        columns = [p.strip() for p in y.split(",")] if isinstance(y, str) else list(y)
        if design.data is None:
            raise ValueError(f"{arg}: column names need a design built from a data frame")
        for col in columns:
            if col not in design.data.columns:
                raise ValueError(f"{arg}: column '{col}' is missing")
        frame = design.data[columns].reset_index(drop=True)
    else:
        arr = np.asarray(y)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"{arg}: expected one value per row, got shape {arr.shape}")
        frame = pd.DataFrame(arr, columns=[arg] if arr.shape[1] == 1 else None)
        if arr.shape[1] > 1:
            frame.columns = [f"{arg}{i + 1}" for i in range(arr.shape[1])]
    if len(frame) != design.n:
        raise ValueError(f"{arg}: expected {design.n} values, got {len(frame)}")
    return frame


def _columns(
    frame: pd.DataFrame, statistic: str, answered: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Names and numeric columns of the estimates (levels for proportions)."""
    names: list[str] = []
    cols: list[np.ndarray] = []
    for col in frame.columns:
        series = frame[col]
        if statistic == "proportion" and not _is_indicator(series):
            kept = series[answered]
            if isinstance(series.dtype, pd.CategoricalDtype):
                levels = list(series.cat.categories)
            else:
                try:
                    levels = sorted(kept.unique())
                except TypeError:
                    series = series.astype(str)
                    levels = sorted(series[answered].unique())
            for level in levels:
                names.append(f"{col}={_text(level)}")
                cols.append((series == level).to_numpy(dtype=float, na_value=0.0))
        else:
            names.append(str(col))
            cols.append(_numeric(series, str(col), "y"))
    return names, np.column_stack(cols)


def _numeric(series: pd.Series, label: str, arg: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        raise ValueError(f"{arg}: column '{label}' is not numeric (value {series[bad].iloc[0]!r})")
    return converted.to_numpy(dtype=float, na_value=np.nan)


# ---------------------------------------------------------------- difference
def difference(
    a: Estimate, b: Estimate, *, df: int | None = None, name: str = "difference"
) -> Contrast:
    """The difference ``a - b`` of two estimates from independent samples.

    Two survey waves draw their samples separately, so their estimates have
    no covariance and the variance of the difference is the sum of the
    variances, ``se = sqrt(se_a**2 + se_b**2)``. For two domains of one
    design use :func:`contrast` on their joint covariance instead (they may
    share PSUs and strata).

    Parameters
    ----------
    a, b : Estimate
        The two estimates, each with its own design-based standard error.
    df : int, optional
        Degrees of freedom of the t test (:attr:`Contrast.pvalue_t`,
        ``ci(method="wald-t")``). By default ``a.df + b.df``: the PSUs minus
        the strata of the two designs together, which is what R gives when
        the two samples are stacked into one design with each sample's
        strata kept apart (``svyby(~y, ~wave, ...)``, ``svycontrast``,
        ``degf``): those domains share no stratum, so their covariance is
        zero and the variance of the difference is again the sum.
    name : str, default "difference"
        Name of the result.

    Returns
    -------
    Contrast
        ``estimate = a - b``; ``statistic`` its z (or t) value; ``pvalue``
        the two-sided normal p-value (the default test, as R's
        ``svycontrast`` and ``confint``), ``pvalue_t`` the one on Student's
        t with ``df``.

    Raises
    ------
    ValueError
        If either estimate or standard error is not a finite number.

    Notes
    -----
    Independence holds for separately drawn samples. If the same PSUs were
    kept in both waves on purpose (a panel of desks) and their effects
    persist, the covariance is positive and this standard error is too
    large: the test is conservative.

    Examples
    --------
    >>> from analysis.results import Estimate
    >>> a = Estimate("overall", None, 0.80, 0.03, 10, None, 300)
    >>> b = Estimate("overall", None, 0.76, 0.04, 12, None, 250)
    >>> d = difference(a, b)
    >>> round(d.estimate, 10), round(d.se, 10), d.df
    (0.04, 0.05, 22)
    """
    for label, e in (("a", a), ("b", b)):
        if not isinstance(e, Estimate):
            raise ValueError(f"{label}: expected an Estimate, got {type(e).__name__}")
        if not (np.isfinite(e.estimate) and np.isfinite(e.se)):
            raise ValueError(
                f"{label}: estimate and standard error must be finite numbers "
                f"(got {e.estimate!r} and {e.se!r})"
            )
    dfv = a.df + b.df if df is None else int(df)
    joint = JointEstimate.from_arrays(
        [a.estimate, b.estimate], np.diag([a.se**2, b.se**2]), labels=["a", "b"], df=dfv
    )
    return contrast(joint, [1.0, -1.0], names=[name])
