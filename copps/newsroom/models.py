import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .workflow import PUBLIC_STATES, State

CONTENT_LANGUAGES = [code for code, _name in settings.LANGUAGES]


# Stands in for the id in links of text not saved yet (five digits: as long as most real ones).
UNSAVED_ID = "00000"


def news_path(pk, language: str, title: str) -> str:
    """The public path of a message's version: ``/<lang>/news/<id>-<slug of its title>/``.

    The one rule for permalinks, used for saved messages and for text still in the editor (so
    the live check measures the same link the renditions will carry).
    """
    return f"/{language}/news/{pk}-{slugify(title)[:60] or 'message'}/"


def short_path(pk) -> str:
    return reverse("short", args=[pk])


class Kind(models.TextChoices):
    NEWS = "news", _("News / press release")
    TRAFFIC = "traffic", _("Traffic information")
    PREVENTION = "prevention", _("Prevention")
    RECRUITMENT = "recruitment", _("Recruitment")
    NEIGHBOURHOOD = "neighbourhood", _("Neighbourhood")
    CRISIS = "crisis", _("Crisis")
    # Sent through copps.crowd's fast track during an event (crowd levels, closed streets).
    PUBLIC_ORDER = "public_order", _("Public order and events")
    CORRECTION = "correction", _("Correction")
    # Written through copps.investigations: submitting one needs a magistrate's authorisation.
    NOTICE = "notice", _("Wanted or missing person notice")


class Audience(models.Model):
    """A target group (the C of COPPS: Citizens)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("audience")

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NEWS)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.DRAFT, db_index=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="messages",
    )
    area = models.ForeignKey(
        "accounts.Area", verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT
    )
    audiences = models.ManyToManyField(Audience, verbose_name=_("audiences"), blank=True)
    # Channel keys this message is meant for (see renditions.CHANNELS); web and feeds always.
    channels = models.JSONField(_("channels"), default=list, blank=True)
    # A personal post speaks as a named officer: the signature must say who (transparency).
    is_personal = models.BooleanField(_("personal post"), default=False)
    signature = models.CharField(_("signature"), max_length=160, blank=True)
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, db_index=True)
    corrected_at = models.DateTimeField(_("corrected at"), null=True, blank=True)
    correction_note = models.TextField(_("correction note"), blank=True)
    retracted_at = models.DateTimeField(_("retracted at"), null=True, blank=True)
    retraction_note = models.TextField(_("retraction note"), blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    override_reason = models.TextField(_("guideline override"), blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # An optional video (MP4 or WebM, checked by newsroom.videos) with a text that describes it
    # for people who cannot see or hear it; YouTube channels upload it.
    video = models.FileField(_("video"), upload_to="videos/", max_length=200, blank=True)
    video_caption = models.TextField(_("video description"), blank=True)
    # Everyone who wrote part of the text: none of them may approve it (four eyes).
    contributor_ids = models.JSONField(default=list, blank=True)
    # Optimistic concurrency: every state change bumps it (workflow.apply).
    version = models.PositiveIntegerField(default=1)
    # A client-chosen key that makes creating a message idempotent (double submits).
    # NULL, not "": the unique constraint must not treat all messages without a key as equal.
    client_key = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("message")
        constraints = [
            models.UniqueConstraint(fields=["author", "client_key"], name="message_client_key")
        ]
        indexes = [models.Index(fields=["state", "published_at"])]

    def __str__(self) -> str:
        version = self.display_version()
        return version.title if version else f"#{self.pk}"

    # Language versions -------------------------------------------------------------------
    def versions_list(self) -> list["MessageVersion"]:
        cache = getattr(self, "_prefetched_objects_cache", {})
        if "versions" in cache:
            return sorted(cache["versions"], key=lambda v: CONTENT_LANGUAGES.index(v.language))
        return sorted(self.versions.all(), key=lambda v: CONTENT_LANGUAGES.index(v.language))

    def primary_version(self) -> "MessageVersion | None":
        versions = self.versions_list()
        return versions[0] if versions else None

    def display_version(self) -> "MessageVersion | None":
        """The version in the active interface language when there is one, else the first."""
        from django.utils.translation import get_language

        return self.version_for(get_language() or settings.LANGUAGE_CODE)

    def version_for(self, language: str) -> "MessageVersion | None":
        versions = self.versions_list()
        for v in versions:
            if v.language == language:
                return v
        return versions[0] if versions else None

    @property
    def languages(self) -> list[str]:
        return [v.language for v in self.versions_list()]

    @property
    def is_public(self) -> bool:
        return self.state in PUBLIC_STATES

    def permalink_path(self, language: str | None = None) -> str:
        version = self.version_for(language) if language else self.primary_version()
        if version is None:
            return news_path(self.pk, settings.LANGUAGE_CODE, "")
        return news_path(self.pk, version.language, version.title)

    def permalink(self, language: str | None = None) -> str:
        return settings.SITE_URL + self.permalink_path(language)

    def short_link(self) -> str:
        return settings.SITE_URL + short_path(self.pk)


class MessageVersion(models.Model):
    """The message in one language."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    teaser = models.CharField(_("teaser"), max_length=400, blank=True)
    body = models.TextField(_("body (Markdown)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "language"], name="one_version_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.language}]"

    @property
    def body_html(self) -> str:
        from .markup import render_markdown

        return render_markdown(self.body)

    @property
    def body_text(self) -> str:
        from .markup import markdown_to_text

        return markdown_to_text(self.body)


