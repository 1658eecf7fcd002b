"""Retention for the fediverse presence (run by the worker)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import outgoing
from .models import InboxItem, RemoteActor, SeenActivity


def retention(now=None) -> int:
    """Delete processed-activity ids past COPPS_AP_SEEN_DAYS, moderated replies and mentions
    past COPPS_AP_ITEM_RETENTION_DAYS, old sent activities, and remote accounts nothing here
    refers to any more. Returns rows deleted."""
    now = now or timezone.now()
    deleted = SeenActivity.objects.filter(
        at__lt=now - timedelta(days=settings.COPPS_AP_SEEN_DAYS)
    ).delete()[0]
    deleted += (
        # Moderated or not: a reply nobody looked at in that time is not kept either.
        InboxItem.objects.filter(
            received_at__lt=now - timedelta(days=settings.COPPS_AP_ITEM_RETENTION_DAYS)
        ).delete()[0]
    )
    deleted += outgoing.delete_old(now)
    deleted += forget_remote_actors(now)
    return deleted


def forget_remote_actors(now=None) -> int:
    """Delete cached remote accounts that no follower, followed account, held item or report
    refers to: every signer of a like, of a refused request or of a deleted reply is cached
    when its key is checked, and copps keeps nothing about people it has no reason to. Only
    rows older than the key cache go (they would be fetched again before any use anyway)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.COPPS_AP_KEY_CACHE_SECONDS)
    return RemoteActor.objects.filter(
        fetched_at__lt=stale,
        follows__isnull=True,
        followed_by__isnull=True,
        items__isnull=True,
        reports__isnull=True,
    ).delete()[0]
