"""Printable paper forms: new serials from ``paper.issue_forms``, rendered as one A4 document.

Every copy carries the questionnaire's title, the wave, the desk or cluster
(a household cluster also with the commune and province above it), its
serial in large grouped digits and as a Code 128 barcode (a hand scanner
types it, then Enter), the intro, and each question in the entry screen's
order (``paper.entry_items``) with its item code beside it. Questions
answered on the same options share one grid, a column per option; the
others list their options, or lines to write on.

The HTML document is self-contained (its print CSS, ``static/paper-print.css``,
is inlined and the barcodes are inline SVG), so a file written by
``paper print --out FILE.html`` prints from any browser; PDF is the same HTML
converted by WeasyPrint.

Functions flush but never commit: the caller commits once the document is
safely written or sent, so a failed print issues nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from survey.errors import UserError
from survey.models import PaperForm, ServicePoint, Unit, User, Wave
from survey.questionnaire import Item, Option, Questionnaire, Section
from survey.services import paper
from survey.services.questionnaires import questionnaire_of

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
LANGUAGES = ("vi", "en")
#: A grid has at most this many option columns, each label at most this long.
GRID_COLUMNS = 6
GRID_LABEL_LENGTH = 28
GRID_KINDS = ("likert5", "ordinal", "choice", "yesno")
#: The printed marks of items whose ``origin`` is not the seed plans.
ORIGIN_MARKS = {"reconstructed": "†", "local": "‡"}


# --- the print run -----------------------------------------------------------------


@dataclass(frozen=True)
class PrintRun:
    """The forms issued by one print and their document."""

    forms: list[PaperForm]
    fmt: str
    content: bytes

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt]

    @property
    def filename(self) -> str:
        first, last = self.forms[0], self.forms[-1]
        place = first.service_point or first.unit
        return f"forms-{first.wave.code}-{place.code}-{first.serial}-{last.serial}.{self.fmt}"


def print_forms(
    wave: Wave,
    count: int,
    *,
    service_point: ServicePoint | None = None,
    unit: Unit | None = None,
    locale: str = "vi",
    fmt: str = "html",
    by: User | None,
) -> PrintRun:
    """Issue ``count`` forms for ``wave`` and a desk or cluster, and render them in
    ``locale`` as HTML or PDF. A UserError says what is wrong; nothing is committed."""
    if fmt not in FORMATS:
        raise UserError(_("Print the forms as pdf or html, not %(format)s.") % {"format": fmt})
    if locale not in LANGUAGES:
        raise UserError(_("Print the forms in vi or en, not %(lang)s.") % {"lang": locale})
    to_pdf = pdf_writer() if fmt == "pdf" else None  # refused before any serial is issued
    forms = paper.issue_forms(wave, count, service_point=service_point, unit=unit, by=by)
    html = render_forms(wave, forms, locale)
    content = to_pdf(html) if to_pdf else html.encode("utf-8")
    return PrintRun(forms, fmt, content)


def pdf_writer() -> Callable[[str], bytes]:
    """HTML → PDF with WeasyPrint; a UserError when it (or its Pango libraries) cannot load."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise UserError(
            _(
                "PDF cannot be made here: WeasyPrint could not load its system libraries "
                "(Pango): %(error)s. Print the forms as HTML instead (--out FILE.html, or HTML "
                "on the page) and use the browser's print."
            )
            % {"error": str(error)[:200]}
        ) from error
    return lambda html: HTML(string=html).write_pdf()


# --- the document --------------------------------------------------------------------


def render_forms(wave: Wave, forms: list[PaperForm], locale: str) -> str:
    """One HTML document holding a copy of the wave's form for each of ``forms``."""
    questionnaire = questionnaire_of(wave.questionnaire)
    found = {getattr(item, "origin", None) for item in paper.entry_items(questionnaire)}
    with force_locale(locale):
        return render_template(
            "entry/paper_form.html",
            lang=locale,
            css=print_css(),
            wave=wave,
            questionnaire=questionnaire,
            blocks=layout(questionnaire),
            copies=[Copy.of(form) for form in forms],
            origins=[(origin, mark) for origin, mark in ORIGIN_MARKS.items() if origin in found],
            origin_mark=origin_mark,
            is_section=lambda row: isinstance(row, Section),
            skip_text=lambda item: skip_text(questionnaire, item, locale),
            write_lines=write_lines,
        )


