"""Questionnaire files: the shipped versions, load errors, answer checks, the CLI."""

from __future__ import annotations

import copy
import hashlib
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from flask import Flask

from survey.questionnaire import (
    AnswersError,
    QuestionnaireError,
    load_questionnaire,
    parse_questionnaire,
    shipped_questionnaires,
)
from survey.questionnaire_cli import questionnaire_cli

SHIPPED = {path.name: path for path in shipped_questionnaires()}
HOUSEHOLD = "sipas-household-2023.v1.yaml"
DESK = "sipas-desk.v1.yaml"
DESK_V2 = "sipas-desk.v2.yaml"
#: sha256 of sipas-desk.v1.yaml: the version has responses in real deployments.
DESK_V1_SHA256 = "6550f59b61352b698ba028dc0a9ec41923463d7105710ebe0402677f1e3a9c3d"
LIKERT = [
    (1, "Rất không hài lòng", "Very dissatisfied"),
    (2, "Không hài lòng", "Dissatisfied"),
    (3, "Bình thường", "Neutral"),
    (4, "Hài lòng", "Satisfied"),
    (5, "Rất hài lòng", "Very satisfied"),
]
SERVICE = ("S-A", "S-B", "S-C", "S-D", "S-E")
POLICY = ("P-A", "P-B", "P-C", "P-D")

BASE = {
    "code": "test-form",
    "version": 1,
    "kind": "desk",
    "method": "test",
    "title": {"vi": "Phiếu thử", "en": "Test form"},
    "intro": {"vi": "Xin chào", "en": "Hello"},
    "scales": {
        "likert5": {
            "kind": "likert5",
            "options": [{"value": v, "vi": vi, "en": en} for v, vi, en in LIKERT],
        },
        "gender": {
            "kind": "choice",
            "options": [
                {"value": 1, "vi": "Nam", "en": "Male"},
                {"value": 2, "vi": "Nữ", "en": "Female"},
            ],
        },
        "note": {"kind": "text", "max_length": 10},
    },
    "dimensions": [{"code": "S-A", "part": "service", "vi": "Tiếp cận dịch vụ", "en": "Access"}],
    "sections": [
        {
            "code": "MAIN",
            "vi": "Phần chính",
            "en": "Main",
            "scale": "likert5",
            "items": [
                {"code": "S-A1", "dimension": "S-A", "vi": "Biển hiệu rõ", "en": "Clear signs"},
                {
                    "code": "S-A0",
                    "dimension": "S-A",
                    "overall": True,
                    "vi": "Nói chung",
                    "en": "All",
                },
                {"code": "R-GENDER", "scale": "gender", "vi": "Giới tính", "en": "Gender"},
                {
                    "code": "R-NOTE",
                    "scale": "note",
                    "show_if": {"item": "R-GENDER", "in": [2]},
                    "vi": "Ghi chú",
                    "en": "Note",
                },
            ],
        }
    ],
}


def dump(data: dict) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False)


