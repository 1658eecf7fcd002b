"""Forms of the accounts pages. They validate input only; the actions do the writing."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import totp
from .actions import MAX_TOKEN_DAYS
from .models import Area, User
from .roles import Role


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=1024,  # long enough for any passphrase, short enough not to tie up the hasher
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    """A six-digit code from the authenticator app ("123 456" is accepted too)."""

    code = forms.CharField(
        label=_("Six-digit code"),
        max_length=12,
        help_text=_("The code your authenticator app shows now."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": r"[0-9 ]*",
                "size": 8,
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = totp.normalise_code(self.cleaned_data["code"])
        if len(code) != totp.DIGITS or not code.isascii() or not code.isdigit():
            raise forms.ValidationError(_("Enter the six digits the app shows."))
        return code


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What the token is for, e.g. the script or service that uses it."),
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        initial=90,
        required=False,
        help_text=_("Leave empty for a token that does not expire."),
    )


def _area_field(required: bool = False) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Area"),
        queryset=Area.objects.all(),
        required=required,
        empty_label=_("(none)"),
        help_text=_("Required for neighbourhood officers: they write for their own area only."),
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocapitalize": "none"}),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    display_name = forms.CharField(
        label=_("Public name"),
        max_length=120,
        required=False,
        help_text=_("Shown under personal posts, e.g. “Inspector Janssens”."),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    area = _area_field()
    password = forms.CharField(
        label=_("Initial password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. Hand it over in person; the user should change it."),
    )

    def clean_username(self) -> str:
        username = User.normalize_username(self.cleaned_data["username"].strip())
        # Same rule as the model field, with our own message.
        # An instance's regex is compiled in RegexValidator.__init__; the stubs say str | Pattern.
        if not User.username_validator.regex.match(username):  # type: ignore[union-attr]
            raise forms.ValidationError(
                _("Use letters, digits and @ . + - _ only."), code="invalid"
            )
        return username


class UserChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    area = _area_field()


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=200,
        help_text=_("At least 12 characters; not a common password, not only digits."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean() returns cleaned_data; the stubs allow None
        if data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two new passwords differ."))
        return data
