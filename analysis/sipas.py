"""The SIPAS satisfaction index with design-based standard errors.

Following the platform's method (``shared/sipas-method.md``, section 4):

* **item** ``j``: the weighted share of the item's valid answers that are in
  the satisfied set (default 4 and 5 on the 5-level scale),
  ``I_j = sum w 1[satisfied] / sum w 1[answered]`` -- R's
  ``svymean(~I(item %in% c(4, 5)), subset(design, !is.na(item)))``;
* **dimension** (factor, component): the mean of its items' indices, each
  over the item's own valid answers; with ``complete_cases=True``, over the
  rows that answered every item of the dimension;
* **part** (e.g. service, policy): the mean of its dimensions;
* **overall**: the mean of the parts, or of the dimensions when no part is
  given.

Indices are proportions in [0, 1]. Every standard error comes from
linearising the whole chain (R's ``svycontrast`` of the item ratios, not an
average of standard errors): the estimating function of item ratio ``j`` in
domain ``d`` is ``(sat_j - I_j ans_j) / ANS_j``, that of a dimension the mean
of its items', and so on; the covariance of all of them is one Taylor
computation on the design. Domains (``by=``) keep the full design, as R's
``svyby``.

For speed the rows are first summed per (PSU, domain) -- the same sums a
database would return (see :mod:`analysis.aggregates`) -- and the variance
is computed from those totals; designs with a finite population correction
at a later stage use the row-level variance of :mod:`analysis.variance`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis._validate import numeric_column
from analysis.aggregates import (
    PairIndex,
    PairTotals,
    chain_estimates,
    pair_linearization,
    ratio_deff,
)
from analysis.design import SurveyDesign
from analysis.estimators import domains
from analysis.results import Estimate, EstimateTable, _Linearization
from analysis.variance import DomainVariance

__all__ = ["IndexSpec", "OVERALL", "sipas_index"]

#: Name of the overall index in the results.
OVERALL = "overall"

_Basic = tuple[str, ...]

#: Largest number of cells of a per-pair table counted in one pass over the rows.
_TABLE_CELLS = 4_000_000

#: Rows from which the per-item passes run in threads.
_PARALLEL_ROWS = 200_000


@dataclass(frozen=True)
class IndexSpec:
    """What the SIPAS index is made of.

    Build it with :meth:`build`, which checks the names.

    Attributes
    ----------
    dimensions : dict of str to tuple of str
        Dimension name to its item columns, in order.
    parts : dict of str to tuple of str
        Part name to its dimensions (empty: ``overall`` is the mean of the
        dimensions).
    satisfied : tuple of float
        Answers that count as satisfied.
    complete_cases : bool
        Compute each dimension over the rows that answered all its items.
    """

    dimensions: dict[str, tuple[str, ...]]
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    satisfied: tuple[float, ...] = (4.0, 5.0)
    complete_cases: bool = False

    @classmethod
    def build(
        cls,
        dimensions: Mapping[str, Sequence[str]],
        *,
        parts: Mapping[str, Sequence[str]] | None = None,
        satisfied: Sequence[float] = (4, 5),
        complete_cases: bool = False,
    ) -> IndexSpec:
        """Check and build a specification.

        Parameters
        ----------
        dimensions : mapping of str to sequence of str
            Dimension name to its items (at least one dimension, each with
            at least one item, no item twice in a dimension).
        parts : mapping of str to sequence of str, optional
            Part name to its dimensions (known dimension names).
        satisfied : sequence of float, default (4, 5)
            Answers counted as satisfied.
        complete_cases : bool, default False
            See the class attributes.

        Returns
        -------
        IndexSpec

        Raises
        ------
        ValueError
            Naming the dimension or part: no items, an unknown dimension in
            a part, a name used twice (items, dimensions, parts and
            ``overall`` share one name space), an empty satisfied set.
        """
        if not isinstance(dimensions, Mapping) or not dimensions:
            raise ValueError("dimensions: at least one dimension is needed")
        dims: dict[str, tuple[str, ...]] = {}
        for name, items in dimensions.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"dimensions: invalid dimension name {name!r}")
            items = (items,) if isinstance(items, str) else tuple(items)
            if not items or any(not isinstance(i, str) or not i for i in items):
                raise ValueError(f"dimension '{name}': needs one or more item columns")
            if len(set(items)) != len(items):
                raise ValueError(f"dimension '{name}': an item is listed twice")
            dims[name] = items
        part_map: dict[str, tuple[str, ...]] = {}
        for name, members in (parts or {}).items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"parts: invalid part name {name!r}")
            members = (members,) if isinstance(members, str) else tuple(members)
            if not members:
                raise ValueError(f"part '{name}': needs one or more dimensions")
            for m in members:
                if m not in dims:
                    raise ValueError(f"part '{name}': unknown dimension '{m}'")
            if len(set(members)) != len(members):
                raise ValueError(f"part '{name}': a dimension is listed twice")
            part_map[name] = members
        items = list(dict.fromkeys(i for its in dims.values() for i in its))
        names = items + list(dims) + list(part_map) + [OVERALL]
        seen: set[str] = set()
        for n in names:
            if n in seen:
                raise ValueError(f"index names: '{n}' is used twice (items, dimensions, parts)")
            seen.add(n)
        try:
            sat = tuple(float(s) for s in satisfied)
        except (TypeError, ValueError):
            raise ValueError(f"satisfied: expected numbers, got {satisfied!r}") from None
        if not sat:
            raise ValueError("satisfied: at least one answer value is needed")
        if not all(math.isfinite(v) for v in sat):
            raise ValueError(f"satisfied: answer values must be finite numbers, got {satisfied!r}")
        return cls(dims, part_map, sat, bool(complete_cases))

    @property
    def items(self) -> tuple[str, ...]:
        """Distinct item columns, in order of first appearance."""
        return tuple(dict.fromkeys(i for its in self.dimensions.values() for i in its))

    @property
    def composites(self) -> tuple[str, ...]:
        """Dimensions, parts and ``overall``, in output order."""
        return (*self.dimensions, *self.parts, OVERALL)

    @property
    def names(self) -> tuple[str, ...]:
        """All index names in output order: items, dimensions, parts, ``overall``."""
        return (*self.items, *self.composites)

    def layout(self) -> tuple[list[_Basic], list[tuple[int, int]], np.ndarray]:
        """Basic variables, ratios of their totals, and the combination matrix.

        Returns
        -------
        basics : list of tuple
            ``("sat", item)``, ``("ans", item)`` for every item, then with
            complete cases ``("cc", dim)`` and ``("ccsat", dim, item)``.
        ratios : list of (int, int)
            (numerator, denominator) positions in ``basics``: the items
            first, then the complete-case item ratios.
        combine : ndarray, shape (len(names), len(ratios))
            Each index as a linear combination of the ratios.
        """
        basics: list[_Basic] = []
        ratios: list[tuple[int, int]] = []
        for item in self.items:
            basics += [("sat", item), ("ans", item)]
            ratios.append((len(basics) - 2, len(basics) - 1))
        k = len(self.items)
        dim_ratios: dict[str, list[int]] = {}
        for name, items in self.dimensions.items():
            if self.complete_cases:
                basics.append(("cc", name))
                cc = len(basics) - 1
                dim_ratios[name] = []
                for item in items:
                    basics.append(("ccsat", name, item))
                    ratios.append((len(basics) - 1, cc))
                    dim_ratios[name].append(len(ratios) - 1)
            else:
                dim_ratios[name] = [self.items.index(i) for i in items]
        combine = np.zeros((len(self.names), len(ratios)))
        combine[np.arange(k), np.arange(k)] = 1.0
        row = {name: k + i for i, name in enumerate(self.composites)}
        for name, rs in dim_ratios.items():
            combine[row[name], rs] = 1.0 / len(rs)
        for name, members in self.parts.items():
            combine[row[name]] = combine[[row[m] for m in members]].mean(axis=0)
        tops = list(self.parts) or list(self.dimensions)
        combine[row[OVERALL]] = combine[[row[t] for t in tops]].mean(axis=0)
        return basics, ratios, combine


def sipas_index(
    design: SurveyDesign,
    dimensions: Mapping[str, Sequence[str]] | IndexSpec,
    *,
    parts: Mapping[str, Sequence[str]] | None = None,
    satisfied: Sequence[float] = (4, 5),
    complete_cases: bool = False,
    by: Any = None,
) -> EstimateTable:
    """SIPAS indices for items, dimensions, parts and overall, with SEs.

    Parameters
    ----------
    design : SurveyDesign
        Built with :meth:`SurveyDesign.from_frame`; the items are columns of
        its data, numeric (1..5), missing (NaN) when not answered.
    dimensions : mapping of str to sequence of str, or IndexSpec
        Dimension name to its item columns (or a ready :class:`IndexSpec`,
        in which case ``parts``, ``satisfied`` and ``complete_cases`` are
        taken from it).
    parts : mapping of str to sequence of str, optional
        Part name to its dimensions; ``overall`` is then the mean of the
        parts (dimensions outside every part do not enter it).
    satisfied : sequence of float, default (4, 5)
        Answers that count as satisfied.
    complete_cases : bool, default False
        Compute each dimension over the rows that answered all of its items
        (items themselves are always over their own valid answers).
    by : str, sequence of str or array_like, optional
        Domains, as :func:`analysis.estimators.domains`.

    Returns
    -------
    EstimateTable
        For each domain (sorted; the whole population without ``by``), one
        :class:`~analysis.results.Estimate` per item, dimension, part and
        ``overall``, in that order, with ``statistic="index"``:

        * ``estimate`` in [0, 1] (NaN where an item has no valid answer in
          the domain), ``se`` from the linearised chain;
        * ``df`` = PSUs minus strata of the domain's rows (missing answers
          do not reduce it);
        * ``deff`` as R's ``svymean(..., deff=TRUE)`` for items, None for
          composites;
        * ``n`` = rows of the domain that answered the item, or at least one
          item of the composite (with complete cases: all items of the
          dimension).

        Its ``vcov()`` is the covariance matrix of all the estimates, across
        indices and domains, for :func:`analysis.contrast.contrast` (e.g.
        the difference between two provinces).

    Raises
    ------
    ValueError
        A missing or non-numeric item column (text, True/False, infinite
        values), an item answered in no row, a bad specification, a
        single-PSU stratum under the ``fail`` policy.

    Notes
    -----
    The same as R (``tests/analysis/reference/sipas/make_reference.R``)::

        svymean(~I(a1 %in% c(4, 5)), subset(des, !is.na(a1)), deff = TRUE)
        tot <- svytotal(~s_a1 + n_a1 + s_a2 + n_a2, des)   # s_ = satisfied, n_ = answered
        svycontrast(tot, quote((s_a1/n_a1 + s_a2/n_a2) / 2))

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis import SurveyDesign
    >>> df = pd.DataFrame({"w": [1.0, 1, 2, 2], "desk": [1, 2, 3, 4],
    ...                    "q1": [5, 3, 4, None], "q2": [4, 4, 1, 2]})
    >>> d = SurveyDesign.from_frame(df, weights="w", psu="desk")
    >>> t = sipas_index(d, {"access": ["q1", "q2"]})
    >>> [(e.variable, round(e.estimate, 3)) for e in t]
    [('q1', 0.75), ('q2', 0.333), ('access', 0.542), ('overall', 0.542)]
    """
    spec = (
        dimensions
        if isinstance(dimensions, IndexSpec)
        else IndexSpec.build(
            dimensions, parts=parts, satisfied=satisfied, complete_cases=complete_cases
        )
    )
    if design.data is None:
        raise ValueError("design: build it with SurveyDesign.from_frame to name item columns")
    dom = domains(design, by)
    values, bounds = {}, {}
    for item in spec.items:
        values[item], bounds[item] = _item_values(design, item)
    index = PairIndex.build(design, dom.codes, dom.count)
    sat_values = np.asarray(spec.satisfied)
    all_nonzero = bool((index.weights != 0).all())

    sums: dict[_Basic, np.ndarray] = {}
    answered: dict[str, np.ndarray] = {}
    item_n, item_nz = [], []
    coded = _codes(index, values, bounds)
    tables = _category_tables(index, {i: c for i, c in coded.items() if c is not None})
    for item, x in values.items():
        if coded[item] is not None:
            codes, levels = coded[item]
            weighted, counts = tables[item]
            is_sat = np.isin(levels, sat_values)
            sums[("sat", item)] = weighted[:, 1:][:, is_sat].sum(axis=1)
            sums[("ans", item)] = weighted[:, 1:].sum(axis=1)
            pair_n = counts[:, 1:].sum(axis=1).astype(float)
            answered[item] = codes > 0
        else:
            kept = index.take(x)
            answered[item] = ~np.isnan(kept)
            sums[("sat", item)] = index.sums(np.isin(kept, sat_values))
            sums[("ans", item)] = index.sums(answered[item])
            pair_n = index.sums(answered[item], weighted=False)
        item_n.append(index.per_domain(pair_n))
        if all_nonzero:
            item_nz.append(item_n[-1])
        else:
            pair_nz = index.sums(answered[item] & (index.weights != 0), weighted=False)
            item_nz.append(index.per_domain(pair_nz))

    complete = {}
    if spec.complete_cases:
        for name, items in spec.dimensions.items():
            complete[name] = np.logical_and.reduce([answered[i] for i in items])
            sums[("cc", name)] = index.sums(complete[name])
            for item in items:
                sat = np.isin(index.take(values[item]), sat_values) & complete[name]
                sums[("ccsat", name, item)] = index.sums(sat)
    reach = {
        name: complete[name] if spec.complete_cases else _any([answered[i] for i in items])
        for name, items in spec.dimensions.items()
    }
    composite_n = _composite_counts(index, spec, reach)
    n = np.rint(np.column_stack(item_n + composite_n)).astype(np.int64)

    basics, ratios, combine = spec.layout()
    pairs = index.totals([sums[b] for b in basics])
    row_level = None
    if design.n_stages > 1 and any(f is not None for f in design.fpc):
        columns = _row_columns(basics, values, sat_values)
        row_level = (columns, ratios, combine, dom.codes)
    return assemble_index(
        spec,
        pairs,
        dom.labels,
        numerators=[r[0] for r in ratios],
        denominators=[r[1] for r in ratios],
        combine=combine,
        n=n,
        item_nonzero=np.rint(np.column_stack(item_nz)).astype(np.int64),
        design=design,
        row_level=row_level,
    )


def _item_values(design: SurveyDesign, item: str) -> tuple[np.ndarray, tuple[float, float]]:
    """An item column as float (NaN: not answered), and its lowest and highest answer.

    Refuses text, True/False, infinite values and an item answered in no row.
    """
    values = numeric_column(design.data, item, "items", finite=False)
    low = float(np.fmin.reduce(values)) if values.size else math.nan
    high = float(np.fmax.reduce(values)) if values.size else math.nan
    if math.isnan(low):
        raise ValueError(f"items: column '{item}' has no valid answer (missing in every row)")
    if math.isinf(low) or math.isinf(high):
        raise ValueError(f"items: column '{item}' has infinite values")
    return values, (low, high)


def _codes(
    index: PairIndex, values: dict[str, np.ndarray], bounds: dict[str, tuple[float, float]]
) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    """:func:`_small_integer_codes` of the kept rows of every item, in the items' order."""

    def share(items: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
        buffer = np.empty(index.pair.shape[0])
        return {i: _small_integer_codes(index.take(values[i]), *bounds[i], buffer) for i in items}

    coded = _in_parallel(share, list(values), index.pair.shape[0])
    return {item: coded[item] for item in values}


def _in_parallel(
    task: Callable[[list[Any]], dict[str, Any]], work: list[Any], rows: int
) -> dict[str, Any]:
    """``task`` on ``work``, split in interleaved shares run by threads on large data.

    numpy lets go of the interpreter lock in its loops over arrays, so the
    per-item passes over a million rows run side by side on the cores; on
    small data a thread costs more than it saves. Each share's results do
    not depend on the others', so the outcome is the same however they run.
    """
    workers = min(os.cpu_count() or 1, 4, len(work)) if rows >= _PARALLEL_ROWS else 1
    if workers <= 1:
        return task(work)
    out: dict[str, Any] = {}
    with ThreadPoolExecutor(workers) as pool:
        for part in pool.map(task, [work[k::workers] for k in range(workers)]):
            out.update(part)
    return out


def _small_integer_codes(
    x: np.ndarray, low: float, high: float, buffer: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes 1..C of whole-number answers in a small range (0: missing), and the values.

    ``low`` and ``high`` bound the answers (finite); ``buffer`` (float, the
    shape of ``x``) is scratch space shared by the items. None when the
    answers are not whole numbers within a range of 100.
    """
    if high - low > 100:
        return None
    offset = low - 1.0
    shifted = np.fmax(x, offset, out=buffer)  # missing (NaN) becomes offset: code 0
    if offset:
        shifted -= offset  # every answer is now >= 1
    codes = shifted.astype(np.uint8)
    if not np.array_equal(codes, shifted):
        return None
    return codes, low + np.arange(int(high - low) + 1, dtype=float)


def _any(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Elementwise OR of boolean arrays."""
    out = masks[0].copy()
    for mask in masks[1:]:
        out |= mask
    return out


def _composite_counts(
    index: PairIndex, spec: IndexSpec, reach: Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Rows per domain entering each composite, from the rows each dimension reaches.

    A part or ``overall`` reaches a row when one of its dimensions does. With
    few dimensions every row is counted once, under its pattern of dimensions
    (a bit each), and each composite adds up the patterns holding one of its
    dimensions: one pass over the rows instead of one per composite.

    Returns
    -------
    list of ndarray, shape (D,)
        In the order of ``spec.composites``.
    """
    dims = list(spec.dimensions)
    members = {name: [name] for name in dims} | {k: list(v) for k, v in spec.parts.items()}
    tops = list(spec.parts) or dims
    members[OVERALL] = [d for d in dims if any(d in members[t] for t in tops)]
    width = 1 << len(dims)
    if len(dims) > 16 or index.n_pairs * width > _TABLE_CELLS:
        rows = [_any([reach[d] for d in members[c]]) for c in spec.composites]
        return [index.per_domain(index.sums(r, weighted=False)) for r in rows]
    pattern = np.zeros(index.pair.shape[0], dtype=np.uint8 if len(dims) <= 8 else np.uint16)
    for bit, name in enumerate(dims):
        pattern |= reach[name].astype(pattern.dtype) << bit
    table = np.bincount(index.pair * width + pattern, minlength=index.n_pairs * width)
    table = table.reshape(-1, width)
    patterns = np.arange(width)
    out = []
    for composite in spec.composites:
        mask = sum(1 << dims.index(d) for d in members[composite])
        pair_n = table[:, (patterns & mask) != 0].sum(axis=1).astype(float)
        out.append(index.per_domain(pair_n))
    return out


def _category_tables(
    index: PairIndex, coded: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Weighted and unweighted counts of each answer per pair, for every item.

    Two items are counted with one pass over the rows (their joint table,
    then its margins) when the joint table is small, which halves the work
    on large data.

    Returns
    -------
    dict of item to (weighted, counts), each of shape (P, C_item)
    """
    passes: list[tuple[str, ...]] = []
    items = list(coded)
    while items:
        first = items.pop(0)
        cells = index.n_pairs * (len(coded[first][1]) + 1)
        if items and cells * (len(coded[items[0]][1]) + 1) <= _TABLE_CELLS:
            passes.append((first, items.pop(0)))
        else:
            passes.append((first,))
    sizes = {_n_cells(coded, group) for group in passes}
    bases = {size: index.pair * size for size in sizes}

    def share(groups: list[tuple[str, ...]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for group in groups:
            out.update(_pass_tables(index, coded, group, bases[_n_cells(coded, group)]))
        return out

    return _in_parallel(share, passes, index.pair.shape[0])


def _n_cells(coded: dict[str, tuple[np.ndarray, np.ndarray]], group: tuple[str, ...]) -> int:
    """Cells per pair of the joint table of the items of ``group`` (code 0: missing)."""
    return math.prod(len(coded[item][1]) + 1 for item in group)


def _pass_tables(
    index: PairIndex,
    coded: dict[str, tuple[np.ndarray, np.ndarray]],
    group: tuple[str, ...],
    base: np.ndarray,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The tables of one item, or of two from their joint table, in one pass over the rows."""
    if len(group) == 1:
        codes, levels = coded[group[0]]
        return {group[0]: index.category_sums(codes, len(levels) + 1, base=base)}
    first, second = group
    codes_a, levels_a = coded[first]
    codes_b, levels_b = coded[second]
    n_a, n_b = len(levels_a) + 1, len(levels_b) + 1
    small = n_a * n_b <= 256  # the joint code fits in a byte
    joint = codes_a * np.uint8(n_b) if small else codes_a.astype(np.intp) * n_b
    joint += codes_b
    weighted, counts = index.category_sums(joint, n_a * n_b, base=base)
    w_first, w_second = _margins(weighted.reshape(-1, n_a, n_b))
    c_first, c_second = _margins(counts.reshape(-1, n_a, n_b))
    return {first: (w_first, c_first), second: (w_second, c_second)}


def _margins(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of a (P, A, B) table over B and over A.

    The same sums, in the same order, as ``table.sum(axis=2)`` and
    ``table.sum(axis=1)``, in a few passes over whole slices instead of
    numpy's slow reduction along a short axis.
    """
    first = table[:, :, 0].copy()
    for b in range(1, table.shape[2]):
        first += table[:, :, b]
    second = table[:, 0, :].copy()
    for a in range(1, table.shape[1]):
        second += table[:, a, :]
    return first, second


def _row_columns(
    basics: list[_Basic], values: dict[str, np.ndarray], sat_values: np.ndarray
) -> list[np.ndarray]:
    """Row-level basic variables (for the row-level variance)."""
    answered = {item: ~np.isnan(x) for item, x in values.items()}
    satisfied = {item: np.isin(x, sat_values) for item, x in values.items()}
    complete: dict[str, np.ndarray] = {}
    columns = []
    for basic in basics:
        kind = basic[0]
        if kind == "sat":
            columns.append(satisfied[basic[1]])
        elif kind == "ans":
            columns.append(answered[basic[1]])
        elif kind == "cc":
            items = [b[2] for b in basics if b[0] == "ccsat" and b[1] == basic[1]]
            complete[basic[1]] = np.logical_and.reduce([answered[i] for i in items])
            columns.append(complete[basic[1]])
        else:
            columns.append(satisfied[basic[2]] & complete[basic[1]])
    return columns


def assemble_index(
    spec: IndexSpec,
    pairs: PairTotals,
    labels: Sequence[dict[str, Any] | None],
    *,
    numerators: Sequence[int],
    denominators: Sequence[int],
    n: np.ndarray,
    item_nonzero: np.ndarray,
    design: SurveyDesign,
    combine: np.ndarray | None = None,
    row_level: tuple[list[np.ndarray], list[tuple[int, int]], np.ndarray, np.ndarray] | None = None,
) -> EstimateTable:
    """Estimates of every index from pair totals (shared by rows and aggregates).

    Parameters
    ----------
    spec : IndexSpec
    pairs : PairTotals
        Totals of the basic variables of ``spec.layout()`` (or of the item
        ``sat``/``ans`` pairs, for aggregated input without complete cases).
    labels : sequence
        Domain labels.
    numerators, denominators : sequence of int
        Columns of the ratios in ``pairs.totals``.
    n : ndarray, shape (D, len(spec.names))
        Rows entering each index per domain.
    item_nonzero : ndarray, shape (D, len(spec.items))
        Rows with a valid answer and non-zero weight, for ``deff``.
    design : SurveyDesign
        For the lonely-PSU policy, labels, and the row-level variance.
    combine : ndarray, optional
        Combination matrix (default: ``spec.layout()``'s).
    row_level : tuple, optional
        ``(columns, ratios, combine, codes)`` to compute the variance from
        the rows (designs with a later-stage fpc).

    Returns
    -------
    EstimateTable
    """
    if combine is None:
        combine = spec.layout()[2]
    est, cov, z = chain_estimates(
        pairs,
        numerators,
        list(denominators),
        combine,
        lonely_psu=design.lonely_psu,
        labels=design.strata_labels,
    )
    variances = np.diagonal(cov, axis1=1, axis2=2).copy()
    if row_level is None:
        linear = pair_linearization(pairs, z, design)
    else:
        variances, linear = _row_variances(design, pairs, *row_level)
        variances[np.isnan(est)] = np.nan
    k = len(spec.items)
    dom_tot = pairs.domain_totals()
    ans_total = dom_tot[:, list(denominators[:k])]
    deff = ratio_deff(variances[:, :k], est[:, :k], item_nonzero, ans_total)
    df = pairs.df().tolist()
    # as Python numbers, built once: a table by desk has a hundred thousand estimates
    names = spec.names
    estimates = est.tolist()
    with np.errstate(invalid="ignore"):
        ses = np.where(variances >= 0, np.sqrt(np.where(variances >= 0, variances, 0.0)), np.nan)
    ses = ses.tolist()
    deffs = [
        [float(value) if np.isfinite(value) else None for value in row] for row in deff.tolist()
    ]
    counts = np.asarray(n).astype(np.int64).tolist()
    out = [
        Estimate(
            variable=name,
            domain=label,
            estimate=estimates[d][c],
            se=ses[d][c],
            df=df[d],
            deff=deffs[d][c] if c < k else None,
            n=counts[d][c],
            statistic="index",
        )
        for d, label in enumerate(labels)
        for c, name in enumerate(names)
    ]
    return EstimateTable(tuple(out), linear)


def _row_variances(
    design: SurveyDesign,
    pairs: PairTotals,
    columns: list[np.ndarray],
    ratios: list[tuple[int, int]],
    combine: np.ndarray,
    codes: np.ndarray,
) -> tuple[np.ndarray, _Linearization]:
    """Variances of every index from row-level estimating functions (multistage fpc).

    Returns the variances, shape (D, m), and the linearisation for ``vcov``.
    """
    dom_tot = pairs.domain_totals()
    num = [r[0] for r in ratios]
    den = [r[1] for r in ratios]
    inside = codes >= 0
    c = np.where(inside, codes, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = dom_tot[:, num] / dom_tot[:, den]
        inv = 1.0 / dom_tot[:, den]
    r = np.where(np.isfinite(r), r, 0.0)
    inv = np.where(np.isfinite(inv), inv, 0.0)
    u = np.empty((design.n, len(ratios)))
    for l_, (a, b) in enumerate(ratios):
        u[:, l_] = (columns[a] - r[c, l_] * columns[b]) * inv[c, l_]
    u[~inside] = 0.0
    z = u @ combine.T
    engine = DomainVariance(design, codes, pairs.n_domains)
    variances = np.column_stack([engine.variances(z[:, j]) for j in range(z.shape[1])])
    m, d = z.shape[1], pairs.n_domains
    linear = _Linearization(design, z, codes, np.tile(np.arange(m), d), np.repeat(np.arange(d), m))
    return variances, linear
