"""A wave's valid responses as a data file: CSV, XLSX, SPSS ``.sav`` or Stata ``.dta``.

One row per valid response, in the order of their ids: the design and domain
columns, then one column per closed item of the questionnaire, in
questionnaire order, holding the answer's code. The rows are read from the
database a chunk at a time (the answers packed per response by one statement,
see :func:`_statement`), so a CSV of a national wave streams in constant
memory; the weights are the wave's base weights per PSU, made as
``survey.services.design_frame`` makes them (``wave_sums.psu_design``), so an
export has the same rows and weights as the indices.

Closed items are the items whose scale has a list of numeric options and
takes one answer. Free-text items (a citizen's own words, which may name
people) are left out, and so are multi-select items (several codes per
answer, which one column cannot hold) and the procedure item (its code is
already the ``procedure`` column).

Missing values:

* CSV and XLSX: "not applicable" and blank are both an empty cell (as
  ``python -m analysis`` reads them: out of every denominator);
* ``.sav``: the not-applicable code is kept and declared a user-missing value
  (so SPSS users see it, labelled, and SPSS leaves it out); a blank is
  system-missing;
* ``.dta``: the not-applicable answer is Stata's extended missing value
  ``.a`` (labelled with the option's label); a blank is system-missing ``.``.

``.sav`` and ``.dta`` carry variable labels (the question in Vietnamese; cut
to 80 characters with an ellipsis for Stata) and value labels (the options'
Vietnamese labels). Item codes such as ``S-B3`` are not valid SPSS or Stata
variable names: there they are ``S_B3``. The XLSX file has a second sheet,
``codebook``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from openpyxl import Workbook
from sqlalchemy import BigInteger, Select, and_, case, cast, func, literal, select

from survey.auth.policy import NATIONAL, UnitScope
from survey.extensions import db
from survey.models import Answer, Procedure, Response, ServicePoint, Wave
from survey.questionnaire import Item, Questionnaire
from survey.services.questionnaires import questionnaire_of
from survey.services.wave_sums import (
    WORD_BITS,
    PsuDesign,
    any_bits,
    literal_table,
    place_column,
    psu_column,
    psu_design,
    work_memory,
)

#: The columns before the items, in this order.
COLUMNS = (
    "response_id", "desk", "stratum", "psu", "fpc", "weight",
    "province", "commune", "procedure", "channel",
)  # fmt: skip
#: The columns that are the PSU's: its design and place.
PSU_COLUMNS = ("stratum", "psu", "fpc", "weight", "province", "commune")
#: Each format's media type.
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
}
FORMATS = tuple(MEDIA_TYPES)
#: Labels of the columns before the items (Vietnamese, English), for the codebook,
#: ``.sav`` and ``.dta``. Data files are labelled in Vietnamese whatever the page's language.
COLUMN_LABELS = {
    "response_id": ("Mã phiếu trả lời", "Response id"),
    "desk": ("Mã bộ phận một cửa", "Desk code"),
    "stratum": ("Tầng chọn mẫu", "Stratum"),
    "psu": ("Đơn vị mẫu bậc một (bộ phận một cửa)", "Primary sampling unit (the desk)"),
    "fpc": (
        "Số đơn vị mẫu bậc một của tầng trong tổng thể",
        "PSUs of the stratum in the population",
    ),
    "weight": ("Trọng số cơ sở", "Base weight"),
    "province": ("Mã tỉnh, thành phố", "Province code"),
    "commune": ("Mã xã, phường, đặc khu", "Commune code"),
    "procedure": ("Mã thủ tục hành chính", "Procedure code"),
    "channel": (
        "Kênh trả lời phiếu (qr, paper, phone, web)",
        "How the form was answered (qr, paper, phone, web)",
    ),
}
STATA_LABEL_LENGTH = 80
STATA_NOT_APPLICABLE = "a"  # extended missing value .a
#: The codebook's columns; ``sav_dta_name`` is the column's name in ``.sav`` and ``.dta``.
CODEBOOK_COLUMNS = ("item", "question_vi", "question_en", "value", "label_vi", "label_en",
                    "missing", "sav_dta_name")  # fmt: skip
#: The most bits an item's codes take in the packed answers (codes spanning 65,535).
MAX_WIDTH = 16
#: Responses read from the database, and written as CSV, at a time.
CSV_ROWS_PER_CHUNK = 20_000
#: SPSS's reserved words, which cannot be variable names (in any case).
SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}


@dataclass(frozen=True)
class PackedItem:
    """Where an item's answer sits in a response's packed words: ``width`` bits from
    ``shift`` of word ``word`` hold ``code - low + 1`` (0: no answer), for codes from
    ``low`` to ``low + top``; only the item's option values count as answers."""

    code: str
    word: int
    shift: int
    width: int
    low: int
    top: int
    options: tuple[int, ...]


