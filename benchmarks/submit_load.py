"""Citizen submissions under load: gunicorn on PostgreSQL, many concurrent phones.

What it does, all on 127.0.0.1:

1. starts the local PostgreSQL cluster (or uses ``SIPAS_BENCH_DATABASE_URL``),
   makes a fresh database, runs ``flask db upgrade`` and ``flask demo``;
2. starts the app under gunicorn;
3. runs ``--clients`` concurrent clients for ``--seconds``: each GETs a desk's
   form once (session cookie, CSRF token, issued UUID), then POSTs complete,
   valid, distinct answers again and again, each with a fresh UUID;
4. prints accepted submissions per second, p50/p99 latency and errors, and
   checks that every acknowledged submission (303 to the thank-you page) is
   stored, with its answers. Exit status 1 if any is lost or a target is missed
   with ``--strict``.

The per-address rate limit is raised for the run: every client here comes from
127.0.0.1, whereas in a real centre each phone has its own address (or a
shared Wi-Fi address far below the limit). The per-desk limit is raised too,
since a handful of demo desks take hundreds of submissions a second. The
limiter itself stays on, so its cost is measured.

The clients send their next response as soon as the last is answered (a
closed loop), so the figures are the server's capacity, and the latency is
mostly queueing: by Little's law, mean latency = clients / throughput. With
the default 32 clients, 300 submissions a second means about 107 ms.

Usage::

    python benchmarks/submit_load.py [--seconds 20] [--clients 32] [--workers N]

The load generator is a small HTTP/1.1 client on asyncio streams, so that it
takes as little of the machine's two cores as possible from the server.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BENCH_USER = "sipas_bench"
BENCH_PASSWORD = "sipas-bench"
BENCH_DATABASE = "sipas_bench"
SECRET_KEY = "benchmark-secret-key-not-for-production"
TARGET_RATE = 300.0
TARGET_P99_MS = 250.0
REQUEST_TIMEOUT = 10.0
MAX_SUBMISSIONS = 200_000  # hard cap, whatever --seconds says

INPUT_RE = re.compile(r"<input\b[^>]*>", re.I)
ATTR_RE = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')


def main() -> int:
    args = parse_args()
    database_url = os.environ.get("SIPAS_BENCH_DATABASE_URL") or local_database()
    env = server_environment(database_url, limits=args.limits)
    flask(env, "db", "upgrade")
    flask(env, "demo", "--responses", str(args.demo_responses))
    desks = desk_forms(database_url, f"http://{HOST}:{args.port}")
    print(f"{len(desks)} desks; questionnaire {desks[0].questionnaire.code}", flush=True)
    before = stored_uuids(database_url)
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    print(f"load generator: {'wrk' if use_wrk else 'python asyncio'}", flush=True)
    with gunicorn(env, args.port, args.workers, args.worker_class, args.threads) as server:
        if use_wrk:
            result = wrk_load(desks, args, server.pid)
        else:
            result = asyncio.run(load(desks, args, server.pid))
    return report(result, database_url, before, args)


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 2
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="posting time (default 20)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument(
        "--workers", type=int, default=cores + 1, help="gunicorn workers (default cores + 1)"
    )
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--limits",
        choices=("raised", "off"),
        default="raised",
        help="rate limits raised far above the load (default: the limiter still runs) or off",
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk (C, Debian package 'wrk'; the default where installed, "
        "so that the generator takes little of the cores the server needs) or this "
        "script's own asyncio client",
    )
    parser.add_argument("--port", type=int, default=free_port())
    parser.add_argument("--demo-responses", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--strict", action="store_true", help="also exit 1 if a throughput/latency target is missed"
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= 600 or not 0 < args.clients <= 1000:
        parser.error("--seconds must be in (0, 600] and --clients in [1, 1000]")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- database and server -------------------------------------------------------


def local_database(name: str = BENCH_DATABASE, *, keep: bool = False) -> str:
    """Start the local PostgreSQL cluster and make a fresh, empty benchmark database
    ``name`` (with ``keep``, an existing one is kept: a loaded wave is reused)."""
    if shutil.which("pg_lsclusters") is None:
        sys.exit(
            "PostgreSQL is not installed: apt-get install postgresql, or set "
            "SIPAS_BENCH_DATABASE_URL"
        )
    line = subprocess.run(
        ["pg_lsclusters", "-h"], check=True, capture_output=True, text=True
    ).stdout.splitlines()[0]
    version, cluster, port, status = line.split()[:4]
    if not status.startswith("online"):
        subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=True)
    psql = ["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1"]
    psql += ["-p", port, "-d", "postgres"]

    def query(sql: str) -> str:
        return subprocess.run(
            [*psql, "-tAc", sql], check=True, capture_output=True, text=True
        ).stdout.strip()

    role = query(f"SELECT 1 FROM pg_roles WHERE rolname = '{BENCH_USER}'")
    query(f"{'ALTER' if role else 'CREATE'} ROLE {BENCH_USER} LOGIN PASSWORD '{BENCH_PASSWORD}'")
    exists = query(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if not (keep and exists):
        query(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        query(f"CREATE DATABASE {name} OWNER {BENCH_USER}")
    return f"postgresql://{BENCH_USER}:{BENCH_PASSWORD}@{HOST}:{port}/{name}"


def server_environment(database_url: str, *, limits: str) -> dict[str, str]:
    """The app's configuration: every client is 127.0.0.1, so the limits are raised or off."""
    env = dict(os.environ)
    env.update(
        SIPAS_DATABASE_URL=database_url,
        SIPAS_SECRET_KEY=SECRET_KEY,
        SIPAS_SUBMIT_LIMIT_PER_ADDRESS="1000000 per minute",
        SIPAS_SUBMIT_LIMIT_PER_DESK="1000000 per minute",
        SIPAS_RATELIMIT_ENABLED="true" if limits == "raised" else "false",
        PYTHONUNBUFFERED="1",
    )
    return env


