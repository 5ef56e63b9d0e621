"""The citizen's QR survey: from a desk's signed URL to one stored response."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Procedure, Response, ServicePoint, Unit, Wave
from survey.services.qrcodes import signature, survey_url
from survey.services.questionnaires import questionnaire_of, sync_questionnaires


@pytest.fixture
def desk(app):
    """An active desk handling two procedures, with an open wave of the desk form."""
    province = Unit(code="01", name="Thành phố Hà Nội", level="province")
    commune = Unit(code="00004", name="Phường Ba Đình", level="commune", parent=province)
    procedures = [
        Procedure(code="1.001193", name="Đăng ký khai sinh", name_en="Birth registration"),
        Procedure(code="2.000908", name="Chứng thực bản sao", name_en="Certified copy"),
    ]
    other = Procedure(code="1.004227", name="Cấp giấy phép xây dựng", name_en="Building permit")
    point = ServicePoint(code="HN-BADINH", name="Bộ phận Một cửa phường Ba Đình", unit=commune)
    point.procedures = procedures
    db.session.add_all([province, commune, point, other])
    versions = {v.kind: v for v in sync_questionnaires()}
    wave = Wave(code="2026-Q4", name="Khảo sát quý IV/2026", questionnaire=versions["desk"])
    wave.status = "open"
    db.session.add(wave)
    db.session.commit()
    return point


def form_url(point: ServicePoint) -> str:
    return survey_url(point, base_url="")


def valid_answers(point: ServicePoint, *, only_required: bool = False) -> dict:
    """One acceptable answer to every (required) question of the open wave."""
    wave = db.session.scalar(select(Wave).where(Wave.status == "open"))
    answers = {}
    for item in questionnaire_of(wave.questionnaire).items():
        if only_required and not item.required or item.show_if:
            continue
        if item.scale.kind == "procedure":
            answers[item.code] = point.procedures[0].code
        elif item.scale.kind == "text":
            answers[item.code] = "Cán bộ hướng dẫn tận tình."
        elif item.scale.kind == "multi":
            answers[item.code] = [str(item.scale.options[0].value)]
        else:
            answers[item.code] = str(item.scale.options[-1].value)
    return answers


def post_form(client, point, answers: dict, *, response_uuid: str | None = None, wave="2026-Q4"):
    data = {"response_uuid": response_uuid or str(uuid.uuid4()), "wave": wave, **answers}
    return client.post(form_url(point), data=data)


def stored_responses() -> int:
    return db.session.scalar(select(func.count(Response.id)))


def test_form_shows_every_question_with_its_labels(client, desk):
    page = client.get(form_url(desk))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert desk.name in html and "Phường Ba Đình" in html
    questionnaire = questionnaire_of(db.session.scalar(select(Wave)).questionnaire)
    for item in questionnaire.items():
        assert f'name="{item.code}"' in html
        for option in item.scale.options:
            assert option.label.vi in html
    assert 'name="response_uuid"' in html
    assert "&lt;" not in html  # no markup shown escaped as text
    assert "(không bắt buộc)" in html  # optional questions say so
    assert "Đăng ký khai sinh" in html
    assert "Cấp giấy phép xây dựng" not in html  # not handled at this desk


def test_form_is_vietnamese_by_default_with_an_english_switch(client, desk):
    vietnamese = client.get(form_url(desk)).get_data(as_text=True)
    assert 'lang="vi"' in vietnamese and "Rất hài lòng" in vietnamese
    english = client.get(form_url(desk) + "?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "Very satisfied" in english
    assert "Birth registration" in english


def test_valid_submission_is_stored_once_with_its_answers(client, desk):
    answers = valid_answers(desk)
    response = post_form(client, desk, answers)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/thanks/")
    thanks = client.get(response.headers["Location"])
    assert thanks.status_code == 200
    stored = db.session.scalar(select(Response))
    assert stored.service_point_id == desk.id and stored.channel == "qr"
    assert stored.procedure_id == desk.procedures[0].id
    codes = set(db.session.scalars(select(Answer.item_code).where(Answer.response_id == stored.id)))
    assert codes == set(answers)


def test_same_uuid_twice_stores_once_and_thanks_twice(client, desk):
    answers, key = valid_answers(desk), str(uuid.uuid4())
    first = post_form(client, desk, answers, response_uuid=key)
    second = post_form(client, desk, answers, response_uuid=key)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert stored_responses() == 1


def test_concurrent_posts_of_one_uuid_store_it_once(app, desk):
    url = form_url(desk)
    data = {"response_uuid": str(uuid.uuid4()), "wave": "2026-Q4", **valid_answers(desk)}
    statuses: list[int] = []

    def submit():
        statuses.append(app.test_client().post(url, data=data).status_code)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303] * 8
    assert stored_responses() == 1


def test_missing_required_answer_shows_error_summary_and_stores_nothing(client, desk):
    answers = valid_answers(desk)
    wave = db.session.scalar(select(Wave))
    required = next(i for i in questionnaire_of(wave.questionnaire).items() if i.required)
    del answers[required.code]
    page = post_form(client, desk, answers)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert f'href="#{required.code}-0"' in html
    assert f'id="{required.code}-0"' in html
    assert stored_responses() == 0


def test_answer_out_of_range_is_refused(client, desk):
    answers = valid_answers(desk)
    wave = db.session.scalar(select(Wave))
    likert = next(
        i for i in questionnaire_of(wave.questionnaire).items() if i.scale.kind == "likert5"
    )
    answers[likert.code] = "7"
    page = post_form(client, desk, answers)
    assert page.status_code == 400
    assert f'href="#{likert.code}-0"' in page.get_data(as_text=True)
    assert stored_responses() == 0


def test_procedure_not_handled_at_the_desk_is_refused(client, desk):
    answers = valid_answers(desk)
    wave = db.session.scalar(select(Wave))
    item = next(
        i for i in questionnaire_of(wave.questionnaire).items() if i.scale.kind == "procedure"
    )
    answers[item.code] = "1.004227"
    assert post_form(client, desk, answers).status_code == 400
    assert stored_responses() == 0


def test_unknown_question_is_refused_by_name(client, desk):
    answers = {**valid_answers(desk), "X-99": "5"}
    page = post_form(client, desk, answers)
    assert page.status_code == 400
    assert "X-99" in page.get_data(as_text=True)
    assert stored_responses() == 0


def test_answers_for_another_wave_are_refused(client, desk):
    page = post_form(client, desk, valid_answers(desk), wave="2025-Q1")
    assert page.status_code == 409
    assert stored_responses() == 0


def test_missing_response_id_is_refused(client, desk):
    data = {"wave": "2026-Q4", "response_uuid": "not-a-uuid", **valid_answers(desk)}
    page = client.post(form_url(desk), data=data)
    assert page.status_code == 400
    assert "Phiếu bị lỗi" in page.get_data(as_text=True)
    assert stored_responses() == 0


@pytest.mark.parametrize("change", ["forged", "mistyped", "missing"])
def test_bad_qr_code_shows_clear_page_and_stores_nothing(client, desk, change):
    url = {
        "forged": f"/s/{desk.code}/AAAAAAAAAAAA",
        "mistyped": f"/s/HN-BADlNH/{signature(desk.code, 1)}",
        "missing": f"/s/{desk.code}",
    }[change]
    assert client.get(url).status_code == 404
    page = client.post(url, data={"response_uuid": str(uuid.uuid4()), **valid_answers(desk)})
    assert page.status_code in (404, 405)
    assert "Mã QR không hợp lệ" in client.get(url).get_data(as_text=True)
    assert stored_responses() == 0


def test_rotated_secret_revokes_printed_codes(client, desk):
    old_url = form_url(desk)
    desk.secret_version += 1
    db.session.commit()
    page = client.get(old_url)
    assert page.status_code == 410
    assert "đã được thay" in page.get_data(as_text=True)
    assert post_form(client, desk, valid_answers(desk)).status_code == 303  # new URL works
    assert client.post(old_url, data=valid_answers(desk)).status_code == 410


def test_inactive_desk_takes_no_responses(client, desk):
    url = form_url(desk)
    desk.active = False
    db.session.commit()
    assert client.get(url).status_code == 410
    assert client.post(url, data=valid_answers(desk)).status_code == 410
    assert stored_responses() == 0


def test_no_open_wave_shows_clear_page(client, desk):
    db.session.scalar(select(Wave)).status = "closed"
    db.session.commit()
    page = client.get(form_url(desk))
    assert page.status_code == 404
    assert "Hiện không có khảo sát" in page.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(app, desk):
    app.config["WTF_CSRF_ENABLED"] = True
    page = post_form(app.test_client(), desk, valid_answers(desk))
    assert page.status_code == 400
    assert stored_responses() == 0


def test_form_with_csrf_token_round_trips(app, desk):
    import re

    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    html = client.get(form_url(desk)).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    issued = re.search(r'name="response_uuid" type="hidden" value="([^"]+)"', html).group(1)
    data = {"csrf_token": token, **valid_answers(desk)}
    response = post_form(client, desk, data, response_uuid=issued)
    assert response.status_code == 303
    assert db.session.scalar(select(Response.uuid)) == issued


def test_rate_limit_lets_a_busy_centre_through_but_stops_a_script(make_app, desk):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [post_form(client, desk, valid_answers(desk)).status_code for _ in range(30)]
    assert statuses == [303] * 30  # 30 a minute from one address pass
    for _ in range(40):
        last = post_form(client, desk, valid_answers(desk))
    assert last.status_code == 429
    assert "Quá nhiều" in last.get_data(as_text=True)
    assert stored_responses() == 60


def test_page_with_css_and_js_is_under_60_kb(client, desk):
    page = client.get(form_url(desk)).get_data()
    css = client.get("/static/site.css").get_data()
    js = client.get("/static/survey.js").get_data()
    assert len(page) + len(css) + len(js) < 60 * 1024


def issued_uuid(html: str) -> str:
    import re

    return re.search(r'name="response_uuid" type="hidden" value="([^"]+)"', html).group(1)


def test_back_after_sending_reissues_the_same_response_id(client, desk):
    first_form = client.get(form_url(desk)).get_data(as_text=True)
    sent = issued_uuid(first_form)
    assert 'id="already-sent"' not in first_form
    thanks = post_form(client, desk, valid_answers(desk), response_uuid=sent)
    back = client.get(form_url(desk)).get_data(as_text=True)  # Back re-fetches the form
    assert issued_uuid(back) == sent
    assert "đã được ghi nhận" in back
    again = post_form(client, desk, valid_answers(desk), response_uuid=issued_uuid(back))
    assert again.headers["Location"] == thanks.headers["Location"]
    assert stored_responses() == 1


def test_another_person_on_the_same_phone_gets_a_new_response(client, desk):
    sent = issued_uuid(client.get(form_url(desk)).get_data(as_text=True))
    post_form(client, desk, valid_answers(desk), response_uuid=sent)
    fresh = client.get(form_url(desk) + "?new=1").get_data(as_text=True)
    assert issued_uuid(fresh) != sent
    assert 'id="already-sent"' not in fresh
    post_form(client, desk, valid_answers(desk), response_uuid=issued_uuid(fresh))
    assert stored_responses() == 2


def test_retry_after_the_wave_changed_still_thanks_a_stored_response(client, desk):
    key = str(uuid.uuid4())
    first = post_form(client, desk, valid_answers(desk), response_uuid=key)
    retry = post_form(client, desk, valid_answers(desk), response_uuid=key, wave="2025-Q1")
    assert retry.status_code == 303
    assert retry.headers["Location"] == first.headers["Location"]
    assert stored_responses() == 1


def test_forged_posts_do_not_use_up_the_desk_limit(make_app, desk):
    app = make_app(
        RATELIMIT_ENABLED=True,
        SUBMIT_LIMIT_PER_DESK="5 per minute",
        SUBMIT_LIMIT_PER_ADDRESS="1000 per minute",
    )
    attacker = app.test_client()
    forged = [
        attacker.post(f"/s/{desk.code}/forged", data=valid_answers(desk)).status_code
        for _ in range(20)
    ]
    assert forged == [404] * 20
    citizen = app.test_client()
    assert post_form(citizen, desk, valid_answers(desk)).status_code == 303
    assert stored_responses() == 1


def test_forged_posts_still_count_against_their_address(make_app, desk):
    app = make_app(RATELIMIT_ENABLED=True, SUBMIT_LIMIT_PER_ADDRESS="5 per minute")
    client = app.test_client()
    statuses = [
        client.post(f"/s/{desk.code}/forged", data=valid_answers(desk)).status_code
        for _ in range(7)
    ]
    assert statuses == [404] * 5 + [429] * 2
    assert post_form(client, desk, valid_answers(desk)).status_code == 429
