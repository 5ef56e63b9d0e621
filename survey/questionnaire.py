"""Questionnaire versions kept as YAML data files: load, validate, check answers.

The file format is documented in ``survey/questionnaires/README.md``. This
module is pure Python and PyYAML: no Flask, no database. Loading collects
every problem in the file before it fails, so an administrator fixes them all
in one pass; each problem reads ``FILE: item CODE: what is wrong``.
"""

from __future__ import annotations

import hashlib
import re
import reprlib
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

SHIPPED_DIR = Path(__file__).resolve().parent / "questionnaires"
KINDS = ("household", "desk")
PARTS = ("service", "policy")
SCALE_KINDS = ("likert5", "ordinal", "choice", "multi", "yesno", "text", "procedure")
OPEN_KINDS = ("text", "procedure")  # scales without a fixed list of options
LIKERT5_VALUES = (1, 2, 3, 4, 5)
CODE_MAX_LENGTH = 32  # Answer.item_code is a String(32)
PROCEDURE_CODE_MAX_LENGTH = 64
CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$")
QUESTIONNAIRE_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # String(64) in the database
TITLE_MAX_LENGTH = 300  # String(300) in the database
SCALE_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FILE_NAME_RE = re.compile(r"^(?P<code>.+)\.v(?P<version>\d+)\.ya?ml$")

TOP_KEYS = {"code", "version", "kind", "method", "title", "intro", "note", "areas"}
TOP_KEYS |= {"scales", "dimensions", "sections", "headline"}
TOP_REQUIRED = ("code", "version", "kind", "method", "title", "intro", "scales", "sections")
SCALE_KEYS = {"kind", "options", "satisfied", "not_applicable", "max_length", "note"}
OPTION_KEYS = {"value", "vi", "en"}
NAMED_KEYS = {"code", "vi", "en", "note"}  # dimensions (and part) and areas
SECTION_KEYS = {"code", "vi", "en", "intro", "scale", "required", "items", "note"}
ITEM_KEYS = {"code", "vi", "en", "scale", "required", "dimension", "part", "overall"}
ITEM_KEYS |= {"show_if", "help", "note", "area", "origin"}
#: where an item's criterion comes from: the seed plans, a reconstruction of the
#: ministry's form (sipas-method.md), or an addition of the platform's own.
ORIGINS = ("seed", "reconstructed", "local")
SHOW_IF_KEYS = {"item", "in"}

#: A problem message quotes at most this many characters of a bad value.
SHOWN_LENGTH = 80
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = SHOWN_LENGTH
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 2, 5, 5


class QuestionnaireError(ValueError):
    """A questionnaire file could not be loaded; ``problems`` lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class AnswersError(ValueError):
    """Answers that do not fit the questionnaire; ``errors`` maps item code to keys."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(", ".join(f"{code}: {'/'.join(keys)}" for code, keys in errors.items()))


@dataclass(frozen=True)
class Text:
    """A wording in Vietnamese (the default) and English."""

    vi: str
    en: str

    def get(self, locale: str | None) -> str:
        """The wording for ``locale`` ("vi", "en", "en_US" ...); Vietnamese otherwise."""
        language = (locale or "vi").replace("-", "_").split("_")[0].lower()
        return self.en if language == "en" and self.en else self.vi


@dataclass(frozen=True)
class Option:
    value: int | str
    label: Text


