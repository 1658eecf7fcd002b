"""Per-server health for fediverse deliveries: one dead server pauses alone.

After ``COPPS_AP_SERVER_FAILURE_THRESHOLD`` failed rounds in a row a server is paused (copies
to it wait, without a network call) for a time that doubles with each further failure, up to
the backoff cap; a server that has failed for ``COPPS_AP_DEAD_SERVER_DAYS`` is treated as dead
(its copies fail at once) until it answers again (any inbound request from it, or an operator
resets it in the console).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from .models import Server


def state(domains: set[str], now=None) -> dict[str, tuple[str, float]]:
    """domain -> ("paused", seconds left) or ("dead", 0) for servers that must not be called."""
    now = now or timezone.now()
    out: dict[str, tuple[str, float]] = {}
    dead_after = timedelta(days=settings.COPPS_AP_DEAD_SERVER_DAYS)
    for server in Server.objects.filter(domain__in=domains):
        if server.failing_since and now - server.failing_since > dead_after:
            out[server.domain] = ("dead", 0.0)
        elif server.paused_until and server.paused_until > now:
            out[server.domain] = ("paused", (server.paused_until - now).total_seconds())
    return out


def succeeded(domain: str, now=None) -> None:
    now = now or timezone.now()
    updated = Server.objects.filter(domain=domain).update(
        consecutive_failures=0,
        paused_until=None,
        failing_since=None,
        last_success_at=now,
        last_error="",
    )
    if not updated:
        Server.objects.get_or_create(domain=domain, defaults={"last_success_at": now})


def failed(domain: str, error: str, now=None) -> None:
    now = now or timezone.now()
    server, _ = Server.objects.get_or_create(domain=domain)
    Server.objects.filter(pk=server.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, last_error=error[:500]
    )
    Server.objects.filter(pk=server.pk, failing_since__isnull=True).update(failing_since=now)
    server.refresh_from_db()
    threshold = settings.COPPS_AP_SERVER_FAILURE_THRESHOLD
    if server.consecutive_failures >= threshold:
        extra = server.consecutive_failures - threshold
        pause = min(settings.COPPS_DELIVERY_BACKOFF_CAP, 60 * 2**extra)
        Server.objects.filter(pk=server.pk).update(paused_until=now + timedelta(seconds=pause))


def reset(domain: str) -> None:
    Server.objects.filter(domain=domain).update(
        consecutive_failures=0, paused_until=None, failing_since=None
    )
