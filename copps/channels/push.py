"""Web push subscriptions: validation of a browser's PushSubscription, throttling, and the named
actions that write (``subscribe_push``, ``unsubscribe_push``, ``forget_gone_subscription``).

The browser's permission prompt is the opt-in (it only appears after the citizen clicks "turn
on notifications"), so a push subscription is active at once. We store the minimum: the
endpoint, the two keys the payload is encrypted with, the language, topics and postcodes. It is
deleted, not flagged, when the citizen stops notifications or when the push service says the
browser dropped it (404/410).

VAPID key helpers (``generate_vapid_keys`` and friends) live with the adapter and are re-exported
here for the console's channel form.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.audit import log as audit
from copps.lib.clientip import throttle_bucket

from .adapters.webpush import (
    b64url_decode,
    generate_vapid_keys,
    private_key_from_text,
    public_key_from_text,
    public_key_text,
)
from .models import Channel, ChannelStatus, Medium, RateHit, Subscription, SubscriptionState

MAX_BODY_BYTES = 4096
MAX_ENDPOINT_CHARS = 1000  # Subscription.push_endpoint
MAX_POSTCODES = 10  # as the subscribe form says
POSTCODE = re.compile(r"[1-9][0-9]{3}\Z")


class PushInputError(ValueError):
    """A request the subscribe/unsubscribe endpoints refuse; ``field`` names the culprit."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class PushRequest:
    endpoint: str
    p256dh: str = ""
    auth: str = ""
    language: str = ""
    topics: list[str] = field(default_factory=list)
    postcodes: list[str] = field(default_factory=list)


# Validation -----------------------------------------------------------------------------------


def clean_endpoint(value: Any) -> str:
    """A push service URL: https, a real host name or public address, no credentials."""
    if not isinstance(value, str) or not value.strip():
        raise PushInputError(_("The push endpoint is missing."), "endpoint")
    value = value.strip()
    if len(value) > MAX_ENDPOINT_CHARS:
        raise PushInputError(_("The push endpoint is too long."), "endpoint")
    if any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise PushInputError(_("The push endpoint is not a valid URL."), "endpoint")
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise PushInputError(_("The push endpoint is not a valid URL."), "endpoint") from None
    if parts.scheme != "https":
        raise PushInputError(_("The push endpoint must be an https URL."), "endpoint")
    if not host or parts.username or parts.password or parts.fragment:
        raise PushInputError(_("The push endpoint is not a valid URL."), "endpoint")
    allowed = host in getattr(settings, "COPPS_HTTP_ALLOW_PRIVATE_HOSTS", [])
    if not allowed:
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
                raise PushInputError(_("The push endpoint is not public."), "endpoint") from None
        else:
            if not ip.is_global:
                raise PushInputError(_("The push endpoint is not public."), "endpoint")
    return value


def clean_keys(keys: Any) -> tuple[str, str]:
    """The subscription's p256dh (a P-256 point) and auth (16 bytes), both base64url."""
    if not isinstance(keys, dict):
        raise PushInputError(_("The subscription keys are missing."), "keys")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or len(p256dh) > 200:
        raise PushInputError(_("The p256dh key is missing or malformed."), "keys.p256dh")
    try:
        public_key_from_text(p256dh)
    except ValueError:
        raise PushInputError(
            _("The p256dh key is not a valid P-256 public key."), "keys.p256dh"
        ) from None
    if not isinstance(auth, str) or len(auth) > 100:
        raise PushInputError(_("The auth secret is missing or malformed."), "keys.auth")
    try:
        raw = b64url_decode(auth)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise PushInputError(_("The auth secret must be 16 bytes (base64url)."), "keys.auth")
    return p256dh.strip(), auth.strip()


def _topic_choices() -> set[str]:
    from django.apps import apps

    # Message kinds, read from the model so this module does not import the newsroom;
    # corrections follow the message they correct, so they are not a topic of their own.
    field_ = apps.get_model("newsroom", "Message")._meta.get_field("kind")
    return {str(value) for value, _label in field_.choices or [] if value != "correction"}


