"""Guards around every request and response: body limits, NUL bytes, security headers.

A citizen's form is a few kilobytes, so the public pages take at most
``MAX_FORM_BYTES`` in at most ``MAX_FORM_FIELDS`` fields; the back office,
which uploads sampling frames, takes up to ``MAX_CONTENT_LENGTH`` and Flask's
``MAX_FORM_PARTS`` fields. A larger request is refused with a 413 page
before any view runs, so nothing oversized is ever stored or shown back.

A NUL character is refused (400) wherever it appears in the path, the query
string or the form: PostgreSQL cannot store one in text, and would answer a
query that carries one with an error rather than "not found".
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from flask import Flask, Response, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

#: Only this site's own files, no framing by other sites. Inline script is never
#: allowed; an inline <style> only if written as it is in a template (its hash).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'{styles}",
    "img-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A desk's URL holds its QR signature: never send it to another site.
    "Referrer-Policy": "same-origin",
}
STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def init_app(app: Flask) -> None:
    headers = {
        "Content-Security-Policy": content_security_policy(inline_style_hashes(app)),
        **SECURITY_HEADERS,
    }
    # First of the app's before-request functions: Flask-WTF's CSRF check,
    # registered earlier, reads the form, which must be parsed under these limits.
    app.before_request_funcs.setdefault(None, []).insert(0, guard_request)

    @app.after_request
    def security_headers(response: Response) -> Response:
        """The same protective headers on every response; a view may set its own first."""
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


def content_security_policy(style_hashes: Iterable[str] = ()) -> str:
    styles = "".join(f" '{source}'" for source in style_hashes)
    return "; ".join(CONTENT_SECURITY_POLICY).format(styles=styles)


def inline_style_hashes(app: Flask) -> list[str]:
    """CSP hash sources of the ``<style>`` blocks in the templates (the A4 poster's).

    Only blocks without Jinja markup, which are sent exactly as written.
    """
    env = app.jinja_env
    found = []
    for name in env.list_templates(extensions=["html"]):
        source = env.loader.get_source(env, name)[0]
        for block in STYLE_BLOCK.findall(source):
            if "{{" not in block and "{%" not in block:
                digest = hashlib.sha256(block.encode()).digest()
                found.append("sha256-" + base64.b64encode(digest).decode())
    return sorted(set(found))


def guard_request() -> None:
    """Set this request's size limits, then refuse one that breaks them or carries a NUL."""
    fields = _apply_limits()
    form = request.form  # parsed here, under the limits just set
    if _count_values(form) + _count_values(request.files) > fields:
        raise RequestEntityTooLarge()
    if "\x00" in request.path or _has_nul(request.args) or _has_nul(form):
        raise BadRequest()
    if any("\x00" in name for name in request.files):
        raise BadRequest()


def _apply_limits() -> int:
    """Limits of the citizen's pages, tighter than the back office's; the field limit."""
    config = current_app.config
    if request.blueprint != "public":
        return int(config["MAX_FORM_PARTS"])
    size, fields = int(config["MAX_FORM_BYTES"]), int(config["MAX_FORM_FIELDS"])
    request.max_content_length = size
    request.max_form_memory_size = size
    request.max_form_parts = fields
    return fields


def _count_values(data: MultiDict) -> int:
    return sum(len(values) for _, values in data.lists())


def _has_nul(data: MultiDict) -> bool:
    return any("\x00" in key or _any_nul(values) for key, values in data.lists())


def _any_nul(values: Iterable[str]) -> bool:
    return any("\x00" in value for value in values)
