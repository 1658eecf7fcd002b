"""Notices (wanted / missing / unidentified person, witness appeal) and the magistrates'
authorisations behind them.

A notice's public text is a newsroom ``Message`` (kind "notice"): languages, images with their
alternative text, video, workflow, channels and retraction all come from the newsroom. What is
only the investigation's — the internal case reference, the magistrate's order — lives here and
is never rendered on a public page nor shown to communication staff.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Authorisation(models.Model):
    """A magistrate's order on record: which channels, until when."""

    magistrate = models.CharField(_("magistrate"), max_length=160)
    reference = models.CharField(_("reference of the order"), max_length=120)
    date = models.DateField(_("date of the order"))
    # Rendition keys (copps.newsroom.renditions.CHANNELS); the website is always among them.
    channels_allowed = models.JSONField(_("channels allowed"), default=list)
    valid_until = models.DateTimeField(_("valid until"), db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("authorisation")

    def __str__(self) -> str:
        return f"{self.magistrate} {self.reference}"

    def is_valid(self, now=None) -> bool:
        return self.valid_until > (now or timezone.now())


class NoticeKind(models.TextChoices):
    WANTED = "wanted", _("Wanted suspect")
    MISSING = "missing", _("Missing person")
    UNIDENTIFIED = "unidentified", _("Unidentified person")
    WITNESS = "witness", _("Witness appeal")


class NoticeState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RESOLVED = "resolved", _("Resolved")
    LAPSED = "lapsed", _("Authorisation lapsed")


class Resolution(models.TextChoices):
    FOUND = "found", _("Found")
    SOLVED = "solved", _("Solved")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# States in which the notice is (or may still become) public: the lapse job watches these.
OPEN_STATES = frozenset({NoticeState.DRAFT, NoticeState.ACTIVE})
CLOSED_STATES = frozenset({NoticeState.RESOLVED, NoticeState.LAPSED})


class Notice(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    message = models.OneToOneField(
        "newsroom.Message",
        verbose_name=_("public text"),
        on_delete=models.PROTECT,
        related_name="notice",
    )
    authorisation = models.ForeignKey(
        Authorisation,
        verbose_name=_("authorisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notices",
    )
    # Internal: never on a public page, a feed, a channel post, nor shown to communicators.
    case_reference = models.CharField(_("internal case reference"), max_length=120)
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=NoticeState.choices,
        default=NoticeState.DRAFT,
        db_index=True,
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notice")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_closed(self) -> bool:
        return self.state in CLOSED_STATES


class TipState(models.TextChoices):
    OPEN = "open", _("Open")
    STOPPED = "stopped", _("Stopped by the tipster")
    CLOSED = "closed", _("Closed")


class Tip(models.Model):
    """An anonymous tip: a conversation on the investigation desk, a code and a secret.

    The tipster comes back with ``code`` + the secret (only its hash is kept) to read questions
    and answer. Nothing identifies the tipster: no account, no IP address, no User-Agent; an SMS
    tip names only an alias (``inbox.SmsAlias``). ``created_at`` is rounded to the minute.
    """

    conversation = models.OneToOneField(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="tip"
    )
    code = models.CharField(_("tip code"), max_length=20, unique=True)
    secret_hash = models.CharField(max_length=200, blank=True)
    notice = models.ForeignKey(
        Notice,
        verbose_name=_("notice"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tips",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=TipState.choices, default=TipState.OPEN, db_index=True
    )
    created_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("tip")

    def __str__(self) -> str:
        return self.code
