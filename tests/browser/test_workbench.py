"""The statistician's path in a real browser, on the demo data: frame, targets, weights,
a result set with its charts, the answers and the trend, two provinces compared, and
the downloads.

The server is the real app (CSRF on) on a SQLite file of its own, brought to head by
Alembic and filled by ``load_demo``. The national statistician, made through the users
service, signs in through the login page and does everything through the pages. The
role model has no national analyst (every analyst is tied to units, and sees neither
the whole wave nor the national margins), so the national reader is an administrator
tied to no unit, as in tests/survey/test_targets.py.

What the pages should show is worked out here from the database and the files the
test uploads: the base weights and their diagnostics from the method's formula, the
post-stratified weights from the targets, the estimates from the saved result rows,
the comparison from ``survey.services.comparisons``.

On a phone the bars chart and its section fit the screen; the page as a whole may still
scroll sideways, because of the wide tables further down (official-style figures, all
indices, provenance), which this test does not judge.

With ``SIPAS_BROWSER_SHOTS=DIR`` the result set, answers, compare and drivers pages are
saved as full-page screenshots in DIR, at desktop and phone sizes, for a person to look at.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from flask import Flask

from survey.extensions import db
from tests.browser.conftest import PHONE, serving

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
RESPONSES = 600
WAVE = "DEMO-2025"
EARLIER_WAVE = "DEMO-2024"
#: The national statistician: an administrator tied to no unit (see the module's notes).
ANALYST = "thongke.quocgia@sipas.test"
PASSWORD = "Sông Đà mùa nước lũ 2026"
#: Chart text on a phone must render at least this many CSS pixels high.
MIN_FONT_PX = 9
#: CSS pixels a page may overflow the phone's width by (sub-pixel rounding).
OVERFLOW_TOLERANCE = 2
SHOTS = os.environ.get("SIPAS_BROWSER_SHOTS")


@dataclass(frozen=True)
class Sampled:
    """One valid response of the open demo wave, as the database holds it."""

    response_id: int
    desk: str
    province: str
    procedure_group: str


@dataclass
class Workbench:
    app: Flask
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def read(self, question):
        """``question()`` in an app context, the session removed after."""
        with self.app.app_context():
            try:
                return question()
            finally:
                db.session.remove()

    def sample(self) -> list[Sampled]:
        from sqlalchemy import select

        from survey.models import Procedure, Response, ServicePoint, Unit, Wave

        def question():
            provinces = {}
            for unit in db.session.scalars(select(Unit)):
                top = unit
                while top.level != "province" and top.parent is not None:
                    top = top.parent
                provinces[unit.id] = top.code
            rows = db.session.execute(
                select(Response.id, ServicePoint.code, ServicePoint.unit_id, Procedure.field)
                .join(ServicePoint, ServicePoint.id == Response.service_point_id)
                .join(Wave, Wave.id == Response.wave_id)
                .outerjoin(Procedure, Procedure.id == Response.procedure_id)
                .where(Wave.code == WAVE, Response.status == "valid")
            ).all()
            return [Sampled(i, desk, provinces[unit], group or "") for i, desk, unit, group in rows]

        return self.read(question)

    def frame(self) -> dict[str, tuple[str, int, int]]:
        """The open wave's frame: desk code to (stratum, stratum_psus, size)."""
        from sqlalchemy import select

        from survey.models import FrameEntry, ServicePoint, Wave

        def question():
            rows = db.session.execute(
                select(ServicePoint.code, FrameEntry.stratum, FrameEntry.stratum_desks,
                       FrameEntry.transactions)
                .join(ServicePoint, ServicePoint.id == FrameEntry.service_point_id)
                .join(Wave, Wave.id == FrameEntry.wave_id)
                .where(Wave.code == WAVE)
            ).all()  # fmt: skip
            return {code: (stratum, psus, size) for code, stratum, psus, size in rows}

        return self.read(question)

    def target_cells(self) -> int:
        from sqlalchemy import func, select

        from survey.models import CalibrationTarget, Wave

        return self.read(
            lambda: db.session.scalar(
                select(func.count(CalibrationTarget.id))
                .join(Wave, Wave.id == CalibrationTarget.wave_id)
                .where(Wave.code == WAVE)
            )
        )

    def result_set(self, number: int) -> tuple[str, dict, list[dict]]:
        """The saved set's weighting, options and rows."""
        from survey.models import ResultSet

        def question():
            found = db.session.get(ResultSet, number)
            rows = [
                {"variable": r.variable, "domain": r.domain or None, "estimate": r.estimate}
                for r in found.rows
            ]
            return found.weighting, dict(found.options), rows

        return self.read(question)

    def compare_provinces(self, a: str, b: str):
        from survey.services import comparisons
        from survey.services.waves import wave_by_code

        return self.read(
            lambda: comparisons.compare_units(
                wave_by_code(WAVE),
                comparisons.Place("province", a),
                comparisons.Place("province", b),
            )
        )


