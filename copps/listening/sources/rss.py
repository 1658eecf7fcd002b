"""RSS/Atom feeds (feedparser), polled by the worker.

Config: ``{"url": "https://…/feed.xml", "allow_private": false, "interval": 300}``.
Cursor (JSON): ``{"etag": …, "modified": …, "seen": [entry ids of the last fetch]}``: the next
poll sends a conditional GET (``If-None-Match`` / ``If-Modified-Since``) and stores only entries
not seen before (the pipeline also refuses an id it already holds for this source).

Hostile XML: a feed that declares entities (``<!ENTITY``: billion laughs, external entities) is
refused before parsing and counted as skipped; feedparser itself never fetches anything (it is
handed the bytes copps.lib.http fetched).
"""

from __future__ import annotations

import calendar
import io
import json
import re
from datetime import UTC, datetime

import feedparser  # type: ignore[import-untyped]

from copps.lib import http
from copps.listening import pipeline
from copps.listening.models import Source

from .base import SourceError, clip, html_to_text, usable

MAX_SEEN = 2000
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


def _cursor(source: Source) -> dict:
    try:
        state = json.loads(source.cursor or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _declares_entities(body: bytes) -> bool:
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            body = body.decode("utf-16").encode("utf-8", "replace")
        except UnicodeDecodeError:
            return True
    return bool(_ENTITY_DECL.search(body))


def _published(entry) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _text(entry) -> str:
    title = html_to_text(entry.get("title", ""))
    body = ""
    if entry.get("content"):
        body = html_to_text(entry["content"][0].get("value", ""))
    elif entry.get("summary"):
        body = html_to_text(entry["summary"])
    parts = [title] if title else []
    if body and body != title:
        parts.append(body)
    return "\n".join(parts)


def poll(source: Source) -> int:
    """Fetch the feed once; store new entries and the cursor. Returns the number stored."""
    url = str(source.config.get("url", ""))
    if not url:
        raise SourceError("no feed URL configured")
    state = _cursor(source)
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9"}
    if state.get("etag"):
        headers["If-None-Match"] = str(state["etag"])
    if state.get("modified"):
        headers["If-Modified-Since"] = str(state["modified"])
    response = http.request(
        "GET",
        url,
        headers=headers,
        follow_redirects=True,
        allow_private=bool(source.config.get("allow_private", False)),
    )
    if response.status_code == 304:
        pipeline.deliver(source, [], cursor=None)
        return 0
    if response.status_code != 200:
        raise SourceError(f"feed answered HTTP {response.status_code}")
    body = response.content
    if _declares_entities(body):
        pipeline.skip(source, 1)
        raise SourceError("feed declares XML entities: refused")
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    if parsed.get("bozo") and not parsed.entries:
        pipeline.skip(source, 1)
        raise SourceError(f"unreadable feed: {parsed.get('bozo_exception')}"[:300])
    seen = set(state.get("seen") or [])
    items, ids, skipped = [], [], 0
    for entry in parsed.entries:
        key = clip(entry.get("id") or entry.get("link") or "", 500)
        text = usable(_text(entry))
        if not key or text is None:
            skipped += 1
            continue
        ids.append(key)
        if key in seen:
            continue
        items.append(
            pipeline.Incoming(
                external_id=key,
                text=text,
                url=clip(entry.get("link", ""), 500) if _is_web(entry.get("link")) else "",
                author=clip(entry.get("author", ""), 200),
                language=clip(entry.get("language") or parsed.feed.get("language", ""), 8),
                published_at=_published(entry),
            )
        )
    cursor = {
        "etag": response.headers.get("etag", ""),
        "modified": response.headers.get("last-modified", ""),
        "seen": ids[:MAX_SEEN],
    }
    stored = pipeline.deliver(source, items, cursor=json.dumps(cursor))
    pipeline.skip(source, skipped)
    return stored


def _is_web(link: object) -> bool:
    return isinstance(link, str) and link.startswith(("http://", "https://"))
