"""A wave's SIPAS indices from sums the database makes: the SQL path.

A national wave has millions of answers. The row path
(``survey.services.design_frame``) loads them all into Python; here one SQL
statement sums them per PSU and domain, so Python sees a few thousand rows
whatever the wave's size, and feeds ``analysis.index_from_aggregates``. The
numbers are the row path's (``tests/survey/test_wave_sums.py`` shows it).

The statement works in two steps:

1. per response, from its answers joined to a small table of the items read
   (each scored item's bit, and which of its values count as answered and as
   satisfied): two bit masks, the items it answered (not "not applicable",
   not blank) and those it was satisfied with, by the item's own scale; the
   value of each grouping item it is broken down by; a fingerprint of the
   answers read;
2. per PSU and domain, over the wave's valid responses: how many there are,
   and for each item how many answered it and how many were satisfied; for
   each dimension, part and ``overall`` how many answered at least one of its
   items (an index's ``n``).

On PostgreSQL a large wave is summed in two statements over halves of its
responses, run side by side on the same snapshot (:func:`_in_parts`); their
rows are added up to the one statement's.

Stratum, fpc and base weight are constant within a PSU (see
``design_frame``): Python weights each PSU's counts. Province and commune are
the PSU's place (its desk's unit, or a household response's cluster), so a
breakdown by them, or by the desk in a desk wave, is one group per PSU.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    event,
    func,
    literal,
    or_,
    select,
    union_all,
    values,
)
from sqlalchemy import column as sql_column
from sqlalchemy.orm import ORMExecuteState, Session

from analysis import Estimate, EstimateTable, index_from_aggregates
from survey import queries
from survey.errors import UserError
from survey.extensions import db
from survey.models import Answer, Procedure, Response, ServicePoint, Wave
from survey.questionnaire import Questionnaire
from survey.services.design_frame import (
    LONELY_PSU,
    _places,
    frame_entries_of,
    grouping_items,
)
from survey.services.questionnaires import questionnaire_of

#: Where each field of ``design_frame.DOMAIN_FIELDS`` comes from: None for the PSU's
#: place (province and commune of its unit, found in Python), else the SQL expression of
#: a response that is grouped on. Grouping items are answers, read in the first step.
DOMAIN_SOURCES: dict[str, ColumnElement | None] = {
    "province": None,
    "commune": None,
    "desk": ServicePoint.code,
    "procedure": Procedure.code,
    "procedure_group": Procedure.field,
    "channel": Response.channel,
}
#: Item bits per 64-bit mask (the sign bit and the one below it stay unused).
WORD_BITS = 62
#: Work memory for the statement on PostgreSQL: the first step keeps one entry per
#: response in a hash table, which the default 4 MB would spill to disk.
WORK_MEM = "256MB"
_PRIME = 2_147_483_647
#: Valid responses from which a wave is summed in :data:`PARTS` statements run side by
#: side on PostgreSQL (:func:`_in_parts`).
PARTS_FROM = 200_000
PARTS = 2
#: ``Session.info`` key of the last sums read: ``(wave id, by, counts, their domain
#: columns)``.
_LAST_READ = "survey.wave_sums.last_read"


@dataclass(frozen=True)
class ItemBit:
    """An item read by the statement: its place in the masks and its value sets.

    ``answered`` and ``satisfied`` are masks over ``value - low``; a grouping
    item has neither and a ``grouping`` position instead.
    """

    code: str
    position: int
    low: int = 0
    answered: int = 0
    satisfied: int = 0
    grouping: int = -1

    @property
    def word(self) -> int:
        return self.position // WORD_BITS

    @property
    def bit(self) -> int:
        return 1 << (self.position % WORD_BITS)


@dataclass(frozen=True)
class IndexStructure:
    """What a questionnaire's indices are made of (as ``design_frame.WaveFrame``)."""

    dimensions: dict[str, list[str]]
    parts: dict[str, list[str]]
    other_parts: dict[str, list[str]]
    overall_items: list[str]

    @property
    def composites(self) -> dict[str, list[str]]:
        """Dimension, part and ``overall`` to its items, for their ``n``."""
        found = {name: list(items) for name, items in self.dimensions.items()}
        for name, members in {**self.parts, **self.other_parts}.items():
            found[name] = [item for member in members for item in self.dimensions[member]]
        headline = [d for members in self.parts.values() for d in members] or self.dimensions
        found["overall"] = [item for member in headline for item in self.dimensions[member]]
        return found


