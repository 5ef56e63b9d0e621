"""The survey design object: weights, strata, clusters per stage, fpc.

A :class:`SurveyDesign` is built once (usually with
:meth:`SurveyDesign.from_frame`), checked once, and never changes: a domain
(R's ``svyby``) is the same design with the estimating function set to zero
outside the domain, :meth:`SurveyDesign.subset` (R's ``subset``) keeps the
domain's rows and the number of PSUs each stratum was sampled with (so the
two give the same estimates), and calibration makes a copy with new weights
(:meth:`SurveyDesign.with_weights`).

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

import ast
import html
import re
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
from analysis.results import _html_table, _level_text, _number, _text_grid

__all__ = ["LonelyPSU", "SurveyDesign", "StageInfo", "expression_columns"]

_STAGE_NAMES = ("PSU", "SSU", "TSU")
#: Strata listed by ``print(design)``; the others are counted.
_STRATA_SHOWN = 20
_CALIBRATIONS = {
    "PostStratification": "post-stratification",
    "Raking": "raking",
    "LinearCalibration": "linear calibration",
}


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
    sampled : tuple of (ndarray of float or None)
        Per stage, shape (n,), the number of units sampled in the row's
        stratum (stage 1) or parent cluster (later stages) in the design the
        rows were taken from (R's ``fpc$sampsize``), when some of them have
        no row here: :meth:`subset` sets it, so that the variance counts the
        units left out as units with a total of zero. ``None``: counted from
        the rows.

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
    sampled: tuple[np.ndarray | None, ...] = ()

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
        if len(self.sampled) > len(clusters):
            raise ValueError(
                f"sampled: {len(self.sampled)} stages given for a {len(clusters)}-stage design"
            )
        sampled = tuple(
            None if s is None else as_1d_float(s, f"sampled (stage {i + 1})", n)
            for i, s in enumerate(self.sampled)
        )
        object.__setattr__(self, "fpc", fpc)
        object.__setattr__(self, "sampled", sampled)
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

    def subset(self, rows: Any) -> SurveyDesign:
        """The design restricted to some rows, for domain estimation (R ``subset``).

        The rows outside are left out, but every PSU and stratum the domain
        rows were sampled with still counts for the variance: a PSU without
        a row in the subset is a PSU whose total is zero, as R keeps the
        design's ``fpc$sampsize``. Estimates on the subset are those of
        ``by=`` for the same domain (the same estimates, standard errors,
        degrees of freedom and counts). A stratum with no row in the subset
        leaves the design, as in R.

        Parameters
        ----------
        rows : str or array_like of bool
            A pandas query expression on the columns of :attr:`data`
            (``"province == '01'"``, ``"age >= 60 and channel != 'qr'"``;
            names with spaces in backticks), or one True/False per row.
            A missing value (an expression on a missing value, or NA in a
            mask) is False, as in R.

        Returns
        -------
        SurveyDesign

        Raises
        ------
        ValueError
            ``subset: ...``: a column of the expression is missing, the
            expression cannot be evaluated or is not True/False for each row,
            the mask has the wrong length, no row is in the subset, or the
            design is calibrated (use ``by=`` for its domains: R's subset of
            a calibrated design keeps every row).

        Examples
        --------
        >>> import pandas as pd
        >>> from analysis import SurveyDesign, mean
        >>> df = pd.DataFrame({"w": [1.0, 2, 3, 4], "y": [1.0, 2, 3, 4], "g": list("abab")})
        >>> d = SurveyDesign.from_frame(df, weights="w")
        >>> round(mean(d.subset("g == 'b'"), "y").estimate, 4)
        3.3333
        """
        if getattr(self, "calibration", None):
            raise ValueError(
                "subset: a calibrated design keeps every row in its domains; "
                "estimate with by= instead"
            )
        mask = _subset_mask(self, rows)
        if not mask.any():
            raise ValueError(f"subset: no row is in the subset {_describe(rows)}")
        sampled = tuple(stage.n_units[stage.groups][mask].astype(float) for stage in self.stages)
        present, strata = np.unique(self.strata[mask], return_inverse=True)
        labels = None if self.strata_labels is None else self.strata_labels[present]
        data = None if self.data is None else self.data.loc[mask].reset_index(drop=True)
        return replace(
            self,
            weights=self.weights[mask],
            strata=strata.astype(np.intp),
            clusters=tuple(c[mask] for c in self.clusters),
            fpc=tuple(None if f is None else f[mask] for f in self.fpc),
            strata_labels=labels,
            data=data,
            sampled=sampled,
        )

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
            if i < len(self.sampled) and self.sampled[i] is not None:
                n_units = _sampled_units(self.sampled[i], groups, n_units, i + 1)
            pop = np.full(n_groups, np.inf)
            if self.fpc[i] is not None:
                f = self.fpc[i]
                pop[groups] = f
                if np.any(pop[groups] != f):
                    raise ValueError(f"fpc (stage {i + 1}): varies within a stratum")
            infos.append(StageInfo(units, groups, unit_group, n_units, pop))
            groups = units
        return tuple(infos)

    # -------------------------------------------------------------- printing
    def summary(self) -> pd.DataFrame:
        """One row per stratum, as R's ``summary(design)`` lists the stratum sizes.

        Returns
        -------
        DataFrame
            Columns ``stratum``, ``rows``, ``psus`` (sampled), ``psus_with_rows``
            (fewer than ``psus`` in a :meth:`subset`; R's ``design.PSU`` and
            ``actual.PSU``), ``population_psus`` (from the fpc; NaN without
            one) and ``sampling_fraction`` (``psus / population_psus``; 0
            without fpc, as R takes it).
        """
        first = self.stages[0]
        n_strata = first.n_units.shape[0]
        labels = [_level_text(self.stratum_label(h)) for h in range(n_strata)]
        pop = np.where(np.isinf(first.pop_units), np.nan, first.pop_units)
        return pd.DataFrame(
            {
                "stratum": labels,
                "rows": np.bincount(self.strata, minlength=n_strata),
                "psus": first.n_units,
                "psus_with_rows": np.bincount(first.unit_group, minlength=n_strata),
                "population_psus": pop,
                "sampling_fraction": np.nan_to_num(first.n_units / pop, nan=0.0),
            }
        )

    def __repr__(self) -> str:
        fpc = ", fpc" if any(f is not None for f in self.fpc) else ""
        calibrated = _calibrations(self)
        return (
            f"<{type(self).__name__}: {self.n} rows, {_count(self.n_strata, 'stratum', 'strata')}, "
            f"{self.n_psu} PSUs, {_count(self.n_stages, 'stage', 'stages')}{fpc}"
            f"{'; ' + calibrated if calibrated else ''}>"
        )

    def __str__(self) -> str:
        """A summary like R's ``summary(design)``: structure, weights, fpc, PSUs per stratum."""
        lines = self._summary_lines()
        if self._stratified:
            cells, more = self._strata_cells()
            lines += ["", "PSUs per stratum", *_text_grid(cells).splitlines()]
            if more:
                lines.append(f"... and {more} more strata")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        out = "".join(f"<p>{html.escape(line)}</p>" for line in self._summary_lines())
        if self._stratified:
            cells, more = self._strata_cells()
            out += _html_table(cells[0], cells[1:], caption="PSUs per stratum")
            if more:
                out += f"<p>... and {more} more strata</p>"
        return out

    @property
    def _stratified(self) -> bool:
        return self.n_strata > 1 or bool((self.names or {}).get("strata"))

    def _summary_lines(self) -> list[str]:
        """The lines of the summary above the table of strata."""
        names = self.names or {}
        psu_cols = list(names.get("psu") or ())
        fpc_stages = [i + 1 for i, f in enumerate(self.fpc) if f is not None]
        clustered = bool(psu_cols) or self.n_psu < self.n or self.n_stages > 1
        kind = f"{self.n_stages}-stage cluster sampling" if clustered else "independent sampling"
        kind = f"stratified {kind}" if self._stratified else kind
        how = "without replacement (fpc)" if fpc_stages else "with replacement (no fpc)"
        columns = [f"weights '{names['weights']}'"] if names.get("weights") else []
        if names.get("strata"):
            columns.append(f"strata '{names['strata']}'")
        columns += [f"{_stage_name(i)} '{col}'" for i, col in enumerate(psu_cols)]
        if names.get("fpc"):
            columns.append("fpc " + ", ".join(f"'{col}'" for col in names["fpc"]))
        units = ", ".join(
            f"{stage.unit_group.shape[0]} {_stage_name(i)}s" for i, stage in enumerate(self.stages)
        )
        strata = _count(self.n_strata, "stratum", "strata") if self._stratified else "no strata"
        lines = [
            f"{kind[0].upper()}{kind[1:]} design, {how}",
            "; ".join([f"{self.n} rows", *columns]),
            f"{strata}, {units}; design df {self.df}; lonely PSU policy: {self.lonely_psu.value}",
            _weights_text("Weights", self.weights),
        ]
        if fpc_stages:
            lines.append(f"Finite population correction at stage {_joined(fpc_stages)}")
            if not self._stratified:
                pop = self.stages[0].pop_units[0]
                lines.append(
                    f"PSUs: {self.n_psu} sampled of {_number(pop)} "
                    f"(sampling fraction {_number(self.n_psu / pop, 4)})"
                )
        calibrated = _calibrations(self)
        if calibrated:
            lines.append(f"Calibrated: {calibrated}")
        return lines

    def _strata_cells(self) -> tuple[list[list[str]], int]:
        """Header and rows of the first strata, and how many strata are left out."""
        frame = self.summary()
        partial = bool((frame["psus_with_rows"] < frame["psus"]).any())  # a subset
        header = ["stratum", "rows", "PSUs", *(["PSUs with rows"] if partial else [])]
        header += ["population PSUs", "sampling fraction"]
        rows = [
            [
                str(r.stratum),
                str(r.rows),
                str(r.psus),
                *([str(r.psus_with_rows)] if partial else []),
                _number(r.population_psus),
                _number(r.sampling_fraction, 4),
            ]
            for r in frame.head(_STRATA_SHOWN).itertuples()
        ]
        return [header, *rows], max(len(frame) - _STRATA_SHOWN, 0)


