"""Channels (accounts the force publishes to), Deliveries (one rendition to one channel, with its
state), their append-only history, per-subscriber recipients, and citizens' subscriptions.

States and transitions of a Delivery are declared in ``states.py``; only ``deliveries.py``
changes them.
"""

import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import crypto
from .states import DeliveryState, Operation


class Kind(models.TextChoices):
    MASTODON = "mastodon", "Mastodon"
    BLUESKY = "bluesky", "Bluesky"
    X = "x", "X"
    FACEBOOK = "facebook", _("Facebook Page")
    INSTAGRAM = "instagram", "Instagram"
    LINKEDIN = "linkedin", _("LinkedIn Page")
    TELEGRAM = "telegram", _("Telegram channel")
    YOUTUBE = "youtube", "YouTube"
    EMAIL = "email", _("E-mail newsletter")
    SMS_KANNEL = "sms_kannel", _("SMS (Kannel)")
    SMS_HTTP = "sms_http", _("SMS (HTTP gateway)")
    WEBPUSH = "webpush", _("Web push")
    WEBHOOK = "webhook", _("Signed webhook")
    ACTIVITYPUB = "activitypub", _("Fediverse (this website's own account)")


class ChannelStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused after repeated failures")
    DISABLED = "disabled", _("Disabled")


class Channel(models.Model):
    """One account or outlet the force publishes to."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    # Empty: the channel serves every audience.
    audiences = models.ManyToManyField(
        "newsroom.Audience", verbose_name=_("audiences"), blank=True, related_name="+"
    )
    # Settings that are not secret (instance URL, page id, sender address ...), per kind.
    config = models.JSONField(_("settings"), default=dict, blank=True)
    # Credentials (tokens, passwords, keys) as one Fernet token; see crypto.py.
    secrets_encrypted = models.TextField(blank=True, default="")
    # A sandbox account talks to copps' built-in imitation of the service, never the real one.
    sandbox = models.BooleanField(_("sandbox"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ChannelStatus.choices, default=ChannelStatus.ACTIVE
    )
    status_reason = models.TextField(_("status reason"), blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)
    # Rate limit: the earliest moment the next call may be made.
    next_slot_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    test_result = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("channel")

    def __str__(self) -> str:
        return self.name

    def get_secrets(self) -> dict:
        if not self.secrets_encrypted:
            return {}
        return json.loads(crypto.decrypt(self.secrets_encrypted))

    def set_secrets(self, values: dict) -> None:
        self.secrets_encrypted = crypto.encrypt(json.dumps(values)) if values else ""

    @property
    def adapter(self):
        from .registry import adapter_for

        return adapter_for(self)

    @property
    def usable(self) -> bool:
        return self.enabled and self.status != ChannelStatus.DISABLED


class Delivery(models.Model):
    """One rendition of one message version to one channel (or one operation on that post)."""

    message = models.ForeignKey(
        "newsroom.Message", on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    language = models.CharField(max_length=5)
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.POST)
    # For update/delete: the delivery that created the post being changed.
    target = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="followups"
    )
    # Deterministic and unique: planning twice creates nothing new; the channel's idempotency
    # key (Mastodon Idempotency-Key, Bluesky record key, SMS client reference) derives from it.
    key = models.CharField(max_length=120, unique=True)
    # What goes out, frozen when planned: {"text", "title", "link", "summary", "body_html", ...}.
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10,
        choices=DeliveryState.choices,
        default=DeliveryState.PENDING,
        db_index=True,
    )
    permanent = models.BooleanField(default=False)  # a failure that will not be retried
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    # The worker that claimed it (its heartbeat tells the sweeper whether it is still alive).
    claimed_by = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    # Subscriber channels (e-mail, SMS, push): how the per-recipient copies went.
    recipients_total = models.PositiveIntegerField(default=0)
    # Higher goes first: crisis messages (1) overtake everything else in the worker's queues.
    priority = models.SmallIntegerField(default=0)
    recipients_sent = models.PositiveIntegerField(default=0)
    recipients_failed = models.PositiveIntegerField(default=0)
    recipients_unknown = models.PositiveIntegerField(default=0)
    resolved_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.operation} #{self.message_id} -> {self.channel_id}"


class DeliveryEvent(models.Model):
    """Append-only history of a delivery: every state change and every attempt."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10)
    attempt = models.PositiveIntegerField(default=0)
    actor = models.CharField(max_length=150, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.from_state} -> {self.to_state}"


