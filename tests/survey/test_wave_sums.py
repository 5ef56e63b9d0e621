"""The SQL path (``survey.services.wave_sums``: sums per PSU and domain made by the
database) gives the row path's numbers (``design_frame.wave_frame`` and
``analysis.sipas_index``), on a desk wave and a household wave, whole and by every
field; only valid responses count, "not applicable" and blanks are out of the
denominators; the digest follows what was read."""

from __future__ import annotations

import uuid
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from flask_babel import force_locale
from sqlalchemy import delete, event, func, insert, select, update

from survey.auth.policy import UnitScope, units_under
from survey.errors import UserError
from survey.extensions import db
from survey.models import (
    Answer,
    FrameEntry,
    QuestionnaireVersion,
    Response,
    ServicePoint,
    Unit,
    Wave,
)
from survey.services import exports, results, wave_sums
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.design_frame import (
    DOMAIN_FIELDS,
    answer_codes,
    design_rows,
    grouping_items,
    wave_frame,
)
from survey.services.procedures import create_procedure
from survey.services.questionnaires import questionnaire_of, sync_questionnaires
from survey.services.service_points import create_service_point
from survey.services.units import create_unit
from survey.services.waves import wave_by_code

INTERVALS = ("wald", "wald-t", "logit", "beta")
TOLERANCE = 1e-9
ITEM = "S-B3"  # the desk form's likert item with "not applicable" (0)


@pytest.fixture
def desk_wave(app):
    load_demo(responses=300, seed=11)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


#: Household clusters: province, commune (a village cluster lies under its commune),
#: the cluster's households, and the province's clusters in the population.
CLUSTERS = {
    "04": ("10", ["01201", "01204", "01207", "01210-T1"]),
    "79": ("6", ["26734", "26740", "26743"]),
}


@pytest.fixture
def household_wave(app):
    """A household wave of 160 responses at clusters of two provinces (one a village
    cluster), typed at three desks, some left blank, some void, with a frame."""
    sync_questionnaires()
    version = db.session.scalar(
        select(QuestionnaireVersion).where(QuestionnaireVersion.kind == "household")
    )
    wave = Wave(code="H-SUMS", name="Hộ gia đình", questionnaire=version, status="open")
    db.session.add(wave)
    procedures = [
        create_procedure("9.000001", "Đăng ký khai sinh", field="Hộ tịch"),
        create_procedure("9.000002", "Đăng ký thường trú", field="Cư trú"),
        create_procedure("9.000003", "Chứng thực bản sao", field="Chứng thực"),
    ]
    clusters, desks = [], []
    for number, (province_code, (population, codes)) in enumerate(CLUSTERS.items()):
        province = create_unit(province_code, f"Tỉnh {province_code}", "province")
        desks.append(create_service_point(f"H-{number}", "Một cửa", province, "province"))
        for code in codes:
            commune_code = code.split("-")[0]
            commune = create_unit(commune_code, f"Xã {commune_code}", "commune", province)
            cluster = commune
            if code != commune_code:
                cluster = Unit(code=code, name="Tổ dân phố", level="village", parent=commune)
                db.session.add(cluster)
                db.session.flush()
            clusters.append(cluster)
            db.session.add(
                FrameEntry(
                    wave=wave,
                    unit_id=cluster.id,
                    stratum=province_code,
                    stratum_desks=int(population),
                    transactions=100 + 37 * len(clusters),
                )
            )
    desks.append(create_service_point("H-2", "Một cửa", clusters[0], "commune"))
    db.session.flush()
    answer_responses(wave, clusters, desks, procedures, np.random.default_rng(5), count=160)
    db.session.commit()
    return wave


def answer_responses(wave, clusters, desks, procedures, rng, *, count: int) -> None:
    """``count`` responses with answers to every closed item, each left blank by 15 %;
    a twentieth void."""
    questionnaire = questionnaire_of(wave.questionnaire)
    items = [i for i in questionnaire.items() if i.scale.options and i.scale.kind != "multi"]
    for number in range(count):
        response = Response(
            uuid=str(uuid.uuid4()),
            wave_id=wave.id,
            service_point_id=desks[number % len(desks)].id,
            unit_id=clusters[int(rng.integers(len(clusters)))].id,
            procedure_id=procedures[number % 4].id if number % 4 < 3 else None,
            channel=str(rng.choice(["paper", "phone", "web"])),
            status="void" if number % 20 == 7 else "valid",
        )
        db.session.add(response)
        db.session.flush()
        rows = [
            {"response_id": response.id, "item_code": item.code,
             "value_num": int(rng.choice(item.scale.values))}
            for item in items
            if rng.random() > 0.15
        ]  # fmt: skip
        db.session.execute(insert(Answer), rows)