@pytest.fixture(scope="module")
def workbench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """The real app on a SQLite file of its own, with the demo data and a national reader."""
    from survey.services.demo import load_demo
    from survey.services.users import create_user

    folder = tmp_path_factory.mktemp("workbench")
    with serving(folder / "workbench.sqlite3", "workbench-browser-secret") as app:
        with app.app_context():
            load_demo(responses=RESPONSES)
            create_user(ANALYST, "admin", [], password=PASSWORD)
            db.session.commit()
            db.session.remove()
        yield Workbench(app, app.config["PUBLIC_URL"])


@pytest.fixture
def new_page(browser) -> Iterator:
    """Open a page in a fresh context of the given viewport; closed after the test."""
    contexts = []

    def new(viewport: dict[str, int]):
        context = browser.new_context(viewport=viewport, locale="en-GB", accept_downloads=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


# --- helpers ---------------------------------------------------------------------------


def path_of(page) -> str:
    return urlsplit(page.url).path


def sign_in(page, workbench: Workbench) -> None:
    page.goto(workbench.url("/auth/login?lang=en"))
    page.get_by_label("Email", exact=True).fill(ANALYST)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert path_of(page) == "/admin/", f"signing in led to {page.url}"
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name="Waves progress", exact=True).click()
    assert path_of(page) == "/workbench/"


def follow(page, name: str, *, exact: bool = False) -> None:
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name=name, exact=exact).first.click()


def open_wave(page, workbench: Workbench) -> None:
    page.goto(workbench.url("/workbench/"))
    follow(page, WAVE, exact=True)
    assert path_of(page) == f"/workbench/waves/{WAVE}"


def rows_of(table) -> list[list[str]]:
    """A table's body rows as cell texts (textContent: rows in a closed <details> too)."""
    return table.evaluate(
        "t => [...t.tBodies].flatMap(b => [...b.rows])"
        ".map(r => [...r.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim()))"
    )


def table_after(page, heading: str):
    """The first table after the <h2> or <h3> whose text is ``heading``."""
    return page.locator(
        f"main h2:text-is('{heading}') ~ table, main h3:text-is('{heading}') ~ table"
    ).first


def upload(page, label: str, name: str, content: bytes) -> int:
    """Choose ``content`` as the file of the field ``label`` and send the form: the status."""
    page.get_by_label(label).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    with page.expect_navigation() as navigation:
        page.locator("main form").get_by_role("button", name="Import").click()
    return navigation.value.status if navigation.value else 0


def notices(page) -> list[str]:
    return [text.strip() for text in page.locator("main .flash").all_inner_texts()]


def problems_listed(page) -> list[str]:
    return [text.strip() for text in page.locator("main .error-summary li").all_inner_texts()]


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def pct(proportion: float) -> str:
    """A proportion as the pages print it: percent, one decimal."""
    return f"{100 * proportion:.1f}"


