"""A wave's valid responses as a survey design: the one place that maps the database onto
``analysis/``.

Rows are the wave's valid responses; only they count. Each scale item
becomes an indicator of satisfaction by its own scale's ``satisfied`` set
(1 satisfied, 0 not), and "not applicable" and blanks become missing, so
they are out of every denominator.

The design follows the wave's sampling frame. The PSU is the desk in a desk
wave, and in a household wave the commune or village cluster each response
records (``Response.unit_id``), whose commune and province are then the
response's:

* strata are the frame's strata, and the first-stage fpc is
  ``stratum_psus`` (the PSUs of the stratum in the population);
* the base weight of a valid response is
  ``(stratum_psus / PSUs of the stratum with a valid response)
  x (the PSU's size / its valid responses)``, the size being a desk's
  transactions or a cluster's households.

A wave without a frame is analysed with province strata, desk or cluster PSUs
and weight 1, and every result says "unweighted". Calibration to the wave's
targets (``weighting`` "post-stratify" or "rake") starts from these weights:
see ``survey.services.targets``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l

from analysis import SurveyDesign
from survey import queries
from survey.errors import UserError
from survey.models import FrameEntry, Wave
from survey.questionnaire import Item, Questionnaire
from survey.services.questionnaires import questionnaire_of

#: The columns besides the items, in this order.
DESIGN_COLUMNS = ("response_id", "stratum", "psu", "fpc", "weight")
#: What results can be broken down by, besides the grouping items: ``procedure_group`` is
#: the procedure's field (lĩnh vực).
DOMAIN_FIELDS = ("province", "commune", "desk", "procedure", "procedure_group", "channel")


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
    #: How the weights were made: ``design`` (the frame's), ``unweighted`` (no frame),
    #: ``post-stratify`` or ``rake`` (calibrated to the wave's targets).
    weighting: str = "design"
    #: The targets calibrated to, ``(margin, ((variable, category), ...), count)`` sorted;
    #: empty without calibration.
    targets: tuple[tuple[str, tuple[tuple[str, str], ...], float], ...] = ()


#: What the variance does with a stratum in which a single desk or cluster answered, as
#: R's ``options(survey.lonely.psu = ...)``. ``fail`` (R's default) stops the whole
#: computation, which a wave still collecting meets at once; the platform's choice is
#: ``adjust``: that PSU's deviation is taken from the wave's mean rather than its
#: stratum's, a conservative variance. A result set records the policy it used.
LONELY_PSU = "adjust"
LONELY_PSU_POLICIES = ("adjust", "average", "remove", "certainty", "fail")


def scored_items(questionnaire: Questionnaire) -> list[Item]:
    """The items with a satisfied set: the ones an index is made of."""
    return [item for item in questionnaire.items() if item.scale.satisfied]


def wave_frame(wave: Wave, weighting: str = "design", lonely_psu: str = LONELY_PSU) -> WaveFrame:
    """The design frame of ``wave``, its weights made by ``weighting``: the frame's
    (``design``), or calibrated to the wave's targets (``post-stratify``, ``rake``);
    a stratum with one responding PSU handled by ``lonely_psu``.
    UserError if it has no valid response, or its targets do not fit its responses."""
    questionnaire = questionnaire_of(wave.questionnaire)
    rows, weighted = design_rows(wave)
    ids = rows["response_id"]
    scores = _indicators(wave, scored_items(questionnaire), ids)
    groups = answer_groups(wave, questionnaire, ids)
    data = pd.concat([rows, groups, scores], axis=1)
    design = survey_design(data, weighted, lonely_psu)
    used, targets = ("design" if weighted else "unweighted"), ()
    if weighting != "design":
        # survey.services.targets reads this module's rows, so it is imported here.
        from survey.services.targets import calibrate

        calibration = calibrate(wave, design, data, weighting)
        design, targets, used = calibration.design, calibration.targets, weighting
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
    return WaveFrame(
        data, design, weighted, dimensions, parts, other_parts, weighting=used, targets=targets
    )


def survey_design(data: pd.DataFrame, weighted: bool, lonely_psu: str = LONELY_PSU) -> SurveyDesign:
    """The design of :func:`design_rows`' columns (fpc only with a frame)."""
    return SurveyDesign.from_frame(
        data,
        weights="weight",
        strata="stratum",
        psu="psu",
        fpc="fpc" if weighted else None,
        lonely_psu=lonely_psu,
    )


def design_rows(wave: Wave) -> tuple[pd.DataFrame, bool]:
    """One row per valid response: design columns, domain fields and ``unit_id`` (the
    desk's unit, or a household response's cluster: for scoping to a reader's units);
    and whether the weights come from a frame."""
    rows = response_domains(wave)
    if rows.empty:
        raise UserError(_l("Wave %(code)s has no valid responses.", code=wave.code))
    design_columns, weighted = _design_columns(wave, rows)
    keep = [*DOMAIN_FIELDS, "unit_id"]
    return pd.concat([design_columns, rows[keep]], axis=1), weighted