# --- the two paths ------------------------------------------------------------------


def both_paths(wave, by=()):
    """The SQL path's and the row path's estimates of ``wave`` by ``by``."""
    options = {"by": list(by)}
    summed = wave_sums.estimates(wave, by, options)
    rows = results.frame_estimates(wave, wave_frame(wave), list(by) or None, options)
    return summed, rows


def assert_same(summed, rows) -> None:
    """Every estimate, se, interval (each method), df, deff and n agree to 1e-9."""
    assert (summed.weighting, summed.response_count) == (rows.weighting, rows.response_count)
    assert len(summed.tables) == len(rows.tables)
    for method in INTERVALS:
        ours = [r for table in summed.tables for r in table.to_records(0.95, method)]
        theirs = [r for table in rows.tables for r in table.to_records(0.95, method)]
        assert len(ours) == len(theirs) > 0
        for mine, expected in zip(ours, theirs, strict=True):
            where = (method, expected["variable"], expected["domain"])
            assert (mine["variable"], mine["domain"]) == (expected["variable"], expected["domain"])
            assert (mine["df"], mine["n"]) == (expected["df"], expected["n"]), where
            for key in ("estimate", "se", "ci_low", "ci_high", "deff"):
                if expected[key] is None:
                    assert mine[key] is None, (where, key)
                else:
                    assert mine[key] == pytest.approx(expected[key], rel=0, abs=TOLERANCE), (
                        where,
                        key,
                    )


def fields(wave) -> list[str]:
    return results.domain_fields(wave)


def test_every_domain_field_has_one_source():
    assert list(wave_sums.DOMAIN_SOURCES) == list(DOMAIN_FIELDS)


def test_a_desk_wave_gives_the_row_paths_numbers_whole_and_by_every_field(desk_wave):
    questionnaire = questionnaire_of(desk_wave.questionnaire)
    assert {"CHANNEL", "R-GENDER"} <= {item.code for item in grouping_items(questionnaire)}
    assert_same(*both_paths(desk_wave))
    for name in fields(desk_wave):
        assert_same(*both_paths(desk_wave, [name]))
    assert_same(*both_paths(desk_wave, ["province", "R-AGE"]))


def test_a_household_wave_gives_the_row_paths_numbers_whole_and_by_every_field(
    household_wave,
):
    summed, rows = both_paths(household_wave)
    assert_same(summed, rows)
    assert summed.weighting == "design"
    assert summed.response_count == 152  # 160 less the eight void
    for name in fields(household_wave):
        assert_same(*both_paths(household_wave, [name]))
    communes = {
        r["domain"]["commune"]
        for r in wave_sums.estimates(household_wave, ["commune"]).tables[0].to_records()
    }
    assert "01210" in communes and "01210-T1" not in communes  # a cluster's commune


def test_without_a_frame_both_paths_are_unweighted_and_agree(desk_wave, household_wave):
    db.session.execute(delete(FrameEntry))
    db.session.commit()
    for wave in (desk_wave, household_wave):
        summed, rows = both_paths(wave, ["province"])
        assert summed.weighting == "unweighted"
        assert_same(summed, rows)


def test_only_valid_responses_count_and_not_applicable_is_out(desk_wave):
    def answered(item: str) -> int:
        return db.session.scalar(
            select(func.count())
            .select_from(Answer)
            .join(Response)
            .where(
                Response.wave_id == desk_wave.id,
                Response.status == "valid",
                Answer.item_code == item,
                Answer.value_num.between(1, 5),
            )
        )

    def item_row(estimates, item: str):
        return next(e for e in estimates.tables[0] if e.variable == item)

    not_applicable = db.session.scalar(
        select(func.count()).where(Answer.item_code == ITEM, Answer.value_num == 0)
    )
    assert not_applicable > 0, "the demo has N/A answers"
    before = item_row(wave_sums.estimates(desk_wave), ITEM)
    assert before.n == answered(ITEM)
    voided = db.session.scalars(
        select(Response)
        .join(Answer)
        .where(Response.wave_id == desk_wave.id, Answer.item_code == ITEM, Answer.value_num == 5)
        .order_by(Response.id)
    ).first()
    voided.status = "void"
    db.session.commit()
    summed, rows = both_paths(desk_wave)
    assert item_row(summed, ITEM).n == before.n - 1 == answered(ITEM)
    assert summed.response_count == valid_count(desk_wave)
    assert_same(summed, rows)


