"""Design-based regression: generalised linear models with survey weights (R ``svyglm``).

:func:`glm` fits a linear (``family="gaussian"``) or logistic
(``family="binomial"``) model to the rows of a design, with the design's
weights, and gives each coefficient its design-based standard error, a t
test on the design's residual degrees of freedom and a t interval, as R's
``summary(svyglm(...))`` and ``confint(svyglm(...))`` do.

The estimates solve the weighted estimating equations
``U(beta) = sum_i w_i x_i (y_i - mu_i) = 0`` (weighted least squares, or the
weighted logistic likelihood: statsmodels ``WLS`` and ``GLM`` with
``var_weights``). Their variance is the sandwich
``V = A^-1 B A^-1``, where ``A = sum_i w_i v_i x_i x_i'`` is the derivative
of ``U`` (``v_i = 1`` for the linear model, ``mu_i (1 - mu_i)`` for the
logistic one) and ``B`` is the design covariance of the estimated total
``U``, from :func:`~analysis.variance.taylor_covariance`: strata, every
sampling stage with its fpc, and the design's lonely-PSU policy. This is R's
``survey:::svy.varcoef``, which passes ``estfun %*% Ainv`` to ``svyrecvar``.

The formula is Patsy's (as statsmodels' formula API): ``y ~ x1 + x2``,
``C(g)`` for a categorical variable (R's factor, first level as reference),
``a:b`` and ``a * b`` for interactions, ``Q("S-A1")`` for a column whose name
is not a Python name, ``np.log(x)`` and ``I(x ** 2)`` for transformations.
Coefficients are named as Patsy names them (``Intercept``, ``x1``,
``C(g)[T.b]``, ``C(g)[T.b]:x1``) and come in R's order: the intercept, the
main effects in the order of the formula, then two-way interactions, and so
on.

Conventions, all R's:

* **Missing values.** A row with a missing value in any column of the
  formula is left out of the fit (``na.action = na.omit``), but not out of
  the design: R's ``svyglm`` subsets the design (``design[-nas, ]``), which
  keeps every sampled PSU's count in ``n_h``. So the estimating function is
  zero on those rows, strata left without any row drop out of the variance,
  and the residual degrees of freedom are those of the rows used.
* **Binomial.** The outcome must be 0/1 (numbers or True/False) or have two
  values (text: the first in sorted order, or the first category, is 0, as
  R's factor). The model is fitted as ``quasibinomial``, as R users do with
  survey weights: same estimates and standard errors as ``binomial``,
  without the warning about non-integer counts.
* **Degrees of freedom.** ``df_residual`` is R's ``svyglm`` ``df.residual``:
  ``degf(design) + 1 - p`` with ``degf`` counting the PSUs minus the strata
  of the rows used (non-zero weight), and ``p`` the number of coefficients.
  t statistics, p-values (``2 * pt(-|t|, df)``) and intervals use it; with
  ``df_residual <= 0`` p-values and intervals are NaN, as in R.
* **Intervals.** :meth:`Coefficient.ci` is R's ``confint.svyglm`` default
  (``method = "Wald"``): ``estimate ± qt(1 - a/2, df.residual) * se``, the t
  quantile on the residual degrees of freedom (R computes it through
  ``confint.default`` with an adjusted level; the result is the same).

Differences from R, both documented in ``tests/analysis/test_glm_r.py``:

* The logistic model is iterated to convergence and the sandwich is
  evaluated at the estimates. R's default ``glm.control(epsilon = 1e-8)``
  stops while the working weights of its last iterate, from which R takes
  ``A``, still differ slightly from those at the estimates: its standard
  errors differ from these by about 1e-6 relative (estimates by about
  1e-10). With ``control = glm.control(epsilon = 1e-15)`` R agrees to 1e-12.
* A model matrix with a column that is a linear combination of the ones
  before it (R reports the coefficient as ``NA``) is refused with a
  ValueError naming the term.
"""

from __future__ import annotations

import ast
import html
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd

from analysis._validate import option
from analysis.design import SurveyDesign
from analysis.intervals import ConfidenceInterval, wald_interval
from analysis.results import _html_table, _number, _text_grid

__all__ = ["FAMILIES", "RECORD_COLUMNS", "Coefficient", "GlmResult", "formula_columns", "glm"]

#: The families :func:`glm` fits.
FAMILIES = ("gaussian", "binomial")

