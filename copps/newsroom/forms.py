"""Console forms for messages: the editor (settings + one text form per language) and the
small forms behind each workflow button.

Forms only parse and validate input; writing goes through ``copps.newsroom.actions``. Every
field answers bad input with a field error (never an exception), and ``apply_errors`` maps the
``ValidationError`` an action raises back onto the field it concerns.
"""

import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from copps.accounts.models import Area
from copps.accounts.roles import Role

from . import guidelines, renditions
from .actions import VersionInput
from .models import CONTENT_LANGUAGES, Audience, CorrectionState, Kind, Message, WordList

LANGUAGE_NAMES = dict(settings.LANGUAGES)


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's own date-time picker; the value is local time (settings.TIME_ZONE)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class ConsoleForm(forms.Form):
    """Labels without a trailing colon (the console's style)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def datetime_field(label, *, required=False, help_text=""):
    return forms.DateTimeField(
        label=label, required=required, widget=DateTimeLocalInput(), help_text=help_text
    )


class VersionForm(ConsoleForm):
    """One language version. All blank means "no version in this language"."""

    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    teaser = forms.CharField(
        label=_("Teaser"),
        max_length=400,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional. Short channels (X, Bluesky, SMS) carry this instead of the text."),
    )
    body = forms.CharField(
        label=_("Text (Markdown)"),
        max_length=settings.COPPS_MAX_BODY_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
    )

    def __init__(self, *args, language: str, **kwargs):
        self.language = language
        self.language_name = LANGUAGE_NAMES.get(language, language)
        super().__init__(*args, prefix=language, **kwargs)
        for field in self.fields.values():
            # The language of what is typed, for spell checkers and screen readers.
            field.widget.attrs["lang"] = language

    def is_filled(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return any((data.get(name) or "").strip() for name in ("title", "teaser", "body"))

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean() returns cleaned_data; the stubs allow None
        if self.is_filled():
            if not (data.get("title") or "").strip() and "title" not in self.errors:
                self.add_error("title", _("A title is required."))
            if not (data.get("body") or "").strip() and "body" not in self.errors:
                self.add_error("body", _("The text is required."))
        return data

    def as_input(self) -> VersionInput:
        data = self.cleaned_data
        return VersionInput(self.language, data["title"], data["body"], data.get("teaser", ""))

    def as_text(self) -> guidelines.VersionText:
        """The typed text, even when not valid yet (for live checks)."""
        data = getattr(self, "cleaned_data", None) or {}
        raw = self.data

        def value(name):
            if name in data:
                return data[name] or ""
            return str(raw.get(self.add_prefix(name), ""))[: settings.COPPS_MAX_BODY_CHARS]

        return guidelines.VersionText(self.language, value("title"), value("teaser"), value("body"))

    def shows_open(self) -> bool:
        """Whether the editor shows this language unfolded: it has text or errors."""
        if self.is_bound:
            return self.has_text() or bool(self.errors)
        return any((self.initial or {}).get(name) for name in ("title", "teaser", "body"))

    def has_text(self) -> bool:
        text = self.as_text()
        return bool(text.title.strip() or text.teaser.strip() or text.body.strip())


def format_choices() -> tuple[list[tuple[str, str]], frozenset[str]]:
    """Each format with the channel accounts it reaches ("Mastodon — @politie@sandbox (nl)"),
    and the formats no usable account serves (the home base always counts as served)."""
    from copps.channels.actions import test_outcome

    from .distribution import HOME_BASE, usable_channels

    reached: dict[str, list[str]] = {}
    for channel in usable_channels():
        try:
            rendition = channel.adapter.rendition
        except ImportError:  # the adapter of this kind is not installed here
            continue
        tested = test_outcome(channel)
        account = tested.text if tested and tested.ok and tested.text.startswith("@") else ""
        where = channel.language + (", sandbox" if channel.sandbox else "")
        reached.setdefault(rendition, []).append(f"{account or channel.name} ({where})")
    choices, unavailable = [], set()
    for key, spec in renditions.CHANNELS.items():
        if key in reached:
            choices.append((key, f"{spec.label} — {'; '.join(reached[key])}"))
        elif key in HOME_BASE:
            choices.append((key, str(spec.label)))
        else:
            choices.append((key, str(_("%(format)s — no account")) % {"format": spec.label}))
            unavailable.add(key)
    return choices, frozenset(unavailable)


class MessageForm(ConsoleForm):
    """Everything about a message except its text."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.NEWS)
    area = forms.ModelChoiceField(
        label=_("Area"),
        queryset=Area.objects.all(),
        required=False,
        empty_label=_("Whole force"),
    )
    audiences = forms.ModelMultipleChoiceField(
        label=_("Audiences"),
        queryset=Audience.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=[(key, spec.label) for key, spec in renditions.CHANNELS.items()],
        required=False,
        initial=["web", "rss"],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "The website and feeds always carry published messages. Each format names the "
            "channel accounts it reaches; formats without an account are not listed."
        ),
    )
    is_personal = forms.BooleanField(
        label=_("Personal post (speaks as a named officer)"), required=False
    )
    signature = forms.CharField(
        label=_("Signature"),
        max_length=160,
        required=False,
        help_text=_("Name and function, shown under a personal post."),
    )
    publish_at = datetime_field(
        _("Publish at"), help_text=_("Leave empty to publish as soon as it is approved.")
    )
    expires_at = datetime_field(_("Expires at"), help_text=_("Optional. Taken offline then."))
    # A one-time key: a double click on "Save" creates one draft, not two.
    client_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=80)
    # The version the author read; saving over a newer one answers 409.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        # Every format stays a valid choice (the API may name any); the editor lists those an
        # account serves, plus any already chosen so they can be unticked.
        choices, unavailable = format_choices()
        channels_field = self.fields["channels"]
        assert isinstance(channels_field, forms.MultipleChoiceField)
        channels_field.choices = choices
        chosen = set(self.initial.get("channels") or [])
        if self.is_bound and hasattr(self.data, "getlist"):
            chosen |= set(self.data.getlist(self.add_prefix("channels")))
        channels_field.widget.choices = [
            (key, label) for key, label in choices if key not in unavailable or key in chosen
        ]
        if user.role == Role.OFFICER:
            # Officers write for their own area only: the field is shown, not chosen.
            del self.fields["area"]
        # A notice is made in the investigations console (it needs a magistrate's authorisation)
        # and stays a notice: the editor neither offers nor drops that kind.
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        if self.initial.get("kind") == Kind.NOTICE:
            kind_field.choices = [(Kind.NOTICE.value, Kind.NOTICE.label)]
        else:
            kind_field.choices = [c for c in Kind.choices if c[0] != Kind.NOTICE]

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean() returns cleaned_data; the stubs allow None
        publish_at, expires_at = data.get("publish_at"), data.get("expires_at")
        if publish_at and expires_at and expires_at <= publish_at:
            self.add_error("expires_at", _("The end must come after the publication time."))
        return data

    def area_value(self):
        if "area" not in self.fields:
            return self.user.area
        return self.cleaned_data.get("area")