def image_path(instance, filename: str) -> str:
    return f"messages/{uuid.uuid4().hex}.{filename.rsplit('.', 1)[-1].lower()}"


class MessageImage(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="images")
    file = models.ImageField(
        _("image"), upload_to=image_path, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    alt_text = models.CharField(_("alternative text"), max_length=300)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.alt_text


class Revision(models.Model):
    """What was public at a point in time: written at publication and at every correction."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="revision_number")
        ]

    def __str__(self) -> str:
        return f"#{self.message_id} r{self.number}"


class CorrectionState(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Replaced by a newer proposal")


class Correction(models.Model):
    """A proposed change to a published message; public only once another person approves it.

    ``versions`` holds only the languages that change, as ``{lang: {title, teaser, body}}``
    (complete texts, not patches). At most one correction per message is pending: a new
    proposal supersedes the pending one (``actions.propose_correction``).
    """

    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="corrections"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    note = models.TextField(_("correction note"))
    versions = models.JSONField(_("corrected text"), default=dict)
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=CorrectionState.choices,
        default=CorrectionState.PENDING,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    override_reason = models.TextField(_("guideline override"), blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        verbose_name = _("correction")
        constraints = [
            # The database, not only the action, guarantees a single pending proposal.
            models.UniqueConstraint(
                fields=["message"],
                condition=models.Q(state="pending"),
                name="one_pending_correction",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.message_id} correction {self.pk} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state == CorrectionState.PENDING

    @property
    def languages(self) -> list[str]:
        order = {code: i for i, code in enumerate(CONTENT_LANGUAGES)}
        return sorted(self.versions, key=lambda code: order.get(code, len(order)))

    def changes(self) -> list[dict]:
        """Per changed language: each field's old (published) and new text and a word diff.

        ``[{"language", "new_language", "fields": [{"name", "old", "new", "changed",
        "diff": [(op, text), ...]}]}]`` where op is "equal", "delete" or "insert".
        """
        from .textdiff import word_diff

        current = {v.language: v for v in self.message.versions_list()}
        result = []
        for language in self.languages:
            proposed = self.versions[language]
            before = current.get(language)
            fields = []
            for name in ("title", "teaser", "body"):
                old = getattr(before, name, "") if before else ""
                new = proposed.get(name, "")
                fields.append(
                    {
                        "name": name,
                        "old": old,
                        "new": new,
                        "changed": old != new,
                        "diff": word_diff(old, new),
                    }
                )
            result.append({"language": language, "new_language": before is None, "fields": fields})
        return result


class WordList(models.Model):
    """Editable terms that must not appear in what the force publishes (one per line)."""

    class Category(models.TextChoices):
        OFFENSIVE = "offensive", _("Offensive")
        DISCRIMINATORY = "discriminatory", _("Discriminatory")

    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    terms = models.TextField(
        _("terms"),
        help_text=_(
            "One term per line. Matching ignores case and accents and finds whole words only; "
            "end a term with * to match every word that starts with it."
        ),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["language", "category"], name="one_list_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} [{self.language}]"

    def term_list(self) -> list[str]:
        """The terms, lower-cased; matching rules are in ``guidelines/words.py``."""
        return [t.strip().lower() for t in self.terms.splitlines() if t.strip()]
