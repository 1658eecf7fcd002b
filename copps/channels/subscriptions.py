"""Citizens' subscriptions (e-mail, SMS, web push) without an account: named actions.

Flow (double opt-in, nothing kept longer than needed):

- ``subscribe()`` validates the request and stores a *pending* Subscription (or, for an address
  that is already pending or active, reuses its row), then sends a confirmation: a link by e-mail,
  a 6-digit code by SMS. The caller shows the same page whatever the address's state, so nobody
  can learn from the site whether an address is subscribed.
- The confirmation carries the chosen preferences (topics, postcodes, language) inside a signed
  (e-mail) or encrypted (SMS) ticket, so an already active subscription keeps its current
  preferences until the owner confirms the change.
- ``confirm_email()`` / ``confirm_code()`` activate the subscription (or apply the change).
- ``unsubscribe()`` deletes the row: a subscriber's data is kept only while subscribed.
- ``delete_stale_subscriptions()`` (worker job) deletes unconfirmed requests and old throttling
  keys.

Unsubscribe links carry ``<id>.<hmac>``: an HMAC-SHA256 over the subscription id with the
subscription's own random secret (and SECRET_KEY), so a link cannot be forged or guessed and
stops working once the subscription (and its secret) is deleted.

Flood protection without tracking: ``RateHit`` rows hold only sha256(purpose, value, daily salt
derived from SECRET_KEY) — never an IP address or an e-mail address/phone number — and are
deleted after 24 hours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import phonenumbers
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from copps.audit import log as audit
from copps.lib.clientip import throttle_bucket

from . import crypto
from .models import Channel, ChannelStatus, Medium, RateHit, Subscription, SubscriptionState

logger = logging.getLogger("copps.channels.subscriptions")

# How long a confirmation stays valid.
LINK_VALID = timedelta(hours=48)
CODE_VALID = timedelta(hours=1)
MAX_CODE_ATTEMPTS = 5
MAX_POSTCODES = 10
SMS_KINDS = ("sms_kannel", "sms_http")
RATE_HIT_RETENTION = timedelta(hours=24)

_CONFIRM_SALT = "copps.channels.subscriptions.confirm"
_POSTCODE = re.compile(r"^[1-9][0-9]{3}$")
# Numbers phonenumbers knows cannot receive an SMS (landlines, premium, toll-free ...).
_SMS_CAPABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.UNKNOWN,
}


class Throttled(Exception):
    """Too many requests from one source, or too many messages to one address: nothing sent."""


class NotSent(Exception):
    """The confirmation could not be sent (mail server or SMS gateway down): nothing stored."""


class InvalidConfirmation(Exception):
    """A confirmation link or code that is unknown, forged, already used or expired."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "unknown" | "expired" | "wrong_code" | "too_many"


@dataclass
class Pending:
    """What the citizen needs for the next step. ``ticket`` is set for SMS (the code page
    carries it in a hidden field); e-mail confirmations travel only in the mail."""

    medium: str
    ticket: str = ""


# --- settings ---------------------------------------------------------------------------------


def per_source_per_hour() -> int:
    return int(getattr(settings, "COPPS_SUBSCRIBE_PER_SOURCE_PER_HOUR", 5))


def per_address_per_day() -> int:
    return int(getattr(settings, "COPPS_SUBSCRIBE_PER_ADDRESS_PER_DAY", 3))


# --- unsubscribe tokens ---------------------------------------------------------------------


def unsubscribe_token(subscription: Subscription) -> str:
    mac = hmac.new(
        (settings.SECRET_KEY + subscription.secret).encode(),
        f"unsubscribe:{subscription.pk}".encode(),
        hashlib.sha256,
    ).hexdigest()[:32]
    return f"{subscription.pk}.{mac}"


