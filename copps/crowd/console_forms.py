"""Forms of the public-order console. They check shape and size only; the rules (periods,
densities, outlines, four eyes) live in ``copps.crowd.actions`` and come back as field errors."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from copps.accounts.models import Area
from copps.newsroom.forms import ConsoleForm, datetime_field

from . import geo
from .actions import LANGUAGES
from .models import CrisisPage, Level, RouteStatus, SensorKind, TemplateUse

LANGUAGE_NAMES = dict(settings.LANGUAGES)

# The placeholders a template may use, with what they become (copps.crowd.templates.FACTS).
PLACEHOLDERS = [
    ("event", _("the event's name")),
    ("zone", _("the zone's name")),
    ("people", _("the number of people in the zone now")),
    ("density", _("people per square metre in the zone now")),
    ("level", _("the zone's level in words (comfortable, busy, full)")),
    ("advice", _("the zone's advice when busy (set per zone)")),
    ("quietest", _("the quietest other zone that is comfortable")),
    ("time", _("the time of sending (HH:MM)")),
    ("routes_closed", _("the closed streets and routes, or “none”")),
    ("url", _("the event's public crowd page")),
]


def channel_choices() -> list[tuple[str, str]]:
    from copps.newsroom.renditions import CHANNELS

    return [(key, str(spec.label)) for key, spec in CHANNELS.items()]


class EventForm(ConsoleForm):
    name = forms.CharField(label=_("Name"), max_length=160)
    slug = forms.SlugField(
        label=_("Address on the public site"),
        max_length=80,
        help_text=_("Lowercase letters, digits and hyphens: /events/‹address›/."),
    )
    description = forms.CharField(
        label=_("Public description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    starts_at = datetime_field(_("Starts at"), required=True)
    ends_at = datetime_field(_("Ends at"), required=True)
    area = forms.ModelChoiceField(
        label=_("Area"),
        queryset=Area.objects.all(),
        required=False,
        empty_label=_("The whole force"),
        help_text=_("Subscribers of this area hear the event's messages."),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Where fast-track messages go. None ticked: the website and the feeds."),
    )
    public = forms.BooleanField(
        label=_("Public crowd page"),
        required=False,
        help_text=_("Zone levels, streets and the latest messages on the public site."),
    )
    watch: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Listening watch for the hashtag"),
        queryset=None,
        required=False,
        empty_label=_("None"),
    )

    def __init__(self, *args, watches=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["channels"]).choices = channel_choices()
        if watches is None:
            del self.fields["watch"]
        else:
            cast(forms.ModelChoiceField, self.fields["watch"]).queryset = watches


class ZoneForm(ConsoleForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    key = forms.SlugField(
        label=_("Identifier"),
        max_length=60,
        help_text=_("Used in the API and in sensor configuration, e.g. grote-markt."),
    )
    geometry = forms.CharField(
        label=_("Outline (GeoJSON)"),
        max_length=geo.MAX_BYTES,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"}),
        help_text=_(
            "Draw the outline on the map, or paste a GeoJSON Polygon in WGS84 "
            "(longitude, latitude)."
        ),
    )
    comfortable_density = forms.FloatField(
        label=_("Comfortable density (people/m²)"), min_value=0.01, max_value=10, initial=2.0
    )
    max_density = forms.FloatField(
        label=_("Maximum density (people/m²)"), min_value=0.01, max_value=10, initial=4.0
    )
    advice = forms.CharField(
        label=_("Advice when busy"),
        max_length=200,
        required=False,
        help_text=_("Fills {advice} in messages, e.g. “use the entrance on the Veldstraat”."),
    )

    def clean_geometry(self):
        raw = self.cleaned_data["geometry"]
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            raise ValidationError(
                _("Not JSON: draw the outline on the map or paste a GeoJSON Polygon.")
            ) from None
        try:
            geo.clean_zone_geometry(value)
        except geo.GeoError as exc:
            raise ValidationError(str(exc)) from None
        return value


class ImportForm(ConsoleForm):
    file = forms.FileField(
        label=_("GeoJSON file"),
        help_text=_(
            "A FeatureCollection: polygons become zones (properties name, id, comfortable_density, "
            "max_density, advice), lines become routes (name, status, note). At most 2 MB."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > geo.MAX_BYTES:
            raise ValidationError(_("The file is larger than 2 MB."))
        return upload


class RouteForm(ConsoleForm):
    name = forms.CharField(label=_("Street or route"), max_length=160)
    status = forms.ChoiceField(label=_("Status"), choices=RouteStatus.choices)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("E.g. “closed for the parade until 23:00”."),
    )


class SensorForm(ConsoleForm):
    sensor_id = forms.CharField(
        label=_("Sensor identifier"),
        max_length=64,
        help_text=_("As in the MQTT topic copps/sensors/‹identifier›/counts."),
    )
    zone: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Zone"), queryset=None, empty_label=None
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=SensorKind.choices)
    calibration = forms.FloatField(
        label=_("Calibration factor"),
        min_value=0.01,
        max_value=100,
        initial=1.0,
        help_text=_(
            "People per counted device: a Bluetooth counter that sees one phone in three: 3."
        ),
    )

    def __init__(self, *args, zones, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["zone"]).queryset = zones


class TextsForm(ConsoleForm):
    """Title and text per language (``title_nl``, ``body_nl``, …) as one ``{lang: {…}}``."""

    title_max = 200
    body_max = 2000

    def add_language_fields(self) -> None:
        for language in LANGUAGES:
            name = LANGUAGE_NAMES.get(language, language)
            self.fields[f"title_{language}"] = forms.CharField(
                label=_("Title (%(language)s)") % {"language": name},
                max_length=self.title_max,
                required=False,
                widget=forms.TextInput(attrs={"lang": language}),
            )
            self.fields[f"body_{language}"] = forms.CharField(
                label=_("Text (%(language)s)") % {"language": name},
                max_length=self.body_max,
                required=False,
                widget=forms.Textarea(attrs={"rows": 4, "lang": language}),
            )

    def languages(self):
        return [
            {
                "code": language,
                "name": LANGUAGE_NAMES.get(language, language),
                "title": self[f"title_{language}"],
                "body": self[f"body_{language}"],
            }
            for language in LANGUAGES
        ]

    def texts(self) -> dict:
        data = self.cleaned_data
        return {
            language: {
                "title": data.get(f"title_{language}", ""),
                "body": data.get(f"body_{language}", ""),
            }
            for language in LANGUAGES
        }

    @staticmethod
    def initial_from(texts: dict) -> dict:
        initial = {}
        for language, text in (texts or {}).items():
            if isinstance(text, dict):
                initial[f"title_{language}"] = text.get("title", "")
                initial[f"body_{language}"] = text.get("body", "")
        return initial


class TemplateForm(TextsForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    use = forms.ChoiceField(label=_("Use"), choices=TemplateUse.choices)
    level = forms.ChoiceField(
        label=_("Proposed for level"),
        required=False,
        choices=[("", _("Any level"))]
        + [(value, label) for value, label in Level.choices if value != Level.GREEN],
        help_text=_("Crowd templates: proposed when a zone reaches this level."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_language_fields()


class CrisisPageForm(TextsForm):
    body_max = 5000
    name = forms.CharField(label=_("Name"), max_length=120)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_language_fields()


class CrisisOnForm(ConsoleForm):
    page = forms.ModelChoiceField(
        label=_("Crisis front page"), queryset=CrisisPage.objects.all(), empty_label=None
    )
    area = forms.ModelChoiceField(
        label=_("Affected area"),
        queryset=Area.objects.all(),
        required=False,
        empty_label=_("The whole force"),
    )


class DismissForm(ConsoleForm):
    reason = forms.CharField(label=_("Reason (optional)"), max_length=300, required=False)


class SendForm(ConsoleForm):
    """The confirmation step: which template, for which zone, and when it was shown."""

    template = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    zone = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    shown = forms.CharField(max_length=300, widget=forms.HiddenInput)
