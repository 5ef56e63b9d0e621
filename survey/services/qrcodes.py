"""Signed survey URLs for service points, and their QR codes.

A QR code holds ``<public url>/s/<desk code>/<signature>``. The signature is an
HMAC of the desk code and the desk's secret version under the application's
secret key, cut to 12 characters: short enough for a small, easily scanned
code, long enough that guessing one is hopeless (72 bits). Bumping a desk's
secret version revokes every code printed before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from flask import current_app

from survey.config import public_url_problem
from survey.models import ServicePoint

SIGNATURE_LENGTH = 12


def signature(code: str, secret_version: int, key: str | None = None) -> str:
    key = key or current_app.config["SECRET_KEY"]
    message = f"sipas-desk:{code}:{secret_version}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_LENGTH]


def signature_matches(code: str, secret_version: int, given: str) -> bool:
    return hmac.compare_digest(signature(code, secret_version), given)


class PublicUrlError(ValueError):
    """``SIPAS_PUBLIC_URL`` is set to an address no QR code may send a phone to."""


def survey_url(point: ServicePoint, *, base_url: str | None = None) -> str:
    """The absolute URL a desk's QR code holds.

    It is ``SIPAS_PUBLIC_URL`` when that is set, whatever Host the request
    named; only without it does the code follow the address of the request.
    """
    if base_url is None:
        base_url = public_base_url() or _request_base()
    return base_url.rstrip("/") + survey_path(point)


def public_base_url() -> str:
    """The configured public URL, "" if there is none; PublicUrlError if it is not http(s)."""
    url = str(current_app.config["PUBLIC_URL"] or "")
    problem = public_url_problem(url) if url else None
    if problem:
        raise PublicUrlError(problem)
    return url


def survey_path(point: ServicePoint) -> str:
    """``/s/<code>/<signature>``: the path of the public questionnaire route."""
    return f"/s/{point.code}/{signature(point.code, point.secret_version)}"


def _request_base() -> str:
    from flask import request

    return request.host_url


def qr_image(url: str, fmt: str = "png", *, box_size: int = 10) -> bytes:
    """Encode ``url`` (one of our own) as a PNG or SVG QR code.

    Error correction M survives a scratched or partly covered counter sticker;
    a quiet zone of four modules is what readers expect.
    """
    _check_own_url(url)
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    if fmt == "png":
        code.make_image().save(buffer, format="PNG")
    elif fmt == "svg":
        code.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    else:
        raise ValueError(f"format must be png or svg, not {fmt!r}")
    return buffer.getvalue()


def _check_own_url(url: str) -> None:
    """Refuse to print a code that leads anywhere but our survey pages."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.path.startswith("/s/"):
        raise ValueError(f"not a survey URL of this site: {url}")