@dataclass(frozen=True)
class ResponseTable:
    """The rows of an export, read from the database :data:`CSV_ROWS_PER_CHUNK` at a time.

    :meth:`chunks` gives data frames with :data:`COLUMNS` and one float column per item
    (the answer's code, the not-applicable code kept, NaN for blank); :attr:`data` is
    all of them at once, for the formats written whole.
    """

    wave: str
    items: list[Item]
    weighted: bool
    design: PsuDesign
    layout: list[PackedItem]
    statement: Select

    def chunks(self, rows: int = CSV_ROWS_PER_CHUNK) -> Iterator[pd.DataFrame]:
        """The rows, ``rows`` at a time (none if the reader's units have none)."""
        for read in self._read(rows):
            yield self._frame(read)

    @cached_property
    def data(self) -> pd.DataFrame:
        chunks = list(self.chunks()) or [self._frame(self._decode([]))]
        return pd.concat(chunks, ignore_index=True)

    def without_not_applicable(self, data: pd.DataFrame | None = None) -> pd.DataFrame:
        """``data`` (default: all rows) with each not-applicable code made missing, codes
        as nullable integers."""
        data = (self.data if data is None else data).copy()
        for item in self.items:
            column = data[item.code]
            if item.scale.not_applicable is not None:
                column = column.mask(column == item.scale.not_applicable)
            data[item.code] = column.astype("Int64")
        return data

    def csv_rows(self, rows: int = CSV_ROWS_PER_CHUNK) -> Iterator[tuple[str, int]]:
        """The CSV text of the rows (no header), ``rows`` at a time, and how many each
        holds: "not applicable" and blank empty, numbers as in :attr:`data`."""
        psus = self.design.psus
        cells = {column: psus[column].astype(str).to_numpy(object) for column in PSU_COLUMNS}
        cells["fpc"] = np.array(["" if np.isnan(v) else repr(float(v)) for v in psus["fpc"]])
        cells["weight"] = np.array([repr(float(v)) for v in psus["weight"]])
        labels = {item.code: self._labels(item) for item in self.layout}
        for read in self._read(rows):
            row = {"response_id": read.response_id, "desk": read.desk,
                   "procedure": read.procedure, "channel": read.channel}  # fmt: skip
            row.update((column, values[read.psu]) for column, values in cells.items())
            columns = [row[column] for column in COLUMNS]
            columns += [labels[item.code][read.fields[item.code]] for item in self.layout]
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(zip(*columns, strict=True))
            yield buffer.getvalue(), len(read.response_id)

    def _labels(self, item: PackedItem) -> np.ndarray:
        """The CSV cell of each packed value of ``item``: "" for none, not applicable and
        a code that is not an option."""
        na = next(i.scale.not_applicable for i in self.items if i.code == item.code)
        codes = [item.low + k for k in range(1 << item.width)]
        cells = [str(c) if c in item.options and c != na else "" for c in codes]
        return np.array(["", *cells], object)

    def _read(self, rows: int) -> Iterator[_Read]:
        """The statement's rows, ``rows`` at a time, decoded."""
        dialect = db.session.get_bind().dialect.name
        connection = db.session.connection()
        with work_memory(dialect):
            # The option is the statement's: set on the connection, it would stay there
            # and stream every later statement of the transaction (PostgreSQL refuses a
            # cursor for a DELETE).
            result = connection.execute(self.statement, execution_options={"yield_per": rows})
        for part in result.partitions():
            yield self._decode(part)

    def _decode(self, rows) -> _Read:
        """Rows of the statement (id, desk, PSU id, procedure, channel, packed words) as
        arrays, each item's packed value apart."""
        words = len({item.word for item in self.layout})
        columns = list(zip(*rows, strict=True)) or [()] * (5 + words)
        psu = self.design.psus.index.get_indexer(np.asarray(columns[2], np.int64))
        packed = [np.array([w or 0 for w in columns[5 + k]], np.int64) for k in range(words)]
        fields = {}
        for item in self.layout:
            field = (packed[item.word] >> item.shift) & ((1 << item.width) - 1)
            option = np.isin(field - 1 + item.low, item.options)
            fields[item.code] = np.where(option, field, 0)
        return _Read(
            np.asarray(columns[0], np.int64),
            np.array(columns[1], object),
            psu,
            np.array([p or "" for p in columns[3]], object),
            np.array(columns[4], object),
            fields,
        )

    def _frame(self, read: _Read) -> pd.DataFrame:
        """Decoded rows as the export's columns."""
        psus = self.design.psus.iloc[read.psu]
        data = {"response_id": read.response_id, "desk": read.desk}
        data.update((column, psus[column].to_numpy()) for column in PSU_COLUMNS)
        data["procedure"], data["channel"] = read.procedure, read.channel
        data = {column: data[column] for column in COLUMNS}
        for item in self.layout:
            field = read.fields[item.code]
            data[item.code] = np.where(field > 0, field - 1 + item.low, np.nan)
        frame = pd.DataFrame(data)
        for column in ("desk", "stratum", "psu", "province", "commune", "procedure", "channel"):
            frame[column] = frame[column].fillna("").astype(str)
        frame["fpc"], frame["weight"] = frame["fpc"].astype(float), frame["weight"].astype(float)
        return frame