#: Keys of :meth:`GlmResult.to_records` (the columns of ``python -m analysis glm``).
RECORD_COLUMNS = ("term", "estimate", "se", "statistic", "p_value", "df", "ci_low", "ci_high")

# IRLS stops when the deviance changes by less than this, relative: far
# tighter than R's 1e-8, so that the working weights of the sandwich are
# those at the estimates (see the module's notes).
_IRLS_RTOL = 1e-13
_IRLS_MAXITER = 100
# R's tolerance for a column of the model matrix that is a linear
# combination of the ones before it (glm.fit's qr, tol = 1e-7).
_ALIAS_TOL = 1e-7


# -------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class Coefficient:
    """One coefficient of a design-based regression, with its t test.

    Attributes
    ----------
    term : str
        The column of the model matrix, as Patsy names it (``"Intercept"``,
        ``"x1"``, ``"C(g)[T.b]"``).
    estimate : float
    se : float
        Design-based (sandwich, Taylor linearisation) standard error.
    statistic : float
        ``estimate / se``, a t statistic.
    p_value : float
        Two-sided p-value on Student's t with :attr:`df` degrees of freedom
        (NaN when ``df <= 0``), as R's ``summary.svyglm``.
    df : int
        The model's residual degrees of freedom (R ``df.residual``).
    """

    term: str
    estimate: float
    se: float
    statistic: float
    p_value: float
    df: int

    def ci(self, level: float = 0.95) -> ConfidenceInterval:
        """Wald interval with the t quantile on :attr:`df`, R's ``confint`` of a ``svyglm``.

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        ConfidenceInterval
            Unpacks as ``low, high``; NaN bounds when ``df <= 0``.
        """
        low, high = wald_interval(self.estimate, self.se, level, float(max(self.df, 0)))
        return ConfidenceInterval(float(low), float(high), level, "wald-t")

    def to_dict(self, level: float = 0.95) -> dict[str, Any]:
        """The coefficient as a JSON-ready dict with the keys of :data:`RECORD_COLUMNS`.

        NaN values become ``None``.
        """
        low, high = self.ci(level)
        row = {
            "term": self.term,
            "estimate": self.estimate,
            "se": self.se,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "df": self.df,
            "ci_low": low,
            "ci_high": high,
        }
        return {k: _json_value(v) for k, v in row.items()}


@dataclass(frozen=True, eq=False)
class GlmResult(Sequence[Coefficient]):
    """A fitted design-based regression: a sequence of :class:`Coefficient`.

    Attributes
    ----------
    formula : str
        The formula, as given.
    family : str
        ``"gaussian"`` or ``"binomial"`` (fitted as quasibinomial).
    coefficients : tuple of Coefficient
        One per column of the model matrix, in R's order.
    covariance : ndarray, shape (p, p)
        The design-based covariance of the estimates (R ``vcov``).
    df_residual : int
        R's ``df.residual``: PSUs minus strata of the rows used, plus 1,
        minus the number of coefficients.
    n : int
        Rows used: those with a value in every column of the formula.

    Indexing by position or by term name (``fit["x1"]``) gives a
    :class:`Coefficient`.
    """

    formula: str
    family: str
    coefficients: tuple[Coefficient, ...]
    covariance: np.ndarray
    df_residual: int
    n: int

    @overload
    def __getitem__(self, index: int | str) -> Coefficient: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Coefficient, ...]: ...

    def __getitem__(self, index):
        if isinstance(index, str):
            for c in self.coefficients:
                if c.term == index:
                    return c
            known = ", ".join(repr(c.term) for c in self.coefficients)
            raise KeyError(f"no term {index!r} (terms: {known})")
        return self.coefficients[index]

    def __len__(self) -> int:
        return len(self.coefficients)

    def __iter__(self) -> Iterator[Coefficient]:
        return iter(self.coefficients)

    @property
    def terms(self) -> tuple[str, ...]:
        """The coefficients' names, in order."""
        return tuple(c.term for c in self.coefficients)

    @property
    def estimates(self) -> np.ndarray:
        """The estimates as an array."""
        return np.array([c.estimate for c in self.coefficients])

    @property
    def se(self) -> np.ndarray:
        """The standard errors as an array."""
        return np.array([c.se for c in self.coefficients])

    def to_records(self, level: float = 0.95) -> list[dict[str, Any]]:
        """One JSON-ready dict per coefficient (see :meth:`Coefficient.to_dict`)."""
        return [c.to_dict(level) for c in self.coefficients]

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """The coefficients as a DataFrame with the columns of :data:`RECORD_COLUMNS`."""
        return pd.DataFrame(self.to_records(level), columns=list(RECORD_COLUMNS))

    def __str__(self) -> str:
        """The coefficient table of R's ``summary(svyglm(...))``, with the model and its df."""
        header, rows = self._cells()
        return "\n".join([self._title(), _text_grid([header, *rows]), self._footer()])

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        header, rows = self._cells()
        table = _html_table(header, rows, caption=self._title())
        return f"{table}<p>{html.escape(self._footer())}</p>"

    def _title(self) -> str:
        kind, family = _FAMILY_TEXT[self.family]
        return f"Design-based {kind} regression (R's svyglm, family {family}): {self.formula}"

    def _footer(self) -> str:
        return (
            f"Residual df {self.df_residual}; {self.n} rows used; "
            "standard errors from the design (linearised sandwich)"
        )

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        header = ["", "Estimate", "Std. Error", "t value", "Pr(>|t|)"]
        rows = [
            [
                c.term,
                _number(c.estimate),
                _number(c.se),
                _number(c.statistic, 4),
                _p_text(c.p_value),
            ]
            for c in self.coefficients
        ]
        return header, rows


