"""Batches and settlement on the pages and the command line: registering a bundle, its
counts as forms are typed, settling a dispute, voiding, closing, ``paper status``."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from survey.entry import batches
from survey.extensions import db
from survey.models import Answer, AuditEntry, PaperBatch, PaperForm, Response
from survey.services import paper
from survey.services.questionnaires import sync_questionnaires
from survey.services.units import unit_by_code
from survey.services.waves import create_wave
from tests.conftest import sign_in
from tests.survey.paper_world import (
    disputed_form,
    likert_item,
    make_world,
    snapshot,
    typed_form,
)


@pytest.fixture
def world(app, make_user):
    return make_world(make_user)


def client_of(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def counts_on(page: str) -> dict[str, str]:
    """The batch page's counts table: label to the number shown."""
    return dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', page))


def new_batch(world, count: int, forms: int = 0):
    """A batch of ``count`` forms at our desk and ``forms`` printed forms for it."""
    printed = (
        paper.issue_forms(world.wave, forms, service_point=world.desk, by=None) if forms else []
    )
    batch = paper.create_batch(world.wave, count, service_point=world.desk, by=None)
    db.session.commit()
    return batch, printed


def paper_responses(serial: str) -> int:
    return db.session.scalar(
        select(func.count(Response.id)).where(
            Response.channel == "paper", Response.form_serial == serial
        )
    )


# --- registering a bundle ------------------------------------------------------------


def test_a_supervisor_registers_a_bundle_of_their_units(app, world):
    client = client_of(app, "chi@example.vn")
    form_page = page_text(client.get("/entry/batches/new"))
    assert world.desk.code in form_page
    assert world.foreign_desk.code not in form_page  # pick lists only in scope
    response = client.post(
        "/entry/batches/new",
        data={"wave": world.wave.code, "desk": world.desk.code, "unit": "", "count": "25"},
    )
    assert response.status_code == 302
    batch = db.session.scalar(select(PaperBatch).order_by(PaperBatch.id.desc()))
    assert response.headers["Location"].endswith(f"/entry/batches/{batch.code}")
    assert (batch.expected_count, batch.service_point_id, batch.status) == (
        25,
        world.desk.id,
        "open",
    )
    page = page_text(client.get(response.headers["Location"]))
    assert f"Batch {batch.code} registered with 25 forms" in page
    assert counts_on(page)["Missing"] == "25"
    assert db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "batch created", AuditEntry.entity_id == str(batch.id)
        )
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"desk": "MC-20209", "count": "5"}, "Choose the desk from the list."),
        ({"desk": "", "count": "5"}, "Choose the desk: this is a desk wave."),
        ({"desk": "MC-00004", "count": "0"}, "The count must be a whole number from 1 to {most}."),
        (
            {"desk": "MC-00004", "count": "ten"},
            "The count must be a whole number from 1 to {most}.",
        ),
        ({"desk": "MC-00004", "count": "²"}, "The count must be a whole number from 1 to {most}."),
        ({"desk": "MC-00004", "unit": "00004", "count": "5"}, "belong to a desk, not a cluster"),
    ],
)
def test_a_bad_bundle_is_refused_with_a_message_and_nothing_stored(app, world, fields, message):
    client = client_of(app, "chi@example.vn")
    before = snapshot()
    data = {"wave": world.wave.code, "unit": ""} | fields
    response = client.post("/entry/batches/new", data=data)
    assert response.status_code == 400
    assert message.format(most=paper.MAX_BATCH) in page_text(response)
    assert snapshot() == before


def test_a_household_bundle_belongs_to_a_cluster(app, world):
    household = next(v for v in sync_questionnaires() if v.kind == "household")
    wave = create_wave("HH-2026", "Hộ gia đình 2026", household)
    db.session.commit()
    client = client_of(app, "chi@example.vn")
    page = page_text(client.get("/entry/batches/new"))
    assert "00004" in page and "20209" not in page
    data = {"wave": wave.code, "desk": "", "unit": "00004", "count": "12"}
    assert client.post("/entry/batches/new", data=data).status_code == 302
    batch = db.session.scalar(select(PaperBatch).where(PaperBatch.wave_id == wave.id))
    assert (batch.unit_id, batch.service_point_id) == (unit_by_code("00004").id, None)
    refused = client.post("/entry/batches/new", data=data | {"unit": "", "desk": "MC-00004"})
    assert "belong to a cluster, not a desk" in page_text(refused)


