"""Result sets: a wave's computation saved as a numbered, immutable set, found again and
recomputed.

A set holds the whole wave's rows (domain ``None``), the rows of its
breakdown and, when the breakdown is one kind of place (province, commune
or desk), the official-style figures: for ``overall``, each part and each
dimension, the unweighted mean of the unit indices, as BNV publishes its
national SIPAS (the mean of the provinces). Its standard error comes from
the same design: the mean is the linear contrast with equal coefficients of
the unit estimates, whose covariance (``EstimateTable.combination_vcov``,
the ``c' V c`` of ``analysis.contrast``) includes the units' shared strata.
Those rows have the domain ``{"official": "province"}`` (or ``commune``,
``desk``).

A set records what its numbers depend on: the wave and its valid responses,
the digest of the computation's inputs, the options, what the weights were
made of (the frame's and the targets' sizes and digests), the code version,
who ran it and when. Recomputing a set with unchanged inputs gives the same
digest and the same numbers, bit for bit; :func:`recompute` names every
difference otherwise.

Functions flush and never commit: the caller does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import String, cast, insert, select

from survey import queries
from survey.auth.policy import UnitScope
from survey.extensions import db
from survey.models import (
    CalibrationTarget,
    FrameEntry,
    Procedure,
    ResultRow,
    ResultSet,
    ServicePoint,
    Unit,
    User,
    Wave,
)
from survey.services import results
from survey.services.design_frame import LONELY_PSU
from survey.services.questionnaires import questionnaire_of

#: The domain key of an official-style row; its value names the units averaged.
OFFICIAL = "official"
#: Breakdowns whose units are averaged into an official-style figure.
PLACES = ("province", "commune", "desk")
#: What a row holds, in the order of ``python -m analysis`` (``weighting`` is the set's).
ROW_FIELDS = ("variable", "domain", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n",
              "flags")  # fmt: skip
#: Rows per INSERT statement (executemany) where the database is not PostgreSQL.
INSERT_CHUNK = 5000
#: The columns of a set's index table as a file: ``results.COLUMNS``, then which figure a
#: row is (design-based or official-style) and the names of its domain's units.
EXPORT_COLUMNS = (*results.COLUMNS, "figure", "domain_name")


def weightings() -> tuple[str, ...]:
    """How weights can be made: the frame's, or calibrated to the wave's targets."""
    return results.WEIGHTINGS


# --- saving ---------------------------------------------------------------------


def run(
    wave: Wave,
    by: Sequence[str] = (),
    *,
    weighting: str = "design",
    interval: str = "wald",
    level: float = 0.95,
    lonely_psu: str = LONELY_PSU,
    user: User | None = None,
) -> ResultSet:
    """Compute every index of ``wave`` by ``by`` and save it as a new result set.

    UserError (nothing saved) for an unknown field, interval, weighting or lonely PSU
    policy, or a wave that cannot be computed.
    """
    options = _options(by, weighting, interval, level, lonely_psu)
    computation = _compute(wave, options)
    return save(wave, computation, user=user, **options)


def _options(
    by: Sequence[str], weighting: str, interval: str, level: float, lonely_psu: str
) -> dict[str, Any]:
    """A set's options as it stores them."""
    return {"by": list(by), "weighting": weighting, "interval": interval, "level": level,
            "lonely_psu": lonely_psu}  # fmt: skip


def save(
    wave: Wave,
    computation: results.Computation,
    *,
    by: Sequence[str],
    weighting: str,
    interval: str,
    level: float,
    lonely_psu: str = LONELY_PSU,
    user: User | None = None,
) -> ResultSet:
    """Save ``computation`` -- ``results.compute(wave, by, ...)`` with these options -- as a
    new result set, with the whole wave's rows (computed here when ``by`` is given) and the
    official-style rows. Flushes; the caller commits."""
    options = _options(by, weighting, interval, level, lonely_psu)
    full = _set_computation(wave, options, computation)
    result_set = ResultSet(
        wave=wave,
        created_by=user,
        response_count=full.response_count,
        input_hash=full.digest,
        options=options,
        inputs=weight_inputs(wave),
        weighting=full.weighting,
        code_version=code_version(),
    )
    db.session.add(result_set)
    db.session.flush()
    _insert_rows(result_set.id, full.records)
    db.session.expire(result_set, ["rows"])
    return result_set


