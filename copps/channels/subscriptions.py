"""Citizens' subscriptions (e-mail, SMS, web push) without an account: named actions.

Unsubscribe links carry ``<id>.<hmac>``: an HMAC-SHA256 over the subscription id with the
subscription's own random secret (and SECRET_KEY), so a link cannot be forged or guessed and
stops working once the subscription (and its secret) is deleted.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.urls import reverse

from .models import Subscription


def unsubscribe_token(subscription: Subscription) -> str:
    mac = hmac.new(
        (settings.SECRET_KEY + subscription.secret).encode(),
        f"unsubscribe:{subscription.pk}".encode(),
        hashlib.sha256,
    ).hexdigest()[:32]
    return f"{subscription.pk}.{mac}"


def subscription_for_token(token: str) -> Subscription | None:
    """The subscription an unsubscribe token belongs to, or None (forged, stale, malformed)."""
    pk, _dot, _mac = token.partition(".")
    if not pk.isdigit():
        return None
    subscription = Subscription.objects.filter(pk=int(pk)).first()
    if subscription is None:
        return None
    return subscription if hmac.compare_digest(unsubscribe_token(subscription), token) else None


def unsubscribe_url(subscription: Subscription) -> str:
    """The one-click unsubscribe URL (also the target of the List-Unsubscribe header)."""
    return settings.SITE_URL + reverse("unsubscribe", args=[unsubscribe_token(subscription)])
