"""Taylor-linearisation variance of estimated totals, as R's ``svyrecvar``.

An estimator is linearised into an estimating function ``z`` (one row per
respondent); its variance is the design variance of the estimated total
``sum_i w_i z_i``. For a stratified multistage design this is (Särndal et
al. 1992, R ``survey:::multistage``)

.. math::

    V = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1} \\sum_{i \\in h}
        (t_{hi} - \\bar t_h)(t_{hi} - \\bar t_h)^T
        + \\sum_{h, i} \\frac{n_h}{N_h} V_{2, hi}

where :math:`t_{hi}` are the PSU totals of ``w z``, :math:`f_h = n_h / N_h`
(zero without fpc) and :math:`V_{2, hi}` is the same formula applied to the
second-stage units inside PSU ``hi``. The second and later stages only count
when a finite population correction is given, exactly as in R.

Domains keep the full design: pass ``z`` equal to zero outside the domain,
and the domain's rows as ``domain`` so that strata without any domain row
are left out (as R's ``subset`` leaves them out, which matters only for the
``fail`` and ``average`` lonely-PSU policies).
"""

from __future__ import annotations

import numpy as np

from analysis.design import LonelyPSU, SurveyDesign

__all__ = [
    "DomainVariance",
    "domain_covariances",
    "domain_variances",
    "stratified_covariance",
    "taylor_covariance",
    "taylor_se",
]

_SELF_REPRESENTING = 1e-7
#: Largest number of values of the per-row outer products summed in one step by
#: :func:`domain_covariances` (rows x k x k).
_OUTER_CELLS = 1 << 22


