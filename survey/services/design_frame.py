"""A wave's valid responses as a survey design: the one place that maps the database onto
``analysis/``.

Rows are the wave's valid responses; only they count. Each scale item
becomes an indicator of satisfaction by its own scale's ``satisfied`` set
(1 satisfied, 0 not), and "not applicable" and blanks become missing, so
they are out of every denominator.

The design follows the wave's sampling frame (desk waves; the PSU is the
desk):

* strata are the frame's strata, the PSU is the desk, and the first-stage
  fpc is ``stratum_psus`` (the desks of the stratum in the population);
* the base weight of a valid response is
  ``(stratum_psus / desks of the stratum with a valid response)
  x (the desk's transactions / its valid responses)``.

A wave without a frame is analysed with province strata, desk PSUs and
weight 1, and every result says "unweighted".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l

from analysis import SurveyDesign
from survey import queries
from survey.errors import UserError
from survey.models import Wave
from survey.questionnaire import Item, Questionnaire
from survey.services.questionnaires import questionnaire_of

#: The columns besides the items, in this order.
DESIGN_COLUMNS = ("response_id", "stratum", "psu", "fpc", "weight")
DOMAIN_FIELDS = ("province", "commune", "desk", "procedure", "channel")


@dataclass(frozen=True)
class WaveFrame:
    """A wave ready for ``analysis``: its rows, its design and what the index is made of."""

    data: pd.DataFrame
    design: SurveyDesign
    weighted: bool
    #: dimension code to its item columns ("in general" items left out); every
    #: dimension, whether or not its part makes the headline.
    dimensions: dict[str, list[str]]
    #: the headline parts (the questionnaire's ``headline``) to their dimensions:
    #: ``overall`` is the mean of these.
    parts: dict[str, list[str]] = field(default_factory=dict)
    #: the other parts (e.g. the desk form's four policy items) to their dimensions:
    #: estimated and reported, outside the headline.
    other_parts: dict[str, list[str]] = field(default_factory=dict)


def scored_items(questionnaire: Questionnaire) -> list[Item]:
    """The items with a satisfied set: the ones an index is made of."""
    return [item for item in questionnaire.items() if item.scale.satisfied]


def wave_frame(wave: Wave) -> WaveFrame:
    """The design frame of ``wave``; UserError if it has no valid response."""
    questionnaire = questionnaire_of(wave.questionnaire)
    rows, weighted = design_rows(wave)
    ids = rows["response_id"]
    scores = _indicators(wave, scored_items(questionnaire), ids)
    groups = _answer_groups(wave, questionnaire, ids)
    data = pd.concat([rows, groups, scores], axis=1)
    design = SurveyDesign.from_frame(
        data, weights="weight", strata="stratum", psu="psu", fpc="fpc" if weighted else None
    )
    dimensions: dict[str, list[str]] = {}
    for dimension in questionnaire.dimensions:
        codes = [item.code for item in questionnaire.dimension_items(dimension.code)]
        if codes:
            dimensions[dimension.code] = codes
    parts: dict[str, list[str]] = {}
    other_parts: dict[str, list[str]] = {}
    for dimension in questionnaire.dimensions:
        if dimension.code in dimensions:
            chosen = parts if dimension.part in questionnaire.headline else other_parts
            chosen.setdefault(dimension.part, []).append(dimension.code)
    return WaveFrame(data, design, weighted, dimensions, parts, other_parts)


def design_rows(wave: Wave) -> tuple[pd.DataFrame, bool]:
    """One row per valid response: design columns, domain fields and the desk's ``unit_id``
    (for scoping to a reader's units); and whether the weights come from a frame."""
    rows = pd.DataFrame(
        queries.valid_responses(wave),
        columns=["response_id", "desk_id", "desk", "unit_id", "procedure", "channel"],
    )
    if rows.empty:
        raise UserError(_l("Wave %(code)s has no valid responses.", code=wave.code))
    rows = rows.join(_places(rows["unit_id"]))
    design_columns, weighted = _design_columns(wave, rows)
    keep = [*DOMAIN_FIELDS, "unit_id"]
    return pd.concat([design_columns, rows[keep]], axis=1), weighted


def answer_codes(wave: Wave, items: list[Item], response_ids: pd.Series) -> pd.DataFrame:
    """One column per closed item: the answer's code; NaN for not applicable or blank."""
    wide = _wide(wave, [item.code for item in items], response_ids)
    codes = {}
    for item in items:
        scale, values = item.scale, wide[item.code]
        answered = values.isin([v for v in scale.values if v != scale.not_applicable])
        codes[item.code] = values.where(answered).to_numpy()
    return pd.DataFrame(codes, index=response_ids.index)


def _wide(wave: Wave, codes: list[str], response_ids: pd.Series) -> pd.DataFrame:
    """The numeric answers to ``codes``, one row per response id (in its order)."""
    answers = pd.DataFrame(
        queries.valid_answers(wave, codes), columns=["response_id", "item", "value"]
    )
    wide = answers.pivot_table(index="response_id", columns="item", values="value", aggfunc="last")
    return wide.reindex(index=response_ids.to_numpy(), columns=codes)


def _places(unit_ids: pd.Series) -> pd.DataFrame:
    """The commune and province code of each desk's unit."""
    tree = queries.unit_tree()

    def place(unit_id: int) -> tuple[str, str]:
        code, level, parent = tree[unit_id]
        commune = code if level == "commune" else ""
        while level != "province" and parent is not None:
            code, level, parent = tree[parent]
        return commune, code

    found = {unit_id: place(unit_id) for unit_id in unit_ids.unique()}
    places = [found[unit_id] for unit_id in unit_ids]
    return pd.DataFrame(places, columns=["commune", "province"], index=unit_ids.index)


def _indicators(wave: Wave, items: list[Item], response_ids: pd.Series) -> pd.DataFrame:
    """One column per item: 1 satisfied, 0 not, NaN for not applicable or blank."""
    codes = answer_codes(wave, items, response_ids)
    for item in items:
        column = codes[item.code]
        codes[item.code] = (
            column.isin(list(item.scale.satisfied)).astype(float).where(column.notna())
        )
    return codes


def grouping_items(questionnaire: Questionnaire) -> list[Item]:
    """Items that split the sample into groups: closed answers with no satisfied set."""
    return [
        item
        for item in questionnaire.items()
        if item.scale.options and not item.scale.satisfied and item.scale.kind != "multi"
    ]


def _answer_groups(
    wave: Wave, questionnaire: Questionnaire, response_ids: pd.Series
) -> pd.DataFrame:
    """One text column per grouping item: the answer's value, "" where none was given."""
    codes = [item.code for item in grouping_items(questionnaire)]
    wide = _wide(wave, codes, response_ids)
    groups = {code: wide[code].map(_group_label).to_numpy() for code in codes}
    return pd.DataFrame(groups, index=response_ids.index)


def _group_label(value: float) -> str:
    return "" if pd.isna(value) else str(int(value))


def _design_columns(wave: Wave, rows: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Stratum, PSU, fpc and base weight of each row, and whether they come from a frame."""
    entries = {entry.service_point_id: entry for entry in queries.frame_entries(wave)}
    columns = pd.DataFrame({"response_id": rows["response_id"], "psu": rows["desk"]})
    if not entries:
        columns["stratum"] = rows["province"]
        columns["fpc"] = np.nan
        columns["weight"] = 1.0
        return columns[list(DESIGN_COLUMNS)], False
    outside = sorted(set(rows.loc[~rows["desk_id"].isin(entries), "desk"]))
    if outside:
        raise UserError(
            _l(
                "Desks %(codes)s have responses but are not in the frame of wave %(wave)s.",
                codes=", ".join(outside),
                wave=wave.code,
            )
        )
    frame = [entries[desk_id] for desk_id in rows["desk_id"]]
    columns["stratum"] = [entry.stratum for entry in frame]
    columns["fpc"] = [float(entry.stratum_desks or np.nan) for entry in frame]
    size = np.array([float(entry.transactions or np.nan) for entry in frame])
    if np.isnan(columns["fpc"]).any() or np.isnan(size).any():
        raise UserError(
            _l("The frame of wave %(wave)s lacks a stratum count or a desk size.", wave=wave.code)
        )
    per_desk = columns.groupby("psu")["psu"].transform("size").to_numpy(float)
    desks_answering = columns.groupby("stratum")["psu"].transform("nunique").to_numpy(float)
    columns["weight"] = columns["fpc"].to_numpy() / desks_answering * size / per_desk
    return columns[list(DESIGN_COLUMNS)], True
