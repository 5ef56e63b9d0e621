"""The administrator's pages: sign-in and role, creating things, QR codes, waves, dashboard."""

from __future__ import annotations

import html
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from survey.auth.policy import NATIONAL
from survey.extensions import db
from survey.models import (
    AuditEntry,
    Procedure,
    QuestionnaireVersion,
    Response,
    ServicePoint,
    Unit,
    Wave,
)
from survey.services.qrcodes import signature, signature_matches, survey_url

GET_PAGES = [
    "/admin/",
    "/admin/units",
    "/admin/units/new",
    "/admin/procedures",
    "/admin/procedures/new",
    "/admin/service-points",
    "/admin/service-points/new",
    "/admin/service-points/D-1",
    "/admin/service-points/D-1/qr.png",
    "/admin/service-points/D-1/qr.svg",
    "/admin/service-points/D-1/poster",
    "/admin/service-points/D-1/rotate",
    "/admin/service-points/D-1/procedures",
    "/admin/waves",
    "/admin/waves/new",
]
POST_ACTIONS = [
    "/admin/units/new",
    "/admin/procedures/new",
    "/admin/service-points/new",
    "/admin/service-points/D-1/rotate",
    "/admin/service-points/D-1/procedures",
    "/admin/service-points/D-1/deactivate",
    "/admin/service-points/D-1/activate",
    "/admin/waves/new",
    "/admin/waves/W-1/open",
    "/admin/waves/W-1/close",
]