def subscription_for_token(token: str) -> Subscription | None:
    """The subscription an unsubscribe token belongs to, or None (forged, stale, malformed)."""
    pk, _dot, _mac = token.partition(".")
    if not (pk.isascii() and pk.isdigit()) or len(pk) > 18:  # "²".isdigit() is True
        return None
    subscription = Subscription.objects.filter(pk=int(pk)).first()
    if subscription is None:
        return None
    same = hmac.compare_digest(unsubscribe_token(subscription).encode(), token.encode())
    return subscription if same else None


def unsubscribe_url(subscription: Subscription) -> str:
    """The one-click unsubscribe URL (also the target of the List-Unsubscribe header)."""
    return settings.SITE_URL + reverse("unsubscribe", args=[unsubscribe_token(subscription)])


# --- validation -------------------------------------------------------------------------------


def topic_choices() -> list[tuple[str, Any]]:
    """Message kinds a citizen can subscribe to (corrections follow the message they correct)."""
    from copps.newsroom.models import Kind

    return [(value, label) for value, label in Kind.choices if value != Kind.CORRECTION]


def normalise_email(value: str) -> str:
    value = (value or "").strip()
    EmailValidator(message=_("Enter a valid e-mail address, like name@example.be."))(value)
    local, _at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_phone(value: str) -> str:
    """E.164 for a number that can receive SMS; Belgian numbers may be written nationally."""
    message = _("Enter a valid mobile number, like 0470 12 34 56 or +32 470 12 34 56.")
    value = (value or "").strip()
    if not value or len(value) > 40:
        raise ValidationError(message)
    try:
        number = phonenumbers.parse(value, "BE")
    except phonenumbers.NumberParseException:
        raise ValidationError(message) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(message)
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise ValidationError(_("This number cannot receive text messages: enter a mobile number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_address(medium: str, address: str) -> str:
    if medium == Medium.EMAIL:
        return normalise_email(address)
    return normalise_phone(address)


def parse_postcodes(value: str | Iterable[str]) -> list[str]:
    """Postcodes from free text ("1000, 9000 8500") or a list, without checking them."""
    if isinstance(value, str):
        return [p for p in re.split(r"[\s,;]+", value) if p]
    return [str(p).strip() for p in value if str(p).strip()]


def _clean(*, medium, address, language, topics, postcodes) -> dict:
    """Validated, normalised values, or ValidationError with one message list per field."""
    errors: dict[str, list[str]] = {}
    clean: dict = {"medium": medium}
    if medium not in (Medium.EMAIL, Medium.SMS):
        errors["medium"] = [_("Choose e-mail or SMS.")]
    elif medium == Medium.SMS and sms_channel() is None:
        errors["medium"] = [_("Alerts by SMS are not available at the moment.")]
    else:
        try:
            clean["address"] = normalise_address(medium, address)
        except ValidationError as error:
            errors["address"] = list(error.messages)
    if language not in {code for code, _name in settings.LANGUAGES}:
        errors["language"] = [_("Choose one of the languages in the list.")]
    clean["language"] = language
    allowed = [value for value, _label in topic_choices()]
    topics = list(topics or [])
    if any(t not in allowed for t in topics):
        errors["topics"] = [_("Choose topics from the list.")]
    clean["topics"] = [t for t in allowed if t in topics]
    codes = parse_postcodes(postcodes or [])
    bad = [p for p in codes if not _POSTCODE.match(p)]
    codes = list(dict.fromkeys(codes))
    if bad:
        errors["postcodes"] = [
            _("%(value)s is not a Belgian postcode (four digits, 1000 to 9999).")
            % {"value": bad[0][:20]}
        ]
    elif len(codes) > MAX_POSTCODES:
        errors["postcodes"] = [
            _("Enter at most %(max)d postcodes (leave empty for the whole area).")
            % {"max": MAX_POSTCODES}
        ]
    clean["postcodes"] = codes
    if errors:
        raise ValidationError(errors)
    return clean


# --- throttling -------------------------------------------------------------------------------


def _rate_key(purpose: str, value: str, now) -> str:
    # The salt changes every day, so yesterday's keys cannot be linked to today's, and a key
    # cannot be checked against a guessed address without SECRET_KEY.
    salt = hmac.new(
        settings.SECRET_KEY.encode(), f"ratehit:{now.date().isoformat()}".encode(), hashlib.sha256
    ).hexdigest()
    return hashlib.sha256(f"{purpose}\0{value}\0{salt}".encode()).hexdigest()


def _hit(purpose: str, value: str, *, limit: int, window: timedelta, now=None) -> None:
    """Count one hit; raise Throttled (without counting) when the limit is reached."""
    now = now or timezone.now()
    key = _rate_key(purpose, value, now)
    if RateHit.objects.filter(key=key, at__gte=now - window).count() >= limit:
        raise Throttled(purpose)
    RateHit.objects.create(key=key, at=now)


def check_source(purpose: str, source: str, now=None) -> None:
    """At most ``COPPS_SUBSCRIBE_PER_SOURCE_PER_HOUR`` requests per client address and hour."""
    _hit(
        f"{purpose}:source",
        throttle_bucket(source or "-"),
        limit=per_source_per_hour(),
        window=timedelta(hours=1),
        now=now,
    )


def _check_address(medium: str, address: str, now=None) -> None:
    _hit(
        "message:address",
        f"{medium}:{address}",
        limit=per_address_per_day(),
        window=timedelta(days=1),
        now=now,
    )


# --- sending ----------------------------------------------------------------------------------


def sms_channel() -> Channel | None:
    """The first usable SMS channel (its adapter's ``send_text`` sends codes and links)."""
    return (
        Channel.objects.filter(kind__in=SMS_KINDS, enabled=True)
        .exclude(status=ChannelStatus.DISABLED)
        .order_by("pk")
        .first()
    )


def _send_sms(to: str, text: str, reference: str) -> None:
    channel = sms_channel()
    if channel is None:
        raise NotSent("no SMS channel")
    try:
        channel.adapter.send_text(to, text, reference=reference)
    except Exception as error:  # gateway down, refused, timeout: the citizen may try again
        logger.warning(
            "SMS to a subscriber not sent via %s: %s", channel.slug, type(error).__name__
        )
        raise NotSent("sms") from error


def _send_email(to: str, subject: str, body: str) -> None:
    try:
        send_mail(subject, body, None, [to])
    except Exception as error:
        logger.warning("Mail to a subscriber not sent: %s", type(error).__name__)
        raise NotSent("email") from error


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _code_hash(subscription: Subscription, code: str) -> str:
    # Salted with the row's random secret, so equal codes of different rows never hash alike.
    return _sha256(f"code:{subscription.secret}:{code}")


def _confirm_email_url(token: str, language: str) -> str:
    with translation.override(language):
        return settings.SITE_URL + reverse("subscribe:confirm", args=[token])


def _email_confirmation(subscription: Subscription, token: str, prefs: dict, *, change: bool):
    language = prefs["l"]
    link = _confirm_email_url(token, language)
    hours = int(LINK_VALID.total_seconds() // 3600)
    with translation.override(language):
        force = settings.FORCE_NAME
        if change:
            subject = _("%(force)s: confirm your new alert preferences") % {"force": force}
            intro = _(
                "You are already subscribed to alerts from %(force)s. Someone (probably you) "
                "asked to change your preferences. To use the new preferences, open this link "
                "and press the button:"
            ) % {"force": force}
        else:
            subject = _("%(force)s: confirm your subscription") % {"force": force}
            intro = _(
                "Someone (probably you) asked to receive alerts from %(force)s at this address. "
                "To confirm, open this link and press the button:"
            ) % {"force": force}
        ignore = _(
            "The link works for %(hours)d hours. If you did not ask for this, ignore this "
            "message: nothing changes, and an unconfirmed request is deleted."
        ) % {"hours": hours}
        lines = [intro, "", link, "", ignore]
        if change:
            lines += ["", _("To stop all alerts: %(url)s") % {"url": unsubscribe_url(subscription)}]
        _send_email(subscription.address, subject, "\n".join(lines) + "\n")


def _sms_confirmation(subscription: Subscription, code: str, prefs: dict, *, change: bool):
    minutes = int(CODE_VALID.total_seconds() // 60)
    with translation.override(prefs["l"]):
        if change:
            text = _(
                "%(force)s: code %(code)s confirms your new alert preferences (valid %(minutes)d "
                "min). Did not ask? Ignore this."
            )
        else:
            text = _(
                "%(force)s: your confirmation code is %(code)s (valid %(minutes)d min). "
                "Did not ask? Ignore this."
            )
        text = text % {"force": settings.FORCE_NAME, "code": code, "minutes": minutes}
    _send_sms(
        subscription.address, text, reference=f"confirm-{subscription.pk}-{secrets.token_hex(4)}"
    )


# --- tickets (carry the chosen preferences to the confirmation step) ---------------------------


def _prefs(clean: dict) -> dict:
    return {"t": clean["topics"], "p": clean["postcodes"], "l": clean["language"]}


def _email_token(subscription: Subscription, prefs: dict) -> str:
    payload = {"i": subscription.pk, "n": secrets.token_urlsafe(12), **prefs}
    return signing.dumps(payload, salt=_CONFIRM_SALT, compress=True)


def make_ticket(subscription: Subscription, prefs: dict) -> str:
    """Encrypted (the page must not tell whether the address was already known), with a
    timestamp checked against CODE_VALID."""
    return crypto.encrypt(json.dumps({"i": subscription.pk, **prefs}))


def _read_ticket(ticket: str) -> dict:
    try:
        data = json.loads(crypto.decrypt(ticket, ttl=int(CODE_VALID.total_seconds())))
    except (InvalidToken, ValueError, TypeError):
        raise InvalidConfirmation("unknown") from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise InvalidConfirmation("unknown")
    return data


# --- actions ----------------------------------------------------------------------------------


def subscribe(*, medium, address, language, topics=(), postcodes=(), source: str) -> Pending:
    """Ask for alerts: validate, throttle, store a pending request, send the confirmation.

    Raises ValidationError (field errors: medium, address, language, topics, postcodes),
    Throttled (too many requests from ``source`` — the client's address, used only hashed — or
    too many messages to this address today) or NotSent. The return value does not depend on
    whether the address was new, pending or active.
    """
    now = timezone.now()
    clean = _clean(
        medium=medium, address=address, language=language, topics=topics, postcodes=postcodes
    )
    check_source("subscribe", source, now)
    _check_address(clean["medium"], clean["address"], now)
    prefs = _prefs(clean)
    valid = LINK_VALID if clean["medium"] == Medium.EMAIL else CODE_VALID
    try:
        with transaction.atomic():
            subscription = (
                Subscription.objects.select_for_update()
                .filter(medium=clean["medium"], address=clean["address"])
                .first()
            )
            change = subscription is not None and subscription.state == SubscriptionState.ACTIVE
            if subscription is None:
                subscription = Subscription(
                    medium=clean["medium"],
                    address=clean["address"],
                    language=clean["language"],
                    topics=clean["topics"],
                    postcodes=clean["postcodes"],
                    secret=secrets.token_hex(32),
                )
            elif not change:  # pending: the latest request wins
                subscription.language = clean["language"]
                subscription.topics = clean["topics"]
                subscription.postcodes = clean["postcodes"]
            subscription.confirm_expires_at = now + valid
            subscription.confirm_attempts = 0
            subscription.confirm_hash = ""
            subscription.save()
            if clean["medium"] == Medium.EMAIL:
                token = _email_token(subscription, prefs)
                subscription.confirm_hash = _sha256(token)
                subscription.save(update_fields=["confirm_hash"])
                _email_confirmation(subscription, token, prefs, change=change)
                result = Pending(medium=Medium.EMAIL)
            else:
                code = f"{secrets.randbelow(1_000_000):06d}"
                subscription.confirm_hash = _code_hash(subscription, code)
                subscription.save(update_fields=["confirm_hash"])
                _sms_confirmation(subscription, code, prefs, change=change)
                result = Pending(medium=Medium.SMS, ticket=make_ticket(subscription, prefs))
            audit.record(
                actor="citizen",
                action="subscription.change_requested" if change else "subscription.requested",
                object_type="subscription",
                object_id=str(subscription.pk),
                data={"medium": subscription.medium},
            )
    except IntegrityError:
        # A concurrent request for the same address won the race; it sends its own confirmation.
        # Answer the same as always, so the race reveals nothing either.
        if clean["medium"] == Medium.SMS:
            return Pending(medium=Medium.SMS, ticket=crypto.encrypt(json.dumps({"i": 0})))
        return Pending(medium=Medium.EMAIL)
    return result


def _activate(subscription: Subscription, prefs: dict, now) -> Subscription:
    change = subscription.state == SubscriptionState.ACTIVE
    subscription.topics = list(prefs.get("t") or [])
    subscription.postcodes = list(prefs.get("p") or [])
    if prefs.get("l") in {code for code, _name in settings.LANGUAGES}:
        subscription.language = prefs["l"]
    subscription.state = SubscriptionState.ACTIVE
    subscription.confirmed_at = now
    subscription.confirm_hash = ""
    subscription.confirm_expires_at = None
    subscription.confirm_attempts = 0
    subscription.save()
    audit.record(
        actor="citizen",
        action="subscription.change" if change else "subscription.confirm",
        object_type="subscription",
        object_id=str(subscription.pk),
        data={"medium": subscription.medium},
    )
    return subscription


def confirm_email(token: str, now=None) -> Subscription:
    """Activate the subscription (or apply the requested change) a confirmation link is for.

    Raises InvalidConfirmation("unknown") for a forged, malformed or already used link and
    InvalidConfirmation("expired") for one older than LINK_VALID."""
    now = now or timezone.now()
    if len(token) > 1000:
        raise InvalidConfirmation("unknown")
    try:
        data = signing.loads(token, salt=_CONFIRM_SALT)
    except signing.BadSignature:
        raise InvalidConfirmation("unknown") from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise InvalidConfirmation("unknown")
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(pk=data["i"]).first()
        if subscription is None or not subscription.confirm_hash:
            raise InvalidConfirmation("unknown")
        if not hmac.compare_digest(subscription.confirm_hash, _sha256(token)):
            raise InvalidConfirmation("unknown")
        if subscription.confirm_expires_at is None or subscription.confirm_expires_at < now:
            raise InvalidConfirmation("expired")
        return _activate(subscription, data, now)


def confirm_code(ticket: str, code: str, now=None) -> Subscription:
    """Check an SMS code against the request ``ticket`` (from the code page's hidden field).

    A wrong code counts; after MAX_CODE_ATTEMPTS wrong codes a pending request is deleted (an
    active subscription keeps its current preferences, only the change request is dropped).
    Codes are compared in constant time. Raises InvalidConfirmation with reason "unknown",
    "expired", "wrong_code" or "too_many"."""
    now = now or timezone.now()
    data = _read_ticket(ticket)
    code = (code or "").strip().replace(" ", "")
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(pk=data["i"]).first()
        if subscription is None or not subscription.confirm_hash:
            raise InvalidConfirmation("unknown")
        if subscription.confirm_expires_at is None or subscription.confirm_expires_at < now:
            raise InvalidConfirmation("expired")
        if hmac.compare_digest(subscription.confirm_hash, _code_hash(subscription, code[:12])):
            return _activate(subscription, data, now)
        subscription.confirm_attempts += 1
        if subscription.confirm_attempts < MAX_CODE_ATTEMPTS:
            subscription.save(update_fields=["confirm_attempts"])
            wrong = True
        else:
            if subscription.state == SubscriptionState.PENDING:
                subscription.delete()
            else:
                subscription.confirm_hash = ""
                subscription.confirm_expires_at = None
                subscription.confirm_attempts = 0
                subscription.save()
            wrong = False
    if wrong:
        raise InvalidConfirmation("wrong_code")
    raise InvalidConfirmation("too_many")


def unsubscribe(subscription: Subscription, *, how: str = "link") -> None:
    """Delete the subscription: nothing about the subscriber is kept. Unsent copies of alerts
    lose their link to it (Recipient.subscription is SET_NULL) and are not sent."""
    with transaction.atomic():
        pk, medium = subscription.pk, subscription.medium
        subscription.delete()
        audit.record(
            actor="citizen",
            action="subscription.unsubscribe",
            object_type="subscription",
            object_id=str(pk),
            data={"medium": medium, "how": how},
        )


def request_unsubscribe_link(*, medium: str, address: str, source: str) -> None:
    """Send the unsubscribe link to ``address`` if it has a subscription; silently nothing
    otherwise (the page says the same in both cases). Raises ValidationError for an address
    that is not one, Throttled, or NotSent."""
    if medium not in (Medium.EMAIL, Medium.SMS):
        raise ValidationError({"medium": [_("Choose e-mail or SMS.")]})
    try:
        address = normalise_address(medium, address)
    except ValidationError as error:
        raise ValidationError({"address": list(error.messages)}) from None
    now = timezone.now()
    check_source("unsubscribe", source, now)
    # Counted for every valid address, known or not: the throttle must not tell them apart.
    _check_address(medium, address, now)
    subscription = Subscription.objects.filter(medium=medium, address=address).first()
    if subscription is None:
        return
    url = unsubscribe_url(subscription)
    try:
        with translation.override(subscription.language):
            if medium == Medium.EMAIL:
                subject = _("%(force)s: stop your alerts") % {"force": settings.FORCE_NAME}
                body = _(
                    "To stop receiving alerts from %(force)s, open this link and press the button:"
                    "\n\n%(url)s\n\nIf you did not ask for this, ignore this message: nothing changes."
                ) % {"force": settings.FORCE_NAME, "url": url}
                _send_email(address, subject, body + "\n")
            else:
                text = _("%(force)s: to stop alerts, open %(url)s") % {
                    "force": settings.FORCE_NAME,
                    "url": url,
                }
                _send_sms(
                    address, text, reference=f"unsub-{subscription.pk}-{secrets.token_hex(4)}"
                )
    except NotSent:
        # Known or not, the citizen gets the same page: a failure to send must not tell them
        # apart (the mail server or gateway being down is logged, without the address).
        logger.warning("could not send an unsubscribe link (%s)", medium)
        return
    audit.record(
        actor="citizen",
        action="subscription.unsubscribe_link_sent",
        object_type="subscription",
        object_id=str(subscription.pk),
        data={"medium": medium},
    )


def delete_stale_subscriptions(now=None) -> int:
    """Retention (worker job): unconfirmed requests past their expiry are deleted, expired
    change requests of active subscriptions dropped, throttling keys older than 24 h deleted.
    Returns the number of rows deleted; leaves an audit note when it deleted subscriptions."""
    now = now or timezone.now()
    stale = Subscription.objects.filter(state=SubscriptionState.PENDING, confirm_expires_at__lt=now)
    with transaction.atomic():
        pending = stale.delete()[0]
        Subscription.objects.filter(
            state=SubscriptionState.ACTIVE, confirm_expires_at__lt=now
        ).update(confirm_hash="", confirm_expires_at=None, confirm_attempts=0)
        hits = RateHit.objects.filter(at__lt=now - RATE_HIT_RETENTION).delete()[0]
        if pending:
            audit.record(
                actor="worker",
                action="subscription.retention",
                object_type="subscription",
                data={"unconfirmed_deleted": pending},
            )
    return pending + hits
