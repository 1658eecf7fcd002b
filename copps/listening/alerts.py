"""Alerts: bursts and emerging terms of the active watches, in the console and by e-mail.

The worker job ``evaluate_due(now)`` looks at every active watch at most every
``EVERY`` (its ``WatchState.evaluated_at``). A burst raises one alert when it starts; no other
until the burst has ended (``WatchState.bursting``). An emerging term raises one alert while it
keeps emerging (``WatchState.terms``). Each alert is e-mailed to the desk's on-duty staff
(``copps.inbox.models.Duty``: desk "communication", or "investigation" for investigation
purposes), else to everyone holding that desk's listening capability, and recorded in the audit
log with ids only (the watch, the purpose, the posts, the recipients).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.accounts.roles import LISTENING_COMMUNICATION, LISTENING_INVESTIGATION, has_capability
from copps.audit import log as audit

from . import temperature
from .matcher import active_watches
from .models import AlertKind, ListeningAlert, Watch, WatchState

logger = logging.getLogger("copps.listening")

EVERY = timedelta(minutes=5)


def recipients(watch: Watch) -> list:
    """The users to e-mail about ``watch``: the desk's on-duty staff, else the whole desk."""
    from copps.inbox.models import Duty

    investigation = watch.purpose.is_investigation
    desk = "investigation" if investigation else "communication"
    capability = LISTENING_INVESTIGATION if investigation else LISTENING_COMMUNICATION
    on_duty = [
        d.user
        for d in Duty.objects.filter(desk=desk).select_related("user").order_by("since")
        if d.user.email and has_capability(d.user, capability)
    ]
    if on_duty:
        return on_duty
    users = get_user_model().objects.filter(is_active=True).exclude(email="").order_by("pk")
    return [u for u in users if has_capability(u, capability)]


def _mail(alert: ListeningAlert, users: list) -> None:
    watch = alert.watch
    if alert.kind == AlertKind.BURST:
        subject = _("Listening: a burst in “%(watch)s”") % {"watch": watch.name}
        what = _("%(count)s posts in the last hour (usually about %(mean)s).") % {
            "count": alert.detail["count"],
            "mean": alert.detail["mean"],
        }
    else:
        subject = _("Listening: an emerging term in “%(watch)s”") % {"watch": watch.name}
        what = _("“%(term)s” is in %(count)s posts of the last hour.") % {
            "term": alert.detail["term"],
            "count": alert.detail["count"],
        }
    link = settings.SITE_URL + reverse("listening_console:dashboard", args=[watch.pk])
    body = "\n\n".join([what, _("See the posts in the console:") + "\n" + link])
    send_mail(subject, body, None, [u.email for u in users])


def _raise(watch: Watch, kind: str, detail: dict, now) -> ListeningAlert:
    users = recipients(watch)
    with transaction.atomic():
        alert = ListeningAlert.objects.create(watch=watch, kind=kind, detail=detail, created_at=now)
        audit.record(
            actor="worker",
            action="listening.alert",
            obj=alert,
            data={
                "watch": watch.pk,
                "purpose": watch.purpose_id,
                "kind": kind,
                "posts": detail.get("posts", []),
                "recipients": [u.pk for u in users],
            },
        )
    if users:
        try:
            _mail(alert, users)
        except Exception:  # the alert stands in the console even when the mail server is down
            logger.exception("listening alert %s: e-mail failed", alert.pk)
    return alert


def evaluate(watch: Watch, now) -> int:
    """Evaluate one watch now; returns how many alerts it raised."""
    state, _created = WatchState.objects.get_or_create(watch=watch)
    raised = 0
    result = temperature.burst(watch, now)
    bursting = bool(result and result.bursting)
    if result and bursting and not state.bursting:
        detail = {
            "count": result.count,
            "mean": result.mean,
            "threshold": result.threshold,
            "posts": result.posts,
        }
        _raise(watch, AlertKind.BURST, detail, now)
        raised += 1
    terms = temperature.emerging(watch, now)
    for term in terms:
        if term.term not in state.terms:
            detail = {
                "term": term.term,
                "count": term.count,
                "baseline_share": term.baseline_share,
                "posts": term.posts,
            }
            _raise(watch, AlertKind.TERM, detail, now)
            raised += 1
    state.bursting = bursting
    state.terms = sorted(t.term for t in terms)
    state.evaluated_at = now
    state.save()
    return raised


def evaluate_due(now) -> int:
    """The worker job: every active watch not evaluated in the last ``EVERY``."""
    raised = 0
    due = (
        active_watches(timezone.localdate(now))
        .select_related("purpose")
        .exclude(state__evaluated_at__gt=now - EVERY)
    )
    for watch in due:
        raised += evaluate(watch, now)
    return raised
