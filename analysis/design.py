"""The survey design object: weights, strata, clusters per stage, fpc.

A :class:`SurveyDesign` is built once (usually with
:meth:`SurveyDesign.from_frame`), checked once, and never changes: a domain
(R's ``subset`` or ``svyby``) is the same design with the estimating
function set to zero outside the domain, and calibration makes a copy with
new weights (:meth:`SurveyDesign.with_weights`).

The conventions follow R's ``survey::svydesign``:

* PSU ids must each belong to one stratum unless ``nest=True``, in which case
  they are relative to their stratum; later-stage ids are always relative to
  their cluster of the stage before (R takes their interaction).
* Without PSUs every row is its own PSU.
* Finite population corrections are given per stage, either as population
  counts (some value > 1) or as sampling fractions (all values <= 1); they are
  stored as counts.
* The policy for strata with a single PSU is :class:`LonelyPSU`, as R's
  ``options(survey.lonely.psu=)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis._validate import (
    as_1d_float,
    as_names,
    check_columns,
    check_rows,
    numeric_column,
    option,
    weight_column,
)

__all__ = ["LonelyPSU", "SurveyDesign", "StageInfo"]

_STAGE_NAMES = ("PSU", "SSU", "TSU")


class LonelyPSU(StrEnum):
    """What to do with a stratum that has a single PSU (R ``survey.lonely.psu``).

    Attributes
    ----------
    FAIL
        Refuse to compute a variance (R's default).
    REMOVE
        The stratum contributes nothing to the variance.
    ADJUST
        Centre the stratum's PSU total at the grand mean (zero for the
        estimating functions) instead of its own stratum mean.
    AVERAGE
        Replace the stratum's contribution by the average of the other strata.
    CERTAINTY
        Treat the single PSU as sampled with certainty: no contribution at
        that stage.
    """

    FAIL = "fail"
    REMOVE = "remove"
    ADJUST = "adjust"
    AVERAGE = "average"
    CERTAINTY = "certainty"


@dataclass(frozen=True)
class StageInfo:
    """Per-stage structure used by the variance engine (derived, not user input).

    Attributes
    ----------
    units : ndarray of int, shape (n,)
        Code of the row's sampling unit at this stage, 0..U-1.
    groups : ndarray of int, shape (n,)
        Code of the group the unit was sampled in: the stratum at stage 1,
        the cluster of the previous stage afterwards; 0..G-1.
    unit_group : ndarray of int, shape (U,)
        Group of each unit.
    n_units : ndarray of int, shape (G,)
        Number of sampled units in each group.
    pop_units : ndarray of float, shape (G,)
        Population number of units in each group (``inf`` without fpc).
    """

    units: np.ndarray
    groups: np.ndarray
    unit_group: np.ndarray
    n_units: np.ndarray
    pop_units: np.ndarray


@dataclass(frozen=True, eq=False)
class SurveyDesign:
    """A complex survey design for Taylor-linearisation estimates.

    Build it with :meth:`from_frame` from a data frame; the direct constructor
    takes the coded arrays and is meant for code that has them already.

    Parameters
    ----------
    weights : ndarray of float, shape (n,)
        Sampling (or calibrated) weights, >= 0.
    strata : ndarray of int, shape (n,)
        Stratum codes 0..H-1 (all 0 for an unstratified design).
    clusters : tuple of ndarray of int
        Per stage, shape (n,), the code of the row's cluster at that stage,
        unique across the whole design (so nested in strata and in the
        clusters of earlier stages). Stage 1 is the PSU.
    fpc : tuple of (ndarray of float or None)
        Per stage, shape (n,), the population number of units at that stage
        in the row's stratum (stage 1) or parent cluster (later stages);
        ``None`` for sampling with replacement at that stage.
    lonely_psu : LonelyPSU
        Policy for strata with a single PSU.
    strata_labels : ndarray, optional
        Original stratum value for each code.
    data : DataFrame, optional
        The rows the design was built from, so that estimators accept column
        names.
    names : dict, optional
        The columns the design was built from (``weights``, ``strata``,
        ``psu``, ``fpc``), for messages and reports.

    Notes
    -----
    The object is immutable. ``eq`` is identity: two designs are the same
    design only if they are the same object.
    """

    weights: np.ndarray
    strata: np.ndarray
    clusters: tuple[np.ndarray, ...]
    fpc: tuple[np.ndarray | None, ...]
    lonely_psu: LonelyPSU = LonelyPSU.FAIL
    strata_labels: np.ndarray | None = None
    data: pd.DataFrame | None = field(default=None, repr=False)
    names: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        weights = as_1d_float(self.weights, "weights")
        n = weights.shape[0]
        if not np.all(np.isfinite(weights)):
            raise ValueError("weights: missing or infinite values")
        if np.any(weights < 0):
            raise ValueError("weights: negative values")
        strata = _as_codes(self.strata, "strata", n)
        clusters = tuple(
            _as_codes(c, f"clusters (stage {i + 1})", n) for i, c in enumerate(self.clusters)
        )
        if not clusters:
            clusters = (np.arange(n, dtype=np.intp),)
        fpc = tuple(self.fpc) + (None,) * (len(clusters) - len(self.fpc))
        if len(fpc) > len(clusters):
            raise ValueError(f"fpc: {len(fpc)} stages given for a {len(clusters)}-stage design")
        fpc = tuple(
            None if f is None else as_1d_float(f, f"fpc (stage {i + 1})", n)
            for i, f in enumerate(fpc)
        )
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "strata", strata)
        object.__setattr__(self, "clusters", clusters)
        object.__setattr__(self, "fpc", fpc)
        object.__setattr__(self, "lonely_psu", LonelyPSU(self.lonely_psu))
        # Build (and so check) the stage structure now: nesting and fpc.
        _ = self.stages

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        *,
        weights: str,
        strata: str | None = None,
        psu: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: str | LonelyPSU = "fail",
    ) -> SurveyDesign:
        """Build a design from the columns of a data frame (R ``svydesign``).

        Parameters
        ----------
        data : DataFrame
            One row per respondent.
        weights : str
            Column of sampling weights (numeric, no missing, >= 0).
        strata : str, optional
            Column of stratum ids.
        psu : str or sequence of str, optional
            Cluster id column per stage (``"desk"`` or ``["dnum", "snum"]``
            or ``"dnum,snum"``). Without it every row is its own PSU.
        fpc : str or sequence of str, optional
            Finite population correction column per stage: population
            counts (some value > 1) or sampling fractions (all values <= 1),
            as R's ``fpc=``. Must be constant within the stratum (stage 1)
            or the parent cluster (later stages).
        nest : bool, default False
            Treat cluster ids as relative to their stratum and parent cluster
            (R ``nest=TRUE``). Otherwise an id found in two strata is an
            error.
        lonely_psu : {"fail", "remove", "adjust", "average", "certainty"}
            Policy for strata with a single PSU.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        ValueError
            Naming the column and the problem: a missing column, no rows,
            weights that are not numbers (text, True/False), missing,
            infinite, negative, all zero or too large to sum, missing ids,
            clusters not nested in strata, an fpc that varies within a
            stratum or implies more than 100% sampling.
        """
        if not isinstance(data, pd.DataFrame):
            raise ValueError("data: expected a pandas DataFrame")
        policy = _policy(lonely_psu)
        psu_cols = as_names(psu, "psu")
        fpc_cols = as_names(fpc, "fpc")
        if not isinstance(weights, str):
            raise ValueError("weights: expected a column name")
        check_columns(data, [weights], "weights")
        if strata is not None:
            check_columns(data, [strata], "strata")
        check_columns(data, psu_cols, "psu")
        check_columns(data, fpc_cols, "fpc")
        if len(fpc_cols) > max(len(psu_cols), 1):
            raise ValueError(
                f"fpc: {len(fpc_cols)} columns given for a design with "
                f"{max(len(psu_cols), 1)} stage(s)"
            )
        check_rows(data)
        n = len(data)
        w = weight_column(data, weights)

        if strata is None:
            strata_codes = np.zeros(n, dtype=np.intp)
            strata_labels = None
        else:
            strata_codes, strata_labels = _factorize(data[strata], "strata", strata)

        clusters: list[np.ndarray] = []
        if not psu_cols:
            clusters.append(np.arange(n, dtype=np.intp))
        parent = strata_codes
        for stage, col in enumerate(psu_cols):
            codes, labels = _factorize(data[col], "psu", col)
            # Later-stage ids are always relative to their parent cluster, as R
            # makes them (the interaction of the ids of all stages so far).
            if stage == 0 and not nest:
                _check_nested(codes, labels, parent, strata_labels, "PSU", "strata", col)
            clusters.append(_combine(parent, codes))
            parent = clusters[-1]

        if n and int(clusters[0].max()) == 0 and not (nest and strata is not None):
            raise ValueError("psu: the design has only one PSU; variances cannot be estimated")

        design_fpc: list[np.ndarray | None] = []
        if fpc_cols:
            values = [numeric_column(data, c, "fpc") for c in fpc_cols]
            for col, v in zip(fpc_cols, values, strict=True):
                if np.isnan(v).any():
                    raise ValueError(f"fpc: column '{col}' has missing values")
                if (v <= 0).any():
                    raise ValueError(f"fpc: column '{col}' has values <= 0")
            counts = any((v > 1).any() for v in values)
            for stage, (col, v) in enumerate(zip(fpc_cols, values, strict=True)):
                groups = strata_codes if stage == 0 else clusters[stage - 1]
                units = clusters[stage]
                if counts:
                    if (v < 1).any():
                        raise ValueError(
                            f"fpc: column '{col}' mixes population counts (> 1) and "
                            "sampling fractions (< 1)"
                        )
                    pop = v.copy()  # the design keeps it; v may be the frame's own data
                else:
                    pop = _n_units_per_row(units, groups) / v
                _check_constant(pop, groups, col, strata_labels if stage == 0 else None)
                sampled = _n_units_per_row(units, groups)
                if (pop < sampled - 1e-9 * sampled).any():
                    raise ValueError(
                        f"fpc: column '{col}' implies more than 100% sampling "
                        "(population smaller than the sample)"
                    )
                design_fpc.append(pop)

        names = {"weights": weights, "strata": strata, "psu": psu_cols, "fpc": fpc_cols}
        return cls(
            weights=w,
            strata=strata_codes,
            clusters=tuple(clusters),
            fpc=tuple(design_fpc),
            lonely_psu=policy,
            strata_labels=strata_labels,
            data=data,
            names=names,
        )

    def with_weights(self, weights: Any) -> SurveyDesign:
        """Return a copy of the design with new weights (e.g. after calibration).

        Parameters
        ----------
        weights : array_like, shape (n,)
            The new weights, >= 0.

        Returns
        -------
        SurveyDesign
        """
        w = as_1d_float(weights, "weights", self.n)
        return replace(self, weights=w)

    def with_lonely_psu(self, lonely_psu: str | LonelyPSU) -> SurveyDesign:
        """Return a copy of the design with another lonely-PSU policy."""
        return replace(self, lonely_psu=_policy(lonely_psu))

    # ------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.weights.shape[0])

    @property
    def n_stages(self) -> int:
        """Number of sampling stages."""
        return len(self.clusters)

    @property
    def n_strata(self) -> int:
        """Number of strata."""
        return int(self.stages[0].n_units.shape[0])

    @property
    def n_psu(self) -> int:
        """Number of PSUs."""
        return int(self.stages[0].unit_group.shape[0])

    @property
    def psu(self) -> np.ndarray:
        """PSU code of each row (stage-1 clusters)."""
        return self.clusters[0]

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R ``degf``).

        Rows with weight zero are not counted, as in R.
        """
        return self.domain_df(None)

    def domain_df(self, mask: np.ndarray | None) -> int:
        """Degrees of freedom of the design restricted to the rows of ``mask``.

        This is what R's ``degf`` gives for ``subset(design, mask)``, and what
        ``svyby`` passes for each domain: the number of PSUs with a row in the
        domain minus the number of strata with a row in the domain. Rows with
        weight zero are not counted.

        Parameters
        ----------
        mask : ndarray of bool, shape (n,), or None
            The domain's rows; ``None`` for the whole design.

        Returns
        -------
        int
        """
        inset = self.weights != 0
        if mask is not None:
            inset &= np.asarray(mask, dtype=bool)
        stage = self.stages[0]
        psu_in = np.bincount(stage.units[inset], minlength=stage.unit_group.shape[0]) > 0
        strata_in = np.bincount(stage.groups[inset], minlength=stage.n_units.shape[0]) > 0
        return int(psu_in.sum() - strata_in.sum())

    def stratum_label(self, code: int) -> Any:
        """Original value of a stratum code (the code itself when unknown)."""
        if self.strata_labels is None:
            return code
        return self.strata_labels[code]

    @cached_property
    def stages(self) -> tuple[StageInfo, ...]:
        """Per-stage units, groups and counts, as the variance engine needs them."""
        infos = []
        groups = self.strata
        for i, units in enumerate(self.clusters):
            n_groups = int(groups.max()) + 1 if groups.size else 0
            n_units_total = int(units.max()) + 1 if units.size else 0
            unit_group = np.full(n_units_total, -1, dtype=np.intp)
            unit_group[units] = groups
            if np.any(unit_group[units] != groups):
                kind = "strata" if i == 0 else f"{_stage_name(i - 1)}s"
                raise ValueError(f"clusters not nested in {kind} at stage {i + 1}")
            n_units = np.bincount(unit_group, minlength=n_groups)
            pop = np.full(n_groups, np.inf)
            if self.fpc[i] is not None:
                f = self.fpc[i]
                pop[groups] = f
                if np.any(pop[groups] != f):
                    raise ValueError(f"fpc (stage {i + 1}): varies within a stratum")
            infos.append(StageInfo(units, groups, unit_group, n_units, pop))
            groups = units
        return tuple(infos)


