"""Benchmark: typing paper forms. Keystrokes per answer on the entry screen, the server's
time per saved pass, and a spreadsheet of 10,000 forms imported.

What it does, all on 127.0.0.1:

1. starts the local PostgreSQL cluster (or uses ``SIPAS_BENCH_DATABASE_URL``), makes a
   fresh ``sipas_bench_paper`` database, runs ``flask db upgrade`` and ``flask demo
   --responses 0`` (units, desks with their procedures, the open desk wave);
2. issues forms through ``services.paper`` for a desk of province 01, registers their
   batches and makes three surveyors of the province (two type on the screen, one
   imports);
3. starts the app under gunicorn, as ``benchmarks/submit_load.py`` does;
4. keystrokes: Debian's Chromium (Playwright) signs in, then types one whole demo desk
   form with the keyboard only, as an experienced typist does: the serial as a hand
   scanner types it (its digits and Enter), one key per scale answer (the screen moves
   on by itself), ``-`` and ``/`` for no answer and not applicable, the procedure by
   the shortest start of its code that puts it first in the list of matches (or the
   arrow keys to it) and Enter, no comment (Enter), which sends the pass. Every key is
   counted; the pass is then read back from the database, answer by answer;
5. the server per saved pass: ``--passes`` forms typed twice over HTTP by two surveyors
   (the form the page sends, without JavaScript): a draft, the first pass, the second
   pass that agrees and settles the form into a response. Median and p95 in ms, one
   request at a time (latency, not throughput);
6. a spreadsheet of ``--import-forms`` forms (10,000) imported end to end by
   ``python -m flask --app survey paper import-pass --batch BATCH --typist EMAIL
   FILE.csv``, start-up included, its passes then counted in the database.

Prints the figures as a table. Usage::

    python benchmarks/paper_entry.py [--passes 200] [--import-forms 10000] [--seed 1]

Making the database needs root (it runs ``psql`` as ``postgres``), unless
``SIPAS_BENCH_DATABASE_URL`` is given.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode


def _sibling(name: str):
    """A script of this folder as a module (``benchmarks`` is no package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_submit_load = _sibling("submit_load")
HOST, BENCH_USER, BENCH_PASSWORD = (
    _submit_load.HOST,
    _submit_load.BENCH_USER,
    _submit_load.BENCH_PASSWORD,
)
free_port, hidden_fields, gunicorn = (
    _submit_load.free_port,
    _submit_load.hidden_fields,
    _submit_load.gunicorn,
)
flask, local_database = _submit_load.flask, _submit_load.local_database
server_environment = _submit_load.server_environment

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this checkout's survey/, as the app processes get it
    sys.path.insert(0, str(ROOT))
BENCH_DATABASE = "sipas_bench_paper"
SECRET_KEY = _submit_load.SECRET_KEY
CHROMIUM = "/usr/bin/chromium"
PROVINCE = "01"
PASSWORD = "Ruộng bậc thang mùa lúa chín 2026"
TYPISTS = ("an@bench.example.vn", "binh@bench.example.vn")
IMPORTER = "chi@bench.example.vn"
#: Shares of a paper's answers left blank ("-") and "not applicable" where offered.
NO_ANSWER_SHARE = 0.05
NOT_APPLICABLE_SHARE = 0.1


def main() -> int:
    args = parse_args()
    database_url = os.environ.get("SIPAS_BENCH_DATABASE_URL") or local_database(BENCH_DATABASE)
    env = app_environment(database_url)
    flask(env, "db", "upgrade")
    flask(env, "demo", "--responses", "0")
    desk = prepare(database_url, args)
    print(
        f"desk {desk.code}: {len(desk.items)} items, {len(desk.procedures)} procedures; "
        f"{len(desk.pass_serials)} forms to type twice, {len(desk.import_serials):,} to import",
        flush=True,
    )
    rows: list[tuple[str, str]] = []
    port = free_port()
    with gunicorn(env, port, args.workers, "sync", 1):
        base = f"http://{HOST}:{port}"
        typed, answers = type_in_browser(base, desk, random.Random(args.seed))
        check_typed(database_url, desk, answers)
        rows += keystroke_rows(typed)
        rows += pass_rows(time_passes(port, desk, random.Random(args.seed + 1)))
    rows += import_rows(time_import(env, database_url, desk, random.Random(args.seed + 2)))
    print_table(rows)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=200, help="forms typed twice (200)")
    parser.add_argument("--import-forms", type=int, default=10_000, help="rows (10,000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.passes <= 5000 or not 1 <= args.import_forms <= 100_000:
        parser.error("--passes must be in [1, 5000] and --import-forms in [1, 100000]")
    return args


# --- database and data ---------------------------------------------------------------


def app_environment(database_url: str) -> dict[str, str]:
    """submit_load's server, its limits raised; the typists sign in as often as they need."""
    return server_environment(database_url, limits="raised") | {
        "SIPAS_LOGIN_LIMIT": "1000 per minute",
        "SIPAS_LOGIN_LIMIT_PER_ACCOUNT": "1000 per minute",
        "PYTHONPATH": str(ROOT),
    }


@dataclass(frozen=True)
class Item:
    """One question as the typist meets it: code, scale kind, option values, N/A value."""

    code: str
    kind: str
    values: tuple[str, ...]
    not_applicable: str | None


@dataclass
class Desk:
    code: str
    items: list[Item]
    #: The desk's procedures in the list's order (by code): code, name, English name.
    procedures: list[tuple[str, str, str]]
    keystroke_batch: str = ""
    keystroke_serial: str = ""
    pass_batch: str = ""
    pass_serials: list[str] = field(default_factory=list)
    import_batch: str = ""
    import_serials: list[str] = field(default_factory=list)


def app_for(database_url: str):
    from survey import create_app
    from survey.config import normalise_database_url

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url), "SECRET_KEY": SECRET_KEY}
    )


