"""The anonymous tip form: fields, proof-of-work challenges and flood limits without tracking.

Flood protection keeps no address and sets no cookie:

- **Proof-of-work.** The form carries a challenge signed by the server (``django.core.signing``,
  with its time; valid for ``CHALLENGE_MAX_AGE``). A small script (static/investigations/
  tips-pow.js) finds a ``nonce`` such that sha256(challenge + nonce) starts with
  ``COPPS_TIP_POW_BITS`` zero bits. Valid work earns the ordinary limit
  (``COPPS_TIP_PER_SOURCE_PER_HOUR``); a form posted without work (no JavaScript) is accepted
  under the stricter ``COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR``. A challenge counts once: its
  hash is kept as a ``RateHit`` key, so replayed work is no work.
- **Rate-limit keys** are HMACs of the client's throttle bucket (``copps.lib.clientip``) with
  SECRET_KEY and the date, in ``copps.channels.models.RateHit`` (deleted after a day by the
  subscriptions retention job): no address is stored and days cannot be linked.
- **Honeypot.** A field people never see (its label says to leave it empty); a filled one
  refuses the post with a neutral 400.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from copps.channels.models import RateHit
from copps.lib.clientip import client_address, throttle_bucket

from .tips import MAX_MESSAGE

CHALLENGE_SALT = "copps.tips.pow"
CHALLENGE_MAX_AGE = 3600
HOUR = timedelta(hours=1)


# Proof-of-work ---------------------------------------------------------------------------------


def pow_bits() -> int:
    return max(0, min(32, int(getattr(settings, "COPPS_TIP_POW_BITS", 16))))


def new_challenge() -> str:
    """A fresh signed challenge (random, timestamped)."""
    return signing.dumps(secrets.token_hex(12), salt=CHALLENGE_SALT, compress=False)


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def work_is_valid(challenge: str, nonce: str) -> bool:
    """True when ``challenge`` is ours, unexpired, and ``nonce`` solves it. Does not consume."""
    challenge, nonce = str(challenge or ""), str(nonce or "")
    if not challenge or not nonce or len(challenge) > 200 or len(nonce) > 20:
        return False
    if not nonce.isascii() or not nonce.isdigit():
        return False
    try:
        signing.loads(challenge, salt=CHALLENGE_SALT, max_age=CHALLENGE_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return False
    digest = hashlib.sha256((challenge + nonce).encode()).digest()
    return leading_zero_bits(digest) >= pow_bits()


def consume_challenge(challenge: str, now=None) -> bool:
    """Record that ``challenge`` was spent; False when it had been spent already.

    The keys are daily: a challenge (valid for an hour) spent before midnight is looked up under
    yesterday's key too, so it cannot be spent again just after."""
    now = now or timezone.now()
    digest = hashlib.sha256(challenge.encode()).hexdigest()
    keys = [_key("pow", digest, now), _key("pow", digest, now - timedelta(days=1))]
    if RateHit.objects.filter(key__in=keys).exists():
        return False
    RateHit.objects.create(key=keys[0], at=now)
    return True


# Rate limits -------------------------------------------------------------------------------------


def _key(purpose: str, value: str, now=None) -> str:
    day = (now or timezone.now()).date().isoformat()
    return hmac.new(
        settings.SECRET_KEY.encode(), f"tips:{purpose}:{value}:{day}".encode(), hashlib.sha256
    ).hexdigest()


def client_key(request, purpose: str) -> str:
    """The daily HMAC standing for this client (never the address itself)."""
    return _key(purpose, throttle_bucket(client_address(request)))


def over_limit(key: str, limit: int, now=None) -> bool:
    now = now or timezone.now()
    return RateHit.objects.filter(key=key, at__gte=now - HOUR).count() >= max(0, limit)


def hit(key: str) -> None:
    RateHit.objects.create(key=key, at=timezone.now())


def submit_limit(with_work: bool) -> int:
    if with_work:
        return int(getattr(settings, "COPPS_TIP_PER_SOURCE_PER_HOUR", 10))
    return int(getattr(settings, "COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR", 3))


def followup_failure_limit() -> int:
    return int(getattr(settings, "COPPS_TIP_FOLLOWUP_FAILURES_PER_HOUR", 10))


def max_files() -> int:
    return int(getattr(settings, "COPPS_TIP_MAX_FILES", 5))


# Forms -----------------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class TipForm(forms.Form):
    message = forms.CharField(
        label=_("What do you know?"),
        help_text=_(
            "Describe what you saw or know: where, when, who, what. Do not write your name "
            "unless you want us to know it."
        ),
        max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 10, "maxlength": MAX_MESSAGE}),
        error_messages={
            "required": _("Please describe what you know."),
            "max_length": _("Your message is too long (at most %(limit_value)d characters)."),
        },
    )
    attachments = forms.FileField(
        label=_("Photos or videos (optional)"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*,video/*"}),
    )
    # The honeypot: hidden from people by CSS, its label tells anyone who reaches it.
    website = forms.CharField(label=_("Leave this field empty"), required=False)
    notice = forms.CharField(required=False, widget=forms.HiddenInput)
    lang = forms.CharField(required=False, widget=forms.HiddenInput)
    challenge = forms.CharField(required=False, widget=forms.HiddenInput)
    nonce = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_message(self) -> str:
        return self.cleaned_data["message"].replace("\x00", "").strip()


class FollowUpForm(forms.Form):
    code = forms.CharField(
        label=_("Tip code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Secret"),
        max_length=60,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=True),
    )
    lang = forms.CharField(required=False, widget=forms.HiddenInput)


class AnswerForm(forms.Form):
    message = forms.CharField(
        label=_("Your answer"),
        max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_MESSAGE}),
        error_messages={
            "required": _("Please write your answer."),
            "max_length": _("Your message is too long (at most %(limit_value)d characters)."),
        },
    )