@dataclass(frozen=True)
class _Read:
    """A chunk of responses as read: one entry per response in each array."""

    response_id: np.ndarray
    desk: np.ndarray
    #: The position of the response's PSU in ``PsuDesign.psus``.
    psu: np.ndarray
    #: The procedure's code, "" without one.
    procedure: np.ndarray
    channel: np.ndarray
    #: Item code to its packed values: ``code - low + 1``, 0 without an answer.
    fields: dict[str, np.ndarray]


def exported_items(questionnaire: Questionnaire) -> list[Item]:
    """The closed items, in questionnaire order: one numeric option list, one answer."""
    return [
        item
        for item in questionnaire.items()
        if item.scale.options and item.scale.numeric and item.scale.kind != "multi"
    ]


def response_table(wave: Wave, scope: UnitScope = NATIONAL) -> ResponseTable:
    """The valid responses of ``wave`` whose desk (in a household wave: cluster) is in
    ``scope``, not yet read; UserError at once if the wave has none, or its frame misses a
    PSU. The weights are the wave's, whoever reads."""
    design = psu_design(wave)
    items = exported_items(questionnaire_of(wave.questionnaire))
    layout = _layout(items)
    statement = _statement(wave, scope, layout)
    return ResponseTable(wave.code, items, design.weighted, design, layout, statement)


def _layout(items: list[Item]) -> list[PackedItem]:
    """Each item's bits in the packed words: enough for its option values and "none"."""
    layout, word, shift = [], 0, 0
    for item in items:
        options = tuple(v for v in item.scale.values if isinstance(v, int))
        low, top = min(options), max(options) - min(options)
        width = (top + 1).bit_length()
        if width > MAX_WIDTH:
            raise ValueError(f"items: the options of '{item.code}' span too many values")
        if shift + width > WORD_BITS:
            word, shift = word + 1, 0
        layout.append(PackedItem(item.code, word, shift, width, low, top, options))
        shift += width
    return layout


