"""Calibration targets: every bad row named and nothing imported, scoped imports, and
post-stratified or raked results checked by hand and against ``analysis``."""

from __future__ import annotations

import csv
import html
import io
from collections import Counter, defaultdict

import numpy as np
import pytest
from flask_babel import force_locale
from sqlalchemy import select

import analysis
from survey.errors import UserError
from survey.extensions import db
from survey.models import (
    Answer,
    AuditEntry,
    CalibrationTarget,
    FrameEntry,
    Procedure,
    Response,
    ServicePoint,
    Unit,
)
from survey.services import results, targets
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.design_frame import wave_frame
from survey.services.waves import wave_by_code
from tests.conftest import sign_in

MARGIN = "province+procedure_group"
ITEM = "S-B3"  # likert5 with "not applicable" (0): out of the denominator
#: Population per response of a cell, by province: calibration moves the weights a lot.
PER_RESPONSE = {"01": 50.0, "48": 20.0, "96": 35.0}
#: Shares of the population by the CHANNEL item's answer (the second margin for raking).
CHANNEL_SHARES = {"1": 0.4, "2": 0.3, "3": 0.2, "4": 0.1}


@pytest.fixture
def wave(app):
    load_demo(responses=300, seed=11)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


# --- the rows by hand, from the tables ---------------------------------------------------


def valid_responses(wave) -> list[Response]:
    return db.session.scalars(
        select(Response).where(Response.wave_id == wave.id, Response.status == "valid")
    ).all()


def province_of(unit: Unit) -> str:
    while unit.level != "province":
        unit = unit.parent
    return unit.code


def cell_of(response: Response) -> tuple[str, str]:
    """(province, procedure field) of a response, read from its desk and procedure."""
    desk = db.session.get(ServicePoint, response.service_point_id)
    procedure = db.session.get(Procedure, response.procedure_id)
    return province_of(desk.unit), procedure.field


def sample_cells(wave) -> Counter:
    return Counter(cell_of(response) for response in valid_responses(wave))


def population(cells: Counter) -> dict[tuple[str, str], float]:
    return {cell: PER_RESPONSE[cell[0]] * n + 7 for cell, n in cells.items()}


def margin_csv(counts: dict, header=("province", "procedure_group", "count")) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for cell, count in sorted(counts.items()):
        writer.writerow([*(cell if isinstance(cell, tuple) else (cell,)), repr(float(count))])
    return out.getvalue()


def channel_population(total: float) -> dict[str, float]:
    return {code: total * share for code, share in CHANNEL_SHARES.items()}


def base_weights(wave) -> dict[int, float]:
    """(stratum_psus / desks answering) x (transactions / the desk's valid responses)."""
    responses = valid_responses(wave)
    entries = select(FrameEntry).where(FrameEntry.wave_id == wave.id)
    frame = {e.service_point_id: e for e in db.session.scalars(entries)}
    per_desk = Counter(r.service_point_id for r in responses)
    answering = defaultdict(set)
    for desk in per_desk:
        answering[frame[desk].stratum].add(desk)
    weight = {}
    for r in responses:
        entry = frame[r.service_point_id]
        weight[r.id] = (entry.stratum_desks / len(answering[entry.stratum])) * (
            entry.transactions / per_desk[r.service_point_id]
        )
    return weight


def stored() -> dict[str, dict[tuple, float]]:
    found: dict[str, dict[tuple, float]] = defaultdict(dict)
    for target in db.session.scalars(select(CalibrationTarget)):
        key = tuple(target.cell[v] for v in target.margin.split("+"))
        found[target.margin][key] = target.count
    return dict(found)


def audited(action: str) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    ).all()


def refusal(wave, **options) -> str:
    """The message (in English) with which ``results.compute`` refuses these options."""
    with pytest.raises(UserError) as raised:
        results.compute(wave, **options)
    with force_locale("en"):
        return str(raised.value.message)


def run_import(runner, tmp_path, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["wave", "import-targets", WAVE_CODE, str(path)])


def estimate(records, variable: str, domain=None) -> dict:
    (row,) = [r for r in records if r["variable"] == variable and r["domain"] == domain]
    return row


# --- importing ---------------------------------------------------------------------------


def test_a_good_csv_imports_the_margin_and_is_audited(wave, runner, tmp_path):
    counts = population(sample_cells(wave))
    result = run_import(runner, tmp_path, margin_csv(counts))
    assert result.exit_code == 0, result.output
    assert f"Imported {len(counts)} cells of margin {MARGIN}" in result.output
    assert stored() == {MARGIN: counts}
    (entry,) = audited("import_targets")
    assert entry.detail["margin"] == MARGIN
    assert entry.detail["before"] == {"cells": 0, "total": 0}
    assert entry.detail["after"]["cells"] == len(counts)
    assert entry.detail["after"]["total"] == pytest.approx(sum(counts.values()))


def test_an_xlsx_file_is_read_like_csv(wave, runner, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    counts = population(sample_cells(wave))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Province", "Procedure_Group", "Count"])
    for (province, group), count in counts.items():
        sheet.append([int(province), group, float(count)])  # a spreadsheet shows "01" as 1
    book.save(tmp_path / "targets.xlsx")
    result = runner.invoke(
        args=["wave", "import-targets", WAVE_CODE, str(tmp_path / "targets.xlsx")]
    )
    assert result.exit_code == 0, result.output
    assert stored() == {MARGIN: counts}


def test_importing_replaces_the_margin_with_the_same_categories_only(wave, runner, tmp_path):
    counts = population(sample_cells(wave))
    assert run_import(runner, tmp_path, margin_csv(counts)).exit_code == 0
    channel = channel_population(sum(counts.values()))
    result = run_import(runner, tmp_path, margin_csv(channel, ("CHANNEL", "count")), "c.csv")
    assert result.exit_code == 0, result.output
    doubled = {(group, province): 2 * n for (province, group), n in counts.items()}
    header = ("procedure_group", "province", "count")
    assert run_import(runner, tmp_path, margin_csv(doubled, header)).exit_code == 0
    by_code = {(code,): count for code, count in channel.items()}
    assert stored() == {"procedure_group+province": doubled, "CHANNEL": by_code}
    entry = audited("import_targets")[-1]
    assert entry.detail["before"]["cells"] == len(counts)
    assert entry.detail["after"]["total"] == pytest.approx(2 * sum(counts.values()))


def _drop_first(counts):
    cell = sorted(counts)[0]
    return {k: v for k, v in counts.items() if k != cell}, cell


def _with_counts(text: str, values: list[str]) -> str:
    """``text`` with the counts of its first data lines replaced by ``values``."""
    lines = text.splitlines()
    for number, value in enumerate(values, start=1):
        lines[number] = lines[number].rsplit(",", 1)[0] + "," + value
    return "\n".join(lines) + "\n"


def _empty_cell(cells) -> tuple[str, str]:
    """A (province, procedure field) pair of the data's categories that no response has."""
    provinces = sorted({p for p, _ in cells})
    groups = sorted({g for _, g in cells})
    return next((p, g) for p in provinces for g in groups if (p, g) not in cells)


BAD = {
    "unknown column": lambda counts, cells: (
        margin_csv(counts).replace("procedure_group,count", "procedure_group,colour,count", 1),
        ["t.csv:1: Unknown column colour: the categories are province, commune, desk"],
    ),
    "no count column": lambda counts, cells: (
        "province,procedure_group\n01,Hộ tịch\n",
        ["t.csv:1: Missing column count."],
    ),
    "bad counts": lambda counts, cells: (
        _with_counts(margin_csv(counts), ["", "-5", "many"]),
        [
            "t.csv:2: count is missing.",
            "t.csv:3: count is negative.",
            "t.csv:4: count is not a number: many.",
        ],
    ),  # fmt: skip
    "duplicated cell": lambda counts, cells: (
        margin_csv(counts) + margin_csv(counts).splitlines()[1] + "\n",
        [f"t.csv:{len(counts) + 2}: This cell is listed already (line 2)."],
    ),
    "unknown codes": lambda counts, cells: (
        margin_csv(counts) + "XX,Hộ tịch,10\n01,Lâm nghiệp,10\n",
        [
            f"t.csv:{len(counts) + 2}: Unknown province XX.",
            f"t.csv:{len(counts) + 3}: Unknown procedure_group Lâm nghiệp.",
        ],
    ),  # fmt: skip
    "a cell no response falls into": lambda counts, cells: (
        margin_csv({**counts, _empty_cell(cells): 50}),
        [
            f"t.csv:{2 + sorted({**counts, _empty_cell(cells): 50}).index(_empty_cell(cells))}: "
            "No valid response of the wave is in this cell, so its count cannot be reached."
        ],
    ),  # fmt: skip
    "a category the targets do not cover": lambda counts, cells: (
        margin_csv(_drop_first(counts)[0]),
        [
            "Valid responses in province={}, procedure_group={}, a cell the file does not cover: "
            "{}.".format(*_drop_first(counts)[1], cells[_drop_first(counts)[1]])
        ],
    ),  # fmt: skip
}


@pytest.mark.parametrize("kind", BAD)
def test_every_bad_row_is_named_and_nothing_is_imported(wave, runner, tmp_path, kind):
    cells = sample_cells(wave)
    counts = population(cells)
    assert run_import(runner, tmp_path, margin_csv(counts)).exit_code == 0
    before = stored()
    text, problems = BAD[kind](counts, cells)
    result = run_import(runner, tmp_path, text)
    assert result.exit_code == 2
    for problem in problems:
        assert problem in result.output
    assert f"Nothing imported: {len(problems)} problems." in result.output
    assert stored() == before


def test_an_answer_code_not_on_the_items_scale_is_named(wave, runner, tmp_path):
    text = "CHANNEL,count\n1,10\n2,10\n3,10\n4,10\n9,10\n"
    result = run_import(runner, tmp_path, text)
    assert result.exit_code == 2
    assert "t.csv:6: CHANNEL has no answer code 9; its codes are 1, 2, 3, 4." in result.output
    assert stored() == {}


def test_an_unknown_wave_exits_2(wave, runner, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("CHANNEL,count\n1,10\n")
    result = runner.invoke(args=["wave", "import-targets", "NO-SUCH", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: No wave has the code NO-SUCH."


# --- the page, national and scoped ----------------------------------------------------


def page_text(client, path: str) -> str:
    return html.unescape(client.get(path).get_data(as_text=True))


def test_the_page_imports_shows_and_removes_a_margin_for_a_national_analyst(wave, client, login):
    login("admin")  # national: no units
    counts = population(sample_cells(wave))
    upload = io.BytesIO(margin_csv(counts).encode())
    path = f"/workbench/waves/{WAVE_CODE}/targets"
    assert client.post(path, data={"file": (upload, "t.csv")}).status_code == 302
    assert stored() == {MARGIN: counts}
    page = page_text(client, path)
    assert MARGIN in page
    total = sum(counts.values())
    assert page.count(f"{total:,.0f}") >= 2  # the margin's total; the post-stratified weights'
    assert "Design weights from the frame" in page and "Post-stratified to the targets" in page
    base = analysis.weight_diagnostics(list(base_weights(wave).values()))
    assert f"{base.n_effective:.0f}" in page and f"{base.deff_kish:.2f}" in page
    bad = io.BytesIO(b"province,procedure_group,count\nXX,H\xe1\xbb\x99 t\xe1\xbb\x8bch,5\n")
    refused = client.post(path, data={"file": (bad, "t.csv")})
    assert refused.status_code == 400
    assert "Line 2: Unknown province XX." in html.unescape(refused.get_data(as_text=True))
    assert client.post(f"{path}/remove", data={"margin": MARGIN}).status_code == 302
    assert stored() == {}
    (entry,) = audited("remove_targets")
    assert entry.detail["before"]["cells"] == len(counts) and entry.detail["after"]["cells"] == 0


def test_a_provincial_analyst_imports_and_removes_the_cells_of_their_units_only(
    wave, runner, tmp_path, app, make_user
):
    cells = sample_cells(wave)
    counts = population(cells)
    assert run_import(runner, tmp_path, margin_csv(counts)).exit_code == 0
    hanoi = db.session.scalar(select(Unit).where(Unit.code == "01"))
    make_user("analyst@example.vn", "analyst", units=[hanoi])
    client = app.test_client()
    sign_in(client, "analyst@example.vn")
    path = f"/workbench/waves/{WAVE_CODE}/targets"

    national = io.BytesIO(b"CHANNEL,count\n1,10\n2,10\n3,10\n4,10\n")
    refused = client.post(path, data={"file": (national, "t.csv")})
    assert refused.status_code == 400
    assert "must include province or commune" in html.unescape(refused.get_data(as_text=True))

    mine = {cell: 3 * n for cell, n in counts.items() if cell[0] == "01"}
    foreign = {**mine, next(c for c in counts if c[0] == "48"): 10.0}
    text = margin_csv(foreign)
    refused = client.post(path, data={"file": (io.BytesIO(text.encode()), "t.csv")})
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("48,"))) + 1
    assert f"Line {line}: province 48 is not one of your units." in html.unescape(
        refused.get_data(as_text=True)
    )
    assert stored() == {MARGIN: counts}

    accepted = client.post(path, data={"file": (io.BytesIO(margin_csv(mine).encode()), "t.csv")})
    assert accepted.status_code == 302
    assert stored() == {MARGIN: {**counts, **mine}}

    page = page_text(client, path)
    assert "<td>01</td>" in page and "<td>48</td>" not in page
    in_hanoi = sum(n for cell, n in cells.items() if cell[0] == "01")
    assert f"{sum(mine.values()):,.0f}" in page  # their total, and the calibrated weights' sum
    assert f'<td class="num">{in_hanoi}</td>' in page

    assert client.post(f"{path}/remove", data={"margin": MARGIN}).status_code == 302
    assert stored() == {MARGIN: {c: n for c, n in counts.items() if c[0] != "01"}}


# --- post-stratified and raked results -----------------------------------------------


@pytest.fixture
def with_targets(wave, runner, tmp_path):
    counts = population(sample_cells(wave))
    assert run_import(runner, tmp_path, margin_csv(counts)).exit_code == 0
    return counts


def test_post_stratified_weights_add_up_to_the_targets_and_the_mean_is_the_hand_made_one(
    wave, with_targets
):
    frame = wave_frame(wave, "post-stratify")
    cell = {r.id: cell_of(r) for r in valid_responses(wave)}
    sums = defaultdict(float)
    for response_id, weight in zip(frame.data["response_id"], frame.design.weights, strict=True):
        sums[cell[int(response_id)]] += weight
    assert sums == pytest.approx(with_targets, rel=1e-12)

    base = base_weights(wave)
    base_sums = defaultdict(float)
    for response_id, weight in base.items():
        base_sums[cell[response_id]] += weight
    weight = {rid: w * with_targets[cell[rid]] / base_sums[cell[rid]] for rid, w in base.items()}
    answers = db.session.execute(
        select(Answer.response_id, Answer.value_num).where(Answer.item_code == ITEM)
    ).all()
    kept = [(rid, v) for rid, v in answers if rid in weight and v != 0]
    share = sum(weight[rid] for rid, v in kept if v >= 4) / sum(weight[rid] for rid, _ in kept)

    computed = results.compute(wave, weighting="post-stratify")
    row = estimate(computed.records, ITEM)
    assert row["estimate"] == pytest.approx(share, rel=1e-12)
    assert row["weighting"] == "post-stratify" and computed.weighting == "post-stratify"
    design_row = estimate(results.compute(wave).records, ITEM)
    assert row["estimate"] != pytest.approx(design_row["estimate"], rel=1e-6)


@pytest.mark.parametrize("by", [[], ["province"]])
def test_post_stratified_standard_errors_are_those_of_analysis(wave, with_targets, by):
    frame = wave_frame(wave)
    calibrated = analysis.post_stratify(frame.design, ["province", "procedure_group"], with_targets)
    table = analysis.sipas_index(
        calibrated, frame.dimensions, parts=frame.parts, satisfied=(1,), by=by or None
    )
    records = results.compute(wave, by, weighting="post-stratify").records
    for theirs in table.to_records(0.95, "wald"):
        mine = estimate(records, theirs["variable"], theirs["domain"])
        assert mine["estimate"] == pytest.approx(theirs["estimate"], rel=1e-12)
        assert mine["se"] == pytest.approx(theirs["se"], rel=1e-12)
    if not by:  # the calibration changes the standard error, not only the weights
        design = estimate(results.compute(wave).records, "overall")
        assert design["se"] != pytest.approx(estimate(records, "overall")["se"], rel=1e-3)


def test_raking_meets_every_margin_with_the_standard_errors_of_analysis(
    wave, with_targets, runner, tmp_path
):
    channel = channel_population(sum(with_targets.values()))
    text = margin_csv(channel, ("CHANNEL", "count"))
    assert run_import(runner, tmp_path, text, "c.csv").exit_code == 0
    assert refusal(wave, weighting="post-stratify") == (
        f"Wave {WAVE_CODE} has 2 margins (CHANNEL, {MARGIN}): post-stratification uses one; "
        "use rake to calibrate to them all."
    )
    frame = wave_frame(wave, "rake")
    cell = {r.id: cell_of(r) for r in valid_responses(wave)}
    answers = dict(
        db.session.execute(
            select(Answer.response_id, Answer.value_num).where(Answer.item_code == "CHANNEL")
        ).all()
    )
    by_cell, by_channel = defaultdict(float), defaultdict(float)
    for response_id, weight in zip(frame.data["response_id"], frame.design.weights, strict=True):
        by_cell[cell[int(response_id)]] += weight
        by_channel[str(answers[int(response_id)])] += weight
    for cell_key, count in with_targets.items():
        assert abs(by_cell[cell_key] - count) < targets.RAKE_EPSILON
    for code, count in channel.items():
        assert abs(by_channel[code] - count) < targets.RAKE_EPSILON

    base = wave_frame(wave)
    raked = analysis.rake(
        base.design,
        {"CHANNEL": channel, ("province", "procedure_group"): with_targets},  # by name
        max_iter=targets.RAKE_MAX_ITER,
        epsilon=targets.RAKE_EPSILON,
    )
    table = analysis.sipas_index(raked, base.dimensions, parts=base.parts, satisfied=(1,))
    records = results.compute(wave, weighting="rake").records
    for theirs in table.to_records(0.95, "wald"):
        mine = estimate(records, theirs["variable"], theirs["domain"])
        assert mine["estimate"] == pytest.approx(theirs["estimate"], rel=1e-12)
        assert mine["se"] == pytest.approx(theirs["se"], rel=1e-12)
        assert mine["weighting"] == "rake"


def test_raking_margins_of_different_populations_is_refused(wave, with_targets, runner, tmp_path):
    channel = channel_population(2 * sum(with_targets.values()))
    assert run_import(runner, tmp_path, margin_csv(channel, ("CHANNEL", "count"))).exit_code == 0
    total = sum(with_targets.values())
    assert refusal(wave, weighting="rake") == (
        f"The margins of wave {WAVE_CODE} count populations of different sizes (CHANNEL "
        f"{2 * total:,.0f}, {MARGIN} {total:,.0f}): raking needs margins of one population."
    )


def test_a_wave_without_a_frame_is_calibrated_from_weight_1(wave, with_targets):
    db.session.execute(FrameEntry.__table__.delete())
    db.session.commit()
    cells = sample_cells(wave)
    frame = wave_frame(wave, "post-stratify")
    assert frame.weighting == "post-stratify" and not frame.weighted
    cell = {r.id: cell_of(r) for r in valid_responses(wave)}
    for response_id, weight in zip(frame.data["response_id"], frame.design.weights, strict=True):
        key = cell[int(response_id)]
        assert weight == pytest.approx(with_targets[key] / cells[key], rel=1e-12)
    assert results.compute(wave, weighting="rake").weighting == "rake"


def test_calibration_without_targets_is_refused_on_the_command_line(wave, runner):
    args = ["results", "compute", "--wave", WAVE_CODE, "--weighting", "post-stratify"]
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if "Error:" in line]
    assert lines == [
        f"Error: Wave {WAVE_CODE} has no calibration targets: import them on its targets page "
        "or with flask wave import-targets."
    ]
    wrong = runner.invoke(args=["results", "compute", "--wave", WAVE_CODE, "--weighting", "x"])
    assert wrong.exit_code == 2
    assert refusal(wave, weighting="x").startswith("Unknown weighting x: choose from design")


def test_the_command_line_computes_raked_results(wave, with_targets, runner):
    import json

    args = ["results", "compute", "--wave", WAVE_CODE, "--weighting", "rake", "--by", "province"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["weighting"] for row in rows} == {"rake"}
    assert {row["domain"]["province"] for row in rows} == {"01", "48", "96"}


def test_an_emptied_target_cell_is_named_when_computing(wave, with_targets):
    cell = sorted(with_targets)[0]
    for response in valid_responses(wave):
        if cell_of(response) == cell:
            response.status = "void"
    db.session.commit()
    assert refusal(wave, weighting="post-stratify") == (
        f"No valid response of wave {WAVE_CODE} is in province={cell[0]}, "
        f"procedure_group={cell[1]} of margin {MARGIN}, so its target cannot be reached."
    )


def test_a_new_category_in_the_data_is_named_when_computing(wave, with_targets):
    cells = sample_cells(wave)
    moved = next(r for r in valid_responses(wave) if cells[cell_of(r)] > 1)
    new = Procedure(code="9.999999", name="Thủ tục mới", field="Lĩnh vực mới")
    db.session.add(new)
    db.session.flush()
    moved.procedure_id = new.id
    db.session.commit()
    province = cell_of(moved)[0]
    assert refusal(wave, weighting="rake") == (
        f"Margin {MARGIN} does not cover province={province}, procedure_group=Lĩnh vực mới, "
        f"a cell with valid responses of wave {WAVE_CODE}: 1."
    )


def test_the_digest_changes_with_the_targets_and_the_weighting(
    wave, with_targets, runner, tmp_path
):
    from survey.services import result_sets

    design = results.compute(wave).digest
    first = results.compute(wave, weighting="post-stratify").digest
    saved = result_sets.run(wave, weighting="post-stratify")
    db.session.commit()
    assert first != design
    changed = dict(with_targets)
    changed[sorted(changed)[0]] += 1
    assert run_import(runner, tmp_path, margin_csv(changed)).exit_code == 0
    assert results.compute(wave, weighting="post-stratify").digest not in (first, design)
    assert results.compute(wave).digest == design  # the frame's weights ignore the targets
    again = result_sets.run(wave, weighting="post-stratify")
    assert again.input_hash != saved.input_hash
    assert np.isfinite(estimate(results.compute(wave, weighting="rake").records, "overall")["se"])


def test_raking_margins_that_contradict_each_other_is_refused(wave, with_targets, runner, tmp_path):
    by_province = defaultdict(float)
    for (province, _group), count in with_targets.items():
        by_province[province] += count
    by_province["01"] += 100  # the same population, split otherwise than the other margin
    by_province["48"] -= 100
    assert (
        run_import(runner, tmp_path, margin_csv(by_province, ("province", "count"))).exit_code == 0
    )
    joint = by_province["01"] - 100  # what the joint margin, raked last, gives province 01
    assert refusal(wave, weighting="rake") == (
        f"Raking wave {WAVE_CODE} cannot meet every margin: the weights of province=01 add up "
        f"to {joint:,.0f}, not the {by_province['01']:,.0f} of margin province. Do the margins "
        "describe the same population?"
    )
