"""A wave's calibration targets: import them from CSV or XLSX, and calibrate its weights.

A target file is one *margin*: one or more category columns, then ``count``,
the population count of each cell. The category columns are fields the
results can be broken down by (``survey.services.results.domain_fields``:
province, commune, desk, procedure, procedure_group, channel, a grouping
item's code such as gender or age band), and categories are written as the
results show them: unit, desk and procedure codes, channel names, procedure
fields, answer codes. ``CalibrationTarget.margin`` is the variables joined by
``+`` (``province+procedure_group``).

Every bad row is named with its line and nothing is imported from a file with
any, including the two problems only the wave's responses reveal: a cell
with a count that no valid response falls into (the count could never be
reached), and valid responses in a cell the file lacks (they could not be
weighted). Both are checked again when the weights are calibrated, since
responses keep arriving.

A national reader imports any margin. A reader tied to units imports only
margins by province or commune, only cells of their units, and the import
replaces only those cells, as the frame import does with its PSUs.

Post-stratification (R ``postStratify``) uses the wave's one margin; raking
(R ``rake``) every margin. Both start from the frame's base weights (1 for a
wave without a frame) and go through ``analysis`` on the wave's design, so
the standard errors account for the calibration.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import delete, select

from analysis import SurveyDesign, post_stratify, rake, weight_diagnostics
from analysis.calibration import WeightDiagnostics
from survey.auth.policy import NATIONAL, UnitScope
from survey.errors import UserError
from survey.extensions import db
from survey.models import CalibrationTarget, Procedure, ServicePoint, Unit, User, Wave
from survey.models.response import CHANNELS
from survey.services import frames
from survey.services.audit import audit
from survey.services.design_frame import (
    answer_groups,
    design_rows,
    domain_table,
    grouping_items,
    survey_design,
)
from survey.services.questionnaires import questionnaire_of
from survey.services.results import domain_fields

COUNT = "count"
MAX_ROWS = 100_000
#: The variables that place a cell in a unit; a reader tied to units needs one of them.
PLACES = ("province", "commune")
#: The weightings made from targets.
CALIBRATIONS = ("post-stratify", "rake")
#: Raking passes at most (R's ``rake`` default is 10; large counts may need more to come
#: within ``RAKE_EPSILON`` of every margin) and the largest change of a weighted count
#: that ends it (R's default).
RAKE_MAX_ITER = 100
RAKE_EPSILON = 1.0
#: How far (a fraction of the count) raked weights may end from a margin's cell.
RAKE_TOLERANCE = 1e-4

Cell = tuple[str, ...]


class TargetFileError(ValueError):
    """Every problem of a target file, as ``(line, message)``; line 0 for the file itself."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


@dataclass(frozen=True)
class TargetRow:
    line: int
    cell: Cell
    count: float


@dataclass(frozen=True)
class TargetFile:
    """A checked target file: its margin's variables, in file order, and its rows."""

    variables: tuple[str, ...]
    rows: list[TargetRow]

    @property
    def margin(self) -> str:
        return "+".join(self.variables)


@dataclass(frozen=True)
class Margin:
    """A margin of a wave's targets: its variables and each cell's population count."""

    name: str
    variables: tuple[str, ...]
    cells: dict[Cell, float]

    @property
    def total(self) -> float:
        return float(sum(self.cells.values()))

    def population(self) -> dict[Any, float]:
        """The counts keyed as ``analysis`` wants: a category, or a tuple of them."""
        if len(self.variables) == 1:
            return {cell[0]: count for cell, count in self.cells.items()}
        return dict(self.cells)


def describe(variables: tuple[str, ...], cell: Cell) -> LazyString:
    """A cell as people read it: ``province=01, channel=qr``; an empty category "(none)".
    Lazy, like the messages it goes into: translated when shown."""
    return LazyString(_described, variables, cell)


def _described(variables: tuple[str, ...], cell: Cell) -> str:
    none = str(_l("(none)"))
    return ", ".join(
        f"{name}={category or none}" for name, category in zip(variables, cell, strict=True)
    )