def write(tmp_path: Path, data: dict, name: str = "form.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dump(data), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaire(path)
    return caught.value.problems


def items_of(data: dict) -> list[dict]:
    return data["sections"][0]["items"]


# --- the shipped files -------------------------------------------------------


def test_both_forms_are_shipped():
    assert {HOUSEHOLD, DESK, DESK_V2} <= set(SHIPPED)


def test_desk_v2_is_v1_with_the_service_index_as_headline():
    v1, v2 = load_questionnaire(SHIPPED[DESK]), load_questionnaire(SHIPPED[DESK_V2])
    assert (v1.code, v1.version, v2.code, v2.version) == ("sipas-desk", 1, "sipas-desk", 2)
    assert v2.headline == ("service",)
    assert v2.sections == v1.sections and v2.dimensions == v1.dimensions
    assert (v2.title, v2.intro, v2.method, v2.kind) == (v1.title, v1.intro, v1.method, v1.kind)
    assert {d.part for d in v2.dimensions} == {"service", "policy"}  # policy is still asked
    text = SHIPPED[DESK_V2].read_text(encoding="utf-8")
    assert "headline: [service]" in text and "four optional" in text  # says why


def test_v1_files_keep_their_meaning():
    """Without the key, every part with dimensions makes the headline, as before."""
    assert hashlib.sha256(SHIPPED[DESK].read_bytes()).hexdigest() == DESK_V1_SHA256, (
        "sipas-desk.v1.yaml has responses: never edit it, change a new version instead"
    )
    assert load_questionnaire(SHIPPED[DESK]).headline == ("service", "policy")
    assert load_questionnaire(SHIPPED[HOUSEHOLD]).headline == ("policy", "service")
    for name in (DESK, HOUSEHOLD):
        assert "headline" not in yaml.safe_load(SHIPPED[name].read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_file_loads(name):
    questionnaire = load_questionnaire(SHIPPED[name])
    assert f"{questionnaire.code}.v{questionnaire.version}.yaml" == name
    assert len(questionnaire.checksum) == 64
    for item in questionnaire.items():
        assert item.text.vi and item.text.en


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_satisfaction_scales_use_the_five_official_labels(name):
    questionnaire = load_questionnaire(SHIPPED[name])
    for item in questionnaire.items():
        if item.scale.kind == "likert5":
            labels = [(o.value, o.label.vi, o.label.en) for o in item.scale.options]
            assert labels[:5] == LIKERT
            assert item.scale.satisfied == {4, 5}


def test_household_form_has_the_official_structure():
    q = load_questionnaire(SHIPPED[HOUSEHOLD])
    assert [d.code for d in q.dimensions] == [*POLICY, *SERVICE]
    counts = {code: len(q.dimension_items(code)) for code in (*POLICY, *SERVICE)}
    assert counts == {"P-A": 2, "P-B": 2, "P-C": 9, "P-D": 10} | {
        "S-A": 3,
        "S-B": 4,
        "S-C": 5,
        "S-D": 3,
        "S-E": 3,
    }
    assert all(q.overall_item(code) is not None for code in (*POLICY, *SERVICE))
    assert q.part_overall_item("policy").code == "P-0"
    assert q.part_overall_item("service").code == "S-0"
    assert len({item.area for item in q.dimension_items("P-C")}) == 9
    assert "Confidence L" in q.item("S-C2").note and "Confidence L" in q.item("S-C5").note


def test_household_form_has_perceptions_needs_and_respondent_block():
    q = load_questionnaire(SHIPPED[HOUSEHOLD])
    codes = [item.code for item in q.items()]
    assert [c for c in codes if c.startswith("NEED-")] == [f"NEED-{n}" for n in range(1, 11)]
    assert {f"PER-{n}" for n in range(1, 9)} <= {"-".join(c.split("-")[:2]) for c in codes}
    assert {"R-GENDER", "R-AGE", "R-ETHNIC", "R-EDU", "R-OCC", "R-URBAN", "COMMENT"} <= set(codes)
    assert q.item("PER-2").scale.kind == "multi"
    assert q.item("R-ETHNIC-OTHER").show_if == ("R-ETHNIC", (2,))


def test_desk_form_is_short_with_the_five_factors():
    q = load_questionnaire(SHIPPED[DESK])
    assert q.kind == "desk"
    assert q.item("PROCEDURE").scale.kind == "procedure" and q.item("PROCEDURE").required
    assert len(q.item("CHANNEL").scale.options) == 4
    assert all(2 <= len(q.dimension_items(code)) <= 3 for code in SERVICE)
    assert all(len(q.dimension_items(code)) == 1 for code in POLICY)
    assert len(q.items()) <= 30
    assert not any(item.required for item in q.items() if item.code.startswith(("R-", "P-")))
    assert q.item("COMMENT").scale.max_length and not q.item("COMMENT").required


def test_desk_form_offers_not_applicable_where_a_citizen_may_have_no_experience():
    q = load_questionnaire(SHIPPED[DESK])
    for code in ("S-B3", "S-D1", "S-D2", "S-E2"):
        scale = q.item(code).scale
        assert scale.not_applicable == 0 and scale.option(0).label.vi == "Không áp dụng"
    assert q.item("S-C1").scale.not_applicable is None


def test_text_falls_back_to_vietnamese():
    q = load_questionnaire(SHIPPED[DESK])
    assert q.title.get("en").startswith("Your views")
    assert q.title.get("en_US") == q.title.en
    assert q.title.get("fr") == q.title.vi


def test_parse_questionnaire_reads_text_from_the_database():
    text = SHIPPED[DESK].read_text(encoding="utf-8")
    q = parse_questionnaire(text, source="wave 3")
    assert q.checksum == load_questionnaire(SHIPPED[DESK]).checksum


# --- load errors ---------------------------------------------------------------


def test_minimal_file_loads(tmp_path):
    q = load_questionnaire(write(tmp_path, BASE))
    assert [item.code for item in q.items()] == ["S-A1", "S-A0", "R-GENDER", "R-NOTE"]
    assert q.dimension_items("S-A", include_overall=True)[1].overall
    assert q.headline == ("service",)


def _with_policy(d):
    d["dimensions"].append({"code": "P-A", "part": "policy", "vi": "Giải trình", "en": "Acc."})
    items_of(d).insert(1, {"code": "P-A1", "dimension": "P-A", "vi": "Thông tin", "en": "Info"})


@pytest.mark.parametrize(
    ("headline", "expected"),
    [(None, ("service", "policy")), (["service"], ("service",)), (["policy"], ("policy",))]
    + [(["policy", "service"], ("policy", "service"))],
)
def test_headline_names_the_parts_of_the_overall_index(tmp_path, headline, expected):
    data = copy.deepcopy(BASE)
    _with_policy(data)
    if headline is not None:
        data = {"headline": headline, **data}
    assert load_questionnaire(write(tmp_path, data)).headline == expected


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        (["budget"], "headline: part 'budget' is not one of service, policy"),
        (["policy"], "headline: part policy has no dimensions declared"),
        (["service", "service"], "headline: part service is given twice"),
        ([], "headline: must be a non-empty list of parts (service, policy)"),
        ("service", "headline: must be a non-empty list of parts"),
        ([["service"]], "headline: part ['service'] is not one of service, policy"),
    ],
)
def test_a_bad_headline_is_a_problem_named_with_the_file(tmp_path, headline, expected):
    data = {**copy.deepcopy(BASE), "headline": headline}
    path = write(tmp_path, data)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}: ") and expected in p for p in problems), problems


