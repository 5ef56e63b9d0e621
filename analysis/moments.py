"""The variance of a variable (R ``svyvar``) and the design-based t test (R ``svyttest``).

``variance`` estimates the population variance of a variable, with the
``n - 1`` divisor, and its standard error: R's ``svyvar``, which is the
``svymean`` of ``(y - ybar)^2 n / (n - 1)``, ``n`` the rows with non-zero
weight (in the domain).

``ttest`` compares the means of a variable in two groups: R's
``svyttest(y ~ group, design)``, which fits ``svyglm(y ~ group)`` and tests
the group's coefficient, the difference of the two means, with Student's t
on the model's residual degrees of freedom (the design's, minus one). Its
standard error is that of the difference of the two domain means.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.design import SurveyDesign
from analysis.estimators import (
    ByArg,
    _Context,
    _finish,
    _level_name,
    _mean_of_columns,
    _py,
    _values,
    _variable,
)
from analysis.intervals import ConfidenceInterval, _check_level, wald_interval
from analysis.results import Estimate, EstimateTable, _clean, _number

__all__ = ["TTest", "ttest", "variance"]


def variance(
    design: SurveyDesign,
    y: Any,
    *,
    by: ByArg = None,
    na_rm: bool = True,
    name: str | None = None,
) -> Estimate | EstimateTable:
    """Population variance of a variable with its standard error (R ``svyvar``).

    Parameters
    ----------
    design : SurveyDesign
    y : str or array_like
        Column name of ``design.data`` or one numeric value per row; NaN is
        missing.
    by : optional
        Domains (see :func:`analysis.domains`), as ``svyby(..., svyvar)``.
    na_rm : bool, default True
        Leave out the missing values (R ``na.rm=TRUE``).
    name : str, optional
        Variable name for the result.

    Returns
    -------
    Estimate or EstimateTable
        With ``statistic="variance"``; ``deff`` is None (R's ``svyvar``
        gives none).

    Notes
    -----
    As R, the ``n`` of the ``n / (n - 1)`` factor counts the rows with
    non-zero weight of the domain, those with a missing value among them.
    The standard error treats the mean as known, as R's does (the variance's
    derivative with respect to the mean is zero at the mean).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import SurveyDesign, variance
    >>> df = pd.DataFrame({"w": [1.0, 1, 1, 1], "y": [1.0, 2, 3, 4]})
    >>> round(variance(SurveyDesign.from_frame(df, weights="w"), "y").estimate, 4)
    1.6667
    """
    _require_taylor(design, "variance")
    series, label = _values(design, y, name, "y")
    values = _variable(design, series, label, "y")
    ctx = _Context.build(design, by, ~np.isnan(values))
    n_dom = ctx.dom.count
    in_domain = ctx.dom.codes >= 0
    nonzero = np.bincount(ctx.dom.codes[in_domain & (design.weights != 0)], minlength=n_dom).astype(
        float
    )
    inside = ctx.codes >= 0
    y0 = np.where(inside, values, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = ctx.sums(y0) / ctx.sums(np.ones(design.n))
        factor = nonzero / (nonzero - 1.0)
        dev = np.where(inside, y0 - ctx.per_row(centre), 0.0)
        squares = dev * dev * ctx.per_row(factor, fill=1.0)
    est, var, _, z = _mean_of_columns(ctx, squares[:, None], "variance")
    no_deff = np.full_like(est, np.nan)
    return _finish(ctx, "variance", [label], est, var, no_deff, z, na_rm, by is None)


@dataclass(frozen=True)
class TTest:
    """A design-based t test of the difference of a mean between two groups.

    Attributes
    ----------
    variable : str
        The variable whose means are compared.
    group : str
        The column that makes the groups.
    levels : tuple
        The two groups, in order (sorted, as R's factor levels).
    means : tuple of float
        The mean of the variable in each group.
    estimate : float
        The difference ``means[1] - means[0]`` (R's "difference in mean").
    se : float
        Its design-based standard error.
    statistic : float
        ``estimate / se``, Student's t.
    df : int
        Degrees of freedom: the design's (PSUs minus strata of the rows
        used) minus one, as R's ``svyglm`` residual df.
    p_value : float
        Two-sided: ``2 P(T_df > |t|)``.
    ci_low, ci_high : float
        The t interval of the difference at :attr:`level`.
    level : float
        Confidence level.
    n : int
        Rows with a value of both the variable and the group.
    """

    variable: str
    group: str
    levels: tuple[Any, Any]
    means: tuple[float, float]
    estimate: float
    se: float
    statistic: float
    df: int
    p_value: float
    ci_low: float
    ci_high: float
    level: float
    n: int

    def ci(self) -> ConfidenceInterval:
        """The interval of the difference, as a :class:`ConfidenceInterval`."""
        return ConfidenceInterval(self.ci_low, self.ci_high, self.level, "wald-t")

    def to_dict(self) -> dict[str, Any]:
        """The test as a JSON-ready dict (NaN values become ``None``)."""
        row = {
            "variable": self.variable,
            "group": self.group,
            "levels": [_py(v) for v in self.levels],
            "means": list(self.means),
            "estimate": self.estimate,
            "se": self.se,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "n": self.n,
        }
        return {
            k: [_clean(v) for v in x] if isinstance(x, list) else _clean(x) for k, x in row.items()
        }

    def __str__(self) -> str:
        """The test as R's ``svyttest`` prints it, with the two means and the rows used."""
        return "\n".join(self._lines())

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        return "".join(f"<p>{html.escape(line)}</p>" for line in self._lines())

    def _lines(self) -> list[str]:
        a, b = (_level_name(v) for v in self.levels)
        return [
            f"Design-based t test: {self.variable} by {self.group}",
            f"mean in {a}: {_number(self.means[0])}, in {b}: {_number(self.means[1])}; "
            f"{self.n} rows with both values",
            f"difference in mean ({b} - {a}): {_number(self.estimate)} (SE {_number(self.se)})",
            f"t = {_number(self.statistic, 5)}, df = {self.df}, "
            f"p-value = {_number(self.p_value, 4)}",
            f"{self.level * 100:g}% CI: {_number(self.ci_low)} to {_number(self.ci_high)}",
        ]


def ttest(
    design: SurveyDesign,
    y: Any,
    group: Any,
    *,
    level: float = 0.95,
    name: str | None = None,
) -> TTest:
    """Design-based t test of a mean's difference between two groups (R ``svyttest``).

    Parameters
    ----------
    design : SurveyDesign
    y : str or array_like
        Numeric variable (column name or one value per row); NaN is missing.
    group : str or array_like
        A column (or values) with exactly two groups among the rows with a
        value of ``y``: 0/1, True/False, two numbers or two texts.
    level : float, default 0.95
        Confidence level of the interval.
    name : str, optional
        Variable name for the result.

    Returns
    -------
    TTest

    Raises
    ------
    ValueError
        ``group: ...`` when the groups are not exactly two; the messages of
        :func:`analysis.mean` for ``y``.

    Notes
    -----
    R's ``svyttest(y ~ g, design)``, whose rows are those with both values
    (``svyglm`` drops the others). The difference is the group ``g``'s
    coefficient: the mean of the second group (in sorted order) minus the
    first's; its standard error is the sandwich's, which for this model is
    that of the difference of the two domain means.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import SurveyDesign, ttest
    >>> df = pd.DataFrame({"w": [1.0] * 6, "y": [1.0, 2, 3, 4, 5, 6], "g": list("aaabbb")})
    >>> ttest(SurveyDesign.from_frame(df, weights="w"), "y", "g").estimate
    3.0
    """
    _require_taylor(design, "ttest")
    level = _check_level(level)
    series, label = _values(design, y, name, "y")
    values = _variable(design, series, label, "y")
    groups, group_label = _values(design, group, None, "group")
    answered = ~np.isnan(values) & groups.notna().to_numpy()
    levels = _two_levels(groups, answered, group_label)
    second = (groups == levels[1]).to_numpy(dtype=bool, na_value=False) & answered
    first = (groups == levels[0]).to_numpy(dtype=bool, na_value=False) & answered
    w = design.weights
    y0 = np.where(answered, values, 0.0)
    sizes = np.array([w[first].sum(), w[second].sum()])
    means = np.array([w[first] @ y0[first], w[second] @ y0[second]]) / sizes
    z = np.zeros(design.n)
    z[second] = (y0[second] - means[1]) / sizes[1]
    z[first] = -(y0[first] - means[0]) / sizes[0]
    from scipy import special

    from analysis.calibration import calibrated_covariance  # imports the estimators

    cov = calibrated_covariance(design, z, domain=answered)
    se = float(np.sqrt(max(cov[0, 0], 0.0)))
    estimate = float(means[1] - means[0])
    df = design.domain_df(answered) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.float64(estimate) / se  # as R: infinite when the SE is zero
    if df > 0:
        p = float(2.0 * special.stdtr(df, -abs(t)))
        low, high = wald_interval(estimate, se, level, float(df))
    else:
        p = low = high = float("nan")
    return TTest(
        variable=label,
        group=group_label,
        levels=(_py(levels[0]), _py(levels[1])),
        means=(float(means[0]), float(means[1])),
        estimate=estimate,
        se=se,
        statistic=float(t),
        df=int(df),
        p_value=p,
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        n=int(answered.sum()),
    )


def _require_taylor(design: Any, what: str) -> None:
    if not isinstance(design, SurveyDesign):
        raise ValueError(
            f"design: {what} needs a SurveyDesign (Taylor linearisation), "
            f"got {type(design).__name__}"
        )


def _two_levels(groups: pd.Series, answered: np.ndarray, label: str) -> tuple[Any, Any]:
    """The two groups in sorted order, or a ValueError naming how many there are."""
    present = groups[answered]
    if isinstance(present.dtype, pd.CategoricalDtype):
        levels = [c for c in present.cat.categories if (present == c).any()]
    else:
        try:
            levels = sorted(present.unique())
        except TypeError:
            raise ValueError(f"group: column '{label}' mixes numbers and text") from None
    if len(levels) != 2:
        shown = ", ".join(_level_name(v) for v in levels[:5])
        more = ", ..." if len(levels) > 5 else ""
        raise ValueError(
            f"group: column '{label}' has {len(levels)} groups ({shown}{more}) among the rows "
            "with a value; a t test compares two"
        )
    return levels[0], levels[1]
