"""Configuration: safe defaults, overridden by ``SIPAS_*`` environment variables."""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask


def default_config(app: Flask) -> dict:
    """Defaults that work on a fresh machine: SQLite in the instance folder."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{_default_database(app)}",
        # No pre-ping: it costs a round trip per request on the submission
        # path; a connection broken by a database restart fails one request
        # and is then replaced by the pool.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 3600},
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "LANGUAGES": ("vi", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,
        # The public URL printed in QR codes; empty means the URL of the request.
        "PUBLIC_URL": "",
        # Citizen submissions: a busy centre on shared Wi-Fi stays far below these.
        "SUBMIT_LIMIT_PER_ADDRESS": "60 per minute",
        "SUBMIT_LIMIT_PER_DESK": "600 per minute",
        "LOGIN_LIMIT": "10 per 5 minutes",
        "LOGIN_LIMIT_PER_ACCOUNT": "10 per 15 minutes",
        # Back-office sessions end after this much silence, and this long after sign-in.
        "SESSION_IDLE_MINUTES": 60,
        "SESSION_LIFETIME_HOURS": 12,
        # A one-time password link (new account, reset) works this long.
        "PASSWORD_LINK_HOURS": 72,
        # The margin of error e in the method's sample size n = N / (1 + N e²).
        "SAMPLE_MARGIN": 0.05,
        # A desk whose base weight is this many times the median is flagged.
        "EXTREME_WEIGHT_RATIO": 5,
        # Results from fewer valid answers, or with a wider interval, are flagged.
        "RESULT_MIN_N": 30,
        "RESULT_MAX_CI_WIDTH": 0.2,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Reverse proxies in front of the app (nginx: 1); their X-Forwarded-For is trusted.
        "PROXY_COUNT": 0,
        "RATELIMIT_ENABLED": True,
        # Request bodies: a citizen's form is a few kB (the household form, answered
        # in full, stays under 25 kB); the back office uploads sampling frames.
        "MAX_FORM_BYTES": 32 * 1024,
        "MAX_FORM_FIELDS": 300,
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    }


def load_config(app: Flask, test_config: dict | None) -> None:
    """Apply defaults, then the environment (``SIPAS_*``), then the test mapping."""
    app.config.from_mapping(default_config(app))
    app.config.from_prefixed_env("SIPAS")
    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["DATABASE_URL"])
    _secure_cookies_behind_https(app)
    if test_config is not None:
        app.config.from_mapping(test_config)
    public_url = str(app.config["PUBLIC_URL"] or "")
    if public_url and public_url_problem(public_url):
        app.logger.warning("%s: QR codes cannot be printed.", public_url_problem(public_url))
    default_database = _default_database(app)
    if app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{default_database}":
        _create_private(default_database)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))
    # Flask refuses a signed session cookie older than this, whatever it holds.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=float(app.config["SESSION_LIFETIME_HOURS"])
    )


def _secure_cookies_behind_https(app: Flask) -> None:
    """Cookies travel over HTTPS only where the site is served over HTTPS.

    Set ``SIPAS_SESSION_COOKIE_SECURE`` to decide otherwise.
    """
    if "SIPAS_SESSION_COOKIE_SECURE" not in os.environ:
        secure = str(app.config["PUBLIC_URL"]).startswith("https://")
        app.config["SESSION_COOKIE_SECURE"] = secure
        app.config["REMEMBER_COOKIE_SECURE"] = secure


def public_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the address printed in QR codes; None if it can.

    Phones are sent there: only a plain http(s) address with a host name,
    nothing that hides the host (``user@``) or runs anything (``javascript:``).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    plain = (
        parts is not None
        and parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not ("@" in parts.netloc or parts.query or parts.fragment)
        and url.isprintable()
        and " " not in url
    )
    if plain:
        return None
    shown = url if len(url) <= 60 else url[:60] + "…"
    return (
        "SIPAS_PUBLIC_URL must be an http:// or https:// address such as "
        f"https://sipas.example.gov.vn, not {shown!r}"
    )


def normalise_database_url(url: str) -> str:
    """Accept ``postgresql://`` URLs as operators write them; use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance: Path) -> str:
    """Read the secret key kept in the instance folder, creating it on first run."""
    path = instance / "secret_key"
    _create_private(path, secrets.token_hex(32))
    return path.read_text().strip()


def _default_database(app: Flask) -> Path:
    return Path(app.instance_path) / "sipas.sqlite3"


def _create_private(path: Path, content: str = "") -> None:
    """Create ``path`` holding ``content``, readable by its owner only, unless it exists.

    The default SQLite database holds password hashes, the key file the
    secret that signs every QR code: neither is for other accounts on the
    machine, so a folder made for them is private too. SQLite takes an empty
    file for an empty database and gives its journals the file's permissions.
    The file appears whole (a hard link to a finished temporary file), so a
    second process starting at the same moment never reads it half-written.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return
    handle, temporary = tempfile.mkstemp(dir=folder)  # mode 0600
    try:
        with os.fdopen(handle, "w") as file:
            file.write(content)
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
