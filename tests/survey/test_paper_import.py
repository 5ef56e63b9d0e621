"""Passes from a spreadsheet: ``paper import-pass`` and the import page.

A file is one typist's pass of each form in it, checked row by row as a typed
pass is; a file with any bad row imports nothing and names each problem with
its line. A second typist's agreeing file settles the forms into responses.
"""

from __future__ import annotations

import html
import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from survey import queries
from survey.auth.policy import NATIONAL, scope_of
from survey.extensions import db
from survey.models import AuditEntry, PaperForm, PaperPass, QuestionnaireVersion, Response
from survey.services import exports, frames, paper, result_sets, results
from survey.services.design_frame import design_rows, scored_items
from survey.services.distributions import answer_distributions
from survey.services.paper_import import PassFileError, import_passes
from survey.services.questionnaires import questionnaire_of
from survey.services.units import unit_by_code
from survey.services.waves import create_wave, open_wave
from tests.conftest import sign_in
from tests.survey.paper_world import likert_item, make_world, snapshot, typed_form


@pytest.fixture
def world(app, make_user):
    return make_world(make_user)


@pytest.fixture
def english(app):
    """Service messages in English, as the tests match them."""
    with app.test_request_context("/?lang=en"):
        yield


def new_batch(world, forms: int):
    printed = paper.issue_forms(world.wave, forms, service_point=world.desk, by=None)
    batch = paper.create_batch(world.wave, forms, service_point=world.desk, by=None)
    db.session.commit()
    return batch, printed


def columns(wave) -> list[str]:
    return [item.code for item in paper.entry_items(questionnaire_of(wave.questionnaire))]


def csv_file(
    wave, rows: list[tuple[str, dict[str, str]]], header: list[str] | None = None
) -> bytes:
    """A pass file: the header, then a row per ``(serial, typed values)``."""
    codes = columns(wave)
    names = header or ["serial", *codes]
    lines = [",".join(names)]
    lines += [
        ",".join([serial, *(typed.get(code, "") for code in codes)]) for serial, typed in rows
    ]
    return ("\n".join(lines) + "\n").encode()


def typed_file(world, forms) -> bytes:
    """Every form of ``forms`` typed the same way."""
    return csv_file(world.wave, [(f.serial, typed_form(world.wave, world.desk)) for f in forms])


def counts() -> tuple[int, int, int]:
    """Rows of paper_pass, response and audit_entry."""
    return tuple(
        db.session.scalar(select(func.count(model.id)))
        for model in (PaperPass, Response, AuditEntry)
    )


def problems_of(error: pytest.ExceptionInfo) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for line, message in error.value.problems:
        found.setdefault(line, []).append(message)
    return found


def client_of(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- good files --------------------------------------------------------------------------


def test_two_agreeing_files_settle_every_form_once(world, english):
    batch, forms = new_batch(world, 3)
    an, binh = world.user("an@example.vn"), world.user("binh@example.vn")
    item = likert_item(world.wave)
    rows = [
        (form.serial, typed_form(world.wave, world.desk, **{item: str(value)}))
        for form, value in zip(forms, (5, 3, 1), strict=True)
    ]
    content = csv_file(world.wave, rows)
    responses_before = db.session.scalar(select(func.count(Response.id)))

    result = import_passes(batch, an, content, "passes.csv")
    db.session.commit()
    assert (result.passes, result.settled, result.disputed) == (3, 0, 0)
    passes = db.session.scalars(select(PaperPass).where(PaperPass.typist_id == an.id)).all()
    assert len(passes) == 3 and {p.source for p in passes} == {"import"}
    assert all(p.completed_at is not None for p in passes)
    assert db.session.scalar(select(func.count(Response.id))) == responses_before

    result = import_passes(batch, binh, content, "passes.csv")
    db.session.commit()
    assert (result.passes, result.settled, result.disputed) == (3, 3, 0)
    assert db.session.scalar(select(func.count(Response.id))) == responses_before + 3
    db.session.expire_all()
    for form, value in zip(forms, (5, 3, 1), strict=True):
        form = db.session.get(PaperForm, form.id)
        response = db.session.get(Response, form.response_id)
        assert form.status == "settled"
        assert (response.channel, response.form_serial) == ("paper", form.serial)
        assert response.service_point_id == world.desk.id
        assert next(a.value for a in response.answers if a.item_code == item) == value
    typed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "pass typed")).all()
    assert sorted(e.user_id for e in typed) == sorted([an.id] * 3 + [binh.id] * 3)
    counts_now = paper.batch_counts(batch)
    assert (counts_now.typed_twice, counts_now.settled, counts_now.missing) == (3, 3, 0)
    assert counts_now.agreement_rate == 1.0

    with pytest.raises(PassFileError) as refused:  # a third pass of settled forms
        import_passes(batch, world.user("chi@example.vn"), content, "passes.csv")
    assert all("settled already" in m for ms in problems_of(refused).values() for m in ms)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Response.id))) == responses_before + 3


