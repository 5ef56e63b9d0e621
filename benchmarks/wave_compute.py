"""Benchmark: a national wave of a million responses, summed in PostgreSQL.

What it does, all on 127.0.0.1:

1. starts the local PostgreSQL cluster (or uses ``SIPAS_BENCH_DATABASE_URL``),
   makes a fresh ``sipas_bench_wave`` database, runs ``flask db upgrade`` and
   ``flask demo --responses 0`` (units, procedures, the open desk wave);
2. adds invented provinces up to 34 (the demo has three), each with 60 to 160
   communes, desks at communes (``--desks`` in all, each handling a few
   procedures), a frame for the wave (stratum = province, ``stratum_psus`` at
   least the commune count, random sizes) and ``--responses`` responses to
   the demo's desk questionnaire at those desks, in proportion to their size,
   with their answers, loaded with ``COPY`` through psycopg (indexes and
   constraints dropped while copying and made again after);
   answers are drawn as the demo draws them (a latent score per desk,
   dimension and respondent), with blank optional items, "not applicable"
   where the scale offers it, void and duplicate responses;
3. times ``flask --app survey results compute`` as real processes, start-up
   included: the whole wave, ``--by province`` and ``--by desk``;
4. times one CSV export twice: ``flask --app survey export responses`` and the
   streamed download a signed-in analyst gets from the wave's page, through
   gunicorn (the repository's ``gunicorn.conf.py``, one worker);
5. times R's ``survey`` on the exported CSV for the same index table (the
   whole wave and by province: items, dimensions, parts and overall, with
   the frame's strata, PSUs and fpc) and compares the numbers.

Prints the seconds and the peak memory (resident set) of each app process
beside the targets: the three computations together under 20 s, the export
under 60 s, every process under 1 GB.

Usage::

    python benchmarks/wave_compute.py [--responses 1000000] [--desks 3000]
        [--skip-r] [--keep] [--r-timeout 3600]

``--keep`` reuses the database of an earlier run when it holds the wave (and
loads it otherwise). Making the database needs root (it runs ``psql`` as
``postgres``), unless ``SIPAS_BENCH_DATABASE_URL`` is given.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd


def _sibling(name: str):
    """A script of this folder as a module (``benchmarks`` is no package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_submit_load = _sibling("submit_load")
BENCH_USER, BENCH_PASSWORD, HOST = (
    _submit_load.BENCH_USER,
    _submit_load.BENCH_PASSWORD,
    _submit_load.HOST,
)
free_port, hidden_fields = _submit_load.free_port, _submit_load.hidden_fields
flask, local_database = _submit_load.flask, _submit_load.local_database
largest_difference = _sibling("analysis_vs_r").largest_difference

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this checkout's survey/, as the app processes get it
    sys.path.insert(0, str(ROOT))
BENCH_DATABASE = "sipas_bench_wave"
SECRET_KEY = "benchmark-secret-key-not-for-production"
WAVE_CODE = "DEMO-2025"  # survey.services.demo.WAVE_CODE
ANALYST = "analyst@bench.example.vn"
ANALYST_PASSWORD = "9f3c-tong-hop-chi-so-e77a"
TARGET_COMPUTE_SECONDS = 20.0
TARGET_EXPORT_SECONDS = 60.0
TARGET_MEMORY = 2**30
#: Shares of the responses' statuses and channels.
STATUSES = {"valid": 0.97, "void": 0.02, "duplicate": 0.01}
CHANNELS = {"qr": 0.7, "paper": 0.2, "phone": 0.05, "web": 0.05}
NOT_APPLICABLE_SHARE = 0.08
TEXT_SHARE = 0.08
ROWS_PER_COPY = 2_000_000
#: Provinces of the benchmark wave (Vietnam's count since July 2025).
PROVINCES = 34


def main() -> int:
    args = parse_args()
    database_url = os.environ.get("SIPAS_BENCH_DATABASE_URL") or local_database(
        BENCH_DATABASE, keep=args.keep
    )
    env = app_environment(database_url)
    loaded = args.keep and wave_responses(database_url)
    if loaded:
        print(f"reusing the loaded wave: {loaded:,} responses", flush=True)
    else:
        flask(env, "db", "upgrade")
        flask(env, "demo", "--responses", "0")
        started = time.perf_counter()
        summary = load_wave(database_url, args.responses, args.desks, seed=args.seed)
        print(f"{summary} in {time.perf_counter() - started:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        computations = time_computations(env, folder, args.repeats)
        exports = time_exports(env, database_url, folder)
        report(computations, exports)
        if not args.skip_r:
            compare_with_r(database_url, folder, computations, args.r_timeout)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--desks", type=int, default=3000, help="desks in the frame (default 3000)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each computation; the fastest counts"
    )
    parser.add_argument("--skip-r", action="store_true", help="do not run R")
    parser.add_argument("--r-timeout", type=float, default=3600.0, help="seconds (default 3600)")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the database of an earlier run if it is loaded"
    )
    args = parser.parse_args()
    if args.responses < 1 or args.desks < 100 or args.repeats < 1:
        parser.error("--responses and --repeats must be positive and --desks at least 100")
    return args