def prepare(database_url: str, args: argparse.Namespace) -> Desk:
    """Forms, batches and surveyors, made through the app's services."""
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import ServicePoint, Unit
    from survey.services import paper
    from survey.services.demo import WAVE_CODE
    from survey.services.questionnaires import questionnaire_of
    from survey.services.users import create_user
    from survey.services.waves import wave_by_code

    with app_for(database_url).app_context():
        wave = wave_by_code(WAVE_CODE)
        province = db.session.scalar(select(Unit).where(Unit.code == PROVINCE))
        point = db.session.scalars(
            select(ServicePoint).where(ServicePoint.unit_id == province.id)
        ).first()
        questionnaire = questionnaire_of(wave.questionnaire)
        items = [
            Item(
                item.code,
                item.scale.kind,
                tuple(str(v) for v in item.scale.values),
                None if item.scale.not_applicable is None else str(item.scale.not_applicable),
            )
            for item in paper.entry_items(questionnaire)
        ]
        procedures = sorted((p.code, p.name, p.name_en) for p in point.procedures)
        desk = Desk(point.code, items, procedures)

        def issue(count: int) -> tuple[str, list[str]]:
            serials = []
            for start in range(0, count, paper.MAX_PRINT):
                size = min(paper.MAX_PRINT, count - start)
                forms = paper.issue_forms(wave, size, service_point=point, by=None)
                serials += [form.serial for form in forms]
            batch = paper.create_batch(
                wave, min(count, paper.MAX_BATCH), service_point=point, by=None
            )
            return batch.code, serials

        desk.keystroke_batch, (desk.keystroke_serial,) = issue(1)
        desk.pass_batch, desk.pass_serials = issue(args.passes)
        desk.import_batch, desk.import_serials = issue(args.import_forms)
        for email in (*TYPISTS, IMPORTER):
            create_user(email, "surveyor", [province], password=PASSWORD)
        db.session.commit()
    return desk


def paper_answers(desk: Desk, rng: random.Random) -> dict[str, str]:
    """One paper form's answers in entry codes: a procedure of the desk, an option of each
    scale (now and then no answer, or not applicable where offered), no comment."""
    answers = {}
    for item in desk.items:
        if item.kind == "procedure":
            answers[item.code] = rng.choice(desk.procedures)[0]
        elif item.kind == "text":
            answers[item.code] = ""
        elif rng.random() < NO_ANSWER_SHARE:
            answers[item.code] = "-"
        elif item.not_applicable is not None and rng.random() < NOT_APPLICABLE_SHARE:
            answers[item.code] = "/"
        elif item.kind == "multi":
            answers[item.code] = "".join(sorted(rng.sample(item.values, 2)))
        else:
            answers[item.code] = rng.choice([v for v in item.values if v != item.not_applicable])
    return answers


# --- 1. keystrokes in a real browser -----------------------------------------------------


@dataclass
class Keys:
    """The keyboard, counting every key it presses."""

    page: object
    count: int = 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)