#: How :meth:`GlmResult.__str__` names a family: the model, and R's family.
_FAMILY_TEXT = {"gaussian": ("linear", "gaussian"), "binomial": ("logistic", "quasibinomial")}


def _p_text(p: float) -> str:
    """A p-value as R's ``summary`` prints it: 3 digits, ``<2e-16`` below the double's epsilon."""
    if not np.isnan(p) and p < np.finfo(float).eps:
        return "<2e-16"
    return _number(p, 3)


def _json_value(value: Any) -> Any:
    """A plain Python value for JSON: NaN and infinities become None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


# -------------------------------------------------------------------- formula
@dataclass(frozen=True)
class _Formula:
    """A parsed formula: Patsy's description and the columns it names."""

    desc: Any  # patsy.ModelDesc
    outcome: str  # the outcome's column, or its expression
    columns: tuple[str, ...]  # every column named, in order of appearance
    categorical: tuple[str, ...]  # the columns used as C(column)


def formula_columns(formula: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns a formula names, and those it uses as ``C(column)``.

    A column is a bare name that is neither called (``C``, ``np.log``) nor
    the module of an attribute (``np``), or the text of ``Q("...")``. The
    command line reads these columns (the categorical ones as text, so that
    codes such as "01" keep their leading zero).

    Parameters
    ----------
    formula : str

    Returns
    -------
    tuple of (tuple of str, tuple of str)

    Raises
    ------
    ValueError
        ``formula: ...`` if Patsy cannot read the formula or it has no
        outcome.
    """
    parsed = _parse(formula)
    return parsed.columns, parsed.categorical


def _parse(formula: str) -> _Formula:
    import patsy

    if not isinstance(formula, str) or not formula.strip():
        raise ValueError("formula: expected a formula such as 'y ~ x1 + C(g)'")
    if "~" not in formula:
        raise ValueError(f"formula: no '~' in {formula!r}; expected 'outcome ~ terms'")
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "not a formula"
        raise ValueError(f"formula: cannot read {formula!r}: {reason}") from None
    if len(desc.lhs_termlist) != 1 or len(desc.lhs_termlist[0].factors) != 1:
        raise ValueError(
            f"formula: expected one outcome before '~' in {formula!r}, "
            f"got {len(desc.lhs_termlist)} terms"
        )
    columns: dict[str, None] = {}
    categorical: dict[str, None] = {}
    outcome_code = desc.lhs_termlist[0].factors[0].code
    outcome_columns: list[str] = []
    for term in [*desc.lhs_termlist, *desc.rhs_termlist]:
        for factor in term.factors:
            names, cats = _factor_columns(factor.code, formula)
            columns.update(dict.fromkeys(names))
            categorical.update(dict.fromkeys(cats))
            if factor.code == outcome_code and not outcome_columns:
                outcome_columns = names
    outcome = outcome_columns[0] if len(outcome_columns) == 1 else outcome_code
    return _Formula(desc, outcome, tuple(columns), tuple(categorical))


def _factor_columns(code: str, formula: str) -> tuple[list[str], list[str]]:
    """Columns named in one Patsy factor (a Python expression), and those inside ``C()``."""
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        raise ValueError(f"formula: cannot read {code!r} in {formula!r}") from None
    not_columns: set[int] = set()
    names: list[str] = []
    cats: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            not_columns.add(id(node.func))
            func = node.func.id if isinstance(node.func, ast.Name) else None
            if func == "Q" and node.args and isinstance(node.args[0], ast.Constant):
                names.append(str(node.args[0].value))
            if func == "C" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Name):
                    cats.append(first.id)
                elif (
                    isinstance(first, ast.Call)
                    and isinstance(first.func, ast.Name)
                    and first.func.id == "Q"
                    and first.args
                    and isinstance(first.args[0], ast.Constant)
                ):
                    cats.append(str(first.args[0].value))
        elif isinstance(node, ast.Attribute):
            not_columns.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in not_columns:
            names.append(node.id)
    return list(dict.fromkeys(names)), cats


# ------------------------------------------------------------------------ glm
def glm(design: SurveyDesign, formula: str, *, family: str = "gaussian") -> GlmResult:
    """Fit a design-based linear or logistic regression (R ``svyglm``).

    Parameters
    ----------
    design : SurveyDesign
        A design built with :meth:`SurveyDesign.from_frame` (or a
        calibrated one): the formula's columns are read from its data.
    formula : str
        Patsy formula ``"outcome ~ terms"``, e.g. ``"y ~ x1 + x2 + C(g)"``.
    family : {"gaussian", "binomial"}, default "gaussian"
        ``gaussian``: linear regression (weighted least squares).
        ``binomial``: logistic regression of a 0/1 or two-valued outcome,
        fitted as R's ``quasibinomial``.

    Returns
    -------
    GlmResult
        The coefficients in R's order, their covariance, ``df_residual``
        and ``n``.

    Raises
    ------
    ValueError
        Naming the problem: a formula Patsy cannot read or without an
        outcome; a column that is missing from the data (``formula: column
        'x' is missing``); an outcome that is not numeric, or not 0/1 or
        two-valued for ``binomial``; no complete row; a term with infinite
        values, a single level, or that is a linear combination of the terms
        before it; a logistic fit that does not converge (outcomes separated
        by a covariate); an unknown family; a replicate design.

    Notes
    -----
    See the module's documentation for the estimator, R's conventions
    followed (missing values, degrees of freedom, intervals) and the
    differences from R.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import SurveyDesign, glm
    >>> df = pd.DataFrame({"w": [1.0, 2, 1, 2], "y": [1.0, 3, 2, 5], "x": [0.0, 1, 0, 1]})
    >>> fit = glm(SurveyDesign.from_frame(df, weights="w"), "y ~ x")
    >>> [round(c.estimate, 6) for c in fit.coefficients]
    [1.5, 2.5]
    """
    if not isinstance(design, SurveyDesign):
        raise ValueError(
            f"design: glm needs a SurveyDesign (Taylor linearisation), got {type(design).__name__}"
        )
    option(family, "family", FAMILIES)
    parsed = _parse(formula)
    if design.data is None:
        raise ValueError("formula: column names need a design built with SurveyDesign.from_frame")
    data = design.data
    for col in parsed.columns:
        if col not in data.columns:
            raise ValueError(f"formula: column '{col}' is missing")

    frame = data[list(parsed.columns)].reset_index(drop=True)
    complete = frame.notna().all(axis=1).to_numpy()
    if not complete.any():
        names = ", ".join(f"'{c}'" for c in parsed.columns)
        raise ValueError(f"formula: no row has a value in every one of the columns {names}")
    rows = np.flatnonzero(complete)
    used = frame.iloc[rows].reset_index(drop=True)
    for col in used.columns:
        values = used[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            # R's glm drops the levels no row uses (drop.unused.levels = TRUE)
            used[col] = values.cat.remove_unused_categories()
        elif (
            not pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_bool_dtype(values.dtype)
            and pd.api.types.infer_dtype(values, skipna=False) == "string"
        ):
            # Patsy reads text one value at a time, and as categorical in any
            # case; categories (sorted, as Patsy sorts the levels) it reads
            # from their codes at once.
            used[col] = pd.Categorical(values)

    y, x, terms, kept = _model_matrices(parsed, used, family)
    rows = rows[kept]
    mask = np.zeros(design.n, dtype=bool)
    mask[rows] = True
    w = design.weights[rows]
    _check_aliased(x, w, terms)

    beta = _fit(y, x, w, family, parsed.outcome)
    return _summarise(design, formula, family, terms, x, y, w, beta, rows, mask)


def _model_matrices(
    parsed: _Formula, used: pd.DataFrame, family: str
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Outcome, model matrix in R's column order, its names, and the rows of ``used`` kept."""
    import patsy

    env = patsy.EvalEnvironment([{"np": np, "C": _categorical}])
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a transformation's warnings: NaN rows are dropped
            lhs, rhs = patsy.dmatrices(
                parsed.desc, used, eval_env=env, NA_action="drop", return_type="dataframe"
            )
    except patsy.PatsyError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"formula: {reason}") from None
    kept = lhs.index.to_numpy()
    if kept.size == 0:
        raise ValueError("formula: no row has a value of every term")

    y = _outcome(lhs, parsed.outcome, family)

    info = rhs.design_info
    position = {term: i for i, term in enumerate(parsed.desc.rhs_termlist)}
    order = sorted(info.term_slices, key=lambda t: (len(t.factors), position[t]))
    columns: list[int] = []
    for term in order:
        part = info.term_slices[term]
        if part.stop == part.start and term.factors:
            raise ValueError(
                f"formula: term '{term.name()}' has a single level in the rows used; "
                "it needs two or more"
            )
        columns.extend(range(part.start, part.stop))
    x = rhs.to_numpy(dtype=float)[:, columns]
    names = [info.column_names[j] for j in columns]
    if not x.shape[1]:
        raise ValueError("formula: the model has no term (not even an intercept)")
    infinite = np.flatnonzero(~np.isfinite(x).all(axis=0))
    if infinite.size:
        raise ValueError(f"formula: term '{names[int(infinite[0])]}' has infinite values")
    return y, x, names, kept


