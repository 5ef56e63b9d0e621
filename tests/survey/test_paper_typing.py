"""The keyboard-only entry screen, server side: a serial refused at its field, a pass
typed whole (no JavaScript needed), refused fields shown beside each other and kept as a
draft, the draft saved as JSON and found again, double entry, and who may type.

The data are the demo's (province 01 is the typists'), forms issued and batches made
through ``services.paper``; pages are read as a typist reads them.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    AuditEntry,
    PaperForm,
    PaperPass,
    Procedure,
    QuestionnaireVersion,
    Response,
    ServicePoint,
    Unit,
)
from survey.services import paper
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.questionnaires import questionnaire_of
from survey.services.waves import create_wave, open_wave, wave_by_code
from tests.conftest import sign_in

OWN_PROVINCE, FOREIGN_PROVINCE = "01", "48"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def desks_of(province: str) -> list[ServicePoint]:
    """The demo desks of a province, by code."""
    desks = db.session.scalars(select(ServicePoint).order_by(ServicePoint.code)).all()
    return [d for d in desks if province in (d.unit.code, d.unit.parent and d.unit.parent.code)]


class Office:
    """Province 01's desk, its forms and batches, the typists, and their signed-in clients."""

    def __init__(self, app, make_user) -> None:
        load_demo(responses=10, seed=5)
        db.session.commit()
        self.app = app
        self.wave = wave_by_code(WAVE_CODE)
        self.questionnaire = questionnaire_of(self.wave.questionnaire)
        self.desk, self.other_desk = desks_of(OWN_PROVINCE)[:2]
        self.forms = paper.issue_forms(self.wave, 4, service_point=self.desk, by=None)
        self.batch = paper.create_batch(self.wave, 4, service_point=self.desk, by=None)
        self.other_batch = paper.create_batch(self.wave, 1, service_point=self.desk, by=None)
        province = unit(OWN_PROVINCE)
        self.users = {
            name: make_user(f"{name}@example.vn", role, units=[province])
            for name, role in (
                ("an", "surveyor"),
                ("binh", "surveyor"),
                ("chi", "supervisor"),
                ("analyst", "analyst"),
                ("admin", "admin"),
            )
        }
        self.users["foreign"] = make_user(
            "foreign@example.vn", "surveyor", units=[unit(FOREIGN_PROVINCE)]
        )
        db.session.commit()

    def client(self, name: str):
        client = self.app.test_client()
        assert sign_in(client, f"{name}@example.vn").status_code == 302
        return client

    def type_url(self, batch=None) -> str:
        return f"/entry/batches/{(batch or self.batch).code}/type"

    def pass_url(self, form, batch=None) -> str:
        return f"/entry/batches/{(batch or self.batch).code}/forms/{form.serial}"

    def typed(self, **changes: str) -> dict[str, str]:
        """A whole desk form in entry codes: a procedure of the desk, the last option of
        each scale (not "not applicable"), the first of a multi-select, no comment."""
        typed = {}
        for item in paper.entry_items(self.questionnaire):
            scale = item.scale
            if scale.kind == "procedure":
                typed[item.code] = self.desk.procedures[0].code
            elif scale.kind == "text":
                typed[item.code] = ""
            elif scale.kind == "multi":
                typed[item.code] = str(scale.values[0])
            else:
                typed[item.code] = str([v for v in scale.values if v != scale.not_applicable][-1])
        typed.update(changes)
        return typed

    def code_of(self, kind: str, n: int = 0) -> str:
        return [i.code for i in self.questionnaire.items() if i.scale.kind == kind][n]

    def snapshot(self) -> tuple:
        """What typing changes: passes, their answers, forms' status and batch, audit."""
        db.session.expire_all()
        passes = db.session.execute(
            select(PaperPass.id, PaperPass.answers, PaperPass.completed_at).order_by(PaperPass.id)
        ).all()
        forms = db.session.execute(
            select(PaperForm.serial, PaperForm.status, PaperForm.batch_id).order_by(PaperForm.id)
        ).all()
        return passes, forms, count(Response), count(AuditEntry)


@pytest.fixture
def office(app, make_user) -> Office:
    return Office(app, make_user)


def hint(app, item) -> str:
    """The keys an item takes, as the service words them for an English reader."""
    with app.test_request_context("/?lang=en"):
        return paper.allowed_hint(item)


def field_error(page: str, code: str) -> str:
    """The message shown beside item ``code``'s field (its aria-describedby error)."""
    tag = re.search(rf'<input[^>]*\bid="f-{re.escape(code)}"[^>]*>', page).group(0)
    assert f"f-{code}-error" in tag.split('aria-describedby="')[1].split('"')[0]
    found = re.search(rf'<p[^>]*id="f-{re.escape(code)}-error"[^>]*>(.*?)</p>', page, re.S)
    return found.group(1).strip()