@dataclass(frozen=True)
class WaveSums:
    """A wave's counts per PSU and domain, weighted: the input of ``index_from_aggregates``.

    ``groups`` has ``psu``, ``stratum``, ``fpc`` (with a frame), ``weight`` and
    ``n`` (the group's sum of weights and responses), ``ITEM.sat``,
    ``ITEM.ans`` (sums of weights), ``ITEM.n`` and ``ITEM.nz`` (answers),
    ``NAME.n`` for each composite, and one column per domain field of ``by``.
    """

    groups: pd.DataFrame
    weighted: bool
    structure: IndexStructure
    by: list[str]
    response_count: int
    #: SHA-256 of what the numbers depend on (see :func:`wave_sums`).
    digest: str


@dataclass(frozen=True)
class Estimates:
    """What a computation of a wave's indices gives, whichever path made it."""

    #: The ``sipas_index`` table (items, dimensions, headline parts, ``overall``), the
    #: part rows of the other parts, then one table per "in general" item.
    tables: list[EstimateTable]
    weighting: str
    response_count: int
    digest: str
    index_table: EstimateTable | None = field(default=None, repr=False)


def index_structure(questionnaire: Questionnaire) -> IndexStructure:
    """Dimensions (without their "in general" items), headline and other parts, and the
    "in general" items, in questionnaire order."""
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
    overall = [item.code for item in questionnaire.items() if item.overall]
    return IndexStructure(dimensions, parts, other_parts, overall)


def estimates(
    wave: Wave,
    by: Sequence[str] = (),
    options: dict | None = None,
    lonely_psu: str = LONELY_PSU,
) -> Estimates:
    """Every index of ``wave`` by the domains ``by`` (checked by the caller), from the
    database's sums, a stratum with one responding PSU handled by ``lonely_psu``;
    ``options`` (interval, level...) go into the digest only.

    UserError as the row path: no valid response, a PSU outside the frame...;
    ValueError where ``analysis`` finds the indices cannot be computed.
    """
    sums = wave_sums(wave, by, options)
    check_items_answered(sums)
    main, other, items = index_tables(sums, lonely_psu)
    weighting = "design" if sums.weighted else "unweighted"
    return Estimates(
        [main, *([other] if other is not None else []), *items],
        weighting,
        sums.response_count,
        sums.digest,
        main,
    )


# --- the statement -----------------------------------------------------------------


def wave_sums(wave: Wave, by: Sequence[str] = (), options: dict | None = None) -> WaveSums:
    """The wave's weighted counts per PSU and ``by`` domain, and their digest.

    The digest is a SHA-256 of the statement's result (counts and answer
    fingerprints per PSU and domain), the frame, the questionnaire's index
    structure and item value sets, and ``options``: it changes when a
    response, an answer read, a status, a frame entry or an option does.
    """
    questionnaire = questionnaire_of(wave.questionnaire)
    structure = index_structure(questionnaire)
    by = list(by)
    items = _item_bits(questionnaire, structure, [f for f in by if f not in DOMAIN_SOURCES])
    raw = _summed(wave, by, items, structure)
    groups, design = _weighted(wave, raw, by, items, structure)
    weighted, frame = design.weighted, design.frame
    hasher = hashlib.sha256()
    head = {"structure": structure.__dict__, "items": [i.__dict__ for i in items],
            "weighted": weighted, "frame": frame, "options": options or {}, "by": by}  # fmt: skip
    hasher.update(json.dumps(head, sort_keys=True, default=str).encode())
    hasher.update(",".join(raw.columns).encode())
    hasher.update(pd.util.hash_pandas_object(raw, index=False).to_numpy().tobytes())
    count = int(raw["n"].sum())
    return WaveSums(groups, weighted, structure, by, count, hasher.hexdigest())