def _categorical(data: Any, contrast: Any = None, levels: Any = None) -> Any:
    """Patsy's ``C()``, without its loop over the rows of a categorical or numeric column.

    Patsy codes the values of a boxed ``C(x)`` one at a time (seconds for a
    million rows), but passes a pandas categorical through at once. So
    ``C(x)`` without a contrast or levels gives ``x`` as a categorical: its
    categories, or the sorted values of numbers, are the levels Patsy would
    find, in the same order, so the columns and their names are the same.
    """
    from patsy.builtins import C

    if contrast is None and levels is None:
        if isinstance(data, pd.Series) and isinstance(data.dtype, pd.CategoricalDtype):
            return data
        if np.ndim(data) == 1 and getattr(data, "dtype", np.dtype(object)).kind in "iuf":
            codes = pd.Categorical(np.asarray(data))
            return pd.Series(codes, index=data.index) if isinstance(data, pd.Series) else codes
    return C(data, contrast, levels)


def _outcome(lhs: Any, name: str, family: str) -> np.ndarray:
    """The outcome as floats; for ``binomial``, 0/1 (the second of two levels is 1)."""
    info = lhs.design_info
    factor = info.factor_infos[info.terms[0].factors[0]]
    values = lhs.to_numpy(dtype=float)
    if factor.type == "categorical":
        levels = list(factor.categories)
        if family != "binomial":
            raise ValueError(
                f"formula: outcome column '{name}' is not numeric (values such as "
                f"{_level_text(levels[0])}); a linear model needs numbers"
            )
        if len(levels) != 2:
            shown = ", ".join(_level_text(v) for v in levels[:4])
            more = ", ..." if len(levels) > 4 else ""
            raise ValueError(
                f"formula: outcome column '{name}' has {len(levels)} values ({shown}{more}) "
                "in the rows used; family 'binomial' needs two (0/1)"
            )
        return values[:, 1].copy()
    if values.shape[1] != 1:
        raise ValueError(f"formula: the outcome '{name}' has {values.shape[1]} columns; give one")
    y = values[:, 0].copy()
    if not np.isfinite(y).all():
        raise ValueError(f"formula: outcome column '{name}' has infinite values")
    if family == "binomial":
        distinct = np.unique(y)
        if not np.isin(distinct, (0.0, 1.0)).all():
            shown = ", ".join(_level_text(v) for v in distinct[:4])
            more = ", ..." if distinct.size > 4 else ""
            raise ValueError(
                f"formula: outcome column '{name}' must be 0/1 for family 'binomial' "
                f"(it has {shown}{more})"
            )
        if distinct.size < 2:
            raise ValueError(
                f"formula: outcome column '{name}' is {_level_text(distinct[0])} in every row "
                "used; family 'binomial' needs both 0 and 1"
            )
    return y


