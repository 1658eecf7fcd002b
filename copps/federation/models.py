"""copps' own ActivityPub presence: its actors, who follows them, the remote servers and actors
it talks to, and what comes in (replies, reactions, reports) until a person looks at it.

Outgoing posts are channel deliveries (``copps.channels``): each actor has a Channel of kind
``activitypub`` whose fan-out copies (Recipient rows) go to follower inboxes. The few activities
that are not posts (Accept, Reject, Follow, Undo, profile updates) go through ``Outgoing``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    FORCE = "force", _("The force")
    AREA = "area", _("Area or unit")
    OFFICER = "officer", _("Neighbourhood officer")


class Actor(models.Model):
    """One of the force's own fediverse accounts (``@username@host``)."""

    username = models.SlugField(
        _("user name"),
        max_length=30,
        unique=True,
        help_text=_("Lower-case letters, digits and underscores; part of the address @name@host."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ActorKind.choices)
    name = models.CharField(_("display name"), max_length=100)
    summary = models.TextField(_("profile text"), max_length=500, blank=True)
    area = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    avatar = models.ImageField(_("avatar"), upload_to="fediverse/", blank=True)
    header = models.ImageField(_("header image"), upload_to="fediverse/", blank=True)
    # Profile links [{"name": ..., "url": ...}]; shown with rel="me" so servers can verify them.
    links = models.JSONField(_("links"), default=list, blank=True)
    manually_approves_followers = models.BooleanField(_("approve followers by hand"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    private_key_encrypted = models.TextField(blank=True)
    public_key_pem = models.TextField(blank=True)
    channel = models.OneToOneField(
        "channels.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="actor"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("fediverse account")

    def __str__(self) -> str:
        return f"@{self.username}"


class RemoteActor(models.Model):
    """An account on another server, as last fetched (its key verifies its requests)."""

    uri = models.URLField(max_length=500, unique=True)
    domain = models.CharField(max_length=255, db_index=True)
    inbox = models.URLField(max_length=500, blank=True)
    shared_inbox = models.URLField(max_length=500, blank=True)
    key_id = models.URLField(max_length=500, blank=True, db_index=True)
    public_key_pem = models.TextField(blank=True)
    username = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    kind = models.CharField(max_length=30, blank=True)  # Person, Service, Application ...
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.handle

    @property
    def handle(self) -> str:
        return f"@{self.username}@{self.domain}" if self.username else self.uri


class FollowState(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    ACCEPTED = "accepted", _("Following")


class Follower(models.Model):
    """A remote account following one of our actors."""

    actor = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="followers")
    remote = models.ForeignKey(RemoteActor, on_delete=models.CASCADE, related_name="follows")
    state = models.CharField(max_length=10, choices=FollowState.choices)
    # The Follow's id: the Accept/Reject refers to it, and an Undo names it.
    activity_id = models.URLField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["actor", "remote"], name="one_follow_per_pair")
        ]
        indexes = [models.Index(fields=["actor", "state"])]

    def __str__(self) -> str:
        return f"{self.remote} -> {self.actor}"


class Following(models.Model):
    """One of our actors following a remote account (a neighbouring force's news account)."""

    actor = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="following")
    remote = models.ForeignKey(RemoteActor, on_delete=models.CASCADE, related_name="followed_by")
    state = models.CharField(max_length=10, choices=FollowState.choices)
    activity_id = models.URLField(max_length=500, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["actor", "remote"], name="one_following_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.actor} -> {self.remote}"


class Server(models.Model):
    """Another server copps delivers to: its health, so one dead server pauses alone."""

    domain = models.CharField(max_length=255, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class BlockSeverity(models.TextChoices):
    SUSPEND = "suspend", _("Suspend: no contact at all")
    REJECT_REPLIES = "silence", _("Ignore their replies and mentions")


class DomainBlock(models.Model):
    """An instance-level block, as government servers publish them."""

    domain = models.CharField(_("domain"), max_length=255, unique=True)
    severity = models.CharField(
        _("severity"), max_length=10, choices=BlockSeverity.choices, default=BlockSeverity.SUSPEND
    )
    public_comment = models.CharField(_("public reason"), max_length=300, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]
        verbose_name = _("blocked server")

    def __str__(self) -> str:
        return self.domain


class ItemKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    MENTION = "mention", _("Mention")
    POST = "post", _("Post by a followed account")


class ItemState(models.TextChoices):
    NEW = "new", _("To moderate")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class InboxItem(models.Model):
    """A reply, mention or followed account's post, held for moderation (the holding table until
    the citizen inbox exists). Only the sanitised text and what moderation needs is kept."""

    object_id = models.URLField(max_length=500, unique=True)
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    actor = models.ForeignKey(Actor, null=True, on_delete=models.SET_NULL, related_name="items")
    remote = models.ForeignKey(RemoteActor, on_delete=models.CASCADE, related_name="items")
    message = models.ForeignKey(
        "newsroom.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    content_html = models.TextField(blank=True)
    summary = models.CharField(max_length=500, blank=True)  # content warning
    language = models.CharField(max_length=10, blank=True)
    url = models.URLField(max_length=500, blank=True)
    published = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.NEW)
    moderated_by = models.CharField(max_length=150, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderation_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return self.object_id


class ReactionKind(models.TextChoices):
    LIKE = "like", _("Favourite")
    ANNOUNCE = "announce", _("Boost")


class Reaction(models.Model):
    """A favourite or boost of one of our posts, counted for analytics. Who reacted is kept only
    as a hash (enough to honour an Undo), never as an account."""

    activity_id = models.URLField(max_length=500, unique=True)
    kind = models.CharField(max_length=10, choices=ReactionKind.choices)
    message = models.ForeignKey(
        "newsroom.Message", on_delete=models.CASCADE, related_name="fediverse_reactions"
    )
    actor = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="reactions")
    remote_hash = models.CharField(max_length=64, db_index=True)
    domain = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "message", "remote_hash"], name="one_reaction_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.message_id}"


class ReportState(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class Report(models.Model):
    """A Flag: another server's moderators report one of our posts or accounts."""

    activity_id = models.URLField(max_length=500, unique=True)
    remote = models.ForeignKey(RemoteActor, on_delete=models.CASCADE, related_name="reports")
    actor = models.ForeignKey(Actor, null=True, on_delete=models.SET_NULL, related_name="reports")
    content = models.TextField(blank=True)
    objects_reported = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=ReportState.choices, default=ReportState.OPEN)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.activity_id


class SeenActivity(models.Model):
    """Ids of activities already processed: a redelivery is answered without acting twice.
    Kept for ``COPPS_AP_SEEN_DAYS`` (a retention job deletes older rows)."""

    activity_id = models.CharField(max_length=500, unique=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.activity_id


class Rejection(models.Model):
    """How many inbox requests were refused, per day and reason (no request content is kept)."""

    day = models.DateField()
    reason = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "reason"]
        constraints = [models.UniqueConstraint(fields=["day", "reason"], name="one_count_a_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.reason}: {self.count}"


class OutgoingState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Outgoing(models.Model):
    """An activity that is not a post (Accept, Reject, Follow, Undo, a profile Update) on its way
    to one inbox. Receivers deduplicate by activity id, so a retry after a lost answer is safe."""

    actor = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="outgoing")
    inbox = models.URLField(max_length=500)
    activity_id = models.URLField(max_length=500)
    activity = models.JSONField()
    state = models.CharField(
        max_length=10, choices=OutgoingState.choices, default=OutgoingState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["activity_id", "inbox"], name="one_send_per_inbox")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["created_at"], condition=Q(state="sent"), name="sent_outgoing"),
        ]

    def __str__(self) -> str:
        return f"{self.activity.get('type', '?')} -> {self.inbox}"