class MessageEditor:
    """The message form plus one VersionForm per content language, validated together."""

    def __init__(self, user, data=None, message: Message | None = None, client_key: str = ""):
        self.user = user
        self.message = message
        initial = {}
        version_initial: dict[str, dict] = {}
        if message is not None:
            initial = {
                "kind": message.kind,
                "area": message.area_id,
                "audiences": list(message.audiences.values_list("pk", flat=True)),
                "channels": list(message.channels or []),
                "is_personal": message.is_personal,
                "signature": message.signature,
                "publish_at": message.publish_at,
                "expires_at": message.expires_at,
                "version": message.version,
            }
            for v in message.versions_list():
                version_initial[v.language] = {"title": v.title, "teaser": v.teaser, "body": v.body}
        else:
            initial = {"client_key": client_key or secrets.token_urlsafe(16)}
            if user.display_name:
                initial["signature"] = user.display_name
        self.form = MessageForm(data, user=user, initial=initial)
        self.versions = [
            VersionForm(data, language=lang, initial=version_initial.get(lang))
            for lang in CONTENT_LANGUAGES
        ]
        self.non_field_errors: list[str | Promise] = []

    @property
    def is_bound(self) -> bool:
        return self.form.is_bound

    def is_valid(self) -> bool:
        ok = self.form.is_valid()
        ok = all([v.is_valid() for v in self.versions]) and ok
        if ok and not any(v.is_filled() for v in self.versions):
            self.non_field_errors.append(
                _("Write the message in at least one language (title and text).")
            )
            ok = False
        return ok

    def has_errors(self) -> bool:
        return bool(
            self.non_field_errors or self.form.errors or any(v.errors for v in self.versions)
        )

    def version_inputs(self) -> list[VersionInput]:
        return [v.as_input() for v in self.versions if v.is_filled()]

    def fields(self) -> dict:
        data = self.form.cleaned_data
        return {
            "kind": data["kind"],
            "area": self.form.area_value(),
            "audiences": list(data["audiences"]),
            "channels": list(data["channels"]),
            "is_personal": data["is_personal"],
            "signature": data["signature"],
            "publish_at": data["publish_at"],
            "expires_at": data["expires_at"],
        }

    def content(self) -> guidelines.Content:
        """What is typed right now as a guidelines.Content (unsaved; invalid fields skipped)."""
        if not hasattr(self.form, "cleaned_data"):
            self.form.is_valid()
            for v in self.versions:
                v.is_valid()
        data = self.form.cleaned_data
        image_alts = []
        if self.message is not None:
            image_alts = [img.alt_text for img in self.message.images.all()]
        return guidelines.Content(
            versions=[v.as_text() for v in self.versions if v.has_text()],
            image_alts=image_alts,
            is_personal=bool(data.get("is_personal")),
            signature=data.get("signature") or "",
            channels=list(data.get("channels") or []),
            # The typed text is what is checked; the saved message only lends its id to links.
            message=self.message,
        )

    def apply_errors(self, error: ValidationError) -> None:
        """Put an action's ValidationError on the fields it names ("nl.title" -> nl's title)."""
        by_language = {v.language: v for v in self.versions}
        for key, messages in _error_dict(error).items():
            lang, _dot, name = key.partition(".")
            if lang in by_language and name in by_language[lang].fields:
                for m in messages:
                    by_language[lang].add_error(name, m)
            elif key in self.form.fields:
                for m in messages:
                    self.form.add_error(key, m)
            else:
                self.non_field_errors.extend(messages)


