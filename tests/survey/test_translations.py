"""Every text of the interface exists in Vietnamese (the default) and English."""

from __future__ import annotations

import io

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from survey import ROOT

CATALOGUE = ROOT / "survey" / "translations" / "vi" / "LC_MESSAGES"


def extracted_messages() -> set[str]:
    """The English source texts, extracted from the code and templates now."""
    method_map = [("survey/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_interface_text_has_a_vietnamese_translation():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="vi")
    missing = sorted(
        text
        for text in extracted_messages()
        if text not in catalogue or not catalogue[text].string or catalogue[text].fuzzy
    )
    assert missing == [], "untranslated (run flask --app survey translate update): " + repr(missing)


def test_compiled_catalogue_matches_the_po_file():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        source = {m.id: m.string for m in read_po(handle, locale="vi") if m.id and not m.fuzzy}
    with open(CATALOGUE / "messages.mo", "rb") as handle:
        compiled = {m.id: m.string for m in read_mo(io.BytesIO(handle.read())) if m.id}
    assert compiled == source, "run flask --app survey translate compile"