def clean_preferences(data: dict, default_language: str) -> tuple[str, list[str], list[str]]:
    languages = {code for code, _name in settings.LANGUAGES}
    language = data.get("language") or default_language
    if not isinstance(language, str) or language not in languages:
        raise PushInputError(_("Choose one of the site's languages."), "language")
    topics = data.get("topics") or []
    choices = _topic_choices()
    if not isinstance(topics, list) or len(topics) > len(choices):
        raise PushInputError(_("Topics must be a list of message kinds."), "topics")
    if any(not isinstance(t, str) or t not in choices for t in topics):
        raise PushInputError(_("Unknown topic."), "topics")
    postcodes = data.get("postcodes") or []
    if isinstance(postcodes, str):  # "1000, 2000" from a text field
        postcodes = [p for p in re.split(r"[\s,;]+", postcodes) if p]
    too_many = _("Give at most %(n)d postcodes.") % {"n": MAX_POSTCODES}
    if not isinstance(postcodes, list) or len(postcodes) > 10 * MAX_POSTCODES:
        raise PushInputError(too_many, "postcodes")
    if any(not isinstance(p, str) or not POSTCODE.match(p) for p in postcodes):
        raise PushInputError(_("A postcode is four digits, e.g. 1000."), "postcodes")
    postcodes = sorted(set(postcodes))
    if len(postcodes) > MAX_POSTCODES:
        raise PushInputError(too_many, "postcodes")
    return language, sorted(set(topics)), postcodes


def parse_subscribe(data: Any, *, default_language: str) -> PushRequest:
    """Validate the JSON a browser posts to /push/subscribe/:
    {"subscription": {"endpoint", "keys": {"p256dh", "auth"}, "expirationTime"},
     "language", "topics": [...], "postcodes": [...]}."""
    if not isinstance(data, dict):
        raise PushInputError(_("Send a JSON object."))
    subscription = data.get("subscription")
    if not isinstance(subscription, dict):
        raise PushInputError(_("The push subscription is missing."), "subscription")
    endpoint = clean_endpoint(subscription.get("endpoint"))
    p256dh, auth = clean_keys(subscription.get("keys"))
    language, topics, postcodes = clean_preferences(data, default_language)
    if not channel_for(language):
        raise PushInputError(
            _("Browser notifications are not available in this language."), "language"
        )
    return PushRequest(endpoint, p256dh, auth, language, topics, postcodes)


def parse_unsubscribe(data: Any) -> str:
    if not isinstance(data, dict):
        raise PushInputError(_("Send a JSON object."))
    return clean_endpoint(data.get("endpoint"))


# Channels and keys ----------------------------------------------------------------------------


def channel_for(language: str | None = None) -> Channel | None:
    """The usable web push channel whose key browsers subscribe with: the first of ``language``,
    else the first of any language. Every web push channel should share one key pair
    (docs/channels/webpush.md): a subscription only works with the key it was made with."""
    usable = (
        Channel.objects.filter(kind="webpush", enabled=True)
        .exclude(status=ChannelStatus.DISABLED)
        .order_by("pk")
    )
    if language:
        return usable.filter(language=language).first()
    return usable.first()


def public_key_for(language: str | None = None) -> str:
    channel = channel_for(language) or channel_for()
    if channel is None:
        return ""
    return str((channel.config or {}).get("vapid_public_key") or "")


def ensure_vapid_keys(config: dict, secrets_: dict) -> tuple[dict, dict]:
    """For the console's channel form: fill in a fresh key pair when both keys are empty."""
    from .adapters.webpush import WebPushAdapter

    return WebPushAdapter.prepare_config(config, secrets_)


# Throttling -----------------------------------------------------------------------------------