def _error_dict(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            key: [str(m) for e in errs for m in e.messages]
            for key, errs in error.error_dict.items()
        }
    return {"__all__": [str(m) for m in error.messages]}


def apply_errors(form: forms.Form, error: ValidationError) -> None:
    """Attach an action's ValidationError to ``form`` (unknown keys become non-field errors)."""
    for key, messages in _error_dict(error).items():
        for m in messages:
            form.add_error(key if key in form.fields else None, m)


class ImageForm(ConsoleForm):
    image = forms.FileField(
        label=_("Image"),
        help_text=_("JPEG, PNG, WebP or GIF. Location and camera data are removed."),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
    )
    alt_text = forms.CharField(
        label=_("Alternative text"),
        max_length=300,
        help_text=_("What the image shows, for people who cannot see it."),
        error_messages={"required": _("Describe the image for people who cannot see it.")},
    )


class VideoForm(ConsoleForm):
    video = forms.FileField(
        label=_("Video"),
        help_text=_("MP4 or WebM. YouTube channels upload it; the public page shows it."),
        widget=forms.ClearableFileInput(attrs={"accept": "video/mp4,video/webm,.mp4,.webm"}),
    )
    caption = forms.CharField(
        label=_("Description of the video"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What is seen and heard, for people who cannot see or hear the video."),
        error_messages={"required": _("Describe the video for people who cannot see or hear it.")},
    )


# Workflow forms: one per button on the message page ------------------------------------------


class ActionForm(ConsoleForm):
    """The version the user saw: acting on a message someone changed since answers 409."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class SubmitForm(ActionForm):
    override_reason = forms.CharField(
        label=_("Reason to override the blocking findings"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail."),
    )


class ApproveForm(ActionForm):
    publish_at = datetime_field(
        _("Publish at (optional)"),
        help_text=_("Empty: publish now, or at the time the author set."),
    )


class RejectForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason (shown to the author)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why, so the author can fix it.")},
    )


class ScheduleForm(ActionForm):
    publish_at = datetime_field(_("Publish at"), required=True)


class RetractForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason (internal: kept in the audit trail, not shown to the public)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the message is withdrawn.")},
    )


class CorrectForm(ActionForm):
    """A proposed correction: a note plus the corrected text of each existing language version.

    It starts from the pending proposal when there is one (sending replaces that proposal),
    else from the published text.
    """

    note = forms.CharField(
        label=_("What was corrected (shown to readers once approved)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say what was corrected; readers will see it.")},
    )
    override_reason = forms.CharField(
        label=_("Reason to override the blocking findings"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Editors only. Recorded in the audit trail."),
    )

    def __init__(self, *args, message: Message, **kwargs):
        super().__init__(*args, **kwargs)
        self.languages = []
        self.pending = message.corrections.filter(state=CorrectionState.PENDING).first()
        proposed = self.pending.versions if self.pending else {}
        if self.pending:
            self.initial.setdefault("note", self.pending.note)
        for v in message.versions_list():
            self.languages.append(v.language)
            start = proposed.get(v.language) or {}
            for name, field in (
                ("title", forms.CharField(label=_("Title"), max_length=200)),
                (
                    "teaser",
                    forms.CharField(
                        label=_("Teaser"),
                        max_length=400,
                        required=False,
                        widget=forms.Textarea(attrs={"rows": 2}),
                    ),
                ),
                (
                    "body",
                    forms.CharField(
                        label=_("Text (Markdown)"),
                        max_length=settings.COPPS_MAX_BODY_CHARS,
                        widget=forms.Textarea(attrs={"rows": 8}),
                    ),
                ),
            ):
                field.label = f"{field.label} ({LANGUAGE_NAMES.get(v.language, v.language)})"
                field.widget.attrs["lang"] = v.language
                self.fields[f"{v.language}_{name}"] = field
                self.initial.setdefault(f"{v.language}_{name}", start.get(name, getattr(v, name)))

    def version_fields(self):
        """[(language name, [bound fields])] for the template."""
        return [
            (
                LANGUAGE_NAMES.get(lang, lang),
                [self[f"{lang}_{n}"] for n in ("title", "teaser", "body")],
            )
            for lang in self.languages
        ]

    def version_inputs(self) -> list[VersionInput]:
        d = self.cleaned_data
        return [
            VersionInput(lang, d[f"{lang}_title"], d[f"{lang}_body"], d.get(f"{lang}_teaser", ""))
            for lang in self.languages
        ]


class RejectCorrectionForm(ConsoleForm):
    reason = forms.CharField(
        label=_("Reason (shown to the proposer)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why, so the proposer can fix it.")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "reject-correction")
        super().__init__(*args, **kwargs)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "submit": SubmitForm,
    "withdraw": ActionForm,
    "approve": ApproveForm,
    "reject": RejectForm,
    "schedule": ScheduleForm,
    "unschedule": ActionForm,
    "publish": ActionForm,
    "correct": CorrectForm,
    "retract": RetractForm,
}


def action_form(action: str, message: Message, data=None) -> ActionForm:
    cls = ACTION_FORMS[action]
    kwargs: dict[str, Any] = {"prefix": action, "initial": {"version": message.version}}
    if cls is CorrectForm:
        kwargs["message"] = message
    return cls(data, **kwargs)


class WordListsForm(ConsoleForm):
    """One textarea per language x category (one term per line)."""

    def __init__(self, *args, lists: dict[tuple[str, str], WordList], **kwargs):
        super().__init__(*args, **kwargs)
        self.cells = []
        for lang in CONTENT_LANGUAGES:
            for category, category_label in WordList.Category.choices:
                name = f"{lang}_{category}"
                existing = lists.get((lang, category))
                self.fields[name] = forms.CharField(
                    label=f"{category_label} · {LANGUAGE_NAMES.get(lang, lang)}",
                    required=False,
                    max_length=20_000,
                    widget=forms.Textarea(attrs={"rows": 10, "lang": lang, "spellcheck": "false"}),
                    help_text=_("One term per line."),
                )
                self.initial[name] = existing.terms if existing else ""
                self.cells.append((lang, category, name))

    def changed_lists(self):
        """(language, category, terms) for every list whose set of terms changed."""

        def terms(text):
            return {t.strip().lower() for t in (text or "").splitlines() if t.strip()}

        for lang, category, name in self.cells:
            if terms(self.cleaned_data.get(name)) != terms(self.initial.get(name)):
                yield lang, category, self.cleaned_data[name]
