"""The worker's periodic jobs: each reads durable rows and advances them (safe to repeat).

``tick()`` runs every job once. A job that fails is logged and counted under ``errors``; the
others still run, and the next tick tries it again (the rows it works on are still there).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger("copps.worker")


def delete_old_login_failures(now) -> int:
    """Retention: login failures are only needed for the throttling window."""
    from copps.accounts.models import LoginFailure

    window = timedelta(seconds=settings.COPPS_LOGIN_WINDOW_SECONDS)
    return LoginFailure.objects.filter(at__lt=now - window).delete()[0]


def delete_stale_subscriptions(now) -> int:
    """Retention: unconfirmed subscription requests and old throttling keys."""
    from copps.channels.subscriptions import delete_stale_subscriptions as job

    return job(now)


def fediverse_retention(now) -> int:
    from copps.federation.jobs import retention

    return retention(now)


def listening_retention(now) -> int:
    from copps.listening.jobs import retention

    return retention(now)


def listening_alerts(now) -> int:
    from copps.listening.alerts import evaluate_due

    return evaluate_due(now)


def _jobs():
    from copps.blotter.digest import digest_due as blotter_digest_due
    from copps.blotter.publish import publish_due as blotter_publish_due
    from copps.channels import deliveries
    from copps.crowd import jobs as crowd_jobs
    from copps.federation import outgoing
    from copps.inbox import jobs as inbox_jobs
    from copps.inbox import pull as inbox_pull
    from copps.investigations.actions import lapse_due
    from copps.listening import runner as listening_runner
    from copps.newsroom.actions import expire_due, publish_due

    return {
        # Sensors that went silent turn stale (and raise an alert) before anything else waits.
        "sensors_stale": crowd_jobs.mark_stale,
        "published": publish_due,
        "expired": expire_due,
        # Before deliveries: a lapsed notice's posts are cancelled or deleted in the same tick.
        "notices_lapsed": lapse_due,
        # These read the clock themselves: the tick's moment is stale by the time they run.
        "swept": lambda now: deliveries.sweep(),
        "delivered": lambda now: deliveries.deliver_due(),
        "recipients_sent": lambda now: deliveries.deliver_recipients(),
        "reconciled": lambda now: deliveries.reconcile(),
        "fediverse_sent": lambda now: outgoing.send_due(),
        "fediverse_expired": fediverse_retention,
        "login_failures_deleted": delete_old_login_failures,
        "subscriptions_expired": delete_stale_subscriptions,
        # Replies and mentions from the channels (and the fediverse) into the citizens' inbox.
        "inbox_pulled": inbox_pull.pull_due,
        "inbox_expired": inbox_jobs.retention,
        "listening_expired": listening_retention,
        "blotter_published": blotter_publish_due,
        "listening_polled": listening_runner.poll_due,
        # Bursts and emerging terms of the active watches (each at most every 5 minutes).
        "listening_alerts": listening_alerts,
        # Once a day after COPPS_BLOTTER_DIGEST_HOUR: yesterday's digests, drafted per area.
        "blotter_digests": blotter_digest_due,
        "crowd_expired": crowd_jobs.retention,
    }


def tick(now=None) -> dict[str, int]:
    """Run every job once; returns how many rows each advanced, plus ``errors``."""
    now = now or timezone.now()
    results = {"errors": 0}
    for name, job in _jobs().items():
        try:
            results[name] = job(now)
        except Exception:  # one broken job must not starve the others
            logger.exception("worker job %s failed", name)
            results[name] = 0
            results["errors"] += 1
    return results