# --- counts as forms are typed ---------------------------------------------------------


def test_the_batch_page_counts_forms_as_they_are_typed(app, world):
    batch, forms = new_batch(world, 4, forms=3)
    item = likert_item(world.wave)
    an, binh = world.user("an@example.vn"), world.user("binh@example.vn")
    client = client_of(app, "chi@example.vn")

    def counts():
        return counts_on(page_text(client.get(f"/entry/batches/{batch.code}")))

    assert counts()["Missing"] == "4"
    agreed = typed_form(world.wave, world.desk)
    paper.save_pass(batch, forms[0], an, agreed, complete=True)
    db.session.commit()
    shown = counts()
    assert (shown["Typed once"], shown["Typed twice"], shown["Missing"]) == ("1", "0", "3")
    paper.save_pass(batch, forms[0], binh, agreed, complete=True)
    db.session.commit()
    shown = counts()
    assert (shown["Typed twice"], shown["Settled"], shown["In dispute"]) == ("1", "1", "0")
    assert shown["Agreement rate, in percent"] == "100.0"
    disputed_form(world, batch, forms[1], item)
    paper.save_pass(batch, forms[2], an, agreed, complete=False)  # a draft is not typed yet
    db.session.commit()
    page = page_text(client.get(f"/entry/batches/{batch.code}"))
    shown = counts_on(page)
    assert (shown["Typed once"], shown["Typed twice"], shown["Settled"]) == ("2", "2", "1")
    assert (shown["In dispute"], shown["Missing"], shown["Void"]) == ("1", "1", "0")
    assert shown["Agreement rate, in percent"] == "50.0"
    assert f"/entry/forms/{forms[1].serial}/settle" in page
    assert f"Settle form {forms[1].serial}" in page


def forms_listed(page: str) -> list[tuple[str, str, str]]:
    """The batch page's list of forms: (serial as shown, status, finished passes)."""
    return re.findall(
        r'<tr>\s*<td>([\d ]+)</td>\s*<td>([^<]+)</td>\s*<td class="num">(\d+)</td>', page
    )


def test_a_large_batch_lists_its_forms_by_status_a_page_at_a_time(app, world, monkeypatch):
    monkeypatch.setattr(batches, "FORMS_PER_PAGE", 2)
    batch, forms = new_batch(world, 6, forms=5)
    an, binh = world.user("an@example.vn"), world.user("binh@example.vn")
    agreed = typed_form(world.wave, world.desk)
    for form in forms[:3]:
        paper.save_pass(batch, form, an, agreed, complete=True)
    paper.save_pass(batch, forms[2], binh, agreed, complete=True)  # settled
    disputed_form(world, batch, forms[3], likert_item(world.wave))
    db.session.commit()
    shown = [(paper.grouped_serial(f.serial), s, n) for f, s, n in zip(
        forms[:4], ["typed once", "typed once", "settled", "in dispute"], "1122", strict=True
    )]  # fmt: skip
    client = client_of(app, "chi@example.vn")
    url = f"/entry/batches/{batch.code}"

    first = page_text(client.get(url))
    assert forms_listed(first) == shown[:2]
    assert "Forms 1–2 of 4; page 1 of 2." in first
    for label in ("all (4)", "typed once (2)", "settled (1)", "in dispute (1)", "void (0)"):
        assert label in first
    assert f'href="{url}?status=disputed#forms">in dispute (1)' in first
    assert f'href="{url}?page=2#forms" rel="next"' in first
    second = page_text(client.get(url + "?page=2"))
    assert forms_listed(second) == shown[2:]
    assert "page 2 of 2" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert forms_listed(page_text(client.get(url + "?page=99"))) == shown[2:]  # the last
    assert forms_listed(page_text(client.get(url + "?page=x"))) == shown[:2]
    assert forms_listed(page_text(client.get(url + "?status=typed"))) == shown[:2]
    only_disputed = page_text(client.get(url + "?status=disputed"))
    assert forms_listed(only_disputed) == shown[3:]
    assert "page 1 of" not in only_disputed  # one page: no page links
    assert "No form of this batch has this status." in page_text(client.get(url + "?status=void"))
    assert client.get(url + "?status=lost").status_code == 400