def _statement(wave: Wave, scope: UnitScope, layout: list[PackedItem]) -> Select:
    """One row per valid response in ``scope``, by id: id, desk code (None for a household
    paper form, which has no desk), PSU id, procedure code, channel, and the answers
    packed into a few integers (per response, each answer's ``code - low + 1`` shifted to
    its item's bits, combined with ``bit_or``)."""
    dialect = db.session.get_bind().dialect.name
    low, high = db.session.execute(
        select(func.min(Response.id), func.max(Response.id)).where(
            Response.wave_id == wave.id, Response.status == "valid"
        )
    ).one()
    table = literal_table(
        [
            {"code": i.code, "word": i.word, "shift": i.shift, "low": i.low, "top": i.top}
            for i in layout
        ],
        "item",
    )
    offset = Answer.value_num - table.c.low
    known = offset.between(0, table.c.top)
    packed = cast(offset + 1, BigInteger).bitwise_lshift(table.c.shift)
    words = sorted({item.word for item in layout})
    per = (
        select(
            Answer.response_id.label("id"),
            *(
                any_bits(
                    case((and_(table.c.word == word, known), packed), else_=literal(0, BigInteger)),
                    dialect,
                ).label(f"w{word}")
                for word in words
            ),
        )
        .join_from(Answer, table, table.c.code == Answer.item_code)
        .where(Answer.response_id.between(low, high), Answer.value_num.is_not(None))
        .group_by(Answer.response_id)
        .subquery("per")
    )
    psu, place = psu_column(wave), place_column(wave)
    return (
        select(
            Response.id,
            ServicePoint.code,
            psu,
            Procedure.code,
            Response.channel,
            *(per.c[f"w{word}"] for word in words),
        )
        .outerjoin_from(Response, ServicePoint, ServicePoint.id == Response.service_point_id)
        .outerjoin(Procedure, Procedure.id == Response.procedure_id)
        .outerjoin(per, per.c.id == Response.id)
        .where(Response.wave_id == wave.id, Response.status == "valid", scope.where(place))
        .order_by(Response.id)
    )


def filename(wave_code: str, fmt: str) -> str:
    return f"{wave_code}-responses.{fmt}"


def write(table: ResponseTable, fmt: str, path: Path) -> int:
    """Write ``table`` to ``path`` in ``fmt`` (one of :data:`FORMATS`); the rows written.

    A CSV is written a chunk at a time; the other formats are made whole."""
    if fmt == "csv":
        written = 0
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(_csv_header(table))
            for text, count in table.csv_rows():
                out.write(text)
                written += count
        return written
    {"xlsx": write_xlsx, "sav": write_sav, "dta": write_dta}[fmt](table, path)
    return len(table.data)


# --- CSV and XLSX: blank cells for "not applicable" and blank ---------------------


def csv_chunks(table: ResponseTable, rows: int = CSV_ROWS_PER_CHUNK) -> Iterator[str]:
    """The CSV text, a header and then ``rows`` rows at a time as they are read from the
    database (for a streamed download)."""
    yield _csv_header(table)
    for text, _ in table.csv_rows(rows):
        yield text