def taylor_covariance(
    design: SurveyDesign, z: np.ndarray, *, domain: np.ndarray | None = None
) -> np.ndarray:
    """Covariance matrix of the estimated totals ``sum_i w_i z[i, :]``.

    Parameters
    ----------
    design : SurveyDesign
        The (full) survey design.
    z : ndarray, shape (n,) or (n, k)
        Estimating functions (linearised values), one row per design row.
        Rows outside a domain must be zero; they stay in the design.
    domain : ndarray of bool, shape (n,), optional
        The rows of the domain (R's ``subset``). Only used to decide which
        strata are present, for the ``fail`` and ``average`` lonely-PSU
        policies. ``None`` means all rows.

    Returns
    -------
    ndarray, shape (k, k)
        The covariance matrix (``(1, 1)`` for a one-dimensional ``z``).

    Raises
    ------
    ValueError
        If a stratum present in the domain has a single PSU and the policy
        is ``fail``, or ``z`` has the wrong shape.

    Notes
    -----
    Matches ``survey:::svyrecvar`` with the default options
    (``survey.ultimate.cluster=FALSE``, ``survey.adjust.domain.lonely=FALSE``):

    * PSU totals are centred at their stratum mean over all the stratum's
      sampled PSUs (PSUs without a domain row have total zero);
    * the scale is ``(1 - n_h/N_h) n_h/(n_h - 1)``; a stratum with
      ``n_h/N_h`` = 1 contributes nothing;
    * a single-PSU stratum is handled by ``design.lonely_psu``:
      ``remove`` and ``certainty`` give zero, ``adjust`` centres at zero
      (the grand mean of estimating functions), ``average`` leaves the
      stratum out and scales the sum by the number of strata over the
      number of strata with more than one PSU, ``fail`` raises;
    * later stages are added, scaled by the product of the earlier
      sampling fractions, only when the design has an fpc.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2 or z.shape[0] != design.n:
        raise ValueError(f"z: expected {design.n} rows, got shape {z.shape}")
    x = z * design.weights[:, None]
    present_rows = None if domain is None else np.asarray(domain, dtype=bool)
    stages = design.stages
    policy = design.lonely_psu

    first = stages[0]
    totals = _unit_totals(x, first.units, first.unit_group.shape[0])
    present = _present(first.groups, present_rows, first.n_units.shape[0])
    cov = stratified_covariance(
        totals,
        first.unit_group,
        n_units=first.n_units,
        pop_units=first.pop_units,
        lonely_psu=policy,
        present=present,
        stage=1,
        labels=design.strata_labels,
    )
    if not any(f is not None for f in design.fpc):
        return cov

    # Later stages: each earlier-stage unit is its own "onestage" call in R,
    # scaled by the product of the earlier sampling fractions n/N.
    multiplier = (first.n_units / first.pop_units)[first.unit_group]  # per PSU
    for s, stage in enumerate(stages[1:], start=2):
        parent_present = _present(stage.groups, present_rows, stage.n_units.shape[0])
        use = multiplier > 0
        if not use.any():
            break
        totals = _unit_totals(x, stage.units, stage.unit_group.shape[0])
        sub_cov = stratified_covariance(
            totals,
            stage.unit_group,
            n_units=stage.n_units,
            pop_units=stage.pop_units,
            lonely_psu=policy,
            present=parent_present & use,
            stage=s,
            group_weights=multiplier,
            per_group=True,
        )
        cov = cov + sub_cov
        multiplier = (multiplier * stage.n_units / stage.pop_units)[stage.unit_group]
    return cov


def taylor_se(design: SurveyDesign, z: np.ndarray, *, domain: np.ndarray | None = None) -> float:
    """Standard error of the estimated total ``sum_i w_i z_i``.

    Parameters
    ----------
    design : SurveyDesign
    z : ndarray, shape (n,)
        Estimating function, zero outside a domain.
    domain : ndarray of bool, optional
        The domain's rows (see :func:`taylor_covariance`).

    Returns
    -------
    float
    """
    cov = taylor_covariance(design, z, domain=domain)
    return float(np.sqrt(cov[0, 0]))


def stratified_covariance(
    unit_totals: np.ndarray,
    unit_group: np.ndarray,
    *,
    n_units: np.ndarray | None = None,
    pop_units: np.ndarray | None = None,
    lonely_psu: str | LonelyPSU = LonelyPSU.FAIL,
    present: np.ndarray | None = None,
    stage: int = 1,
    labels: np.ndarray | None = None,
    group_weights: np.ndarray | None = None,
    per_group: bool = False,
) -> np.ndarray:
    """One stage of the variance from unit totals (R ``survey:::onestage``).

    This is the building block of :func:`taylor_covariance`, exposed so
    that callers holding per-PSU aggregates (sums computed by a database)
    can get the same variance without the rows.

    Parameters
    ----------
    unit_totals : ndarray, shape (U,) or (U, k)
        Weighted totals ``sum w z`` of each sampled unit (PSU). Units of the
        design without a row in the domain must be included with total 0,
        or counted through ``n_units``.
    unit_group : ndarray of int, shape (U,)
        Stratum code (0..G-1) of each unit.
    n_units : ndarray of int, shape (G,), optional
        Number of sampled units per stratum in the full design; by default
        counted from ``unit_group``. Units missing from ``unit_totals`` are
        taken as zero totals.
    pop_units : ndarray of float, shape (G,), optional
        Population number of units per stratum (``inf``: with replacement).
    lonely_psu : LonelyPSU or str
        Policy for strata with a single unit.
    present : ndarray of bool, shape (G,), optional
        Strata present in the domain (default: all).
    stage : int
        Stage number, for messages.
    labels : ndarray, optional
        Stratum labels, for messages.
    group_weights : ndarray of float, shape (G,), optional
        Multiplier per stratum (the product of earlier sampling fractions).
    per_group : bool
        Treat each stratum as a separate R ``onestage`` call (later stages),
        which changes how ``average`` rescales.

    Returns
    -------
    ndarray, shape (k, k)
        The covariance matrix.
    """
    policy = LonelyPSU(lonely_psu)
    totals = np.asarray(unit_totals, dtype=float)
    if totals.ndim == 1:
        totals = totals[:, None]
    unit_group = np.asarray(unit_group, dtype=np.intp)
    n_groups = int(unit_group.max()) + 1 if unit_group.size else 0
    if n_units is None:
        n_units = np.bincount(unit_group, minlength=n_groups)
    n_units = np.asarray(n_units, dtype=float)
    n_groups = n_units.shape[0]
    pop = np.full(n_groups, np.inf) if pop_units is None else np.asarray(pop_units, dtype=float)
    present = np.ones(n_groups, dtype=bool) if present is None else np.asarray(present, bool)
    k = totals.shape[1]

    f = np.where(np.isinf(pop), 1.0, (pop - n_units) / np.where(np.isinf(pop), 1.0, pop))
    self_rep = f < _SELF_REPRESENTING
    lonely = (n_units == 1) & ~self_rep & present
    if policy is LonelyPSU.FAIL and lonely.any():
        g = int(np.flatnonzero(lonely)[0])
        where = _group_name(g, stage, labels)
        raise ValueError(
            f"{where} has only one PSU at stage {stage}; choose a lonely_psu policy "
            "(remove, adjust, average, certainty)"
        )
    many = n_units > 1
    scale = np.where(many, f * n_units / np.where(many, n_units - 1, 1.0), f)
    scale[self_rep | ~present] = 0.0
    averaged = lonely & (policy is LonelyPSU.AVERAGE)
    scale[averaged] = 0.0
    if group_weights is not None:
        scale = scale * np.asarray(group_weights, dtype=float)

    group_sum = np.empty((n_groups, k))
    for j in range(k):
        group_sum[:, j] = np.bincount(unit_group, weights=totals[:, j], minlength=n_groups)
    mean = group_sum / np.where(n_units > 0, n_units, 1.0)[:, None]
    if policy is LonelyPSU.ADJUST:
        mean[lonely] = 0.0
    centred = (totals - mean[unit_group]) * np.sqrt(scale)[unit_group][:, None]
    cov = centred.T @ centred
    # Units counted in n_units but absent from unit_totals have total 0:
    # their centred value is -mean, once per missing unit.
    missing = n_units - np.bincount(unit_group, minlength=n_groups)
    if np.any(missing > 0):
        m = mean * np.sqrt(scale * missing)[:, None]
        cov = cov + m.T @ m

    if per_group:
        if averaged.any():
            cov = cov * np.nan
    else:
        n_strata = int(present.sum())
        n_ok = int((present & ~averaged).sum())
        if n_ok < n_strata:
            cov = cov * (n_strata / n_ok) if n_ok > 0 else cov * np.nan
    return cov


def domain_covariances(
    unit_totals: np.ndarray,
    unit_group: np.ndarray,
    unit_domain: np.ndarray,
    n_domains: int,
    *,
    n_units: np.ndarray,
    pop_units: np.ndarray | None = None,
    lonely_psu: str | LonelyPSU = LonelyPSU.FAIL,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`stratified_covariance` of every domain's unit totals at once.

    The covariance of domain ``d`` is ``stratified_covariance`` of the rows
    with ``unit_domain == d`` (each a sampled unit's totals in the domain),
    with ``present`` the strata they are in; the units of a stratum without a
    row in the domain count as zero totals. One pass over all rows instead of
    one call per domain: a table by desk has thousands of domains.

    Parameters
    ----------
    unit_totals : ndarray, shape (P, k)
        Totals of each (unit, domain) row; a unit appears once per domain.
    unit_group, unit_domain : ndarray of int, shape (P,)
        Stratum (0..G-1) and domain (0..D-1) of each row.
    n_domains : int
        D.
    n_units, pop_units, lonely_psu, labels
        As :func:`stratified_covariance` (stage 1).

    Returns
    -------
    ndarray, shape (D, k, k)
        NaN for a domain without rows.

    Raises
    ------
    ValueError
        For a stratum with a single unit that has a row in some domain, with
        ``fail`` (the first such domain's, as a loop over the domains finds it).
    """
    policy = LonelyPSU(lonely_psu)
    totals = np.asarray(unit_totals, dtype=float)
    if totals.ndim == 1:
        totals = totals[:, None]
    group = np.asarray(unit_group, dtype=np.int64)
    domain = np.asarray(unit_domain, dtype=np.int64)
    n_units = np.asarray(n_units, dtype=float)
    n_groups = n_units.shape[0]
    pop = np.full(n_groups, np.inf) if pop_units is None else np.asarray(pop_units, dtype=float)
    k = totals.shape[1]
    out = np.full((int(n_domains), k, k), np.nan)
    if not totals.shape[0]:
        return out

    finite = ~np.isinf(pop)
    f = np.where(finite, (pop - n_units) / np.where(finite, pop, 1.0), 1.0)
    self_rep = f < _SELF_REPRESENTING
    many = n_units > 1
    scale = np.where(many, f * n_units / np.where(many, n_units - 1, 1.0), f)
    scale[self_rep] = 0.0
    # the (domain, stratum) cells with a row, ordered by domain then stratum
    cell_key, row_cell = np.unique(domain * n_groups + group, return_inverse=True)
    row_cell = row_cell.ravel()
    cell_domain, cell_group = cell_key // n_groups, cell_key % n_groups
    lonely = (n_units[cell_group] == 1) & ~self_rep[cell_group]
    if policy is LonelyPSU.FAIL and lonely.any():
        where = _group_name(int(cell_group[np.flatnonzero(lonely)[0]]), 1, labels)
        raise ValueError(
            f"{where} has only one PSU at stage 1; choose a lonely_psu policy "
            "(remove, adjust, average, certainty)"
        )
    averaged = lonely & (policy is LonelyPSU.AVERAGE)
    cell_scale = np.where(averaged, 0.0, scale[cell_group])
    n_cell = cell_key.shape[0]
    cell_sum = np.column_stack(
        [np.bincount(row_cell, weights=totals[:, j], minlength=n_cell) for j in range(k)]
    )
    cell_units = n_units[cell_group]
    mean = cell_sum / np.where(cell_units > 0, cell_units, 1.0)[:, None]
    if policy is LonelyPSU.ADJUST:
        mean[lonely] = 0.0
    centred = (totals - mean[row_cell]) * np.sqrt(cell_scale)[row_cell][:, None]
    # units of the stratum without a row in the domain: total 0, deviation -mean
    missing = cell_units - np.bincount(row_cell, minlength=n_cell)
    absent = mean * np.sqrt(cell_scale * missing)[:, None]
    rows = np.vstack([centred, absent])
    owner = np.concatenate([domain, cell_domain])
    found = np.unique(cell_domain)
    out[found] = _grouped_cross_products(rows, owner, found)

    n_strata = np.bincount(cell_domain, minlength=out.shape[0])
    n_ok = n_strata - np.bincount(cell_domain, weights=averaged, minlength=out.shape[0])
    short = n_ok < n_strata
    if short.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(n_ok > 0, n_strata / np.where(n_ok > 0, n_ok, 1), np.nan)
        out[short] *= factor[short][:, None, None]
    return out