def flask(env: dict[str, str], *args: str) -> None:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "survey", *args],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"flask {' '.join(args)}: {time.perf_counter() - started:.1f} s", flush=True)


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, worker_class: str, threads: int):
    """Run the app under gunicorn for the length of a ``with`` block."""
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}",
        "--workers", str(workers), "--worker-class", worker_class,
        "--threads", str(threads), "--preload", "--log-level", "warning",
        "survey:create_app()",
    ]  # fmt: skip
    print(
        f"gunicorn: {workers} {worker_class} workers x {threads} threads; "
        f"rate limiting enabled: {env['SIPAS_RATELIMIT_ENABLED']}",
        flush=True,
    )
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            wait_listening(process, port)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.seek(0)
            lines = [line.rstrip() for line in log if line.strip()]
            if lines:
                print("gunicorn log (last lines):\n  " + "\n  ".join(lines[-15:]))


def wait_listening(process: subprocess.Popen, port: int) -> None:
    """Wait until gunicorn answers HTTP (its workers have booted)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited before answering (its log follows)")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


# --- what to post --------------------------------------------------------------


@dataclass
class DeskForm:
    url: str
    questionnaire: object
    procedures: list[str]


def desk_forms(database_url: str, base_url: str) -> list[DeskForm]:
    """Each active desk of the open wave: its signed URL, questionnaire and procedures."""
    from sqlalchemy import select

    from survey import create_app
    from survey.extensions import db
    from survey.models import ServicePoint, Wave
    from survey.questionnaire import parse_questionnaire
    from survey.services.qrcodes import survey_url

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY, "TESTING": True}
    )
    with app.app_context(), app.test_request_context(base_url=base_url):
        wave = db.session.scalars(select(Wave).where(Wave.status == "open")).first()
        if wave is None:
            raise SystemExit("the demo data has no open wave")
        questionnaire = parse_questionnaire(wave.questionnaire.definition, source=wave.code)
        points = db.session.scalars(
            select(ServicePoint).where(ServicePoint.active).order_by(ServicePoint.code)
        ).all()
        desks = [
            DeskForm(
                survey_url(point, base_url=base_url),
                questionnaire,
                [procedure.code for procedure in point.procedures],
            )
            for point in points
        ]
        db.session.remove()
    return desks


def random_answers(
    desk: DeskForm, rng: random.Random, *, always_comment: bool = False
) -> dict[str, str]:
    """A complete, valid answer set that follows the skip logic."""
    answers: dict[str, object] = {}
    for item in desk.questionnaire.items():
        if item.show_if is not None:
            target, values = item.show_if
            if answers.get(target) not in values:
                continue
        kind = item.scale.kind
        if kind == "procedure":
            if desk.procedures:
                answers[item.code] = rng.choice(desk.procedures)
        elif kind == "text":
            if always_comment or rng.random() < 0.2:
                answers[item.code] = f"Góp ý {rng.randrange(10**6)}: nhanh hơn, rõ ràng hơn."
        elif kind == "multi":
            chosen = rng.sample(item.scale.values, k=min(2, len(item.scale.values)))
            answers[item.code] = chosen
        elif item.scale.values:
            answers[item.code] = rng.choice(item.scale.values)
    return answers


def form_body(answers: dict[str, object], hidden: dict[str, str], response_uuid: str) -> bytes:
    """The form as a browser sends it: its hidden fields, a fresh UUID, the answers."""
    pairs = [(name, value) for name, value in hidden.items() if name != "response_uuid"]
    pairs.append(("response_uuid", response_uuid))
    for code, value in answers.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((code, str(one)))
    return urlencode(pairs).encode()


# --- the load generator ----------------------------------------------------------


@dataclass
class Result:
    seconds: float = 0.0
    started: float = 0.0
    deadline: float = float("inf")
    acknowledged: set[str] = field(default_factory=set)
    unacknowledged: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    answers_sent: int = 0
    cpu_before: dict[str, float] = field(default_factory=dict)
    cpu_after: dict[str, float] = field(default_factory=dict)
    #: (p50, p99) in ms where the generator reports them itself (wrk).
    latency_percentiles: tuple[float, float] | None = None

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Phone:
    """One citizen's browser: a cookie jar and HTTP/1.1 over a fresh connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    async def request(
        self, method: str, url: str, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", "Connection: close"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method == "POST":
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
                f"Origin: http://{HOST}:{self.port}",
                f"Referer: {url}",
            ]
        reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            raw = await reader.read()
        finally:
            writer.close()
        head, _, content = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.strip().partition("=")
                self.cookies[cookie_name] = rest.split(";", 1)[0]
            headers[name.lower()] = value.strip()
        return int(status_line.split()[1]), headers, content


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in INPUT_RE.findall(html):
        attrs = dict(ATTR_RE.findall(tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    return fields


async def client(number: int, desks, args, result: Result, start: asyncio.Event, ready) -> None:
    rng = random.Random(args.seed * 100_003 + number)
    desk = desks[number % len(desks)]
    phone = Phone(args.port)
    try:
        status, _, page = await asyncio.wait_for(phone.request("GET", desk.url), 60)
    except (OSError, TimeoutError) as error:
        result.error(f"GET {type(error).__name__}")
        ready()
        return
    hidden = hidden_fields(page.decode("utf-8", "replace"))
    if status != 200 or not {"csrf_token", "response_uuid"} <= hidden.keys():
        result.error(f"GET status {status} or form without csrf_token/response_uuid")
        ready()
        return
    ready()
    await start.wait()
    while time.monotonic() < result.deadline and len(result.latencies) < MAX_SUBMISSIONS:
        response_uuid = str(uuid.uuid4())
        answers = random_answers(desk, rng)
        body = form_body(answers, hidden, response_uuid)
        sent = time.perf_counter()
        try:
            status, headers, _ = await asyncio.wait_for(
                phone.request("POST", desk.url, body), REQUEST_TIMEOUT
            )
        except (OSError, TimeoutError) as error:
            result.unacknowledged.add(response_uuid)
            result.error(f"POST {type(error).__name__}")
            continue
        result.latencies.append(time.perf_counter() - sent)
        if status == 303 and f"/thanks/{response_uuid}" in headers.get("location", ""):
            result.acknowledged.add(response_uuid)
            result.answers_sent += sum(
                len(v) if isinstance(v, list) else 1 for v in answers.values()
            )
        else:
            result.unacknowledged.add(response_uuid)
            result.error(f"POST status {status}")


async def load(desks: list[DeskForm], args, server_pid: int) -> Result:
    result = Result()
    start = asyncio.Event()
    waiting = args.clients

    def ready() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            result.deadline = time.monotonic() + args.seconds
            result.started = time.perf_counter()
            result.cpu_before = cpu_snapshot(server_pid)
            start.set()

    tasks = [
        asyncio.create_task(client(n, desks, args, result, start, ready))
        for n in range(args.clients)
    ]
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - result.started
    result.cpu_after = cpu_snapshot(server_pid)
    return result


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the app (gunicorn and workers), PostgreSQL, and this script.

    Read from /proc, so that the cost of one submission can be told apart from
    whatever else the machine is doing. Empty where /proc is not there.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    totals = {"app": 0.0, "postgres": 0.0}
    wrk_seconds = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid = int(stat.parent.name)
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if pid == server_pid or int(fields[1]) == server_pid:
            totals["app"] += seconds
        elif name.startswith("postgres"):
            totals["postgres"] += seconds
        elif name == "wrk":
            wrk_seconds += seconds
    own = resource.getrusage(resource.RUSAGE_SELF)
    # wrk, once it has exited and been waited for (the flask commands run before
    # the load count in both snapshots, so they cancel out).
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals["load generator"] = (
        own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + wrk_seconds
    )
    return totals


# --- wrk as the load generator -------------------------------------------------

WRK_SCRIPT = r"""
-- Posts the prepared forms in turn, each with a fresh UUID, and writes the
-- UUID of every acknowledged submission (303 to /thanks/<uuid>) to a file.
local forms = dofile(os.getenv("SIPAS_WRK_FORMS"))
local threads = {}
local counter, out = 0, nil

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + id * 7919)
  out = io.open(os.getenv("SIPAS_WRK_ACKS") .. "." .. id, "w")
end

local function new_uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

function request()
  counter = counter + 1
  local form = forms[(counter % #forms) + 1]
  local body = string.gsub(form.body, "UUIDPLACEHOLDER", new_uuid())
  return wrk.format("POST", form.path, form.headers, body)
end

function response(status, headers, body)
  local location = headers["Location"] or ""
  local acked = string.match(location, "/thanks/([0-9a-f%-]+)")
  if status == 303 and acked then
    out:write(acked, "\n")
  else
    out:write("!", status, "\n")
  end
  out:flush()
end

function done(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %d\n", latency:percentile(50),
    latency:percentile(99), summary.duration, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.requests))
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_forms(desks: list[DeskForm], args) -> tuple[str, int]:
    """Lua table of prepared POSTs (a session and form per desk, several answer
    sets each), and the number of answer rows every one of them stores."""
    rng = random.Random(args.seed)
    entries, per_form = [], set()
    for desk in desks:
        phone = Phone(args.port)
        status, _, page = asyncio.run(phone.request("GET", desk.url))
        hidden = hidden_fields(page.decode("utf-8", "replace"))
        if status != 200 or "csrf_token" not in hidden:
            raise SystemExit(f"GET {desk.url}: status {status}, no form")
        cookie = "; ".join(f"{k}={v}" for k, v in phone.cookies.items())
        path = urlsplit(desk.url).path
        for _ in range(20):
            answers = random_answers(desk, rng, always_comment=True)
            per_form.add(sum(len(v) if isinstance(v, list) else 1 for v in answers.values()))
            body = form_body(answers, hidden, "UUIDPLACEHOLDER").decode()
            headers = (
                f'{{["Content-Type"]="application/x-www-form-urlencoded", '
                f'["Cookie"]={lua_string(cookie)}, ["Connection"]="close"}}'
            )
            entries.append(
                f"{{path={lua_string(path)}, headers={headers}, body={lua_string(body)}}}"
            )
    if len(per_form) != 1:
        raise SystemExit("prepared forms store different numbers of answers")
    return "return {\n" + ",\n".join(entries) + "\n}\n", per_form.pop()


def wrk_load(desks: list[DeskForm], args, server_pid: int) -> Result:
    """Run wrk against the server; read back the acknowledged UUIDs it wrote."""
    result = Result()
    forms, answers_per_form = wrk_forms(desks, args)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "forms.lua").write_text(forms, encoding="utf-8")
        (work / "post.lua").write_text(WRK_SCRIPT, encoding="utf-8")
        env = {
            **os.environ,
            "SIPAS_WRK_FORMS": str(work / "forms.lua"),
            "SIPAS_WRK_ACKS": str(work / "acks"),
        }
        command = [
            "wrk", "--threads", "1", "--connections", str(args.clients),
            "--duration", f"{int(args.seconds)}s", "--timeout", f"{int(REQUEST_TIMEOUT)}s",
            "--script", str(work / "post.lua"), f"http://{HOST}:{args.port}/",
        ]  # fmt: skip
        result.cpu_before = cpu_snapshot(server_pid)
        started = time.perf_counter()
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=args.seconds + 60
        )
        result.seconds = time.perf_counter() - started
        result.cpu_after = cpu_snapshot(server_pid)
        summary = next(
            (line.split() for line in done.stdout.splitlines() if line.startswith("WRK ")), None
        )
        if done.returncode != 0 or summary is None:
            raise SystemExit(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
        p50_us, p99_us, duration_us, socket_errors, _requests = map(int, summary[1:])
        result.seconds = duration_us / 1e6
        result.latency_percentiles = (p50_us / 1000, p99_us / 1000)
        if socket_errors:
            result.errors["socket"] = socket_errors
        for acks in work.glob("acks.*"):
            for line in acks.read_text().split():
                if line.startswith("!"):
                    result.error(f"POST status {line[1:]}")
                else:
                    result.acknowledged.add(line)
    result.answers_sent = len(result.acknowledged) * answers_per_form
    return result


# --- the report ------------------------------------------------------------------


def stored_uuids(database_url: str) -> set[str]:
    from sqlalchemy import create_engine, text

    from survey.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    with engine.connect() as connection:
        found = set(connection.scalars(text("SELECT uuid FROM response")))
    engine.dispose()
    return found


def stored_answer_count(database_url: str, uuids: set[str]) -> int:
    from sqlalchemy import bindparam, create_engine, text

    from survey.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    query = text(
        "SELECT count(*) FROM answer JOIN response ON response.id = answer.response_id "
        "WHERE response.uuid IN :uuids"
    ).bindparams(bindparam("uuids", expanding=True))
    total = 0
    chunk = sorted(uuids)
    with engine.connect() as connection:
        for i in range(0, len(chunk), 5000):
            total += connection.scalar(query, {"uuids": chunk[i : i + 5000]})
    engine.dispose()
    return total


def report(result: Result, database_url: str, before: set[str], args) -> int:
    new = stored_uuids(database_url) - before
    lost = result.acknowledged - new
    extra = new - result.acknowledged
    answers = stored_answer_count(database_url, result.acknowledged & new)
    rate = len(result.acknowledged) / result.seconds if result.seconds else 0.0
    if result.latency_percentiles:
        p50, p99 = result.latency_percentiles
    else:
        latencies = sorted(result.latencies) or [0.0]
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
    print()
    print(f"clients                 {args.clients}")
    print(f"posting time            {result.seconds:.1f} s")
    print(f"submissions sent        {len(result.acknowledged) + len(result.unacknowledged)}")
    print(f"acknowledged (303)      {len(result.acknowledged)}")
    print(f"accepted per second     {rate:.0f}   (target >= {TARGET_RATE:.0f})")
    print(f"latency p50             {p50:.1f} ms")
    print(f"latency p99             {p99:.1f} ms   (target < {TARGET_P99_MS:.0f})")
    print(f"errors                  {sum(result.errors.values())} {result.errors or ''}")
    accepted = max(len(result.acknowledged), 1)
    for name, after in result.cpu_after.items():
        used = after - result.cpu_before.get(name, 0.0)
        print(f"CPU {name:<20}{used:6.1f} s = {used / accepted * 1000:5.2f} ms per submission")
    print(f"responses stored        {len(new)}")
    print(f"answers stored/sent     {answers}/{result.answers_sent}")
    print(f"acknowledged, not found {len(lost)}")
    print(f"stored, not acknowledged {len(extra)}   (in flight when the generator stopped)")
    failed = bool(lost) or answers != result.answers_sent or not result.acknowledged
    if failed:
        print("FAIL: acknowledged submissions are missing or incomplete in the database")
    missed = rate < TARGET_RATE or p99 >= TARGET_P99_MS
    if missed:
        print("target missed" + (" (--strict: failing)" if args.strict else ""))
    return 1 if failed or (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
