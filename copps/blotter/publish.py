"""Turning incidents into public entries, and taking entries down again (the worker's job).

``publish_due(now)``: incidents whose delay has passed get their public entry (generalised by the
policy, summary redacted); an entry the redactor is unsure about waits for review instead. Entries
whose incident was reclassified out of the public categories, withdrawn, or given a longer delay
are removed (every public output — page, map, GeoJSON, CSV, RSS — reads the entries).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from copps.audit import log as audit

from . import policy as policies
from .importer import bulk_insert
from .models import Decision, Entry, EntryState, Incident
from .redact import redact

NOT_PUBLIC = (
    Decision.HELD,
    Decision.UNKNOWN,
    Decision.EXCLUDED,
    Decision.WITHDRAWN,
    Decision.REJECTED,
)
BATCH = 500


def render(incident: Incident, policy) -> Entry:
    """The (unsaved) public entry for ``incident`` under ``policy``."""
    public = policies.generalise(incident, policy)
    state, summary, reason = EntryState.PUBLISHED, "", ""
    if policy.summary == policy.Summary.REDACTED and incident.summary.strip():
        result = redact(incident.summary)
        summary = result.text
        if result.unsure:
            state, reason = EntryState.REVIEW, "; ".join(result.reasons)[:300]
    return Entry(
        incident=incident,
        policy=policy,
        state=state,
        category_code=incident.category_code,
        labels=public.labels,
        occurred_at=public.occurred_at,
        summary=summary,
        street=public.street,
        municipality=public.municipality,
        nis=public.nis,
        lat=public.lat,
        lon=public.lon,
        review_reason=reason,
    )


def take_down(now) -> int:
    """Remove entries that must no longer be public; returns how many."""
    gone = Entry.objects.filter(incident__decision__in=NOT_PUBLIC)
    later = Entry.objects.filter(
        incident__decision=Decision.WAITING, incident__publish_after__gt=now
    )
    removed = 0
    for queryset, why in ((gone, "not public"), (later, "delay")):
        ids = list(queryset.values_list("pk", flat=True)[:10000])
        if ids:
            with transaction.atomic():
                removed += Entry.objects.filter(pk__in=ids).delete()[0]
                audit.record(
                    actor="worker",
                    action="blotter.take_down",
                    object_type="blotter.entry",
                    data={"count": len(ids), "why": why},
                )
    return removed


def publish_due(now=None, *, limit: int = 5000) -> int:
    """Publish what is due; returns the number of entries written or removed."""
    now = now or timezone.now()
    count = take_down(now)
    policy = policies.current()
    due = list(
        # Within one moment in the order of a hash, not of the import: the entries' ids must not
        # tell which incident of a rounded time slice was reported first.
        Incident.objects.filter(decision=Decision.WAITING, publish_after__lte=now).order_by(
            "publish_after", "content_hash", "pk"
        )[:limit]
    )
    for start in range(0, len(due), BATCH):
        chunk = due[start : start + BATCH]
        with transaction.atomic():
            existing = {e.incident_id: e for e in Entry.objects.filter(incident__in=chunk)}
            new: list[Entry] = []
            published: list[int] = []
            review: list[int] = []
            for incident in chunk:
                entry = render(incident, policy)
                entry.published_at = now if entry.state == EntryState.PUBLISHED else None
                old = existing.get(incident.pk)
                if old is not None:
                    entry.pk = old.pk
                    entry.published_at = old.published_at or entry.published_at
                    entry.updated_at = now
                    entry.save()
                else:
                    new.append(entry)
                (published if entry.state == EntryState.PUBLISHED else review).append(incident.pk)
            bulk_insert(Entry, new)
            Incident.objects.filter(pk__in=published).update(decision=Decision.PUBLISHED)
            Incident.objects.filter(pk__in=review).update(decision=Decision.REVIEW)
            audit.record(
                actor="worker",
                action="blotter.publish",
                object_type="blotter.entry",
                data={"published": len(published), "review": len(review), "policy": policy.number},
            )
        count += len(chunk)
    return count


def approve_review(entry: Entry, *, by, summary: str | None = None) -> Entry:
    """A person checked an entry the redactor was unsure about (and may have edited it)."""
    with transaction.atomic():
        if summary is not None:
            entry.summary = summary.strip()[:5000]
        entry.state = EntryState.PUBLISHED
        entry.published_at = entry.published_at or timezone.now()
        # The public outputs' version stamp (ETags, cached filter menus) reads updated_at.
        entry.updated_at = timezone.now()
        entry.review_reason = ""
        entry.save()
        Incident.objects.filter(pk=entry.incident_id).update(decision=Decision.PUBLISHED)
        audit.record(actor=by, action="blotter.review.approve", obj=entry)
    return entry


def reject_review(entry: Entry, *, by) -> None:
    """A person decided an entry must not go out: it is removed and the incident held back for
    good (``Decision.REJECTED``: no later policy or changed record publishes it again)."""
    with transaction.atomic():
        Incident.objects.filter(pk=entry.incident_id).update(decision=Decision.REJECTED)
        audit.record(actor=by, action="blotter.review.reject", obj=entry)
        entry.delete()
