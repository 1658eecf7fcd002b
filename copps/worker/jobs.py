"""The worker's periodic jobs: each reads durable rows and advances them (safe to repeat)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger("copps.worker")


def tick(now=None) -> dict[str, int]:
    from copps.accounts.models import LoginFailure
    from copps.newsroom.actions import expire_due, publish_due

    now = now or timezone.now()
    results = {"published": publish_due(now), "expired": expire_due(now)}
    # Retention: login failures are only needed for the throttling window.
    window = timedelta(seconds=settings.COPPS_LOGIN_WINDOW_SECONDS)
    results["login_failures_deleted"] = LoginFailure.objects.filter(at__lt=now - window).delete()[0]
    return results
