"""Forms of the sources console, one per kind: they parse and validate what a person typed;
``actions.save_source`` checks addresses and purposes and writes.

Each form turns its fields into the kind's ``config`` (``config()``) and its secrets
(``secrets()``: a bot or access token). A secret is never sent back to the browser: on an
existing source an empty input keeps what is stored; an optional one has a "remove" checkbox.
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .access import COMMUNICATION_KINDS
from .models import Purpose, Source, SourceKind
from .sources import tgpreview

MIN_INTERVAL = 60
MAX_INTERVAL = 86400
_HASHTAG = re.compile(r"^\w{1,100}$")
_BOT_TOKEN = re.compile(r"^[0-9]{3,15}:[A-Za-z0-9_-]{20,100}$")
_CHAT = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-?[0-9]{1,20})$")
MAX_CHATS = 50


def default_interval() -> int:
    return int(getattr(settings, "COPPS_LISTENING_POLL_SECONDS", 300))


def _web_address(value: str) -> str:
    value = value.strip()
    try:
        URLValidator(schemes=["http", "https"])(value)
    except forms.ValidationError:
        raise forms.ValidationError(_("Enter an http or https address.")) from None
    return value


class SourceForm(forms.Form):
    """What every kind has: a name and whether it runs. Subclasses add their settings."""

    kind: str = ""
    secret_fields: tuple[str, ...] = ()
    optional_secrets: tuple[str, ...] = ()

    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=120,
        help_text=gettext_lazy("How the console and the results name this source."),
    )
    enabled = forms.BooleanField(label=gettext_lazy("Switched on"), required=False, initial=True)

    def __init__(self, *args, source: Source | None = None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        self.source = source
        stored = dict(source.config or {}) if source is not None else {}
        if source is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": source.name,
                "enabled": source.enabled,
                **self.initial_from(stored),
            }
        super().__init__(*args, **kwargs)
        self.stored_secrets = {name for name in self.secret_fields if stored.get(name)}
        for name in self.secret_fields:
            field = self.fields[name]
            if name in self.stored_secrets:
                field.help_text = _(
                    "A token is set. Leave empty to keep it; type a new one to replace it."
                )
                if name in self.optional_secrets:
                    self.fields[f"remove_{name}"] = forms.BooleanField(
                        label=_("Remove the stored token"), required=False
                    )
        if "interval" in self.fields and not self.is_bound and source is None:
            self.fields["interval"].initial = default_interval()

    def initial_from(self, config: dict) -> dict:
        """Form values from a stored config (never a secret)."""
        return {
            name: config[name]
            for name in self.fields_for_config()
            if name in config and name not in self.secret_fields
        }

    @classmethod
    def fields_for_config(cls) -> list[str]:
        return [name for name in cls.base_fields if name not in ("name", "enabled")]

    def config(self) -> dict:
        data = self.cleaned_data
        return {
            name: data.get(name)
            for name in self.fields_for_config()
            if name not in self.secret_fields and data.get(name) not in (None, "")
        }

    def secrets(self) -> dict[str, str | None]:
        result: dict[str, str | None] = {}
        for name in self.secret_fields:
            if self.cleaned_data.get(f"remove_{name}"):
                result[name] = None
            elif self.cleaned_data.get(name):
                result[name] = self.cleaned_data[name]
        return result

    def setting_fields(self):
        """The kind's own inputs, for the template."""
        return [self[name] for name in self.fields if name not in ("name", "enabled")]

    def apply_errors(self, errors: dict) -> None:
        for key, message in errors.items():
            self.add_error(key if key in self.fields else None, message)


def _interval_field():
    return forms.IntegerField(
        label=gettext_lazy("Poll every (seconds)"),
        min_value=MIN_INTERVAL,
        max_value=MAX_INTERVAL,
        help_text=gettext_lazy("Between 60 seconds and a day."),
    )


def _private_field():
    return forms.BooleanField(
        label=gettext_lazy("A server on our own network"),
        required=False,
        help_text=gettext_lazy(
            "Allow a private or local address. Leave unticked for servers on the internet."
        ),
    )