def _duplicate_code(d):
    items_of(d)[2]["code"] = "S-A1"


def _no_vi(d):
    del items_of(d)[0]["vi"]


def _no_en(d):
    items_of(d)[0]["en"] = " "


def _unknown_scale(d):
    items_of(d)[0]["scale"] = "likert7"


def _unknown_scale_kind(d):
    d["scales"]["gender"]["kind"] = "radio"


def _undeclared_dimension(d):
    items_of(d)[0]["dimension"] = "S-Z"


def _empty_dimension(d):
    d["dimensions"].append({"code": "S-B", "part": "service", "vi": "Thủ tục", "en": "Procedure"})


def _two_overall(d):
    items_of(d).insert(
        2, {"code": "S-A9", "dimension": "S-A", "overall": True, "vi": "Chung", "en": "All"}
    )


def _show_if_unknown(d):
    items_of(d)[3]["show_if"]["item"] = "R-NOPE"


def _show_if_later(d):
    items_of(d)[0]["show_if"] = {"item": "R-GENDER", "in": [1]}


def _show_if_bad_value(d):
    items_of(d)[3]["show_if"]["in"] = [9]


def _empty_options(d):
    d["scales"]["gender"]["options"] = []


def _version_zero(d):
    d["version"] = 0


def _version_text(d):
    d["version"] = "one"


def _no_diacritics(d):
    items_of(d)[0]["vi"] = "Co bien hieu ro rang de thay"


def _unknown_key(d):
    items_of(d)[0]["requried"] = True


def _bad_likert(d):
    d["scales"]["likert5"]["options"].pop()


