"""Alerts: bursts and emerging terms of the active watches, in the console, by e-mail and by
web push.

The worker job ``evaluate_due(now)`` looks at every active watch at most every
``EVERY`` (its ``WatchState.evaluated_at``). A burst raises one alert when it starts; no other
until the burst has ended (``WatchState.bursting``). An emerging term raises one alert while it
keeps emerging (``WatchState.terms``). Each alert is e-mailed to the desk's on-duty staff
(``copps.inbox.models.Duty``: desk "communication", or "investigation" for investigation
purposes), else to everyone holding that desk's listening capability, and recorded in the audit
log with ids only (the watch, the purpose, the posts, the recipients). The same people (on duty,
else the whole desk) who turned on alerts in their browser (``copps.channels.staff_push``) get
a push: the watch and the count, a link to the alert in the console, never a post. Pushes about
an investigation watch name neither the watch nor the term (a notification shows on a locked
screen), and go only to users holding ``listening.investigation``.
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


def capability_for(watch: Watch) -> str:
    """The capability that may read this watch's results (and so its alerts)."""
    if watch.purpose.is_investigation:
        return LISTENING_INVESTIGATION
    return LISTENING_COMMUNICATION


def _desk(watch: Watch, *, email: bool) -> list:
    """The desk's on-duty staff holding its capability (with an e-mail address when ``email``),
    else everyone active holding it."""
    from copps.inbox.models import Duty

    desk = "investigation" if watch.purpose.is_investigation else "communication"
    capability = capability_for(watch)
    on_duty = [
        d.user
        for d in Duty.objects.filter(desk=desk).select_related("user").order_by("since")
        if (d.user.email or not email) and has_capability(d.user, capability)
    ]
    if on_duty:
        return on_duty
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    if email:
        users = users.exclude(email="")
    return [u for u in users if has_capability(u, capability)]


def recipients(watch: Watch) -> list:
    """The users to e-mail about ``watch``: the desk's on-duty staff, else the whole desk."""
    return _desk(watch, email=True)


def push_recipients(watch: Watch) -> list:
    """The users to push ``watch``'s alerts to: the desk's on-duty staff, else the whole desk,
    those of them who turned on alerts in a browser."""
    from copps.channels import staff_push

    return staff_push.subscribed(_desk(watch, email=False), capability_for(watch))


def _texts(alert: ListeningAlert) -> tuple[str, str]:
    """(subject, one sentence) for the e-mail and for a communication watch's push."""
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
    return subject, what


def alert_url(alert: ListeningAlert) -> str:
    """The alert in the console: its watch's dashboard, at the alert's banner entry."""
    path = reverse("listening_console:dashboard", args=[alert.watch_id])
    return f"{settings.SITE_URL}{path}#alert-{alert.pk}"


def _mail(alert: ListeningAlert, users: list) -> None:
    subject, what = _texts(alert)
    link = settings.SITE_URL + reverse("listening_console:dashboard", args=[alert.watch_id])
    body = "\n\n".join([what, _("See the posts in the console:") + "\n" + link])
    send_mail(subject, body, None, [u.email for u in users])


def push_texts(alert: ListeningAlert) -> tuple[str, str]:
    """(title, body) of the push. An investigation watch's alert names neither the watch nor
    the term: a notification shows on a locked screen and passes a third-party push service."""
    if alert.watch.purpose.is_investigation:
        title = _("Listening: an investigation alert")
        if alert.kind == AlertKind.BURST:
            body = _("A burst in one of your investigation watches. Open the console to see it.")
        else:
            body = _(
                "An emerging term in one of your investigation watches. Open the console to see it."
            )
        return title, body
    return _texts(alert)


def _push(alert: ListeningAlert, users: list) -> None:
    from copps.channels import staff_push

    title, body = push_texts(alert)
    staff_push.notify(
        users,
        title=title,
        body=body,
        url=alert_url(alert),
        tag=f"listening-alert-{alert.pk}",
        capability=capability_for(alert.watch),
    )


def _raise(watch: Watch, kind: str, detail: dict, now) -> ListeningAlert:
    users = recipients(watch)
    pushed = push_recipients(watch)
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
                "push": [u.pk for u in pushed],
            },
        )
    if users:
        try:
            _mail(alert, users)
        except Exception:  # the alert stands in the console even when the mail server is down
            logger.exception("listening alert %s: e-mail failed", alert.pk)
    if pushed:
        try:
            _push(alert, pushed)
        except Exception:  # nor does a push service that fails take the alert with it
            logger.exception("listening alert %s: push failed", alert.pk)
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