def print_css() -> str:
    return (Path(current_app.static_folder) / "paper-print.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Copy:
    """What one printed copy says about itself: its serial and where it belongs."""

    serial: str
    grouped: str
    #: Inline SVG, made here from digits only (the template marks it safe).
    barcode: str
    desk: ServicePoint | None
    #: The cluster and the units above it, nearest first (household forms).
    places: list[Unit]

    @classmethod
    def of(cls, form: PaperForm) -> Copy:
        places = []
        place = form.unit
        while place is not None:
            places.append(place)
            place = place.parent
        return cls(
            serial=form.serial,
            grouped=paper.grouped_serial(form.serial),
            barcode=barcode_svg(form.serial),
            desk=form.service_point,
            places=places,
        )


def origin_mark(item: Item) -> str:
    """The small mark of a reconstructed or locally added question, or ''."""
    return ORIGIN_MARKS.get(getattr(item, "origin", None) or "", "")


def skip_text(questionnaire: Questionnaire, item: Item, locale: str) -> str:
    """The printed skip instruction: "Answer only if PER-2 is 7 (Other)."."""
    target_code, values = item.show_if
    target = questionnaire.item(target_code)
    shown = _(" or ").join(_option_text(target, value, locale) for value in values)
    if target.scale.kind == "multi":
        return _("Answer only if %(item)s includes %(values)s.") % {
            "item": target_code,
            "values": shown,
        }
    return _("Answer only if %(item)s is %(values)s.") % {"item": target_code, "values": shown}


def _option_text(item: Item, value, locale: str) -> str:
    option = item.scale.option(value)
    return f"{value} ({option.label.get(locale)})" if option else str(value)


def write_lines(item: Item) -> int:
    """How many lines a written answer gets: one for a name, up to three for a comment."""
    if item.scale.kind == "procedure":
        return 1
    longest = item.scale.max_length or 1000
    return 1 if longest <= 120 else 2 if longest <= 300 else 3


# --- layout: sections, grids and single questions -------------------------------------


@dataclass
class Block:
    """A piece of the form: a section ``heading``, a ``grid`` of questions answered on
    the same options (``rows`` of sections and items), or one ``question``."""

    kind: str
    section: Section | None = None
    item: Item | None = None
    columns: list[Option] = field(default_factory=list)
    #: Option values that mean "not applicable" (their column stands apart).
    not_applicable: set = field(default_factory=set)
    rows: list[Section | Item] = field(default_factory=list)

    def takes(self, item: Item) -> bool:
        """Whether ``item`` fits this grid: each of its options a column with the same label,
        or a new column within the limit."""
        labels = {option.value: option.label for option in self.columns}
        new = [o for o in item.scale.options if o.value not in labels]
        agree = all(labels[o.value] == o.label for o in item.scale.options if o.value in labels)
        return agree and len(labels) + len(new) <= GRID_COLUMNS

    def add(self, item: Item) -> None:
        known = {option.value for option in self.columns}
        self.columns += [o for o in item.scale.options if o.value not in known]
        if item.scale.not_applicable is not None:
            self.not_applicable.add(item.scale.not_applicable)
        self.rows.append(item)


def layout(questionnaire: Questionnaire) -> list[Block]:
    """The form's blocks in the entry screen's order; a grid goes on across sections
    while the options stay the same, a section's title becoming one of its rows."""
    section_of = {item.code: s for s in questionnaire.sections for item in s.items}
    blocks: list[Block] = []
    grid: Block | None = None
    section = None
    for item in paper.entry_items(questionnaire):
        new_section = section_of[item.code] is not section
        section = section_of[item.code]
        if grid is not None and _gridded(item) and grid.takes(item):
            if new_section:
                grid.rows.append(section)
            grid.add(item)
            continue
        if grid is not None:
            blocks.append(_finished(grid))
            grid = None
        if new_section:
            blocks.append(Block("heading", section=section))
        if _gridded(item):
            grid = Block("grid")
            grid.add(item)
        else:
            blocks.append(Block("question", item=item))
    if grid is not None:
        blocks.append(_finished(grid))
    return blocks


def _gridded(item: Item) -> bool:
    options = item.scale.options
    return (
        item.scale.kind in GRID_KINDS
        and 2 <= len(options) <= GRID_COLUMNS
        and all(len(o.label.vi) <= GRID_LABEL_LENGTH for o in options)
        and all(len(o.label.en) <= GRID_LABEL_LENGTH for o in options)
    )


def _finished(grid: Block) -> Block:
    """A grid of one question is printed as that question, its options in a row."""
    items = [row for row in grid.rows if isinstance(row, Item)]
    return grid if len(items) > 1 else Block("question", item=items[0])


# --- Code 128 ------------------------------------------------------------------------

# Bar and space widths (in modules) of Code 128's symbol values 0..105 and the stop.
_WIDTHS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232 2331112"
)
_CODE128 = _WIDTHS.split()
_START_B, _STOP = 104, 106
#: Blank modules each side, as the standard asks, so a scanner finds the edges.
QUIET_ZONE = 10


def code128_modules(text: str) -> list[tuple[int, int]]:
    """``text`` (printable ASCII) in Code 128 set B: each bar as (first module, width)."""
    if not text or any(not 32 <= ord(ch) < 127 for ch in text):
        raise ValueError(f"Code 128-B encodes printable ASCII only, not {text!r}")
    values = [_START_B] + [ord(ch) - 32 for ch in text]
    check = sum(value * max(position, 1) for position, value in enumerate(values)) % 103
    bars, at = [], QUIET_ZONE
    for value in [*values, check, _STOP]:
        for index, width in enumerate(_CODE128[value]):
            if index % 2 == 0:  # bars and spaces alternate, a bar first
                bars.append((at, int(width)))
            at += int(width)
    return bars


def code128_width(text: str) -> int:
    """Modules of ``text``'s barcode, quiet zones included."""
    return 11 * (len(text) + 3) + 2 + 2 * QUIET_ZONE


def barcode_svg(serial: str, *, module_mm: float = 0.35, height_mm: float = 10) -> str:
    """The serial as an inline SVG Code 128 barcode (presentation attributes only)."""
    modules = code128_width(serial)
    path = "".join(f"M{x} 0h{w}v1h-{w}z" for x, w in code128_modules(serial))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="barcode" role="img" '
        f'aria-label="{escape(serial)}" width="{modules * module_mm:.2f}mm" '
        f'height="{height_mm}mm" viewBox="0 0 {modules} 1" preserveAspectRatio="none" '
        f'shape-rendering="crispEdges"><rect width="{modules}" height="1" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )
