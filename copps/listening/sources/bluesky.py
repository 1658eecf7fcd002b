"""Bluesky through Jetstream: a WebSocket of JSON events, read by ``copps listening_run``.

Config: ``{"url": "wss://jetstream2.us-east.bsky.network/subscribe"}`` (optional).
We subscribe with ``wantedCollections=app.bsky.feed.post``; a post is a ``commit`` event with
operation ``create``; its text is ``commit.record.text``, its language the first of
``record.langs``, its id ``at://<did>/app.bsky.feed.post/<rkey>``. Deletes and updates are
ignored (a deleted post leaves copps with retention; see the docs).

Cursor: the highest ``time_us`` processed, stored with the posts in one transaction. A
(re)connection asks for ``cursor=<stored> - MARGIN_US`` (Jetstream replays from that moment;
events are not strictly ordered by time_us), and the pipeline drops the at:// ids it holds
already: no loss, no duplicates.

WebSockets are the one exception to "every outbound request goes through copps.lib.http"
(httpx speaks no WebSocket): the URL is still checked with ``http.check_url`` (scheme mapped
to https/http, private addresses refused unless the source allows them).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import connect

from copps.lib import http
from copps.listening import pipeline
from copps.listening.models import Source

from .base import SourceError, clip, usable

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
COLLECTION = "app.bsky.feed.post"
MARGIN_US = 2_000_000  # replay 2 s before the cursor: out-of-order events are not lost
MAX_FRAME = 1024 * 1024  # a bigger frame is skipped and counted (posts are small)
# What the connection accepts at all: a frame above this ends the connection (it would come
# again after the reconnection, so it is far above any frame Jetstream sends).
MAX_WIRE_FRAME = 16 * 1024 * 1024
BATCH = 200
FLUSH_SECONDS = 1.0


def _url(source: Source) -> str:
    base = str(source.config.get("url") or DEFAULT_URL)
    parts = urlsplit(base)
    if parts.scheme not in ("ws", "wss"):
        raise SourceError("Jetstream URL must be ws:// or wss://")
    http.check_url(
        urlunsplit(parts._replace(scheme="https" if parts.scheme == "wss" else "http")),
        allow_private=bool(source.config.get("allow_private", False)),
    )
    query = [("wantedCollections", COLLECTION)]
    if source.cursor.strip().isdigit():
        query.append(("cursor", str(max(0, int(source.cursor) - MARGIN_US))))
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_event(frame: str | bytes) -> tuple[int | None, pipeline.Incoming | None, bool]:
    """(time_us, the post or None, usable): ``usable`` is False for a frame to skip and count
    (invalid UTF-8, invalid JSON, a post without usable text); other events (likes, identity,
    deletes) are usable and carry no post."""
    if len(frame) > MAX_FRAME:
        return None, None, False
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            return None, None, False
    try:
        event = json.loads(frame)
    except ValueError:
        return None, None, False
    if not isinstance(event, dict):
        return None, None, False
    time_us = event.get("time_us")
    time_us = time_us if isinstance(time_us, int) and time_us > 0 else None
    commit = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(commit, dict):
        return time_us, None, True
    if commit.get("collection") != COLLECTION or commit.get("operation") != "create":
        return time_us, None, True
    record = commit.get("record")
    did, rkey = event.get("did"), commit.get("rkey")
    if not isinstance(record, dict) or not isinstance(did, str) or not isinstance(rkey, str):
        return time_us, None, False
    text = usable(record.get("text"))
    if text is None:
        return time_us, None, False
    langs = record.get("langs")
    language = clip(langs[0], 8) if isinstance(langs, list) and langs else ""
    published = None
    if time_us:
        published = datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
    return (
        time_us,
        pipeline.Incoming(
            external_id=f"at://{did}/{COLLECTION}/{rkey}",
            text=text,
            url=clip(f"https://bsky.app/profile/{did}/post/{rkey}", 500),
            author=clip(did, 200),
            language=language,
            published_at=published,
        ),
        True,
    )


def run(
    source: Source,
    *,
    stop: threading.Event | None = None,
    idle_seconds: float | None = None,
    connector: Callable = connect,
) -> int:
    """Read one connection until it closes, ``stop`` is set, or nothing came for
    ``idle_seconds``. Everything read is stored with its cursor before returning (also when the
    connection breaks). Returns the number of posts stored; raises ``SourceError`` on a failed
    connection (the runner reconnects)."""
    stop = stop or threading.Event()
    source.refresh_from_db(fields=["cursor"])
    url = _url(source)
    stored = 0
    batch: list[pipeline.Incoming] = []
    skipped = 0
    newest = int(source.cursor) if source.cursor.strip().isdigit() else 0
    dirty = False
    last_flush = time.monotonic()
    last_frame = time.monotonic()

    def flush() -> None:
        nonlocal batch, skipped, stored, dirty, last_flush
        if batch or dirty:
            stored += pipeline.deliver(source, batch, cursor=str(newest) if newest else None)
        pipeline.skip(source, skipped)
        batch, skipped, dirty, last_flush = [], 0, False, time.monotonic()

    try:
        with connector(url, max_size=MAX_WIRE_FRAME, open_timeout=10, close_timeout=2) as ws:
            try:
                while not stop.is_set():
                    try:
                        frame = ws.recv(timeout=0.5, decode=False)
                    except TimeoutError:
                        frame = None
                    now = time.monotonic()
                    if frame is not None:
                        last_frame = now
                        time_us, item, ok = parse_event(frame)
                        if not ok:
                            skipped += 1
                        if item is not None:
                            batch.append(item)
                        if time_us and time_us > newest:
                            newest, dirty = time_us, True
                    if len(batch) >= BATCH or now - last_flush >= FLUSH_SECONDS:
                        flush()
                    if idle_seconds is not None and now - last_frame >= idle_seconds:
                        break
            except ConnectionClosed as exc:
                if exc.rcvd is None or exc.rcvd.code not in (1000, 1001):
                    raise SourceError(f"connection lost: {exc}") from None
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        raise SourceError(f"cannot connect: {exc.__class__.__name__}: {exc}") from None
    finally:
        flush()
    return stored
