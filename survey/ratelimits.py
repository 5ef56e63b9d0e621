"""Rate limits on citizen submissions and sign-in attempts.

Limits are written as the ``limits`` library reads them ("60 per minute")
and counted in fixed windows. ``RATELIMIT_STORAGE_URI`` says where:
``memory://`` (the default) counts in this process with a plain dictionary,
so each gunicorn worker counts on its own; any other URI (``redis://…``) is
a shared store through ``limits``.

Why not Flask-Limiter: on the submission path its per-request machinery,
and the timer thread that ``limits``' memory store starts on almost every
hit, cost more CPU than all of a submission's database work.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests


class LocalWindows:
    """Fixed-window hit counters in this process's memory."""

    #: Past this many counters, the ones of finished windows are dropped.
    CLEAN_ABOVE = 10_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, key: str) -> bool:
        window = item.get_expiry()
        start = int(time.time()) // window
        with self._lock:
            began, count = self._counts.get(key, (start, 0))
            count = count + 1 if began == start else 1
            self._counts[key] = (start, count)
            if len(self._counts) > self.CLEAN_ABOVE:
                self._drop_finished(start)
        return count <= item.amount

    def _drop_finished(self, start: int) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] == start}


class RateLimits:
    """Counters for the limits named in the configuration."""

    def __init__(self, app: Flask) -> None:
        self.enabled = bool(app.config["RATELIMIT_ENABLED"])
        uri = app.config["RATELIMIT_STORAGE_URI"]
        self._local = LocalWindows() if uri.startswith("memory://") else None
        self._shared = None if self._local else FixedWindowRateLimiter(storage_from_string(uri))
        self._parsed: dict[str, RateLimitItem] = {}

    def allow(self, setting: str, key: str) -> bool:
        """Count one hit against the limit in config ``setting`` for ``key``."""
        text = current_app.config[setting]
        item = self._parsed.get(text)
        if item is None:
            item = self._parsed[text] = parse(text)
        if self._local is not None:
            return self._local.hit(item, f"{setting}/{text}/{key}")
        return self._shared.hit(item, setting, key)


def init_app(app: Flask) -> None:
    app.extensions["sipas_rate_limits"] = RateLimits(app)


def rate_limits() -> RateLimits:
    return current_app.extensions["sipas_rate_limits"]


def enforce(*checks: tuple[str, str]) -> None:
    """Refuse the request (429) if any ``(setting, key)`` is over its limit.

    Every check counts the hit, so a refused request still uses up its share.
    """
    limits = rate_limits()
    if not limits.enabled:
        return
    results = [limits.allow(setting, key) for setting, key in checks]
    if not all(results):
        raise TooManyRequests()