# --- database ------------------------------------------------------------------


def app_environment(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SIPAS_DATABASE_URL=database_url,
        SIPAS_SECRET_KEY=SECRET_KEY,
        SIPAS_LOGIN_LIMIT="1000 per minute",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def connect(database_url: str):
    import psycopg

    return psycopg.connect(database_url)


def wave_responses(database_url: str) -> int:
    """Responses of the benchmark wave already in the database (0 if none or no schema)."""
    import psycopg

    try:
        with connect(database_url) as connection:
            return connection.execute(
                "SELECT count(*) FROM response JOIN wave ON wave.id = response.wave_id "
                "WHERE wave.code = %s",
                [WAVE_CODE],
            ).fetchone()[0]
    except psycopg.Error:
        return 0


# --- the wave: desks, frame, responses, answers ------------------------------------


@dataclass(frozen=True)
class Places:
    """The demo's units: ids, province of each commune, and existing desks."""

    wave_id: int
    communes: pd.DataFrame  # id, code, province_id, province_code
    provinces: pd.DataFrame  # id, code
    desks: pd.DataFrame  # id, unit_id, province_code
    procedures: dict[str, int]  # code -> id


def load_wave(database_url: str, responses: int, desks: int, *, seed: int) -> str:
    """Desks, frame, responses and answers of the demo wave, by COPY; returns a summary."""
    from survey.questionnaire import parse_questionnaire

    rng = np.random.default_rng(seed)
    with connect(database_url) as connection:
        places = read_places(connection)
        definition = connection.execute(
            "SELECT q.definition FROM questionnaire_version q JOIN wave w "
            "ON w.questionnaire_id = q.id WHERE w.id = %s",
            [places.wave_id],
        ).fetchone()[0]
        questionnaire = parse_questionnaire(definition)
        add_units(connection, places, rng)
        places = read_places(connection)
        with bulk_load(connection, ["answer", "response"]):
            frame = add_desks_and_frame(connection, places, desks, rng)
            counts = add_responses(connection, places, frame, questionnaire, responses, rng)
        connection.execute("ANALYZE")
    return (
        f"loaded {responses:,} responses ({counts['valid']:,} valid) with {counts['answers']:,} "
        f"answers at {len(frame):,} desks in {frame['province_code'].nunique()} provinces"
    )


def read_places(connection) -> Places:
    wave_id = connection.execute("SELECT id FROM wave WHERE code = %s", [WAVE_CODE]).fetchone()[0]
    units = pd.DataFrame(
        connection.execute("SELECT id, code, level, parent_id FROM unit").fetchall(),
        columns=["id", "code", "level", "parent_id"],
    )
    provinces = units[units["level"] == "province"][["id", "code"]]
    communes = units[units["level"] == "commune"].merge(
        provinces.rename(columns={"id": "parent_id", "code": "province_code"}), on="parent_id"
    )
    communes = communes.rename(columns={"parent_id": "province_id"})
    existing = pd.DataFrame(
        connection.execute("SELECT id, unit_id FROM service_point").fetchall(),
        columns=["id", "unit_id"],
    )
    place = pd.concat(
        [
            provinces.rename(columns={"id": "unit_id", "code": "province_code"}),
            communes[["id", "province_code"]].rename(columns={"id": "unit_id"}),
        ]
    )
    existing = existing.merge(place, on="unit_id")
    procedures = dict(connection.execute("SELECT code, id FROM procedure").fetchall())
    return Places(wave_id, communes, provinces, existing, procedures)


def add_units(connection, places: Places, rng) -> None:
    """Provinces up to :data:`PROVINCES` (the demo has three), each with 60 to 160 communes
    in all: invented units, coded ``B<nn>`` and ``<province>-<nnnn>``."""
    first_id = int(connection.execute("SELECT coalesce(max(id), 0) + 1 FROM unit").fetchone()[0])
    new = PROVINCES - len(places.provinces)
    provinces = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + new),
            "code": [f"B{number:02d}" for number in range(1, new + 1)],
            "name": [f"Tỉnh thử nghiệm {number:02d}" for number in range(1, new + 1)],
            "level": "province",
            "parent_id": pd.array([None] * new, "Int64"),
        }
    )
    every = pd.concat([places.provinces, provinces[["id", "code"]]], ignore_index=True)
    have = places.communes.groupby("province_id").size().reindex(every["id"], fill_value=0)
    wanted = rng.integers(60, 160, len(every)) - have.to_numpy()
    parent = np.repeat(every["id"].to_numpy(), np.maximum(wanted, 0))
    prefix = np.repeat(every["code"].to_numpy(), np.maximum(wanted, 0))
    serial = np.concatenate([np.arange(max(w, 0)) for w in wanted])
    codes = [f"{p}-{s:04d}" for p, s in zip(prefix, serial, strict=True)]
    communes = pd.DataFrame(
        {
            "id": np.arange(first_id + new, first_id + new + len(parent)),
            "code": codes,
            "name": [f"Xã thử nghiệm {code}" for code in codes],
            "level": "commune",
            "parent_id": parent,
        }
    )
    units = pd.concat([provinces, communes], ignore_index=True)
    units["current"] = True
    copy_frame(connection, "unit", units)
    connection.execute("SELECT setval(pg_get_serial_sequence('unit', 'id'), max(id)) FROM unit")