def _item_bits(
    questionnaire: Questionnaire, structure: IndexStructure, grouping: list[str]
) -> list[ItemBit]:
    """The scored items the indices read, then the grouping items of ``grouping``."""
    codes = [code for items in structure.dimensions.values() for code in items]
    codes = list(dict.fromkeys([*codes, *structure.overall_items]))
    found = []
    for position, code in enumerate(codes):
        scale = questionnaire.item(code).scale
        answered = [v for v in scale.values if v != scale.not_applicable and isinstance(v, int)]
        low = min(answered, default=0)
        if any(value - low >= WORD_BITS for value in answered):
            raise ValueError(f"items: the answers of '{code}' span more than {WORD_BITS} values")
        found.append(
            ItemBit(
                code,
                position,
                low,
                sum(1 << (v - low) for v in answered),
                sum(1 << (v - low) for v in answered if v in scale.satisfied),
            )
        )
    known = {item.code for item in grouping_items(questionnaire)}
    for number, code in enumerate(c for c in grouping if c in known):
        found.append(ItemBit(code, len(found), grouping=number))
    return found


def _summed(
    wave: Wave, by: list[str], items: list[ItemBit], structure: IndexStructure
) -> pd.DataFrame:
    """Run the statement: one row per PSU and domain, the counts as columns (or add up
    a breakdown's, see :func:`_remembered`)."""
    dialect = db.session.get_bind().dialect.name
    remembered = _remembered(wave, by, dialect)
    if remembered is not None:
        return remembered
    low, high, count = db.session.execute(
        select(func.min(Response.id), func.max(Response.id), func.count()).where(
            Response.wave_id == wave.id, Response.status == "valid"
        )
    ).one()
    if not count:
        raise UserError(_l("Wave %(code)s has no valid responses.", code=wave.code))
    ranges = _ranges(low, high, count, dialect)
    statements = [_statement(wave, by, items, structure, *bounds, dialect) for bounds in ranges]
    if len(statements) == 1:
        with work_memory(dialect):
            rows = db.session.execute(statements[0]).all()
    else:
        rows = _in_parts(statements)
    keys = [c.name for c in statements[0].selected_columns[: _key_count(by, items)]]
    names = keys + ["n"]
    scored = [item for item in items if item.grouping < 0]
    names += [f"{item.code}.{kind}" for item in scored for kind in ("answered", "satisfied")]
    names += [f"{name}.n" for name in structure.composites] + ["answers_fp", "responses_fp"]
    raw = pd.DataFrame(rows, columns=names)
    for column in names[len(keys) :]:
        raw[column] = pd.to_numeric(raw[column].fillna(0)).astype("int64")
    if len(statements) > 1:
        raw = _combined(raw, keys)
    raw = raw.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    db.session.info[_LAST_READ] = (wave.id, tuple(by), raw, tuple(keys[1:]))
    return raw


def _key_count(by: list[str], items: list[ItemBit]) -> int:
    """How many grouping columns the statement selects: the PSU and each field of ``by``."""
    return (
        1
        + len([name for name in by if DOMAIN_SOURCES.get(name) is not None])
        + len([item for item in items if item.grouping >= 0])
    )