# --- reading and checking a file -------------------------------------------------------


def read_table(content: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX file, keyed by lower-cased header (as a frame file)."""
    try:
        return frames.read_table(content, filename)
    except frames.FrameFileError as error:
        raise TargetFileError(error.problems) from error


def parse_targets(
    rows: list[dict[str, str]], wave: Wave, scope: UnitScope = NATIONAL
) -> TargetFile:
    """Check every row; TargetFileError with all the problems, or the margin to import."""
    if not rows:
        raise TargetFileError([(0, str(_l("The file has no rows.")))])
    variables = _header(list(rows[0]), wave, scope)
    if len(rows) > MAX_ROWS:
        raise TargetFileError([(0, str(_l("At most %(n)d rows.", n=MAX_ROWS)))])
    vocabulary = {name: _Categories.of(wave, name) for name in variables}
    place = _place(variables)
    problems: list[tuple[int, str]] = []
    parsed: list[TargetRow] = []
    seen: dict[Cell, int] = {}
    for line, row in enumerate(rows, start=2):
        cell = _cell(line, row, variables, vocabulary, problems)
        count = _count(line, row.get(COUNT, ""), problems)
        if cell is None:
            continue
        if place and not scope.is_national:
            category = cell[variables.index(place)]
            if not scope.covers(vocabulary[place].unit_ids[category]):
                problems.append((line, str(_l("%(variable)s %(value)s is not one of your units.",
                                              variable=place, value=category))))  # fmt: skip
                continue
        first = seen.setdefault(cell, line)
        if first != line:
            problems.append((line, str(_l("This cell is listed already (line %(line)d).",
                                          line=first))))  # fmt: skip
        elif count is not None:
            parsed.append(TargetRow(line, cell, count))
    problems += _data_problems(wave, variables, parsed, set(seen), scope)
    if problems:
        raise TargetFileError(sorted(problems, key=lambda problem: problem[0]))
    return TargetFile(variables, parsed)


def _header(columns: list[str], wave: Wave, scope: UnitScope) -> tuple[str, ...]:
    """The margin's variables (as the results name them), in file order."""
    fields = {name.lower(): name for name in domain_fields(wave)}
    unknown = [name for name in columns if name != COUNT and name not in fields]
    problems = [
        (1, str(_l("Unknown column %(name)s: the categories are %(fields)s.", name=name[:40],
                   fields=", ".join(fields.values()))))
        for name in unknown
    ]  # fmt: skip
    if COUNT not in columns:
        problems.append((1, str(_l("Missing column count."))))
    variables = tuple(fields[name] for name in columns if name in fields)
    if not variables:
        problems.append((1, str(_l("The file needs one or more category columns before count."))))
    if problems:
        raise TargetFileError(problems)
    if not scope.is_national and _place(variables) is None:
        message = _l(
            "Your account works for some units only: a margin you import must include "
            "province or commune, and only cells of your units."
        )
        raise TargetFileError([(1, str(message))])
    return variables


def _place(variables: tuple[str, ...]) -> str | None:
    """The variable whose category puts a cell in a unit: commune, else province."""
    return next((name for name in reversed(PLACES) if name in variables), None)


def _cell(
    line: int, row: dict[str, str], variables: tuple[str, ...], vocabulary: dict, problems: list
) -> Cell | None:
    """The row's categories as the results show them; None (and why) if one is unknown."""
    before = len(problems)
    cell = []
    for name in variables:
        text = row.get(name.lower(), "")
        category = vocabulary[name].find(text) if text else None
        if not text:
            problems.append((line, str(_l("%(variable)s is empty.", variable=name))))
        elif category is None:
            problems.append((line, vocabulary[name].unknown(text)))
        cell.append(category or "")
    return tuple(cell) if len(problems) == before else None


def _count(line: int, text: str, problems: list) -> float | None:
    if not text:
        problems.append((line, str(_l("count is missing."))))
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        problems.append((line, str(_l("count is not a number: %(value)s.", value=text[:20]))))
        return None
    if value < 0:
        problems.append((line, str(_l("count is negative."))))
        return None
    return value


@dataclass(frozen=True)
class _Categories:
    """The categories a variable has: each as the results show it, found by any case
    (and a place's code also without its leading zeros, as a spreadsheet shows "01")."""

    variable: str
    known: dict[str, str]
    unit_ids: dict[str, int] = field(default_factory=dict)
    #: For an item: its answer codes, to name them when one is unknown.
    codes: tuple[str, ...] = ()

    @classmethod
    def of(cls, wave: Wave, variable: str) -> _Categories:
        if variable in PLACES:
            rows = db.session.execute(select(Unit.code, Unit.id).where(Unit.level == variable))
            unit_ids = dict(rows.all())
            known = {code.casefold(): code for code in unit_ids}
            for code in unit_ids:
                if code.isdigit():
                    known.setdefault(str(int(code)), code)
            return cls(variable, known, unit_ids)
        if variable in ("desk", "procedure", "procedure_group"):
            column = {"desk": ServicePoint.code, "procedure": Procedure.code,
                      "procedure_group": Procedure.field}[variable]  # fmt: skip
            names = db.session.scalars(select(column).distinct()).all()
            return cls(variable, {name.casefold(): name for name in names if name})
        if variable == "channel":
            return cls(variable, {name: name for name in CHANNELS})
        item = next(i for i in grouping_items(questionnaire_of(wave.questionnaire))
                    if i.code == variable)  # fmt: skip
        codes = tuple(str(value) for value in item.scale.values)
        return cls(variable, {code.casefold(): code for code in codes}, codes=codes)

    def find(self, text: str) -> str | None:
        return self.known.get(text.casefold())

    def unknown(self, text: str) -> str:
        if self.codes:
            message = _l(
                "%(item)s has no answer code %(value)s; its codes are %(codes)s.",
                item=self.variable,
                value=text[:40],
                codes=", ".join(self.codes),
            )
            return str(message)
        return str(_l("Unknown %(variable)s %(value)s.", variable=self.variable, value=text[:40]))


def _data_problems(
    wave: Wave,
    variables: tuple[str, ...],
    rows: list[TargetRow],
    listed: set[Cell],
    scope: UnitScope,
) -> list[tuple[int, str]]:
    """Cells of ``rows`` the wave's valid responses (in ``scope``) cannot reach, and
    responses in a cell not ``listed`` (the file's cells, whatever their count)."""
    try:
        data = domain_table(wave)
    except UserError as error:
        return [(0, str(error.message))]
    data = data[[scope.covers(int(unit_id)) for unit_id in data["unit_id"]]]
    sample = cell_counts(data, variables)
    problems = []
    for row in rows:
        n = sample.get(row.cell, 0)
        if row.count > 0 and n == 0:
            message = _l("No valid response of the wave is in this cell, so its count cannot be "
                         "reached.")  # fmt: skip
            problems.append((row.line, str(message)))
        elif row.count == 0 and n > 0:
            message = _l("The count is 0, but valid responses are in this cell: %(n)d.", n=n)
            problems.append((row.line, str(message)))
    for cell, n in sorted(sample.items()):
        if cell not in listed:
            message = _l(
                "Valid responses in %(cell)s, a cell the file does not cover: %(n)d.",
                cell=describe(variables, cell),
                n=n,
            )
            problems.append((0, str(message)))
    return problems


def cell_counts(data: pd.DataFrame, variables: tuple[str, ...]) -> dict[Cell, int]:
    """Rows per cell of ``variables``; a missing category is "" (as the results show it)."""
    categories = _categories(data, variables)
    return Counter(map(tuple, categories.itertuples(index=False, name=None)))


def _categories(data: pd.DataFrame, variables: tuple[str, ...] | list[str]) -> pd.DataFrame:
    return data[list(variables)].fillna("").astype(str)


# --- storing ---------------------------------------------------------------------------


def wave_margins(wave: Wave) -> list[Margin]:
    """The wave's margins, in the order of their names (the order raking takes them)."""
    targets = db.session.scalars(
        select(CalibrationTarget)
        .where(CalibrationTarget.wave_id == wave.id)
        .order_by(CalibrationTarget.margin, CalibrationTarget.id)
    ).all()
    margins: dict[str, Margin] = {}
    for target in targets:
        variables = tuple(target.margin.split("+"))
        margin = margins.setdefault(target.margin, Margin(target.margin, variables, {}))
        margin.cells[tuple(str(target.cell.get(v, "")) for v in variables)] = target.count
    return list(margins.values())


def import_targets(
    wave: Wave, targets: TargetFile, *, scope: UnitScope = NATIONAL, by: User | None = None
) -> int:
    """Replace the wave's margin with the same variables by ``targets`` (within ``scope``:
    only the cells of its units); flushes, audits. Returns the cells imported."""
    same = [m for m in wave_margins(wave) if set(m.variables) == set(targets.variables)]
    before = _size(same)
    name, variables = targets.margin, targets.variables
    if same and not scope.is_national:
        name, variables = same[0].name, same[0].variables  # the others' cells stay in it
    _delete_cells(wave, [m.name for m in same], scope)
    order = [targets.variables.index(v) for v in variables]
    for row in targets.rows:
        cell = {v: row.cell[i] for v, i in zip(variables, order, strict=True)}
        db.session.add(CalibrationTarget(wave_id=wave.id, margin=name, cell=cell, count=row.count))
    db.session.flush()
    after = _size([m for m in wave_margins(wave) if m.name == name])
    audit("import_targets", wave, by, margin=name, before=before, after=after)
    return len(targets.rows)


def remove_margin(
    wave: Wave, name: str, *, scope: UnitScope = NATIONAL, by: User | None = None
) -> int:
    """Remove the margin ``name`` (within ``scope``: its cells of those units); flushes,
    audits. Returns the cells removed; UserError if there is nothing the reader may remove."""
    margin = next((m for m in wave_margins(wave) if m.name == name), None)
    if margin is None:
        raise UserError(_l("Wave %(wave)s has no margin %(name)s.", wave=wave.code, name=name))
    if not scope.is_national and _place(margin.variables) is None:
        raise UserError(
            _l("Margin %(name)s is not by province or commune: only a national analyst may "
               "remove it.", name=name)
        )  # fmt: skip
    removed = _delete_cells(wave, [name], scope)
    if not removed:
        raise UserError(_l("Margin %(name)s has no cells of your units.", name=name))
    after = _size([m for m in wave_margins(wave) if m.name == name])
    audit("remove_targets", wave, by, margin=name, before=_size([margin]), after=after)
    return removed


def _size(margins: list[Margin]) -> dict[str, float]:
    return {
        "cells": sum(len(m.cells) for m in margins),
        "total": sum(m.total for m in margins),
    }


def _delete_cells(wave: Wave, names: list[str], scope: UnitScope) -> int:
    """Delete the targets of margins ``names`` whose cell is in ``scope``; how many."""
    targets = db.session.scalars(
        select(CalibrationTarget).where(
            CalibrationTarget.wave_id == wave.id, CalibrationTarget.margin.in_(names)
        )
    ).all()
    if not scope.is_national:
        units = dict(db.session.execute(select(Unit.code, Unit.id)).all())
        targets = [t for t in targets if scope.covers(units.get(_cell_place(t.cell)))]
    ids = [t.id for t in targets]
    if ids:
        db.session.execute(delete(CalibrationTarget).where(CalibrationTarget.id.in_(ids)))
    return len(ids)


def _cell_place(cell: dict[str, str]) -> str | None:
    place = _place(tuple(cell))
    return cell[place] if place else None


# --- calibrating -----------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """A design calibrated to the wave's targets, and the targets (for a digest)."""

    design: SurveyDesign
    targets: tuple[tuple[str, tuple[tuple[str, str], ...], float], ...]


def calibrate(wave: Wave, design: SurveyDesign, data: pd.DataFrame, weighting: str) -> Calibration:
    """``design`` (of ``data``'s rows) post-stratified or raked to the wave's targets.

    UserError when the wave has no targets, post-stratification meets several
    margins, a target cell has no valid response or responses fall in no
    cell, or the calibration itself fails (e.g. raking margins that disagree).
    """
    margins = wave_margins(wave)
    _check_margins(wave, weighting, margins)
    variables = list(dict.fromkeys(v for m in margins for v in m.variables))
    categories = _categories(data, variables)
    for margin in margins:
        _check_cells(wave, margin, categories)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # unmet margins are checked below
            calibrated = _calibrated(design, margins, categories, weighting)
    except ValueError as error:  # analysis names what is unusable, e.g. a cell of zero weights
        raise UserError(
            _l("The weights of wave %(wave)s cannot be calibrated: %(reason)s", wave=wave.code,
               reason=str(error))
        ) from error  # fmt: skip
    if weighting == "rake":
        _check_raked(wave, margins, categories, calibrated.weights)
    fingerprint = tuple(
        sorted(
            (m.name, tuple(zip(m.variables, cell, strict=True)), count)
            for m in margins
            for cell, count in m.cells.items()
        )
    )
    return Calibration(calibrated, fingerprint)


def _check_margins(wave: Wave, weighting: str, margins: list[Margin]) -> None:
    if weighting not in CALIBRATIONS:
        raise UserError(_l("Unknown weighting %(name)s.", name=weighting))
    if not margins:
        raise UserError(
            _l("Wave %(wave)s has no calibration targets: import them on its targets page or "
               "with flask wave import-targets.", wave=wave.code)
        )  # fmt: skip
    totals = [m.total for m in margins]
    if weighting == "rake" and max(totals) - min(totals) > max(RAKE_EPSILON, 1e-9 * max(totals)):
        raise UserError(
            _l("The margins of wave %(wave)s count populations of different sizes (%(totals)s): "
               "raking needs margins of one population.", wave=wave.code,
               totals=", ".join(f"{m.name} {m.total:,.0f}" for m in margins))
        )  # fmt: skip
    if weighting == "post-stratify" and len(margins) > 1:
        raise UserError(
            _l("Wave %(wave)s has %(n)d margins (%(names)s): post-stratification uses one; "
               "use rake to calibrate to them all.", wave=wave.code, n=len(margins),
               names=", ".join(m.name for m in margins))
        )  # fmt: skip


def _check_cells(wave: Wave, margin: Margin, categories: pd.DataFrame) -> None:
    """The two problems only the responses show, named with their cell."""
    sample = cell_counts(categories, margin.variables)
    for cell, count in margin.cells.items():
        if count > 0 and not sample.get(cell):
            raise UserError(
                _l("No valid response of wave %(wave)s is in %(cell)s of margin %(margin)s, so "
                   "its target cannot be reached.", wave=wave.code,
                   cell=describe(margin.variables, cell), margin=margin.name)
            )  # fmt: skip
    for cell, n in sample.items():
        if margin.cells.get(cell, 0) == 0:
            raise UserError(
                _l("Margin %(margin)s does not cover %(cell)s, a cell with valid responses of "
                   "wave %(wave)s: %(n)d.", margin=margin.name,
                   cell=describe(margin.variables, cell), wave=wave.code, n=n)
            )  # fmt: skip


def _check_raked(
    wave: Wave, margins: list[Margin], categories: pd.DataFrame, weights: np.ndarray
) -> None:
    """Raking ends when the weights stop changing, which margins that contradict each other
    (a joint margin and one of its variables split otherwise) also do: every margin must
    be met, to ``RAKE_TOLERANCE`` of each count (or ``RAKE_EPSILON``)."""
    for margin in margins:
        keys = map(tuple, _categories(categories, margin.variables).itertuples(index=False))
        achieved: dict[Cell, float] = {}
        for key, weight in zip(keys, weights, strict=True):
            achieved[key] = achieved.get(key, 0.0) + float(weight)
        for cell, count in margin.cells.items():
            sum_of_weights = achieved.get(cell, 0.0)
            if abs(sum_of_weights - count) > max(RAKE_EPSILON, RAKE_TOLERANCE * count):
                raise UserError(
                    _l("Raking wave %(wave)s cannot meet every margin: the weights of "
                       "%(cell)s add up to %(weights)s, not the %(count)s of margin %(margin)s. "
                       "Do the margins describe the same population?", wave=wave.code,
                       cell=describe(margin.variables, cell), weights=f"{sum_of_weights:,.0f}",
                       count=f"{count:,.0f}", margin=margin.name)
                )  # fmt: skip


def _calibrated(
    design: SurveyDesign, margins: list[Margin], categories: pd.DataFrame, weighting: str
) -> SurveyDesign:
    if weighting == "post-stratify":
        (margin,) = margins
        return post_stratify(design, list(margin.variables), margin.population(), data=categories)
    keyed = {
        (m.variables[0] if len(m.variables) == 1 else m.variables): m.population() for m in margins
    }
    return rake(design, keyed, max_iter=RAKE_MAX_ITER, epsilon=RAKE_EPSILON, data=categories)


# --- what the targets page shows -------------------------------------------------------


@dataclass(frozen=True)
class MarginTable:
    """A margin as a reader sees it: the cells of their units (all of a margin not by
    place), each with its count and the valid responses of their units in it."""

    name: str
    variables: tuple[str, ...]
    rows: list[tuple[Cell, float, int]]
    total: float
    #: Whether the reader may remove it (a reader tied to units: their cells of it).
    removable: bool


def margin_tables(wave: Wave, scope: UnitScope = NATIONAL) -> list[MarginTable]:
    margins = wave_margins(wave)
    if not margins:
        return []
    try:
        data = domain_table(wave)
    except UserError:
        data = None
    if data is not None:
        data = data[[scope.covers(int(unit_id)) for unit_id in data["unit_id"]]]
    units = dict(db.session.execute(select(Unit.code, Unit.id)).all())
    tables = []
    for margin in margins:
        place = _place(margin.variables)
        sample = cell_counts(data, margin.variables) if data is not None else {}
        rows = [
            (cell, count, sample.get(cell, 0))
            for cell, count in sorted(margin.cells.items())
            if scope.is_national
            or place is None
            or scope.covers(units.get(cell[margin.variables.index(place)]))
        ]
        if rows:
            removable = scope.is_national or place is not None
            total = float(sum(count for _, count, _ in rows))
            tables.append(MarginTable(margin.name, margin.variables, rows, total, removable))
    return tables


@dataclass(frozen=True)
class WeightsCompared:
    """The diagnostics of one way of weighting, over the reader's units, or why it fails."""

    weighting: str
    diagnostics: WeightDiagnostics | None
    problem: str | None = None


def compare_weights(wave: Wave, scope: UnitScope = NATIONAL) -> list[WeightsCompared]:
    """The base weights' diagnostics, then each calibration's (or the reason it fails),
    over the valid responses of ``scope``; empty if the wave's weights cannot be made."""
    try:
        rows, weighted = design_rows(wave)
    except UserError as error:
        return [WeightsCompared("design", None, str(error.message))]
    questionnaire = questionnaire_of(wave.questionnaire)
    data = pd.concat([rows, answer_groups(wave, questionnaire, rows["response_id"])], axis=1)
    design = survey_design(data, weighted)
    mine = np.array([scope.covers(int(unit_id)) for unit_id in data["unit_id"]])
    if not mine.any():
        return []
    compared = [WeightsCompared("design" if weighted else "unweighted",
                                weight_diagnostics(design.weights[mine]))]  # fmt: skip
    if not wave_margins(wave):
        return compared
    for weighting in CALIBRATIONS:
        try:
            calibrated = calibrate(wave, design, data, weighting).design
        except UserError as error:
            compared.append(WeightsCompared(weighting, None, str(error.message)))
        else:
            diagnostics = weight_diagnostics(calibrated.weights[mine])
            compared.append(WeightsCompared(weighting, diagnostics))
    return compared