def test_a_code_that_is_not_an_option_counts_as_blank(desk_wave):
    """A stored code outside the item's scale (say, typed wrong) is no answer, in the indices
    and in the export, as in the row path."""
    answer = db.session.scalar(
        select(Answer).join(Response).where(Answer.item_code == ITEM, Response.status == "valid")
    )
    answer.value_num = 9
    db.session.commit()
    summed, rows = both_paths(desk_wave)
    assert_same(summed, rows)
    data = exports.response_table(desk_wave).data
    assert np.isnan(data.loc[data["response_id"] == answer.response_id, ITEM]).all()
    text = "".join(exports.csv_chunks(exports.response_table(desk_wave)))
    header, *lines = text.splitlines()
    column = header.split(",").index(ITEM)
    (line,) = [line for line in lines if line.startswith(f"{answer.response_id},")]
    assert line.split(",")[column] == ""


def valid_count(wave) -> int:
    return db.session.scalar(
        select(func.count()).where(Response.wave_id == wave.id, Response.status == "valid")
    )


def test_contrasts_of_the_index_table_agree(desk_wave):
    """The index table's estimating functions (for contrasts such as the official-style
    mean of the provinces' indices) give the row path's covariances."""
    summed, rows = both_paths(desk_wave, ["province"])
    variables = [e.variable for e in rows.index_table]
    mean_of_provinces = np.array([1.0 if v == "overall" else 0.0 for v in variables])
    mean_of_provinces /= mean_of_provinces.sum()
    difference = np.zeros(len(variables))
    difference[variables.index("S-A")], difference[variables.index("S-E")] = 1.0, -1.0
    combinations = np.vstack([mean_of_provinces, difference])
    ours = summed.index_table.combination_vcov(combinations)
    theirs = rows.index_table.combination_vcov(combinations)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-15)


def test_the_export_has_the_row_paths_rows_weights_and_answers(household_wave):
    """The export reads the database a chunk at a time; its rows are the row path's."""
    rows, weighted = design_rows(household_wave)
    items = exports.exported_items(questionnaire_of(household_wave.questionnaire))
    as_stored = [replace(i, scale=replace(i.scale, not_applicable=None)) for i in items]
    codes = answer_codes(household_wave, as_stored, rows["response_id"])
    table = exports.response_table(household_wave)
    data = pd.concat(list(table.chunks(rows=40)), ignore_index=True)
    assert weighted and table.weighted and len(data) == len(rows) == 152
    assert list(data["response_id"]) == list(rows["response_id"])
    for column in ("desk", "stratum", "psu", "province", "commune", "procedure", "channel"):
        assert list(data[column]) == list(rows[column].fillna("").astype(str)), column
    assert list(data["weight"]) == list(rows["weight"]) and list(data["fpc"]) == list(rows["fpc"])
    for item in items:
        assert data[item.code].equals(codes[item.code].astype(float).reset_index(drop=True))
    province = db.session.scalar(select(Unit).where(Unit.code == "79"))
    scope = UnitScope(frozenset(units_under([province.id])))
    text = "".join(exports.csv_chunks(exports.response_table(household_wave, scope), rows=7))
    lines = text.splitlines()
    assert len(lines) - 1 == (rows["province"] == "79").sum() > 0
    assert {line.split(",")[6] for line in lines[1:]} == {"79"}


