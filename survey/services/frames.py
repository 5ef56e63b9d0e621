"""Import a wave's sampling frame from CSV or XLSX: every bad row named, nothing half-imported.

A frame file has the columns ``psu, stratum, stratum_psus, size``:

* ``psu`` is a desk code (desk waves) or a unit code (household waves: the
  commune or village cluster);
* ``stratum`` is any label; every PSU is in exactly one stratum;
* ``stratum_psus`` is the number of PSUs of the stratum in the population,
  the same on every row of the stratum, and at least the rows listed;
* ``size`` is the desk's transactions in the period, or the cluster's
  households: a whole number, zero or more.

A PSU outside the importing user's units reads as unknown, like a code that
does not exist. Importing replaces the frame entries within the user's units
and keeps the rest.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from survey.auth.policy import NATIONAL, UnitScope
from survey.extensions import db
from survey.models import FrameEntry, ServicePoint, Unit, User, Wave
from survey.services.audit import audit

COLUMNS = ("psu", "stratum", "stratum_psus", "size")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class FrameRow:
    line: int
    psu_id: int
    stratum: str
    stratum_psus: int
    size: int


class FrameFileError(ValueError):
    """Every problem of a frame file, as ``(line, message)``; line 0 for the file itself."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def read_table(content: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8) or XLSX file as text, keyed by lower-cased header."""
    if _is_xlsx(filename):
        rows = _sheet(content).iter_rows(values_only=True)
        header = [str(cell or "").strip().lower() for cell in next(rows, ())]
        return [
            {name: _cell(value) for name, value in zip(header, row, strict=False) if name}
            for row in rows
            if any(value is not None for value in row)
        ]
    reader = csv.DictReader(io.StringIO(_csv_text(content)))
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def numbered_rows(
    content: bytes, filename: str, most: int | None = None
) -> list[tuple[int, list[str]]]:
    """Every row of a CSV (UTF-8) or XLSX file that is not empty, header included, as
    ``(line in the file, cells as text)``, the first ``most`` only: for files whose
    header is checked column by column (a duplicated or misplaced column), read as
    :func:`read_table` reads them."""
    if _is_xlsx(filename):
        numbered = (
            (line, [_cell(value) for value in row])
            for line, row in enumerate(_sheet(content).iter_rows(values_only=True), start=1)
            if any(value is not None and str(value).strip() for value in row)
        )
        return list(itertools.islice(numbered, most))
    reader = csv.reader(io.StringIO(_csv_text(content)))
    rows, start = [], 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            rows.append((start, [cell.strip() for cell in cells]))
        start = reader.line_num + 1
    return rows[:most]


def _is_xlsx(filename: str) -> bool:
    """Whether the file is XLSX (else CSV); FrameFileError for any other kind."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".xlsx", ".csv", ".txt"):
        raise FrameFileError([(0, str(_l("The file must be CSV or XLSX.")))])
    return suffix == ".xlsx"


def _csv_text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FrameFileError([(0, str(_l("The file is not UTF-8 text.")))]) from error


def _sheet(content: bytes):
    """The first sheet of an XLSX workbook, read only."""
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise FrameFileError([(0, str(_l("The file is not a readable XLSX workbook.")))]) from error


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def parse_frame(
    rows: list[dict[str, str]], wave: Wave, scope: UnitScope = NATIONAL
) -> list[FrameRow]:
    """Check every row; FrameFileError with all the problems, or the rows to import."""
    missing = [name for name in COLUMNS if rows and name not in rows[0]]
    if not rows:
        raise FrameFileError([(0, str(_l("The file has no rows.")))])
    if missing:
        raise FrameFileError(
            [(1, str(_l("Missing columns: %(names)s.", names=", ".join(missing))))]
        )
    if len(rows) > MAX_ROWS:
        raise FrameFileError([(0, str(_l("At most %(n)d rows.", n=MAX_ROWS)))])
    psus = _psu_ids(wave, scope)
    problems: list[tuple[int, str]] = []
    parsed: list[FrameRow] = []
    for line, row in enumerate(rows, start=2):
        found = _row(line, row, psus, problems)
        if found is not None:
            parsed.append(found)
    problems += _stratum_problems(parsed)
    if problems:
        raise FrameFileError(sorted(problems))
    return parsed


def _psu_ids(wave: Wave, scope: UnitScope) -> dict[str, int]:
    """PSU code (lower-cased) to id, for the wave's kind of PSU, within ``scope``."""
    if wave.is_household:
        query = select(func.lower(Unit.code), Unit.id).where(scope.where(Unit.id))
    else:
        query = select(func.lower(ServicePoint.code), ServicePoint.id).where(
            scope.where(ServicePoint.unit_id)
        )
    return dict(db.session.execute(query).all())