# ---------------------------------------------------------------- helpers
def _policy(value: str | LonelyPSU) -> LonelyPSU:
    if isinstance(value, LonelyPSU):
        return value
    option(str(value), "lonely_psu", [p.value for p in LonelyPSU])
    return LonelyPSU(value)


def _stage_name(stage: int) -> str:
    return _STAGE_NAMES[stage] if stage < len(_STAGE_NAMES) else f"stage-{stage + 1} unit"


def _as_codes(values: Any, name: str, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} integer codes")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected integer codes, got {arr.dtype}")
    if n and arr.min() < 0:
        raise ValueError(f"{name}: codes must be >= 0")
    arr = arr.astype(np.intp, copy=False)
    if n and (np.bincount(arr) == 0).any():
        # Make the codes compact, keeping their order.
        _, arr = np.unique(arr, return_inverse=True)
        arr = arr.astype(np.intp)
    return arr


def _factorize(values: pd.Series, name: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    if values.isna().any():
        raise ValueError(f"{name}: column '{column}' has missing values")
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:
        codes, labels = pd.factorize(values.astype(str), sort=True)
    return codes.astype(np.intp, copy=False), np.asarray(labels, dtype=object)


def _combine(parent: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Codes of the (parent, code) pairs, compact and in sorted order."""
    key = parent.astype(np.int64) * (int(codes.max()) + 1 if codes.size else 1) + codes
    return _compact(key)


def _is_small_range(key: np.ndarray) -> bool:
    """Whether non-negative keys span few enough values to count them in an array."""
    return key.size > 0 and int(key.max()) < max(4 * key.size, 1 << 20)


def _distinct(key: np.ndarray) -> np.ndarray:
    """Sorted distinct values of non-negative integer keys (``np.unique``, without sorting)."""
    if _is_small_range(key):
        return np.flatnonzero(np.bincount(key))
    return np.unique(key)


def _compact(key: np.ndarray) -> np.ndarray:
    """Rank of each non-negative integer key among the distinct keys (``np.unique``'s inverse)."""
    if _is_small_range(key):
        rank = np.cumsum(np.bincount(key) > 0) - 1
        return rank[key].astype(np.intp, copy=False)
    return np.unique(key, return_inverse=True)[1].astype(np.intp)


def _check_nested(
    codes: np.ndarray,
    labels: np.ndarray,
    parent: np.ndarray,
    parent_labels: np.ndarray | None,
    kind: str,
    parent_kind: str,
    column: str,
) -> None:
    pairs = _distinct(codes.astype(np.int64) * (int(parent.max()) + 1) + parent)
    pair_code = pairs // (int(parent.max()) + 1)
    counts = np.bincount(pair_code, minlength=len(labels))
    if (counts > 1).any():
        bad = int(np.flatnonzero(counts > 1)[0])
        parents = pairs[pair_code == bad] % (int(parent.max()) + 1)
        names = [
            repr(str(parent_labels[p])) if parent_labels is not None else str(p)
            for p in parents[:2]
        ]
        raise ValueError(
            f"clusters not nested in {parent_kind}: {kind} '{labels[bad]}' (column "
            f"'{column}') appears in {parent_kind} {names[0]} and {names[1]}; "
            "use nest=True if ids are relative to their stratum"
        )


def _n_units_per_row(units: np.ndarray, groups: np.ndarray) -> np.ndarray:
    unit_group = np.zeros(int(units.max()) + 1, dtype=np.intp)
    unit_group[units] = groups
    n_units = np.bincount(unit_group, minlength=int(groups.max()) + 1)
    return n_units[groups].astype(float)


def _check_constant(
    values: np.ndarray, groups: np.ndarray, column: str, labels: np.ndarray | None
) -> None:
    n_groups = int(groups.max()) + 1
    low = np.full(n_groups, np.inf)
    high = np.full(n_groups, -np.inf)
    np.minimum.at(low, groups, values)
    np.maximum.at(high, groups, values)
    bad = np.flatnonzero(high - low > 1e-9 * np.abs(high))
    if bad.size:
        g = int(bad[0])
        where = f"stratum '{labels[g]}'" if labels is not None else "a cluster"
        raise ValueError(f"fpc: column '{column}' varies within {where}")