def _csv_header(table: ResponseTable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([*COLUMNS, *(i.code for i in table.items)])
    return buffer.getvalue()


def write_xlsx(table: ResponseTable, path: Path) -> None:
    """Sheet ``responses`` (as the CSV) and sheet ``codebook``, in write-only mode."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("responses")
    data = table.without_not_applicable()
    sheet.append(list(data.columns))
    for row in data.itertuples(index=False, name=None):
        sheet.append([_cell(value) for value in row])
    codebook = book.create_sheet("codebook")
    codebook.append(list(CODEBOOK_COLUMNS))
    for row in codebook_rows(table):
        codebook.append(row)
    book.save(path)


def _cell(value):
    if value is pd.NA or value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def codebook_rows(table: ResponseTable) -> Iterator[list]:
    """One row per column before the items, then one per option of each item: item code,
    question (vi, en), value, label (vi, en), whether the value is a missing value (the
    not-applicable option; a blank cell is always missing) and the ``.sav``/``.dta`` name."""
    names = variable_names(table)
    for column in COLUMNS:
        vi, en = COLUMN_LABELS[column]
        yield [column, vi, en, None, None, None, None, names[column]]
    for item in table.items:
        for option in item.scale.options:
            missing = option.value == item.scale.not_applicable
            yield [item.code, item.text.vi, item.text.en, option.value, option.label.vi,
                   option.label.en, missing, names[item.code]]  # fmt: skip


# --- SPSS and Stata: labels, user-missing and extended missing values --------------


def variable_names(table: ResponseTable) -> dict[str, str]:
    """Each column's name in ``.sav`` and ``.dta``: ``S-B3`` becomes ``S_B3``; unique
    regardless of case (SPSS ignores it: item ``CHANNEL`` becomes ``Q_CHANNEL`` beside
    the ``channel`` column), never an SPSS reserved word."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in table.data.columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column)
        if not name[0].isalpha():
            name = f"V{name}"
        base, number = name, 1
        if name.upper() in taken or name.upper() in SPSS_RESERVED:
            name = base = f"Q_{name}"
        while name.upper() in taken:
            number += 1
            name = f"{base}_{number}"
        taken.add(name.upper())
        names[column] = name
    return names


def _labelled(table: ResponseTable) -> tuple[dict[str, str], dict[str, str], dict[str, dict]]:
    """Column names, variable labels (Vietnamese) and value labels, by the new names."""
    names = variable_names(table)
    labels = {names[column]: COLUMN_LABELS[column][0] for column in COLUMNS}
    values = {}
    for item in table.items:
        labels[names[item.code]] = item.text.vi
        values[names[item.code]] = {o.value: o.label.vi for o in item.scale.options}
    return names, labels, values


def write_sav(table: ResponseTable, path: Path) -> None:
    """SPSS: the not-applicable code is kept and declared user-missing; blank is system
    missing."""
    names, labels, values = _labelled(table)
    data = table.data.rename(columns=names)
    missing = {
        names[item.code]: [item.scale.not_applicable]
        for item in table.items
        if item.scale.not_applicable is not None
    }
    pyreadstat.write_sav(
        data,
        str(path),
        column_labels=labels,
        variable_value_labels=values,
        missing_ranges=missing,
        variable_measure=_measures(table, names),
    )


def _measures(table: ResponseTable, names: dict[str, str]) -> dict[str, str]:
    measures = {names[column]: "nominal" for column in COLUMNS}
    measures.update({names["fpc"]: "scale", names["weight"]: "scale"})
    for item in table.items:
        kind = item.scale.kind
        measures[names[item.code]] = "ordinal" if kind in ("likert5", "ordinal") else "nominal"
    return measures


def write_dta(table: ResponseTable, path: Path) -> None:
    """Stata: the not-applicable answer is extended missing ``.a`` (labelled); blank is
    ``.``; variable labels are cut to Stata's 80 characters with an ellipsis."""
    names, labels, values = _labelled(table)
    data = table.data.rename(columns=names)
    missing = {}
    for item in table.items:
        na = item.scale.not_applicable
        if na is None:
            continue
        name = names[item.code]
        column = data[name].astype(object)
        column[data[name] == na] = STATA_NOT_APPLICABLE
        data[name] = column
        missing[name] = [STATA_NOT_APPLICABLE]
        values[name] = {
            (STATA_NOT_APPLICABLE if value == na else value): label
            for value, label in values[name].items()
        }
    labels = {name: stata_label(label) for name, label in labels.items()}
    pyreadstat.write_dta(
        data,
        str(path),
        column_labels=labels,
        variable_value_labels=values,
        missing_user_values=missing,
    )


def stata_label(text: str) -> str:
    """``text`` cut to Stata's 80 characters, ending with an ellipsis if it was cut."""
    if len(text) <= STATA_LABEL_LENGTH:
        return text
    return text[: STATA_LABEL_LENGTH - 1].rstrip() + "…"
