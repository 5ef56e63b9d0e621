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
    """Fixed-window hit counters in this process's memory.

    Fixed windows start at the same moments for every key (multiples of the
    window's length since the epoch), so the counts of one window length are
    kept in one dictionary for the window now running. When that window ends
    the whole dictionary is dropped and a new one begun: a hit costs one
    lookup however many keys there are, and finished counts never pile up.
    """

    def __init__(self) -> None:
        #: Window length in seconds → (the running window's number, key → hits).
        self._windows: dict[int, tuple[int, dict[str, int]]] = {}
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, key: str) -> bool:
        """Count a hit for ``key``; True while its window's count is within the limit."""
        length = item.get_expiry()
        with self._lock:  # the clock is read under the lock: windows only move forward
            number = int(time.time()) // length
            running, counts = self._windows.get(length, (None, None))
            if running != number:
                counts = {}
                self._windows[length] = (number, counts)
            count = counts[key] = counts.get(key, 0) + 1
        return count <= item.amount


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