def field_value(page: str, code: str) -> str:
    tag = re.search(rf'<input[^>]*\bid="f-{re.escape(code)}"[^>]*>', page).group(0)
    return re.search(r'\bvalue="([^"]*)"', tag).group(1)


def serial_error(page: str) -> str:
    tag = re.search(r'<input[^>]*\bid="serial"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in tag and "serial-error" in tag
    return re.search(r'<p class="error" id="serial-error">(.*?)</p>', page, re.S).group(1)


# --- the serial field -----------------------------------------------------------------------


def mistyped(serial: str) -> str:
    return serial[:-1] + str((int(serial[-1]) + 1) % 10)


def other_wave_form(office: Office) -> PaperForm:
    """A form printed ahead for the next wave (a draft wave: one desk wave is open)."""
    wave = create_wave("PAPER-2", "Đợt giấy thứ hai", office.wave.questionnaire)
    return paper.issue_forms(wave, 1, service_point=office.desk, by=None)[0]


def other_batch_form(office: Office) -> PaperForm:
    """A form of the desk already typed (in part) into the desk's other batch."""
    form = office.forms[3]
    paper.save_pass(office.other_batch, form, office.users["chi"], {}, complete=False)
    return form


REFUSALS = {
    "mistyped check digit": (lambda o: mistyped(o.forms[0].serial), "check digit"),
    "unknown": (lambda o: paper.serial_of(99_999_990), "No form has serial"),
    "other wave": (lambda o: other_wave_form(o).serial, "belongs to wave PAPER-2"),
    "other desk": (
        lambda o: paper.issue_forms(o.wave, 1, service_point=o.other_desk, by=None)[0].serial,
        "was printed for",
    ),
    "other batch": (lambda o: other_batch_form(o).serial, "is in batch"),
    "other province": (
        lambda o: (
            paper.issue_forms(o.wave, 1, service_point=desks_of(FOREIGN_PROVINCE)[0], by=None)[
                0
            ].serial
        ),
        "No form has serial",
    ),
    "too short": (lambda o: "1234", "A serial is 9 digits"),
}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refused_serial_is_shown_at_its_field_and_nothing_changes(office, kind):
    make, expected = REFUSALS[kind]
    serial = make(office)
    db.session.commit()
    client = office.client("an")
    before = office.snapshot()
    response = client.post(office.type_url(), data={"serial": serial})
    assert response.status_code == 400
    message = serial_error(text(response))
    assert expected in message
    if kind == "other province":
        assert desks_of(FOREIGN_PROVINCE)[0].name not in text(response)
    assert office.snapshot() == before


def test_a_good_serial_opens_the_form_in_the_papers_order(office):
    client = office.client("an")
    page = text(client.get(office.type_url()))
    assert " autofocus" in re.search(r'<input[^>]*\bid="serial"[^>]*>', page).group(0)
    serial = paper.grouped_serial(office.forms[0].serial)  # as printed, with its spaces
    response = client.post(office.type_url(), data={"serial": serial})
    assert response.status_code == 302
    assert response.headers["Location"] == office.pass_url(office.forms[0])
    page = text(client.get(office.pass_url(office.forms[0])))
    codes = re.findall(r'<input type="text" id="f-([^"]+)" name="([^"]+)"', page)
    items = paper.entry_items(office.questionnaire)
    assert [name for _id, name in codes] == [item.code for item in items]
    for item in items:
        assert re.search(rf'<label for="f-{re.escape(item.code)}"><span[^>]*>{item.code}<', page)
        if item.scale.options:
            assert hint(office.app, item) in page
    offered = set(re.findall(r'<option value="([^"]+)"', page))
    assert offered == {p.code for p in office.desk.procedures}
    elsewhere = {p.code for p in db.session.scalars(select(Procedure))} - offered
    assert elsewhere, "the demo has procedures the desk does not handle"
    first = items[0].code
    assert re.search(rf'id="f-{re.escape(first)}"[^>]*autofocus', page)


# --- passes -----------------------------------------------------------------------------------


def test_two_agreeing_passes_settle_the_form_once(office):
    form = office.forms[0]
    comment = office.code_of("text")
    first_typed = office.typed(**{comment: "Nhân viên rất tận tình"})
    an, binh, chi = office.client("an"), office.client("binh"), office.client("chi")
    responses = count(Response)

    response = an.post(office.pass_url(form), data={**first_typed, "action": "complete"})
    assert response.status_code == 302
    assert response.headers["Location"] == office.type_url()
    assert "typed once" in text(an.get(office.type_url()))
    assert count(Response) == responses

    before = office.snapshot()
    again = an.post(office.type_url(), data={"serial": form.serial})
    assert again.status_code == 400
    assert "someone else" in serial_error(text(again))
    direct = an.post(office.pass_url(form), data={**first_typed, "action": "complete"})
    assert direct.status_code == 400 and "someone else" in serial_error(text(direct))
    assert office.snapshot() == before

    second = text(binh.get(office.pass_url(form)))
    for item in paper.entry_items(office.questionnaire):
        assert field_value(second, item.code) == "", item.code
    assert "Nhân viên rất tận tình" not in second

    response = binh.post(office.pass_url(form), data={**first_typed, "action": "complete"})
    assert response.status_code == 302
    assert "settled" in text(binh.get(office.type_url()))
    assert count(Response) == responses + 1
    db.session.expire_all()
    settled = db.session.get(PaperForm, form.id)
    stored = db.session.get(Response, settled.response_id)
    assert (settled.status, stored.channel, stored.form_serial) == ("settled", "paper", form.serial)

    before = office.snapshot()
    third = chi.post(office.type_url(), data={"serial": form.serial})
    assert third.status_code == 400 and "settled already" in serial_error(text(third))
    forced = chi.post(office.pass_url(form), data={**first_typed, "action": "complete"})
    assert forced.status_code == 400
    assert office.snapshot() == before


def test_a_second_pass_that_differs_puts_the_form_in_dispute(office):
    form = office.forms[1]
    scale_item = office.code_of("likert5", 2)
    office_clients = office.client("an"), office.client("binh")
    office_clients[0].post(office.pass_url(form), data={**office.typed(), "action": "complete"})
    changed = office.typed(**{scale_item: "2"})
    office_clients[1].post(office.pass_url(form), data={**changed, "action": "complete"})
    page = text(office_clients[1].get(office.type_url()))
    assert "in dispute" in page
    db.session.expire_all()
    assert db.session.get(PaperForm, form.id).status == "disputed"
    assert paper.differing_items(db.session.get(PaperForm, form.id)) == [scale_item]


def test_refused_answers_are_shown_beside_each_field_and_the_rest_kept_as_draft(office):
    form = office.forms[0]
    out_of_range, blank = office.code_of("likert5", 0), office.code_of("likert5", 1)
    no_na = next(
        item.code
        for item in office.questionnaire.items()
        if item.scale.options and item.scale.not_applicable is None
    )
    typed = office.typed(**{out_of_range: "7", blank: "", no_na: "/"})
    an = office.client("an")
    responses = count(Response)
    response = an.post(office.pass_url(form), data={**typed, "action": "complete"})
    assert response.status_code == 400
    page = text(response)
    item = office.questionnaire.item(out_of_range)
    assert field_error(page, out_of_range) == hint(office.app, item)
    assert field_error(page, blank) == "Type the answer, or - for no answer."
    assert "not applicable" in field_error(page, no_na)
    assert re.search(rf'id="f-{re.escape(out_of_range)}"[^>]*aria-invalid="true"', page)
    kept = [c for c in typed if c not in (out_of_range, blank, no_na)]
    assert all(field_error(page, code) == "" for code in kept)
    assert field_value(page, out_of_range) == "7"  # shown back as typed, to be corrected
    assert count(Response) == responses
    db.session.expire_all()
    (draft,) = db.session.scalars(select(PaperPass).where(PaperPass.form_id == form.id)).all()
    assert draft.completed_at is None
    assert out_of_range not in draft.answers and no_na not in draft.answers
    reopened = text(an.get(office.pass_url(form)))
    for code in kept:
        assert field_value(reopened, code) == (typed[code] or ""), code
    assert field_value(reopened, out_of_range) == ""
    first_refused = next(c for c in typed if c in (out_of_range, blank, no_na))
    assert re.search(rf'id="f-{re.escape(first_refused)}"[^>]*autofocus', reopened)
    # without JavaScript, "Keep as a draft" saves what is right and goes back to the serials
    kept_back = an.post(office.pass_url(form), data={**typed, out_of_range: "4", "action": "draft"})
    assert kept_back.headers["Location"] == office.type_url()
    assert "kept as a draft" in text(an.get(office.type_url()))
    db.session.expire_all()
    draft = db.session.get(PaperPass, draft.id)
    assert draft.answers[out_of_range] == 4 and draft.completed_at is None


def test_an_answer_the_skip_logic_forbids_is_refused(app, make_user):
    load_demo(responses=0, seed=5)
    version = db.session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.kind == "household")
        .order_by(QuestionnaireVersion.version.desc())
    ).first()
    wave = create_wave("HH-PAPER", "Khảo sát hộ gia đình", version)
    open_wave(wave)
    commune = unit("00004")
    (form,) = paper.issue_forms(wave, 1, unit=commune, by=None)
    batch = paper.create_batch(wave, 1, unit=commune, by=None)
    make_user("an@example.vn", "surveyor", units=[unit(OWN_PROVINCE)])
    db.session.commit()
    questionnaire = questionnaire_of(version)
    skipped = next(item for item in questionnaire.items() if item.show_if)
    controller = questionnaire.item(skipped.show_if[0])
    other = next(v for v in controller.scale.values if v not in skipped.show_if[1])
    typed = {item.code: "-" for item in questionnaire.items() if item.scale.kind != "text"}
    typed.update({controller.code: str(other), skipped.code: "1"})
    client = app.test_client()
    sign_in(client, "an@example.vn")
    url = f"/entry/batches/{batch.code}/forms/{form.serial}"
    page = text(client.get(url))
    assert re.search(
        rf'id="f-{re.escape(skipped.code)}"[^>]*data-show-item="{controller.code}"', page
    )
    response = client.post(url, data={**typed, "action": "complete"})
    assert response.status_code == 400
    assert field_error(text(response), skipped.code).startswith("Skipped on this form")
    assert field_error(text(response), controller.code) == ""
    db.session.expire_all()
    assert db.session.get(PaperForm, form.id).status == "typed"  # a draft, not a pass
    assert count(Response) == 0
    typed[skipped.code] = ""
    assert client.post(url, data={**typed, "action": "complete"}).status_code == 302


