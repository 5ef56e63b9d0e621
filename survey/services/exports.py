"""A wave's valid responses as a data file: CSV, XLSX, SPSS ``.sav`` or Stata ``.dta``.

One row per valid response (from ``survey.services.design_frame``, the one
place that maps the database onto a design, so an export has the same rows
and weights as the indices): the design and domain columns, then one column
per closed item of the questionnaire, in questionnaire order, holding the
answer's code.

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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from openpyxl import Workbook

from survey.auth.policy import NATIONAL, UnitScope
from survey.models import Wave
from survey.questionnaire import Item, Questionnaire
from survey.services.design_frame import answer_codes, design_rows
from survey.services.questionnaires import questionnaire_of

#: The columns before the items, in this order.
COLUMNS = (
    "response_id", "desk", "stratum", "psu", "fpc", "weight",
    "province", "commune", "procedure", "channel",
)  # fmt: skip
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
CSV_ROWS_PER_CHUNK = 2000
#: SPSS's reserved words, which cannot be variable names (in any case).
SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}


@dataclass(frozen=True)
class ResponseTable:
    """The rows of an export: ``data`` has :data:`COLUMNS` and one float column per item
    (the answer's code, the not-applicable code kept, NaN for blank)."""

    wave: str
    data: pd.DataFrame
    items: list[Item]
    weighted: bool

    def without_not_applicable(self) -> pd.DataFrame:
        """``data`` with each not-applicable code made missing, codes as nullable integers."""
        data = self.data.copy()
        for item in self.items:
            column = data[item.code]
            if item.scale.not_applicable is not None:
                column = column.mask(column == item.scale.not_applicable)
            data[item.code] = column.astype("Int64")
        return data


def exported_items(questionnaire: Questionnaire) -> list[Item]:
    """The closed items, in questionnaire order: one numeric option list, one answer."""
    return [
        item
        for item in questionnaire.items()
        if item.scale.options and item.scale.numeric and item.scale.kind != "multi"
    ]


def response_table(wave: Wave, scope: UnitScope = NATIONAL) -> ResponseTable:
    """The valid responses of ``wave`` whose desk is in ``scope``; UserError if the wave
    has none (or its frame misses a desk). The weights are the wave's, whoever reads."""
    rows, weighted = design_rows(wave)
    rows = rows[[scope.covers(int(unit_id)) for unit_id in rows["unit_id"]]]
    rows = rows.reset_index(drop=True)
    items = exported_items(questionnaire_of(wave.questionnaire))
    # answer_codes makes "not applicable" missing; the exports keep it apart from blank.
    with_na = [replace(item, scale=replace(item.scale, not_applicable=None)) for item in items]
    codes = answer_codes(wave, with_na, rows["response_id"]).astype(float)
    data = pd.concat([rows[list(COLUMNS)], codes], axis=1)
    data["response_id"] = data["response_id"].astype("int64")
    for column in ("desk", "stratum", "psu", "province", "commune", "procedure", "channel"):
        data[column] = data[column].fillna("").astype(str)
    return ResponseTable(wave.code, data, items, weighted)


def filename(wave_code: str, fmt: str) -> str:
    return f"{wave_code}-responses.{fmt}"


def write(table: ResponseTable, fmt: str, path: Path) -> None:
    """Write ``table`` to ``path`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as out:
            for chunk in csv_chunks(table):
                out.write(chunk)
    else:
        {"xlsx": write_xlsx, "sav": write_sav, "dta": write_dta}[fmt](table, path)


# --- CSV and XLSX: blank cells for "not applicable" and blank ---------------------


def csv_chunks(table: ResponseTable, rows: int = CSV_ROWS_PER_CHUNK) -> Iterator[str]:
    """The CSV text, a header and then ``rows`` rows at a time (for a streamed download)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(table.data.columns)
    yield buffer.getvalue()
    data = table.without_not_applicable()
    for start in range(0, len(data), rows):
        yield data.iloc[start : start + rows].to_csv(header=False, index=False, lineterminator="\n")


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
