"""One access policy for every route: a walk of Flask's URL map as every role.

Each route is tried signed out and as each role, with an object of the
user's own province and one of another province. A route without a
declared rule fails here; so does a page that breaks for a role that may see
it (templates render with StrictUndefined under test), a 403 for a role the
rule admits, and anything but a 404 for an object outside the user's units.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from survey.auth.policy import FRAMEWORK_ENDPOINTS, landing_endpoint, rule_of
from survey.extensions import db
from survey.models import AuditEntry, Response, ResultSet, ServicePoint, Unit, Wave
from survey.services.questionnaires import sync_questionnaires
from survey.services.service_points import create_service_point
from survey.services.units import create_unit
from tests.conftest import sign_in

#: Each signed-in actor: role and whether they work for province 01 (else national).
ACTORS = {
    "national-admin": ("admin", False),
    "admin": ("admin", True),
    "supervisor": ("supervisor", True),
    "surveyor": ("surveyor", True),
    "analyst": ("analyst", True),
}


@dataclass
class World:
    """Two provinces, each with a commune, a desk and a user; one open wave."""

    own: dict[str, str]
    foreign: dict[str, str]


@pytest.fixture
def world(app, make_user) -> World:
    province = create_unit("01", "Thành phố Hà Nội", "province")
    commune = create_unit("00004", "Phường Ba Đình", "commune", province)
    other = create_unit("79", "Thành phố Hồ Chí Minh", "province")
    other_commune = create_unit("26734", "Phường Sài Gòn", "commune", other)
    desk = create_service_point("D-1", "Một cửa Ba Đình", commune, "commune")
    other_desk = create_service_point("D-2", "Một cửa Sài Gòn", other_commune, "commune")
    version = next(v for v in sync_questionnaires() if (v.code, v.version) == ("sipas-desk", 1))
    wave = Wave(code="W-1", name="Đợt 1", questionnaire=version, status="open")
    db.session.add(wave)
    db.session.flush()
    for number, point in enumerate((desk, other_desk)):
        db.session.add(
            Response(
                uuid=f"00000000-0000-4000-8000-00000000000{number}",
                wave_id=wave.id,
                service_point_id=point.id,
                channel="qr",
            )
        )
    options = {"by": [], "weighting": "design", "interval": "wald", "level": 0.95}
    result_set = ResultSet(wave=wave, response_count=2, input_hash="0" * 64, options=options,
                           inputs={}, weighting="unweighted", code_version="test")  # fmt: skip
    db.session.add(result_set)
    paper_forms = [_paper_batch(wave, point) for point in (desk, other_desk)]
    db.session.commit()
    for name, (role, scoped) in ACTORS.items():
        make_user(f"{name}@example.vn", role, units=[province] if scoped else [])
    own_user = make_user("target@example.vn", "surveyor", units=[commune])
    foreign_user = make_user("other@example.vn", "surveyor", units=[other])
    number = {"number": str(result_set.id)}  # a result set of the wave, seen by every reader
    return World(
        own=_args(desk, commune, own_user.id) | number | paper_forms[0],
        foreign=_args(other_desk, other_commune, foreign_user.id) | number | paper_forms[1],
    )


def _paper_batch(wave: Wave, point: ServicePoint) -> dict[str, str]:
    """A batch of paper forms at ``point`` and a printed form of it: the entry pages' ``code``
    (a batch's, not a desk's) and ``serial``."""
    from survey.services import paper

    (form,) = paper.issue_forms(wave, 1, service_point=point, by=None)
    batch = paper.create_batch(wave, 2, service_point=point, by=None)
    return {"batch_code": batch.code, "serial": form.serial}


def _args(desk: ServicePoint, unit: Unit, user_id: int) -> dict[str, str]:
    return {
        "code": desk.code,
        "unit_code": unit.code,
        "user_id": str(user_id),
        "entity": "ServicePoint",
        "entity_id": str(desk.id),
        "wave_code": "W-1",
        "fmt": "png",
        "sig": "not-a-signature",
        "response_uuid": "00000000-0000-4000-8000-000000000000",
        "token": "not-a-token",
    }


#: Arguments that name an object of a unit (the others are national or public).
SCOPED_ARGS = {"code", "unit_code", "user_id", "entity_id", "serial"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in FRAMEWORK_ENDPOINTS:
            yield rule


def _path(rule, values: dict[str, str]) -> str:
    if rule.endpoint.startswith("entry."):
        values = values | {"code": values["batch_code"]}
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", values[name], path)
    return path


def _methods(rule) -> list[str]:
    return [m for m in ("GET", "POST") if m in rule.methods]


def test_every_route_declares_who_may_use_it(app):
    undeclared = [rule.rule for rule in _routes(app) if rule_of(rule.endpoint) is None]
    assert undeclared == []


def test_a_route_without_a_rule_is_refused(make_app):
    app = make_app()

    @app.route("/forgotten")
    def forgotten():
        return "open"

    assert app.test_client().get("/forgotten").status_code == 403


def _request(client, method: str, path: str):
    return client.open(path, method=method, data={})


def test_every_route_as_every_role(app, world):
    """Signed out: sign-in asked. Not admitted: 403. Admitted: works; foreign object: 404."""
    failures = []
    for rule in _routes(app):
        policy = rule_of(rule.endpoint)
        scoped = bool(SCOPED_ARGS & set(rule.arguments))
        for method in _methods(rule):
            path = _path(rule, world.own)
            response = _request(app.test_client(), method, path)
            expect_login = not policy.is_public
            if expect_login != response.headers.get("Location", "").startswith("/auth/login"):
                failures.append(f"signed out {method} {path}: {response.status_code}")
            for actor, (_role, in_province) in ACTORS.items():
                client = app.test_client()
                assert sign_in(client, f"{actor}@example.vn").status_code == 302
                user = _user(f"{actor}@example.vn")
                admitted = policy.admits(user)
                status = _request(client, method, path).status_code
                refused = (403,) if policy.is_public else (403, 404)
                if admitted and status in refused or status >= 500:
                    failures.append(f"{actor} {method} {path}: {status}, expected it to work")
                if not admitted and status != 403:
                    failures.append(f"{actor} {method} {path}: {status}, expected 403")
                if admitted and scoped and not policy.is_public:
                    foreign = _path(rule, world.foreign)
                    status = _request(client, method, foreign).status_code
                    expected = 404 if in_province else 200
                    if (status == 404) != (expected == 404) or status >= 500:
                        failures.append(f"{actor} {method} {foreign}: {status}")
    assert failures == [], "\n".join(failures)


def _user(email: str):
    from survey.models import User

    return db.session.scalar(select(User).where(User.email == email))


def test_a_foreign_object_is_404_and_unchanged(app, world):
    client = app.test_client()
    sign_in(client, "supervisor@example.vn")
    before = db.session.scalars(select(AuditEntry.id)).all()
    for path in ("/admin/service-points/D-2/deactivate", "/admin/service-points/D-2/rotate"):
        assert client.post(path, data={"confirm": "y"}).status_code == 404
    point = db.session.scalar(select(ServicePoint).where(ServicePoint.code == "D-2"))
    db.session.refresh(point)
    assert point.active and point.secret_version == 1
    after = db.session.scalars(select(AuditEntry.id).where(AuditEntry.id.not_in(before))).all()
    assert [e for e in after if db.session.get(AuditEntry, e).entity == "ServicePoint"] == []


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/units", "/admin/service-points", "/admin/waves", "/admin/audit",
     "/admin/audit.csv", "/workbench/", "/workbench/waves/W-1", "/admin/users"],
)  # fmt: skip
def test_lists_show_only_rows_of_the_users_units(app, world, path):
    client = app.test_client()
    sign_in(client, "admin@example.vn")
    page = html.unescape(client.get(path).get_data(as_text=True))
    for foreign in ("D-2", "Sài Gòn", "Hồ Chí Minh", "other@example.vn"):
        assert foreign not in page, f"{path} shows {foreign}"
    national = app.test_client()
    sign_in(national, "national-admin@example.vn")
    everything = html.unescape(national.get(path).get_data(as_text=True))
    if path in ("/admin/service-points", "/admin/units"):
        assert "D-2" in everything or "Sài Gòn" in everything


def test_wave_counts_are_scoped(app, world):
    client = app.test_client()
    sign_in(client, "analyst@example.vn")
    page = client.get("/workbench/").get_data(as_text=True)
    assert re.search(r'<td class="num">1</td>', page)  # one of the two responses
    national = app.test_client()
    sign_in(national, "national-admin@example.vn")
    assert re.search(r'<td class="num">2</td>', national.get("/workbench/").get_data(as_text=True))


@pytest.mark.parametrize("actor", list(ACTORS))
def test_no_link_shown_to_a_role_leads_to_a_refusal(app, world, actor):
    """Follow every link of every page a role can reach from where it lands."""
    client = app.test_client()
    response = sign_in(client, f"{actor}@example.vn")
    start = response.headers["Location"]
    assert start == _landing_path(app, actor)
    seen, queue, refused = set(), [start], []
    while queue and len(seen) < 80:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        page = client.get(path)
        if page.status_code in (403, 404) or page.status_code >= 500:
            refused.append(f"{path}: {page.status_code}")
            continue
        if page.mimetype == "text/html":
            queue.extend(_links(page.get_data(as_text=True)))
    assert refused == []
    assert len(seen) >= 2


def _landing_path(app, actor: str) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(landing_endpoint(_user(f"{actor}@example.vn")))


def _links(page: str) -> list[str]:
    links = []
    for href in re.findall(r'href="([^"]+)"', page):
        href = html.unescape(href)
        parts = urlsplit(href)
        if parts.netloc or not parts.path.startswith("/") or parts.path.startswith("/static/"):
            continue
        links.append(href)
    return links