def test_a_file_that_differs_puts_those_forms_in_dispute(world, english):
    batch, forms = new_batch(world, 2)
    item = likert_item(world.wave)
    first = csv_file(world.wave, [(f.serial, typed_form(world.wave, world.desk)) for f in forms])
    second = csv_file(
        world.wave,
        [
            (forms[0].serial, typed_form(world.wave, world.desk)),
            (forms[1].serial, typed_form(world.wave, world.desk, **{item: "2"})),
        ],
    )
    import_passes(batch, world.user("an@example.vn"), first, "first.csv")
    result = import_passes(batch, world.user("binh@example.vn"), second, "second.csv")
    db.session.commit()
    assert (result.passes, result.settled, result.disputed) == (2, 1, 1)
    (dispute,) = paper.batch_disputes(batch)
    assert (dispute.serial, dispute.item, dispute.second) == (forms[1].serial, item, 2)
    assert db.session.scalar(select(func.count(Response.id))) == 1


def test_an_xlsx_file_with_numbers_for_serials_imports(world, english):
    """A spreadsheet stores serials and answers as numbers: the serial's leading zeros are
    lost, and put back."""
    batch, forms = new_batch(world, 2)
    codes = columns(world.wave)
    book = Workbook()
    sheet = book.active
    sheet.append(["serial", *codes])
    for form in forms:
        typed = typed_form(world.wave, world.desk)
        cells = [int(typed[c]) if typed[c].isdigit() else (typed[c] or None) for c in codes]
        sheet.append([int(form.serial), *cells])
    buffer = io.BytesIO()
    book.save(buffer)
    assert str(int(forms[0].serial)) != forms[0].serial  # the zeros are really gone

    result = import_passes(batch, world.user("an@example.vn"), buffer.getvalue(), "passes.xlsx")
    db.session.commit()
    assert result.passes == 2
    saved = db.session.scalars(select(PaperPass).order_by(PaperPass.form_id)).all()
    assert [p.form_id for p in saved] == [form.id for form in forms]
    # the same answers as the screen's parse of the same keys
    expected, _ = paper.parse_typed(
        questionnaire_of(world.wave.questionnaire),
        typed_form(world.wave, world.desk),
        [p.code for p in world.desk.procedures],
    )
    assert saved[0].answers == expected


# --- bad files ---------------------------------------------------------------------------