class bulk_load:  # noqa: N801 -- used as a context manager, like a function
    """Drop the tables' indexes and constraints (but NOT NULL) while copying, then
    make them again from their saved definitions: a bulk load's usual recipe."""

    def __init__(self, connection, tables: list[str]) -> None:
        self.connection = connection
        self.tables = tables
        self.constraints: list[tuple[str, str, str, str]] = []
        self.indexes: list[str] = []

    def __enter__(self):
        run = self.connection.execute
        for table in self.tables:
            self.constraints += run(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE (conrelid = %s::regclass AND contype IN ('p', 'u', 'f'))"
                " OR (confrelid = %s::regclass AND contype = 'f')",  # other tables' keys too
                [table, table],
            ).fetchall()
            self.indexes += [
                row[0]
                for row in run(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                    "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                    [table, table],
                )
            ]
        # each once (a key between two of the tables is found twice), foreign keys first
        self.constraints = sorted(set(self.constraints), key=lambda c: c[2] != "f")
        for table, name, _, _ in self.constraints:
            run(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for definition in self.indexes:
            name = re.search(r"INDEX (\S+) ON", definition).group(1)
            run(f"DROP INDEX {name}")
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            return False
        run = self.connection.execute
        run("SET maintenance_work_mem = '512MB'")
        for table, name, _, definition in sorted(self.constraints, key=lambda c: c[2] == "f"):
            run(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for definition in self.indexes:
            run(definition)
        for table in self.tables:
            run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM \"{table}\"")
        self.connection.commit()
        return False


def copy_frame(connection, table: str, data: pd.DataFrame) -> None:
    """COPY ``data`` (its columns named as the table's) into ``table``, in CSV chunks."""
    columns = ", ".join(f'"{column}"' for column in data.columns)
    with connection.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN (FORMAT csv)') as copy:
        for start in range(0, len(data), ROWS_PER_COPY):
            chunk = data.iloc[start : start + ROWS_PER_COPY]
            copy.write(chunk.to_csv(header=False, index=False, lineterminator="\n"))


def add_desks_and_frame(connection, places: Places, desks: int, rng) -> pd.DataFrame:
    """Commune desks up to ``desks`` in all, each handling a few procedures; the wave's frame
    over every desk. Returns the frame: id (desk), province_code, size."""
    communes = places.communes[~places.communes["id"].isin(places.desks["unit_id"])]
    wanted = max(0, min(desks - len(places.desks), len(communes)))
    chosen = communes.iloc[np.sort(rng.choice(len(communes), size=wanted, replace=False))]
    first_id = int(
        connection.execute("SELECT coalesce(max(id), 0) + 1 FROM service_point").fetchone()[0]
    )
    new = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + wanted),
            "code": "MC-" + chosen["code"].to_numpy(),
            "name": "Bộ phận Một cửa xã " + chosen["code"].to_numpy(),
            "unit_id": chosen["id"].to_numpy(),
            "government_level": "commune",
            "active": True,
            "secret_version": 1,
        }
    )
    copy_frame(connection, "service_point", new)
    connection.execute(
        "SELECT setval(pg_get_serial_sequence('service_point', 'id'), max(id)) FROM service_point"
    )
    procedure_ids = np.array(sorted(places.procedures.values()))
    handled = [
        (desk, int(p))
        for desk in new["id"]
        for p in rng.choice(procedure_ids, size=int(rng.integers(4, 8)), replace=False)
    ]
    copy_frame(
        connection,
        "service_point_procedure",
        pd.DataFrame(handled, columns=["service_point_id", "procedure_id"]),
    )
    frame = pd.concat(
        [
            places.desks[["id", "province_code"]],
            pd.DataFrame({"id": new["id"], "province_code": chosen["province_code"].to_numpy()}),
        ],
        ignore_index=True,
    )
    communes_per_province = places.communes.groupby("province_code").size()
    in_frame = frame.groupby("province_code").size()
    population = np.maximum(communes_per_province.reindex(in_frame.index).fillna(0) + 1, in_frame)
    centre = frame["id"].isin(places.desks["id"]).to_numpy()
    frame["size"] = np.where(
        centre, rng.integers(4000, 9000, len(frame)), rng.integers(200, 2500, len(frame))
    )
    connection.execute("DELETE FROM frame_entry WHERE wave_id = %s", [places.wave_id])
    copy_frame(
        connection,
        "frame_entry",
        pd.DataFrame(
            {
                "wave_id": places.wave_id,
                "service_point_id": frame["id"],
                "stratum": frame["province_code"],
                "stratum_desks": population.reindex(frame["province_code"]).to_numpy(int),
                "transactions": frame["size"],
            }
        ),
    )
    return frame