def response_domains(wave: Wave) -> pd.DataFrame:
    """One row per valid response (none: empty): ``response_id``, the PSU (``psu_id``,
    ``psu``), ``unit_id`` and the :data:`DOMAIN_FIELDS`.

    In a desk wave the PSU is the desk and ``unit_id`` the desk's unit; in a
    household wave both are the cluster the response records, and a valid
    response without one is refused (UserError giving how many).
    """
    rows = pd.DataFrame(
        queries.valid_responses(wave),
        columns=["response_id", "desk_id", "desk", "desk_unit_id", "procedure", "channel",
                 "procedure_group", "cluster_id"],
    )  # fmt: skip
    if wave.is_household:
        missing = int(rows["cluster_id"].isna().sum())
        if missing:
            raise UserError(
                _l(
                    "%(count)d valid responses of household wave %(wave)s record no commune "
                    "or village cluster; enter it on each form first.",
                    count=missing,
                    wave=wave.code,
                )
            )
        rows["unit_id"] = rows["cluster_id"].astype("int64")
        rows["psu_id"] = rows["unit_id"]
        tree = queries.unit_tree()
        rows["psu"] = [tree[unit_id][0] for unit_id in rows["unit_id"]]
    else:
        rows["unit_id"] = rows["desk_unit_id"]
        rows["psu_id"] = rows["desk_id"]
        rows["psu"] = rows["desk"]
    rows = rows.join(_places(rows["unit_id"]))
    return rows[["response_id", "psu_id", "psu", "unit_id", *DOMAIN_FIELDS]]


def domain_table(wave: Wave) -> pd.DataFrame:
    """:func:`response_domains` with one column per grouping item: every field a
    wave's results (and its calibration targets) can be broken down by."""
    rows = response_domains(wave).reset_index(drop=True)
    questionnaire = questionnaire_of(wave.questionnaire)
    return pd.concat([rows, answer_groups(wave, questionnaire, rows["response_id"])], axis=1)


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
    """The commune and province code of each unit (a desk's, or a household cluster):
    the unit itself or the nearest above it of that level; no commune above a district or
    province ("")."""
    tree = queries.unit_tree()

    def place(unit_id: int) -> tuple[str, str]:
        code, level, parent = tree[unit_id]
        commune = code if level == "commune" else ""
        while level != "province" and parent is not None:
            code, level, parent = tree[parent]
            if level == "commune" and not commune:
                commune = code
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


def answer_groups(
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
    psus = rows.drop_duplicates("psu_id")
    used = frame_entries_of(wave, psus["psu_id"].tolist(), psus["psu"].tolist())
    columns = pd.DataFrame({"response_id": rows["response_id"], "psu": rows["psu"]})
    if used is None:
        columns["stratum"] = rows["province"]
        columns["fpc"] = np.nan
        columns["weight"] = 1.0
        return columns[list(DESIGN_COLUMNS)], False
    entry_of = dict(zip(psus["psu_id"], used, strict=True))
    frame = [entry_of[psu_id] for psu_id in rows["psu_id"]]
    columns["stratum"] = [entry.stratum for entry in frame]
    columns["fpc"] = [float(entry.stratum_desks) for entry in frame]
    size = np.array([float(entry.transactions) for entry in frame])
    per_desk = columns.groupby("psu")["psu"].transform("size").to_numpy(float)
    desks_answering = columns.groupby("stratum")["psu"].transform("nunique").to_numpy(float)
    columns["weight"] = columns["fpc"].to_numpy() / desks_answering * size / per_desk
    return columns[list(DESIGN_COLUMNS)], True


def frame_entries_of(
    wave: Wave, psu_ids: Sequence[int], psu_codes: Sequence[str]
) -> list[FrameEntry] | None:
    """The frame entry of each PSU (a desk; a household wave's cluster), in order, or None
    when the wave has no frame. The row path and the SQL path (``wave_sums``) both weight
    from it.

    UserError naming the PSUs with responses that the frame lacks, or when an entry has no
    stratum count or size.
    """
    household = wave.is_household
    entries = {
        (entry.unit_id if household else entry.service_point_id): entry
        for entry in queries.frame_entries(wave)
    }
    if not entries:
        return None
    outside = ", ".join(
        sorted(
            {code for psu_id, code in zip(psu_ids, psu_codes, strict=True) if psu_id not in entries}
        )
    )
    if outside and household:
        raise UserError(
            _l(
                "Clusters %(codes)s have responses but are not in the frame of wave %(wave)s.",
                codes=outside,
                wave=wave.code,
            )
        )
    if outside:
        raise UserError(
            _l(
                "Desks %(codes)s have responses but are not in the frame of wave %(wave)s.",
                codes=outside,
                wave=wave.code,
            )
        )
    used = [entries[int(psu_id)] for psu_id in psu_ids]
    if any(not entry.stratum_desks or not entry.transactions for entry in used):
        raise UserError(
            _l("The frame of wave %(wave)s lacks a stratum count or a PSU size.", wave=wave.code)
        )
    return used