def test_every_bad_row_is_named_with_its_line_and_nothing_is_stored(world, english):
    wave, desk = world.wave, world.desk
    an, binh, chi = (world.user(e) for e in ("an@example.vn", "binh@example.vn", "chi@example.vn"))
    forms = paper.issue_forms(wave, 8, service_point=desk, by=None)
    batch = paper.create_batch(wave, 8, service_point=desk, by=None)
    other_batch = paper.create_batch(wave, 1, service_point=desk, by=None)
    other_wave = create_wave("W-OTHER", "Đợt khác", wave.questionnaire)
    (of_other_wave,) = paper.issue_forms(other_wave, 1, service_point=desk, by=None)
    (of_other_desk,) = paper.issue_forms(wave, 1, service_point=world.foreign_desk, by=None)
    typed = typed_form(wave, desk)
    good, twice, in_other_batch, voided, settled, mine, bad_value, bad_procedure = forms
    paper.save_pass(other_batch, in_other_batch, binh, typed, complete=True)
    paper.void_form(voided, "spoilt", chi)
    paper.save_pass(batch, settled, binh, typed, complete=True)
    paper.save_pass(batch, settled, chi, typed, complete=True)
    paper.save_pass(batch, mine, an, typed, complete=True)
    db.session.commit()
    item = likert_item(wave)
    procedure = next(i.code for i in paper.entry_items(questionnaire_of(wave.questionnaire))
                     if i.scale.kind == "procedure")  # fmt: skip
    typo = good.serial[:-1] + str((int(good.serial[-1]) + 1) % 10)
    rows = [
        (good.serial, typed),  # line 2
        ("12AB5", typed),  # 3
        (typo, typed),  # 4
        (paper.serial_of(99_999_999), typed),  # 5
        (of_other_wave.serial, typed),  # 6
        (of_other_desk.serial, typed),  # 7
        (in_other_batch.serial, typed),  # 8
        (voided.serial, typed),  # 9
        (settled.serial, typed),  # 10
        (good.serial, typed),  # 11
        (mine.serial, typed),  # 12
        (bad_value.serial, typed | {item: "7"}),  # 14, after an empty line
        (bad_procedure.serial, typed | {procedure: "9.999999"}),  # 15
    ]
    lines = csv_file(wave, rows).decode().splitlines()
    content = ("\n".join([*lines[:12], ",,,", *lines[12:]]) + "\n").encode()
    before, everything = counts(), snapshot()

    with pytest.raises(PassFileError) as refused:
        import_passes(batch, an, content, "passes.csv")
    db.session.rollback()

    found = problems_of(refused)
    expected = {
        3: "A serial is 9 digits; 12AB5 is not.",
        4: f"Serial {typo} fails its check digit",
        5: f"No form has serial {paper.serial_of(99_999_999)}.",
        6: "belongs to wave W-OTHER",
        7: "was printed for MC-20209",
        8: f"is in batch {other_batch.code}",
        9: "is void",
        10: "is settled already",
        11: f"Serial {good.serial} is also on line 2.",
        12: "You have typed form",
        14: f"{item}: Type 1, 2, 3, 4, 5, or - for no answer",
        15: f"{procedure}: No procedure 9.999999 is handled here.",
    }
    assert sorted(found) == sorted(expected)
    for line, text in expected.items():
        assert len(found[line]) == 1 and text in found[line][0], (line, found[line])
    assert counts() == before and snapshot() == everything


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda names: names[:-1], "Column {last} is missing."),
        (lambda names: [*names, "S-Z9"], "Column S-Z9 is not a question of this form."),
        (lambda names: [*names, names[3]], "Column {third} appears twice."),
        (
            lambda names: [names[0], names[2], names[1], *names[3:]],
            "Column {second} is out of the paper's order: {first} comes here.",
        ),
        (lambda names: ["form", *names[1:]], "The first column must be serial, not form."),
        (lambda names: names[1:], "The first column must be serial."),
    ],
    ids=["missing", "unknown", "duplicated", "out-of-order", "misnamed-serial", "no-serial"],
)
def test_a_wrong_header_is_named_and_nothing_is_stored(world, english, change, message):
    batch, forms = new_batch(world, 1)
    names = ["serial", *columns(world.wave)]
    content = csv_file(
        world.wave, [(forms[0].serial, typed_form(world.wave, world.desk))], change(names)
    )
    before = counts()
    with pytest.raises(PassFileError) as refused:
        import_passes(batch, world.user("an@example.vn"), content, "passes.csv")
    db.session.rollback()
    expected = message.format(first=names[1], second=names[2], third=names[3], last=names[-1])
    assert refused.value.problems == [(1, expected)]
    assert counts() == before


def test_the_same_typist_importing_twice_is_refused(world, english):
    batch, forms = new_batch(world, 2)
    an = world.user("an@example.vn")
    content = typed_file(world, forms)
    import_passes(batch, an, content, "passes.csv")
    db.session.commit()
    before, everything = counts(), snapshot()
    with pytest.raises(PassFileError) as refused:
        import_passes(batch, an, content, "passes.csv")
    db.session.rollback()
    found = problems_of(refused)
    assert sorted(found) == [2, 3]
    assert all("You have typed form" in messages[0] for messages in found.values())
    assert counts() == before and snapshot() == everything


def test_a_file_that_is_no_spreadsheet_is_refused(world, english):
    batch, _forms = new_batch(world, 1)
    an = world.user("an@example.vn")
    for content, name, message in [
        (b"serial\n", "passes.pdf", "The file must be CSV or XLSX."),
        (b"\xff\xfe", "passes.csv", "The file is not UTF-8 text."),
        (b"", "passes.csv", "The file is empty."),
        (b"not a workbook", "passes.xlsx", "The file is not a readable XLSX workbook."),
        (csv_file(world.wave, []), "passes.csv", "The file has a header but no forms."),
    ]:
        with pytest.raises(PassFileError) as refused:
            import_passes(batch, an, content, name)
        assert refused.value.problems == [(0, message)]


# --- the command line ---------------------------------------------------------------------