def add_responses(
    connection, places: Places, frame: pd.DataFrame, questionnaire, n: int, rng
) -> dict[str, int]:
    """``n`` responses at the frame's desks (in proportion to their size), then their
    answers; returns the counts of valid responses and of answers."""
    size = frame["size"].to_numpy(float)
    desk_index = np.sort(rng.choice(len(frame), size=n, p=size / size.sum()))
    rng.shuffle(desk_index)  # arrival order: the desks interleave
    desk_ids = frame["id"].to_numpy()[desk_index]
    handled = pd.DataFrame(
        connection.execute(
            "SELECT service_point_id, procedure_id FROM service_point_procedure"
        ).fetchall(),
        columns=["desk", "procedure"],
    )
    handled = handled[handled["desk"].isin(frame["id"])].sort_values(["desk", "procedure"])
    per_desk = handled.groupby("desk").size().reindex(frame["id"], fill_value=0).to_numpy()
    offset = np.concatenate([[0], np.cumsum(per_desk)[:-1]])
    pick = offset[desk_index] + np.floor(rng.random(n) * per_desk[desk_index]).astype(np.int64)
    listed = np.append(handled["procedure"].to_numpy(), -1)
    procedure_ids = np.where(
        per_desk[desk_index] > 0, listed[np.minimum(pick, len(listed) - 1)], -1
    )
    procedure_ids[rng.random(n) < 0.05] = -1  # the optional procedure item left blank
    first_id = int(
        connection.execute("SELECT coalesce(max(id), 0) + 1 FROM response").fetchone()[0]
    )
    ids = np.arange(first_id, first_id + n)
    start = datetime.now(UTC) - timedelta(days=30)
    seconds = np.sort(rng.uniform(0, 30 * 86400, n))
    status = rng.choice(list(STATUSES), size=n, p=list(STATUSES.values()))
    responses = pd.DataFrame(
        {
            "id": ids,
            "uuid": [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)],
            "wave_id": places.wave_id,
            "service_point_id": desk_ids,
            "procedure_id": pd.array(np.where(procedure_ids < 0, None, procedure_ids), "Int64"),
            "channel": rng.choice(list(CHANNELS), size=n, p=list(CHANNELS.values())),
            "submitted_at": [(start + timedelta(seconds=float(s))).isoformat() for s in seconds],
            "status": status,
            "locale": np.where(rng.random(n) < 0.1, "en", "vi"),
        }
    )
    copy_frame(connection, "response", responses)
    codes = {v: k for k, v in places.procedures.items()}
    procedure_codes = np.array([codes.get(p, "") for p in procedure_ids], dtype=object)
    answers = 0
    first_answer = int(
        connection.execute("SELECT coalesce(max(id), 0) + 1 FROM answer").fetchone()[0]
    )
    chunks = answer_chunks(
        questionnaire, ids, desk_index, len(frame), procedure_codes, rng, first_id=first_answer
    )
    for chunk in chunks:
        copy_frame(connection, "answer", chunk)
        answers += len(chunk)
    return {"valid": int((status == "valid").sum()), "answers": answers}