def test_a_breakdown_read_also_gives_the_whole_wave_until_something_is_written(desk_wave):
    """A result set asks for a breakdown, then the whole wave: one pass over the answers
    serves both, and gives what a pass of its own would (responses without a procedure
    included); a write in between makes it read again."""
    chosen = (
        select(Response.id)
        .where(Response.wave_id == desk_wave.id, Response.status == "valid")
        .order_by(Response.id)
        .limit(5)
    )
    some = chosen.scalar_subquery()
    first = db.session.scalars(chosen).first()
    db.session.execute(update(Response).where(Response.id.in_(some)).values(procedure_id=None))
    db.session.commit()
    fresh = wave_sums.estimates(desk_wave)
    db.session.commit()
    by_procedure = wave_sums.estimates(desk_wave, ["procedure"])
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        whole = wave_sums.estimates(desk_wave)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not [text for text in statements if "answer" in text.lower()]
    procedures = {e.domain["procedure"] for e in by_procedure.tables[0]}
    in_procedures = sum(e.n for e in by_procedure.tables[0] if e.variable == "S-A1")
    assert in_procedures == valid_count(desk_wave) - 5
    assert len(procedures) > 1
    assert whole.digest == fresh.digest
    assert_same(whole, fresh)
    wave_sums.estimates(desk_wave, ["province"])  # a field of the PSU's place
    assert wave_sums.estimates(desk_wave).digest == fresh.digest
    db.session.execute(
        update(Response).where(Response.id.in_(some)).values(status="void")
    )  # fmt: skip
    assert wave_sums.estimates(desk_wave).response_count == fresh.response_count - 5
    wave_sums.estimates(desk_wave, ["province"])
    db.session.get(Response, first).status = "valid"  # not yet written
    assert wave_sums.estimates(desk_wave).response_count == fresh.response_count - 4


