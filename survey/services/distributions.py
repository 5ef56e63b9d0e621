"""How the answers to each scored item of a wave are spread over its scale.

For every item with a satisfied set (the items an index is made of), in the
questionnaire's order and grouped by dimension: the share of each answer
value among the item's valid answers (the scale's options but "not
applicable"), which together make 100 %; the share of the scale's own
satisfied values among them is the item's index. "Not applicable" and blank
answers are kept apart, as shares of all the responses counted.

The shares are weighted with the base weights the indices use
(``design_frame.design_rows``: the whole wave's frame, whoever reads), so an
item's satisfied share is the number ``results.compute`` gives for it. A
reader tied to units counts the responses at their units' desks only (a
household wave's: in their units' clusters), and may narrow that to one
province or commune.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from survey.auth.policy import NATIONAL, UnitScope
from survey.models import Wave
from survey.questionnaire import Dimension, Item, Option, Questionnaire
from survey.services.design_frame import answer_codes, design_rows, scored_items
from survey.services.questionnaires import questionnaire_of


@dataclass(frozen=True)
class ValueShare:
    """One answer value of an item: how many gave it, and its weighted share."""

    option: Option
    count: int
    #: Of the item's valid answers (0..1); None when it has none.
    share: float | None
    satisfied: bool

    @property
    def value(self) -> int | str:
        return self.option.value


@dataclass(frozen=True)
class ItemDistribution:
    """The answers to one item over the responses counted."""

    item: Item
    values: tuple[ValueShare, ...]
    #: Responses counted, valid answers among them, "not applicable", blank.
    responses: int
    valid: int
    #: None when the item's scale has no "not applicable" option.
    not_applicable: int | None
    blank: int
    #: Weighted shares of all the responses counted (0..1).
    not_applicable_share: float | None
    blank_share: float

    @property
    def satisfied_share(self) -> float | None:
        """The weighted share of satisfied answers among the valid ones: the item's index."""
        if not self.valid:
            return None
        return sum(v.share for v in self.values if v.satisfied and v.share is not None)


@dataclass(frozen=True)
class DimensionGroup:
    """The items of one dimension (or, for an "in general" item of a part, of that part)."""

    code: str
    dimension: Dimension | None
    part: str | None
    items: list[ItemDistribution]


@dataclass(frozen=True)
class Distributions:
    """A wave's answers per item over the responses a reader counts."""

    wave: str
    weighted: bool
    responses: int
    groups: list[DimensionGroup]
    #: Codes of the provinces and communes of the responses in the reader's units (before
    #: narrowing to one unit): what the reader may narrow to.
    places: list[str]


def answer_distributions(
    wave: Wave, scope: UnitScope = NATIONAL, unit_ids: set[int] | None = None
) -> Distributions:
    """The answers to each scored item of ``wave`` over its valid responses in ``scope``,
    or only those of ``unit_ids`` (a unit and the units under it). UserError if the wave
    has no valid response, or its frame misses a desk."""
    rows, weighted = design_rows(wave)
    rows = rows[[scope.covers(int(unit_id)) for unit_id in rows["unit_id"]]]
    places = sorted({code for column in ("province", "commune") for code in rows[column] if code})
    if unit_ids is not None:
        rows = rows[rows["unit_id"].isin(unit_ids)]
    rows = rows.reset_index(drop=True)
    questionnaire = questionnaire_of(wave.questionnaire)
    items = scored_items(questionnaire)
    # answer_codes makes "not applicable" missing; here it is counted apart from blank.
    raw = [replace(item, scale=replace(item.scale, not_applicable=None)) for item in items]
    codes = answer_codes(wave, raw, rows["response_id"]) if len(rows) else None
    weights = rows["weight"].to_numpy(float)
    found = [_item(item, codes, weights) for item in items]
    return Distributions(wave.code, weighted, len(rows), _groups(questionnaire, found), places)


def _item(item: Item, codes: pd.DataFrame | None, weights: np.ndarray) -> ItemDistribution:
    answers = np.full(len(weights), np.nan) if codes is None else codes[item.code].to_numpy(float)
    scale = item.scale
    options = [option for option in scale.options if option.value != scale.not_applicable]
    valid = np.isin(answers, [option.value for option in options])
    valid_weight = weights[valid].sum()
    values = tuple(
        ValueShare(
            option,
            int((answers == option.value).sum()),
            float(weights[answers == option.value].sum() / valid_weight) if valid.any() else None,
            option.value in scale.satisfied,
        )
        for option in options
    )
    total = weights.sum()
    if scale.not_applicable is None:
        not_applicable, na_share = None, None
        blank = ~valid
    else:
        is_na = answers == scale.not_applicable
        not_applicable, na_share = int(is_na.sum()), _share(weights[is_na].sum(), total)
        blank = ~valid & ~is_na
    return ItemDistribution(
        item=item,
        values=values,
        responses=len(weights),
        valid=int(valid.sum()),
        not_applicable=not_applicable,
        blank=int(blank.sum()),
        not_applicable_share=na_share,
        blank_share=_share(weights[blank].sum(), total),
    )


def _share(part: float, total: float) -> float:
    return float(part / total) if total > 0 else 0.0


def _groups(questionnaire: Questionnaire, found: list[ItemDistribution]) -> list[DimensionGroup]:
    """The items grouped by dimension, groups in the order of their first item.

    Items of one dimension whose answer options differ (other than by a "not
    applicable" option) go to groups of their own, so that each group's items
    share one legend and one table header.
    """
    groups: dict[tuple, DimensionGroup] = {}
    for distribution in found:
        item = distribution.item
        code = item.dimension or item.part or ""
        key = (code, _options_key(distribution))
        if key not in groups:
            dimension = questionnaire.dimension(item.dimension) if item.dimension else None
            groups[key] = DimensionGroup(code, dimension, item.part, [])
        groups[key].items.append(distribution)
    return list(groups.values())


def _options_key(distribution: ItemDistribution) -> tuple:
    return tuple((v.value, v.option.label, v.satisfied) for v in distribution.values)
