"""The listening pipeline's entry point: sources hand over what they read, with their cursor.

``ingest(source, items, cursor=...)`` stores the new posts and the source's new cursor in one
transaction (a restart resumes after the last stored item: no loss, no duplicates), then analyses
and matches them. Items a source could not read are counted with ``skip(source, n)``.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Post, Source

MAX_TEXT = 10_000


@dataclass(frozen=True)
class Incoming:
    """One public post as a source read it."""

    external_id: str
    text: str
    url: str = ""
    author: str = ""
    language: str = ""  # as the source declares it (may be empty or wrong)
    published_at: datetime | None = None


def fingerprint(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return hashlib.sha256(" ".join(folded.split()).encode()).hexdigest()


def ingest(source: Source, items: Iterable[Incoming], *, cursor: str | None = None) -> list[Post]:
    """Store new posts (an id seen before from this source is skipped) and the cursor."""
    batch = [i for i in items if i.external_id and i.text and i.text.strip()]
    now = timezone.now()
    with transaction.atomic():
        seen = set(
            Post.objects.filter(
                source=source, external_id__in=[i.external_id[:500] for i in batch]
            ).values_list("external_id", flat=True)
        )
        new = []
        for item in batch:
            key = item.external_id[:500]
            if key in seen:
                continue
            seen.add(key)
            text = item.text[:MAX_TEXT]
            new.append(
                Post(
                    source=source,
                    external_id=key,
                    url=item.url[:500],
                    author=item.author[:200],
                    text=text,
                    language=item.language[:8],
                    fingerprint=fingerprint(text),
                    published_at=item.published_at,
                    received_at=now,
                )
            )
        Post.objects.bulk_create(new)
        fields: dict = {"received": F("received") + len(new), "last_polled_at": now}
        if cursor is not None:
            fields["cursor"] = cursor
        Source.objects.filter(pk=source.pk).update(**fields)
    return new


def skip(source: Source, count: int = 1) -> None:
    """Count items a source could not use (malformed, oversized, invalid encoding)."""
    if count:
        Source.objects.filter(pk=source.pk).update(skipped=F("skipped") + count)
