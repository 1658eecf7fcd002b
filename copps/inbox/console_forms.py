"""Forms of the inbox console: reply, internal note, triage, moderation, queue filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Decision, HouseRule, Label, Priority, State

MAX_TEXT = 5000


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply to the citizen"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Sent through the channel the citizen used, and recorded here."),
    )

    def __init__(self, *args, tip: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if tip:
            self.fields["text"].label = _("Question to the tipster")
            self.fields["text"].help_text = _(
                "The tipster reads it through the channel they used (the follow-up page with "
                "their tip code, or SMS)."
            )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only staff on this desk read notes; they are never sent."),
    )


class TriageForm(forms.Form):
    state = forms.ChoiceField(label=_("Status"), choices=State.choices)
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Priority.choices, coerce=int)
    assigned_to: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Assigned to"), queryset=None, required=False, empty_label=_("Nobody")
    )
    labels = forms.ModelMultipleChoiceField(
        label=_("Labels"),
        queryset=Label.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    new_label = forms.CharField(
        label=_("New label"),
        max_length=60,
        required=False,
        help_text=_("Optional: creates the label on this desk and adds it."),
    )

    def __init__(self, *args, desk: str, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = staff  # type: ignore[attr-defined]
        self.fields["labels"].queryset = Label.objects.filter(desk=desk)  # type: ignore[attr-defined]

    def clean_new_label(self) -> str:
        return " ".join(self.cleaned_data.get("new_label", "").split())


class ModerateForm(forms.Form):
    action = forms.ChoiceField(label=_("Decision"), choices=Decision.Action.choices)
    rule = forms.ModelChoiceField(
        label=_("House rule broken"),
        queryset=HouseRule.objects.filter(active=True),
        required=False,
        empty_label=_("No rule (publish or restore)"),
    )

    def clean(self):
        data = super().clean() or {}
        if data.get("action") in (Decision.Action.HIDE, Decision.Action.REMOVE) and not data.get(
            "rule"
        ):
            self.add_error("rule", _("Choose the house rule that was broken."))
        return data