def text(response) -> str:
    """The page as a reader sees it (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def desk():
    """A province, a commune and a desk there handling one procedure (code D-1)."""
    province = Unit(code="01", name="Thành phố Hà Nội", level="province")
    commune = Unit(code="00004", name="Phường Ba Đình", level="commune", parent=province)
    procedure = Procedure(code="1.001193", name="Đăng ký khai sinh", name_en="Birth registration")
    point = ServicePoint(
        code="D-1",
        name="Bộ phận Một cửa UBND phường Ba Đình",
        unit=commune,
        government_level="commune",
        procedures=[procedure],
    )
    db.session.add(point)
    db.session.commit()
    return point


def questionnaire_version(code: str = "sipas-desk", kind: str = "desk") -> QuestionnaireVersion:
    version = QuestionnaireVersion(
        code=code,
        version=1,
        kind=kind,
        title_vi="Phiếu khảo sát",
        title_en="Survey form",
        checksum="0" * 64,
        definition="code: x",
    )
    db.session.add(version)
    db.session.commit()
    return version


@pytest.mark.parametrize("path", GET_PAGES)
def test_every_admin_page_requires_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("path", POST_ACTIONS)
def test_every_admin_action_requires_sign_in(client, path):
    response = client.post(path, data={"confirm": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("path", GET_PAGES + ["/admin/units/new"])
def test_other_roles_are_refused(client, login, desk, path):
    login("surveyor", units=[desk.unit])
    assert client.get(path).status_code == 403


def test_other_roles_cannot_post(client, login, desk):
    login("analyst", units=[desk.unit])
    assert client.post("/admin/service-points/D-1/deactivate").status_code == 403
    db.session.refresh(desk)
    assert desk.active


def test_admin_sees_the_pages(client, login, desk):
    login()
    for path in GET_PAGES:
        assert client.get(path).status_code == 200, path


# --- units -------------------------------------------------------------------


def test_create_province_and_commune(client, login):
    login()
    response = client.post(
        "/admin/units/new", data={"code": "48", "name": "Thành phố Đà Nẵng", "level": "province"}
    )
    assert response.status_code == 302
    province = db.session.scalar(select(Unit).filter_by(code="48"))
    response = client.post(
        "/admin/units/new",
        data={
            "code": "20242",
            "name": "Phường Hải Châu",
            "level": "commune",
            "parent_id": province.id,
        },
        follow_redirects=True,
    )
    assert "Phường Hải Châu" in text(response)
    commune = db.session.scalar(select(Unit).filter_by(code="20242"))
    assert commune.parent_id == province.id and commune.level == "commune"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "96", "name": " ", "level": "province"}, "Enter the unit's name."),
        ({"code": "", "name": "Tỉnh Cà Mau", "level": "province"}, "Enter the unit's code."),
        ({"code": "9A", "name": "Tỉnh Cà Mau", "level": "province"}, "digits only"),
        ({"code": "01", "name": "Hà Nội again", "level": "province"}, "already exists"),
        ({"code": "32002", "name": "Phường An Xuyên", "level": "commune"}, "Choose the province"),
    ],
)
def test_bad_unit_shows_the_field_error_and_stores_nothing(client, login, desk, data, message):
    login()
    before = count(Unit)
    response = client.post("/admin/units/new", data=data)
    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert 'class="error-summary"' in page and 'aria-invalid="true"' in page
    assert count(Unit) == before


# --- procedures --------------------------------------------------------------


def test_create_procedure(client, login):
    login()
    response = client.post(
        "/admin/procedures/new",
        data={
            "code": "1.000894",
            "name": "Đăng ký kết hôn",
            "name_en": "Marriage registration",
            "field": "Hộ tịch",
        },
        follow_redirects=True,
    )
    assert "Đăng ký kết hôn" in text(response)
    procedure = db.session.scalar(select(Procedure).filter_by(code="1.000894"))
    assert procedure.name_en == "Marriage registration" and procedure.field == "Hộ tịch"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "1.000894", "name": ""}, "Enter the procedure's Vietnamese name."),
        ({"code": "1.001193", "name": "Trùng mã"}, "already exists"),
        ({"code": "1 001", "name": "Mã có dấu cách"}, "only letters, digits, dots and dashes"),
    ],
)
def test_bad_procedure_is_refused(client, login, desk, data, message):
    login()
    response = client.post("/admin/procedures/new", data=data)
    assert message in text(response)
    assert count(Procedure) == 1


# --- service points ----------------------------------------------------------


def test_create_service_point_with_procedures(client, login, desk):
    user = login()
    second = Procedure(code="2.000815", name="Chứng thực bản sao từ bản chính")
    db.session.add(second)
    db.session.commit()
    response = client.post(
        "/admin/service-points/new",
        data={
            "code": "HN-BADINH-2",
            "name": "Quầy 2, Bộ phận Một cửa phường Ba Đình",
            "unit_id": desk.unit_id,
            "government_level": "commune",
            "procedure_ids": [desk.procedures[0].id, second.id],
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/service-points/HN-BADINH-2")
    point = db.session.scalar(select(ServicePoint).filter_by(code="HN-BADINH-2"))
    assert {p.code for p in point.procedures} == {"1.001193", "2.000815"}
    assert point.active and point.secret_version == 1
    entry = db.session.scalar(select(AuditEntry).filter_by(entity="ServicePoint", action="create"))
    assert entry.user_id == user.id and entry.entity_id == str(point.id)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "HN_01", "name": "Quầy"}, "only letters, digits and dashes"),
        ({"code": "HN 01", "name": "Quầy"}, "only letters, digits and dashes"),
        ({"code": "d-1", "name": "Quầy"}, "A desk with this code already exists."),
        ({"code": "HN-02", "name": ""}, "Enter the desk's name."),
        ({"code": "", "name": "Quầy"}, "Enter a code."),
        ({"code": "HN-03", "name": "Quầy", "unit_id": "0"}, "Choose the unit"),
    ],
)
def test_bad_service_point_is_refused(client, login, desk, data, message):
    login()
    form = {"unit_id": desk.unit_id, "government_level": "commune", **data}
    response = client.post("/admin/service-points/new", data=form)
    assert response.status_code == 200
    assert message in text(response)
    assert count(ServicePoint) == 1
    assert db.session.scalar(select(AuditEntry).filter_by(entity="ServicePoint")) is None


def test_change_the_procedures_of_a_desk(client, login, desk):
    user = login()
    second = Procedure(code="2.000815", name="Chứng thực bản sao từ bản chính")
    db.session.add(second)
    db.session.commit()
    page = text(client.get("/admin/service-points/D-1/procedures"))
    assert f'<option selected value="{desk.procedures[0].id}">' in page
    response = client.post(
        "/admin/service-points/D-1/procedures", data={"procedure_ids": [second.id]}
    )
    assert response.status_code == 302
    db.session.refresh(desk)
    assert [p.code for p in desk.procedures] == ["2.000815"]
    entry = db.session.scalar(select(AuditEntry).filter_by(action="set_procedures"))
    assert entry.user_id == user.id and entry.detail == {"procedures": ["2.000815"]}


def test_rotating_the_secret_revokes_printed_codes(client, login, desk):
    user = login()
    old_url = survey_url(desk)
    old_signature = signature(desk.code, desk.secret_version)
    page = client.get("/admin/service-points/D-1/rotate").get_data(as_text=True)
    assert "stop working" in page

    refused = client.post("/admin/service-points/D-1/rotate", data={})
    assert "Tick the box to confirm." in text(refused)
    db.session.refresh(desk)
    assert desk.secret_version == 1

    response = client.post("/admin/service-points/D-1/rotate", data={"confirm": "y"})
    assert response.status_code == 302
    db.session.refresh(desk)
    assert desk.secret_version == 2
    assert not signature_matches(desk.code, desk.secret_version, old_signature)
    assert survey_url(desk) != old_url
    assert client.get(old_url.removeprefix("http://localhost")).status_code == 410
    entry = db.session.scalar(select(AuditEntry).filter_by(action="rotate_secret"))
    assert entry.user_id == user.id and entry.detail == {"secret_version": 2}


def test_deactivate_and_activate(client, login, desk):
    login()
    page = client.post("/admin/service-points/D-1/deactivate", follow_redirects=True)
    assert "inactive" in text(page)
    db.session.refresh(desk)
    assert not desk.active
    client.post("/admin/service-points/D-1/activate")
    db.session.refresh(desk)
    assert desk.active
    actions = db.session.scalars(
        select(AuditEntry.action).filter_by(entity="ServicePoint").order_by(AuditEntry.id)
    ).all()
    assert actions == ["deactivate", "activate"]


def test_unknown_desk_is_404(client, login):
    login()
    assert client.get("/admin/service-points/NOPE").status_code == 404
    assert client.get("/admin/service-points/D-1/qr.gif").status_code == 404


def test_qr_svg_download(client, login, desk):
    login()
    response = client.get("/admin/service-points/D-1/qr.svg?download=1")
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
    assert 'filename="D-1.svg"' in response.headers["Content-Disposition"]


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")
def test_qr_png_decodes_to_the_survey_url(client, login, desk, tmp_path):
    login()
    response = client.get("/admin/service-points/D-1/qr.png")
    assert response.mimetype == "image/png"
    path = tmp_path / "code.png"
    path.write_bytes(response.data)
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert decoded == survey_url(desk)
    assert decoded.startswith("http://localhost/s/D-1/")


def test_poster_is_a_printable_a4_page(client, login, desk):
    login()
    page = client.get("/admin/service-points/D-1/poster").get_data(as_text=True)
    assert desk.name in page and "Phường Ba Đình" in page
    assert '<img class="code" src="/admin/service-points/D-1/qr.svg"' in page
    assert "Quét mã để đánh giá mức độ hài lòng" in page
    assert "size: A4" in page and "@media print" in page
    assert ".code { width: 110mm; height: 110mm;" in page  # at least 8 cm, read from 1 m


# --- waves -------------------------------------------------------------------


def test_create_open_and_close_a_wave(client, login):
    user = login()
    version = questionnaire_version()
    response = client.post(
        "/admin/waves/new",
        data={
            "code": "2025-Q4",
            "name": "Quý IV năm 2025",
            "questionnaire_id": version.id,
            "starts_on": "2025-10-01",
            "ends_on": "2025-12-31",
        },
    )
    assert response.status_code == 302
    wave = db.session.scalar(select(Wave).filter_by(code="2025-Q4"))
    assert wave.status == "draft" and wave.ends_on == date(2025, 12, 31)

    client.post("/admin/waves/2025-Q4/open")
    db.session.refresh(wave)
    assert wave.status == "open"
    client.post("/admin/waves/2025-Q4/close")
    db.session.refresh(wave)
    assert wave.status == "closed"
    actions = db.session.scalars(
        select(AuditEntry.action).filter_by(entity="Wave").order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "open", "close"]
    entries = db.session.scalars(select(AuditEntry).filter_by(entity="Wave"))
    assert {e.user_id for e in entries} == {user.id}


def test_only_one_open_wave_per_questionnaire_kind(client, login):
    login()
    desk_form = questionnaire_version()
    household = questionnaire_version("sipas-household", "household")
    for code, version in [("A", desk_form), ("B", desk_form), ("H", household)]:
        db.session.add(Wave(code=code, name=code, questionnaire=version))
    db.session.commit()
    client.post("/admin/waves/A/open")
    page = client.post("/admin/waves/B/open", follow_redirects=True).get_data(as_text=True)
    assert "Wave A is open for the same kind of questionnaire; close it first." in page
    client.post("/admin/waves/H/open")
    statuses = dict(db.session.execute(select(Wave.code, Wave.status)).all())
    assert statuses == {"A": "open", "B": "draft", "H": "open"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "W 1", "name": "x"}, "only letters, digits and dashes"),
        ({"code": "W-2", "name": ""}, "Enter the wave's name."),
        ({"code": "W-3", "name": "x", "questionnaire_id": "0"}, "Choose the questionnaire"),
        (
            {"code": "W-4", "name": "x", "starts_on": "2025-10-01", "ends_on": "2025-09-30"},
            "The end date must not be before the start date.",
        ),
        ({"code": "W-5", "name": "x", "starts_on": "1 Oct"}, "Not a valid date value."),
    ],
)
def test_bad_wave_is_refused(client, login, data, message):
    login()
    version = questionnaire_version()
    response = client.post("/admin/waves/new", data={"questionnaire_id": version.id, **data})
    assert message in text(response)
    assert count(Wave) == 0


def test_duplicate_wave_code_is_refused(client, login):
    login()
    version = questionnaire_version()
    db.session.add(Wave(code="2025-Q4", name="x", questionnaire=version))
    db.session.commit()
    data = {"code": "2025-q4", "name": "y", "questionnaire_id": version.id}
    page = client.post("/admin/waves/new", data=data).get_data(as_text=True)
    assert "A wave with this code already exists." in page
    assert count(Wave) == 1


# --- dashboard ---------------------------------------------------------------


def test_dashboard_counts_responses_per_desk(client, login, desk):
    login()
    wave = Wave(code="2025-Q4", name="Quý IV", questionnaire=questionnaire_version(), status="open")
    db.session.add(wave)
    db.session.flush()
    now = datetime.now(UTC)
    moments = [now - timedelta(minutes=1), now - timedelta(days=2), now - timedelta(days=3)]
    for number, moment in enumerate(moments):
        db.session.add(
            Response(
                uuid=f"00000000-0000-4000-8000-00000000000{number}",
                wave_id=wave.id,
                service_point_id=desk.id,
                channel="qr",
                submitted_at=moment,
            )
        )
    db.session.add(
        Response(
            uuid="00000000-0000-4000-8000-000000000009",
            wave_id=wave.id,
            service_point_id=desk.id,
            channel="qr",
            status="void",
        )
    )
    db.session.commit()

    from survey.queries import LOCAL_TIMEZONE, responses_per_desk

    [row] = responses_per_desk(wave, scope=NATIONAL)
    assert (row.today, row.total) == (1, 3)
    assert abs(row.last_at - moments[0]) < timedelta(seconds=1)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Quý IV" in page and desk.name in page
    assert moments[0].astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M") in page


def test_dashboard_without_open_wave(client, login):
    login()
    page = client.get("/admin/").get_data(as_text=True)
    assert "No wave is open" in page


def test_the_waves_page_offers_close_for_the_open_wave(client, login):
    """The template once read a removed ``Wave.is_open`` and offered "Open" for an open wave."""
    login()
    db.session.add(Wave(code="W-OPEN", name="Đang mở", questionnaire=questionnaire_version()))
    db.session.commit()
    client.post("/admin/waves/W-OPEN/open")
    page = client.get("/admin/waves").get_data(as_text=True)
    assert 'action="/admin/waves/W-OPEN/close"' in page
    assert ">Close</button>" in page and ">Open</button>" not in page