def _row(line: int, row: dict, psus: dict[str, int], problems: list) -> FrameRow | None:
    code = row.get("psu", "")
    before = len(problems)
    if not code:
        problems.append((line, str(_l("psu is empty."))))
    elif code.lower() not in psus:
        problems.append((line, str(_l("Unknown PSU %(code)s.", code=code[:40]))))
    if not row.get("stratum"):
        problems.append((line, str(_l("stratum is empty."))))
    counts = {name: _count(line, name, row.get(name, ""), problems) for name in COLUMNS[2:]}
    if len(problems) > before:
        return None
    return FrameRow(
        line, psus[code.lower()], row["stratum"][:64], counts["stratum_psus"], counts["size"]
    )


def _count(line: int, name: str, text: str, problems: list) -> int | None:
    if not text:
        problems.append((line, str(_l("%(column)s is missing.", column=name))))
        return None
    try:
        value = int(text)
    except ValueError:
        problems.append(
            (line, str(_l("%(column)s is not a whole number: %(value)s.", column=name,
                          value=text[:20])))
        )  # fmt: skip
        return None
    if value < 0:
        problems.append((line, str(_l("%(column)s is negative.", column=name))))
        return None
    return value


def _stratum_problems(rows: list[FrameRow]) -> list[tuple[int, str]]:
    """A PSU twice or in two strata; a stratum whose counts disagree or are too small."""
    problems = []
    seen: dict[int, FrameRow] = {}
    strata: dict[str, list[FrameRow]] = defaultdict(list)
    for row in rows:
        first = seen.setdefault(row.psu_id, row)
        if first is not row:
            message = (
                _l("This PSU is also in stratum %(stratum)s (line %(line)d).",
                   stratum=first.stratum, line=first.line)
                if first.stratum != row.stratum
                else _l("This PSU is listed already (line %(line)d).", line=first.line)
            )  # fmt: skip
            problems.append((row.line, str(message)))
        strata[row.stratum].append(row)
    for stratum, members in strata.items():
        counts = {row.stratum_psus for row in members}
        if len(counts) > 1:
            message = _l(
                "Stratum %(stratum)s has different stratum_psus: %(counts)s.",
                stratum=stratum,
                counts=", ".join(str(c) for c in sorted(counts)),
            )
            problems += [(row.line, str(message)) for row in members]
        elif members[0].stratum_psus < len(members):
            message = _l(
                "Stratum %(stratum)s lists %(rows)d PSUs but stratum_psus says %(count)d.",
                stratum=stratum,
                rows=len(members),
                count=members[0].stratum_psus,
            )
            problems.append((members[0].line, str(message)))
    return problems


def import_frame(
    wave: Wave, rows: list[FrameRow], *, scope: UnitScope = NATIONAL, by: User | None = None
) -> int:
    """Replace the frame entries of ``wave`` within ``scope`` by ``rows``; flushes."""
    household = wave.is_household
    column = FrameEntry.unit_id if household else FrameEntry.service_point_id
    in_scope = _entries_in_scope(wave, scope, household)
    db.session.execute(delete(FrameEntry).where(FrameEntry.id.in_(in_scope)))
    for row in rows:
        db.session.add(
            FrameEntry(
                wave_id=wave.id,
                stratum=row.stratum,
                stratum_desks=row.stratum_psus,
                transactions=row.size,
                **{column.key: row.psu_id},
            )
        )
    db.session.flush()
    audit("import_frame", wave, by, rows=len(rows), strata=len({r.stratum for r in rows}))
    return len(rows)


def _entries_in_scope(wave: Wave, scope: UnitScope, household: bool):
    query = select(FrameEntry.id).where(FrameEntry.wave_id == wave.id)
    if scope.is_national:
        return query
    if household:
        return query.where(scope.where(FrameEntry.unit_id))
    return query.join(ServicePoint, ServicePoint.id == FrameEntry.service_point_id).where(
        scope.where(ServicePoint.unit_id)
    )


def target_sample_size(population: int, margin: float) -> int:
    """The method's sample size for a population: n = N / (1 + N e²), rounded up."""
    if population <= 0:
        return 0
    return math.ceil(population / (1 + population * margin**2))
