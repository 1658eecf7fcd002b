"""Web push to staff: console alerts in a staff member's browser.

A staff member turns it on in the console (``staff_push_views``): the browser subscribes with
the VAPID public key of the site's web push channel (``push.channel_for()``), and we store the
minimum (``StaffPushSubscription``: the user, the endpoint, the two keys). Features send through
``notify(users, ...)``: one encrypted, VAPID-signed POST per browser, by the web push adapter's
own code (``WebPushAdapter.push_one``: the same encryption, signing and entry point
``copps.lib.http`` as citizens' pushes) on its thread pool.

These pushes are not publications: they go out whether or not the channel is a sandbox, and
they are not Deliveries. A push service answering 404/410 has dropped the subscription: it is
deleted. A user who is no longer active, or no longer holds the capability the caller names,
receives nothing.

Actions (each audited): ``enable`` (subscribe or move an endpoint to this user), ``disable``
(one endpoint of the user's), ``disable_all`` (all of the user's), ``forget_gone``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from copps.accounts.roles import has_capability
from copps.audit import log as audit

from . import push
from .adapters.webpush import (
    WebPushAdapter,
    executor,
    notification_payload,
    push_headers,
)
from .base import ChannelError
from .models import StaffPushSubscription

logger = logging.getLogger("copps.channels")

ALERT_TTL = 6 * 3600  # an alert older than this is no news: the console has it anyway


# Actions --------------------------------------------------------------------------------------


def enable(user, *, endpoint: str, p256dh: str, auth: str) -> tuple[StaffPushSubscription, bool]:
    """Store this browser's subscription for ``user`` (validated by ``push.clean_endpoint`` and
    ``push.clean_keys``). The same endpoint again refreshes its keys; an endpoint another user
    stored (a shared workstation) moves to ``user``. Returns (it, created)."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                existing = (
                    StaffPushSubscription.objects.select_for_update()
                    .filter(endpoint=endpoint)
                    .first()
                )
                previous = existing.user_id if existing else None
                if existing is None:
                    sub = StaffPushSubscription.objects.create(
                        user=user, endpoint=endpoint, p256dh=p256dh, auth=auth
                    )
                else:
                    sub = existing
                    sub.user, sub.p256dh, sub.auth = user, p256dh, auth
                    sub.save(update_fields=["user", "p256dh", "auth"])
                data: dict[str, Any] = {"created": existing is None}
                if previous is not None and previous != user.pk:
                    data["moved_from"] = previous
                audit.record(actor=user, action="staff_push.enable", obj=sub, data=data)
                return sub, existing is None
        except IntegrityError:  # the same browser twice at once: the other request won
            continue
    raise push.PushInputError(_("Please try again."))


def disable(user, endpoint: str) -> bool:
    """Delete ``user``'s subscription of this endpoint; False when they have none (another
    user's endpoint is left alone)."""
    with transaction.atomic():
        sub = StaffPushSubscription.objects.filter(user=user, endpoint=endpoint).first()
        if sub is None:
            return False
        audit.record(actor=user, action="staff_push.disable", obj=sub)
        sub.delete()
    return True


def disable_all(user, *, by=None) -> int:
    """Delete all of ``user``'s subscriptions (they stop it everywhere; or ``by`` deactivated
    the account). Returns how many."""
    with transaction.atomic():
        subs = list(StaffPushSubscription.objects.filter(user=user))
        for sub in subs:
            audit.record(actor=by or user, action="staff_push.disable", obj=sub)
        StaffPushSubscription.objects.filter(pk__in=[s.pk for s in subs]).delete()
    return len(subs)


def forget_gone(sub: StaffPushSubscription, *, status: int, reason: str = "gone") -> bool:
    """The push service answered 404/410 (or the user may no longer have it): delete it."""
    with transaction.atomic():
        deleted, _rows = StaffPushSubscription.objects.filter(pk=sub.pk).delete()
        if deleted:
            audit.record(
                actor="worker",
                action="staff_push.gone",
                object_type="channels.staffpushsubscription",
                object_id=str(sub.pk),
                data={"status": status, "reason": reason, "user": sub.user_id},
            )
    return bool(deleted)


# Who receives ---------------------------------------------------------------------------------


def available() -> bool:
    """Whether staff can turn push on: the site has a usable web push channel (its keys)."""
    return bool(push.public_key_for())


def subscribed(users, capability: str | None = None) -> list:
    """Those of ``users`` who would receive a push now: active, holding ``capability`` (when
    given), with at least one browser subscribed."""
    users = [
        u for u in users if u.is_active and (capability is None or has_capability(u, capability))
    ]
    with_push = set(
        StaffPushSubscription.objects.filter(user__in=[u.pk for u in users]).values_list(
            "user_id", flat=True
        )
    )
    return [u for u in users if u.pk in with_push]


# Sending --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)  # user ids with at least one accepted copy
    failed: int = 0
    gone: int = 0


def notify(
    users,
    *,
    title: str,
    body: str,
    url: str,
    tag: str,
    capability: str | None = None,
    urgent: bool = True,
    ttl: int = ALERT_TTL,
) -> Outcome:
    """Push {title, body, url} to every browser of ``users`` who may receive it (see
    ``subscribed``). The caller decides what the text may say to these users; never put what
    only a capability may read in a push to users chosen without that ``capability``.

    Waits for the answers (each POST times out after the adapter's ``SEND_TIMEOUT``); a failure
    is logged and counted, never raised.
    """
    outcome = Outcome()
    channel = push.channel_for()
    recipients = subscribed(users, capability)
    if channel is None or not recipients:
        return outcome
    adapter = channel.adapter
    if not isinstance(adapter, WebPushAdapter):  # pragma: no cover - channel_for picks webpush
        return outcome
    lang = channel.language
    plaintext = notification_payload(title=title, body=body, url=url, lang=lang, tag=tag)
    headers = push_headers(topic=tag.replace("-", ""), urgent=urgent, ttl=ttl)
    signer = adapter.signer()
    subs = StaffPushSubscription.objects.filter(user__in=[u.pk for u in recipients]).order_by("pk")
    pool = executor()
    jobs = [
        (
            sub,
            pool.submit(
                adapter.push_one,
                sub.endpoint,
                {"p256dh": sub.p256dh, "auth": sub.auth},
                plaintext,
                headers,
                signer,
            ),
        )
        for sub in subs
    ]
    sent: set[int] = set()
    for sub, future in jobs:
        try:
            answer = future.result()
        except Exception:  # a bug in the sending code: log it, the console still has the alert
            logger.exception("staff push %s crashed", sub.pk)
            outcome.failed += 1
            continue
        result = answer if isinstance(answer, ChannelError) else adapter.classify(answer)
        if isinstance(result, str):
            sent.add(sub.user_id)
            continue
        outcome.failed += 1
        status = getattr(answer, "status_code", 0)
        if status in (404, 410):
            forget_gone(sub, status=status)
            outcome.gone += 1
        else:
            logger.warning("staff push %s (user %s) failed: %s", sub.pk, sub.user_id, result)
    outcome.sent = sorted(sent)
    return outcome


__all__ = [
    "Outcome",
    "available",
    "disable",
    "disable_all",
    "enable",
    "forget_gone",
    "notify",
    "subscribed",
]