@dataclass(frozen=True)
class Scale:
    """An answer scale; ``options`` is empty for ``text`` and ``procedure``."""

    code: str
    kind: str
    options: tuple[Option, ...] = ()
    #: option values counted as satisfied (positive) by the index, e.g. {4, 5}.
    satisfied: frozenset = frozenset()
    #: the option value meaning "not applicable", left out of the denominator.
    not_applicable: int | str | None = None
    max_length: int | None = None

    @property
    def values(self) -> tuple[int | str, ...]:
        return tuple(option.value for option in self.options)

    @property
    def numeric(self) -> bool:
        """Whether answers are whole numbers (stored as numbers), not text."""
        return bool(self.options) and all(isinstance(v, int) for v in self.values)

    def option(self, value: int | str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    def parse(self, raw: object) -> int | str | None:
        """The option value that ``raw`` (as submitted, e.g. "4") stands for, or None."""
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            return None
        return self._by_text.get(str(raw).strip())

    @cached_property
    def _by_text(self) -> dict[str, int | str]:
        return {str(option.value): option.value for option in self.options}


@dataclass(frozen=True)
class Item:
    code: str
    text: Text
    scale: Scale
    required: bool = False
    #: the factor or component the item feeds, e.g. "S-A"; None if none.
    dimension: str | None = None
    #: the block's "in general" item (of its dimension, or of its part).
    overall: bool = False
    #: skip logic: shown only when item CODE's answer is one of the values.
    show_if: tuple[str, tuple] | None = None
    help: Text | None = None
    note: str | None = None
    #: "service" or "policy" for items of those parts (from the dimension).
    part: str | None = None
    #: the policy area (ECON, HEALTH ...) the item is about, if any.
    area: str | None = None
    #: "seed", "reconstructed" or "local" (see ORIGINS); None where the file does not say.
    origin: str | None = None


@dataclass(frozen=True)
class Dimension:
    code: str
    part: str
    name: Text


@dataclass(frozen=True)
class Area:
    code: str
    name: Text


@dataclass(frozen=True)
class Section:
    code: str
    title: Text
    intro: Text | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Questionnaire:
    code: str
    version: int
    title: Text
    method: str
    kind: str
    intro: Text
    dimensions: tuple[Dimension, ...]
    sections: tuple[Section, ...]
    source: str
    #: sha256 of the file bytes.
    checksum: str
    areas: tuple[Area, ...] = ()
    #: the parts whose mean is the headline (overall) index, e.g. ("service",);
    #: the file's ``headline`` key, else every part that has dimensions.
    headline: tuple[str, ...] = ()

    @cached_property
    def has_skip_logic(self) -> bool:
        return any(item.show_if for item in self._items)

    @cached_property
    def multi_select_codes(self) -> frozenset[str]:
        """Codes of the items answered with several options (sent as lists)."""
        return frozenset(item.code for item in self._items if item.scale.kind == "multi")

    @cached_property
    def _items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _index(self) -> dict[str, Item]:
        return {item.code: item for item in self._items}

    def items(self) -> tuple[Item, ...]:
        """Every item, in the order asked."""
        return self._items

    def item(self, code: str) -> Item:
        """The item with ``code``; KeyError if there is none."""
        return self._index[code]

    def dimension(self, code: str) -> Dimension:
        """The dimension with ``code``; KeyError if there is none."""
        for dimension in self.dimensions:
            if dimension.code == code:
                return dimension
        raise KeyError(code)

    def dimension_items(
        self, dimension_code: str, *, include_overall: bool = False
    ) -> tuple[Item, ...]:
        """The items feeding a dimension; its "in general" item only if asked for."""
        return tuple(
            item
            for item in self.items()
            if item.dimension == dimension_code and (include_overall or not item.overall)
        )

    def overall_item(self, dimension_code: str) -> Item | None:
        """The "in general" item of a dimension, if the questionnaire has one."""
        found = self.dimension_items(dimension_code, include_overall=True)
        return next((item for item in found if item.overall), None)

    def part_overall_item(self, part: str) -> Item | None:
        """The "in general" item of the service or policy part, if any."""
        return next(
            (i for i in self.items() if i.overall and i.dimension is None and i.part == part),
            None,
        )

    def validate_answers(
        self, answers: Mapping[str, object], *, procedures: Collection[str] | None = None
    ) -> dict[str, list[str]]:
        """Problems with submitted answers, as ``{item_code: [error keys]}``; empty if none.

        ``answers`` maps item codes to the submitted string, or to a list of
        strings (a ``multi`` item; a list of one is fine for any item, so
        ``request.form.to_dict(flat=False)`` can be passed once keys that are
        not item codes, such as ``csrf_token``, are removed).

        Keys: ``required``, ``invalid_choice``, ``too_long``, ``unknown_item``,
        ``not_shown``. ``procedures`` are the procedure codes allowed for a
        ``procedure`` item (those of the desk); None accepts any code.
        """
        return _check_answers(self, answers, procedures)[0]

    def is_shown(self, item: Item, answers: Mapping[str, object]) -> bool:
        """Whether skip logic shows ``item``, given the typed answers before it."""
        return _is_shown(item, answers)

    def drop_hidden(self, answers: Mapping[str, object]) -> dict[str, object]:
        """``answers`` without those to items that skip logic hides (a page without
        JavaScript shows every question; an answer that does not apply can be dropped
        instead of refused)."""
        kept = dict(answers)
        if not self.has_skip_logic:
            return kept
        typed: dict[str, object] = {}
        for item in self._items:
            if not _is_shown(item, typed):
                kept.pop(item.code, None)
            elif item.scale.options and not _is_blank(kept.get(item.code)):
                error, value = _check_answer(item, kept[item.code], True, None)
                if error is None:
                    typed[item.code] = value
        return kept

    def clean_answers(
        self, answers: Mapping[str, object], *, procedures: Collection[str] | None = None
    ) -> dict[str, int | str | list]:
        """Typed answers (ints for numeric options), blanks left out; AnswersError if invalid."""
        errors, cleaned = _check_answers(self, answers, procedures)
        if errors:
            raise AnswersError(errors)
        return cleaned


# --- loading -----------------------------------------------------------------


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Load and validate a questionnaire file; QuestionnaireError lists all problems."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise QuestionnaireError([f"{name}: cannot read the file: {error.strerror}"]) from error
    return parse_questionnaire(data, source=name)


def parse_questionnaire(data: str | bytes, *, source: str = "<text>") -> Questionnaire:
    """Validate a questionnaire from its text (e.g. the definition kept in the database)."""
    raw_bytes = data.encode("utf-8") if isinstance(data, str) else data
    try:
        _refuse_anchors(raw_bytes, source)
        raw = yaml.load(raw_bytes, Loader=_StrictLoader)  # a SafeLoader: no Python objects
    except yaml.YAMLError as error:
        raise QuestionnaireError([f"{source}: {_yaml_problem(error)}"]) from error
    parser = _Parser(source)
    questionnaire = parser.questionnaire(raw, hashlib.sha256(raw_bytes).hexdigest())
    if parser.problems or questionnaire is None:
        raise QuestionnaireError(parser.problems)
    return questionnaire


def shipped_questionnaires() -> list[Path]:
    """The questionnaire files shipped with the application, by name."""
    return sorted(SHIPPED_DIR.glob("*.yaml"))


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A SafeLoader (libyaml's, when there is one) refusing a key given twice in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool | None):
                continue  # an unhashable key: the SafeLoader itself refuses it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_shown(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _refuse_anchors(data: bytes, source: str) -> None:
    """Refuse YAML anchors and aliases (``&name``, ``*name``) before anything is built.

    A questionnaire never needs them, and a few hundred bytes of aliases to
    aliases ("billion laughs") stand for a value of gigabytes, which any
    message quoting it would spell out. The check reads the file's events,
    a few milliseconds for the largest questionnaire.
    """
    for event in yaml.parse(data, Loader=_StrictLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = event.start_mark
            raise QuestionnaireError(
                [
                    f"{source}: line {mark.line + 1}, column {mark.column + 1}: "
                    "YAML anchors and aliases (&name, *name) are not allowed in "
                    "questionnaire files; write each value out in full"
                ]
            )


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    what = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}YAML syntax error: {what}"


def _shown(value: object) -> str:
    """``repr(value)``, cut short: a message quotes a bad value but never spells out a
    huge one (a long text, a deep list)."""
    text = _REPR.repr(value)
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH] + "…"


def _is_code(value: object) -> bool:
    return isinstance(value, str) and len(value) <= CODE_MAX_LENGTH and bool(CODE_RE.match(value))


def _has_diacritics_problem(text: str) -> bool:
    """Vietnamese of four or more words typed in plain ASCII has lost its accents."""
    words = re.findall(r"[^\W\d_]+", text)
    return len(words) >= 4 and all(word.isascii() for word in words)


class _Parser:
    """Builds a Questionnaire from parsed YAML, collecting every problem on the way."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.items: dict[str, Item] = {}
        self.item_sections: dict[str, str] = {}
        self.all_codes: list[str] = []
        self.broken: set[str | None] = set()  # items already reported as unusable

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    # -- small pieces --

    def unknown_keys(self, raw: Mapping, allowed: set[str], where: str) -> None:
        for key in raw:
            if key not in allowed:
                self.problem(
                    where, f"unknown key {_shown(key)} (allowed: {', '.join(sorted(allowed))})"
                )

    def mapping(self, raw: object, where: str) -> dict | None:
        if isinstance(raw, dict):
            return raw
        self.problem(where, "must be a mapping of keys and values")
        return None

    def sequence(self, raw: object, where: str, *, empty_ok: bool = False) -> list:
        if not isinstance(raw, list):
            self.problem(where, "must be a list")
            return []
        if not raw and not empty_ok:
            self.problem(where, "must not be empty")
        return raw

    def wording(self, raw: Mapping, where: str, what: str = "wording") -> Text | None:
        texts = {}
        for key, language in (("vi", "Vietnamese"), ("en", "English")):
            value = raw.get(key)
            if not isinstance(value, str) or not value.strip():
                self.problem(where, f"missing {language} {what} ({key})")
            else:
                texts[key] = " ".join(value.split())
        if "vi" in texts and _has_diacritics_problem(texts["vi"]):
            self.problem(where, f"Vietnamese {what} has no diacritics: {_shown(texts['vi'])}")
        return Text(**texts) if len(texts) == 2 else None

    def text(self, raw: object, where: str, what: str) -> Text | None:
        mapping = self.mapping(raw, f"{where} {what}")
        return self.wording(mapping, where, what) if mapping is not None else None

    def boolean(self, raw: Mapping, key: str, where: str, default: bool) -> bool:
        value = raw.get(key, default)
        if isinstance(value, bool):
            return value
        self.problem(where, f"{key} must be true or false, not {_shown(value)}")
        return default

    def note(self, raw: Mapping, where: str) -> str | None:
        value = raw.get("note")
        if value is None or isinstance(value, str):
            return value
        self.problem(where, "note must be text")
        return None

    def code(self, raw: Mapping, where: str) -> str | None:
        value = raw.get("code")
        if _is_code(value):
            return value
        self.problem(
            where,
            f"code {_shown(value)} must be capitals, digits and hyphens (like S-A1), "
            f"at most {CODE_MAX_LENGTH} characters",
        )
        return None

    # -- the file --

    def questionnaire(self, raw: object, checksum: str) -> Questionnaire | None:
        if not isinstance(raw, dict):
            self.problem("top level", "must be a mapping with keys " + ", ".join(TOP_REQUIRED))
            return None
        self.unknown_keys(raw, TOP_KEYS, "top level")
        for key in TOP_REQUIRED:
            if key not in raw:
                self.problem("top level", f"missing key {_shown(key)}")
        header = self.header(raw)
        areas = self.areas(raw.get("areas", []))
        scales = self.scales(raw.get("scales", {}))
        dimensions = self.dimensions(raw.get("dimensions", []))
        headline = self.headline(raw, dimensions)
        sections = (
            self.sections(raw["sections"], scales, dimensions, areas) if "sections" in raw else []
        )
        self.check_dimensions(dimensions, sections)
        if self.problems:
            return None
        return Questionnaire(
            **header,
            dimensions=tuple(dimensions.values()),
            sections=tuple(sections),
            source=self.source,
            checksum=checksum,
            areas=tuple(areas.values()),
            headline=headline,
        )

    def headline(self, raw: Mapping, dimensions: dict[str, Dimension]) -> tuple[str, ...]:
        """The parts making the headline index: the ``headline`` list, each part once and
        with dimensions; without the key, every part that has dimensions (in their order)."""
        present = tuple(dict.fromkeys(d.part for d in dimensions.values()))
        if "headline" not in raw:
            return present
        value = raw["headline"]
        if not isinstance(value, list) or not value:
            self.problem("headline", f"must be a non-empty list of parts ({', '.join(PARTS)})")
            return present
        chosen: list[str] = []
        for part in value:
            if not isinstance(part, str) or part not in PARTS:
                self.problem("headline", f"part {_shown(part)} is not one of {', '.join(PARTS)}")
            elif part in chosen:
                self.problem("headline", f"part {part} is given twice")
            elif part not in present:
                self.problem("headline", f"part {part} has no dimensions declared")
            else:
                chosen.append(part)
        return tuple(chosen)

    def header(self, raw: Mapping) -> dict:
        code = raw.get("code")
        if "code" in raw and not (isinstance(code, str) and QUESTIONNAIRE_CODE_RE.match(code)):
            self.problem("code", f"{_shown(code)} must be lower-case letters, digits and hyphens")
        kind = raw.get("kind")
        if "kind" in raw and kind not in KINDS:
            self.problem("kind", f"{_shown(kind)} is not one of {', '.join(KINDS)}")
        method = raw.get("method")
        if "method" in raw and not (isinstance(method, str) and method.strip()):
            self.problem("method", "must name the method, e.g. 'QĐ 1001/QĐ-BNV'")
        title = self.text(raw["title"], "top level", "title") if "title" in raw else None
        if title and max(len(title.vi), len(title.en)) > TITLE_MAX_LENGTH:
            self.problem("title", f"longer than {TITLE_MAX_LENGTH} characters")
        return {
            "code": code,
            "version": self.version(raw),
            "kind": kind,
            "method": method,
            "title": title,
            "intro": self.text(raw["intro"], "top level", "intro") if "intro" in raw else None,
        }

    def version(self, raw: Mapping) -> int | None:
        version = raw.get("version")
        if "version" not in raw:
            return None
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            self.problem("version", f"{_shown(version)} must be a whole number, 1 or more")
            return None
        named = FILE_NAME_RE.match(Path(self.source).name)
        if named and int(named["version"]) != version:
            self.problem("version", f"is {version} but the file name says v{named['version']}")
        if named and raw.get("code") != named["code"]:
            self.problem(
                "code",
                f"is {_shown(raw.get('code'))} but the file name says {_shown(named['code'])}",
            )
        return version

    # -- scales --

    def scales(self, raw: object) -> dict[str, Scale]:
        scales: dict[str, Scale] = {}
        if self.mapping(raw, "scales") is None:
            return scales
        for code, body in raw.items():
            where = f"scale {code}"
            if not (isinstance(code, str) and SCALE_CODE_RE.match(code)):
                self.problem(f"scale {_shown(code)}", "names are lower-case letters, digits and _")
                continue
            scale = self.scale(code, body, where)
            if scale is not None:
                scales[code] = scale
        return scales

    def scale(self, code: str, raw: object, where: str) -> Scale | None:
        if self.mapping(raw, where) is None:
            return None
        self.unknown_keys(raw, SCALE_KEYS, where)
        kind = raw.get("kind")
        if not isinstance(kind, str) or kind not in SCALE_KINDS:
            self.problem(
                where, f"unknown scale kind {_shown(kind)} (one of {', '.join(SCALE_KINDS)})"
            )
            return None
        options = self.options(raw, kind, where)
        values = tuple(o.value for o in options)
        not_applicable = self.not_applicable(raw, values, where)
        self.check_option_values(kind, values, not_applicable, where)
        return Scale(
            code=code,
            kind=kind,
            options=options,
            satisfied=self.satisfied(raw, kind, values, not_applicable, where),
            not_applicable=not_applicable,
            max_length=self.max_length(raw, kind, where),
        )

    def options(self, raw: Mapping, kind: str, where: str) -> tuple[Option, ...]:
        if kind in OPEN_KINDS:
            if "options" in raw:
                self.problem(where, f"a {kind} scale has no options")
            return ()
        options = []
        for position, body in enumerate(self.sequence(raw.get("options"), f"{where} options"), 1):
            option = self.option(body, f"{where} option {position}")
            if option is not None:
                options.append(option)
        return tuple(options)

    def option(self, raw: object, where: str) -> Option | None:
        if self.mapping(raw, where) is None:
            return None
        self.unknown_keys(raw, OPTION_KEYS, where)
        value = raw.get("value")
        label = self.wording(raw, where, "label")
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            self.problem(where, f"value {_shown(value)} must be a whole number or a short text")
            return None
        return Option(value, label or Text("", ""))  # a missing label is already reported

    def check_option_values(self, kind: str, values: tuple, not_applicable: object, where: str):
        shown = [str(v) for v in values]
        duplicates = sorted({v for v in shown if shown.count(v) > 1})
        for value in duplicates:
            self.problem(where, f"option value {value} is given twice")
        proper = tuple(v for v in values if v != not_applicable)
        if kind == "likert5" and values and proper != LIKERT5_VALUES:
            self.problem(where, "a likert5 scale has the options 1, 2, 3, 4, 5 in that order")
        if kind == "yesno" and values and len(proper) != 2:
            self.problem(where, "a yesno scale has exactly two options (and maybe not applicable)")

    def not_applicable(self, raw: Mapping, values: tuple, where: str) -> int | str | None:
        value = raw.get("not_applicable")
        if value is not None and value not in values:
            self.problem(where, f"not_applicable {_shown(value)} is not one of the option values")
            return None
        return value

    def satisfied(self, raw: Mapping, kind: str, values: tuple, not_applicable, where) -> frozenset:
        default = (4, 5) if kind == "likert5" else ()
        chosen = raw.get("satisfied", default)
        if not isinstance(chosen, list | tuple):
            self.problem(where, "satisfied must be a list of option values")
            return frozenset()
        for value in chosen:
            if value not in values or value == not_applicable:
                self.problem(
                    where, f"satisfied value {_shown(value)} is not one of the option values"
                )
        return frozenset(v for v in chosen if v in values)

    def max_length(self, raw: Mapping, kind: str, where: str) -> int | None:
        value = raw.get("max_length")
        if kind != "text":
            if value is not None:
                self.problem(where, "max_length is only for text scales")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(
                where, f"a text scale needs max_length, a whole number ≥ 1 (not {_shown(value)})"
            )
            return None
        return value

    # -- dimensions and areas --

    def named_list(self, raw: object, what: str, keys: set[str]) -> list[tuple[str, dict, Text]]:
        """Declared dimensions or areas: ``(code, body, name)`` for each usable one."""
        found = []
        codes: set[str] = set()
        for position, body in enumerate(self.sequence(raw, what, empty_ok=True), 1):
            where = f"{what} #{position}"
            if self.mapping(body, where) is None:
                continue
            code = self.code(body, where)
            where = f"{what[:-1]} {code}" if code else where
            self.unknown_keys(body, keys, where)
            name = self.wording(body, where, "name")
            if code in codes:
                self.problem(where, "declared twice")
            elif code:
                codes.add(code)
                found.append((code, body, name or Text("", "")))  # a missing name is reported
        return found

    def dimensions(self, raw: object) -> dict[str, Dimension]:
        dimensions = {}
        for code, body, name in self.named_list(raw, "dimensions", NAMED_KEYS | {"part"}):
            part = body.get("part")
            if part not in PARTS:
                self.problem(
                    f"dimension {code}", f"part {_shown(part)} is not one of {', '.join(PARTS)}"
                )
            else:
                dimensions[code] = Dimension(code, part, name)
        return dimensions

    def areas(self, raw: object) -> dict[str, Area]:
        return {
            code: Area(code, name) for code, _, name in self.named_list(raw, "areas", NAMED_KEYS)
        }

    # -- sections and items --

    def sections(self, raw: object, scales, dimensions, areas) -> list[Section]:
        bodies = self.sequence(raw, "sections")
        self.all_codes = [
            item.get("code")
            for body in bodies
            if isinstance(body, dict) and isinstance(body.get("items"), list)
            for item in body["items"]
            if isinstance(item, dict)
        ]
        context = {"scales": scales, "dimensions": dimensions, "areas": areas}
        found, codes = [], set()
        for position, body in enumerate(bodies, 1):
            section = self.section(body, f"section #{position}", context)
            if section is not None and section.code in codes:
                self.problem(f"section {section.code}", "section code used twice")
            elif section is not None:
                codes.add(section.code)
                found.append(section)
        return found

    def section(self, raw: object, where: str, context: dict) -> Section | None:
        if self.mapping(raw, where) is None:
            return None
        code = self.code(raw, where)
        where = f"section {code}" if code else where
        self.unknown_keys(raw, SECTION_KEYS, where)
        title = self.wording(raw, where, "title")
        intro = self.text(raw["intro"], where, "intro") if "intro" in raw else None
        defaults = {
            "scale": raw.get("scale"),
            "required": self.boolean(raw, "required", where, False),
            "section": code,
        }
        items = []
        for position, body in enumerate(self.sequence(raw.get("items"), f"{where} items"), 1):
            item = self.item(body, f"{where} item #{position}", defaults, context)
            if item is not None:
                items.append(item)
        if code is None:
            return None
        return Section(code, title or Text("", ""), intro, tuple(items))  # title: reported

    def item(self, raw: object, where: str, defaults: dict, context: dict) -> Item | None:
        if self.mapping(raw, where) is None:
            return None
        code = self.code(raw, where)
        where = f"item {code}" if code else where
        self.unknown_keys(raw, ITEM_KEYS, where)
        if code in self.items:
            self.problem(
                where, f"duplicate item code (first in section {self.item_sections[code]})"
            )
            return None
        fields = {
            "text": self.wording(raw, where),
            "scale": self.item_scale(raw, where, defaults, context["scales"]),
            "required": self.boolean(raw, "required", where, defaults["required"]),
            "overall": self.boolean(raw, "overall", where, False),
            "show_if": self.show_if(raw, code, where),
            "help": self.text(raw["help"], where, "help") if "help" in raw else None,
            "note": self.note(raw, where),
            "area": self.item_area(raw, where, context["areas"]),
            "origin": self.item_origin(raw, where),
        }
        fields.update(self.item_feeds(raw, where, fields, context))
        if code is None or fields["scale"] is None:
            self.broken.add(code)
            return None
        fields["text"] = fields["text"] or Text("", "")  # already reported; avoids knock-on errors
        item = Item(code=code, **fields)
        self.items[code] = item
        self.item_sections[code] = defaults["section"]
        return item

    def item_scale(self, raw: Mapping, where: str, defaults: dict, scales) -> Scale | None:
        name = raw.get("scale", defaults["scale"])
        if name is None:
            self.problem(where, "no scale given (on the item or its section)")
            return None
        if not isinstance(name, str) or name not in scales:
            known = ", ".join(sorted(scales)) or "none"
            self.problem(where, f"unknown scale {_shown(name)} (declared scales: {known})")
            return None
        return scales[name]

    def item_area(self, raw: Mapping, where: str, areas) -> str | None:
        area = raw.get("area")
        if area is not None and (not isinstance(area, str) or area not in areas):
            self.problem(where, f"area {_shown(area)} is not declared under areas")
            return None
        return area

    def item_origin(self, raw: Mapping, where: str) -> str | None:
        origin = raw.get("origin")
        if origin is not None and origin not in ORIGINS:
            self.problem(where, f"origin {_shown(origin)} is not one of {', '.join(ORIGINS)}")
            return None
        return origin

    def item_feeds(self, raw: Mapping, where: str, fields: dict, context: dict) -> dict:
        """The dimension and part an item feeds, checked against its scale and overall flag."""
        dimension, part = raw.get("dimension"), raw.get("part")
        dimensions = context["dimensions"]
        if dimension is not None and (
            not isinstance(dimension, str) or dimension not in dimensions
        ):
            self.problem(where, f"feeds dimension {_shown(dimension)}, which is not declared")
            return {"dimension": None, "part": None}
        if dimension is not None:
            if part is not None and part != dimensions[dimension].part:
                self.problem(where, f"part {_shown(part)} differs from its dimension's part")
            part = dimensions[dimension].part
        elif part is not None and (not isinstance(part, str) or part not in PARTS):
            self.problem(where, f"part {_shown(part)} is not one of {', '.join(PARTS)}")
        elif part is not None and not fields["overall"]:
            self.problem(where, "part without dimension is only for a part's 'in general' item")
        if fields["overall"] and dimension is None and part is None:
            self.problem(where, "an overall item must name the dimension or part it sums up")
        scale = fields["scale"]
        if (dimension or fields["overall"]) and scale is not None and not scale.satisfied:
            self.problem(
                where, f"feeds an index but scale {_shown(scale.code)} counts nothing satisfied"
            )
        return {"dimension": dimension, "part": part}

    def show_if(self, raw: Mapping, code: str | None, where: str) -> tuple[str, tuple] | None:
        if "show_if" not in raw:
            return None
        rule = self.mapping(raw["show_if"], f"{where} show_if")
        if rule is None:
            return None
        self.unknown_keys(rule, SHOW_IF_KEYS, f"{where} show_if")
        target, values = rule.get("item"), rule.get("in")
        if not isinstance(values, list) or not values:
            self.problem(where, "show_if needs 'in', a non-empty list of answer values")
            return None
        return self.show_if_target(target, values, code, where)

    def show_if_target(self, target: object, values: list, code, where: str) -> tuple | None:
        if not isinstance(target, str):
            self.problem(where, "show_if needs 'item', the code of an earlier item")
            return None
        if target in self.broken:
            return None
        if target not in self.items:
            later = target in self.all_codes and target != code
            why = "comes later; skip logic may only look back" if later else "does not exist"
            if target == code:
                why = "is the item itself"
            self.problem(where, f"show_if names item {_shown(target)}, which {why}")
            return None
        scale = self.items[target].scale
        if scale.kind in OPEN_KINDS:
            self.problem(where, f"show_if item {target} has a {scale.kind} scale with no options")
            return None
        parsed = []
        for value in values:
            if scale.parse(value) is None:
                self.problem(
                    where, f"show_if value {_shown(value)} is not an option of item {target}"
                )
            else:
                parsed.append(scale.parse(value))
        return (target, tuple(parsed)) if len(parsed) == len(values) else None

    def check_dimensions(self, dimensions: dict[str, Dimension], sections: list[Section]):
        items = [item for section in sections for item in section.items]
        for code in dimensions:
            feeding = [item for item in items if item.dimension == code]
            if not [item for item in feeding if not item.overall]:
                self.problem(f"dimension {code}", "has no items")
            self.check_single_overall([item for item in feeding if item.overall], code)
        for part in PARTS:
            overall = [i for i in items if i.overall and i.dimension is None and i.part == part]
            self.check_single_overall(overall, f"the {part} part")

    def check_single_overall(self, overall: list[Item], block: str) -> None:
        for extra in overall[1:]:
            self.problem(
                f"item {extra.code}",
                f"a second 'in general' item for {block} (the first is {overall[0].code})",
            )


# --- answers -----------------------------------------------------------------


def _check_answers(
    questionnaire: Questionnaire, answers: Mapping[str, object], procedures
) -> tuple[dict[str, list[str]], dict[str, int | str | list]]:
    known = questionnaire._index
    errors = {code: ["unknown_item"] for code in answers if code not in known}
    cleaned: dict[str, int | str | list] = {}
    for item in questionnaire.items():
        shown = _is_shown(item, cleaned)
        error, value = _check_answer(item, answers.get(item.code), shown, procedures)
        if error:
            errors[item.code] = [error]
        elif value is not None:
            cleaned[item.code] = value
    return errors, cleaned


def _is_shown(item: Item, cleaned: Mapping[str, object]) -> bool:
    """Whether skip logic shows ``item``, given the (valid) answers before it."""
    if item.show_if is None:
        return True
    target, values = item.show_if
    answer = cleaned.get(target)
    chosen = answer if isinstance(answer, list) else [answer]
    return any(value in values for value in chosen)


def _is_blank(raw: object) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple):
        return all(_is_blank(value) for value in raw)
    return False


def _check_answer(item: Item, raw: object, shown: bool, procedures) -> tuple[str | None, object]:
    if _is_blank(raw):
        return ("required" if item.required and shown else None), None
    if not shown:
        return "not_shown", None
    kind = item.scale.kind
    if kind != "multi" and isinstance(raw, list | tuple):
        raw = raw[0] if len(raw) == 1 else None  # a form posted with to_dict(flat=False)
    if kind == "text":
        return _check_text(item.scale, raw)
    if kind == "procedure":
        return _check_procedure(raw, procedures)
    if kind == "multi":
        return _check_multi(item.scale, raw)
    value = item.scale.parse(raw)
    return ("invalid_choice", None) if value is None else (None, value)


def _check_text(scale: Scale, raw: object) -> tuple[str | None, object]:
    if not isinstance(raw, str):
        return "invalid_choice", None
    text = _tidy_text(raw)
    if scale.max_length is not None and len(text) > scale.max_length:
        return "too_long", None
    return None, text


def _tidy_text(raw: str) -> str:
    """NFC (phones may send decomposed Vietnamese), newlines unified, control characters
    (NUL, which PostgreSQL refuses, among them) dropped, outer blanks stripped."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    kept = (c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return "".join(kept).strip()


def _check_procedure(raw: object, procedures) -> tuple[str | None, object]:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return "invalid_choice", None
    code = str(raw).strip()
    if len(code) > PROCEDURE_CODE_MAX_LENGTH:
        return "invalid_choice", None
    if procedures is not None and code not in procedures:
        return "invalid_choice", None
    return None, code


def _check_multi(scale: Scale, raw: object) -> tuple[str | None, object]:
    chosen = [raw] if not isinstance(raw, list | tuple) else [v for v in raw if not _is_blank(v)]
    values = [scale.parse(value) for value in chosen]
    if None in values:
        return "invalid_choice", None
    return None, [value for value in scale.values if value in values]