# --- the draft --------------------------------------------------------------------------------


def post_draft(client, url: str, typed, **kwargs):
    return client.post(
        url + "/draft",
        data=json.dumps(typed),
        content_type="application/json",
        headers={"Accept": "application/json", **kwargs.pop("headers", {})},
        **kwargs,
    )


def test_a_draft_is_saved_as_each_field_is_left_and_found_again(office):
    form = office.forms[2]
    url = office.pass_url(form)
    an = office.client("an")
    codes = [item.code for item in paper.entry_items(office.questionnaire)]
    whole = office.typed()
    so_far = {code: whole[code] for code in codes[:5]}
    bad = codes[5]
    response = post_draft(an, url, {**so_far, bad: "9"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "typed"
    assert list(response.get_json()["errors"]) == [bad]
    page = text(an.get(url))  # the tab was closed; the serial typed again
    for code in codes[:5]:
        assert field_value(page, code) == so_far[code]
    assert field_value(page, bad) == ""
    assert re.search(rf'id="f-{re.escape(bad)}"[^>]*autofocus', page)  # goes on where it stopped
    listed = text(an.get(office.type_url()))
    assert paper.grouped_serial(form.serial) in listed  # among the typist's unfinished forms
    other = text(office.client("binh").get(url))
    assert all(field_value(other, code) == "" for code in codes)
    assert paper.grouped_serial(form.serial) not in text(
        office.client("binh").get(office.type_url())
    )
    db.session.expire_all()
    assert db.session.get(PaperForm, form.id).status == "typed"


def test_a_draft_too_large_or_malformed_is_refused_and_nothing_is_stored(office):
    url = office.pass_url(office.forms[2])
    an = office.client("an")
    before = office.snapshot()
    limit = office.app.config["MAX_FORM_BYTES"]
    comment = office.code_of("text")
    assert post_draft(an, url, {comment: "x" * limit}).status_code == 413
    for malformed in ([], {"S-A1": 4}, "4"):
        response = post_draft(an, url, malformed)
        assert response.status_code == 400
        assert "item code to text" in response.get_json()["message"]
    assert office.snapshot() == before


def test_the_draft_takes_the_csrf_token_in_its_header(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    office = Office(app, make_user)
    client = app.test_client()
    page = client.get("/auth/login?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/auth/login", data={"email": "an@example.vn", "password": "correct horse battery",
                             "csrf_token": token},
    )  # fmt: skip
    url = office.pass_url(office.forms[0])
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    typed = {office.code_of("likert5"): "4"}
    assert post_draft(client, url, typed).status_code == 400
    assert post_draft(client, url, typed, headers={"X-CSRFToken": token}).status_code == 200


# --- who may type -------------------------------------------------------------------------------


def test_other_roles_and_provinces_are_refused_on_every_typing_url(office):
    form = office.forms[0]
    urls = [
        ("GET", office.type_url(), None),
        ("POST", office.type_url(), {"serial": form.serial}),
        ("GET", office.pass_url(form), None),
        ("POST", office.pass_url(form), {**office.typed(), "action": "complete"}),
        ("DRAFT", office.pass_url(form), office.typed()),
    ]
    refused = {"analyst": 403, "admin": 403, "foreign": 404}
    clients = {name: office.client(name) for name in refused}
    before = office.snapshot()
    for name, expected in refused.items():
        client = clients[name]
        for method, url, data in urls:
            if method == "DRAFT":
                response = post_draft(client, url, data)
            else:
                response = client.open(url, method=method, data=data)
            assert response.status_code == expected, (name, method, url, response.status_code)
    assert office.snapshot() == before
