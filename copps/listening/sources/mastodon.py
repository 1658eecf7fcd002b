"""Mastodon public and hashtag timelines: the streaming API, with polling to catch up.

Config: ``{"instance": "https://mastodon.social", "timeline": "hashtag"|"public",
"tag": "politie", "local": false, "token": "" (optional bearer), "streaming": true,
"allow_private": false, "interval": 300}``.

Cursor: the newest status id stored (Mastodon ids are numbers in strings, ordered by time).
``poll()`` asks ``GET /api/v1/timelines/tag/:tag`` (or ``/public``) with ``min_id=<cursor>``
page after page until it is up to date. The streaming API has no resume, so ``run()`` (the
long-running ``copps listening_run``) first catches up by polling, then reads the server-sent
events of ``/api/v1/streaming/hashtag?tag=…`` (or ``/public``): ``update`` events are statuses;
``delete`` and other events are ignored. After a restart the catch-up fills the gap: no loss,
and the pipeline drops ids it holds already: no duplicates.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from urllib.parse import quote, urlencode

from copps.lib import http
from copps.listening import pipeline
from copps.listening.models import Source

from .base import SourceError, clip, html_to_text, parse_time, usable

PAGE = 40
MAX_PAGES = 25
MAX_LINE = 256 * 1024  # one event's data line: a status with 10,000 characters fits


def _base(source: Source) -> str:
    instance = str(source.config.get("instance", "")).rstrip("/")
    if not instance.startswith(("https://", "http://")):
        raise SourceError("no Mastodon instance URL configured")
    return instance


def _headers(source: Source) -> dict[str, str]:
    token = str(source.config.get("token", ""))
    return {"Authorization": f"Bearer {token}"} if token else {}


def _tag(source: Source) -> str:
    tag = str(source.config.get("tag", "")).lstrip("#")
    if not tag:
        raise SourceError("no hashtag configured")
    return tag


def _id(value: object) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def to_incoming(status: object) -> pipeline.Incoming | None:
    """A Mastodon Status as an ``Incoming`` (a boost carries the boosted status' text)."""
    if not isinstance(status, dict) or not isinstance(status.get("id"), str):
        return None
    reblog = status.get("reblog")
    shown: dict = reblog if isinstance(reblog, dict) else status
    content = shown.get("content")
    if not isinstance(content, str):
        return None
    parts = [html_to_text(shown.get("spoiler_text") or ""), html_to_text(content)]
    text = usable("\n".join(part for part in parts if part))
    if text is None:
        return None
    owner = status.get("account")
    account: dict = owner if isinstance(owner, dict) else {}
    key = status.get("uri") if isinstance(status.get("uri"), str) else status["id"]
    url = shown.get("url") or shown.get("uri") or ""
    return pipeline.Incoming(
        external_id=clip(key, 500),
        text=text,
        url=clip(url, 500) if str(url).startswith(("https://", "http://")) else "",
        author=clip(account.get("acct", ""), 200),
        language=clip(shown.get("language") or "", 8),
        published_at=parse_time(status.get("created_at")),
    )


def poll(source: Source) -> int:
    """Catch up from the cursor with the timeline API. Returns the number of posts stored."""
    base = _base(source)
    if source.config.get("timeline") == "public":
        path = "/api/v1/timelines/public"
        params: dict[str, str] = {"local": "true"} if source.config.get("local") else {}
    else:
        path = f"/api/v1/timelines/tag/{quote(_tag(source), safe='')}"
        params = {}
    source.refresh_from_db(fields=["cursor"])
    cursor = _id(source.cursor)
    stored = 0
    for _page in range(MAX_PAGES):
        query = {**params, "limit": str(PAGE)}
        if cursor:
            query["min_id"] = str(cursor)
        response = http.request(
            "GET",
            f"{base}{path}?{urlencode(query)}",
            headers=_headers(source),
            allow_private=bool(source.config.get("allow_private", False)),
        )
        if response.status_code != 200:
            raise SourceError(f"timeline answered HTTP {response.status_code}")
        try:
            statuses = response.json()
        except ValueError:
            pipeline.skip(source, 1)
            raise SourceError("timeline answer is not JSON") from None
        if not isinstance(statuses, list):
            pipeline.skip(source, 1)
            raise SourceError("timeline answer is not a list")
        items, skipped, newest = [], 0, cursor
        for status in statuses:
            item = to_incoming(status)
            if item is None:
                skipped += 1
            else:
                items.append(item)
            newest = max(newest, _id(status.get("id") if isinstance(status, dict) else None))
        stored += pipeline.deliver(source, items, cursor=str(newest) if newest else None)
        pipeline.skip(source, skipped)
        if newest <= cursor or len(statuses) < PAGE:
            break
        cursor = newest
    return stored


def _stream_url(source: Source) -> str:
    base = _base(source)
    if source.config.get("timeline") == "public":
        kind = "public/local" if source.config.get("local") else "public"
        return f"{base}/api/v1/streaming/{kind}"
    return f"{base}/api/v1/streaming/hashtag?{urlencode({'tag': _tag(source)})}"


def run(
    source: Source,
    *,
    stop: threading.Event | None = None,
    idle_seconds: float | None = None,
) -> int:
    """Catch up by polling, then read the stream until it ends, ``stop`` is set or nothing (not
    even a heartbeat) came for ``idle_seconds``. Returns the number of posts stored."""
    stop = stop or threading.Event()
    stored = poll(source)
    heartbeat = float(idle_seconds) if idle_seconds is not None else 90.0
    with http.stream(
        "GET",
        _stream_url(source),
        headers={**_headers(source), "Accept": "text/event-stream"},
        allow_private=bool(source.config.get("allow_private", False)),
        timeout=heartbeat,
    ) as response:
        if response.status_code != 200:
            raise SourceError(f"stream answered HTTP {response.status_code}")
        event = ""
        data: list[str] = []
        for line in _lines(response):
            if stop.is_set():
                break
            if line is None:  # an undecodable or oversized line: its event is lost
                pipeline.skip(source, 1)
                event, data = "", []
                continue
            if line.startswith(":"):
                continue  # heartbeat
            if line:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
                continue
            if event == "update" and data:
                stored += _dispatch(source, "\n".join(data))
            event, data = "", []
    return stored


def _lines(response) -> Iterator[str | None]:
    """Lines of the event stream; ``None`` for a line that is not UTF-8 or too long (the rest of
    a too-long line is dropped as it arrives, never held in memory)."""
    pending, discarding = b"", False
    for chunk in response.iter_bytes():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            if discarding:
                discarding = False
                continue
            yield _decode(raw.removesuffix(b"\r"))
        if len(pending) > MAX_LINE:
            pending = b""
            if not discarding:
                discarding = True
                yield None
    if pending and not discarding:
        yield _decode(pending)
    yield ""


def _decode(raw: bytes) -> str | None:
    if len(raw) > MAX_LINE:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _dispatch(source: Source, payload: str) -> int:
    try:
        status = json.loads(payload)
    except ValueError:
        pipeline.skip(source, 1)
        return 0
    item = to_incoming(status)
    if item is None:
        pipeline.skip(source, 1)
        return 0
    newest = max(_id(status.get("id")), _id(Source.objects.get(pk=source.pk).cursor))
    return pipeline.deliver(source, [item], cursor=str(newest) if newest else None)
