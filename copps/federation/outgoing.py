"""Activities that are not posts (Accept, Reject, Follow, Undo, profile updates), one row per
inbox, sent by the worker with backoff. Posts go through the channel deliveries instead."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from copps.channels.base import ChannelError
from copps.channels.deliveries import backoff

from . import activities, adapter, blocks, health, ids, keys
from .models import Actor, Follower, Outgoing, OutgoingState

logger = logging.getLogger("copps.federation")


def queue(actor: Actor, inbox: str, activity: dict) -> Outgoing | None:
    """Queue one activity for one inbox (once: the same activity id and inbox is queued once)."""
    if not inbox or blocks.suspended(blocks.domain_of(inbox)):
        return None
    try:
        with transaction.atomic():
            return Outgoing.objects.create(
                actor=actor, inbox=inbox, activity_id=activity["id"], activity=activity
            )
    except IntegrityError:
        return None


def respond(actor: Actor, follower: Follower, kind: str) -> None:
    """Accept or Reject a follow (sent to the follower's own inbox)."""
    remote = follower.remote
    activity = activities.respond(actor.username, kind, follower.activity_id, remote.uri)
    Outgoing.objects.filter(activity_id=activity["id"], inbox=remote.inbox).delete()
    queue(actor, remote.inbox, activity)


def to_followers(actor: Actor, activity: dict) -> int:
    """Queue an activity for every follower inbox (shared inboxes once)."""
    return sum(1 for inbox in adapter.follower_inboxes(actor) if queue(actor, inbox, activity))


def send_due(now=None, *, limit_seconds: float = 20.0) -> int:
    """The worker's round: send what is due; returns how many went out."""
    started = time.monotonic()
    now = now or timezone.now()
    sent = 0
    due = Outgoing.objects.filter(state=OutgoingState.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    pems: dict[int, str] = {}
    rows = list(due.select_related("actor").order_by("pk")[:200])
    # The same per-server rules as posts (health.py): a paused server is not called until its
    # pause ends, a dead one not at all; a failure here counts towards its pause too.
    held = health.state({blocks.domain_of(row.inbox) for row in rows}, now)
    recorded: set[str] = set()
    for row in rows:
        if time.monotonic() - started > limit_seconds:
            break
        domain = blocks.domain_of(row.inbox)
        status, wait = held.get(domain, ("", 0.0))
        if status == "paused":
            Outgoing.objects.filter(pk=row.pk, state=OutgoingState.PENDING).update(
                next_attempt_at=now + timedelta(seconds=wait)
            )
            continue
        if not Outgoing.objects.filter(pk=row.pk, state=OutgoingState.PENDING).update(
            attempts=F("attempts") + 1, next_attempt_at=now + timedelta(minutes=5)
        ):
            continue  # another worker took it
        row.refresh_from_db()
        if blocks.suspended(blocks.domain_of(row.inbox)):
            # Suspended after it was queued: no contact at all, not even this Accept.
            Outgoing.objects.filter(pk=row.pk).update(
                state=OutgoingState.FAILED, next_attempt_at=None, last_error="server suspended"
            )
            continue
        if status == "dead":
            Outgoing.objects.filter(pk=row.pk).update(
                state=OutgoingState.FAILED,
                next_attempt_at=None,
                last_error=(
                    f"{domain} has not answered for {settings.COPPS_AP_DEAD_SERVER_DAYS} days"
                ),
            )
            continue
        if row.actor_id not in pems:
            pems[row.actor_id] = keys.private_pem(row.actor)
        body = json.dumps(row.activity).encode()
        result = adapter.post(row.inbox, body, ids.key(row.actor.username), pems[row.actor_id])
        if result == "":
            Outgoing.objects.filter(pk=row.pk).update(
                state=OutgoingState.SENT, sent_at=timezone.now(), last_error=""
            )
            if domain not in recorded:
                recorded.add(domain)
                health.succeeded(domain)
            sent += 1
            continue
        assert isinstance(result, ChannelError)
        if not result.permanent and not result.retry_after and domain not in recorded:
            recorded.add(domain)  # one failed round per server, as for posts
            health.failed(domain, str(result))
        give_up = result.permanent or row.attempts >= settings.COPPS_AP_DELIVERY_ATTEMPTS
        wait = result.retry_after if result.retry_after is not None else backoff(row.attempts)
        Outgoing.objects.filter(pk=row.pk).update(
            state=OutgoingState.FAILED if give_up else OutgoingState.PENDING,
            next_attempt_at=None if give_up else timezone.now() + timedelta(seconds=wait),
            last_error=str(result)[:500],
        )
    return sent


def delete_old(now=None) -> int:
    """Retention: sent and failed rows are kept a week for the console, then deleted."""
    now = now or timezone.now()
    return Outgoing.objects.filter(
        ~Q(state=OutgoingState.PENDING), created_at__lt=now - timedelta(days=7)
    ).delete()[0]