def _token_field(label, help_text=""):
    return forms.CharField(
        label=label,
        required=False,
        max_length=200,
        strip=True,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class RssForm(SourceForm):
    kind = SourceKind.RSS
    url = forms.CharField(
        label=gettext_lazy("Feed address"),
        max_length=500,
        help_text=gettext_lazy("The RSS or Atom feed, e.g. https://www.example.be/feed.xml"),
    )
    interval = _interval_field()
    allow_private = _private_field()

    def clean_url(self):
        return _web_address(self.cleaned_data["url"])


class MastodonForm(SourceForm):
    kind = SourceKind.MASTODON
    secret_fields = ("token",)
    optional_secrets = ("token",)
    instance = forms.CharField(
        label=gettext_lazy("Instance"),
        max_length=200,
        help_text=gettext_lazy("The server's address, e.g. https://mastodon.social"),
    )
    timeline = forms.ChoiceField(
        label=gettext_lazy("Timeline"),
        choices=[
            ("hashtag", gettext_lazy("A hashtag")),
            ("public", gettext_lazy("The public timeline")),
        ],
        initial="hashtag",
        widget=forms.RadioSelect,
    )
    tag = forms.CharField(
        label=gettext_lazy("Hashtag"),
        max_length=101,
        required=False,
        help_text=gettext_lazy("Without or with #, e.g. politie. Only for a hashtag timeline."),
    )
    local = forms.BooleanField(
        label=gettext_lazy("Only this server's own posts"),
        required=False,
        help_text=gettext_lazy("Public timeline only: leave out posts from other servers."),
    )
    streaming = forms.BooleanField(
        label=gettext_lazy("Streaming"),
        required=False,
        help_text=gettext_lazy(
            "Keep a connection open (copps listening_run) instead of polling every interval."
        ),
    )
    token = _token_field(
        gettext_lazy("Access token (optional)"),
        gettext_lazy("Only for servers that show their timelines to signed-in apps (read scope)."),
    )
    interval = _interval_field()
    allow_private = _private_field()

    def clean_instance(self):
        return _web_address(self.cleaned_data["instance"]).rstrip("/")

    def clean_tag(self):
        tag = self.cleaned_data["tag"].strip().lstrip("#")
        if tag and not _HASHTAG.match(tag):
            raise forms.ValidationError(_("A hashtag has letters, digits and _ only."))
        return tag

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("timeline") == "hashtag" and not data.get("tag") and "tag" not in self.errors:
            self.add_error("tag", _("A hashtag timeline needs a hashtag."))
        if data.get("timeline") == "public":
            data["tag"] = ""
        return data

    def config(self) -> dict:
        config = super().config()
        config["local"] = bool(self.cleaned_data.get("local"))
        config["streaming"] = bool(self.cleaned_data.get("streaming"))
        return config


class BlueskyForm(SourceForm):
    kind = SourceKind.BLUESKY
    url = forms.CharField(
        label=gettext_lazy("Jetstream address (optional)"),
        max_length=500,
        required=False,
        help_text=gettext_lazy(
            "Leave empty for Bluesky's public Jetstream "
            "(wss://jetstream2.us-east.bsky.network/subscribe)."
        ),
    )
    allow_private = _private_field()

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if url:
            try:
                URLValidator(schemes=["ws", "wss"])(url)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("A Jetstream address starts with wss:// (or ws://).")
                ) from None
        return url