def throttle(client: str, purpose: str) -> float | None:
    """Count one request from ``client`` for ``purpose``; seconds to wait if over the limit.

    The key is an HMAC of the address with SECRET_KEY and the date: no address is stored, the
    hash cannot be reversed by trying all IPv4 addresses, and keys of different days cannot be
    linked (as the e-mail/SMS subscription throttle does).
    """
    limit = int(getattr(settings, "COPPS_PUSH_SUBSCRIBE_LIMIT", 10))
    window = int(getattr(settings, "COPPS_PUSH_SUBSCRIBE_WINDOW", 3600))
    now = timezone.now()
    key = hmac.new(
        settings.SECRET_KEY.encode(),
        f"push:{purpose}:{throttle_bucket(client)}:{now.date().isoformat()}".encode(),
        hashlib.sha256,
    ).hexdigest()
    since = now - timedelta(seconds=window)
    hits = RateHit.objects.filter(key=key)
    hits.filter(at__lt=since).delete()
    recent = list(hits.filter(at__gte=since).order_by("at").values_list("at", flat=True)[:limit])
    if len(recent) >= limit:
        return max(1.0, (recent[0] - since).total_seconds())
    RateHit.objects.create(key=key, at=now)
    return None


# Actions --------------------------------------------------------------------------------------


def subscribe_push(req: PushRequest) -> tuple[Subscription, bool]:
    """Store (or refresh) a browser's push subscription, active at once. Returns (it, created).

    The same endpoint subscribing again updates its keys and preferences: only that browser
    knows its endpoint (an unguessable capability URL issued by its push service).
    """
    fields = {
        "medium": Medium.PUSH,
        "push_p256dh": req.p256dh,
        "push_auth": req.auth,
        "language": req.language,
        "topics": req.topics,
        "postcodes": req.postcodes,
        "state": SubscriptionState.ACTIVE,
    }
    for _attempt in range(2):
        try:
            with transaction.atomic():
                existing = (
                    Subscription.objects.select_for_update()
                    .filter(push_endpoint=req.endpoint)
                    .first()
                )
                now = timezone.now()
                if existing is None:
                    subscription = Subscription.objects.create(
                        push_endpoint=req.endpoint,
                        secret=secrets.token_hex(32),
                        created_at=now,
                        confirmed_at=now,
                        **fields,
                    )
                else:
                    subscription = existing
                    for name, value in fields.items():
                        setattr(subscription, name, value)
                    subscription.save(update_fields=[*fields])
                audit.record(
                    actor="public",
                    action="subscription.push.subscribe",
                    obj=subscription,
                    data={
                        "created": existing is None,
                        "language": req.language,
                        "topics": req.topics,
                        "postcodes": len(req.postcodes),
                    },
                )
                return subscription, existing is None
        except IntegrityError:  # the same browser twice at once: the other request won
            continue
    raise PushInputError(_("Please try again."))


def unsubscribe_push(endpoint: str) -> bool:
    """Delete the subscription of this endpoint (all its data); False if there was none."""
    with transaction.atomic():
        subscription = Subscription.objects.filter(
            medium=Medium.PUSH, push_endpoint=endpoint
        ).first()
        if subscription is None:
            return False
        audit.record(actor="public", action="subscription.push.unsubscribe", obj=subscription)
        subscription.delete()
    return True


def forget_gone_subscription(subscription: Subscription | None, *, status: int) -> bool:
    """The push service answered 404/410: the browser dropped this subscription. Delete it."""
    if subscription is None or subscription.pk is None:
        return False
    with transaction.atomic():
        deleted, _rows = Subscription.objects.filter(pk=subscription.pk).delete()
        if deleted:
            audit.record(
                actor="worker",
                action="subscription.push.gone",
                object_type="channels.subscription",
                object_id=str(subscription.pk),
                data={"status": status},
            )
    return bool(deleted)


__all__ = [
    "PushInputError",
    "channel_for",
    "ensure_vapid_keys",
    "forget_gone_subscription",
    "generate_vapid_keys",
    "parse_subscribe",
    "parse_unsubscribe",
    "private_key_from_text",
    "public_key_for",
    "public_key_text",
    "subscribe_push",
    "throttle",
    "unsubscribe_push",
]
