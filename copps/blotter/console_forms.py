"""Forms of the blotter console: file upload, the publication policy, the review of an entry."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import policy as policies
from .models import PolicyVersion

DEFAULT_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
LABEL_LANGUAGES = ("nl", "fr", "de", "en")


def upload_max_bytes() -> int:
    return int(getattr(settings, "COPPS_BLOTTER_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES))


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File of incidents"),
        help_text=_(
            "CSV with a header row, or JSON lines, with the columns incident_id, reported_at, "
            "category_code, category, summary, street, house_number, postcode, municipality, "
            "lat, lon, status, unit."
        ),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("Recognise from the file")), ("csv", "CSV"), ("jsonl", "JSON lines")],
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = upload_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB; split it or use copps blotter import.")
                % {"mb": limit // (1024 * 1024)}
            )
        return upload


class CategoryForm(forms.Form):
    code = forms.RegexField(
        label=_("Code"),
        regex=policies.CODE_RE,
        max_length=60,
        required=False,
        error_messages={"invalid": _("Lowercase letters, digits and _ only.")},
    )
    public = forms.BooleanField(label=_("Public"), required=False)
    delay_hours = forms.FloatField(
        label=_("Delay (hours)"), min_value=0, max_value=24 * 365, required=False
    )
    label_nl = forms.CharField(label=_("Label (Dutch)"), max_length=100, required=False)
    label_fr = forms.CharField(label=_("Label (French)"), max_length=100, required=False)
    label_de = forms.CharField(label=_("Label (German)"), max_length=100, required=False)
    label_en = forms.CharField(label=_("Label (English)"), max_length=100, required=False)

    def clean(self):
        data = super().clean() or {}
        if data.get("code") and data.get("delay_hours") is None and not self.errors:
            data["delay_hours"] = float(policies.DEFAULT_DELAY_HOURS)
        return data


class BaseCategoryFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self.forms:
            code = form.cleaned_data.get("code")
            if not code:
                continue
            if code in seen:
                raise forms.ValidationError(
                    _("The category %(code)s is listed twice.") % {"code": code}
                )
            seen.add(code)

    def categories(self) -> dict[str, dict]:
        """The categories as ``policy.save_version`` takes them (rows without a code dropped)."""
        result: dict[str, dict] = {}
        for form in self.forms:
            data = form.cleaned_data
            if not data.get("code"):
                continue
            result[data["code"]] = {
                "public": bool(data.get("public")),
                "delay_hours": data.get("delay_hours") or 0.0,
                "labels": {
                    lang: data.get(f"label_{lang}", "").strip()
                    for lang in LABEL_LANGUAGES
                    if data.get(f"label_{lang}", "").strip()
                },
            }
        return result


CategoryFormSet = forms.formset_factory(
    CategoryForm, formset=BaseCategoryFormSet, extra=1, max_num=500, validate_max=True
)


def category_initial(version: PolicyVersion) -> list[dict]:
    rows = []
    for code, rule in sorted(version.categories.items()):
        labels = rule.get("labels") or {}
        rows.append(
            {
                "code": code,
                "public": bool(rule.get("public")),
                "delay_hours": rule.get("delay_hours", policies.DEFAULT_DELAY_HOURS),
                **{f"label_{lang}": labels.get(lang, "") for lang in LABEL_LANGUAGES},
            }
        )
    return rows


class PolicyForm(forms.Form):
    location = forms.ChoiceField(label=_("Location"), choices=PolicyVersion.Location.choices)
    time_rounding_minutes = forms.IntegerField(
        label=_("Round times down to (minutes)"), min_value=1, max_value=24 * 60
    )
    summary = forms.ChoiceField(label=_("Summary"), choices=PolicyVersion.Summary.choices)
    note = forms.CharField(
        label=_("What changed and why"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
    )
    confirm_sensitive = forms.BooleanField(
        label=_("Yes, publish the sensitive categories listed above"), required=False
    )


class ReviewForm(forms.Form):
    summary = forms.CharField(
        label=_("Public text"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