class TelegramForm(SourceForm):
    kind = SourceKind.TELEGRAM
    secret_fields = ("token",)
    mode = forms.ChoiceField(
        label=gettext_lazy("How copps reads"),
        choices=[
            ("preview", gettext_lazy("A public channel, from its web preview (t.me/s/…)")),
            ("bot", gettext_lazy("Our bot, in channels where it is an administrator")),
        ],
        initial="preview",
        widget=forms.RadioSelect,
    )
    channel = forms.CharField(
        label=gettext_lazy("Public channel"),
        max_length=33,
        required=False,
        help_text=gettext_lazy("Its name as in t.me/name, e.g. politiebe. Web preview only."),
    )
    backfill = forms.IntegerField(
        label=gettext_lazy("Older pages on the first run"),
        min_value=0,
        max_value=tgpreview.MAX_BACKFILL,
        required=False,
        initial=0,
        help_text=gettext_lazy("0 to 10 pages of about 20 posts. Web preview only."),
    )
    token = _token_field(
        gettext_lazy("Bot token"),
        gettext_lazy("From @BotFather, e.g. 123456789:AA… A bot used for listening only."),
    )
    chats = forms.CharField(
        label=gettext_lazy("Only these channels (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "@name or numeric id, one per line or separated by commas. Empty: every channel "
            "the bot administers. Bot only."
        ),
    )
    interval = _interval_field()

    def initial_from(self, config: dict) -> dict:
        initial = super().initial_from(config)
        initial["mode"] = "bot" if config.get("token") else "preview"
        initial["chats"] = "\n".join(str(c) for c in config.get("chats") or [])
        return initial

    @classmethod
    def fields_for_config(cls) -> list[str]:
        return ["channel", "backfill", "token", "chats", "interval"]

    def clean_channel(self):
        return self.cleaned_data["channel"].strip().lstrip("@")

    def clean_token(self):
        token = self.cleaned_data["token"]
        if token and not _BOT_TOKEN.match(token):
            raise forms.ValidationError(
                _("A bot token looks like 123456789:AA… (digits, a colon, letters).")
            )
        return token

    def clean_chats(self):
        chats = [c.strip() for c in re.split(r"[\s,]+", self.cleaned_data["chats"]) if c.strip()]
        bad = [c for c in chats if not _CHAT.match(c)]
        if bad:
            raise forms.ValidationError(
                _("Not a channel name or id: %(chats)s") % {"chats": ", ".join(bad[:5])}
            )
        if len(chats) > MAX_CHATS:
            raise forms.ValidationError(_("At most %(n)d channels.") % {"n": MAX_CHATS})
        return chats

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("mode") == "preview":
            channel = data.get("channel", "")
            if "channel" not in self.errors and not tgpreview.valid_channel(channel):
                self.add_error(
                    "channel",
                    _(
                        "A public channel name: 4 to 32 letters, digits or _, starting with a letter."
                    ),
                )
        elif data.get("mode") == "bot":
            if (
                not data.get("token")
                and "token" not in self.stored_secrets
                and "token" not in self.errors
            ):
                self.add_error("token", _("Reading with a bot needs its token."))
        return data

    def config(self) -> dict:
        data = self.cleaned_data
        if data.get("mode") == "preview":
            return {
                "channel": data["channel"],
                "backfill": data.get("backfill") or 0,
                "interval": data["interval"],
            }
        config: dict = {"interval": data["interval"]}
        if data.get("chats"):
            config["chats"] = data["chats"]
        return config

    def secrets(self) -> dict[str, str | None]:
        if self.cleaned_data.get("mode") == "preview":
            return {"token": None}  # without a token the source reads the web preview
        return super().secrets()


class OwnForm(SourceForm):
    kind = SourceKind.OWN
    purpose = forms.ModelChoiceField(
        label=gettext_lazy("Purpose"),
        queryset=Purpose.objects.none(),
        help_text=gettext_lazy(
            "An active communication purpose: the replies and mentions are matched only by "
            "its watches. Investigation purposes are never offered."
        ),
    )
    interval = _interval_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["purpose"]
        field.queryset = Purpose.objects.filter(kind__in=COMMUNICATION_KINDS, active=True)  # type: ignore[attr-defined]

    def config(self) -> dict:
        purpose = self.cleaned_data["purpose"]
        return {"purpose": purpose.pk, "interval": self.cleaned_data["interval"]}


class WebhookForm(SourceForm):
    kind = SourceKind.WEBHOOK


class ImportForm(SourceForm):
    kind = SourceKind.IMPORT


FORMS: dict[str, type[SourceForm]] = {
    form.kind: form
    for form in (RssForm, MastodonForm, BlueskyForm, TelegramForm, OwnForm, WebhookForm, ImportForm)
}


class UploadForm(forms.Form):
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[
            ("", gettext_lazy("From the file name (.csv is CSV, anything else JSON lines)")),
            ("jsonl", gettext_lazy("JSON lines")),
            ("csv", gettext_lazy("CSV with a header row")),
        ],
        required=False,
    )
    file = forms.FileField(label=gettext_lazy("File"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
