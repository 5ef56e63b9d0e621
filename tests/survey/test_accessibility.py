"""WCAG 2.1 AA contrast of the stylesheet's text colours (4.5:1 for body text)."""

from __future__ import annotations

import re

import pytest

from survey import ROOT

CSS = (ROOT / "static" / "site.css").read_text()


def declarations(selector: str) -> dict[str, str]:
    """The declarations of the rule whose selector list contains ``selector``."""
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", CSS):
        if selector in [s.strip() for s in selectors.split(",")]:
            pairs = (d.split(":", 1) for d in body.split(";") if ":" in d)
            return {k.strip(): v.strip() for k, v in pairs}
    raise AssertionError(f"no rule for {selector} in site.css")


def colour(value: str) -> tuple[float, float, float]:
    match = re.search(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", value)
    assert match, value
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return tuple(int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))


def luminance(rgb: tuple[float, float, float]) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((luminance(colour(foreground)), luminance(colour(background))))[::-1]
    return (light + 0.05) / (dark + 0.05)


WHITE = "#ffffff"


@pytest.mark.parametrize(
    ("name", "foreground", "background"),
    [
        (
            "body text",
            lambda: declarations("html")["color"],
            lambda: declarations("html")["background"],
        ),
        ("links", lambda: declarations("a")["color"], lambda: WHITE),
        ("hints", lambda: declarations(".hint")["color"], lambda: WHITE),
        ("muted text", lambda: declarations(".muted")["color"], lambda: WHITE),
        ("error text", lambda: declarations(".error")["color"], lambda: WHITE),
        (
            "error text on error notice",
            lambda: declarations(".error")["color"],
            lambda: declarations(".flash-error")["background"],
        ),
        (
            "header",
            lambda: declarations(".top")["color"],
            lambda: declarations(".top")["background"],
        ),
        (
            "primary button",
            lambda: declarations("button.primary")["color"],
            lambda: declarations("button.primary")["background"],
        ),
        (
            "secondary button",
            lambda: declarations("button")["color"],
            lambda: declarations("button")["background"],
        ),
        (
            "flash",
            lambda: declarations("html")["color"],
            lambda: declarations(".flash")["background"],
        ),
    ],
)
def test_text_contrast_meets_aa(name, foreground, background):
    assert contrast(foreground(), background()) >= 4.5, name


def test_form_controls_are_large_enough_to_tap():
    assert declarations(".opts label")["min-height"] == "44px"
    assert declarations("button")["min-height"] == "44px"