def test_a_large_wave_summed_in_parts_gives_the_sums_of_one_statement(desk_wave, monkeypatch):
    """On PostgreSQL a large wave is summed in two statements over halves of its
    responses, run at once on the session's snapshot: the same counts and digest as one
    statement, by any field (responses without a procedure too); a transaction that has
    written something reads in one statement, which sees what it wrote."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("summing in parts is for PostgreSQL (SIPAS_TEST_DATABASE_URL)")
    chosen = select(Response.id).where(Response.wave_id == desk_wave.id).limit(7)
    db.session.execute(
        update(Response).where(Response.id.in_(chosen.scalar_subquery())).values(procedure_id=None)
    )
    db.session.commit()
    parts = []
    in_parts = wave_sums._in_parts
    monkeypatch.setattr(wave_sums, "_in_parts", lambda s: parts.append(len(s)) or in_parts(s))
    grouping = grouping_items(questionnaire_of(desk_wave.questionnaire))[0].code
    for by in ([], ["desk"], ["procedure"], ["province", grouping]):
        monkeypatch.setattr(wave_sums, "PARTS_FROM", 10**9)
        whole = wave_sums.wave_sums(desk_wave, by)
        db.session.commit()  # a new transaction: nothing read is remembered
        monkeypatch.setattr(wave_sums, "PARTS_FROM", 0)
        halves = wave_sums.wave_sums(desk_wave, by)
        db.session.commit()
        assert halves.digest == whole.digest
        pd.testing.assert_frame_equal(halves.groups, whole.groups)
    assert parts == [2, 2, 2, 2]
    first = db.session.scalars(chosen.where(Response.status == "valid")).first()
    db.session.get(Response, first).status = "void"
    db.session.flush()  # written, not committed: the other connections would not see it
    assert wave_sums.wave_sums(desk_wave).response_count == whole.response_count - 1
    assert parts == [2, 2, 2, 2]


# --- what compute reads, and its digest ------------------------------------------------


def test_compute_sums_in_the_database_with_the_frames_weights(desk_wave, monkeypatch):
    from survey import queries

    def no_rows(*_args, **_kwargs):
        raise AssertionError("the row path read the answers")

    monkeypatch.setattr(queries, "valid_answers", no_rows)
    computation = results.compute(desk_wave, ["province"])
    assert computation.weighting == "design"
    assert computation.response_count == valid_count(desk_wave)
    assert any(r["variable"] == "overall" for r in computation.records)


def test_the_digest_changes_with_every_input_and_only_then(desk_wave):
    def digest(**options) -> str:
        return results.compute(desk_wave, **options).digest

    def after(statement, **options) -> str:
        db.session.execute(statement)
        db.session.commit()
        return digest(**options)

    first = digest()
    assert digest() == first
    # a satisfied answer stays satisfied: the same numbers, but not the same input
    answer = db.session.scalar(
        select(Answer).where(Answer.item_code == ITEM, Answer.value_num == 4)
    )
    answered = after(update(Answer).where(Answer.id == answer.id).values(value_num=5))
    response = update(Response).where(Response.id == answer.response_id)
    voided = after(response.values(status="void"))
    assert after(response.values(status="valid")) == answered  # unchanged inputs, same digest
    entry = db.session.scalar(select(FrameEntry).where(FrameEntry.wave_id == desk_wave.id))
    resized = after(
        update(FrameEntry)
        .where(FrameEntry.id == entry.id)
        .values(transactions=entry.transactions + 1)
    )
    options = [digest(interval="beta"), digest(level=0.9), digest(by=["channel"])]
    moved = after(response.values(channel="paper"), by=["channel"])
    seen = [first, answered, voided, resized, *options, moved]
    assert len(set(seen)) == len(seen)


# --- mistakes: the row path's messages -------------------------------------------------


def message(raised: pytest.ExceptionInfo) -> str:
    with force_locale("en"):
        return str(raised.value.message)


def both_refuse(wave) -> str:
    with pytest.raises(UserError) as by_sums:
        wave_sums.estimates(wave)
    with pytest.raises(UserError) as by_rows:
        wave_frame(wave)
    assert message(by_sums) == message(by_rows)
    return message(by_sums)


def test_mistakes_are_refused_as_the_row_path_does(desk_wave, household_wave):
    cluster = db.session.scalar(select(Unit).where(Unit.code == "26743"))
    db.session.execute(delete(FrameEntry).where(FrameEntry.unit_id == cluster.id))
    db.session.commit()
    assert both_refuse(household_wave) == (
        "Clusters 26743 have responses but are not in the frame of wave H-SUMS."
    )
    db.session.execute(update(Response).where(Response.unit_id == cluster.id).values(unit_id=None))
    db.session.commit()
    assert "valid responses of household wave H-SUMS record no commune" in both_refuse(
        household_wave
    )
    desk = db.session.scalar(select(ServicePoint).where(ServicePoint.code == "TTHCC-01"))
    db.session.execute(delete(FrameEntry).where(FrameEntry.service_point_id == desk.id))
    db.session.commit()
    assert both_refuse(desk_wave) == (
        f"Desks TTHCC-01 have responses but are not in the frame of wave {WAVE_CODE}."
    )
    db.session.execute(update(Response).values(status="void"))
    db.session.commit()
    assert both_refuse(desk_wave) == f"Wave {WAVE_CODE} has no valid responses."


# --- a stratum in which one desk answered -------------------------------------------


def leave_one_desk_answering(wave) -> str:
    """Void the responses of every desk of one stratum of the frame but one; its code."""
    strata: dict[str, list[int]] = {}
    for entry in db.session.scalars(select(FrameEntry).where(FrameEntry.wave_id == wave.id)):
        strata.setdefault(entry.stratum, []).append(entry.service_point_id)
    stratum, desks = next((s, d) for s, d in sorted(strata.items()) if len(d) > 1)
    db.session.execute(
        update(Response)
        .where(Response.wave_id == wave.id, Response.service_point_id.in_(desks[1:]))
        .values(status="void")
    )
    db.session.commit()
    return stratum


@pytest.mark.parametrize("policy", ["adjust", "average", "remove", "certainty"])
def test_a_stratum_with_one_answering_desk_follows_the_policy_on_both_paths(desk_wave, policy):
    leave_one_desk_answering(desk_wave)
    for by in ([], ["province"], ["channel"]):
        summed = wave_sums.estimates(desk_wave, by, {}, policy)
        frame = wave_frame(desk_wave, "design", policy)
        assert frame.design.lonely_psu.value == policy
        assert_same(summed, results.frame_estimates(desk_wave, frame, by or None, {}))


def test_the_default_policy_adjusts_and_fail_names_the_stratum(desk_wave):
    stratum = leave_one_desk_answering(desk_wave)
    with pytest.raises(UserError) as refused:
        results.compute(desk_wave, lonely_psu="fail")
    assert f"stratum '{stratum}' has only one PSU" in message(refused)
    default = results.compute(desk_wave)
    assert default.records == results.compute(desk_wave, lonely_psu="adjust").records

    def overall_se(computation) -> float:
        return next(r["se"] for r in computation.records if r["variable"] == "overall")

    # the lonely desk's deviation from the wave's mean adds to the variance; certainty
    # takes the stratum as fully observed and adds nothing
    assert overall_se(default) > overall_se(results.compute(desk_wave, lonely_psu="certainty"))
    assert default.digest != results.compute(desk_wave, lonely_psu="certainty").digest
    with pytest.raises(UserError) as refused:
        results.compute(desk_wave, lonely_psu="ignore")
    assert message(refused).startswith("Unknown lonely PSU policy ignore: choose from adjust,")