def test_a_form_printed_and_typed_in_one_transaction_counts_as_agreed(app, world):
    """Printed, registered and typed twice before any commit (as one import can do)."""
    (form,) = paper.issue_forms(world.wave, 1, service_point=world.desk, by=None)
    batch = paper.create_batch(world.wave, 1, service_point=world.desk, by=None)
    agreed = typed_form(world.wave, world.desk)
    for email in ("an@example.vn", "binh@example.vn"):
        paper.save_pass(batch, form, world.user(email), agreed, complete=True)
    db.session.commit()
    shown = counts_on(
        page_text(client_of(app, "chi@example.vn").get(f"/entry/batches/{batch.code}"))
    )
    assert (shown["Settled"], shown["Agreement rate, in percent"]) == ("1", "100.0")


def test_a_surveyor_sees_the_batch_to_type_but_no_values_in_dispute(app, world):
    batch, forms = new_batch(world, 2, forms=1)
    item = likert_item(world.wave)
    disputed_form(world, batch, forms[0], item)
    client = client_of(app, "an@example.vn")
    landing = page_text(client.get("/entry/"))
    assert batch.code in landing
    assert f"/entry/batches/{batch.code}/type" in landing
    assert "/settle" not in landing and "Forms in dispute" not in landing
    page = page_text(client.get(f"/entry/batches/{batch.code}"))
    assert counts_on(page)["In dispute"] == "1"
    assert "/settle" not in page and "Close the batch" not in page
    supervisor = page_text(client_of(app, "chi@example.vn").get("/entry/"))
    assert f"/entry/forms/{forms[0].serial}/settle" in supervisor
    assert "/entry/batches/new" in supervisor


def test_the_batch_list_filters_by_wave_and_status(app, world):
    open_batch, _forms = new_batch(world, 3)
    closed_batch, _forms = new_batch(world, 2)
    paper.close_batch(closed_batch, None, "bundle lost in the post")
    foreign = paper.create_batch(world.wave, 2, service_point=world.foreign_desk, by=None)
    db.session.commit()
    client = client_of(app, "chi@example.vn")
    shown = page_text(client.get("/entry/batches"))
    assert open_batch.code in shown and closed_batch.code not in shown
    assert foreign.code not in shown
    every = page_text(client.get("/entry/batches?status=all"))
    assert open_batch.code in every and closed_batch.code in every and foreign.code not in every
    closed = page_text(client.get(f"/entry/batches?status=closed&wave={world.wave.code}"))
    assert closed_batch.code in closed and open_batch.code not in closed
    other_wave = page_text(client.get("/entry/batches?status=all&wave=DEMO-2024"))
    assert open_batch.code not in other_wave and closed_batch.code not in other_wave


# --- settlement ----------------------------------------------------------------------


def test_a_supervisor_settles_a_dispute_on_the_page_and_it_counts_once(app, world):
    batch, (form,) = new_batch(world, 1, forms=1)
    item = likert_item(world.wave)
    disputed_form(world, batch, form, item)
    client = client_of(app, "chi@example.vn")
    page = page_text(client.get(f"/entry/forms/{form.serial}/settle"))
    assert "an@example.vn" in page and "binh@example.vn" in page  # the typists
    marked = re.findall(r'<tr class="differs">(.*?)</tr>', page, re.S)  # the table's rows
    assert len(marked) == 1 and f">{item}</span>" in marked[0]
    assert "≠" in marked[0] and "Differs" in marked[0]  # a sign and a word, not colour alone
    assert f'name="choice-{item}"' in page and 'name="choice-' + item + '"' in page
    assert len(re.findall(r'type="radio" name="choice-', page)) == 3  # one field in dispute
    before = snapshot()
    refused = client.post(f"/entry/forms/{form.serial}/settle", data={})
    assert refused.status_code == 400
    assert "Choose the value on the paper." in page_text(refused)
    assert snapshot() == before
    response = client.post(f"/entry/forms/{form.serial}/settle", data={f"choice-{item}": "second"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/entry/batches/{batch.code}")
    assert f"Form {form.serial} is settled" in page_text(client.get(response.headers["Location"]))
    assert paper_responses(form.serial) == 1
    settled = db.session.scalar(select(Response).where(Response.form_serial == form.serial))
    value = db.session.scalar(
        select(Answer.value_num).where(Answer.response_id == settled.id, Answer.item_code == item)
    )
    assert value == 2
    again = client.post(f"/entry/forms/{form.serial}/settle", data={f"choice-{item}": "first"})
    assert again.status_code == 400
    assert "is not in dispute" in page_text(again)
    assert paper_responses(form.serial) == 1
    audit = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "form settled").order_by(AuditEntry.id.desc())
    )
    assert audit.user_id == world.user("chi@example.vn").id
    assert audit.detail["after"]["fields"][item] == {"first": 4, "second": 2, "settled": 2}


