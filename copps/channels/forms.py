"""Public subscription forms. Validation of addresses, topics and postcodes lives in the actions
(``subscriptions.py``); these forms only carry the fields and a honeypot."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import subscriptions
from .models import Medium

MEDIUM_CHOICES = [(Medium.EMAIL, _("E-mail")), (Medium.SMS, _("SMS (text message)"))]


class CitizenForm(forms.Form):
    """Medium, e-mail address or mobile number, and a honeypot."""

    medium = forms.ChoiceField(
        label=_("How do you want to receive alerts?"),
        choices=MEDIUM_CHOICES,
        widget=forms.RadioSelect,
        initial=Medium.EMAIL,
    )
    email = forms.CharField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        help_text=_("Only if you chose e-mail. For example: name@example.be"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=40,
        help_text=_("Only if you chose SMS. For example: 0470 12 34 56 or +32 470 12 34 56"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    # Hidden from people (display: none, so also from screen readers and the tab order); bots
    # filling every field give themselves away.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, sms_available: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not sms_available:
            medium = self.fields["medium"]
            assert isinstance(medium, forms.ChoiceField)
            medium.choices = MEDIUM_CHOICES[:1]
            del self.fields["phone"]

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def address(self) -> str:
        """The e-mail address or the phone number, whichever the chosen medium needs."""
        field = "phone" if self.cleaned_data.get("medium") == Medium.SMS else "email"
        return self.cleaned_data.get(field, "")

    def add_action_errors(self, error) -> None:
        """Put the action's field errors (medium, address, ...) on this form's fields."""
        for name, messages in error.message_dict.items():
            if name == "address":
                name = "phone" if self.cleaned_data.get("medium") == Medium.SMS else "email"
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class SubscribeForm(CitizenForm):
    topics = forms.MultipleChoiceField(
        label=_("Topics"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose none to receive every topic."),
    )
    postcodes = forms.CharField(
        label=_("Postcodes"),
        required=False,
        max_length=200,
        help_text=_(
            "Up to 10 Belgian postcodes, separated by spaces or commas, for example: 9000 9050. "
            "Leave empty for our whole area. Messages about the whole area reach you in any case."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
    )
    language = forms.ChoiceField(label=_("Language of the alerts"), choices=settings.LANGUAGES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        topics = self.fields["topics"]
        assert isinstance(topics, forms.ChoiceField)
        topics.choices = subscriptions.topic_choices()


class CodeForm(forms.Form):
    ticket = forms.CharField(widget=forms.HiddenInput, max_length=2000)
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        help_text=_("The 6 digits in the text message we sent you."),
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "size": 8}
        ),
    )


class UnsubscribeRequestForm(CitizenForm):
    medium = forms.ChoiceField(
        label=_("How do you receive our alerts?"),
        choices=MEDIUM_CHOICES,
        widget=forms.RadioSelect,
        initial=Medium.EMAIL,
    )
