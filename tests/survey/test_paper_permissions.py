"""Every paper-entry URL refuses whoever may not use it, and nothing changes.

For each endpoint of the entry blueprint (the brief's table, every helper's),
GET and POST are tried, with a request that would change something if it
were let through, as:
- an analyst (a role that never types nor settles): 403;
- a surveyor of our province, on the supervisor's URLs: 403;
- a surveyor and a supervisor of another province: 403 where their role is
  refused, 404 for our batch or form (as for one that does not exist), and a
  refused input where the URL names no object (the desk is not theirs).
Before and after each request the rows of the paper tables, the responses,
their answers and the audit log are compared. An endpoint another helper has
not registered yet is skipped, saying so.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass

import pytest
from flask import url_for

from survey.extensions import db
from survey.services import paper
from tests.conftest import sign_in
from tests.survey.paper_world import (
    USERS,
    disputed_form,
    likert_item,
    make_world,
    snapshot,
    typed_form,
)

TYPISTS = {"surveyor", "supervisor"}
READERS = {"surveyor", "supervisor", "admin"}
SUPERVISORS = {"supervisor", "admin"}
ALL = ("GET", "POST")


@dataclass(frozen=True)
class Endpoint:
    name: str
    roles: set[str]
    methods: tuple[str, ...]
    #: The URL names our batch (``code``) and/or a form (``serial``: "fresh" to type,
    #: "disputed" to settle).
    code: bool = False
    serial: str | None = None


ENDPOINTS = [
    Endpoint("entry.index", READERS, ("GET",)),
    Endpoint("entry.batches", READERS, ("GET",)),
    Endpoint("entry.new_batch", SUPERVISORS, ALL),
    Endpoint("entry.batch", READERS, ("GET",), code=True),
    Endpoint("entry.close_batch", SUPERVISORS, ("POST",), code=True),
    Endpoint("entry.settle", SUPERVISORS, ALL, serial="disputed"),
    Endpoint("entry.void_form", SUPERVISORS, ("POST",), serial="disputed"),
    Endpoint("entry.surveyors", SUPERVISORS, ("GET",)),
    Endpoint("entry.type_form", TYPISTS, ALL, code=True),
    Endpoint("entry.type_pass", TYPISTS, ALL, code=True, serial="fresh"),
    Endpoint("entry.save_draft", TYPISTS, ("POST",), code=True, serial="fresh"),
    Endpoint("entry.print_forms", SUPERVISORS, ALL),
    Endpoint("entry.import_pass", READERS, ALL, code=True),
]
CASES = [(endpoint, method) for endpoint in ENDPOINTS for method in endpoint.methods]

#: Who is tried: everyone who may not use our batches and forms.
OUTSIDERS = (
    "analyst@example.vn",
    "an@example.vn",
    "foreign-surveyor@example.vn",
    "foreign-supervisor@example.vn",
)


@dataclass
class Paper:
    """Our batch, a form in dispute in it and a printed form not typed yet."""

    world: object
    batch: str
    disputed: str
    fresh: str
    item: str


@pytest.fixture
def ours(app, make_user) -> Paper:
    world = make_world(make_user)
    forms = paper.issue_forms(world.wave, 2, service_point=world.desk, by=None)
    batch = paper.create_batch(world.wave, 5, service_point=world.desk, by=None)
    db.session.commit()
    item = likert_item(world.wave)
    disputed_form(world, batch, forms[0], item)
    return Paper(world, batch.code, forms[0].serial, forms[1].serial, item)


def url_of(app, endpoint: Endpoint, ours: Paper) -> str:
    values = {}
    if endpoint.code:
        values["code"] = ours.batch
    if endpoint.serial:
        values["serial"] = getattr(ours, endpoint.serial)
    with app.test_request_context():
        return url_for(endpoint.name, **values)


def send(client, method: str, url: str, endpoint: Endpoint, ours: Paper):
    """The request a user of the page would send: it would change something if allowed."""
    if method == "GET":
        return client.get(url)
    world = ours.world
    typed = typed_form(world.wave, world.desk)
    desk_batch = {"wave": world.wave.code, "desk": world.desk.code, "unit": "", "count": "3"}
    data = {
        "entry.new_batch": desk_batch,
        "entry.print_forms": desk_batch | {"format": "html", "lang": "vi"},
        "entry.close_batch": {"reason": "two forms were lost"},
        "entry.settle": {f"choice-{ours.item}": "first"},
        "entry.void_form": {"reason": "spoilt", "batch": ours.batch},
        "entry.type_form": {"serial": ours.fresh},
        "entry.type_pass": typed,
        "entry.import_pass": {
            "typist": "an@example.vn",
            "file": (io.BytesIO(_pass_file(ours, typed)), "passes.csv"),
        },
    }
    if endpoint.name == "entry.save_draft":
        return client.post(url, json={ours.item: "4"})
    return client.post(url, data=data[endpoint.name])


def _pass_file(ours: Paper, typed: dict[str, str]) -> bytes:
    header = ["serial", *typed]
    row = [ours.fresh, *typed.values()]
    return ("\n".join(",".join(line) for line in (header, row)) + "\n").encode()


def expected(endpoint: Endpoint, email: str) -> str:
    role, province = USERS[email]
    if role not in endpoint.roles:
        return "role"
    if province != "01" and (endpoint.code or endpoint.serial):
        return "scope"
    if province == "01":
        return "allowed"
    return "other units"


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=[f"{e.name}-{m}" for e, m in CASES])
def test_outsiders_are_refused_and_nothing_changes(app, ours, endpoint, method):
    if endpoint.name not in app.view_functions:
        pytest.skip(f"{endpoint.name} is not registered yet (another helper's page)")
    url = url_of(app, endpoint, ours)
    tried = 0
    for email in OUTSIDERS:
        outcome = expected(endpoint, email)
        if outcome == "allowed":
            continue
        client = app.test_client()
        assert sign_in(client, email).status_code == 302
        before = snapshot()
        response = send(client, method, url, endpoint, ours)
        status = response.status_code
        if outcome == "role":
            assert status == 403, f"{email} {method} {url}: {status}"
        elif outcome == "scope":
            assert status == 404, f"{email} {method} {url}: {status}"
        elif method == "POST":  # our desk, offered to nobody of another province
            assert status in (400, 404), f"{email} {method} {url}: {status}"
        else:
            assert status == 200, f"{email} {method} {url}: {status}"
            assert not _traces_of_ours(response, ours), f"{email} sees ours on {url}"
        assert snapshot() == before, f"{email} {method} {url} changed something"
        tried += 1
    assert tried >= 2


def _traces_of_ours(response, ours: Paper) -> list[str]:
    page = html.unescape(response.get_data(as_text=True))
    ours_words = [ours.batch, ours.disputed, paper.grouped_serial(ours.disputed), "an@example.vn",
                  "binh@example.vn", ours.world.desk.code, ours.world.desk.name]  # fmt: skip
    return [word for word in ours_words if word in page]


#: The requests above, sent by our supervisor, do change things: the refusals are real.
MINE = ["entry.new_batch", "entry.close_batch", "entry.settle", "entry.void_form"]


@pytest.mark.parametrize("name", MINE)
def test_the_same_requests_by_our_supervisor_change_things(app, ours, name):
    endpoint = next(e for e in ENDPOINTS if e.name == name)
    client = app.test_client()
    assert sign_in(client, "chi@example.vn").status_code == 302
    before = snapshot()
    response = send(client, "POST", url_of(app, endpoint, ours), endpoint, ours)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert snapshot() != before