def test_a_value_read_on_the_paper_settles_a_field_and_a_bad_one_is_refused(app, world):
    batch, (form,) = new_batch(world, 1, forms=1)
    item = likert_item(world.wave)
    disputed_form(world, batch, form, item)
    client = client_of(app, "chi@example.vn")
    before = snapshot()
    bad = client.post(
        f"/entry/forms/{form.serial}/settle", data={f"choice-{item}": "other", f"other-{item}": "7"}
    )
    assert bad.status_code == 400
    assert "Type 1, 2, 3, 4, 5, or - for no answer" in page_text(bad)
    assert snapshot() == before
    empty = client.post(f"/entry/forms/{form.serial}/settle", data={f"choice-{item}": "other"})
    assert "Type the value on the paper, or - for no answer." in page_text(empty)
    assert snapshot() == before
    good = client.post(
        f"/entry/forms/{form.serial}/settle", data={f"choice-{item}": "other", f"other-{item}": "3"}
    )
    assert good.status_code == 302
    response = db.session.scalar(select(Response).where(Response.form_serial == form.serial))
    value = db.session.scalar(
        select(Answer.value_num).where(Answer.response_id == response.id, Answer.item_code == item)
    )
    assert value == 3
    db.session.expire_all()
    stats = {s.typist.email: s for s in paper.typist_stats(scope=_national())}
    assert stats["an@example.vn"].fields_lost == stats["binh@example.vn"].fields_lost == 1


def test_a_supervisor_who_typed_a_pass_cannot_settle_it(app, world):
    batch, (form,) = new_batch(world, 1, forms=1)
    item = likert_item(world.wave)
    chi = world.user("chi@example.vn")
    paper.save_pass(batch, form, world.user("an@example.vn"),
                    typed_form(world.wave, world.desk, **{item: "4"}), complete=True)  # fmt: skip
    paper.save_pass(
        batch, form, chi, typed_form(world.wave, world.desk, **{item: "5"}), complete=True
    )
    db.session.commit()
    client = client_of(app, "chi@example.vn")
    page = page_text(client.get(f"/entry/forms/{form.serial}/settle"))
    assert "You typed a pass of this form: another supervisor settles it." in page
    assert 'type="radio"' not in page
    before = snapshot()
    refused = client.post(f"/entry/forms/{form.serial}/settle", data={f"choice-{item}": "first"})
    assert refused.status_code == 400
    assert snapshot() == before
    other = client_of(app, "dung@example.vn")
    assert (
        other.post(
            f"/entry/forms/{form.serial}/settle", data={f"choice-{item}": "first"}
        ).status_code
        == 302
    )
    assert paper_responses(form.serial) == 1


# --- voiding -------------------------------------------------------------------------


def test_a_disputed_form_is_voided_with_a_reason(app, world):
    batch, (form,) = new_batch(world, 1, forms=1)
    disputed_form(world, batch, form, likert_item(world.wave))
    client = client_of(app, "chi@example.vn")
    before = snapshot()
    refused = client.post(f"/entry/forms/{form.serial}/void", data={"reason": "  "})
    assert refused.status_code == 400
    assert "Say why the form is void." in page_text(refused)
    assert snapshot() == before
    response = client.post(f"/entry/forms/{form.serial}/void", data={"reason": "torn in half"})
    assert response.status_code == 302
    db.session.expire_all()
    voided = db.session.get(PaperForm, form.id)
    assert (voided.status, voided.void_reason) == ("void", "torn in half")
    assert paper_responses(form.serial) == 0
    counts = counts_on(page_text(client.get(f"/entry/batches/{batch.code}")))
    assert (counts["Void"], counts["In dispute"], counts["Missing"]) == ("1", "0", "0")