def as_number(text: str) -> float:
    """A number as the pages print it: ``1,234.5``."""
    return float(text.replace(",", "").strip())


def assert_shown(text: str, value: float, decimals: int, what: str) -> None:
    """``text`` is ``value`` rounded to ``decimals`` (half a unit of the last digit)."""
    assert abs(as_number(text) - value) <= 0.5 * 10**-decimals + 1e-9, (
        f"{what}: the page shows {text}, expected {value:.{decimals + 3}f}"
    )


def diagnostics(weights) -> dict[str, float]:
    """Range, CV, Kish design effect and effective n, from their definitions."""
    w = np.asarray(weights, dtype=float)
    kish = len(w) * float(np.sum(w**2)) / float(np.sum(w)) ** 2
    return {
        "n": len(w),
        "total": float(w.sum()),
        "min": float(w.min()),
        "max": float(w.max()),
        "cv": float(np.std(w) / np.mean(w)),
        "deff": kish,
        "n_effective": float(np.sum(w)) ** 2 / float(np.sum(w**2)),
    }


def assert_diagnostics(cells: list[str], expected: dict[str, float], what: str) -> None:
    """Cells: responses, smallest, largest, CV, Kish design effect, effective n."""
    n, smallest, largest, cv, deff, effective = cells
    assert int(n) == expected["n"], f"{what}: {n} responses, expected {expected['n']}"
    assert_shown(smallest, expected["min"], 1, f"{what}, smallest weight")
    assert_shown(largest, expected["max"], 1, f"{what}, largest weight")
    assert_shown(cv, expected["cv"], 2, f"{what}, CV")
    assert_shown(deff, expected["deff"], 2, f"{what}, Kish design effect")
    assert_shown(effective, expected["n_effective"], 0, f"{what}, effective n")


def base_weights(sample: list[Sampled], frame: dict[str, tuple[str, int, int]]) -> np.ndarray:
    """(stratum_psus ÷ the stratum's PSUs answering) × (size ÷ the PSU's valid responses)."""
    per_desk = Counter(s.desk for s in sample)
    answering: dict[str, set[str]] = defaultdict(set)
    for desk in per_desk:
        answering[frame[desk][0]].add(desk)
    return np.array(
        [
            frame[s.desk][1]
            / len(answering[frame[s.desk][0]])
            * frame[s.desk][2]
            / per_desk[s.desk]
            for s in sample
        ]
    )


def shoot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def compute(page, *, by: str, weighting: str) -> int:
    """Send the results page's form; on the new set's page, its number."""
    page.get_by_label("Break down by").select_option(label=by)
    page.get_by_label("Weighting").select_option(label=weighting)
    with page.expect_navigation():
        page.get_by_role("button", name="Compute and save").click()
    parts = path_of(page).split("/")
    assert parts[:3] == ["", "workbench", "result-sets"], f"computing led to {page.url}"
    number = int(parts[3])
    assert f"Result set {number} saved." in notices(page)
    assert page.locator("h1").inner_text().startswith(f"Result set {number} ")
    return number


def bar_values(page) -> dict[str, str]:
    """The bars chart's labels and the values printed beside them."""
    units = page.locator("#by-unit ~ svg g.unit")
    return {
        texts[0]: texts[1]
        for texts in units.evaluate_all(
            "gs => gs.map(g => [...g.querySelectorAll(':scope > text')]"
            ".map(t => t.firstChild.textContent.trim()))"
        )
    }


def downloaded(page, link) -> tuple[str, bytes]:
    """Click ``link`` and wait for the download: its file name and content."""
    with page.expect_download() as download:
        link.click()
    return download.value.suggested_filename, Path(download.value.path()).read_bytes()


