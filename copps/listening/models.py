"""Listening: public posts from sources, matched against watches, each under a purpose.

A ``Purpose`` says why the force listens and on what basis: communication (reputation, public
mood, rumours, an event) or investigation (only with a case reference, a legal basis, an
authorising officer and an end date). It sets how long results are kept and who may see them.
A ``Watch`` (a boolean query) belongs to one purpose. A ``Source`` (an RSS feed, a Mastodon
timeline, Bluesky's Jetstream, …) keeps its own cursor, stored in the same transaction as the
posts it produced, so a restart resumes without loss or duplicates. A ``Post`` is kept only while
a match of some purpose needs it; ``Match`` links a post to a watch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PurposeKind(models.TextChoices):
    REPUTATION = "reputation", _("Communication: reputation")
    MOOD = "mood", _("Communication: public mood")
    RUMOURS = "rumours", _("Communication: rumours")
    EVENT = "event", _("Communication: an event")
    INVESTIGATION = "investigation", _("Investigation")


class Purpose(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=PurposeKind.choices)
    description = models.TextField(_("description"), blank=True)
    # Investigation only (required there): the case, the legal basis, who authorised, until when.
    case_reference = models.CharField(_("case reference"), max_length=120, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    authorised_by = models.CharField(_("authorising officer"), max_length=160, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    retention_days = models.PositiveIntegerField(_("keep results (days)"), default=30)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Changes here change what the matcher must do (copps.listening.matcher.version).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("purpose")

    def __str__(self) -> str:
        return self.name

    @property
    def is_investigation(self) -> bool:
        return self.kind == PurposeKind.INVESTIGATION


class SourceKind(models.TextChoices):
    RSS = "rss", _("RSS/Atom feed")
    MASTODON = "mastodon", _("Mastodon timeline")
    BLUESKY = "bluesky", _("Bluesky Jetstream")
    TELEGRAM = "telegram", _("Telegram public channel")
    OWN = "own", _("Mentions and replies of our channels")
    WEBHOOK = "webhook", _("Webhook")
    IMPORT = "import", _("File import")


class Source(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    name = models.CharField(_("name"), max_length=120)
    config = models.JSONField(default=dict, blank=True)
    # Where to resume (a feed's last entry ids, a timeline's since-id, Jetstream's time_us …).
    cursor = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # "Poll now" from the console: the worker's next ``poll_due`` polls it whatever its interval.
    poll_requested_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    received = models.PositiveBigIntegerField(default=0)
    skipped = models.PositiveBigIntegerField(default=0)  # malformed, oversized, invalid
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("source")

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    # No index of its own: the unique (source, external_id) constraint's index starts with it.
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="posts", db_index=False
    )
    external_id = models.CharField(max_length=500)
    url = models.URLField(max_length=500, blank=True)
    author = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    language = models.CharField(max_length=8, blank=True, db_index=True)
    sentiment = models.CharField(max_length=10, blank=True)  # negative | neutral | positive
    emotion = models.CharField(max_length=20, blank=True)
    places = models.JSONField(default=list, blank=True)  # NIS codes of municipalities named
    # Same text (normalised) seen before: a repost; counted, not analysed twice.
    fingerprint = models.CharField(max_length=64, db_index=True)
    repost_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reposts"
    )
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="one_post_per_source_id")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id}"


class Watch(models.Model):
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="watches")
    name = models.CharField(_("name"), max_length=120)
    query = models.TextField(_("query"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("watch")

    def __str__(self) -> str:
        return self.name


class Match(models.Model):
    # No index of its own: the unique (watch, post) constraint's index starts with it (one index
    # less to maintain for each of the many match rows).
    watch = models.ForeignKey(
        Watch, on_delete=models.CASCADE, related_name="matches", db_index=False
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="matches")
    matched_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-matched_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["watch", "post"], name="one_match_per_watch_post")
        ]

    def __str__(self) -> str:
        return f"{self.watch_id}:{self.post_id}"


class AlertKind(models.TextChoices):
    BURST = "burst", _("Burst")
    TERM = "term", _("Emerging term")


class ListeningAlert(models.Model):
    """A burst in a watch's volume, or an emerging term, with the posts that caused it."""

    watch = models.ForeignKey(Watch, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    # burst: {"count", "mean", "threshold", "posts": [ids]}; term: {"term", "count", "posts"}.
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.watch_id}:{self.kind}"


class WatchState(models.Model):
    """The last evaluation of a watch for alerts: when, and what was already alerted."""

    watch = models.OneToOneField(Watch, on_delete=models.CASCADE, related_name="state")
    evaluated_at = models.DateTimeField(null=True, blank=True)
    bursting = models.BooleanField(default=False)  # a burst alert was raised and still holds
    terms = models.JSONField(default=list, blank=True)  # emerging terms already alerted

    def __str__(self) -> str:
        return f"{self.watch_id}: {self.evaluated_at}"