def _compute(
    wave: Wave, options: dict[str, Any], by: Sequence[str] | None = None
) -> results.Computation:
    """``results.compute`` with a set's options (by ``by`` instead of the set's, if given).
    A set saved before the lonely PSU policy was an option was computed with ``fail``."""
    return results.compute(
        wave,
        options["by"] if by is None else by,
        weighting=options["weighting"],
        interval=options["interval"],
        level=float(options["level"]),
        lonely_psu=options.get("lonely_psu", "fail"),
    )


def _set_computation(
    wave: Wave, options: dict[str, Any], breakdown: results.Computation | None = None
) -> results.Computation:
    """Everything a set holds, as one computation: the whole wave's rows, the breakdown's,
    the official-style rows; its digest covers both computations."""
    by = options["by"]
    interval, level = options["interval"], float(options["level"])
    if breakdown is None:
        breakdown = _compute(wave, options)
    if not by:
        return breakdown
    whole = _compute(wave, options, by=())
    official = official_rows(wave, by, breakdown, whole.records, interval, level)
    digest = hashlib.sha256(f"{whole.digest}\n{breakdown.digest}".encode()).hexdigest()
    return results.Computation(
        wave=wave.code,
        weighting=breakdown.weighting,
        records=[*whole.records, *breakdown.records, *official],
        response_count=breakdown.response_count,
        digest=digest,
    )


def _insert_rows(result_set_id: int, records: list[dict[str, Any]]) -> None:
    """The rows in bulk: a national wave by desk has ~400,000. PostgreSQL takes them
    with COPY (about four times faster than an INSERT per row there); other databases
    with a Core INSERT run as executemany, a few thousand rows per statement."""
    table = ResultRow.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        _copy_rows(result_set_id, records)
        return
    for start in range(0, len(records), INSERT_CHUNK):
        chunk = [
            {"result_set_id": result_set_id, "position": start + i,
             **{name: row[name] for name in ROW_FIELDS}}
            for i, row in enumerate(records[start : start + INSERT_CHUNK])
        ]  # fmt: skip
        db.session.execute(insert(table), chunk)


def _copy_rows(result_set_id: int, records: list[dict[str, Any]]) -> None:
    """COPY the rows into PostgreSQL on the session's connection (its transaction), in
    the binary format: numbers as they are, with no text to write and parse. The JSON
    columns are sent as the text the JSON type would write (``json`` takes its text as
    its binary form), made once per distinct domain and list of flags."""
    columns = ("result_set_id", "position", *ROW_FIELDS)
    connection = db.session.connection().connection.driver_connection
    statement = f"COPY result_row ({', '.join(columns)}) FROM STDIN (FORMAT binary)"
    domains: dict[tuple | None, str] = {}
    flags: dict[tuple, str] = {}
    numbers = ROW_FIELDS[2:-1]
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(["int4", "int4", "text", "text", "float8", "float8", "float8", "float8",
                        "int4", "float8", "int4", "text"])  # fmt: skip
        for position, row in enumerate(records):
            domain = row["domain"]
            key = None if domain is None else tuple(domain.items())
            if key not in domains:
                domains[key] = json.dumps(domain)
            marks = tuple(row["flags"])
            if marks not in flags:
                flags[marks] = json.dumps(row["flags"])
            copy.write_row(
                [result_set_id, position, row["variable"], domains[key],
                 *[row[name] for name in numbers], flags[marks]]
            )  # fmt: skip


# --- the official-style figure --------------------------------------------------


