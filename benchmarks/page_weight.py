"""Bytes a phone downloads to show the citizen form: the page and all it loads.

Makes a throw-away SQLite database with the demo data, opens the
questionnaire at a desk's QR URL with Flask's test client, then fetches every
stylesheet, script, image and icon the page references (and every ``url()``
inside its stylesheets). Prints bytes per resource and the total, uncompressed.
Exit status 1 if the total is over the 60 KB budget (60,000 bytes), or if a
resource is missing.

Usage::

    python benchmarks/page_weight.py [--lang vi|en]
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

BUDGET = 60_000
CSS_URL_RE = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
CSS_IMPORT_RE = re.compile(r"@import\s+['\"]([^'\"]+)['\"]")


class References(HTMLParser):
    """The URLs a browser would load to render the page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.has_icon = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attrs_dict = dict(attrs)
        wanted = None
        if tag == "link":
            rel = (attrs_dict.get("rel") or "").lower().split()
            self.has_icon = self.has_icon or "icon" in rel
            if {"stylesheet", "icon", "preload", "modulepreload", "manifest"} & set(rel):
                wanted = attrs_dict.get("href")
        elif tag in ("script", "img", "source", "input", "iframe"):
            wanted = attrs_dict.get("src")
        if wanted and not wanted.startswith("data:"):
            self.urls.append(wanted)
        style = attrs_dict.get("style") or ""
        self.urls += [u for u in CSS_URL_RE.findall(style) if not u.startswith("data:")]

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style":
            self.urls += [u for u in CSS_URL_RE.findall(data) if not u.startswith("data:")]


def measure(lang: str) -> list[tuple[str, int, str]]:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from survey import create_app
    from survey.extensions import db
    from survey.models import ServicePoint
    from survey.services.demo import load_demo
    from survey.services.qrcodes import survey_url

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'weight.sqlite3'}",
                "SECRET_KEY": "page-weight",
                "PUBLIC_URL": "http://localhost",
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            upgrade()
            load_demo(responses=0, seed=1)
            db.session.commit()
            point = db.session.scalars(
                select(ServicePoint).where(ServicePoint.active).order_by(ServicePoint.code)
            ).first()
            with app.test_request_context():
                url = survey_url(point)
            db.session.remove()
        client = app.test_client()
        page_url = f"{url}?lang={lang}"
        rows = [fetch(client, page_url)]
        seen = {page_url}
        references = References()
        references.feed(rows[0][2])
        queue = [urljoin(page_url, u) for u in references.urls]
        if not references.has_icon:
            # Browsers ask for /favicon.ico by themselves; a 404 page is downloaded too.
            rows.append(fetch(client, urljoin(page_url, "/favicon.ico"), any_status=True))
            seen.add(rows[-1][0])
        while queue:
            resource = queue.pop(0)
            if resource in seen or urlsplit(resource).netloc not in ("", "localhost"):
                if resource not in seen:
                    rows.append((resource, -1, "external: not allowed"))
                seen.add(resource)
                continue
            seen.add(resource)
            row = fetch(client, resource)
            rows.append(row)
            if resource.split("?")[0].endswith(".css") and row[1] >= 0:
                found = CSS_URL_RE.findall(row[2]) + CSS_IMPORT_RE.findall(row[2])
                queue += [urljoin(resource, u) for u in found if not u.startswith("data:")]
    return rows


def fetch(client, url: str, *, any_status: bool = False) -> tuple[str, int, str]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    response = client.get(path)
    body = response.get_data()
    if response.status_code != 200 and not any_status:
        return url, -1, f"status {response.status_code}"
    return url, len(body), body.decode("utf-8", "replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=("vi", "en"), default="vi")
    args = parser.parse_args()
    rows = measure(args.lang)
    total = sum(size for _, size, _ in rows if size > 0)
    compressed = sum(len(gzip.compress(body.encode())) for _, size, body in rows if size > 0)
    problems = [(url, note) for url, size, note in rows if size < 0]
    width = max(30, *(len(urlsplit(url).path) for url, _, _ in rows))
    for url, size, note in rows:
        shown = f"{size:>8,}" if size >= 0 else f"{'-':>8}  {note}"
        print(f"{urlsplit(url).path:<{width}}  {shown}")
    print(f"{'total (uncompressed)':<{width}}  {total:>8,}   budget {BUDGET:,} bytes")
    print(f"{'total (gzip, for information)':<{width}}  {compressed:>8,}")
    if problems:
        print(f"FAIL: {len(problems)} resource(s) could not be loaded")
    if total > BUDGET:
        print("FAIL: over budget")
    return 1 if problems or total > BUDGET else 0


if __name__ == "__main__":
    sys.exit(main())
