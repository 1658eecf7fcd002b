"""Run listening sources: polling ones from the worker, streaming ones as a long-running process.

- Polling (RSS/Atom; Telegram channels; our own channels' mentions from the inbox; Mastodon when ``config["streaming"]`` is false): ``poll_due()`` is a worker
  job; each enabled source is polled when its interval (``config["interval"]`` seconds, default
  ``COPPS_LISTENING_POLL_SECONDS``) has passed since its last run.
- Streaming (Bluesky Jetstream; Mastodon with ``config["streaming"]``): ``copps listening_run``
  keeps one connection per source open, reconnecting with a growing pause after a failure.

A failed run sets ``source.last_error`` (a successful one clears it) and never stops the others;
the next run retries from the stored cursor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from .models import Source, SourceKind
from .sources import bluesky, mastodon, own, rss, telegram
from .sources.base import error_text

logger = logging.getLogger("copps.listening")

POLLERS: dict[str, Callable[[Source], int]] = {
    SourceKind.RSS: rss.poll,
    SourceKind.MASTODON: mastodon.poll,
    SourceKind.TELEGRAM: telegram.poll,
    SourceKind.OWN: own.poll,
}
STREAMERS: dict[str, Callable[..., int]] = {
    SourceKind.BLUESKY: bluesky.run,
    SourceKind.MASTODON: mastodon.run,
}
MAX_PAUSE = 300.0


def is_streaming(source: Source) -> bool:
    if source.kind == SourceKind.BLUESKY:
        return True
    return source.kind == SourceKind.MASTODON and bool(source.config.get("streaming"))


def _record(source: Source, error: str) -> None:
    fields: dict = {"last_error": error}
    if error:
        fields["last_polled_at"] = timezone.now()
    source.last_error = error
    try:
        Source.objects.filter(pk=source.pk).update(**fields)
    except DatabaseError as exc:  # the database itself is failing: keep running, retry later
        logger.error("listening source %s: cannot record its state: %s", source.pk, exc)


def poll_one(source: Source) -> int:
    """Poll one source now. Returns the posts stored (0 after a failure, which is recorded)."""
    poller = POLLERS.get(source.kind)
    if poller is None:
        return 0
    try:
        stored = poller(source)
    except Exception as exc:  # noqa: BLE001 — any failure is the source's, not the worker's
        logger.warning("listening source %s failed: %s", source.pk, exc)
        _record(source, error_text(exc))
        return 0
    _record(source, "")
    return stored


def poll_due(now=None) -> int:
    """Worker job: poll every enabled polling source whose interval has passed, or for which
    someone asked "poll now" in the console (``poll_requested_at``)."""
    now = now or timezone.now()
    default = int(getattr(settings, "COPPS_LISTENING_POLL_SECONDS", 300))
    stored = 0
    for source in Source.objects.filter(enabled=True, kind__in=list(POLLERS)):
        if is_streaming(source):
            continue
        interval = source.config.get("interval", default)
        interval = interval if isinstance(interval, int) and interval > 0 else default
        requested = source.poll_requested_at
        if (
            requested is None
            and source.last_polled_at
            and source.last_polled_at > now - timedelta(seconds=interval)
        ):
            continue
        stored += poll_one(source)
        if requested is not None:
            # Only the request this run answered: one made while it ran stays for the next tick.
            Source.objects.filter(pk=source.pk, poll_requested_at__lte=requested).update(
                poll_requested_at=None
            )
    return stored


def stream_one(
    source: Source,
    *,
    stop: threading.Event,
    once: bool = False,
    idle_seconds: float | None = None,
    between: Callable[[], None] | None = None,
) -> int:
    """Keep ``source``'s stream open until ``stop`` is set, reconnecting after failures.
    ``once``: one connection only (until it closes or is idle for ``idle_seconds``).
    ``between``: called after each connection (a thread of its own closes its stale database
    connection there)."""
    streamer = STREAMERS[source.kind]
    stored, pause = 0, 1.0
    while not stop.is_set():
        try:
            stored += streamer(source, stop=stop, idle_seconds=idle_seconds)
        except Exception as exc:  # noqa: BLE001
            logger.warning("listening stream %s failed: %s", source.pk, exc)
            _record(source, error_text(exc))
            if once:
                break
            stop.wait(pause)
            pause = min(pause * 2, MAX_PAUSE)
            continue
        finally:
            if between is not None:
                between()
        _record(source, "")
        pause = 1.0
        if once:
            break
        stop.wait(1.0)
    return stored


def run(
    sources: list[Source], *, stop: threading.Event, once: bool = False, poll_every: float = 30.0
) -> None:
    """Stream every streaming source in its own thread; poll the others (when running as the
    only listening process) every ``poll_every`` seconds. Returns when ``stop`` is set (or, with
    ``once``, after one pass)."""
    threads = []
    for source in sources:
        if is_streaming(source):
            thread = threading.Thread(
                target=_thread,
                args=(source, stop, once),
                name=f"listening-{source.pk}",
                daemon=True,
            )
            thread.start()
            threads.append(thread)
    polled = [s for s in sources if not is_streaming(s) and s.kind in POLLERS]
    while True:
        for source in polled:
            poll_one(source)
        if once or stop.wait(poll_every):
            break
    for thread in threads:
        thread.join()


def _thread(source: Source, stop: threading.Event, once: bool) -> None:
    try:
        stream_one(
            source,
            stop=stop,
            once=once,
            idle_seconds=5.0 if once else None,
            between=close_old_connections,
        )
    finally:
        connections.close_all()  # this thread's own connections end with it
