"""Retention for the fediverse presence (run by the worker)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import outgoing
from .models import InboxItem, ItemState, SeenActivity


def retention(now=None) -> int:
    """Delete processed-activity ids past COPPS_AP_SEEN_DAYS, moderated replies and mentions
    past COPPS_AP_ITEM_RETENTION_DAYS, and old sent activities. Returns rows deleted."""
    now = now or timezone.now()
    deleted = SeenActivity.objects.filter(
        at__lt=now - timedelta(days=settings.COPPS_AP_SEEN_DAYS)
    ).delete()[0]
    deleted += (
        InboxItem.objects.exclude(state=ItemState.NEW)
        .filter(received_at__lt=now - timedelta(days=settings.COPPS_AP_ITEM_RETENTION_DAYS))
        .delete()[0]
    )
    deleted += outgoing.delete_old(now)
    return deleted
