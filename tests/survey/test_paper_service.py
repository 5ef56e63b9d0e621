"""Paper forms in the service layer: serials, batches, two passes, settlement, counts."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import Answer, AuditEntry, PaperForm, Response, ServicePoint
from survey.services import paper
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.questionnaires import questionnaire_of
from survey.services.waves import wave_by_code


@pytest.fixture(autouse=True)
def english(app):
    """Messages in English, as the tests match them."""
    with app.test_request_context("/?lang=en"):
        yield


@pytest.fixture
def wave(app):
    load_demo(responses=20, seed=3)
    db.session.commit()
    return wave_by_code(WAVE_CODE)


@pytest.fixture
def desk(wave):
    return db.session.scalar(select(ServicePoint).order_by(ServicePoint.code))


@pytest.fixture
def typists(make_user, desk):
    return (
        make_user("an@example.vn", "surveyor", units=[desk.unit]),
        make_user("binh@example.vn", "surveyor", units=[desk.unit]),
        make_user("chi@example.vn", "supervisor", units=[desk.unit]),
    )


def typed_form(wave, desk, **changes) -> dict[str, str]:
    """A whole form as a typist types it: a procedure of the desk, then each item's keys."""
    questionnaire = questionnaire_of(wave.questionnaire)
    typed = {}
    for item in questionnaire.items():
        scale = item.scale
        if scale.kind == "procedure":
            typed[item.code] = desk.procedures[0].code
        elif scale.kind == "text":
            typed[item.code] = "-"
        elif scale.kind == "multi":
            typed[item.code] = str(scale.values[0])
        else:
            choices = [v for v in scale.values if v != scale.not_applicable]
            typed[item.code] = str(choices[-1])
    _values, errors = paper.parse_typed(questionnaire, typed, [p.code for p in desk.procedures])
    for code in errors:  # skip logic: leave hidden questions blank
        typed[code] = "-"
    typed.update(changes)
    return typed


def test_every_single_digit_error_and_adjacent_swap_fails_the_check_digit():
    serial = paper.serial_of(1234567)
    assert paper.serial_problem(serial) is None
    for position, digit in itertools.product(range(9), "0123456789"):
        typo = serial[:position] + digit + serial[position + 1 :]
        if typo != serial:
            assert paper.serial_problem(typo) is not None, typo
    for position in range(8):
        swapped = (
            serial[:position] + serial[position + 1] + serial[position] + serial[position + 2 :]
        )
        if swapped != serial:
            assert paper.serial_problem(swapped) is not None, swapped


def test_two_agreeing_passes_make_one_paper_response(wave, desk, typists):
    first, second, _supervisor = typists
    (form,) = paper.issue_forms(wave, 1, service_point=desk, by=first)
    batch = paper.create_batch(wave, 1, service_point=desk, by=first)
    before = db.session.scalar(select(func.count(Response.id)))
    typed = typed_form(wave, desk)
    outcome = paper.save_pass(batch, form, first, typed, complete=True)
    assert outcome.status == "typed"
    with pytest.raises(UserError, match="someone else"):
        paper.form_for_entry(batch, form.serial, first)
    outcome = paper.save_pass(batch, form, second, typed, complete=True)
    db.session.commit()
    assert outcome.status == "settled"
    assert db.session.scalar(select(func.count(Response.id))) == before + 1
    response = db.session.get(Response, form.response_id)
    assert (response.channel, response.form_serial) == ("paper", form.serial)
    assert response.entered_by_id == first.id
    stored = db.session.scalar(
        select(func.count(Answer.id)).where(Answer.response_id == response.id)
    )
    assert stored == sum(1 for v in typed.values() if v != "-")
    counts = paper.batch_counts(batch)
    assert (counts.typed_once, counts.typed_twice, counts.settled, counts.missing) == (1, 1, 1, 0)
    assert counts.agreement_rate == 1.0
    with pytest.raises(UserError, match="settled already"):
        paper.form_for_entry(batch, form.serial, typists[2])


def test_a_dispute_is_settled_field_by_field_and_counted_once(wave, desk, typists):
    first, second, supervisor = typists
    (form,) = paper.issue_forms(wave, 1, service_point=desk, by=first)
    batch = paper.create_batch(wave, 2, service_point=desk, by=first)
    code = next(
        item.code
        for item in questionnaire_of(wave.questionnaire).items()
        if item.scale.kind == "likert5"
    )
    paper.save_pass(batch, form, first, typed_form(wave, desk, **{code: "4"}), complete=True)
    outcome = paper.save_pass(
        batch, form, second, typed_form(wave, desk, **{code: "2"}), complete=True
    )
    assert outcome.status == "disputed" and outcome.differing == [code]
    assert [(d.item, d.first, d.second) for d in paper.batch_disputes(batch)] == [(code, 4, 2)]
    with pytest.raises(paper.PassRefused):
        paper.settle_form(form, {}, supervisor)
    response = paper.settle_form(form, {code: "second"}, supervisor)
    db.session.commit()
    value = db.session.scalar(
        select(Answer.value_num).where(Answer.response_id == response.id, Answer.item_code == code)
    )
    assert value == 2
    stats = {s.typist.email: s for s in paper.typist_stats(scope=paper_scope())}
    assert stats["an@example.vn"].fields_lost == 1
    assert stats["binh@example.vn"].fields_lost == 0
    counts = paper.batch_counts(batch)
    assert (counts.settled, counts.disputed, counts.missing) == (1, 0, 1)
    assert counts.agreement_rate == 0.0
    with pytest.raises(UserError, match="say why"):
        paper.close_batch(batch, supervisor)
    paper.close_batch(batch, supervisor, "one form was lost at the desk")
    db.session.commit()
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {
        "paper forms issued",
        "batch created",
        "pass typed",
        "form settled",
        "batch closed",
    } <= actions


def test_bad_serials_and_values_are_refused_and_nothing_is_saved(wave, desk, typists):
    first, _second, _supervisor = typists
    forms = paper.issue_forms(wave, 2, service_point=desk, by=first)
    other_desk = db.session.scalar(select(ServicePoint).where(ServicePoint.id != desk.id))
    (elsewhere,) = paper.issue_forms(wave, 1, service_point=other_desk, by=first)
    batch = paper.create_batch(wave, 2, service_point=desk, by=first)
    db.session.commit()
    typo = forms[0].serial[:-1] + str((int(forms[0].serial[-1]) + 1) % 10)
    with pytest.raises(UserError, match="check digit"):
        paper.form_for_entry(batch, typo, first)
    with pytest.raises(UserError, match="printed for"):
        paper.form_for_entry(batch, elsewhere.serial, first)
    unknown = paper.serial_of(99_999_999)
    with pytest.raises(UserError, match="No form"):
        paper.form_for_entry(batch, unknown, first)
    code = next(
        item.code
        for item in questionnaire_of(wave.questionnaire).items()
        if item.scale.kind == "likert5"
    )
    with pytest.raises(paper.PassRefused) as refused:
        paper.save_pass(
            batch,
            forms[0],
            first,
            typed_form(wave, desk, **{code: "7"}),
            complete=True,
        )
    assert code in refused.value.errors
    db.session.rollback()
    assert (
        db.session.scalar(select(PaperForm.status).where(PaperForm.id == forms[0].id)) == "issued"
    )


def paper_scope():
    from survey.auth.policy import NATIONAL

    return NATIONAL