def _statement(
    wave: Wave,
    by: list[str],
    items: list[ItemBit],
    structure: IndexStructure,
    low: int,
    high: int,
    dialect: str,
):
    """The statement over the wave's valid responses with an id from ``low`` to ``high``."""
    per = _per_response(items, low, high, dialect)
    keys: list[ColumnElement] = [psu_column(wave).label("psu_id")]
    keys += [DOMAIN_SOURCES[name].label(name) for name in by if DOMAIN_SOURCES.get(name)]
    keys += [per.c[f"g{item.grouping}"].label(item.code) for item in items if item.grouping >= 0]
    scored = [item for item in items if item.grouping < 0]
    counts: list[ColumnElement] = [func.count()]
    for item in scored:
        word = f"w{item.word}"
        counts.append(func.count().filter(per.c[f"ans_{word}"].bitwise_and(item.bit) != 0))
        counts.append(func.count().filter(per.c[f"sat_{word}"].bitwise_and(item.bit) != 0))
    by_code = {item.code: item for item in scored}
    for members in structure.composites.values():
        masks: dict[int, int] = {}
        for code in members:
            masks[by_code[code].word] = masks.get(by_code[code].word, 0) | by_code[code].bit
        counts.append(
            func.count().filter(
                or_(*(per.c[f"ans_w{w}"].bitwise_and(mask) != 0 for w, mask in masks.items()))
            )
        )
    counts.append(_fingerprint(per.c.fp, dialect))
    counts.append(_fingerprint(cast(Response.id, BigInteger) * 2654435761, dialect))
    query = select(*keys, *counts).select_from(Response)
    if "desk" in by:
        query = query.join(ServicePoint, ServicePoint.id == Response.service_point_id)
    if any(name in ("procedure", "procedure_group") for name in by):
        query = query.outerjoin(Procedure, Procedure.id == Response.procedure_id)
    return (
        query.outerjoin(per, per.c.id == Response.id)
        .where(
            Response.wave_id == wave.id,
            Response.status == "valid",
            Response.id.between(low, high),
        )
        .group_by(*(key.element for key in keys))
    )


def _ranges(low: int, high: int, count: int, dialect: str) -> list[tuple[int, int]]:
    """The ranges of response ids the statement is run over: ``low`` to ``high`` at once,
    or, for a large wave on PostgreSQL, :data:`PARTS` ranges run side by side (see
    :func:`_in_parts`) when the transaction has written nothing yet (the other
    connections could not see what it wrote)."""
    if dialect != "postgresql" or count < PARTS_FROM or PARTS < 2:
        return [(low, high)]
    if db.session.scalar(select(func.txid_current_if_assigned())) is not None:
        return [(low, high)]
    step = (high - low + 1) / PARTS
    cuts = [low + round(step * part) for part in range(PARTS)] + [high + 1]
    return [(first, last - 1) for first, last in zip(cuts, cuts[1:], strict=False)]


def _in_parts(statements: list) -> list:
    """The rows of ``statements``, run at the same time on connections of their own that
    see the session's snapshot of the database (``pg_export_snapshot``), each without
    parallel workers.

    One statement over a national wave, with PostgreSQL's parallel workers, leaves one
    process to merge a million per-response groups and to do the second step alone;
    two statements over halves of the responses each do every step in their process,
    in four fifths of the time on two cores. The counts of a PSU and domain found in
    several parts are added up and their fingerprints combined (:func:`_combined`).
    """
    snapshot = db.session.scalar(select(func.pg_export_snapshot()))
    if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
        raise ValueError(f"unexpected snapshot identifier {snapshot!r}")
    engine = db.session.get_bind()

    def run(statement) -> list:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            connection.execute(select(func.set_config("work_mem", WORK_MEM, True)))
            connection.execute(
                select(func.set_config("max_parallel_workers_per_gather", "0", True))
            )
            try:
                return connection.execute(statement).all()
            finally:
                connection.rollback()

    with ThreadPoolExecutor(len(statements)) as pool:
        return [row for rows in pool.map(run, statements) for row in rows]