def answer_chunks(
    questionnaire, response_ids, desk_index, desks, procedure_codes, rng, *, first_id: int
):
    """The answers, response by response in the questionnaire's order, as data frames of
    about ``ROWS_PER_COPY`` rows.

    Likert answers come from a latent score 4.1 (policy 3.85) + desk effect + desk-by-
    dimension effect + respondent effect + noise, rounded into 1..5, as the demo draws
    them; "not applicable" is chosen by 8 % where the scale offers it; optional items are
    left blank by 12 % (policy items 25 %); other choices have fixed random shares.
    """
    items = questionnaire.items()
    dimensions = sorted({item.dimension or item.part or "" for item in items})
    desk_effect = rng.normal(0, 0.35, desks)
    desk_dimension = rng.normal(0, 0.2, (desks, len(dimensions)))
    per_chunk = max(1, ROWS_PER_COPY // len(items))
    next_id = first_id
    for start in range(0, len(response_ids), per_chunk):
        ids = response_ids[start : start + per_chunk]
        desk = desk_index[start : start + per_chunk]
        m = len(ids)
        person = rng.normal(0, 0.6, m)
        numbers = np.full((m, len(items)), -1, dtype=np.int64)
        texts = np.full((m, len(items)), None, dtype=object)
        for position, item in enumerate(items):
            scale = item.scale
            if scale.kind == "procedure":
                texts[:, position] = np.where(
                    procedure_codes[start : start + m] == "",
                    None,
                    procedure_codes[start : start + m],
                )
                continue
            if scale.kind == "text":
                given = rng.random(m) < TEXT_SHARE
                texts[given, position] = "Cần thêm ghế ngồi chờ."
                continue
            if scale.kind == "likert5":
                column = dimensions.index(item.dimension or item.part or "")
                base = 3.85 if item.part == "policy" else 4.1
                latent = base + desk_effect[desk] + desk_dimension[desk, column] + person
                values = np.clip(np.rint(latent + rng.normal(0, 0.7, m)), 1, 5).astype(np.int64)
                if scale.not_applicable is not None:
                    values[rng.random(m) < NOT_APPLICABLE_SHARE] = scale.not_applicable
            else:
                options = np.array(scale.values)
                values = options[
                    rng.choice(len(options), size=m, p=rng.dirichlet(np.full(len(options), 2.0)))
                ]
            if not item.required:
                values[rng.random(m) < (0.25 if item.part == "policy" else 0.12)] = -1
            numbers[:, position] = values
        present = (numbers >= 0) | (texts != None)  # noqa: E711 -- elementwise
        rows, positions = np.nonzero(present)
        value_num = numbers[rows, positions]
        chunk = pd.DataFrame(
            {
                "id": np.arange(next_id, next_id + len(rows)),
                "response_id": ids[rows],
                "item_code": np.array([item.code for item in items], dtype=object)[positions],
                "value_num": pd.array(np.where(value_num >= 0, value_num, None), "Int64"),
                "value_text": texts[rows, positions],
            }
        )
        next_id += len(rows)
        yield chunk


# --- timing the app ----------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One app process: its wall seconds, peak resident memory (bytes) and CPU seconds
    (its own, not the database's)."""

    what: str
    seconds: float
    peak: int
    cpu: float


#: Runs a command and prints its wall seconds, peak RSS (KB) and CPU seconds: run from
#: this small process, the command's peak is its own, not that of the benchmark it was
#: forked from.
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "seconds = time.perf_counter() - started\n"
    "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(seconds, use.ru_maxrss, use.ru_utime + use.ru_stime, code)\n"
)


def run_measured(what: str, env: dict[str, str], *args: str) -> Run:
    """``flask --app survey ARGS`` as a real process; its seconds and peak RSS."""
    command = [sys.executable, "-m", "flask", "--app", "survey", *args]
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if proc.returncode != 0 or proc.stdout.split()[-1:] != ["0"]:
        sys.exit(f"{what} failed:\n{proc.stderr[-2000:]}")
    seconds, peak, cpu, _ = proc.stdout.split()
    return Run(what, float(seconds), int(peak) * 1024, float(cpu))


def shown(run: Run) -> str:
    return (
        f"{run.seconds:.1f} s (the process's own CPU {run.cpu:.1f} s), "
        f"peak memory {run.peak / 2**20:.0f} MB"
    )


def time_computations(env: dict[str, str], folder: Path, repeats: int) -> list[Run]:
    """``results compute`` for the whole wave, by province and by desk (JSON files): the
    three in turn, ``repeats`` times; the fastest run of each (a shared machine's other
    work only ever slows a run down)."""
    breakdowns = {"whole": [], "province": ["--by", "province"], "desk": ["--by", "desk"]}
    commands = {
        name: [
            "results",
            "compute",
            "--wave",
            WAVE_CODE,
            *by,
            "--out",
            str(folder / f"{name}.json"),
        ]
        for name, by in breakdowns.items()
    }
    tried: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, args in commands.items():
            what = f"results compute {' '.join(args[4:-2]) or '(whole wave)'}"
            tried[name].append(run_measured(what, env, *args))
    fastest = []
    for runs in tried.values():
        best = min(runs, key=lambda run: run.seconds)
        spread = ", ".join(f"{run.seconds:.1f}" for run in runs)
        print(f"{best.what}: {shown(best)}; runs {spread} s", flush=True)
        fastest.append(best)
    return fastest


def time_exports(env: dict[str, str], database_url: str, folder: Path) -> list[Run]:
    """The CSV export by the command line, then streamed by gunicorn to a signed-in
    analyst of every province."""
    out = folder / "cli-export.csv"
    args = ["export", "responses", "--wave", WAVE_CODE, "--format", "csv", "--out", str(out)]
    runs = [run_measured("export responses --format csv", env, *args)]
    print(f"{runs[0].what}: {shown(runs[0])}", flush=True)
    rows = sum(1 for _ in out.open(encoding="utf-8")) - 1
    print(f"  {rows:,} rows, {out.stat().st_size / 1e6:.0f} MB", flush=True)
    make_analyst(database_url)
    runs.append(streamed_download(env, rows))
    return runs


def make_analyst(database_url: str) -> None:
    """An analyst of every province (the benchmark's login), unless already there."""
    from survey import create_app
    from survey.extensions import db
    from survey.models import Unit
    from survey.services.users import create_user, user_by_email

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url.replace(
        "postgresql://", "postgresql+psycopg://"), "SECRET_KEY": SECRET_KEY})  # fmt: skip
    with app.app_context():
        if user_by_email(ANALYST) is None:
            provinces = db.session.query(Unit).filter_by(level="province").all()
            create_user(ANALYST, "analyst", provinces, password=ANALYST_PASSWORD)
            db.session.commit()