def test_a_blank_form_of_a_bundle_is_found_by_serial_and_counted_void_in_it(app, world):
    batch, forms = new_batch(world, 2, forms=2)
    client = client_of(app, "chi@example.vn")
    typo = forms[0].serial[:-1] + str((int(forms[0].serial[-1]) + 1) % 10)
    wrong = client.get(f"/entry/batches/{batch.code}?serial={typo}")
    assert wrong.status_code == 400 and "fails its check digit" in page_text(wrong)
    found = client.get(f"/entry/batches/{batch.code}?serial={forms[0].serial}")
    assert found.status_code == 302
    page = page_text(client.get(found.headers["Location"]))
    assert re.search(rf'name="batch" type="hidden" value="{batch.code}"', page)
    response = client.post(
        f"/entry/forms/{forms[0].serial}/void",
        data={"reason": "returned blank", "batch": batch.code},
    )
    assert response.status_code == 302
    counts = counts_on(page_text(client.get(f"/entry/batches/{batch.code}")))
    assert (counts["Void"], counts["Missing"]) == ("1", "1")


# --- closing -------------------------------------------------------------------------


def test_closing_with_forms_missing_needs_a_reason_and_changes_nothing_without(app, world):
    batch, (form,) = new_batch(world, 3, forms=1)
    agreed = typed_form(world.wave, world.desk)
    for email in ("an@example.vn", "binh@example.vn"):
        paper.save_pass(batch, form, world.user(email), agreed, complete=True)
    db.session.commit()
    client = client_of(app, "chi@example.vn")
    before = snapshot()
    refused = client.post(f"/entry/batches/{batch.code}/close", data={"reason": ""})
    assert refused.status_code == 400
    page = page_text(refused)
    message = f"2 forms of batch {batch.code} are missing: say why before closing it."
    assert re.search(r'id="reason-error">' + re.escape(message), page)  # next to the field
    assert snapshot() == before
    closed = client.post(
        f"/entry/batches/{batch.code}/close", data={"reason": "two forms never came back"}
    )
    assert closed.status_code == 302
    db.session.expire_all()
    stored = db.session.get(PaperBatch, batch.id)
    assert (stored.status, stored.close_reason) == ("closed", "two forms never came back")
    page = page_text(client.get(f"/entry/batches/{batch.code}"))
    assert "two forms never came back" in page and "/close" not in page


# --- the surveyors' page ---------------------------------------------------------------


def test_the_surveyors_page_shows_forms_per_day_and_fields_lost(app, world):
    batch, (form,) = new_batch(world, 1, forms=1)
    item = likert_item(world.wave)
    disputed_form(world, batch, form, item)
    paper.settle_form(form, {item: "second"}, world.user("chi@example.vn"))
    db.session.commit()
    fields = len(typed_form(world.wave, world.desk))
    page = page_text(client_of(app, "chi@example.vn").get("/entry/surveyors"))
    summary, per_day, per_batch = _sections(page, "Forms typed per day", "Per batch")
    rows = table_rows(summary)
    assert rows["an@example.vn"] == ["1", str(fields), "1", "1", f"{100 / fields:.2f}"]
    assert rows["binh@example.vn"] == ["1", str(fields), "1", "0", "0.00"]
    days = table_rows(per_day)
    assert len(days["an@example.vn"]) == 14
    assert days["an@example.vn"][-1] == days["binh@example.vn"][-1] == "1"  # today
    assert sum(int(n) for n in days["an@example.vn"]) == 1
    batches = re.findall(r">(B\d{6})</a></td>.*?</tr>", per_batch, re.S)
    assert batch.code in batches
    batch_row = re.search(re.escape(batch.code) + r"</a></td>(.*?)</tr>", per_batch, re.S)
    assert re.findall(r'class="num">([^<]*)<', batch_row.group(1)) == ["1", "0", "0.0"]
    foreign = page_text(client_of(app, "foreign-supervisor@example.vn").get("/entry/surveyors"))
    assert "an@example.vn" not in foreign and batch.code not in foreign