def _grouped_cross_products(rows: np.ndarray, owner: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``rows[owner == g].T @ rows[owner == g]`` for each ``g`` of ``groups`` (sorted, every
    owner among them): a matrix product per large group, the small groups' outer products
    summed together, a block of rows at a time."""
    k = rows.shape[1]
    order = np.argsort(owner, kind="stable")
    rows, owner = rows[order], owner[order]
    starts = np.searchsorted(owner, groups)
    sizes = np.diff(np.append(starts, owner.shape[0]))
    out = np.zeros((groups.shape[0], k, k))
    large = sizes > max(k, 8)
    for g in np.flatnonzero(large):
        block = rows[starts[g] : starts[g] + sizes[g]]
        out[g] = block.T @ block
    small = np.repeat(~large, sizes)
    rows, index = rows[small], np.repeat(np.arange(groups.shape[0]), sizes)[small]
    step = max(1, _OUTER_CELLS // max(k * k, 1))
    for first in range(0, rows.shape[0], step):
        block, at = rows[first : first + step], index[first : first + step]
        heads = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
        out[at[heads]] += np.add.reduceat(block[:, :, None] * block[:, None, :], heads)
    return out


def _unit_totals(x: np.ndarray, units: np.ndarray, n_units: int) -> np.ndarray:
    if x.shape[1] == 1:
        return np.bincount(units, weights=x[:, 0], minlength=n_units)[:, None]
    from scipy import sparse  # only here: importing it costs more than most estimates

    indicator = sparse.csr_matrix(
        (np.ones(units.shape[0]), (units, np.arange(units.shape[0]))),
        shape=(n_units, units.shape[0]),
    )
    return np.asarray(indicator @ x)


def _present(groups: np.ndarray, rows: np.ndarray | None, n_groups: int) -> np.ndarray:
    if rows is None:
        return np.ones(n_groups, dtype=bool)
    return np.bincount(groups[rows], minlength=n_groups) > 0


def _group_name(g: int, stage: int, labels: np.ndarray | None) -> str:
    if stage == 1:
        return f"stratum '{labels[g] if labels is not None else g + 1}'"
    return f"cluster {g + 1} (stage {stage - 1})"


class DomainVariance:
    """Variances of many domain totals at once, without dense domain columns.

    For an estimating function ``z`` and a partition of (some of) the rows
    into domains ``codes`` (``-1``: in no domain), :meth:`variances` gives
    the variance of ``sum_{i in d} w_i z_i`` for every domain ``d`` — the
    diagonal of :func:`taylor_covariance` applied to the columns
    ``z * (codes == d)`` with ``domain=(codes == d)`` — in one pass over the
    rows. The (unit, domain) structure is computed once, so many variables
    over the same domains cost one ``bincount`` each. Few domains use dense
    (unit x domain) arrays; many domains (e.g. one per desk) use only the
    (unit, domain) pairs that occur.

    Parameters
    ----------
    design : SurveyDesign
    codes : ndarray of int, shape (n,)
        Domain code of each row, 0..D-1, or -1.
    n_domains : int
        D.
    """

    def __init__(self, design: SurveyDesign, codes: np.ndarray, n_domains: int) -> None:
        self.design = design
        self.n_domains = int(n_domains)
        slot = np.asarray(codes, dtype=np.intp) + 1  # 0: in no domain
        width = self.n_domains + 1
        self._stages: list[tuple] = []
        dense_limit = max(4 * design.n, 1 << 22)
        for stage in design.stages:
            n_units = stage.unit_group.shape[0]
            n_groups = stage.n_units.shape[0]
            if n_units * width <= dense_limit and n_groups * width <= dense_limit:
                key = stage.units * width + slot
                counts = np.bincount(stage.groups * width + slot, minlength=n_groups * width)
                present = counts.reshape(n_groups, width)[:, 1:] > 0
                self._stages.append(("dense", stage, key, present))
                continue
            keep = np.flatnonzero(slot > 0)
            c = (slot[keep] - 1).astype(np.int64)
            d = max(self.n_domains, 1)
            u = stage.units[keep].astype(np.int64)
            pair_key, row_pair = np.unique(u * d + c, return_inverse=True)
            pair_group = stage.unit_group[pair_key // d].astype(np.int64)
            gkey, pair_gpair = np.unique(pair_group * d + pair_key % d, return_inverse=True)
            pair_gpair = pair_gpair.ravel()
            self._stages.append(
                (
                    "pairs",
                    stage,
                    keep,
                    row_pair.ravel(),
                    pair_gpair,
                    gkey // d,
                    gkey % d,
                    np.bincount(pair_gpair, minlength=gkey.shape[0]),
                )
            )

    def variances(self, z: np.ndarray) -> np.ndarray:
        """Variance of each domain's estimated total ``sum w z``.

        Parameters
        ----------
        z : ndarray, shape (n,)
            Estimating function on all rows of the design (values outside
            every domain are ignored).

        Returns
        -------
        ndarray, shape (D,)
        """
        design = self.design
        policy = design.lonely_psu
        x = np.asarray(z, dtype=float) * design.weights
        out = np.zeros(self.n_domains)
        multiplier = None
        has_fpc = any(f is not None for f in design.fpc)
        for s, entry in enumerate(self._stages, start=1):
            if s > 1 and (not has_fpc or multiplier is None or not (multiplier > 0).any()):
                break
            stage = entry[1]
            n_units = stage.n_units.astype(float)
            pop = stage.pop_units
            finite = ~np.isinf(pop)
            f = np.where(finite, (pop - n_units) / np.where(finite, pop, 1.0), 1.0)
            self_rep = f < _SELF_REPRESENTING
            many = n_units > 1
            scale = np.where(many, f * n_units / np.where(many, n_units - 1, 1.0), f)
            scale[self_rep] = 0.0
            lonely_group = (n_units == 1) & ~self_rep
            if multiplier is not None:
                scale = scale * multiplier
                lonely_group &= multiplier > 0
            centre = ~(lonely_group & (policy is LonelyPSU.ADJUST))
            if entry[0] == "dense":
                g_group, g_domain, ss = self._dense_ss(entry, x, n_units, centre)
            else:
                g_group, g_domain, ss = self._pair_ss(entry, x, n_units, centre)
            lonely = lonely_group[g_group]
            if policy is LonelyPSU.FAIL and lonely.any():
                g = int(g_group[np.flatnonzero(lonely)[0]])
                where = _group_name(g, s, design.strata_labels)
                raise ValueError(
                    f"{where} has only one PSU at stage {s}; choose a lonely_psu policy "
                    "(remove, adjust, average, certainty)"
                )
            contrib = scale[g_group] * ss
            averaged = lonely & (policy is LonelyPSU.AVERAGE)
            contrib[averaged] = 0.0
            var = np.bincount(g_domain, weights=contrib, minlength=self.n_domains)
            if policy is LonelyPSU.AVERAGE:
                bad = np.bincount(g_domain, weights=averaged, minlength=self.n_domains)
                if s == 1:
                    n_strata = np.bincount(g_domain, minlength=self.n_domains)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        var = var * np.where(bad > 0, n_strata / (n_strata - bad), 1.0)
                else:
                    var = np.where(bad > 0, np.nan, var)
            out += var
            step = (n_units / pop)[stage.unit_group]
            multiplier = step if multiplier is None else multiplier[stage.unit_group] * step
        return out

    def _dense_ss(
        self, entry: tuple, x: np.ndarray, n_units: np.ndarray, centre: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centred sums of squares per present (group, domain), from dense arrays."""
        _, stage, key, present = entry
        width = self.n_domains + 1
        n_u = stage.unit_group.shape[0]
        n_g = present.shape[0]
        totals = np.bincount(key, weights=x, minlength=n_u * width).reshape(n_u, width)[:, 1:]
        cell = (stage.unit_group[:, None] * self.n_domains + np.arange(self.n_domains)).ravel()
        size = n_g * self.n_domains
        group_sum = np.bincount(cell, weights=totals.ravel(), minlength=size)
        mean = group_sum.reshape(n_g, -1) / np.where(n_units > 0, n_units, 1.0)[:, None]
        mean[~centre] = 0.0
        dev = totals - mean[stage.unit_group]
        ss = np.bincount(cell, weights=(dev * dev).ravel(), minlength=size).reshape(n_g, -1)
        # units sampled but without a row (a subset's): total 0, deviation -mean
        absent = n_units - np.bincount(stage.unit_group, minlength=n_g)
        ss += absent[:, None] * mean * mean
        g_group, g_domain = np.nonzero(present)
        return g_group, g_domain, ss[g_group, g_domain]

    def _pair_ss(
        self, entry: tuple, x: np.ndarray, n_units: np.ndarray, centre: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centred sums of squares per present (group, domain), from occurring pairs."""
        _, stage, keep, row_pair, pair_gpair, g_group, g_domain, g_count = entry
        pair_total = np.bincount(row_pair, weights=x[keep], minlength=pair_gpair.shape[0])
        g_sum = np.bincount(pair_gpair, weights=pair_total, minlength=g_group.shape[0])
        g_n = n_units[g_group]
        g_mean = np.where(centre[g_group], g_sum / g_n, 0.0)
        dev = pair_total - g_mean[pair_gpair]
        ss = np.bincount(pair_gpair, weights=dev * dev, minlength=g_group.shape[0])
        # units of the group without a row in the domain: total 0, deviation -mean
        ss += (g_n - g_count) * g_mean * g_mean
        return g_group, g_domain, ss


def domain_variances(
    design: SurveyDesign, z: np.ndarray, codes: np.ndarray, n_domains: int
) -> np.ndarray:
    """Variance of ``sum_{i in d} w_i z_i`` for each domain ``d`` (see :class:`DomainVariance`).

    Parameters
    ----------
    design : SurveyDesign
    z : ndarray, shape (n,)
        Estimating function.
    codes : ndarray of int, shape (n,)
        Domain of each row, 0..D-1, or -1 for rows in no domain.
    n_domains : int
        D.

    Returns
    -------
    ndarray, shape (D,)
    """
    return DomainVariance(design, codes, n_domains).variances(z)