def streamed_download(env: dict[str, str], rows: int) -> Run:
    """Sign in through gunicorn (one worker) and download the wave's CSV from its page; the
    seconds from the request to the last byte, and the worker's peak RSS."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"{HOST}:{port}",
               "--log-level", "warning", "survey:create_app()"]  # fmt: skip
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            wait_listening(server, port)
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            base = f"http://{HOST}:{port}"
            page = opener.open(f"{base}/auth/login").read().decode()
            form = {**hidden_fields(page), "email": ANALYST, "password": ANALYST_PASSWORD}
            opener.open(f"{base}/auth/login", urlencode(form).encode()).read()
            started = time.perf_counter()
            received, lines = 0, 0
            with opener.open(f"{base}/workbench/waves/{WAVE_CODE}/export.csv") as response:
                while block := response.read(1 << 20):
                    received += len(block)
                    lines += block.count(b"\n")
            seconds = time.perf_counter() - started
            worker = worker_pid(server.pid)
            peak = peak_rss(worker)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.seek(0)
            problems = log.read().strip()
    run = Run("streamed download /workbench/waves/<wave>/export.csv", seconds, peak, 0.0)
    print(
        f"{run.what}: {seconds:.1f} s, {received / 1e6:.0f} MB, {lines - 1:,} rows"
        f"{'' if lines - 1 == rows else f' (EXPECTED {rows:,}: CUT)'}, "
        f"worker peak memory {peak / 2**20:.0f} MB",
        flush=True,
    )
    if problems:
        print("gunicorn log:\n  " + "\n  ".join(problems.splitlines()[-10:]))
    return run


def wait_listening(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("gunicorn exited before answering")
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=5).read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not answer within 60 s")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def peak_rss(pid: int) -> int:
    """The process's peak resident set (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def report(computations: list[Run], exports: list[Run]) -> None:
    total = sum(run.seconds for run in computations)
    peak = max(run.peak for run in [*computations, *exports])
    slowest = max(run.seconds for run in exports)

    def verdict(met: bool) -> str:
        return "met" if met else "MISSED"

    print(
        f"results compute, the three together: {total:.1f} s, the fastest run of each "
        f"(target < {TARGET_COMPUTE_SECONDS:.0f} s: {verdict(total < TARGET_COMPUTE_SECONDS)}); "
        f"their own CPU {sum(run.cpu for run in computations):.1f} s, the rest is PostgreSQL's"
    )
    print(
        f"CSV export, slowest of the two: {slowest:.1f} s "
        f"(target < {TARGET_EXPORT_SECONDS:.0f} s: {verdict(slowest < TARGET_EXPORT_SECONDS)})"
    )
    print(
        f"peak memory of an app process: {peak / 2**20:.0f} MB "
        f"(target < 1 GB: {verdict(peak < TARGET_MEMORY)})"
    )
    print(f"machine load while it ran: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


# --- R's survey on the exported CSV ----------------------------------------------------

R_SCRIPT = textwrap.dedent(
    """
    suppressMessages(library(survey))
    args <- commandArgs(trailingOnly = TRUE)
    t0 <- proc.time()[["elapsed"]]
    text <- c("desk", "stratum", "psu", "province", "commune", "procedure", "channel")
    d <- read.csv(args[1], check.names = FALSE,
                  colClasses = setNames(rep("character", length(text)), text))
    t1 <- proc.time()[["elapsed"]]
    %(definitions)s
    for (i in seq_along(codes)) {
      d[[paste0("s", i)]] <- as.numeric(d[[codes[i]]] %%in%% satisfied[[i]])
      d[[paste0("n", i)]] <- as.numeric(!is.na(d[[codes[i]]]))
    }
    des <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight, data = d)
    exprs <- lapply(composites, function(e) parse(text = e)[[1]])
    totals <- as.formula(paste("~", paste(c(paste0("s", used), paste0("n", used)), collapse = "+")))
    index <- function(des) {
      out <- list()
      for (i in seq_along(codes)) {
        sub <- des[!is.na(des$variables[[codes[i]]]), ]
        m <- svymean(as.formula(paste0("~s", i)), sub)
        out[[codes[i]]] <- c(coef(m), SE(m))
      }
      con <- svycontrast(svytotal(totals, des), exprs)
      for (v in names(exprs)) out[[v]] <- c(coef(con)[[v]], SE(con)[[v]])
      out
    }
    national <- index(des)
    provinces <- sort(unique(d$province))
    by_province <- lapply(provinces, function(p) index(subset(des, province == p)))
    t2 <- proc.time()[["elapsed"]]
    cat("READ", t1 - t0, "\\n")
    cat("COMPUTE", t2 - t1, "\\n")
    for (v in names(national)) cat("EST", "-", v, sprintf("%%.17g", national[[v]]), "\\n")
    for (k in seq_along(provinces)) for (v in names(by_province[[k]]))
      cat("EST", provinces[k], v, sprintf("%%.17g", by_province[[k]][[v]]), "\\n")
    """
)


def r_definitions(database_url: str) -> str:
    """The R vectors of the index: item codes, satisfied sets, composites as expressions
    of the item totals (``s<i>/n<i>``)."""
    from survey.questionnaire import parse_questionnaire
    from survey.services.wave_sums import index_structure

    with connect(database_url) as connection:
        definition = connection.execute(
            "SELECT q.definition FROM questionnaire_version q JOIN wave w "
            "ON w.questionnaire_id = q.id WHERE w.code = %s",
            [WAVE_CODE],
        ).fetchone()[0]
    questionnaire = parse_questionnaire(definition)
    structure = index_structure(questionnaire)
    codes = [code for items in structure.dimensions.values() for code in items]
    codes += structure.overall_items
    position = {code: i + 1 for i, code in enumerate(codes)}

    def mean(terms: list[str]) -> str:
        return f"({' + '.join(terms)}) / {len(terms)}"

    dimension = {
        name: mean([f"s{position[c]}/n{position[c]}" for c in items])
        for name, items in structure.dimensions.items()
    }
    parts = {**structure.parts, **structure.other_parts}
    part = {name: mean([f"({dimension[d]})" for d in members]) for name, members in parts.items()}
    headline = [f"({part[name]})" for name in structure.parts] or [
        f"({e})" for e in dimension.values()
    ]
    composites = {**dimension, **part, "overall": mean(headline)}
    used = sorted({position[c] for items in structure.dimensions.values() for c in items})

    def vector(values) -> str:
        return f"c({', '.join(values)})"

    satisfied = [
        vector(str(v) for v in sorted(questionnaire.item(code).scale.satisfied)) for code in codes
    ]
    lines = [
        f"codes <- {vector(json.dumps(c) for c in codes)}",
        f"satisfied <- list({', '.join(satisfied)})",
        f"used <- {vector(str(i) for i in used)}",
        "composites <- list("
        + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in composites.items())
        + ")",
    ]
    return "\n".join(lines)