def _text_without_limit(d):
    del d["scales"]["note"]["max_length"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_duplicate_code, "item S-A1: duplicate item code"),
        (_no_vi, "item S-A1: missing Vietnamese wording (vi)"),
        (_no_en, "item S-A1: missing English wording (en)"),
        (_unknown_scale, "item S-A1: unknown scale 'likert7'"),
        (_unknown_scale_kind, "scale gender: unknown scale kind 'radio'"),
        (_undeclared_dimension, "item S-A1: feeds dimension 'S-Z', which is not declared"),
        (_empty_dimension, "dimension S-B: has no items"),
        (_two_overall, "item S-A9: a second 'in general' item for S-A (the first is S-A0)"),
        (_show_if_unknown, "item R-NOTE: show_if names item 'R-NOPE', which does not exist"),
        (_show_if_later, "item S-A1: show_if names item 'R-GENDER', which comes later"),
        (_show_if_bad_value, "item R-NOTE: show_if value 9 is not an option of item R-GENDER"),
        (_empty_options, "scale gender options: must not be empty"),
        (_version_zero, "version: 0 must be a whole number, 1 or more"),
        (_version_text, "version: 'one' must be a whole number"),
        (_no_diacritics, "item S-A1: Vietnamese wording has no diacritics"),
        (_unknown_key, "item S-A1: unknown key 'requried'"),
        (_bad_likert, "scale likert5: a likert5 scale has the options 1, 2, 3, 4, 5"),
        (_text_without_limit, "scale note: a text scale needs max_length"),
    ],
)
def test_load_error_names_file_item_and_problem(tmp_path, mutate, expected):
    data = copy.deepcopy(BASE)
    mutate(data)
    path = write(tmp_path, data)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}: ") and expected in p for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path):
    data = copy.deepcopy(BASE)
    del items_of(data)[2]["vi"]
    _undeclared_dimension(data)
    _show_if_bad_value(data)
    _version_zero(data)
    problems = problems_of(write(tmp_path, data))
    assert [p.split(": ")[1] for p in problems] == [
        "version",
        "item S-A1",
        "item R-GENDER",
        "item R-NOTE",
        "dimension S-A",  # S-A1 no longer feeds it
    ]


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("code: x\nversion: 1\nsections:\n  - code: [unclosed\n", encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: line ") and "YAML syntax error" in problem


def test_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("code: a\ncode: b\n", encoding="utf-8")
    [problem] = problems_of(path)
    assert "line 2" in problem and "duplicate key 'code'" in problem


def test_version_must_match_the_file_name(tmp_path):
    problems = problems_of(write(tmp_path, BASE, name="test-form.v2.yaml"))
    assert any("version: is 1 but the file name says v2" in p for p in problems)


def test_missing_file_is_a_problem(tmp_path):
    [problem] = problems_of(tmp_path / "nope.yaml")
    assert "nope.yaml: cannot read the file" in problem


# --- answers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def desk():
    return load_questionnaire(SHIPPED[DESK])


@pytest.fixture(scope="module")
def household():
    return load_questionnaire(SHIPPED[HOUSEHOLD])


def desk_answers(**changes) -> dict:
    answers = {item: "4" for item in ("S-A1", "S-A2", "S-A3", "S-B1", "S-B2", "S-C1", "S-C3")}
    answers |= {"S-C4": "5", "S-B3": "0", "S-D1": "0", "S-D2": "0", "S-E1": "3", "S-E2": "0"}
    answers |= {"PROCEDURE": "1.001", "CHANNEL": "1", "R-GENDER": "", "COMMENT": "  Tốt  "}
    answers |= changes
    return {code: value for code, value in answers.items() if value is not None}


def test_complete_desk_answers_pass_and_are_typed(desk):
    answers = desk_answers()
    assert desk.validate_answers(answers, procedures={"1.001"}) == {}
    cleaned = desk.clean_answers(answers, procedures={"1.001"})
    assert cleaned["S-A1"] == 4 and cleaned["S-D1"] == 0 and cleaned["CHANNEL"] == 1
    assert cleaned["PROCEDURE"] == "1.001" and cleaned["COMMENT"] == "Tốt"
    assert "R-GENDER" not in cleaned


@pytest.mark.parametrize(
    ("changes", "item", "key"),
    [
        ({"S-A1": None}, "S-A1", "required"),
        ({"CHANNEL": "  "}, "CHANNEL", "required"),
        ({"S-A1": "6"}, "S-A1", "invalid_choice"),
        ({"S-A1": "abc"}, "S-A1", "invalid_choice"),
        ({"S-C1": "0"}, "S-C1", "invalid_choice"),
        ({"S-A1": ["4", "5"]}, "S-A1", "invalid_choice"),
        ({"R-AGE": "9"}, "R-AGE", "invalid_choice"),
        ({"PROCEDURE": "9.999"}, "PROCEDURE", "invalid_choice"),
        ({"COMMENT": "x" * 1001}, "COMMENT", "too_long"),
        ({"S-Z9": "4"}, "S-Z9", "unknown_item"),
    ],
)
def test_bad_desk_answer_is_caught(desk, changes, item, key):
    errors = desk.validate_answers(desk_answers(**changes), procedures={"1.001"})
    assert errors == {item: [key]}


def test_any_procedure_is_accepted_without_a_list(desk):
    assert desk.validate_answers(desk_answers(PROCEDURE="2.002")) == {}


def test_answer_to_a_hidden_item_is_refused(household):
    assert household.validate_answers({"R-ETHNIC": "1", "R-ETHNIC-OTHER": "Tày"}) == {
        "R-ETHNIC-OTHER": ["not_shown"]
    }
    assert household.validate_answers({"R-ETHNIC": "2", "R-ETHNIC-OTHER": "Tày"}) == {}
    assert household.validate_answers({"R-ETHNIC-OTHER": "Tày"}) == {
        "R-ETHNIC-OTHER": ["not_shown"]
    }


def test_multi_select_answers(household):
    cleaned = household.clean_answers({"PER-2": ["7", "1"], "PER-2-OTHER": "Tờ rơi"})
    assert cleaned == {"PER-2": [1, 7], "PER-2-OTHER": "Tờ rơi"}
    assert household.validate_answers({"PER-2": ["1", "8"]}) == {"PER-2": ["invalid_choice"]}
    assert household.validate_answers({"PER-2": ["1"], "PER-2-OTHER": "x"}) == {
        "PER-2-OTHER": ["not_shown"]
    }


def test_clean_answers_refuses_bad_answers(desk):
    with pytest.raises(AnswersError) as caught:
        desk.clean_answers(desk_answers(**{"S-A1": "7"}))
    assert caught.value.errors["S-A1"] == ["invalid_choice"]


# --- command line --------------------------------------------------------------


@pytest.fixture
def runner():
    app = Flask(__name__)
    app.cli.add_command(questionnaire_cli)
    return app.test_cli_runner()


@pytest.mark.parametrize("name", [HOUSEHOLD, DESK, DESK_V2])
def test_check_prints_a_summary(runner, name):
    result = runner.invoke(args=["questionnaire", "check", str(SHIPPED[name])])
    assert result.exit_code == 0, result.output
    q = load_questionnaire(SHIPPED[name])
    assert f"{q.code} version {q.version}" in result.output
    assert f"{len(q.items())} items" in result.output
    assert "S-A Tiếp cận dịch vụ / Access to services: " in result.output


def test_check_prints_every_problem_and_fails(runner, tmp_path):
    data = copy.deepcopy(BASE)
    _no_vi(data)
    _unknown_scale_kind(data)
    path = write(tmp_path, data)
    result = runner.invoke(args=["questionnaire", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: item S-A1: missing Vietnamese wording (vi)" in result.output
    assert f"{path}: scale gender: unknown scale kind 'radio'" in result.output


def test_check_reports_a_yaml_error(runner, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("code: [x\n", encoding="utf-8")
    result = runner.invoke(args=["questionnaire", "check", str(path)])
    assert result.exit_code == 1 and "YAML syntax error" in result.output


def test_list_shows_the_shipped_files(runner):
    result = runner.invoke(args=["questionnaire", "list"])
    assert result.exit_code == 0
    assert "sipas-desk v1 (desk)" in result.output
    assert "sipas-household-2023 v1 (household)" in result.output


def test_text_answers_are_tidied(desk):
    cleaned = desk.clean_answers(desk_answers(COMMENT="Tha\u0300nh\x00 cảm ơn\r\n"))
    assert cleaned["COMMENT"] == "Thành cảm ơn"


def test_a_list_of_one_is_accepted_for_a_single_answer(desk):
    answers = {code: [value] for code, value in desk_answers().items()}
    assert desk.validate_answers(answers, procedures={"1.001"}) == {}


def test_numeric_scales_are_marked(desk):
    assert desk.item("S-A1").scale.numeric
    assert not desk.item("PROCEDURE").scale.numeric and not desk.item("COMMENT").scale.numeric


def test_drop_hidden_removes_answers_that_skip_logic_hides(household):
    answers = {"R-ETHNIC": "1", "R-ETHNIC-OTHER": "Tày", "PER-2": ["1", "7"], "PER-2-OTHER": "x"}
    kept = household.drop_hidden(answers)
    assert kept == {"R-ETHNIC": "1", "PER-2": ["1", "7"], "PER-2-OTHER": "x"}
    assert household.validate_answers(kept) == {}


def _nodes(data, path=()):
    yield path
    if isinstance(data, dict | list):
        for key, child in data.items() if isinstance(data, dict) else enumerate(data):
            yield from _nodes(child, (*path, key))


def test_any_malformed_file_gives_problems_not_a_crash():
    """Replace random parts of a valid file with values of the wrong type."""
    rng = random.Random(2025)
    source = yaml.safe_load(SHIPPED[DESK].read_text(encoding="utf-8"))
    paths = [path for path in _nodes(source) if path]
    junk = [None, "", "x", 0, -1, True, [], {}, [[1]], {"a": [1]}, "S-A1", ["S-A1"]]
    for _ in range(150):
        data = copy.deepcopy(source)
        for path in rng.sample(paths, 3):
            parent = data
            try:
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = rng.choice(junk)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier replacement removed this part
        try:
            parse_questionnaire(dump(data))
        except QuestionnaireError as error:
            assert error.problems


#: 9**9 strings under nine aliases, about 3 GB once spelled out, as the value of "kind"
#: (whose problem message quotes the value it got).
BILLION_LAUGHS = "".join(
    [
        "areas:\n",
        '- &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(
            f"- &{name} [{','.join(['*' + before] * 9)}]\n"
            for before, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "kind: *i\n",
    ]
)


def test_check_refuses_billion_laughs_quickly_in_little_memory(tmp_path):
    """``questionnaire check`` in a process that may use at most 512 MB of memory."""
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    assert len(BILLION_LAUGHS) < 500

    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (512 * 2**20, 512 * 2**20))

    environment = {
        **os.environ,
        "SIPAS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SIPAS_SECRET_KEY": "x",
    }
    command = [sys.executable, "-m", "flask", "--app", "survey", "questionnaire", "check"]
    done = subprocess.run(
        [*command, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        preexec_fn=cap_memory,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.splitlines() == [
        f"{path}: line 2, column 3: YAML anchors and aliases (&name, *name) are not allowed "
        "in questionnaire files; write each value out in full",
        f"{path}: 1 problem(s) found.",
    ]


def test_an_anchor_without_an_alias_is_refused_too(tmp_path):
    data = dump(BASE).replace("scales:\n", "scales: &shared\n", 1)
    path = tmp_path / "anchor.yaml"
    path.write_text(data, encoding="utf-8")
    (problem,) = problems_of(path)
    assert "anchors and aliases (&name, *name) are not allowed" in problem


def test_a_huge_bad_value_is_quoted_short(tmp_path):
    data = copy.deepcopy(BASE)
    data["kind"] = "x" * 100_000
    items_of(data)[0]["required"] = list(range(100_000))
    problems = problems_of(write(tmp_path, data))
    assert any("is not one of household, desk" in p for p in problems)
    assert any("required must be true or false" in p for p in problems)
    assert all(len(p) < 300 for p in problems)


# --- household version 2: follows the seed plans, marks what it reconstructs --------

HOUSEHOLD_V2 = "sipas-household-2023.v2.yaml"
#: sha256 of sipas-household-2023.v1.yaml: the version has responses in deployments.
HOUSEHOLD_V1_SHA256 = "59443d30cc9165dbfcac8a08f7fe2134019b8c1f14efa8598cf4374628529c9b"


@pytest.fixture(scope="module")
def household_v2():
    return load_questionnaire(SHIPPED[HOUSEHOLD_V2])


def english_texts(q) -> list[str]:
    """Every English text of a questionnaire a reader of the form or a report sees."""
    texts = [q.title.en, q.intro.en]
    texts += [d.name.en for d in q.dimensions] + [a.name.en for a in q.areas]
    for section in q.sections:
        texts += [section.title.en, section.intro.en if section.intro else ""]
        for item in section.items:
            texts += [item.text.en, item.help.en if item.help else ""]
            texts += [option.label.en for option in item.scale.options]
    return texts


def test_household_v2_is_a_new_version_and_v1_is_untouched(household_v2):
    assert hashlib.sha256(SHIPPED[HOUSEHOLD].read_bytes()).hexdigest() == HOUSEHOLD_V1_SHA256, (
        "sipas-household-2023.v1.yaml has responses: never edit it, change a new version instead"
    )
    v1 = load_questionnaire(SHIPPED[HOUSEHOLD])
    assert (household_v2.code, household_v2.version, household_v2.kind) == (v1.code, 2, "household")
    assert household_v2.headline == ("policy", "service")
    assert [d.code for d in household_v2.dimensions] == [*POLICY, *SERVICE]
    assert all(household_v2.overall_item(code) for code in (*POLICY, *SERVICE))
    assert household_v2.part_overall_item("policy").code == "P-0"
    assert household_v2.part_overall_item("service").code == "S-0"
    assert {item.origin for item in v1.items()} == {None}  # v1 says nothing of origins


def test_household_v2_says_it_is_a_reconstruction_not_the_ministrys_form(household_v2):
    q = household_v2
    assert "Reconstruction after QĐ 1001/QĐ-BNV" in q.method and "not the ministry's" in q.method
    assert "biên soạn lại theo Quyết định số 1001/QĐ-BNV" in q.title.vi
    assert "reconstructed after Decision 1001/QĐ-BNV" in q.title.en
    assert "không phải mẫu phiếu chính thức" in q.intro.vi
    assert "not the ministry's own form" in q.intro.en


def test_household_v2_civil_servant_items_are_exactly_the_seed_criteria(household_v2):
    items = household_v2.dimension_items("S-C")
    assert [item.code for item in items] == ["S-C1", "S-C2", "S-C3", "S-C5"]
    phrases = ["lịch sự, tôn trọng", "kịp thời, đầy đủ", "hoàn thiện hồ sơ sau một lần"]
    for item, phrase in zip(items, [*phrases, "tận tình giúp đỡ"], strict=True):
        assert phrase in item.text.vi, item.code
        assert item.origin == "seed" and item.note.startswith("Seed: DN B.III.14")


def test_household_v2_results_participation_and_quality_follow_the_seeds(household_v2):
    q = household_v2
    results = [item.text.vi for item in q.dimension_items("S-D")]
    assert any("công khai đầy đủ, kịp thời" in text for text in results)
    assert any("phù hợp với quy định" in text for text in results)
    assert any("tình hình triển khai" in item.text.vi for item in q.dimension_items("P-B"))
    quality = q.dimension_items("P-C")
    assert len({item.area for item in quality}) == 9
    assert all(item.text.vi.endswith("ở địa phương") for item in quality)


def test_household_v2_asks_of_policy_impact_neutrally(household_v2):
    impact = household_v2.dimension_items("P-D")
    assert [item.code for item in impact] == ["P-D11", "P-D12"]
    for item in impact:
        assert item.origin == "seed" and "BĐ 8.1.1" in item.note
        assert "tốt hơn" not in item.text.vi and "phát triển" not in item.text.vi
        assert not any(word in item.text.en.lower() for word in ("better", "improv"))
    text = SHIPPED[HOUSEHOLD_V2].read_text(encoding="utf-8")
    assert "ngày càng tốt hơn" not in text
    assert "ngày càng tốt hơn" in SHIPPED[HOUSEHOLD].read_text(encoding="utf-8")  # what changed


def test_household_v2_knows_no_district_level(household_v2):
    text = SHIPPED[HOUSEHOLD_V2].read_text(encoding="utf-8")
    assert "cấp huyện" not in text and "huyện" not in text.lower()
    assert "PER-8-DISTRICT" not in {item.code for item in household_v2.items()}


def test_household_v2_english_never_says_complaint(household_v2):
    assert not [t for t in english_texts(household_v2) if "complaint" in t.lower()]
    assert "complaint" not in SHIPPED[HOUSEHOLD_V2].read_text(encoding="utf-8").lower()
    handling = household_v2.dimension("S-E")
    assert handling.name.vi == "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị"
    assert "feedback and petitions" in handling.name.en
    v1 = load_questionnaire(SHIPPED[HOUSEHOLD])
    assert any("complaint" in text.lower() for text in english_texts(v1))  # what changed


def test_household_v2_marks_every_item_it_did_not_take_from_the_seeds(household_v2):
    items = household_v2.items()
    assert {item.origin for item in items} == {"seed", "reconstructed", "local"}
    for item in items:
        seed = item.origin == "seed"
        assert seed == bool(item.note and item.note.startswith("Seed: ")), item.code
        # the seeds list criteria only: no perception, needs, respondent or "in general" item
        if item.overall or item.code.startswith(("PER-", "NEED-", "R-", "COMMENT")):
            assert not seed, item.code
    seeded = {item.code for item in items if item.origin == "seed"}
    assert {"S-C1", "S-D4", "S-D5", "P-B3", "P-C1", "P-D11", "S-E1"} <= seeded


def test_household_v2_records_where_the_respondent_lives(household_v2):
    first = household_v2.sections[0]
    assert [item.code for item in first.items] == ["R-COMMUNE", "R-VILLAGE"]
    commune, village = first.items
    assert "Xã/phường" in commune.text.vi and "Thôn/tổ dân phố" in village.text.vi
    for item in first.items:
        assert item.scale.kind == "text" and not item.required and item.origin == "local"
    answers = {"R-COMMUNE": "Phường Ba Đình", "R-VILLAGE": ""}
    assert household_v2.clean_answers(answers) == {"R-COMMUNE": "Phường Ba Đình"}
    too_long = {"R-COMMUNE": "x" * (commune.scale.max_length + 1)}
    assert household_v2.validate_answers(too_long) == {"R-COMMUNE": ["too_long"]}


def test_household_v2_keeps_the_codes_of_unchanged_questions(household_v2):
    v1 = {item.code: item for item in load_questionnaire(SHIPPED[HOUSEHOLD]).items()}
    v2 = {item.code: item for item in household_v2.items()}
    for code in v1.keys() & v2.keys():
        assert v1[code].scale.values == v2[code].scale.values, code
        assert (v1[code].dimension, v1[code].area) == (v2[code].dimension, v2[code].area), code
    by_text = {item.text.vi: code for code, item in v1.items()}
    for code, item in v2.items():
        assert by_text.get(item.text.vi, code) == code  # a question asked as in v1 keeps its code
    assert set(v2) - set(v1) == {"R-COMMUNE", "R-VILLAGE", "P-B3", "P-D11", "P-D12", "S-D4", "S-D5"}
    dropped = {f"P-D{n}" for n in range(1, 11)} | {"S-C4", "PER-8-DISTRICT"}
    assert set(v1) - set(v2) == dropped


def test_an_unknown_origin_is_a_problem(tmp_path):
    data = copy.deepcopy(BASE)
    items_of(data)[0]["origin"] = "official"
    items_of(data)[1]["origin"] = "local"
    path = write(tmp_path, data)
    assert problems_of(path) == [
        f"{path}: item S-A1: origin 'official' is not one of seed, reconstructed, local"
    ]
    items_of(data)[0]["origin"] = "seed"
    q = load_questionnaire(write(tmp_path, data))
    assert [item.origin for item in q.items()] == ["seed", "local", None, None]


def test_check_and_list_show_household_v2(runner):
    path = SHIPPED[HOUSEHOLD_V2]
    result = runner.invoke(args=["questionnaire", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "sipas-household-2023 version 2 (household)" in result.output
    assert "S-C Công chức trực tiếp giải quyết công việc" in result.output
    assert "4 items + 'in general'" in result.output
    listed = runner.invoke(args=["questionnaire", "list"]).output
    assert "sipas-household-2023 v2 (household)" in listed