def test_the_command_imports_a_file(world, runner, tmp_path):
    batch, forms = new_batch(world, 2)
    path = tmp_path / "passes.csv"
    path.write_bytes(typed_file(world, forms))
    result = runner.invoke(
        args=["paper", "import-pass", "--batch", batch.code, "--typist", "an@example.vn", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert f"Imported 2 passes of an@example.vn into batch {batch.code}" in result.output
    assert db.session.scalar(select(func.count(PaperPass.id))) == 2


def test_the_command_prints_each_bad_row_and_stores_nothing(world, runner, tmp_path):
    batch, forms = new_batch(world, 2)
    item = likert_item(world.wave)
    typed = typed_form(world.wave, world.desk)
    path = tmp_path / "passes.csv"
    path.write_bytes(csv_file(world.wave, [(forms[0].serial, typed | {item: "9"}), ("123", typed)]))
    before = counts()
    result = runner.invoke(
        args=["paper", "import-pass", "--batch", batch.code, "--typist", "an@example.vn", str(path)]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"passes.csv:2: {item}: Type 1, 2, 3, 4, 5, or - for no answer.",
        "passes.csv:3: Serial 000000123 fails its check digit: a digit is mistyped.",
    ]
    assert counts() == before


@pytest.mark.parametrize(
    ("batch", "typist", "message"),
    [
        ("B999999", "an@example.vn", "No batch has the code B999999."),
        (None, "nobody@example.vn", "No user has the email nobody@example.vn."),
        (None, "analyst@example.vn", "analyst@example.vn does not type paper forms"),
        (None, "foreign-surveyor@example.vn", "does not work for MC-00004"),
    ],
)
def test_the_command_refuses_a_bad_batch_or_typist_in_one_line(
    world, runner, tmp_path, batch, typist, message
):
    own, forms = new_batch(world, 1)
    path = tmp_path / "passes.csv"
    path.write_bytes(csv_file(world.wave, [(forms[0].serial, typed_form(world.wave, world.desk))]))
    before = counts()
    result = runner.invoke(
        args=["paper", "import-pass", "--batch", batch or own.code, "--typist", typist, str(path)]
    )
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert message in line
    assert counts() == before


# --- the page ------------------------------------------------------------------------------


def upload(content: bytes, name: str = "passes.csv", **fields) -> dict:
    return {"file": (io.BytesIO(content), name), **fields}


def test_a_surveyor_imports_their_own_pass_on_the_page(app, world):
    batch, forms = new_batch(world, 2)
    an = world.user("an@example.vn")
    client = client_of(app, "an@example.vn")
    url = f"/entry/batches/{batch.code}/import"
    page = page_text(client.get(url))
    assert "your pass (an@example.vn)" in page and 'name="typist"' not in page
    header = client.get(f"{url}/header.csv").get_data(as_text=True)
    assert header.lstrip("\ufeff").strip() == ",".join(["serial", *columns(world.wave)])
    content = typed_file(world, forms)
    response = client.post(url, data=upload(content), content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/entry/batches/{batch.code}")
    assert "2 passes of an@example.vn imported" in page_text(
        client.get(response.headers["Location"])
    )
    passes = db.session.scalars(select(PaperPass)).all()
    assert [(p.typist_id, p.source) for p in passes] == [(an.id, "import")] * 2


def test_a_supervisor_names_the_typist_among_those_of_the_batch(app, world):
    batch, forms = new_batch(world, 1)
    client = client_of(app, "chi@example.vn")
    url = f"/entry/batches/{batch.code}/import"
    page = page_text(client.get(url))
    for email in ("an@example.vn", "binh@example.vn", "chi@example.vn", "dung@example.vn"):
        assert f">{email}</option>" in page
    for email in ("foreign-surveyor@example.vn", "analyst@example.vn", "admin@example.vn"):
        assert email not in page
    content = csv_file(world.wave, [(forms[0].serial, typed_form(world.wave, world.desk))])
    foreign = world.user("foreign-surveyor@example.vn")
    before = counts()
    refused = client.post(
        url, data=upload(content, typist=str(foreign.id)), content_type="multipart/form-data"
    )
    assert refused.status_code == 400
    assert "Choose the typist from the list." in page_text(refused)
    assert counts() == before
    binh = world.user("binh@example.vn")
    response = client.post(
        url, data=upload(content, typist=str(binh.id)), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    (saved,) = db.session.scalars(select(PaperPass)).all()
    assert saved.typist_id == binh.id


def test_a_bad_file_on_the_page_lists_each_line_and_stores_nothing(app, world):
    batch, forms = new_batch(world, 1)
    item = likert_item(world.wave)
    typed = typed_form(world.wave, world.desk)
    content = csv_file(world.wave, [(forms[0].serial, typed | {item: "0"}), ("12", typed)])
    client = client_of(app, "an@example.vn")
    before = snapshot()
    response = client.post(
        f"/entry/batches/{batch.code}/import",
        data=upload(content),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = page_text(response)
    assert "Nothing was imported: 2 problems" in page
    assert f"Line 2: {item}: Type 1, 2, 3, 4, 5" in page
    assert "Line 3: Serial 000000012 fails its check digit" in page
    assert snapshot() == before


def test_an_analyst_is_refused_and_another_provinces_surveyor_finds_nothing(app, world):
    batch, forms = new_batch(world, 1)
    content = csv_file(world.wave, [(forms[0].serial, typed_form(world.wave, world.desk))])
    url = f"/entry/batches/{batch.code}/import"
    clients = {
        email: client_of(app, email)
        for email in ("analyst@example.vn", "foreign-surveyor@example.vn")
    }
    before = snapshot()
    for email, status in (("analyst@example.vn", 403), ("foreign-surveyor@example.vn", 404)):
        client = clients[email]
        assert client.get(url).status_code == status
        assert client.get(f"{url}/header.csv").status_code == status
        sent = client.post(url, data=upload(content), content_type="multipart/form-data")
        assert sent.status_code == status
    assert snapshot() == before


# --- household paper forms, end to end ---------------------------------------------------

#: Forms per cluster of province 01, and the value each gives the first scored item.
CLUSTER_VALUES = {"00004": (5, 4, 1), "00070": (2, 5)}


@pytest.fixture
def household(world):
    """An open household wave whose forms were handed out in two communes of province 01."""
    version = db.session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.kind == "household")
        .order_by(QuestionnaireVersion.version.desc())
    ).first()
    wave = create_wave("HH-PAPER", "Khảo sát hộ gia đình", version)
    open_wave(wave)
    db.session.commit()
    return wave


def household_typed(wave, **changes: str) -> dict[str, str]:
    """A whole household form: each item's highest answer, a question the skip logic hides
    left blank."""
    questionnaire = questionnaire_of(wave.questionnaire)
    typed = {}
    for item in questionnaire.items():
        scale = item.scale
        if scale.kind == "text":
            typed[item.code] = ""
        elif scale.kind == "multi":
            typed[item.code] = str(scale.values[0])
        else:
            typed[item.code] = str([v for v in scale.values if v != scale.not_applicable][-1])
    typed.update(changes)
    _values, errors = paper.parse_typed(questionnaire, typed, None)
    return typed | {code: "" for code in errors}


def first_scored(wave):
    """The first five-point item of an index dimension (every form asks it)."""
    return next(
        item
        for item in scored_items(questionnaire_of(wave.questionnaire))
        if item.dimension and item.scale.kind == "likert5" and not item.show_if
    )


def type_household_forms(world, wave) -> dict[str, list[PaperForm]]:
    """Each cluster's forms imported by an@ and binh@, agreeing: all settled."""
    item = first_scored(wave)
    forms = {}
    for code, values in CLUSTER_VALUES.items():
        cluster = unit_by_code(code)
        forms[code] = paper.issue_forms(wave, len(values), unit=cluster, by=None)
        batch = paper.create_batch(wave, len(values), unit=cluster, by=None)
        rows = [
            (form.serial, household_typed(wave, **{item.code: str(value)}))
            for form, value in zip(forms[code], values, strict=True)
        ]
        content = csv_file(wave, rows)
        for typist in ("an@example.vn", "binh@example.vn"):
            import_passes(batch, world.user(typist), content, f"{code}.csv")
    db.session.commit()
    return forms


def test_settled_household_forms_count_in_their_clusters_everywhere(app, world, household):
    wave, item = household, first_scored(household)
    with app.test_request_context("/?lang=en"):
        forms = type_household_forms(world, wave)
    responses = db.session.scalars(select(Response).where(Response.wave_id == wave.id)).all()
    assert len(responses) == 5
    cluster_of = {f.response_id: code for code, fs in forms.items() for f in fs}
    for response in responses:
        assert response.service_point_id is None and response.channel == "paper"
        assert response.unit.code == cluster_of[response.id]

    # results, whole wave and by commune: the share satisfied, counted by hand
    satisfied = item.scale.satisfied

    def share(values):
        return sum(v in satisfied for v in values) / len(values)

    every = [v for values in CLUSTER_VALUES.values() for v in values]
    (whole,) = [r for r in results.compute(wave).records if r["variable"] == item.code]
    assert (whole["n"], whole["weighting"]) == (5, "unweighted")
    assert whole["estimate"] == pytest.approx(share(every), rel=1e-12)
    by_commune = {
        r["domain"]["commune"]: r
        for r in results.compute(wave, ["commune"]).records
        if r["variable"] == item.code
    }
    assert sorted(by_commune) == sorted(CLUSTER_VALUES)
    for code, values in CLUSTER_VALUES.items():
        assert by_commune[code]["n"] == len(values)
        assert by_commune[code]["estimate"] == pytest.approx(share(values), rel=1e-12)
    result_set = result_sets.run(wave, ["commune"])
    db.session.commit()
    assert result_set.response_count == 5
    rows, _weighted = design_rows(wave)  # the row path (calibration, answers per item)
    assert dict(zip(rows["response_id"], rows["psu"], strict=True)) == cluster_of
    assert answer_distributions(wave).responses == 5

    # the export: one row per response, its PSU and commune the cluster, no desk
    data = exports.response_table(wave).data
    assert sorted(data["psu"]) == sorted(cluster_of.values())
    assert list(data["psu"]) == list(data["commune"])
    assert set(data["desk"]) == {""} and set(data["channel"]) == {"paper"}
    assert set(data["province"]) == {"01"}
    exported = dict(zip(data["response_id"], data[item.code], strict=True))
    for response in responses:
        value = next(a.value for a in response.answers if a.item_code == item.code)
        assert exported[response.id] == value

    # progress: the wave's page per cluster, the list of waves, the frame
    client = client_of(app, "analyst@example.vn")
    page = page_text(client.get(f"/workbench/waves/{wave.code}"))
    for code, values in CLUSTER_VALUES.items():
        row = re.search(rf"{code} [^<]+</a></td>\s*<td>[^<]*</td>\s*<td[^>]*>(\d+)</td>\s*"
                        rf'<td class="num">(\d+)</td>', page)  # fmt: skip
        assert row is not None and int(row[2]) == len(values), code
    listed = dict(queries.waves(scope=scope_of(world.user("analyst@example.vn"))))
    assert listed[wave] == 5
    frame = "psu,stratum,stratum_psus,size\n00004,01,6,300\n00070,01,6,200\n00145,01,6,100\n"
    rows = frames.parse_frame(frames.read_table(frame.encode(), "frame.csv"), wave)
    frames.import_frame(wave, rows)
    db.session.commit()
    (stratum,) = queries.frame_progress(wave, scope=NATIONAL)
    assert (stratum.listed_psus, stratum.responding_psus, stratum.responses) == (3, 2, 5)
    (weighted,) = [r for r in results.compute(wave).records if r["variable"] == item.code]
    assert weighted["weighting"] == "design" and weighted["n"] == 5


def test_a_household_row_the_skip_logic_forbids_is_named(world, household, english):
    wave = household
    questionnaire = questionnaire_of(wave.questionnaire)
    skipped = next(item for item in questionnaire.items() if item.show_if)
    controller = questionnaire.item(skipped.show_if[0])
    other = next(v for v in controller.scale.values if v not in skipped.show_if[1])
    answer = "1" if skipped.scale.kind != "text" else "words"
    cluster = unit_by_code("00004")
    forms = paper.issue_forms(wave, 2, unit=cluster, by=None)
    batch = paper.create_batch(wave, 2, unit=cluster, by=None)
    db.session.commit()
    rows = [
        (forms[0].serial, household_typed(wave)),
        (
            forms[1].serial,
            household_typed(wave, **{controller.code: str(other)}) | {skipped.code: answer},
        ),
    ]
    before = counts()
    with pytest.raises(PassFileError) as refused:
        import_passes(batch, world.user("an@example.vn"), csv_file(wave, rows), "hh.csv")
    db.session.rollback()
    ((line, message),) = refused.value.problems
    assert line == 3 and message.startswith(f"{skipped.code}: Skipped on this form")
    assert counts() == before


def test_a_file_over_the_request_limit_is_refused(app, world):
    batch, _forms = new_batch(world, 1)
    client = client_of(app, "an@example.vn")
    before = snapshot()
    too_big = b"serial\n" + b"0" * app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        f"/entry/batches/{batch.code}/import",
        data=upload(too_big),
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert snapshot() == before