def official_rows(
    wave: Wave,
    by: Sequence[str],
    breakdown: results.Computation,
    whole: list[dict[str, Any]],
    interval: str,
    level: float,
) -> list[dict[str, Any]]:
    """The unweighted mean of the unit indices of ``overall``, each part and dimension,
    with its design-based interval, when ``by`` is one kind of place; else nothing.

    A unit without an estimate of an index is left out of that index's mean.
    A part outside the headline is not in ``breakdown.index_table`` (it is
    estimated apart): its mean over units is the mean of its dimensions'
    unit estimates, which is the same linear combination.
    """
    table = breakdown.index_table
    if len(by) != 1 or by[0] not in PLACES or table is None:
        return []
    place = by[0]
    questionnaire = questionnaire_of(wave.questionnaire)
    part_of = {d.code: d.part for d in questionnaire.dimensions}
    wanted = {"overall", *part_of, *part_of.values()}
    variables = [r["variable"] for r in whole if r["variable"] in wanted]
    units = _unit_estimates(breakdown.records, place, set(variables))
    positions = {(e.variable, (e.domain or {}).get(place)): i for i, e in enumerate(table)}
    in_table = {variable for variable, _ in positions}
    combinations, kept = [], []
    for variable in variables:
        shares = units.get(variable)
        members = [variable] if variable in in_table else [
            code for code, part in part_of.items() if part == variable and code in in_table
        ]  # fmt: skip
        if not shares or not members:
            continue
        row = np.zeros(len(table))
        for member in members:
            for unit in shares:
                row[positions[(member, unit)]] = 1.0 / (len(shares) * len(members))
        combinations.append(row)
        kept.append(variable)
    if not combinations:
        return []
    variances = np.diag(table.combination_vcov(np.vstack(combinations)))
    design_df = next((r["df"] for r in whole if r["variable"] == "overall"), None)
    return [
        _official_row(variable, place, units[variable], variance, design_df, interval, level)
        for variable, variance in zip(kept, variances, strict=True)
    ]