def compare_with_r(
    database_url: str, folder: Path, computations: list[Run], timeout: float
) -> None:
    """R's survey on the exported CSV: the whole wave's table and each province's."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("R: Rscript not found; no comparison")
        return
    definitions = r_definitions(database_url)
    csv_path = folder / "cli-export.csv"
    script = folder / "index.R"
    script.write_text(R_SCRIPT % {"definitions": definitions.replace("\n", "\n    ")})
    print("R survey: computing the same table, whole wave and by province ...", flush=True)
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [rscript, str(script), str(csv_path)], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        ours = computations[0].seconds + computations[1].seconds
        print(f"R: stopped after {timeout:.0f} s; ratio at least {timeout / ours:.0f}x")
        return
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(f"R failed: {proc.stderr.strip().splitlines()[-1:]}")
        return
    theirs: dict[tuple[str, str], tuple[float, float]] = {}
    times = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[:1] in (["READ"], ["COMPUTE"]):
            times[parts[0]] = float(parts[1])
        elif parts[:1] == ["EST"]:
            theirs[(parts[1], parts[2])] = (float(parts[3]), float(parts[4]))
    ours = our_numbers(folder)
    same = [key for key in theirs if key in ours]
    difference = largest_difference(
        {f"{k}": ours[k] for k in same}, {f"{k}": theirs[k] for k in same}
    )
    mine = computations[0].seconds + computations[1].seconds
    print(
        f"R survey: {times['COMPUTE']:.1f} s computing (reading the CSV {times['READ']:.1f} s "
        f"more; Rscript {wall:.1f} s in all) for {len(theirs):,} estimates"
    )
    print(
        f"ratio: R's computing / our two commands (whole + --by province, {mine:.1f} s, "
        f"start-up included) = {times['COMPUTE'] / mine:.1f}x; the whole Rscript run "
        f"{wall / mine:.1f}x"
    )
    print(
        f"largest relative difference from R over {len(same):,} estimates and SEs: {difference:.1e}"
    )


def our_numbers(folder: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(province or "-", variable) to (estimate, se), from our JSON results."""
    found = {}
    for name in ("whole", "province"):
        for row in json.loads((folder / f"{name}.json").read_text()):
            where = (row["domain"] or {}).get("province", "-")
            if row["estimate"] is not None:
                found[(where, row["variable"])] = (row["estimate"], row["se"])
    return found


if __name__ == "__main__":
    sys.exit(main())
