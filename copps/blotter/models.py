"""The police blotter: incidents from dispatch (internal) and their redacted public entries.

``Incident`` is the record as the dispatch/records system sent it (personal data included): it
never leaves the force. ``PolicyVersion`` is the publication policy (which categories, after which
delay, how locations and times are generalised, how summaries are shown); versions are append-only
and every change is audited. ``Entry`` is what the public sees: category, rounded time,
generalised place, redacted summary — produced by ``copps.blotter.publish`` from an incident and
the policy in force, or held for review when the redactor is unsure.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Decision(models.TextChoices):
    """Where an incident stands against the policy (recomputed on import and policy change)."""

    WAITING = "waiting", _("Waiting for its publication delay")
    HELD = "held", _("Held back: category not public")
    UNKNOWN = "unknown", _("Held back: unknown category")
    EXCLUDED = "excluded", _("Never published (sensitive)")
    WITHDRAWN = "withdrawn", _("Withdrawn by the source")
    PUBLISHED = "published", _("Published")
    REVIEW = "review", _("Waiting for a person (redaction unsure)")
    REJECTED = "rejected", _("Rejected")  # by a reviewer (publish.reject_review)


class Incident(models.Model):
    incident_id = models.CharField(_("incident id"), max_length=100, unique=True)
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    category_code = models.CharField(_("category code"), max_length=60, db_index=True)
    category = models.CharField(_("category"), max_length=200, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    house_number = models.CharField(_("house number"), max_length=20, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    municipality = models.CharField(_("municipality"), max_length=120, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=40, blank=True)
    unit = models.CharField(_("unit"), max_length=60, blank=True)
    # SHA-256 of the normalised row: re-importing the same data changes nothing.
    content_hash = models.CharField(max_length=64)
    decision = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.WAITING, db_index=True
    )
    publish_after = models.DateTimeField(null=True, blank=True, db_index=True)
    imported_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reported_at", "-pk"]
        verbose_name = _("incident")

    def __str__(self) -> str:
        return self.incident_id


class PolicyVersion(models.Model):
    """One version of the publication policy. The newest is in force; old ones stay (audit).

    ``categories``: {code: {"public": bool, "delay_hours": number, "labels": {lang: text}}}.
    A code not listed is unknown and held back; codes in ``SENSITIVE_CODES`` are never published
    unless a version explicitly lists them as public (the console warns).
    """

    class Location(models.TextChoices):
        STREET = "street", _("Street name without house number, municipality's centre on the map")
        MUNICIPALITY = "municipality", _("Municipality only")

    class Summary(models.TextChoices):
        REDACTED = "redacted", _("Redacted summary")
        LABEL = "label", _("Category label only")

    number = models.PositiveIntegerField(unique=True)
    categories = models.JSONField(default=dict)
    location = models.CharField(
        max_length=20, choices=Location.choices, default=Location.MUNICIPALITY
    )
    time_rounding_minutes = models.PositiveIntegerField(default=60)
    summary = models.CharField(max_length=10, choices=Summary.choices, default=Summary.REDACTED)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("publication policy")

    def __str__(self) -> str:
        return f"policy v{self.number}"


class EntryState(models.TextChoices):
    REVIEW = "review", _("Waiting for review")
    PUBLISHED = "published", _("Published")


class Entry(models.Model):
    """The public form of an incident. Nothing here may identify a person."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="entry")
    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=EntryState.choices, db_index=True)
    category_code = models.CharField(max_length=60, db_index=True)
    labels = models.JSONField(default=dict)  # the category's public label per language
    occurred_at = models.DateTimeField(db_index=True)  # rounded
    summary = models.TextField(blank=True)  # redacted, or empty (label only)
    street = models.CharField(max_length=200, blank=True)
    municipality = models.CharField(max_length=120, blank=True, db_index=True)
    nis = models.CharField(max_length=10, blank=True)
    lat = models.FloatField(null=True, blank=True)  # the municipality's centre, never the place
    lon = models.FloatField(null=True, blank=True)
    review_reason = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("blotter entry")

    def __str__(self) -> str:
        return f"{self.category_code} {self.municipality}"

    def label(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        lang = (language or get_language() or "nl")[:2]
        return str(
            self.labels.get(lang)
            or self.labels.get("en")
            or self.labels.get("nl")
            or self.category_code
        )
