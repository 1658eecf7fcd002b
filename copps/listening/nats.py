"""Scale-out: the listening pipeline as N consumers of a NATS JetStream stream.

The embedded default (``COPPS_NATS_URL`` empty) ingests in the worker that reads the source. With
``COPPS_NATS_URL`` set, every source (polled, streaming, the webhook, the importer: all through
``pipeline.deliver``) *publishes* what it read, one JSON message per post, and advances its own
cursor once JetStream acknowledged them all (``publish_and_advance``)::

    {"source": 7, "cursor": null, "item": {"external_id": "...", "text": "...", "url": "...",
     "author": "...", "language": "nl", "published_at": "2026-11-29T07:00:00+00:00"}}

and any number of ``copps listening_nats consume`` processes share one durable pull consumer of
the stream. Each fetches a batch, hands it to ``pipeline.ingest`` (one transaction per source in
the batch: posts, analysis, matches and, when a message carries one, as ``copps listening_nats
publish`` may, the cursor) and acknowledges the messages only after that
commit. A consumer that dies before acknowledging leaves its messages to be redelivered (after
``ack_wait``) to another consumer; ``ingest`` skips a (source, external id) it already stored, in
the same transaction, so a redelivered post is stored and matched once. Malformed messages and
messages for an unknown source are counted (``pipeline.skip`` where the source is known) and
terminated, never redelivered forever.

Settings (read with getattr; environment variables of the same name): ``COPPS_NATS_URL``,
``COPPS_NATS_STREAM`` ("COPPS_LISTENING"), ``COPPS_NATS_SUBJECT`` ("copps.listening.posts"),
``COPPS_NATS_DURABLE`` ("copps-listening").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections
from django.utils import timezone

from . import pipeline
from .models import Source
from .pipeline import Incoming

logger = logging.getLogger("copps.listening")

MAX_MESSAGE = 64 * 1024


@dataclass(frozen=True)
class Config:
    url: str
    stream: str = "COPPS_LISTENING"
    subject: str = "copps.listening.posts"
    durable: str = "copps-listening"


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, None) or os.environ.get(name) or default)


def config() -> Config:
    return Config(
        url=_setting("COPPS_NATS_URL", ""),
        stream=_setting("COPPS_NATS_STREAM", "COPPS_LISTENING"),
        subject=_setting("COPPS_NATS_SUBJECT", "copps.listening.posts"),
        durable=_setting("COPPS_NATS_DURABLE", "copps-listening"),
    )


def enabled() -> bool:
    """True when sources should publish to NATS instead of ingesting in the worker."""
    return bool(config().url)


# Messages ----------------------------------------------------------------------------------


def encode(source_id: int, item: Incoming, cursor: str | None) -> bytes:
    return json.dumps(
        {
            "source": source_id,
            "cursor": cursor,
            "item": {
                "external_id": item.external_id,
                "text": item.text,
                "url": item.url,
                "author": item.author,
                "language": item.language,
                "published_at": item.published_at.isoformat() if item.published_at else None,
            },
        },
        ensure_ascii=False,
    ).encode()


class BadMessage(ValueError):
    def __init__(self, reason: str, source_id: int | None = None):
        super().__init__(reason)
        self.source_id = source_id


def decode(data: bytes) -> tuple[int, Incoming, str | None]:
    """(source id, item, cursor) from a message; ``BadMessage`` for anything else."""
    if len(data) > MAX_MESSAGE:
        raise BadMessage("too large")
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage("not JSON") from exc
    if not isinstance(payload, dict) or type(payload.get("source")) is not int:
        raise BadMessage("no source")
    source_id = payload["source"]
    raw = payload.get("item")
    cursor = payload.get("cursor")
    if not isinstance(raw, dict) or (cursor is not None and not isinstance(cursor, str)):
        raise BadMessage("no item", source_id)
    fields = {}
    for name in ("external_id", "text", "url", "author", "language"):
        value = raw.get(name, "")
        if not isinstance(value, str):
            raise BadMessage(f"bad {name}", source_id)
        fields[name] = value
    published = raw.get("published_at")
    try:
        when = datetime.fromisoformat(published) if isinstance(published, str) else None
    except ValueError as exc:
        raise BadMessage("bad published_at", source_id) from exc
    if not fields["external_id"] or not fields["text"].strip():
        raise BadMessage("empty", source_id)
    return source_id, Incoming(published_at=when, **fields), cursor


# Setup -------------------------------------------------------------------------------------


async def ensure_stream(js, cfg: Config) -> None:
    """Create the stream if it is not there yet."""
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(cfg.stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=cfg.stream, subjects=[cfg.subject]))


async def ensure(js, cfg: Config, *, ack_wait: float = 30.0) -> None:
    """Create the stream and the durable pull consumer if they are not there yet (an existing
    consumer keeps its configuration)."""
    from nats.js.api import AckPolicy, ConsumerConfig
    from nats.js.errors import NotFoundError

    await ensure_stream(js, cfg)
    try:
        await js.consumer_info(cfg.stream, cfg.durable)
    except NotFoundError:
        await js.add_consumer(
            cfg.stream,
            ConsumerConfig(
                durable_name=cfg.durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=ack_wait,
                filter_subject=cfg.subject,
            ),
        )


# Publishing --------------------------------------------------------------------------------


async def _client_error(error: Exception) -> None:
    logger.warning("listening NATS: %s: %s", error.__class__.__name__, error)


async def publish_async(
    cfg: Config, source_id: int, items: Iterable[Incoming], *, cursor: str | None = None
) -> int:
    import nats

    # A short-lived connection that gives up after two tries (the client's default keeps
    # retrying for two minutes): the source records the failure and retries on its next run.
    nc = await nats.connect(
        cfg.url,
        connect_timeout=2,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.5,
        error_cb=_client_error,
    )
    try:
        js = nc.jetstream()
        await ensure_stream(js, cfg)
        count = 0
        for item in items:
            await js.publish(
                cfg.subject,
                encode(source_id, item, cursor),
                # JetStream drops a repeat of the same id inside its duplicate window.
                headers={"Nats-Msg-Id": f"{source_id}:{item.external_id}"[:256]},
            )
            count += 1
        return count
    finally:
        await nc.close()


def run_sync(coro):
    """Run a coroutine to completion from synchronous code. When this thread already runs an
    event loop (a host that embeds one, or a test session driving a browser), the coroutine runs
    on a fresh loop in a short-lived thread instead of failing."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name="copps-nats")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class Unavailable(Exception):
    """NATS could not take the messages (server down, stream missing, no acknowledgement)."""


def publish(source: Source, items: Iterable[Incoming], *, cursor: str | None = None) -> int:
    """Publish a source's items (with the cursor after them) to the stream; the number sent,
    each acknowledged by JetStream. ``Unavailable`` when NATS did not take them all."""
    try:
        return run_sync(publish_async(config(), source.pk, list(items), cursor=cursor))
    except Exception as exc:  # noqa: BLE001 - whatever the client raised: not (all) published
        raise Unavailable(f"NATS: {exc.__class__.__name__}: {exc}"[:300]) from exc


def advance(source: Source, cursor: str | None) -> None:
    """Store the source's new cursor (and that it ran) after its items are in the stream."""
    fields: dict = {"last_polled_at": timezone.now()}
    if cursor is not None:
        fields["cursor"] = cursor
        source.cursor = cursor
    Source.objects.filter(pk=source.pk).update(**fields)


def publish_and_advance(
    source: Source, items: Iterable[Incoming], *, cursor: str | None = None
) -> int:
    """A source's hand-over with NATS configured (``pipeline.deliver``): publish every item,
    then advance the cursor, in that order. ``js.publish`` returns only after JetStream stored
    the message, so the cursor never passes an item the stream does not hold: a failure or a
    crash before ``advance`` leaves the cursor where it was, the next run reads the same items
    again, and the stream's duplicate window (``Nats-Msg-Id``) and the consumers' (source,
    external id) check keep each post single. The messages carry no cursor: the source owns it,
    and a consumer working through older messages never moves it back."""
    batch = [i for i in items if i.external_id and i.text and i.text.strip()]
    sent = publish(source, batch) if batch else 0
    advance(source, cursor)
    return sent


# Consuming ---------------------------------------------------------------------------------


def handle(messages: list[bytes]) -> int:
    """Ingest one fetched batch (sync, in one thread); the number of new posts stored."""
    close_old_connections()
    by_source: dict[int, tuple[list[Incoming], str | None]] = {}
    bad: dict[int | None, int] = {}
    for data in messages:
        try:
            source_id, item, cursor = decode(data)
        except BadMessage as exc:
            bad[exc.source_id] = bad.get(exc.source_id, 0) + 1
            continue
        items, last = by_source.get(source_id, ([], None))
        items.append(item)
        by_source[source_id] = (items, cursor if cursor is not None else last)
    sources = Source.objects.in_bulk(list(by_source) + [k for k in bad if k is not None])
    stored = 0
    for source_id, (items, cursor) in by_source.items():
        source = sources.get(source_id)
        if source is None:
            logger.warning(
                "listening: %d NATS messages for unknown source %s", len(items), source_id
            )
            continue
        try:
            stored += len(pipeline.ingest(source, items, cursor=cursor))
        except IntegrityError:
            # Another consumer stored some of these at the same moment (a redelivery racing the
            # original): run again, the duplicates are now seen and skipped.
            stored += len(pipeline.ingest(source, items, cursor=cursor))
    for known, count in bad.items():
        if known is not None and known in sources:
            pipeline.skip(sources[known], count)
        else:
            logger.warning("listening: %d unusable NATS messages", count)
    return stored


async def consume_async(
    cfg: Config,
    *,
    batch: int = 100,
    stop: Callable[[], bool] = lambda: False,
    idle_exit: float | None = None,
    before_ack: Callable[[int], None] | None = None,
    ack_wait: float = 30.0,
) -> int:
    """Fetch, ingest, acknowledge until ``stop()``; with ``idle_exit``, also once the stream has
    had nothing for that many seconds. Returns the number of messages acknowledged."""
    import nats
    from asgiref.sync import sync_to_async
    from nats.errors import TimeoutError as FetchTimeout

    nc = await nats.connect(cfg.url)
    acked = 0
    idle = 0.0
    try:
        js = nc.jetstream()
        await ensure(js, cfg, ack_wait=ack_wait)
        subscription = await js.pull_subscribe(cfg.subject, durable=cfg.durable, stream=cfg.stream)
        while not stop():
            try:
                messages = await subscription.fetch(batch, timeout=1)
            except (FetchTimeout, TimeoutError):
                idle += 1
                if idle_exit is not None and idle >= idle_exit:
                    break
                continue
            idle = 0.0
            await sync_to_async(handle, thread_sensitive=True)([m.data for m in messages])
            if before_ack is not None:
                before_ack(acked)  # a test's crash point: stored, not yet acknowledged
            for message in messages:
                await message.ack()
            await nc.flush()
            acked += len(messages)
    finally:
        await nc.close()
        # The database connection of the thread that ran ``handle``: not left open.
        await sync_to_async(connections.close_all, thread_sensitive=True)()
    return acked


def consume(**options) -> int:
    return run_sync(consume_async(config(), **options))