def _combined(raw: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per PSU and domain from the rows of several parts: counts added, the
    fingerprints combined with XOR (as ``bit_xor`` combines them in one statement)."""
    codes = raw.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    groups, first = np.unique(codes, return_index=True)
    combined = raw.iloc[first][keys].reset_index(drop=True)
    for column in raw.columns[len(keys) :]:
        totals = np.zeros(len(groups), dtype=np.int64)
        (np.bitwise_xor if column.endswith("_fp") else np.add).at(
            totals, codes, raw[column].to_numpy()
        )
        combined[column] = totals
    return combined


def _remembered(wave: Wave, by: list[str], dialect: str) -> pd.DataFrame | None:
    """The whole wave's sums, added up from the breakdown of ``wave`` read last in this
    transaction (with no write since), or None.

    A result set holds a breakdown and the whole wave (``result_sets.save`` asks
    for one after the other): one pass over the answers then serves both, from the
    same snapshot. The counts add up over the domains and the fingerprints combine
    as the statement combines them, so the sums, and the digest, are the ones the
    statement would give (but after a breakdown by a grouping item, whose answers
    the fingerprints include).
    """
    db.session.flush()  # a change not yet written forgets the sums (see _forget_sums)
    last = db.session.info.get(_LAST_READ)
    if by or last is None or last[0] != wave.id or not last[1]:
        return None
    if any(name not in DOMAIN_SOURCES for name in last[1]):
        return None  # grouping items' answers are in its fingerprints
    raw = last[2].drop(columns=list(last[3]))
    starts = np.flatnonzero(np.r_[True, np.diff(raw["psu_id"].to_numpy()) != 0])
    combined = {"psu_id": raw["psu_id"].to_numpy()[starts]}
    for column in raw.columns[1:]:
        values = raw[column].to_numpy()
        xor = dialect == "postgresql" and column.endswith("_fp")
        combined[column] = (np.bitwise_xor if xor else np.add).reduceat(values, starts)
    return pd.DataFrame(combined)


@event.listens_for(Session, "after_transaction_end")
@event.listens_for(Session, "after_flush")
def _forget_sums(session: Session, *_) -> None:
    session.info.pop(_LAST_READ, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_sums_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info.pop(_LAST_READ, None)


def _per_response(items: list[ItemBit], low: int, high: int, dialect: str):
    """Step one: per response (with an id from ``low`` to ``high``, the range of the wave's
    valid responses), the masks of the items answered and satisfied, each grouping item's
    value and a fingerprint of the answers read."""
    table = _item_table(items)
    offset = Answer.value_num - table.c.low
    words = sorted({item.word for item in items if item.grouping < 0})

    def in_set(mask: ColumnElement, word: int) -> ColumnElement:
        test = and_(
            offset >= 0,
            offset < WORD_BITS,
            mask.bitwise_rshift(offset).bitwise_and(1) == 1,
        )
        return and_(table.c.word == word, test) if len(words) > 1 else test

    columns = [Answer.response_id.label("id")]
    for word in words:
        for kind, mask in (("ans", table.c.answered), ("sat", table.c.satisfied)):
            bits = case((in_set(mask, word), table.c.bit), else_=literal(0, BigInteger))
            columns.append(any_bits(bits, dialect).label(f"{kind}_w{word}"))
    for item in items:
        if item.grouping >= 0:
            value = case((table.c.grouping == item.grouping, Answer.value_num))
            columns.append(func.max(value).label(f"g{item.grouping}"))
    key = (cast(Answer.id, BigInteger) * 1_000_003 + Answer.value_num) * 128 + table.c.position
    columns.append(_fingerprint(key, dialect).label("fp"))
    return (
        select(*columns)
        .join_from(Answer, table, table.c.code == Answer.item_code)
        .where(Answer.response_id.between(low, high), Answer.value_num.is_not(None))
        .group_by(Answer.response_id)
        .subquery("per")
    )


def _item_table(items: list[ItemBit]):
    """The items as a small table to join the answers to."""
    return literal_table(
        [
            {"code": item.code, "position": item.position, "word": item.word, "bit": item.bit,
             "low": item.low, "answered": item.answered, "satisfied": item.satisfied,
             "grouping": item.grouping}
            for item in items
        ],
        "item",
        big=("bit", "answered", "satisfied"),
    )  # fmt: skip


def literal_table(rows: list[dict[str, int | str]], name: str, *, big: Sequence[str] = ()):
    """Rows of literals (text, integers; BIGINT in the ``big`` columns) as a small table.

    On PostgreSQL a VALUES list, whose rows the planner counts right. Elsewhere a UNION
    ALL of SELECTs (SQLite has no VALUES with column names); PostgreSQL may plan such a
    union as a parallel append of one row and then read a wave's answers through an
    index, item after item, many times slower.
    """

    def kind(column: str, value: int | str):
        return String if isinstance(value, str) else BigInteger if column in big else Integer

    if db.session.get_bind().dialect.name == "postgresql":
        columns = [sql_column(c, kind(c, v)) for c, v in rows[0].items()]
        return values(*columns, name=name).data([tuple(row.values()) for row in rows])
    selects = [
        select(
            *(literal(value, kind(column, value)).label(column) for column, value in row.items())
        )
        for row in rows
    ]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery(name)


def any_bits(bits: ColumnElement, dialect: str) -> ColumnElement:
    """The bits set in any row: ``bit_or``; SQLite has none, and each item has its own
    bit, so the sum of the distinct values is the same."""
    if dialect == "postgresql":
        return func.bit_or(bits)
    return func.sum(bits.distinct())


def _fingerprint(values: ColumnElement, dialect: str) -> ColumnElement:
    """An order-free fingerprint of integers: ``bit_xor`` (PostgreSQL), else a sum of
    the values modulo a prime (SQLite has no ``bit_xor``)."""
    if dialect == "postgresql":
        return func.bit_xor(values)
    return func.sum(values % _PRIME)


@contextmanager
def work_memory(dialect: str) -> Iterator[None]:
    """More work memory for a statement over a wave's answers on PostgreSQL (its hash
    tables hold one entry per response), then what it was."""
    if dialect != "postgresql":
        yield
        return
    before = db.session.scalar(select(func.current_setting("work_mem")))
    db.session.execute(select(func.set_config("work_mem", WORK_MEM, True)))
    try:
        yield
    finally:
        db.session.execute(select(func.set_config("work_mem", before, True)))


# --- weights -----------------------------------------------------------------------


@dataclass(frozen=True)
class PsuDesign:
    """The design of each PSU of a wave, as the row path makes it.

    ``psus`` is indexed by the PSU's desk or unit id: ``psu`` (its code),
    ``province``, ``commune`` (of its place), ``responses`` (valid ones),
    ``stratum``, ``fpc`` and ``weight`` (each valid response's base weight).
    """

    psus: pd.DataFrame
    weighted: bool
    #: ``[PSU id, stratum, stratum_psus, size]`` of the frame entries used.
    frame: list[list]


def psu_column(wave: Wave) -> ColumnElement:
    """A response's PSU: its desk, or in a household wave the cluster it records."""
    return Response.unit_id if wave.is_household else Response.service_point_id


def place_column(wave: Wave) -> ColumnElement:
    """The unit a response is counted in (province, commune, a reader's scope): its desk's
    (in a query joining the desk), or in a household wave its cluster."""
    return Response.unit_id if wave.is_household else ServicePoint.unit_id


def psu_design(wave: Wave) -> PsuDesign:
    """The design of each PSU of ``wave``, from one small GROUP BY of its valid responses;
    UserError as the row path (no valid response, a PSU outside the frame...)."""
    psu = psu_column(wave)
    rows = db.session.execute(
        select(psu, func.count())
        .where(Response.wave_id == wave.id, Response.status == "valid")
        .group_by(psu)
    ).all()
    if not rows:
        raise UserError(_l("Wave %(code)s has no valid responses.", code=wave.code))
    return _design(wave, pd.DataFrame(rows, columns=["psu_id", "n"]))


def _design(wave: Wave, counts: pd.DataFrame) -> PsuDesign:
    """The :class:`PsuDesign` from valid responses counted by ``psu_id`` (a PSU may have
    several rows; a household response without a cluster has none)."""
    household = wave.is_household
    if counts["psu_id"].isna().any():
        raise UserError(
            _l(
                "%(count)d valid responses of household wave %(wave)s record no commune "
                "or village cluster; enter it on each form first.",
                count=int(counts.loc[counts["psu_id"].isna(), "n"].sum()),
                wave=wave.code,
            )
        )
    psus = counts.astype({"psu_id": "int64"}).groupby("psu_id").agg(responses=("n", "sum"))
    codes, places = _psu_places(psus.index, household)
    psus.insert(0, "psu", codes)
    places = _places(pd.Series(places))
    psus["province"] = places["province"].to_numpy()
    psus["commune"] = places["commune"].to_numpy()
    return _weights(wave, psus, household)


def _weights(wave: Wave, psus: pd.DataFrame, household: bool) -> PsuDesign:
    """Stratum, fpc and base weight of each PSU of ``psus``: ``(stratum_psus / PSUs of the
    stratum with a valid response) x (the PSU's size / its valid responses)``; without a
    frame the strata are the provinces and the weight is 1."""
    used = frame_entries_of(wave, [int(psu_id) for psu_id in psus.index], psus["psu"].tolist())
    if used is None:
        psus["stratum"], psus["fpc"], psus["weight"] = psus["province"], np.nan, 1.0
        return PsuDesign(psus, False, [])
    psus["stratum"] = [entry.stratum for entry in used]
    psus["fpc"] = [float(entry.stratum_desks) for entry in used]
    size = np.array([float(entry.transactions) for entry in used])
    answering = psus.groupby("stratum")["psu"].transform("size").to_numpy(float)
    psus["weight"] = psus["fpc"].to_numpy() / answering * size / psus["responses"].to_numpy(float)
    frame = [
        [int(i), e.stratum, e.stratum_desks, e.transactions]
        for i, e in zip(psus.index, used, strict=True)
    ]
    return PsuDesign(psus, True, frame)


def _psu_places(psu_ids: pd.Index, household: bool) -> tuple[list[str], list[int]]:
    """Each PSU's code and place: the desk's code and unit, or the cluster unit's code
    and the cluster itself."""
    ids = [int(psu_id) for psu_id in psu_ids]
    if household:
        tree = queries.unit_tree()
        return [tree[psu_id][0] for psu_id in ids], ids
    found = {
        desk_id: (code, unit_id)
        for desk_id, code, unit_id in db.session.execute(
            select(ServicePoint.id, ServicePoint.code, ServicePoint.unit_id).where(
                ServicePoint.id.in_(ids)
            )
        )
    }
    return [found[psu_id][0] for psu_id in ids], [found[psu_id][1] for psu_id in ids]


def _weighted(
    wave: Wave, raw: pd.DataFrame, by: list[str], items: list[ItemBit], structure: IndexStructure
) -> tuple[pd.DataFrame, PsuDesign]:
    """The groups of :class:`WaveSums` from the statement's counts, and the PSUs' design."""
    design = _design(wave, raw[["psu_id", "n"]])
    of_psu = design.psus.loc[raw["psu_id"].astype("int64")]
    weight = of_psu["weight"].to_numpy()
    columns = {"psu": of_psu["psu"].to_numpy(), "stratum": of_psu["stratum"].to_numpy()}
    if design.weighted:
        columns["fpc"] = of_psu["fpc"].to_numpy()
    columns["weight"] = weight * raw["n"].to_numpy()
    columns["n"] = raw["n"].to_numpy()
    for item in (item for item in items if item.grouping < 0):
        answered = raw[f"{item.code}.answered"].to_numpy()
        columns[f"{item.code}.sat"] = weight * raw[f"{item.code}.satisfied"].to_numpy()
        columns[f"{item.code}.ans"] = weight * answered
        columns[f"{item.code}.n"] = answered
        columns[f"{item.code}.nz"] = np.where(weight != 0, answered, 0)
    for name in structure.composites:
        columns[f"{name}.n"] = raw[f"{name}.n"].to_numpy()
    for name in by:
        if name in ("province", "commune"):
            columns[name] = of_psu[name].to_numpy()
        elif name in DOMAIN_SOURCES:  # text; a missing procedure is in no domain
            columns[name] = raw[name].astype(object).where(raw[name].notna(), None).to_numpy()
        else:  # a grouping item's answer; "" without one, as the row path has it
            labels = ["" if pd.isna(v) else str(int(v)) for v in raw[name]]
            columns[name] = np.array(labels, dtype=object)
    return pd.DataFrame(columns), design


# --- estimates ------------------------------------------------------------------------


def index_tables(
    sums: WaveSums, lonely_psu: str = LONELY_PSU
) -> tuple[EstimateTable, EstimateTable | None, list[EstimateTable]]:
    """The ``sipas_index`` table; the part rows of the other parts (None without); and the
    satisfied share of each "in general" item that someone answered, one table each (as
    ``analysis.mean`` gives it: ``statistic`` "mean", ``n_domain`` the domain's
    responses). Items a domain has none of are NaN there, with ``n`` 0."""
    structure = sums.structure
    design = {"psu": "psu", "strata": "stratum", "fpc": "fpc" if sums.weighted else None,
              "by": sums.by or None, "lonely_psu": lonely_psu}  # fmt: skip
    main = index_from_aggregates(
        sums.groups, structure.dimensions, parts=structure.parts or None, **design
    )
    answered = [code for code in structure.overall_items if sums.groups[f"{code}.n"].sum()]
    if not structure.other_parts and not answered:
        return main, None, []
    # One more index: the other parts' dimensions, and each "in general" item as a
    # dimension of its own, whose n is the domain's responses (no "NAME.n" column).
    alone = {code: f"{code} alone" for code in answered}
    dimensions = {
        code: structure.dimensions[code]
        for members in structure.other_parts.values()
        for code in members
    }
    dimensions.update({name: [code] for code, name in alone.items()})
    extra = index_from_aggregates(
        sums.groups, dimensions, parts=structure.other_parts or None, **design
    )
    of_variable: dict[str, list[Estimate]] = {}
    for e in extra:
        of_variable.setdefault(e.variable, []).append(e)
    other = None
    if structure.other_parts:
        other = EstimateTable(tuple(e for e in extra if e.variable in structure.other_parts))
    # each variable has one estimate per domain, in the same order of domains
    items = [
        EstimateTable(
            tuple(
                Estimate(e.variable, e.domain, e.estimate, e.se, e.df, e.deff, e.n,
                         statistic="mean", n_domain=rows.n)
                for e, rows in zip(of_variable[code], of_variable[alone[code]], strict=True)
            )
        )
        for code in answered
    ]  # fmt: skip
    return main, other, items


def check_items_answered(sums: WaveSums) -> None:
    """ValueError naming an index item nobody answered, as ``analysis.sipas_index`` does."""
    for items in sums.structure.dimensions.values():
        for code in items:
            if sums.groups[f"{code}.n"].sum() == 0:
                raise ValueError(
                    f"items: column '{code}' has no valid answer (missing in every row)"
                )


__all__ = ["DOMAIN_SOURCES", "Estimates", "WaveSums", "estimates", "index_tables", "wave_sums"]