def csv_records(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def whole_wave_overall(records: list[dict]) -> dict:
    """The design-based overall index of the whole wave among an index table's records."""
    (found,) = [
        row for row in records
        if row["variable"] == "overall" and not row["domain"] and row["figure"] == "design-based"
    ]  # fmt: skip
    return found


def compare_units(page, a: str, b: str) -> None:
    page.get_by_label("Compare", exact=True).select_option("units")
    page.get_by_label("Unit A").select_option(f"province:{a}")
    page.get_by_label("Unit B").select_option(f"province:{b}")
    with page.expect_navigation():
        page.locator("main form").get_by_role("button", name="Compare").click()


# --- the path, step by step -------------------------------------------------------------


def frame_step(page, workbench: Workbench, sample: list[Sampled]) -> np.ndarray:
    """A bad frame file refused, then a good one imported; the base weights it makes."""
    demo_frame = workbench.frame()
    desks = sorted(demo_frame)
    assert {s.desk for s in sample} <= set(desks)
    follow(page, "Sampling frame and sample progress")
    assert path_of(page) == f"/workbench/waves/{WAVE}/frame"
    progress_before = rows_of(table_after(page, "Sample progress per stratum"))
    weights_before = rows_of(table_after(page, "Base weights"))
    assert len(progress_before) == len({entry[0] for entry in demo_frame.values()})

    # A frame with a negative size on its fourth line: nothing imported, the line named.
    new_frame = {
        desk: (stratum, psus + 4, 300 + 97 * position)
        for position, (desk, (stratum, psus, _size)) in enumerate(sorted(demo_frame.items()))
    }
    header = ["psu", "stratum", "stratum_psus", "size"]
    lines = [[desk, *new_frame[desk]] for desk in desks]
    bad = [list(line) for line in lines]
    bad[2][3] = -120  # file line 4: the header is line 1
    status = upload(page, "Frame file (CSV or XLSX)", "frame-with-a-bad-row.csv",
                    csv_bytes(header, bad))  # fmt: skip
    assert status == 400
    assert page.locator("main .error-summary h2").inner_text() == "Nothing was imported: 1 problems"
    assert problems_listed(page) == ["Line 4: size is negative."]
    assert workbench.frame() == demo_frame, "a file with a bad row changed the frame"
    assert rows_of(table_after(page, "Sample progress per stratum")) == progress_before
    assert rows_of(table_after(page, "Base weights")) == weights_before

    # The good file: imported, the progress per stratum and the weights are the new frame's.
    status = upload(page, "Frame file (CSV or XLSX)", "frame.csv", csv_bytes(header, lines))
    assert status == 200
    assert path_of(page) == f"/workbench/waves/{WAVE}/frame"
    assert f"{len(desks)} PSUs imported into the frame." in notices(page)
    assert page.locator("main .error-summary").count() == 0
    assert workbench.frame() == new_frame
    assert_progress(page, workbench, sample, new_frame)
    weights = base_weights(sample, new_frame)
    shown = {row[0]: row[1:] for row in rows_of(table_after(page, "Base weights"))}
    assert_diagnostics(shown.pop("All your strata"), diagnostics(weights), "all strata")
    strata = np.array([new_frame[s.desk][0] for s in sample])
    assert set(shown) == set(strata)
    for stratum, cells in shown.items():
        assert_diagnostics(cells, diagnostics(weights[strata == stratum]), f"stratum {stratum}")
    return weights


def assert_progress(page, workbench: Workbench, sample: list[Sampled], frame: dict) -> None:
    """Each stratum's PSUs, size, target sample n = N / (1 + N e²) and valid responses."""
    margin = float(workbench.app.config["SAMPLE_MARGIN"])
    per_desk = Counter(s.desk for s in sample)
    progress = {row[0]: row for row in rows_of(table_after(page, "Sample progress per stratum"))}
    assert set(progress) == {entry[0] for entry in frame.values()}
    for stratum, shown in progress.items():
        members = [desk for desk, entry in frame.items() if entry[0] == stratum]
        size = sum(frame[desk][2] for desk in members)
        assert shown[1:6] == [
            str(frame[members[0]][1]),
            str(len(members)),
            str(sum(1 for desk in members if per_desk[desk])),
            str(size),
            str(math.ceil(size / (1 + size * margin**2))),
        ], f"stratum {stratum}: {shown}"
        assert int(shown[6].split()[0]) == sum(per_desk[desk] for desk in members)


def targets_step(page, workbench: Workbench, sample: list[Sampled], weights: np.ndarray) -> None:
    """Targets by procedure group: one category left out (refused), then all of them; the
    weights before and after calibration."""
    follow(page, "Calibration targets and calibrated weights")
    assert path_of(page) == f"/workbench/waves/{WAVE}/targets"
    groups = Counter(s.procedure_group for s in sample)
    assert "" not in groups, "the demo has responses without a procedure group"
    counts = {group: n * (40 + 15 * i) for i, (group, n) in enumerate(sorted(groups.items()))}
    smallest = min(groups, key=lambda group: (groups[group], group))
    short = [[group, count] for group, count in sorted(counts.items()) if group != smallest]
    status = upload(page, "Target file (CSV or XLSX)", "targets-short.csv",
                    csv_bytes(["procedure_group", "count"], short))  # fmt: skip
    assert status == 400
    assert problems_listed(page) == [
        f"Valid responses in procedure_group={smallest}, a cell the file does not cover: "
        f"{groups[smallest]}."
    ]
    assert workbench.target_cells() == 0
    full = [[group, count] for group, count in sorted(counts.items())]
    status = upload(page, "Target file (CSV or XLSX)", "targets.csv",
                    csv_bytes(["procedure_group", "count"], full))  # fmt: skip
    assert status == 200
    assert f"{len(counts)} cells of margin procedure_group imported." in notices(page)
    listed = rows_of(table_after(page, "procedure_group"))
    assert [(row[0], as_number(row[1]), int(row[2])) for row in listed] == [
        (group, count, groups[group]) for group, count in sorted(counts.items())
    ]
    cells = np.array([s.procedure_group for s in sample])
    calibrated = weights.copy()
    for group, count in counts.items():
        calibrated[cells == group] *= count / weights[cells == group].sum()
    compared = {
        row[0]: row[1:]
        for row in rows_of(table_after(page, "Weights before and after calibration"))
    }
    expected = {
        "Design weights from the frame": diagnostics(weights),
        "Post-stratified to the targets": diagnostics(calibrated),
        # One margin: raking to it is post-stratifying to it.
        "Raked to the targets": diagnostics(calibrated),
    }
    assert set(compared) == set(expected)
    for label, wanted in expected.items():
        responses, total, *rest = compared[label]
        assert_shown(total, wanted["total"], 0, f"{label}, sum of weights")
        assert_diagnostics([responses, *rest], wanted, label)
    assert as_number(compared["Post-stratified to the targets"][1]) == sum(counts.values())


def result_set_step(page, workbench: Workbench, provinces: list[str]) -> tuple[int, str]:
    """Compute by province, post-stratified; the set's page shows its rows. The set's
    number and the whole wave's overall index as shown."""
    follow(page, "SIPAS indices: result sets, charts and downloads")
    number = compute(page, by="Province", weighting="Post-stratified to the targets")
    weighting, options, saved = workbench.result_set(number)
    assert weighting == "post-stratify"
    assert options["by"] == ["province"]
    overall = {
        (row["domain"] or {}).get("province"): row["estimate"]
        for row in saved
        if row["variable"] == "overall" and set(row["domain"] or {}) <= {"province"}
    }
    assert set(overall) == {None, *provinces}
    chart = page.locator("#by-unit ~ svg")
    assert chart.count() == 1
    assert chart.locator("rect.bar").count() == len(provinces)
    assert chart.locator("line.whisker").count() == len(provinces)
    assert chart.locator("line.reference").count() == 1
    bars = bar_values(page)
    for province in provinces:
        (label,) = [label for label in bars if label.endswith(f"({province})")]
        assert bars[label] == pct(overall[province]), f"province {province}"
    whole_wave = pct(overall[None])
    assert chart.locator("text", has_text=f"Whole wave: {whole_wave}").count() == 1
    profile = page.locator("#profile ~ svg")
    assert profile.count() == 1
    assert profile.locator("circle.dot").count() >= 5
    indices = {row[0]: row[1] for row in rows_of(table_after(page, "All indices: The whole wave"))}
    assert indices["Overall index (headline)"] == whole_wave
    return number, whole_wave


def index_downloads_step(page, workbench: Workbench, number: int, whole_wave: str) -> None:
    """The set's index table as CSV and XLSX: all its rows, the overall index shown."""
    _weighting, _options, saved = workbench.result_set(number)
    name, content = downloaded(
        page, page.get_by_role("link", name="Download the index table (CSV)")
    )
    assert name == f"{WAVE}-result-set-{number}.csv"
    table = csv_records(content)
    assert len(table) == len(saved)
    whole = float(whole_wave_overall(table)["estimate"])
    assert pct(whole) == whole_wave
    excel = page.get_by_role("link", name="Download the index table (Excel, with the provenance)")
    name, content = downloaded(page, excel)
    assert name == f"{WAVE}-result-set-{number}.xlsx"
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    assert book.sheetnames == ["indices", "provenance"]
    columns, *rows = book["indices"].iter_rows(values_only=True)
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    assert len(records) == len(table)
    assert whole_wave_overall(records)["estimate"] == pytest.approx(whole, abs=1e-12)
    provenance = dict(book["provenance"].iter_rows(min_row=2, values_only=True))
    assert str(provenance["result_set"]) == str(number)


def answers_and_trend_step(page, workbench: Workbench, sample: list[Sampled]) -> None:
    follow(page, "Answers per item: how each question was answered")
    assert path_of(page) == f"/workbench/waves/{WAVE}/answers"
    assert f"{len(sample)} valid responses of the whole wave." in page.inner_text("main")
    charts = page.locator("main section svg.chart[role='img']")
    assert charts.count() >= 5
    assert charts.first.locator("rect").count() > 0
    shoot(page, "answers-desktop")
    open_wave(page, workbench)
    follow(page, "Trend over waves of the same kind of questionnaire")
    assert path_of(page) == f"/workbench/waves/{WAVE}/trend"
    listed = table_after(page, "Waves in the trend").locator("tbody td a").all_inner_texts()
    assert listed == [EARLIER_WAVE, WAVE]
    chart = page.locator("main section svg.chart").first
    assert chart.locator(".point").count() >= 2
    charted = [text.strip() for text in chart.locator("text.wave").all_text_contents()]
    assert sorted(charted) == [EARLIER_WAVE, WAVE]


def comparison_step(page, workbench: Workbench, a: str, b: str) -> None:
    """Provinces ``a`` and ``b`` compared: each index's difference, interval and p-value
    as ``survey.services.comparisons`` computes them."""
    follow(page, "Compare two units, or this wave with another")
    compare_units(page, a, b)
    assert page.locator("main .notice-error").count() == 0
    assert page.locator("main svg.chart").count() == 1
    shown = rows_of(page.locator("main table").last)
    comparison = workbench.compare_provinces(a, b)
    assert len(shown) == len(comparison.rows)
    assert shown[0][0] == "Overall (headline)"
    for cells, row in zip(shown, comparison.rows, strict=True):
        assert row.p_value is not None and row.ci_low is not None, row.variable
        p_value = "< 0.001" if row.p_value < 0.001 else f"{row.p_value:.3f}"
        assert cells[1] == pct(row.a.estimate), row.variable
        assert cells[3] == pct(row.b.estimate), row.variable
        assert cells[5:8] == [
            f"{100 * row.estimate:+.1f}",
            f"{100 * row.ci_low:+.1f} … {100 * row.ci_high:+.1f}",
            p_value,
        ], row.variable
        assert cells[8:] == [str(row.a.n), str(row.b.n)], row.variable
    shoot(page, "compare-desktop")


def responses_export_step(page, sample: list[Sampled], weights: np.ndarray) -> None:
    """The wave's responses as CSV: one row per valid response, with its base weight."""
    link = page.locator("#downloads ~ ul").get_by_role("link", name="CSV", exact=True)
    _name, content = downloaded(page, link)
    exported = csv_records(content)
    assert len(exported) == len(sample)
    weight_of = {s.response_id: w for s, w in zip(sample, weights, strict=True)}
    assert {int(row["response_id"]) for row in exported} == set(weight_of)
    for row in exported:
        assert float(row["weight"]) == pytest.approx(weight_of[int(row["response_id"])], rel=1e-9)


# --- the tests ---------------------------------------------------------------------------


def test_analyst_walks_from_frame_to_downloads(workbench, new_page):
    page = new_page(DESKTOP)
    sample = workbench.sample()
    assert len(sample) == RESPONSES
    provinces = sorted({s.province for s in sample})
    sign_in(page, workbench)

    open_wave(page, workbench)
    weights = frame_step(page, workbench, sample)
    targets_step(page, workbench, sample, weights)

    open_wave(page, workbench)
    number, whole_wave = result_set_step(page, workbench, provinces)
    shoot(page, "result-set-desktop")
    index_downloads_step(page, workbench, number, whole_wave)

    open_wave(page, workbench)
    answers_and_trend_step(page, workbench, sample)
    open_wave(page, workbench)
    comparison_step(page, workbench, *provinces[:2])

    open_wave(page, workbench)
    follow(page, "What drives satisfaction: importance and performance")
    assert page.locator("main .notice-error").count() == 0
    assert page.locator("main svg.chart[role='img']").count() >= 1
    shoot(page, "drivers-desktop")

    open_wave(page, workbench)
    responses_export_step(page, sample, weights)


def test_result_set_fits_a_phone(workbench, new_page):
    page = new_page(PHONE)
    sign_in(page, workbench)
    page.goto(workbench.url(f"/workbench/waves/{WAVE}/results"))
    compute(page, by="Province", weighting="Design weights from the frame")
    width = PHONE["width"]
    chart = page.locator("#by-unit ~ svg")
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + OVERFLOW_TOLERANCE, box
    # Nothing of the chart's section (its heading, chart, note and table of numbers) makes
    # the page scroll sideways. (The whole page still may: see the module's notes.)
    section = page.locator("section", has=page.locator("#by-unit"))
    content, shown, right = section.evaluate(
        "s => [s.scrollWidth, s.clientWidth, s.getBoundingClientRect().right]"
    )
    assert right <= width + OVERFLOW_TOLERANCE and content <= shown + OVERFLOW_TOLERANCE, (
        f"the chart's section is {content}px wide in {shown}px on a {width}px screen"
    )
    sizes = chart.evaluate(
        "svg => [...svg.querySelectorAll('text')].map(t => [t.textContent.trim(),"
        " parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a])"
    )
    assert sizes, "the bars chart has no text"
    small = [(text, round(size, 2)) for text, size in sizes if size < MIN_FONT_PX]
    assert not small, f"chart text under {MIN_FONT_PX}px on a phone: {small}"
    shoot(page, "result-set-phone")

    for path, name in (("answers", "answers"), ("drivers", "drivers")):
        page.goto(workbench.url(f"/workbench/waves/{WAVE}/{path}"))
        assert page.locator("main svg.chart").count() >= 1
        shoot(page, f"{name}-phone")
    page.goto(workbench.url(f"/workbench/waves/{WAVE}/compare"))
    provinces = sorted({s.province for s in workbench.sample()})
    compare_units(page, *provinces[:2])
    assert page.locator("main svg.chart").count() == 1
    shoot(page, "compare-phone")
