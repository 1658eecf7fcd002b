"""Listening retention: results go when their purpose's retention ends; posts go with them.

``retention(now)`` deletes the matches older than their purpose's ``retention_days``, then every
post that no match needs any more and that is older than a day (a post nothing matched is kept
at most a day — long enough to try a new query on it — and never beyond). It leaves a note in the
audit log when it deleted anything. Safe to repeat; the worker runs it every tick.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from copps.audit import log as audit

from .models import ListeningAlert, Match, Post, Purpose

UNMATCHED_POSTS_KEPT = timedelta(days=1)
CHUNK = 5000


def retention(now) -> int:
    """Delete expired matches and unneeded posts; returns how many rows went."""
    matches = 0
    for purpose_id, days in Purpose.objects.values_list("pk", "retention_days"):
        matches += Match.objects.filter(
            watch__purpose_id=purpose_id, matched_at__lt=now - timedelta(days=days)
        ).delete()[0]
        # Alerts name the posts that caused them: they go with those posts' matches.
        ListeningAlert.objects.filter(
            watch__purpose_id=purpose_id, created_at__lt=now - timedelta(days=days)
        ).delete()
    posts = 0
    unneeded = Post.objects.filter(received_at__lt=now - UNMATCHED_POSTS_KEPT).exclude(
        Exists(Match.objects.filter(post=OuterRef("pk")))
    )
    while True:
        # In chunks: a first run after a long pause may have many posts to delete.
        ids = list(unneeded.values_list("pk", flat=True)[:CHUNK])
        if not ids:
            break
        posts += Post.objects.filter(pk__in=ids).delete()[0]
    if matches or posts:
        with transaction.atomic():
            audit.record(
                actor="worker",
                action="listening.retention",
                data={"matches": matches, "posts": posts},
            )
    return matches + posts