@dataclass(frozen=True)
class Typed:
    serial_keys: int
    answer_keys: int
    answers: int
    seconds: float


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def procedure_keys(desk: Desk, code: str) -> tuple[str, int]:
    """The fewest keys that pick ``code``: a start of the code, then ArrowDown to it in the
    list of matches (codes that begin so come first, in code order, then names that
    contain it), then Enter. Returns the start and the ArrowDowns."""
    best = None
    for length in range(1, len(code) + 1):
        start = fold(code[:length])
        by_code = [p[0] for p in desk.procedures if fold(p[0]).startswith(start)]
        by_name = [
            p[0] for p in desk.procedures if p[0] not in by_code and start in fold(f"{p[1]} {p[2]}")
        ]
        matches = (by_code + by_name)[:8]
        if code in matches:
            downs = matches.index(code)
            if best is None or length + downs < len(best[0]) + best[1]:
                best = (code[:length], downs)
    return best


def type_in_browser(base: str, desk: Desk, rng: random.Random) -> tuple[Typed, dict[str, str]]:
    """Sign in, then type the whole form with the keyboard, every key counted."""
    from playwright.sync_api import sync_playwright

    answers = paper_answers(desk, rng)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(f"{base}/auth/login?lang=en")
            page.get_by_label("Email", exact=True).fill(TYPISTS[0])
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Sign in").click()
            page.goto(f"{base}/entry/batches/{desk.keystroke_batch}/type")
            started = time.perf_counter()
            keys = Keys(page)
            keys.type(desk.keystroke_serial)  # a hand scanner types the digits and Enter
            with page.expect_navigation():
                keys.press("Enter")
            serial_keys = keys.count
            type_answers(page, keys, desk, answers)
            seconds = time.perf_counter() - started
            flash = page.locator(".flash").inner_text()
            if "typed once" not in flash:
                sys.exit(f"the pass was not saved: {flash}")
        finally:
            browser.close()
    return Typed(serial_keys, keys.count - serial_keys, len(desk.items), seconds), answers


def type_answers(page, keys: Keys, desk: Desk, answers: dict[str, str]) -> None:
    for position, item in enumerate(desk.items):
        focused = page.evaluate("document.activeElement.id")
        if focused != f"f-{item.code}":
            sys.exit(f"{item.code}: the focus is on {focused}, not on the next field")
        value, last = answers[item.code], position == len(desk.items) - 1
        enter = True
        if item.kind == "procedure":
            start, downs = procedure_keys(desk, value)
            keys.type(start)
            for _ in range(downs):
                keys.press("ArrowDown")
        elif item.kind in ("text", "multi"):
            keys.type(value)
        else:
            keys.type(value)
            enter = any(v != value and v.startswith(value) for v in item.values)
        if enter and last:
            with page.expect_navigation():
                keys.press("Enter")
        elif enter:
            keys.press("Enter")


def check_typed(database_url: str, desk: Desk, answers: dict[str, str]) -> None:
    """The stored pass holds every answer as it was typed."""
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import PaperForm
    from survey.questionnaire import parse_questionnaire
    from survey.services import paper

    with app_for(database_url).app_context():
        form = db.session.scalar(select(PaperForm).where(PaperForm.serial == desk.keystroke_serial))
        questionnaire = parse_questionnaire(form.wave.questionnaire.definition)
        values, errors = paper.parse_typed(
            questionnaire, answers, [code for code, *_ in desk.procedures]
        )
        stored = form.passes[0].answers
        wrong = [code for code in values if stored.get(code) != values[code]]
        if errors or wrong:
            sys.exit(f"the stored pass differs from the paper: {errors or wrong}")


def keystroke_rows(typed: Typed) -> list[tuple[str, str]]:
    total = typed.serial_keys + typed.answer_keys
    return [
        ("keystrokes: serial (scanner: digits + Enter)", f"{typed.serial_keys}"),
        (f"keystrokes: {typed.answers} answers (last Enter sends)", f"{typed.answer_keys}"),
        ("keystrokes per answered item", f"{typed.answer_keys / typed.answers:.2f}"),
        ("keystrokes per answered item, serial included", f"{total / typed.answers:.2f}"),
        ("seconds Playwright took to type the form", f"{typed.seconds:.1f}"),
    ]


# --- 2. the server per saved pass ----------------------------------------------------------


class Client:
    """A signed-in back-office user on one keep-alive connection; follows no redirect."""

    def __init__(self, port: int, email: str) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies: dict[str, str] = {}
        page = self.request("GET", "/auth/login?lang=en")[1]
        form = {**hidden_fields(page), "email": email, "password": PASSWORD}
        status, _ = self.request("POST", "/auth/login", urlencode(form))
        if status != 302:
            sys.exit(f"{email} could not sign in ({status})")

    def request(self, method: str, path: str, body: str | None = None, **headers: str):
        headers = {key.replace("_", "-"): value for key, value in headers.items()}
        if body is not None and "Content-Type" not in headers:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response.status, text

    def timed(self, method: str, path: str, body: str, expected: int, **headers: str) -> float:
        started = time.perf_counter()
        status, text = self.request(method, path, body, **headers)
        elapsed = (time.perf_counter() - started) * 1000
        if status != expected:
            sys.exit(f"{method} {path}: {status}, expected {expected}\n{text[:500]}")
        return elapsed


