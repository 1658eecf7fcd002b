"""Worker jobs of public order: silent sensors, retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .ingest import mark_stale
from .models import CrowdAlert, Reading, Rejection, ZoneSample

__all__ = ["mark_stale", "retention"]


def retention(now=None) -> int:
    """Delete counts, samples and alerts of events that ended more than
    ``COPPS_CROWD_RETENTION_DAYS`` ago, and refusal counters older than 90 days. Zones, routes
    and sensors (configuration, no counts) stay with their event."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=int(settings.COPPS_CROWD_RETENTION_DAYS))
    ended = Q(zone__event__ends_at__lt=cutoff)
    deleted = Reading.objects.filter(Q(sensor__zone__event__ends_at__lt=cutoff)).delete()[0]
    deleted += ZoneSample.objects.filter(ended).delete()[0]
    deleted += CrowdAlert.objects.filter(event__ends_at__lt=cutoff).delete()[0]
    deleted += Rejection.objects.filter(day__lt=(now - timedelta(days=90)).date()).delete()[0]
    return deleted
