"""One queue for everything citizens send: conversations, their entries, moderation.

A ``Conversation`` is a thread with one citizen on one channel (an anonymous tip, an SMS
exchange, a comment under a news article, a reply or mention on Mastodon/Bluesky/X/Facebook, a
fediverse reply, an e-mail to the contact address). Its ``desk`` says who may see it:
``investigation`` (tips and SMS: investigators only) or ``communication`` (everything public:
communication staff). Nothing crosses desks (ARCHITECTURE.md invariant 4).

``Entry`` rows are the messages in a conversation: in (from the citizen), out (our reply, sent
through the channel the citizen used and recorded with its outcome) and note (internal, never
sent). Moderation (hide / remove against a numbered house rule) is recorded on the entry and in
the append-only ``Decision`` log; the author can see the decision.

``SmsAlias`` is the only place that holds a phone number: encrypted, looked up by keyed hash,
deleted on a short schedule. Conversations name the alias, never the number.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Desk(models.TextChoices):
    COMMUNICATION = "communication", _("Communication")
    INVESTIGATION = "investigation", _("Investigation")


class Source(models.TextChoices):
    """The channel the citizen used (replies go back through it)."""

    TIP = "tip", _("Anonymous tip (web)")
    SMS = "sms", _("SMS")
    COMMENT = "comment", _("Comment on the website")
    MASTODON = "mastodon", _("Mastodon")
    BLUESKY = "bluesky", _("Bluesky")
    X = "x", _("X")
    FACEBOOK = "facebook", _("Facebook")
    FEDIVERSE = "fediverse", _("Fediverse")
    EMAIL = "email", _("E-mail")


# Sources whose conversations belong to the investigation desk.
INVESTIGATION_SOURCES = frozenset({Source.TIP, Source.SMS})


class State(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting for the citizen")
    CLOSED = "closed", _("Closed")


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


class Label(models.Model):
    name = models.CharField(_("name"), max_length=60)
    desk = models.CharField(_("desk"), max_length=20, choices=Desk.choices)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["desk", "name"], name="label_per_desk")]
        verbose_name = _("label")

    def __str__(self) -> str:
        return self.name


class HouseRule(models.Model):
    """One numbered rule of the published house rules; a moderation decision cites it.

    ``title``/``text`` are per language ({"nl": ..., "fr": ...}); a rule is never deleted once
    cited (PROTECT), only retired (``active`` off), so old decisions keep their reason.
    """

    number = models.PositiveSmallIntegerField(_("number"), unique=True)
    title = models.JSONField(_("title"), default=dict)
    text = models.JSONField(_("explanation"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("house rule")

    def __str__(self) -> str:
        return f"{self.number}. {self.title_in()}"

    def title_in(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        return _pick(self.title, language or get_language())

    def text_in(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        return _pick(self.text, language or get_language())


def _pick(values: dict, language: str | None) -> str:
    values = values or {}
    for code in (language or "", (language or "")[:2], settings.LANGUAGE_CODE, "nl", "fr", "en"):
        if values.get(code):
            return str(values[code])
    return next((str(v) for v in values.values() if v), "")


class SmsAlias(models.Model):
    """A phone number behind an alias (restricted: only ``copps.inbox.sms`` reads it).

    ``phone_hash`` is an HMAC of the E.164 number (lookup without storing it in clear);
    ``phone`` is the number encrypted with the secrets key (needed to send replies). Deleted
    ``COPPS_SMS_ALIAS_DAYS`` after the last message, which ends the possibility to reply.
    """

    alias = models.CharField(max_length=20, unique=True)
    phone_hash = models.CharField(max_length=64, unique=True)
    phone = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.alias


class Conversation(models.Model):
    source = models.CharField(_("channel"), max_length=20, choices=Source.choices, db_index=True)
    desk = models.CharField(_("desk"), max_length=20, choices=Desk.choices, db_index=True)
    # What the citizen reacts to (a news article, a notice), when known.
    message = models.ForeignKey(
        "newsroom.Message",
        verbose_name=_("about"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The channel account it came in on (Mastodon, Bluesky, …, the SMS gateway), when any.
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The thread on the outside (status id, post uri, Message-ID, alias): dedupe + reply target.
    external_id = models.CharField(max_length=500, blank=True)
    # How to reach the citizen again (per source: {"alias": "…"}, {"account": "…"}, {"email"}).
    route = models.JSONField(default=dict, blank=True)
    # Who wrote, as the channel shows it (a handle, a display name); empty for tips and SMS.
    author = models.CharField(_("author"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    state = models.CharField(
        _("status"), max_length=10, choices=State.choices, default=State.NEW, db_index=True
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL, db_index=True
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    labels = models.ManyToManyField(Label, verbose_name=_("labels"), blank=True)
    # Response-time target: set from the priority when the citizen writes and we owe an answer.
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True, db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_activity_at", "-pk"]
        verbose_name = _("conversation")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="one_conversation_per_thread",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk}"

    @property
    def overdue(self) -> bool:
        return bool(self.due_at and self.state != State.CLOSED and self.due_at < timezone.now())


class Direction(models.TextChoices):
    IN = "in", _("From the citizen")
    OUT = "out", _("Our reply")
    NOTE = "note", _("Internal note")


class Visibility(models.TextChoices):
    """Moderation state of a public entry (comments, channel replies)."""

    PENDING = "pending", _("Awaiting moderation")
    VISIBLE = "visible", _("Visible")
    HIDDEN = "hidden", _("Hidden")
    REMOVED = "removed", _("Removed")


class SendState(models.TextChoices):
    """Outcome of an outgoing reply (written before the outside call)."""

    NONE = "", _("Not sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown")


class Entry(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="entries")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    text = models.TextField(_("text"))
    # The entry's own id on the outside (dedupe of pulled replies; our reply's post id).
    external_id = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=500, blank=True)
    author = models.CharField(_("author"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Moderation (public entries only).
    visibility = models.CharField(
        _("moderation"), max_length=10, choices=Visibility.choices, default=Visibility.VISIBLE
    )
    rule = models.ForeignKey(
        HouseRule,
        verbose_name=_("house rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    # Outgoing replies.
    send_state = models.CharField(
        max_length=10, choices=SendState.choices, default=SendState.NONE, blank=True
    )
    send_error = models.CharField(max_length=500, blank=True)
    urgent = models.BooleanField(default=False)

    class Meta:
        # Insertion order is the conversation's order (a tipster's time is rounded to the minute).
        ordering = ["pk"]
        verbose_name = _("entry")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "external_id"],
                condition=~models.Q(external_id=""),
                name="one_entry_per_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} #{self.pk}"


def private_storage():
    """Files citizens send: under COPPS_PRIVATE_DIR (var/private), never served by URL."""
    from django.core.files.storage import FileSystemStorage

    return FileSystemStorage(location=settings.COPPS_PRIVATE_DIR, base_url=None)


def attachment_path(instance: Attachment, filename: str) -> str:
    # A random name: the citizen's file name is kept in the row, never in the path.
    import secrets

    return f"inbox/{timezone.now():%Y/%m}/{secrets.token_hex(16)}"


class Attachment(models.Model):
    """A file a citizen sent (photo, video). Stored outside MEDIA_ROOT (never public), hashed
    (SHA-256) on receipt; the EXIF metadata is kept for investigators."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=300)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    exif = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Decision(models.Model):
    """Append-only moderation log: who hid, removed, published or restored which entry, why."""

    class Action(models.TextChoices):
        PUBLISH = "publish", _("Published")
        HIDE = "hide", _("Hidden")
        REMOVE = "remove", _("Removed")
        RESTORE = "restore", _("Restored")

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="decisions")
    action = models.CharField(max_length=10, choices=Action.choices)
    rule = models.ForeignKey(HouseRule, null=True, blank=True, on_delete=models.PROTECT)
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} #{self.entry_id}"


class Alert(models.Model):
    """Something the on-duty operator must see now (an urgent SMS or tip)."""

    desk = models.CharField(max_length=20, choices=Desk.choices)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="alerts")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.reason


class Duty(models.Model):
    """Who is on duty for a desk right now (receives the console alerts first)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_duty"
    )
    desk = models.CharField(max_length=20, choices=Desk.choices)
    since = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id} on {self.desk}"


class PullCursor(models.Model):
    """Where pulling replies and mentions from one channel account stopped (``pull.py``).

    ``cursor`` is the service's own marker (a Mastodon notification id, a Bluesky indexedAt
    time, the last fediverse item); ``last_error`` tells the console why the last pull failed
    (the cursor is kept, so nothing is skipped once the service answers again). The fediverse
    has no channel row of its own here: its cursor is the row with ``name`` "fediverse".
    """

    channel = models.OneToOneField(
        "channels.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=40, blank=True)
    cursor = models.CharField(max_length=200, blank=True)
    pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=~models.Q(name=""), name="one_named_pull_cursor"
            )
        ]

    def __str__(self) -> str:
        return self.name or f"channel {self.channel_id}"