def _unit_estimates(
    records: list[dict[str, Any]], place: str, variables: set[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{variable: {unit code: row}}`` of the rows with an estimate."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for row in records:
        domain = row["domain"] or {}
        if row["variable"] in variables and row["estimate"] is not None and place in domain:
            found.setdefault(row["variable"], {})[domain[place]] = row
    return found


def _official_row(
    variable: str,
    place: str,
    units: dict[str, dict[str, Any]],
    variance: float,
    df: int | None,
    interval: str,
    level: float,
) -> dict[str, Any]:
    from analysis import Estimate

    estimate = Estimate(
        variable=variable,
        domain={OFFICIAL: place},
        estimate=math.fsum(row["estimate"] for row in units.values()) / len(units),
        se=math.sqrt(max(float(variance), 0.0)),
        df=int(df) if df is not None else 0,
        deff=None,
        n=sum(int(row["n"]) for row in units.values()),
        statistic="index",
    )
    row = estimate.to_dict(level, interval)
    weighting = next(iter(units.values())).get("weighting")
    return {**row, "weighting": weighting, "flags": results.flags(row)}


def is_official(domain: dict[str, Any] | None) -> bool:
    return bool(domain) and OFFICIAL in domain


# --- provenance -----------------------------------------------------------------


def weight_inputs(wave: Wave) -> dict[str, Any]:
    """What the weights are made of: the frame's entries and the calibration targets,
    each with its size and a SHA-256 of its content (``None`` when there is none)."""
    psu = db.func.coalesce(ServicePoint.code, Unit.code)
    entries = db.session.execute(
        select(psu, FrameEntry.stratum, FrameEntry.stratum_desks, FrameEntry.transactions)
        .outerjoin(ServicePoint, ServicePoint.id == FrameEntry.service_point_id)
        .outerjoin(Unit, Unit.id == FrameEntry.unit_id)
        .where(FrameEntry.wave_id == wave.id)
    ).all()
    targets = db.session.execute(
        select(CalibrationTarget.margin, CalibrationTarget.cell, CalibrationTarget.count).where(
            CalibrationTarget.wave_id == wave.id
        )
    ).all()
    return {
        "frame": {"entries": len(entries), "digest": _digest(map(list, entries))},
        "targets": {
            "margins": sorted({margin for margin, _, _ in targets}),
            "cells": len(targets),
            "digest": _digest([m, c, float(n)] for m, c, n in targets),
        },
    }


def _digest(rows) -> str | None:
    lines = sorted(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows)
    if not lines:
        return None
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@functools.cache
def code_version() -> str:
    """The package's version, and the git commit when running from a checkout
    (read from ``.git`` once per process, without running git)."""
    try:
        version = metadata.version("sipas")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = _git_commit(Path(__file__).resolve().parents[2])
    return f"{version}+g{commit}" if commit else version


def _git_commit(root: Path) -> str | None:
    git = root / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: PATH"
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:40] or None
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()[:40]
        common = git / "commondir"
        base = (git / common.read_text().strip()).resolve() if common.is_file() else git
        for line in (base / "packed-refs").read_text().splitlines():
            if line.endswith(f" {ref}"):
                return line.split(" ", 1)[0][:40]
    except (OSError, IndexError):
        return None
    return None


def provenance(result_set: ResultSet) -> dict[str, Any]:
    """Everything a set records, with plain keys (for pages, the CLI and exports)."""
    inputs = result_set.inputs or {}
    frame, targets = inputs.get("frame", {}), inputs.get("targets", {})
    options = result_set.options
    return {
        "result_set": result_set.id,
        "wave": result_set.wave.code,
        "wave_name": result_set.wave.name,
        "responses": result_set.response_count,
        "input_hash": result_set.input_hash,
        "by": ", ".join(options.get("by") or []),
        "weighting_asked": options.get("weighting"),
        "weighting": result_set.weighting,
        "interval": options.get("interval"),
        "level": options.get("level"),
        "lonely_psu": options.get("lonely_psu", "fail"),
        "frame_entries": frame.get("entries"),
        "frame_digest": frame.get("digest"),
        "target_margins": ", ".join(targets.get("margins") or []),
        "target_cells": targets.get("cells"),
        "targets_digest": targets.get("digest"),
        "code_version": result_set.code_version,
        "created_by": result_set.created_by.email if result_set.created_by else None,
        "created_at": queries.as_utc(result_set.created_at).isoformat(),
    }


# --- reading --------------------------------------------------------------------


def sets_of(wave: Wave) -> list[ResultSet]:
    """The wave's result sets, newest first."""
    return db.session.scalars(
        select(ResultSet).where(ResultSet.wave_id == wave.id).order_by(ResultSet.id.desc())
    ).all()


def result_set_by_number(number: int) -> ResultSet | None:
    return db.session.get(ResultSet, number)


def rows(
    result_set: ResultSet,
    *,
    variables: Sequence[str] | None = None,
    positions: tuple[int, int] | None = None,
    with_positions: bool = False,
) -> list[dict[str, Any]]:
    """The set's rows in order, as ``results.compute`` records (with the set's weighting):
    all of them, those of ``variables``, or those whose position is within ``positions``
    (both ends included); each with its ``position`` if asked.

    The JSON columns are read as text and parsed once per distinct value: a large set
    repeats each domain for every index, so rows of a domain share one dict (read only).
    """
    table = ResultRow.__table__
    columns = [
        cast(table.c[name], String) if name in ("domain", "flags") else table.c[name]
        for name in ROW_FIELDS
    ]
    query = select(*columns, table.c.position).where(table.c.result_set_id == result_set.id)
    if variables is not None:
        query = query.where(table.c.variable.in_(list(variables)))
    if positions is not None:
        query = query.where(table.c.position.between(*positions))
    parse = functools.lru_cache(maxsize=None)(json.loads)
    found = []
    for *values, position in db.session.connection().execute(query.order_by(table.c.position)):
        row = dict(zip(ROW_FIELDS, values, strict=True))
        row["domain"] = None if row["domain"] is None else parse(row["domain"])
        row["flags"] = [] if row["flags"] is None else parse(row["flags"])
        row["weighting"] = result_set.weighting
        if with_positions:
            row["position"] = position
        found.append(row)
    return found


# --- recomputing ----------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """Something that is not the same now as in the saved set."""

    #: ``digest``, ``responses``, ``weighting``, ``frame``, ``targets``, ``rows``, or a
    #: row as ``variable domain`` (``overall province=01``).
    subject: str
    #: The row's field that differs (``estimate``, ``n`` ...), or "" for the others.
    field: str
    saved: Any
    now: Any
    #: Whether it is a row's, and the row's domain (for who may see it).
    in_row: bool = False
    domain: dict[str, Any] | None = None

    def __str__(self) -> str:
        what = f"{self.subject} {self.field}".strip()
        return f"{what}: {self.saved} saved, {self.now} now"


def recompute(result_set: ResultSet) -> tuple[results.Computation, list[Difference]]:
    """Run the set's computation again with its options; what differs from the saved set.

    An empty list means the digest and every number are identical.
    """
    wave = result_set.wave
    computation = _set_computation(wave, result_set.options)
    differences = []
    for subject, saved, now in (
        ("digest", result_set.input_hash, computation.digest),
        ("responses", result_set.response_count, computation.response_count),
        ("weighting", result_set.weighting, computation.weighting),
    ):
        if saved != now:
            differences.append(Difference(subject, "", saved, now))
    inputs = weight_inputs(wave)
    for name in ("frame", "targets"):
        saved_input = (result_set.inputs or {}).get(name, {})
        if saved_input.get("digest") != inputs[name]["digest"]:
            differences.append(
                Difference(name, "digest", saved_input.get("digest"), inputs[name]["digest"])
            )
    differences += list(_row_differences(rows(result_set), computation.records))
    return computation, differences


def _row_differences(
    saved: list[dict[str, Any]], now: list[dict[str, Any]]
) -> Iterator[Difference]:
    if len(saved) != len(now):
        yield Difference("rows", "", len(saved), len(now))
    for old, new in zip(saved, now, strict=False):
        subject = f"{old['variable']} {domain_text(old['domain'])}".strip()
        for name in ROW_FIELDS:
            if old[name] != new[name]:
                yield Difference(subject, name, old[name], new[name], True, old["domain"])


def domain_text(domain: dict[str, Any] | None) -> str:
    """``province=01;desk=D-1``, as ``python -m analysis`` writes domains in CSV."""
    return ";".join(f"{key}={value}" for key, value in (domain or {}).items())


# --- who sees which rows --------------------------------------------------------


def scoped_by(scope: UnitScope, user: User, chosen: Sequence[str]) -> list[str]:
    """The breakdown to compute for a reader: what they chose, and for a reader tied to
    units their provinces (or, below that, communes) first."""
    by = list(chosen)
    if scope.is_national:
        return by
    levels = {unit.level for unit in user.units}
    place = "province" if levels == {"province"} else "commune"
    return [place, *(name for name in by if name != place)]


def visible(scope: UnitScope) -> Callable[[dict[str, Any] | None], bool]:
    """Which rows' domains a reader may see.

    A national reader sees every row. A reader tied to units sees the rows
    of a domain that names a province, commune or desk, every one of which is
    in their units: never the whole wave, the official-style means, or a
    breakdown by procedure, channel or answer alone, which are national.
    """
    if scope.is_national:
        return lambda domain: True
    units = {code: unit_id for unit_id, (code, _level, _parent) in queries.unit_tree().items()}
    desks = dict(db.session.execute(select(ServicePoint.code, ServicePoint.unit_id)).all())
    lookup = {"province": units, "commune": units, "desk": desks}

    def keep(domain: dict[str, Any] | None) -> bool:
        places = [(key, value) for key, value in (domain or {}).items() if key in lookup]
        if not places or is_official(domain):
            return False
        return all(scope.covers(lookup[key].get(value)) for key, value in places)

    return keep


# --- names for people -----------------------------------------------------------


def domain_names(wave: Wave, domains: Sequence[dict[str, Any] | None], locale: str) -> dict:
    """``{(field, value): name}`` for the places, desks, procedures and answer options
    that ``domains`` name."""
    wanted: dict[str, set[str]] = {}
    for domain in domains:
        for key, value in (domain or {}).items():
            wanted.setdefault(key, set()).add(value)
    names: dict[tuple[str, str], str] = {}
    places = wanted.get("province", set()) | wanted.get("commune", set())
    if places:
        for code, name in db.session.execute(
            select(Unit.code, Unit.name).where(Unit.code.in_(sorted(places)))
        ):
            names[("province", code)] = names[("commune", code)] = name
    if wanted.get("desk"):
        names.update(
            (("desk", code), name)
            for code, name in db.session.execute(
                select(ServicePoint.code, ServicePoint.name).where(
                    ServicePoint.code.in_(sorted(wanted["desk"]))
                )
            )
        )
    if wanted.get("procedure"):
        english = locale.startswith("en")
        names.update(
            (("procedure", code), (name_en if english and name_en else name))
            for code, name, name_en in db.session.execute(
                select(Procedure.code, Procedure.name, Procedure.name_en).where(
                    Procedure.code.in_(sorted(wanted["procedure"]))
                )
            )
        )
    questionnaire = questionnaire_of(wave.questionnaire)
    for item in questionnaire.items():
        if item.code in wanted:
            for option in item.scale.options:
                names[(item.code, str(option.value))] = option.label.get(locale)
    return names


# --- the index table as a file ----------------------------------------------------


def figure(domain: dict[str, Any] | None) -> str:
    """Which figure a row is, in exports: ``design-based`` or the official-style mean."""
    if is_official(domain):
        return f"official-style: unweighted mean of {domain[OFFICIAL]} indices"
    return "design-based"


def export_records(
    wave: Wave, records: list[dict[str, Any]], locale: str = "vi"
) -> list[dict[str, Any]]:
    """``records`` with the columns of :data:`EXPORT_COLUMNS`."""
    names = domain_names(wave, [row["domain"] for row in records], locale)
    return [
        {
            **row,
            "figure": figure(row["domain"]),
            "domain_name": "; ".join(
                names[(key, value)]
                for key, value in (row["domain"] or {}).items()
                if (key, value) in names
            ),
        }
        for row in records
    ]


def index_csv(records: list[dict[str, Any]]) -> str:
    """Export records as CSV: proportions (0..1) at full precision, as the CLI prints."""
    from analysis.cli import render

    return render(records, "csv", EXPORT_COLUMNS)


def index_xlsx(records: list[dict[str, Any]], about: dict[str, Any]) -> bytes:
    """Export records as an XLSX workbook: the sheet ``indices`` (estimates and interval
    ends stored as proportions, shown as percents) and the sheet ``provenance``."""
    import io

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("indices")
    sheet.append(list(EXPORT_COLUMNS))
    formats = {"estimate": "0.0%", "ci_low": "0.0%", "ci_high": "0.0%", "se": "0.00%",
               "deff": "0.00"}  # fmt: skip
    for row in records:
        cells = []
        for name in EXPORT_COLUMNS:
            value = row[name]
            if name == "domain":
                value = domain_text(value)
            elif name == "flags":
                value = ";".join(value)
            cells.append(_cell(sheet, value, formats.get(name)))
        sheet.append(cells)
    sheet = book.create_sheet("provenance")
    sheet.append(["field", "value"])
    for key, value in about.items():
        sheet.append([key, value])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet, value: Any, number_format: str | None):
    if number_format is None or value is None:
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell
