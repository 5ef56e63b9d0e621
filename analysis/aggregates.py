"""Estimates from per-PSU aggregates: sums by stratum, PSU and domain.

A Taylor-linearisation variance without later-stage finite population
corrections depends on the data only through the weighted totals of each
PSU (R's ``svyrecvar`` with ``fpc`` at most at the first stage). So a
database can do the heavy work with one ``GROUP BY``::

    SELECT r.stratum, r.psu, r.channel,
           SUM(r.weight)                                      AS weight,
           COUNT(*)                                           AS n,
           SUM(r.weight * (a.value IN (4, 5))::int)          AS "a1.sat",
           SUM(r.weight * (a.value IS NOT NULL)::int)        AS "a1.ans",
           COUNT(a.value)                                     AS "a1.n"
    FROM response r LEFT JOIN answer a ON a.response_id = r.id AND a.item = 'a1'
    GROUP BY r.stratum, r.psu, r.channel

and Python only sees one row per (stratum, PSU, domain): a few thousand
rows instead of millions. The functions here take such a frame and give the
same estimates, standard errors and degrees of freedom as the row-level
estimators (:mod:`analysis.estimators`, :mod:`analysis.sipas`).

Public functions
----------------
:func:`index_from_aggregates`
    The SIPAS index (items, dimensions, parts, overall) from item sums.
:func:`ratio_from_aggregates`, :func:`mean_from_aggregates`,
:func:`total_from_aggregates`
    Ratios of totals, means and totals from sums.
:func:`group_sums`
    The ``GROUP BY`` above done in pandas on row-level data (for tests,
    notebooks and small data).

The engine (:func:`chain_estimates`) works on *pair totals*: the weighted
totals of some basic variables for each (PSU, domain) pair. Every estimate
is a linear combination of ratios of domain totals; the chain is linearised
analytically, so that one small covariance computation per domain gives
every standard error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis._validate import as_names, check_columns, numeric_column, weight_column
from analysis.design import LonelyPSU, SurveyDesign
from analysis.estimators import domains
from analysis.results import Estimate, EstimateTable, _Linearization
from analysis.variance import domain_covariances

__all__ = [
    "ChainResult",
    "PairIndex",
    "PairTotals",
    "chain_estimates",
    "group_sums",
    "index_from_aggregates",
    "mean_from_aggregates",
    "pair_linearization",
    "pair_totals",
    "ratio_deff",
    "ratio_from_aggregates",
    "total_from_aggregates",
]


# ------------------------------------------------------------------ engine
@dataclass(frozen=True)
class PairTotals:
    """Weighted totals of basic variables per (PSU, domain) pair.

    Attributes
    ----------
    unit : ndarray of int, shape (P,)
        PSU code (0..U-1) of each pair.
    group : ndarray of int, shape (P,)
        Stratum code (0..H-1) of each pair.
    domain : ndarray of int, shape (P,)
        Domain code (0..D-1) of each pair.
    positive : ndarray of bool, shape (P,)
        Whether the pair holds a row with non-zero weight (for ``df``).
    totals : ndarray of float, shape (P, B)
        Weighted totals ``sum w x_b`` of the basic variables.
    n_units : ndarray of int, shape (H,)
        Number of sampled PSUs per stratum in the full design.
    pop_units : ndarray of float, shape (H,)
        Population number of PSUs per stratum (``inf`` without fpc).
    n_domains : int
        D.
    """

    unit: np.ndarray
    group: np.ndarray
    domain: np.ndarray
    positive: np.ndarray
    totals: np.ndarray
    n_units: np.ndarray
    pop_units: np.ndarray
    n_domains: int

    def domain_totals(self) -> np.ndarray:
        """Totals of the basic variables per domain, shape (D, B)."""
        out = np.empty((self.n_domains, self.totals.shape[1]))
        for b in range(self.totals.shape[1]):
            out[:, b] = np.bincount(
                self.domain, weights=self.totals[:, b], minlength=self.n_domains
            )
        return out

    def df(self) -> np.ndarray:
        """PSUs minus strata with a non-zero-weight row, per domain (R ``degf``)."""
        d = self.n_domains
        keep = self.positive
        dom = self.domain[keep]
        n_psu = np.bincount(dom, minlength=d)
        strata = np.unique(self.group[keep].astype(np.int64) * d + dom)
        return n_psu - np.bincount(strata % d, minlength=d)


@dataclass(frozen=True)
class PairIndex:
    """Which (PSU, domain) pair each row belongs to, for fast sums.

    Build it once with :meth:`build` and sum any number of variables with
    :meth:`sums` or :meth:`category_sums`.

    Attributes
    ----------
    keep : ndarray of bool or None
        Rows in some domain (None: all rows).
    pair : ndarray of int
        Pair of each kept row.
    weights : ndarray of float
        Design weights of the kept rows.
    unit, group, domain : ndarray of int, shape (P,)
        PSU, stratum and domain code of each pair.
    positive : ndarray of bool, shape (P,)
        Whether the pair has a row with non-zero weight.
    n_units, pop_units : ndarray, shape (H,)
        Sampled and population PSUs per stratum.
    n_domains : int
        D.
    """

    keep: np.ndarray | None
    pair: np.ndarray
    weights: np.ndarray
    unit: np.ndarray
    group: np.ndarray
    domain: np.ndarray
    positive: np.ndarray
    n_units: np.ndarray
    pop_units: np.ndarray
    n_domains: int

    @classmethod
    def build(cls, design: SurveyDesign, codes: np.ndarray, n_domains: int) -> PairIndex:
        """Index the rows of ``design`` by (first-stage PSU, domain ``codes``; -1: none)."""
        stage = design.stages[0]
        n_psu = stage.unit_group.shape[0]
        codes = np.asarray(codes, dtype=np.int64)
        keep = codes >= 0
        d = max(int(n_domains), 1)
        if keep.all():
            keep_mask = None
            key = stage.units.astype(np.int64) * d + codes
            w = design.weights
        else:
            keep_mask = keep
            key = stage.units[keep].astype(np.int64) * d + codes[keep]
            w = design.weights[keep]
        if n_psu * d <= 4 * key.shape[0] + 1024:
            occupied = np.bincount(key, minlength=n_psu * d) > 0
            pair = (np.cumsum(occupied) - 1)[key]
            pair_key = np.flatnonzero(occupied)
        else:  # few rows for many (PSU, domain) slots, e.g. groups summed by desk
            pair_key, pair = np.unique(key, return_inverse=True)
            pair = pair.ravel()
        nonzero = w != 0
        positive = (
            np.ones(pair_key.shape[0], dtype=bool)
            if nonzero.all()
            else np.bincount(pair[nonzero], minlength=pair_key.shape[0]) > 0
        )
        unit = pair_key // d
        return cls(
            keep=keep_mask,
            pair=pair,
            weights=w,
            unit=unit,
            group=stage.unit_group[unit],
            domain=pair_key % d,
            positive=positive,
            n_units=stage.n_units,
            pop_units=stage.pop_units,
            n_domains=int(n_domains),
        )

    @property
    def n_pairs(self) -> int:
        """Number of pairs P."""
        return int(self.unit.shape[0])

    def take(self, values: np.ndarray) -> np.ndarray:
        """The values of the kept rows."""
        values = np.asarray(values)
        return values if self.keep is None else values[self.keep]

    def sums(self, kept_values: np.ndarray, *, weighted: bool = True) -> np.ndarray:
        """Per-pair sums of ``w x`` (or of ``x``) over kept rows, shape (P,)."""
        x = np.asarray(kept_values)
        if weighted:
            x = np.where(x, self.weights, 0.0) if x.dtype == bool else x * self.weights
        elif x.dtype == bool:
            return np.bincount(self.pair[x], minlength=self.n_pairs).astype(float)
        return np.bincount(self.pair, weights=x, minlength=self.n_pairs)

    def category_sums(
        self, kept_codes: np.ndarray, n_categories: int, *, base: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Weighted and unweighted counts of each category per pair.

        Parameters
        ----------
        kept_codes : ndarray of int
            Category 0..C-1 of each kept row.
        n_categories : int
            C.
        base : ndarray of int, optional
            ``pair * n_categories``, when the caller keeps it for many calls.

        Returns
        -------
        weighted, counts : ndarray, shape (P, C)
        """
        key = (self.pair * n_categories if base is None else base) + kept_codes
        size = self.n_pairs * n_categories
        weighted = np.bincount(key, weights=self.weights, minlength=size)
        counts = np.bincount(key, minlength=size)
        return weighted.reshape(-1, n_categories), counts.reshape(-1, n_categories)

    def per_domain(self, pair_values: np.ndarray) -> np.ndarray:
        """Add per-pair values up to domains, shape (D,)."""
        return np.bincount(self.domain, weights=pair_values, minlength=self.n_domains)

    def totals(self, pair_columns: Sequence[np.ndarray]) -> PairTotals:
        """Pair totals from per-pair sums (each of shape (P,))."""
        totals = np.column_stack(pair_columns) if len(pair_columns) else np.zeros((self.n_pairs, 0))
        return PairTotals(
            unit=self.unit,
            group=self.group,
            domain=self.domain,
            positive=self.positive,
            totals=totals,
            n_units=self.n_units,
            pop_units=self.pop_units,
            n_domains=self.n_domains,
        )


def pair_totals(
    design: SurveyDesign,
    codes: np.ndarray,
    n_domains: int,
    columns: Sequence[np.ndarray],
    *,
    weighted: bool = True,
) -> PairTotals:
    """Sum basic variables over the rows of each (PSU, domain) pair.

    Parameters
    ----------
    design : SurveyDesign
        The design; only its first stage is used.
    codes : ndarray of int, shape (n,)
        Domain code of each row (0..D-1), -1 for rows in no domain.
    n_domains : int
        D.
    columns : sequence of ndarray, each shape (n,)
        The basic variables (booleans or floats; no NaN on domain rows).
    weighted : bool, default True
        Multiply by the design weights (False when the columns already are
        weighted sums, as for aggregated input).

    Returns
    -------
    PairTotals
    """
    index = PairIndex.build(design, codes, n_domains)
    return index.totals(
        [index.sums(index.take(c), weighted=weighted).astype(float) for c in columns]
    )


class ChainResult(NamedTuple):
    """What :func:`chain_estimates` returns."""

    estimates: np.ndarray
    covariance: np.ndarray
    z: np.ndarray


def pair_linearization(pairs: PairTotals, z: np.ndarray, design: SurveyDesign) -> _Linearization:
    """Estimating functions on the pairs, for :meth:`EstimateTable.vcov`.

    The pairs become the rows of a one-stage design (weight 1, the pair's
    stratum and PSU, the design's first-stage fpc; PSUs without a pair are
    added with zero values), whose Taylor covariance of the pair values is
    the covariance of the estimates, across domains too.

    Parameters
    ----------
    pairs : PairTotals
    z : ndarray, shape (P, m)
        Estimating-function totals per pair (:attr:`ChainResult.z`).
    design : SurveyDesign
        The design the pairs come from.

    Returns
    -------
    _Linearization
        With one column per estimate of a domain-major table of ``m``
        estimates per domain.
    """
    stage = design.stages[0]
    n_psu = stage.unit_group.shape[0]
    missing = np.setdiff1d(np.arange(n_psu), pairs.unit)
    unit = np.concatenate([pairs.unit, missing])
    group = stage.unit_group[unit]
    pop = stage.pop_units
    fpc = None if np.isinf(pop).all() else pop[group]
    pseudo = SurveyDesign(
        weights=np.ones(unit.shape[0]),
        strata=group,
        clusters=(unit,),
        fpc=(fpc,),
        lonely_psu=design.lonely_psu,
        strata_labels=design.strata_labels,
        sampled=(stage.n_units[group],),
    )
    values = np.vstack([z, np.zeros((missing.shape[0], z.shape[1]))])
    codes = np.concatenate([pairs.domain, np.full(missing.shape[0], -1)])
    m = z.shape[1]
    d = pairs.n_domains
    column = np.tile(np.arange(m), d)
    domain = np.repeat(np.arange(d), m)
    return _Linearization(pseudo, values, codes, column, domain)


def chain_estimates(
    pairs: PairTotals,
    numerators: Sequence[int],
    denominators: Sequence[int | None],
    combine: np.ndarray,
    *,
    lonely_psu: str | LonelyPSU = LonelyPSU.FAIL,
    labels: np.ndarray | None = None,
) -> ChainResult:
    """Linear combinations of ratios of domain totals, with their covariance.

    For each domain ``d`` the ratios ``r_l = T_d[num_l] / T_d[den_l]`` (or
    the total ``T_d[num_l]`` when ``den_l`` is None) are combined into
    ``theta = combine @ r``. The chain is linearised: the estimating function
    of ratio ``l`` on a pair is ``(t[num_l] - r_l t[den_l]) / T_d[den_l]``,
    that of ``theta`` is ``combine @`` those, and the covariance is R's
    one-stage ``svyrecvar`` of their PSU totals
    (:func:`analysis.variance.domain_covariances`), PSUs without a row in
    the domain counting as zero.

    Parameters
    ----------
    pairs : PairTotals
        Pair totals of the basic variables.
    numerators : sequence of int, length L
        Column of ``pairs.totals`` of each ratio's numerator.
    denominators : sequence of (int or None), length L
        Column of each ratio's denominator; None for a plain total.
    combine : ndarray, shape (m, L)
        Weights of the ratios in each estimate.
    lonely_psu : LonelyPSU or str
        Policy for strata with a single PSU.
    labels : ndarray, optional
        Stratum labels, for messages.

    Returns
    -------
    ChainResult
        ``estimates`` (D, m), NaN where a ratio it uses has a zero
        denominator; ``covariance`` (D, m, m) within each domain; ``z``
        (P, m), the estimating functions' totals on each pair.

    Raises
    ------
    ValueError
        If a stratum with a single PSU has a row in a domain and the policy
        is ``fail``.
    """
    combine = np.atleast_2d(np.asarray(combine, dtype=float))
    num = np.asarray(numerators, dtype=np.intp)
    has_den = np.array([d is not None for d in denominators], dtype=bool)
    den = np.array([0 if d is None else d for d in denominators], dtype=np.intp)
    dom_tot = pairs.domain_totals()
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.where(has_den, dom_tot[:, den], 1.0)  # (D, L)
        ratios = dom_tot[:, num] / denom
    bad = ~np.isfinite(ratios)
    ratios_0 = np.where(bad, 0.0, ratios)
    inv = np.where(bad, 0.0, 1.0 / np.where(bad, 1.0, denom))
    used = combine != 0
    invalid = (bad.astype(float) @ used.T.astype(float)) > 0  # (D, m)
    estimates = ratios_0 @ combine.T
    estimates[invalid] = np.nan

    t_num = pairs.totals[:, num]
    t_den = np.where(has_den, pairs.totals[:, den], 0.0)
    dp = pairs.domain
    u = (t_num - ratios_0[dp] * t_den) * inv[dp]  # (P, L)
    z = u @ combine.T  # (P, m)

    cov = domain_covariances(
        z,
        pairs.group,
        dp,
        pairs.n_domains,
        n_units=pairs.n_units,
        pop_units=pairs.pop_units,
        lonely_psu=lonely_psu,
        labels=labels,
    )
    cov[invalid[:, :, None] | invalid[:, None, :]] = np.nan
    return ChainResult(estimates, cov, z)


