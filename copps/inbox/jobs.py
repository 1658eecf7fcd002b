"""Inbox retention (the worker calls ``retention(now)`` on every tick).

- A closed conversation is deleted ``COPPS_INBOX_RETENTION_DAYS`` (communication desk) or
  ``COPPS_TIP_RETENTION_DAYS`` (investigation desk: tips and SMS) after it was closed, with its
  entries, tip, alerts, moderation decisions and attachments — and the attachment files on
  disk. A conversation the citizen reopened is no longer closed, so it stays.
- Acknowledged alerts older than 30 days are deleted.
- SMS aliases past their retention are purged by ``copps.inbox.sms.purge_aliases`` when the SMS
  part is installed.

One audit record per run that deleted anything, with counts only (never content).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from copps.audit import log as audit

from . import sms
from .models import Alert, Attachment, Conversation, Desk, State

logger = logging.getLogger("copps.inbox")

ALERT_DAYS = 30
BATCH = 500


def _retention_days(desk: str) -> int:
    name = (
        "COPPS_TIP_RETENTION_DAYS" if desk == Desk.INVESTIGATION else "COPPS_INBOX_RETENTION_DAYS"
    )
    return int(getattr(settings, name, 365 if desk == Desk.INVESTIGATION else 180))


def _delete_conversations(ids: list[int]) -> int:
    """Delete the conversations ``ids`` and then their attachment files (after the commit, so a
    rollback never leaves rows pointing at missing files)."""
    files = list(
        Attachment.objects.filter(entry__conversation__in=ids).values_list("file", flat=True)
    )
    with transaction.atomic():
        Conversation.objects.filter(pk__in=ids).delete()
    storage = Attachment._meta.get_field("file").storage
    for name in files:
        if not name:
            continue
        try:
            storage.delete(name)
        except OSError:  # already gone, or the disk refuses: the row is gone either way
            logger.warning("inbox retention: could not delete an attachment file")
    return len(files)


def retention(now) -> int:
    counts = {"conversations": 0, "attachments": 0, "alerts": 0, "sms_aliases": 0}
    for desk in Desk.values:
        cutoff = now - timedelta(days=_retention_days(desk))
        while True:
            ids = list(
                # Closed that long ago — or left without any activity that long (a tip the
                # tipster stopped, a mention nobody closed): personal data is not kept forever.
                Conversation.objects.filter(desk=desk)
                .filter(
                    Q(state=State.CLOSED, closed_at__isnull=False, closed_at__lt=cutoff)
                    | Q(last_activity_at__lt=cutoff)
                )
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                break
            counts["attachments"] += _delete_conversations(ids)
            counts["conversations"] += len(ids)
    counts["alerts"], _per_model = Alert.objects.filter(
        acknowledged_at__isnull=False, acknowledged_at__lt=now - timedelta(days=ALERT_DAYS)
    ).delete()
    counts["sms_aliases"] = sms.purge_aliases(now)
    total = counts["conversations"] + counts["alerts"] + counts["sms_aliases"]
    if total:
        with transaction.atomic():
            audit.record(actor="worker", action="inbox.retention", data=counts)
    return total