def time_passes(port: int, desk: Desk, rng: random.Random) -> dict[str, list[float]]:
    """Each form: a draft and the first pass by one surveyor, the second by another."""
    import json

    first, second = Client(port, TYPISTS[0]), Client(port, TYPISTS[1])
    token = hidden_fields(first.request("GET", f"/entry/batches/{desk.pass_batch}/type")[1])
    other = hidden_fields(second.request("GET", f"/entry/batches/{desk.pass_batch}/type")[1])
    times: dict[str, list[float]] = {"draft": [], "first pass": [], "second pass": []}
    for serial in desk.pass_serials:
        path = f"/entry/batches/{desk.pass_batch}/forms/{serial}"
        answers = paper_answers(desk, rng)
        half = dict(list(answers.items())[: len(answers) // 2])
        times["draft"].append(
            first.timed(
                "POST",
                path + "/draft",
                json.dumps(half),
                200,
                Content_Type="application/json",
                Accept="application/json",
                X_CSRFToken=token.get("csrf_token", ""),
            )  # fmt: skip
        )
        body = {**token, **answers, "action": "complete"}
        times["first pass"].append(first.timed("POST", path, urlencode(body), 302))
        body = {**other, **answers, "action": "complete"}
        times["second pass"].append(second.timed("POST", path, urlencode(body), 302))
    return times


def pass_rows(times: dict[str, list[float]]) -> list[tuple[str, str]]:
    rows = []
    for what, values in times.items():
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        label = {
            "draft": "draft saved (JSON, half the form)",
            "first pass": "first pass saved (typed once)",
            "second pass": "second pass saved (agrees: settled, one response)",
        }[what]
        rows.append(
            (
                f"server ms per {label}",
                f"median {statistics.median(values):.1f}, p95 {p95:.1f} (n={len(values)})",
            )
        )
    return rows


# --- 3. a spreadsheet of 10,000 forms -------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    seconds: float
    rows: int
    passes: int
    status: str


def time_import(env: dict[str, str], database_url: str, desk: Desk, rng) -> Imported:
    """``flask paper import-pass`` on a CSV of the import batch's forms, end to end."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "passes.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["serial", *(item.code for item in desk.items)])
            for serial in desk.import_serials:
                answers = paper_answers(desk, rng)
                row = ["" if answers[i.code] == "-" else answers[i.code] for i in desk.items]
                writer.writerow([serial, *row])
        command = [sys.executable, "-m", "flask", "--app", "survey", "paper", "import-pass"]
        command += ["--batch", desk.import_batch, "--typist", IMPORTER, str(path)]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if "No such command" in done.stderr:
        return Imported(seconds, len(desk.import_serials), 0, "import-pass is not there yet")
    if done.returncode != 0:
        return Imported(seconds, len(desk.import_serials), 0, f"failed: {done.stderr[-300:]}")
    return Imported(seconds, len(desk.import_serials), imported_passes(database_url), "ok")


def imported_passes(database_url: str) -> int:
    from sqlalchemy import func, select

    from survey.extensions import db
    from survey.models import PaperPass, User

    with app_for(database_url).app_context():
        return db.session.scalar(
            select(func.count(PaperPass.id))
            .join(User, User.id == PaperPass.typist_id)
            .where(User.email == IMPORTER, PaperPass.completed_at.is_not(None))
        )


def import_rows(imported: Imported) -> list[tuple[str, str]]:
    label = f"import-pass, CSV of {imported.rows:,} forms, end to end"
    if imported.status != "ok":
        return [(label, imported.status)]
    if imported.passes != imported.rows:
        sys.exit(f"the import stored {imported.passes} passes for {imported.rows} rows")
    per_form = imported.seconds / imported.rows * 1000
    return [(label, f"{imported.seconds:.1f} s ({per_form:.2f} ms a form, start-up included)")]


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(what) for what, _ in rows)
    print()
    print(f"{'measure':<{width}}  figure")
    print(f"{'-' * width}  {'-' * 40}")
    for what, figure in rows:
        print(f"{what:<{width}}  {figure}")
    print(f"machine load while it ran: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    sys.exit(main())
