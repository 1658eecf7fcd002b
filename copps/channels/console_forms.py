"""Forms of the channel console. They parse and validate input; ``actions.py`` writes.

``ChannelForm`` is built from the adapter's ``fields``: a setting becomes a text input
(``cfg_<name>``), a secret a password input (``secret_<name>``) that is never filled in with the
stored value. On an existing channel an empty secret input keeps what is stored; an optional
secret gets a "clear" checkbox (``clear_<name>``).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from copps.newsroom.models import Audience

from . import crypto
from .models import Channel

# Path segments of the channel console that a channel's short name must not take.
RESERVED_SLUGS = frozenset({"new", "alerts", "deliveries"})


class ConsoleForm(forms.Form):
    """Labels without a trailing colon (the console's style)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ChannelForm(ConsoleForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("How editors see this account, e.g. “Mastodon @politie (Dutch)”."),
    )
    slug = forms.SlugField(
        label=_("Short name"),
        max_length=60,
        help_text=_("Letters, digits and hyphens; used in console addresses. Cannot change later."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        help_text=_("Messages go out on this account in this language only."),
    )
    audiences = forms.ModelMultipleChoiceField(
        label=_("Audiences"),
        queryset=Audience.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked: the account serves every audience."),
    )
    sandbox = forms.BooleanField(
        label=_("Sandbox account"),
        required=False,
        help_text=_(
            "Posts go to copps' built-in imitation of the service, never to the real one. "
            "Use it to try things out and for the demo."
        ),
    )

    def __init__(self, *args, adapter, channel: Channel | None = None, **kwargs):
        self.adapter = adapter
        self.channel = channel
        stored = channel.get_secrets() if channel is not None else {}
        if channel is not None and "initial" not in kwargs:
            initial = {
                "name": channel.name,
                "slug": channel.slug,
                "language": channel.language,
                "audiences": list(channel.audiences.values_list("pk", flat=True)),
                "sandbox": channel.sandbox,
            }
            for f in adapter.fields:
                if not f.secret:
                    initial[f"cfg_{f.name}"] = (channel.config or {}).get(f.name, "")
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        if channel is not None:
            # The short name is part of addresses and sandbox links: fixed once created.
            del self.fields["slug"]
        self.secret_hints: dict[str, str] = {}
        for f in adapter.fields:
            if f.secret:
                has_value = bool(stored.get(f.name))
                help_text = str(f.help or "")
                if has_value:
                    self.secret_hints[f.name] = crypto.mask(str(stored[f.name]))
                    keep = str(_("Stored: %(mask)s. Leave empty to keep it.")) % {
                        "mask": self.secret_hints[f.name]
                    }
                    help_text = f"{help_text} {keep}".strip()
                elif self.is_bound and self.data.get(f"secret_{f.name}"):
                    again = str(_("Type it again: secrets are never sent back to the browser."))
                    help_text = f"{help_text} {again}".strip()
                self.fields[f"secret_{f.name}"] = forms.CharField(
                    label=f.label,
                    required=f.required and not has_value,
                    max_length=4000,
                    strip=True,
                    widget=forms.PasswordInput(
                        render_value=False, attrs={"autocomplete": "new-password"}
                    ),
                    help_text=help_text,
                )
                if has_value and not f.required:
                    self.fields[f"clear_{f.name}"] = forms.BooleanField(
                        label=_("Remove the stored %(label)s") % {"label": f.label},
                        required=False,
                    )
            else:
                self.fields[f"cfg_{f.name}"] = forms.CharField(
                    label=f.label,
                    required=f.required,
                    max_length=1000,
                    initial=f.default or None,
                    help_text=f.help,
                )

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(_("This short name is reserved; choose another."))
        return slug

    # Groups for the template ---------------------------------------------------------------

    def service_fields(self):
        return [
            self[name] for name in self.fields if name.startswith(("cfg_", "secret_", "clear_"))
        ]

    # Cleaned values for the actions ------------------------------------------------------

    def config(self) -> dict:
        return {
            f.name: self.cleaned_data.get(f"cfg_{f.name}", "")
            for f in self.adapter.fields
            if not f.secret
        }

    def new_secrets(self) -> dict:
        return {
            f.name: self.cleaned_data.get(f"secret_{f.name}", "")
            for f in self.adapter.fields
            if f.secret and self.cleaned_data.get(f"secret_{f.name}")
        }

    def cleared_secrets(self) -> set[str]:
        return {
            f.name
            for f in self.adapter.fields
            if f.secret and self.cleaned_data.get(f"clear_{f.name}")
        }

    def apply_errors(self, errors: dict) -> None:
        """Put an action's field errors (adapter field names) on the matching inputs."""
        for key, messages in errors.items():
            for name in (key, f"cfg_{key}", f"secret_{key}"):
                if name in self.fields:
                    self.add_error(name, messages)
                    break
            else:
                self.add_error(None, messages)


class ResolveSentForm(ConsoleForm):
    url = forms.CharField(
        label=_("Address of the post (optional)"),
        required=False,
        max_length=500,
        help_text=_("Paste the link to the post you found, so others can check it too."),
    )

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except forms.ValidationError:
                raise forms.ValidationError(_("Enter an http or https address.")) from None
        return url


class CancelDeliveryForm(ConsoleForm):
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, max_length=500, strip=True
    )