# ---------------------------------------------------------------- helpers
def _policy(value: str | LonelyPSU) -> LonelyPSU:
    if isinstance(value, LonelyPSU):
        return value
    option(str(value), "lonely_psu", [p.value for p in LonelyPSU])
    return LonelyPSU(value)


def _calibrations(design: SurveyDesign) -> str:
    """The kinds of calibration of a CalibratedDesign (from its record), or ``""``."""
    steps = getattr(design, "calibration", ())
    kinds = [_CALIBRATIONS.get(type(step).__name__, "calibration") for step in steps]
    return _joined(dict.fromkeys(kinds))


def _weights_text(what: str, weights: np.ndarray) -> str:
    """``Weights: min, median, max; sum``, and the rows with weight zero if any."""
    zero = int(np.count_nonzero(weights == 0))
    return (
        f"{what}: min {_number(weights.min())}, median {_number(np.median(weights))}, "
        f"max {_number(weights.max())}; sum {_number(weights.sum())}"
        + (f"; {zero} rows with weight zero" if zero else "")
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _joined(values: Any) -> str:
    return ", ".join(str(v) for v in values)


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


def _sampled_units(
    sampled: np.ndarray, groups: np.ndarray, counted: np.ndarray, stage: int
) -> np.ndarray:
    """Units sampled per group: those given per row, never fewer than the rows hold."""
    n_units = counted.astype(float)
    n_units[groups] = sampled
    if np.any(n_units[groups] != sampled):
        raise ValueError(f"sampled (stage {stage}): varies within a stratum")
    if np.any(n_units < counted):
        raise ValueError(f"sampled (stage {stage}): fewer units than the rows hold")
    return n_units.astype(np.intp)


# ---------------------------------------------------------------- subsets
_BACKTICKS = re.compile(r"`([^`]*)`")


def expression_columns(expression: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns a subset expression names, and those it compares with text.

    The command line reads the second kind as text (so that ``province ==
    '01'`` keeps its leading zero) and the others with their inferred type.

    Parameters
    ----------
    expression : str
        A pandas query expression (names with spaces in backticks).

    Returns
    -------
    (columns, text_columns) : tuple of tuple of str
        In the order they appear.

    Raises
    ------
    ValueError
        ``subset: ...`` if the expression is not one (a syntax error, or an
        ``@variable``, which has no value here).
    """
    quoted: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        key = f"__column_{len(quoted)}__"
        quoted[key] = match.group(1)
        return key

    text = _BACKTICKS.sub(placeholder, expression)
    if "@" in text:
        raise ValueError(
            f"subset: {expression!r} uses an @variable; write its value in the expression"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"subset: cannot read {expression!r} ({exc.msg})") from None
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    columns: dict[str, None] = {}
    text_columns: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in functions:
            columns[quoted.get(node.id, node.id)] = None
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_text(o) for o in operands):
                for o in operands:
                    if isinstance(o, ast.Name):
                        text_columns[quoted.get(o.id, o.id)] = None
    ordered = sorted(columns, key=expression.find)
    return tuple(ordered), tuple(c for c in ordered if c in text_columns)


def _is_text(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return any(_is_text(e) for e in node.elts)
    return False


def _describe(rows: Any) -> str:
    return repr(rows) if isinstance(rows, str) else "(the mask is False in every row)"


def _subset_mask(design: SurveyDesign, rows: Any) -> np.ndarray:
    """The rows of a subset as a boolean array; missing values are False (R)."""
    result = _evaluate(design, rows) if isinstance(rows, str) else rows
    if isinstance(result, bool | np.bool_):
        return np.full(design.n, bool(result))
    values = result if isinstance(result, pd.Series) else pd.Series(np.asarray(result))
    if values.ndim != 1 or len(values) != design.n:
        raise ValueError(f"subset: expected {design.n} values True/False, got {len(values)}")
    if not pd.api.types.is_bool_dtype(values.dtype) and not _bools_or_missing(values):
        what = repr(rows) if isinstance(rows, str) else "the mask"
        raise ValueError(f"subset: {what} is not True/False for each row")
    return values.fillna(False).to_numpy(dtype=bool)


def _bools_or_missing(values: pd.Series) -> bool:
    """Whether an object column holds only True, False and missing values."""
    if values.dtype != object:
        return False
    return bool(
        values.map(lambda v: isinstance(v, bool | np.bool_) or v is None or v is pd.NA).all()
    )


def _evaluate(design: SurveyDesign, expression: str) -> Any:
    if design.data is None:
        raise ValueError(
            "subset: an expression needs a design built with SurveyDesign.from_frame; "
            "pass one True/False per row instead"
        )
    data = design.data
    columns, _ = expression_columns(expression)
    for col in columns:
        if col not in data.columns:
            raise ValueError(f"subset: column '{col}' is missing")
    try:
        return data.reset_index(drop=True).eval(
            expression, engine="python", local_dict={}, global_dict={}
        )
    except Exception as exc:  # pandas raises many kinds; the message says which
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"subset: cannot evaluate {expression!r} ({reason})") from None
