"""The public comment form: a display name, the text, the house rules box and a honeypot.

The limits are checked again in ``comments.post_comment``; the form gives the reader a clear
message next to the field.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .comments import MAX_NAME_CHARS, MAX_TEXT_CHARS, clean_text

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


class CommentForm(forms.Form):
    name = forms.CharField(
        label=_("Your name or a pseudonym"),
        required=False,
        max_length=MAX_NAME_CHARS,
        help_text=_("Shown with your comment. Leave it empty to appear as “Anonymous citizen”."),
        strip=False,
    )
    text = forms.CharField(
        label=_("Your comment"),
        max_length=MAX_TEXT_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("At most 2,000 characters. Links are shown as plain text."),
        strip=False,
        error_messages={"required": _("Write your comment first.")},
    )
    accept_rules = forms.BooleanField(
        label=_("I accept the house rules"),
        error_messages={"required": _("Accept the house rules to post a comment.")},
    )
    # Hidden from people (display: none); bots filling every field give themselves away.
    website = forms.CharField(required=False, label=_("Leave this field empty"))
    language = forms.CharField(required=False, widget=forms.HiddenInput)

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_name(self) -> str:
        return clean_text(self.cleaned_data.get("name") or "", MAX_NAME_CHARS).replace("\n", " ")

    def clean_text(self) -> str:
        text = clean_text(self.cleaned_data.get("text") or "", MAX_TEXT_CHARS)
        if not text:
            raise ValidationError(_("Write your comment first."))
        return text

    def clean_language(self) -> str:
        language = self.cleaned_data.get("language") or ""
        return language if language in LANGUAGE_CODES else ""