# --- the command line -------------------------------------------------------------------


def test_paper_batch_create_prints_the_new_batch_code(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "paper",
            "batch",
            "create",
            "--wave",
            world.wave.code,
            "--desk",
            world.desk.code,
            "--count",
            "40",
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    code = result.output.strip()
    assert re.fullmatch(r"B\d{6}", code)
    batch = db.session.scalar(select(PaperBatch).where(PaperBatch.code == code))
    assert (batch.expected_count, batch.service_point_id, batch.created_by_id) == (
        40,
        world.desk.id,
        None,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--wave", "NOPE", "--desk", "MC-00004", "--count", "5"], "No wave has the code NOPE."),
        (["--wave", "DEMO-2025", "--desk", "NOPE", "--count", "5"], "No desk has the code NOPE."),
        (["--wave", "DEMO-2025", "--count", "5"], "Name either --desk"),
        (
            ["--wave", "DEMO-2025", "--desk", "MC-00004", "--unit", "00004", "--count", "5"],
            "Name either --desk",
        ),  # fmt: skip
        (["--wave", "DEMO-2025", "--desk", "MC-00004", "--count", "x"], "whole number from 1"),
        (["--wave", "DEMO-2025", "--desk", "MC-00004", "--count", "0"], "whole number from 1"),
        (["--wave", "DEMO-2025", "--unit", "00004", "--count", "5"], "is a desk wave"),
        (["--wave", "DEMO-2024", "--desk", "MC-00004", "--count", "5"], "is closed"),
    ],
)
def test_paper_batch_create_refuses_bad_input_in_one_line(app, world, options, message):
    before = snapshot()
    result = app.test_cli_runner().invoke(args=["paper", "batch", "create", *options])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert snapshot() == before


def test_paper_status_prints_counts_and_fields_in_dispute(app, world):
    batch, forms = new_batch(world, 5, forms=3)
    item = likert_item(world.wave)
    agreed = typed_form(world.wave, world.desk)
    for email in ("an@example.vn", "binh@example.vn"):
        paper.save_pass(batch, forms[0], world.user(email), agreed, complete=True)
    disputed_form(world, batch, forms[1], item)
    paper.void_form(forms[2], "unreadable", world.user("chi@example.vn"), batch=batch)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["paper", "status", "--batch", batch.code, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["batch"] == batch.code
    assert report["counts"] == {
        "typed_once": 2,
        "typed_twice": 2,
        "settled": 1,
        "disputed": 1,
        "missing": 2,  # 5 in the bundle, 3 typed or voided in it
        "void": 1,
    }
    assert report["disputes"] == [
        {"serial": forms[1].serial, "item": item, "first": 4, "second": 2}
    ]
    text = runner.invoke(args=["paper", "status", "--batch", batch.code.lower()])
    assert text.exit_code == 0
    assert "disputed: 1" in text.output and "missing: 2" in text.output
    assert f"{forms[1].serial} {item} first=4 second=2" in text.output
    unknown = runner.invoke(args=["paper", "status", "--batch", "B999999"])
    assert unknown.exit_code == 2
    assert unknown.output.strip().splitlines() == ["Error: No batch has the code B999999."]


def table_rows(page: str) -> dict[str, list[str]]:
    """Each row of a table headed by a ``th`` (its label) with its number cells."""
    rows = re.findall(r'<th scope="row">([^<]+)</th>((?:\s*<td class="num">[^<]*</td>)+)', page)
    return {label: re.findall(r">([^<]*)</td>", cells) for label, cells in rows}


def _sections(page: str, *headings: str) -> list[str]:
    """``page`` cut before each ``<h2>`` of ``headings``."""
    parts = []
    for heading in headings:
        before, page = page.split(f"<h2>{heading}</h2>", 1)
        parts.append(before)
    return [*parts, page]


def _national():
    from survey.auth.policy import NATIONAL

    return NATIONAL