def ratio_deff(
    variance: np.ndarray, p: np.ndarray, n_nonzero: np.ndarray, wsum: np.ndarray
) -> np.ndarray:
    """Design effect of a proportion estimated as a mean of a 0/1 variable.

    R's ``svymean(..., deff=TRUE)``: the variance over the
    without-replacement SRS variance ``s^2 (N - n) / (N n)``, where ``s^2 =
    p (1 - p) n / (n - 1)`` is the weighted variance with divisor ``n - 1``,
    ``N`` the sum of weights and ``n`` the rows with non-zero weight. NaN
    when ``N < n`` (weights that do not add up to a population) or the SRS
    variance is zero.
    """
    n = np.asarray(n_nonzero, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        vsrs = p * (1.0 - p) * n / (n - 1.0) * (wsum - n) / (wsum * n)
        out = np.where((wsum < n) | ~(vsrs > 0), np.nan, variance / vsrs)
    return out


# ------------------------------------------------------------ aggregated input
def _group_design(
    groups: pd.DataFrame,
    *,
    weight: str,
    strata: str | None,
    psu: str | None,
    fpc: str | None,
    nest: bool,
    lonely_psu: str | LonelyPSU,
) -> SurveyDesign:
    """A one-stage design whose rows are the aggregated groups."""
    if not isinstance(groups, pd.DataFrame):
        raise ValueError("groups: expected a pandas DataFrame")
    if psu is None:
        raise ValueError("psu: aggregated input needs the PSU column")
    if len(as_names(psu, "psu")) != 1 or (fpc is not None and len(as_names(fpc, "fpc")) != 1):
        raise ValueError("psu: aggregated input supports one-stage designs only")
    return SurveyDesign.from_frame(
        groups,
        weights=weight,
        strata=strata,
        psu=psu,
        fpc=fpc,
        nest=nest,
        lonely_psu=lonely_psu,
    )


def _count_column(groups: pd.DataFrame, column: str, name: str) -> np.ndarray:
    values = numeric_column(groups, column, name)
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError(f"{name}: column '{column}' has missing or negative values")
    return values


def _domain_counts(values: np.ndarray, codes: np.ndarray, n_domains: int) -> np.ndarray:
    keep = codes >= 0
    return np.rint(np.bincount(codes[keep], weights=values[keep], minlength=n_domains)).astype(
        np.int64
    )


def index_from_aggregates(
    groups: pd.DataFrame,
    dimensions: Mapping[str, Sequence[str]],
    *,
    psu: str,
    weight: str = "weight",
    count: str = "n",
    strata: str | None = None,
    fpc: str | None = None,
    nest: bool = False,
    lonely_psu: str | LonelyPSU = "fail",
    parts: Mapping[str, Sequence[str]] | None = None,
    by: str | Sequence[str] | None = None,
) -> EstimateTable:
    """SIPAS index from sums by stratum, PSU (and domain).

    Gives the same estimates, standard errors, ``df``, ``deff`` and ``n``
    as :func:`analysis.sipas.sipas_index` on the rows (for a one-stage
    design, or a design without fpc), with ``complete_cases=False``.

    Parameters
    ----------
    groups : DataFrame
        One row per group of respondents: (stratum, PSU) or (stratum, PSU,
        domain), or finer (several rows of one PSU and domain are added).
        Columns, besides the design and ``by`` columns:

        ``weight``
            Sum of the weights of the group's rows.
        ``count``
            Number of rows in the group.
        ``ITEM.sat``, ``ITEM.ans``, ``ITEM.n``
            For every item: sum of weights of rows whose answer is in the
            satisfied set, sum of weights of rows with a valid answer, and
            the number of rows with a valid answer.
        ``NAME.n`` (optional)
            For a dimension, part or ``overall``: the number of rows that
            answered at least one of its items. Without it, ``n`` of the
            composite is the number of rows of the domain.
        ``ITEM.nz`` (optional)
            Rows with a valid answer and non-zero weight, for ``deff``
            (default: ``ITEM.n``).
    dimensions : mapping of str to sequence of str
        Dimension name to its items.
    psu : str
        PSU column.
    weight, count : str
        Columns of the sum of weights and the number of rows.
    strata, fpc : str, optional
        Stratum column; first-stage fpc column (population count of PSUs in
        the stratum, or the sampling fraction).
    nest : bool, default False
        PSU ids are relative to their stratum (R ``nest=TRUE``).
    lonely_psu : str
        Policy for strata with a single PSU.
    parts : mapping of str to sequence of str, optional
        Part name to its dimensions.
    by : str or sequence of str, optional
        Domain columns.

    Returns
    -------
    EstimateTable
        As :func:`analysis.sipas.sipas_index`.

    Raises
    ------
    ValueError
        Naming the column: a missing column, negative weights or counts,
        PSUs not nested in strata, a single-PSU stratum with ``fail``.
    """
    from analysis.sipas import IndexSpec, assemble_index

    spec = IndexSpec.build(dimensions, parts=parts)
    design = _group_design(
        groups, weight=weight, strata=strata, psu=psu, fpc=fpc, nest=nest, lonely_psu=lonely_psu
    )
    dom = domains(design, by)
    columns = [f"{item}.{kind}" for item in spec.items for kind in ("sat", "ans")]
    check_columns(groups, columns + [f"{item}.n" for item in spec.items], "groups")
    sums = [_count_column(groups, c, "groups") for c in columns]
    pairs = pair_totals(design, dom.codes, dom.count, sums, weighted=False)
    rows_n = _count_column(groups, count, "count")
    item_n = np.column_stack(
        [
            _domain_counts(_count_column(groups, f"{i}.n", "groups"), dom.codes, dom.count)
            for i in spec.items
        ]
    )
    item_nz = np.column_stack(
        [
            _domain_counts(
                _count_column(groups, f"{i}.nz" if f"{i}.nz" in groups else f"{i}.n", "groups"),
                dom.codes,
                dom.count,
            )
            for i in spec.items
        ]
    )
    domain_n = _domain_counts(rows_n, dom.codes, dom.count)
    composite_n = [
        _domain_counts(_count_column(groups, f"{name}.n", "groups"), dom.codes, dom.count)
        if f"{name}.n" in groups
        else domain_n
        for name in spec.composites
    ]
    return assemble_index(
        spec,
        pairs,
        dom.labels,
        numerators=[2 * j for j in range(len(spec.items))],
        denominators=[2 * j + 1 for j in range(len(spec.items))],
        n=np.column_stack([item_n, *composite_n]),
        item_nonzero=item_nz,
        design=design,
    )


def ratio_from_aggregates(
    groups: pd.DataFrame,
    numerator: str,
    denominator: str | None,
    *,
    psu: str,
    weight: str = "weight",
    count: str | None = "n",
    strata: str | None = None,
    fpc: str | None = None,
    nest: bool = False,
    lonely_psu: str | LonelyPSU = "fail",
    by: str | Sequence[str] | None = None,
    name: str | None = None,
    statistic: str = "ratio",
) -> EstimateTable:
    """Ratio of two totals (or a total) from sums by stratum, PSU and domain.

    Parameters
    ----------
    groups : DataFrame
        One row per (stratum, PSU[, domain]) group with the weighted sums
        ``numerator`` (``sum w y``) and ``denominator`` (``sum w x``), the
        sum of weights ``weight`` and the number of rows ``count``.
    numerator, denominator : str
        Columns of weighted sums; ``denominator=None`` estimates the total
        of ``numerator``.
    psu, weight, count, strata, fpc, nest, lonely_psu, by
        As :func:`index_from_aggregates`.
    name : str, optional
        Variable name (default ``"NUM/DEN"`` or ``NUM``).
    statistic : str
        Statistic name stored in the estimates.

    Returns
    -------
    EstimateTable
        One estimate per domain; ``deff`` is None (it needs the squares).
    """
    design = _group_design(
        groups, weight=weight, strata=strata, psu=psu, fpc=fpc, nest=nest, lonely_psu=lonely_psu
    )
    dom = domains(design, by)
    sums = [numeric_column(groups, numerator, "numerator")]
    if denominator is not None:
        sums.append(numeric_column(groups, denominator, "denominator"))
    for column, values in zip([numerator, denominator], sums, strict=False):
        if np.isnan(values).any():
            raise ValueError(f"groups: column '{column}' has missing values")
    pairs = pair_totals(design, dom.codes, dom.count, sums, weighted=False)
    est, cov, z = chain_estimates(
        pairs,
        [0],
        [None if denominator is None else 1],
        np.ones((1, 1)),
        lonely_psu=design.lonely_psu,
        labels=design.strata_labels,
    )
    df = pairs.df()
    rows = (
        _domain_counts(_count_column(groups, count, "count"), dom.codes, dom.count)
        if count is not None
        else np.zeros(dom.count, dtype=np.int64)
    )
    label = name or (numerator if denominator is None else f"{numerator}/{denominator}")
    out = tuple(
        Estimate(
            variable=label,
            domain=dom.labels[d],
            estimate=float(est[d, 0]),
            se=float(np.sqrt(cov[d, 0, 0])),
            df=int(df[d]),
            deff=None,
            n=int(rows[d]),
            statistic=statistic,
        )
        for d in range(dom.count)
    )
    return EstimateTable(out, pair_linearization(pairs, z, design))


def mean_from_aggregates(
    groups: pd.DataFrame, variable: str, *, psu: str, weight: str = "weight", **kwargs: Any
) -> EstimateTable:
    """Weighted mean from sums: the ratio of ``sum w y`` (column ``variable``) to ``weight``.

    With missing values, give the sum of weights of the answered rows as
    ``weight`` (and their number as ``count``). Other arguments as
    :func:`ratio_from_aggregates`.
    """
    kwargs.setdefault("name", variable)
    return ratio_from_aggregates(
        groups, variable, weight, psu=psu, weight=weight, statistic="mean", **kwargs
    )


def total_from_aggregates(
    groups: pd.DataFrame, variable: str, *, psu: str, **kwargs: Any
) -> EstimateTable:
    """Weighted total from sums ``sum w y`` (column ``variable``).

    Arguments as :func:`ratio_from_aggregates`.
    """
    kwargs.setdefault("name", variable)
    return ratio_from_aggregates(groups, variable, None, psu=psu, statistic="total", **kwargs)


def group_sums(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    weights: str,
    psu: str,
    strata: str | None = None,
    by: str | Sequence[str] | None = None,
    fpc: str | None = None,
    satisfied: Sequence[float] = (4, 5),
) -> pd.DataFrame:
    """Per-(stratum, PSU, domain) sums for :func:`index_from_aggregates`.

    What a database ``GROUP BY`` returns, computed with pandas: columns
    ``weight``, ``n`` and, for every item, ``ITEM.sat``, ``ITEM.ans``,
    ``ITEM.n``.

    Parameters
    ----------
    data : DataFrame
        One row per respondent; items numeric, NaN when not answered.
    items : sequence of str
        Item columns.
    weights, psu : str
        Weight and PSU columns.
    strata, fpc : str, optional
        Stratum and first-stage fpc columns (kept in the output).
    by : str or sequence of str, optional
        Domain columns (kept in the output).
    satisfied : sequence of float
        Answers that count as satisfied.

    Returns
    -------
    DataFrame
    """
    keys = list(dict.fromkeys(c for c in [strata, psu, *as_names(by, "by")] if c is not None))
    check_columns(data, [weights, *keys, *items] + ([fpc] if fpc else []), "data")
    w = weight_column(data, weights)
    frame = data[keys].copy()
    frame["weight"] = w
    frame["n"] = 1
    for item in items:
        x = numeric_column(data, item, "items")
        frame[f"{item}.sat"] = np.where(np.isin(x, np.asarray(satisfied, float)), w, 0.0)
        frame[f"{item}.ans"] = np.where(np.isnan(x), 0.0, w)
        frame[f"{item}.n"] = (~np.isnan(x)).astype(np.int64)
    out = frame.groupby(keys, sort=True, dropna=False).sum().reset_index()
    if fpc is not None:
        first = data.groupby(keys, sort=True, dropna=False)[fpc].first().reset_index(drop=True)
        out[fpc] = first.to_numpy()
    return out