def _level_text(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _check_aliased(x: np.ndarray, w: np.ndarray, terms: Sequence[str]) -> None:
    """Refuse a column that is a linear combination of the columns before it.

    R keeps such a column with an ``NA`` coefficient; here it is an error
    naming the column, since a coefficient that cannot be estimated is a
    mistake in the formula (a category of one row set, a duplicate column).
    The test is R's: the column's part not explained by the earlier ones,
    in the weighted QR decomposition, below 1e-7 of its length.
    """
    positive = w > 0
    if positive.sum() < x.shape[1]:
        raise ValueError(
            f"formula: {x.shape[1]} coefficients but only {int(positive.sum())} rows "
            "with a weight; the model cannot be fitted"
        )
    xw = x[positive] * np.sqrt(w[positive])[:, None]
    r = np.linalg.qr(xw, mode="r")
    norms = np.linalg.norm(r, axis=0)  # the columns' lengths: Q keeps them
    diag = np.abs(np.diag(r))
    aliased = (diag <= _ALIAS_TOL * norms) | (norms == 0)
    if aliased.any():
        j = int(np.flatnonzero(aliased)[0])
        what = "a linear combination of the terms before it" if j else "zero in every row"
        raise ValueError(
            f"formula: term '{terms[j]}' is {what} in the rows used "
            "(R reports its coefficient as NA); leave it out"
        )


def _fit(y: np.ndarray, x: np.ndarray, w: np.ndarray, family: str, outcome: str) -> np.ndarray:
    """The weighted estimates: WLS, or the weighted logistic likelihood by IRLS."""
    if family == "gaussian":
        from statsmodels.regression.linear_model import WLS

        return np.asarray(WLS(y, x, weights=w).fit(method="qr").params, dtype=float)

    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    model = GLM(y, x, family=Binomial(), var_weights=w)
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(
            method="IRLS", maxiter=_IRLS_MAXITER, tol=_IRLS_RTOL, atol=0.0, rtol=_IRLS_RTOL
        )
    beta = np.asarray(result.params, dtype=float)
    kinds = {type(c.message) for c in caught if isinstance(c.message, Warning)}
    if PerfectSeparationWarning in kinds or not np.isfinite(beta).all():
        raise ValueError(
            f"formula: the terms predict outcome '{outcome}' perfectly (separation); "
            "the logistic estimates would be infinite"
        )
    if ConvergenceWarning in kinds or not result.converged:
        raise ValueError(
            f"formula: the logistic fit of '{outcome}' did not converge in "
            f"{_IRLS_MAXITER} iterations (a covariate may nearly separate its 0s and 1s)"
        )
    return beta


def _summarise(
    design: SurveyDesign,
    formula: str,
    family: str,
    terms: list[str],
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    beta: np.ndarray,
    rows: np.ndarray,
    mask: np.ndarray,
) -> GlmResult:
    """The sandwich covariance, t tests and the result (R ``svy.varcoef``, ``summary``)."""
    from scipy import linalg, special

    from analysis.calibration import calibrated_covariance

    eta = x @ beta
    if family == "binomial":
        mu = special.expit(eta)
        v = mu * (1.0 - mu)
    else:
        mu = eta
        v = np.ones_like(eta)
    # A = X' diag(w v) X through the QR decomposition of sqrt(w v) X, whose
    # triangle's inverse gives A^-1 without squaring the condition number.
    r = np.linalg.qr(x * np.sqrt(w * v)[:, None], mode="r")
    r_inv = linalg.solve_triangular(r, np.eye(r.shape[0]))
    a_inv = r_inv @ r_inv.T
    # Influence of each row on the estimates, per unit of weight: the design
    # variance of its weighted total is A^-1 B A^-1.
    z = np.zeros((design.n, x.shape[1]))
    z[rows] = (x * (y - mu)[:, None]) @ a_inv
    cov = calibrated_covariance(design, z, domain=mask)
    cov = (cov + cov.T) / 2.0

    df = design.domain_df(mask) + 1 - x.shape[1]
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    # R's summary.svyglm: 2 * pt(-|t|, df.residual), NaN without residual df
    p = 2.0 * special.stdtr(df, -np.abs(t)) if df > 0 else np.full(t.shape, np.nan)
    coefficients = tuple(
        Coefficient(
            term=terms[j],
            estimate=float(beta[j]),
            se=float(se[j]),
            statistic=float(t[j]),
            p_value=float(p[j]),
            df=int(df),
        )
        for j in range(len(terms))
    )
    return GlmResult(
        formula=formula,
        family=family,
        coefficients=coefficients,
        covariance=cov,
        df_residual=int(df),
        n=int(rows.shape[0]),
    )