class Medium(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Web push")


class SubscriptionState(models.TextChoices):
    PENDING = "pending", _("Waiting for confirmation")
    ACTIVE = "active", _("Active")


class Subscription(models.Model):
    """A citizen's opt-in, without an account. Deleted (not flagged) on unsubscribe."""

    medium = models.CharField(max_length=5, choices=Medium.choices)
    # An e-mail address or an E.164 phone number; empty for web push.
    address = models.CharField(max_length=254, blank=True)
    # Web push: the browser's PushSubscription (endpoint and keys).
    push_endpoint = models.URLField(max_length=1000, blank=True)
    push_p256dh = models.CharField(max_length=200, blank=True)
    push_auth = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=5, choices=settings.LANGUAGES)
    # Message kinds (newsroom.Kind values); empty: all.
    topics = models.JSONField(default=list, blank=True)
    # Belgian postcodes; empty: the whole force area.
    postcodes = models.JSONField(default=list, blank=True)
    state = models.CharField(
        max_length=10, choices=SubscriptionState.choices, default=SubscriptionState.PENDING
    )
    # sha256 of the confirmation token (e-mail link) or code (SMS); cleared once confirmed.
    confirm_hash = models.CharField(max_length=64, blank=True)
    confirm_expires_at = models.DateTimeField(null=True, blank=True)
    confirm_attempts = models.PositiveIntegerField(default=0)
    # Random per subscription: unsubscribe links are HMACs over it, so they cannot be forged
    # and die with the subscription.
    secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["medium", "address"],
                condition=~Q(address=""),
                name="one_subscription_per_address",
            ),
            models.UniqueConstraint(
                fields=["push_endpoint"],
                condition=~Q(push_endpoint=""),
                name="one_subscription_per_push_endpoint",
            ),
        ]
        indexes = [models.Index(fields=["medium", "state", "language"])]

    def __str__(self) -> str:
        return f"subscription {self.pk} ({self.medium})"


class StaffPushSubscription(models.Model):
    """A staff member's browser that receives console alerts by web push (``staff_push.py``).

    The minimum: whose it is, the endpoint and the two keys the payload is encrypted with.
    Deleted when the member stops it, when the push service says the browser dropped it
    (404/410), and when the account is deactivated.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"staff push subscription {self.pk} (user {self.user_id})"


class Recipient(models.Model):
    """One copy of a fan-out delivery: to one subscriber (e-mail, SMS, push) or to one fediverse
    inbox (a follower's, or a server's shared inbox that serves all its followers at once)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="recipients")
    # SET_NULL: a subscriber who leaves takes their address with them; an unsent copy is cancelled.
    subscription = models.ForeignKey(
        Subscription, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Fediverse: the inbox URL this copy is posted to (empty for subscribers).
    inbox = models.URLField(max_length=500, blank=True, default="")
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    external_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Delivery report from the network (SMS): delivered / failed / buffered ...
    report = models.CharField(max_length=20, blank=True)
    # A copy that failed in a way worth retrying waits until then (backoff, Retry-After).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # "<worker id>|<one-off token>" of the batch that claimed it (which worker got which copies).
    claim = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "subscription"], name="one_copy_each"),
            models.UniqueConstraint(
                fields=["delivery", "inbox"],
                condition=~Q(inbox=""),
                name="one_copy_per_inbox",
            ),
        ]
        indexes = [models.Index(fields=["delivery", "state"])]

    def __str__(self) -> str:
        return f"recipient {self.pk} of delivery {self.delivery_id} ({self.state})"


class RateHit(models.Model):
    """Short-lived throttling keys (sha256 of source + purpose); no address is stored."""

    key = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key


class SandboxPost(models.Model):
    """What a sandbox account received: the demo's stand-in for the real service."""

    service = models.CharField(max_length=20, db_index=True)
    account = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, blank=True, db_index=True)
    text = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["service", "external_id"])]
        constraints = [
            # Receivers that deduplicate by key do it atomically, as the real ones do.
            models.UniqueConstraint(
                fields=["service", "idempotency_key"],
                condition=Q(service__in=["webhook", "sms"]) & ~Q(idempotency_key=""),
                name="sandbox_dedupe_by_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.external_id}"


class Alert(models.Model):
    """Something an administrator must look at (a paused or disabled channel)."""

    channel = models.ForeignKey(Channel, null=True, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.text[:80]
