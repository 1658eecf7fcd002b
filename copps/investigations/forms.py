"""Forms of the notices console. They parse and validate input; ``actions.py`` writes."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from copps.accounts.models import Area
from copps.channels.console_forms import ConsoleForm
from copps.newsroom.forms import datetime_field
from copps.newsroom.renditions import CHANNELS

from .models import NoticeKind, Resolution


class NoticeForm(ConsoleForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=NoticeKind.choices)
    case_reference = forms.CharField(
        label=_("Internal case reference"),
        max_length=120,
        help_text=_("Never published, and never shown to communication staff."),
    )


class NewNoticeForm(NoticeForm):
    """The notice plus a first version of its public text (refined in the message editor)."""

    area = forms.ModelChoiceField(
        label=_("Area"), queryset=Area.objects.all(), required=False, empty_label=_("Whole force")
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=settings.LANGUAGES, initial=settings.LANGUAGE_CODE
    )
    title = forms.CharField(label=_("Public title"), max_length=200)
    body = forms.CharField(
        label=_("Public text (Markdown)"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Only what the magistrate allows to be published. Photos are added next."),
    )


class AuthorisationForm(ConsoleForm):
    magistrate = forms.CharField(label=_("Magistrate"), max_length=160)
    reference = forms.CharField(label=_("Reference of the order"), max_length=120)
    date = forms.DateField(
        label=_("Date of the order"), widget=forms.DateInput(attrs={"type": "date"})
    )
    channels_allowed = forms.MultipleChoiceField(
        label=_("Channels allowed"),
        choices=[(key, spec.label) for key, spec in CHANNELS.items()],
        required=False,
        initial=["web", "rss"],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The website and its feeds are always included."),
    )
    valid_until = datetime_field(_("Valid until"), required=True)


class ResolveForm(ConsoleForm):
    resolution = forms.ChoiceField(
        label=_("Outcome"), choices=Resolution.choices, widget=forms.RadioSelect
    )
