"""What SMS gateways send back into copps: delivery reports and citizens' texts.

Delivery reports
    Every copy of an SMS carries a client reference ``sms-<recipient id>-<mac>`` (the MAC is an
    HMAC-SHA256 over the recipient id with ``SECRET_KEY``). Kannel calls the dlr-url
    ``/channels/sms/dlr/<recipient id>/<mac>/?status=%d``; a generic HTTP gateway POSTs
    ``{"reference", "status"}`` to ``/channels/sms/report/``. Without the MAC nobody can forge
    a report for a copy. ``apply_report`` records the network's verdict on the Recipient and,
    for a final failure, marks the copy failed.

Inbound texts
    Kannel's sms-service calls ``/channels/sms/inbound/`` with the sender's number and the text;
    the response body is the reply. ``handle_inbound`` runs the ``HANDLERS`` in order; the first
    that answers wins. The STOP keywords delete the number's SMS subscription
    (``stop_by_sms``); anything else gets a short reply pointing to 112 / 101. Other features
    (a text-to-police inbox) extend ``HANDLERS``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from copps.audit import log as audit

from .base import ChannelError
from .models import Delivery, Medium, Recipient, Subscription
from .states import DeliveryState

logger = logging.getLogger("copps.channels.sms")
S = DeliveryState

# The largest primary key the databases store; a larger id in a URL cannot be ours.
MAX_ID = 2**63 - 1


# References and MACs ------------------------------------------------------------------------


def dlr_mac(recipient_id: int) -> str:
    """The MAC that proves a delivery report for ``recipient_id`` comes from our gateway."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"sms-dlr:{recipient_id}".encode(), hashlib.sha256
    ).hexdigest()[:32]


def valid_mac(recipient_id: int, mac: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str (a forged MAC must be a 403, not a 500).
    return hmac.compare_digest(dlr_mac(recipient_id).encode(), str(mac).encode())


def reference_for(recipient_id: int) -> str:
    """Our client reference for one copy: deterministic (a retry carries the same one)."""
    return f"sms-{recipient_id}-{dlr_mac(recipient_id)}"


REFERENCE_RE = re.compile(r"^sms-(\d{1,19})-([0-9a-f]{32})$")


def recipient_id_for_reference(reference: str) -> int | None:
    """The recipient id a reference names, or None if it is malformed or forged."""
    match = REFERENCE_RE.match(str(reference or ""))
    if not match:
        return None
    rid = int(match.group(1))
    if rid > MAX_ID or not valid_mac(rid, match.group(2)):
        return None
    return rid


def dlr_url(recipient_id: int) -> str:
    """Kannel's dlr-url for one copy (Kannel fills in %d, %T and %A)."""
    path = reverse("sms-dlr", args=[recipient_id, dlr_mac(recipient_id)])
    return f"{settings.SITE_URL}{path}?status=%d&ts=%T&reply=%A"


def report_url() -> str:
    """Where a generic HTTP gateway POSTs its delivery reports."""
    return settings.SITE_URL + reverse("sms-report")


# Sending a batch ------------------------------------------------------------------------------


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    # Long-lived threads: each keeps its keep-alive connection to the gateway between batches.
    with _POOLS_LOCK:
        if size not in _POOLS:
            _POOLS[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="copps-sms")
        return _POOLS[size]


def _stops(err: ChannelError) -> bool:
    """The gateway is in trouble (down, slow, throttling, bad credentials): stop the batch."""
    return err.disable_channel or not err.permanent


def _not_sent(err: ChannelError) -> ChannelError:
    # Refused credentials are permanent for the channel, not for the copies: they wait (pending)
    # while the channel is disabled, and go out once an administrator has fixed it.
    return ChannelError(
        f"not sent: the batch stopped ({err})",
        permanent=err.permanent and not err.disable_channel,
        retry_after=err.retry_after,
    )


def _keep_copies(err: ChannelError) -> ChannelError:
    if not err.disable_channel:
        return err
    return ChannelError(str(err), disable_channel=True)


def send_each(
    recipients: list[Recipient], send_one: Callable[[Recipient], str], *, concurrency: int = 1
) -> dict[int, Any]:
    """Send copies one by one (up to ``concurrency`` at a time), as ``Adapter.send_batch`` must
    report them.

    A permanent error of one copy (a number the gateway will not route) fails that copy only.
    An error that says the gateway is in trouble (refused, timed out, 5xx, 429, bad
    credentials) stops the batch. Bad credentials disable the channel but keep the copies
    pending: they go out once an administrator has fixed the channel. The first copy goes alone, as a probe: if it could not go out
    the whole batch is raised (the engine puts every copy back and backs off). Later, the copies
    already sent keep their result, the failing one gets its error (unknown if it may have gone
    out) and the ones not tried yet are returned as "not sent".

    ``send_one`` must not touch the database (it may run in another thread).
    """
    results: dict[int, Any] = {}
    if not recipients:
        return results
    first, rest = recipients[0], recipients[1:]
    try:
        results[first.pk] = send_one(first)
    except ChannelError as err:
        if _stops(err) and not err.maybe_sent:
            raise _keep_copies(err) from None
        results[first.pk] = err
        if _stops(err):
            results.update({r.pk: _not_sent(err) for r in rest})
            return _with_early_reports(results)
    stopped: list[ChannelError] = []

    def attempt(recipient: Recipient) -> Any:
        if stopped:
            return _not_sent(stopped[0])
        try:
            return send_one(recipient)
        except ChannelError as err:
            if _stops(err):
                stopped.append(err)
            return _keep_copies(err)

    if concurrency > 1 and len(rest) > 1:
        values = list(_pool(min(concurrency, 32)).map(attempt, rest))
    else:
        values = [attempt(r) for r in rest]
    results.update({r.pk: value for r, value in zip(rest, values, strict=True)})
    return _with_early_reports(results)


def _with_early_reports(results: dict[int, Any]) -> dict[int, Any]:
    """A gateway may report a final failure before the batch is over (an SMSC rejecting at
    once): the report was recorded on the copy while it was "sending", and the engine is about
    to write the batch's results. Return that failure, so the copy is not counted as sent."""
    sent = [pk for pk, value in results.items() if isinstance(value, str)]
    if not sent:
        return results
    rejected = Recipient.objects.filter(pk__in=sent, report__in=FINAL_FAILURES).values_list(
        "pk", "report"
    )
    for pk, report in rejected:
        results[pk] = ChannelError(f"delivery report: {report}", permanent=True)
    return results


# Delivery reports -----------------------------------------------------------------------------

# Kannel's DLR types (the %d of a dlr-url) and what they mean for the copy.
KANNEL_STATUS = {1: "delivered", 2: "failed", 4: "buffered", 8: "submitted", 16: "rejected"}
REPORTS = ("delivered", "failed", "buffered", "submitted", "rejected")
FINAL_FAILURES = {"failed", "rejected"}
FINAL = {"delivered", *FINAL_FAILURES}
# Words generic gateways use for the same things.
REPORT_SYNONYMS = {
    "sent": "submitted",
    "accepted": "submitted",
    "queued": "buffered",
    "enroute": "buffered",
    "undelivered": "failed",
    "undeliverable": "failed",
    "expired": "failed",
}


def normalise_report(status: object) -> str | None:
    word = str(status or "").strip().lower()
    word = REPORT_SYNONYMS.get(word, word)
    return word if word in REPORTS else None


def kannel_report(status: str) -> str | None:
    """Kannel's %d (a bitmask; a report has one bit set) as one of REPORTS."""
    try:
        value = int(str(status).strip())
    except ValueError:
        return None
    return KANNEL_STATUS.get(value)


def apply_report(recipient_id: int, report: str, detail: str = "") -> bool | None:
    """Record a delivery report on a copy. Returns None if there is no such copy, else whether
    anything changed.

    A final report (delivered, failed, rejected) is never overwritten by an intermediate one
    (reports may arrive out of order). A final failure marks the copy failed. A report for a
    copy whose outcome was unknown (the gateway's answer was lost) settles it: the gateway had
    it. The delivery's counts are brought up to date when a copy's state changes.
    """
    with transaction.atomic():
        recipient = Recipient.objects.select_for_update().filter(pk=recipient_id).first()
        if recipient is None:
            return None
        if recipient.report in FINAL and report not in FINAL:
            return False
        fields: dict[str, Any] = {"report": report, "updated_at": timezone.now()}
        if report in FINAL_FAILURES and recipient.state in (S.SENT, S.UNKNOWN, S.SENDING):
            fields["state"] = S.FAILED
            fields["last_error"] = f"delivery report: {report} {detail}".strip()[:500]
        elif recipient.state == S.UNKNOWN:
            fields["state"] = S.SENT
            fields["last_error"] = ""
        changed = Recipient.objects.filter(pk=recipient_id).update(**fields)
        if "state" in fields and fields["state"] != recipient.state:
            recount(recipient.delivery_id)
    return bool(changed)


def recount(delivery_id: int) -> None:
    """Bring a closed fan-out's counts up to date (an open one is counted by the engine's
    ``finish_fanouts`` when it closes)."""
    recipients = Recipient.objects.filter(delivery_id=delivery_id)
    Delivery.objects.filter(pk=delivery_id).exclude(state=S.SENDING).update(
        recipients_sent=recipients.filter(state=S.SENT).count(),
        recipients_failed=recipients.filter(state=S.FAILED).count(),
        recipients_unknown=recipients.filter(state=S.UNKNOWN).count(),
    )


# Inbound texts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundSms:
    sender: str  # as the gateway gave it
    to: str
    text: str

    @property
    def words(self) -> str:
        """The text trimmed (also of end punctuation), case-folded, accents kept, whitespace
        collapsed: "  Stop! " reads as "stop"."""
        return " ".join(self.text.split()).casefold().strip(" .!?,;:")


# Keyword -> the language it is in (None: reply in the subscription's language).
STOP_KEYWORDS: dict[str, str | None] = {
    "stop": None,
    "stop all": None,
    "stopall": None,
    "uit": "nl",
    "stoppen": "nl",
    "arret": "fr",
    "arrêt": "fr",
    "halt": "de",
}


def normalise_phone(raw: str) -> str | None:
    """An E.164 number from what a gateway reports as the sender, or None.

    Gateways give ``+32470123456``, ``0032470123456``, ``32470123456`` or the national
    ``0470123456``; national numbers are read as Belgian.
    """
    raw = str(raw or "").strip()[:40]
    digits = re.sub(r"[\s./()-]", "", raw)
    candidates = [digits]
    if digits.startswith("00"):
        candidates.append("+" + digits[2:])
    elif digits.isdigit() and not digits.startswith("0"):
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, "BE")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def stop_by_sms(phone: str) -> int:
    """Delete the SMS subscription of ``phone`` (any state); returns how many were deleted.

    The audit record names the subscription, never the number.
    """
    number = normalise_phone(phone)
    if number is None:
        return 0
    with transaction.atomic():
        ids = list(
            Subscription.objects.filter(medium=Medium.SMS, address=number).values_list(
                "pk", flat=True
            )
        )
        for pk in ids:
            audit.record(
                actor="sms",
                action="subscription.stop_by_sms",
                object_type="subscription",
                object_id=str(pk),
                data={"medium": "sms"},
            )
        deleted, _rows = Subscription.objects.filter(pk__in=ids).delete()
    return len(ids) if deleted else 0


def _language_of(number: str | None) -> str | None:
    if number is None:
        return None
    return (
        Subscription.objects.filter(medium=Medium.SMS, address=number)
        .values_list("language", flat=True)
        .first()
    )


def _reply_language(*choices: str | None) -> str:
    available = {code for code, _name in settings.LANGUAGES}
    for choice in choices:
        if choice and choice in available:
            return choice
    return "en" if "en" in available else settings.LANGUAGE_CODE


def handle_stop(sms: InboundSms) -> str | None:
    if sms.words not in STOP_KEYWORDS:
        return None
    language = _reply_language(_language_of(normalise_phone(sms.sender)), STOP_KEYWORDS[sms.words])
    removed = stop_by_sms(sms.sender)
    with translation.override(language):
        if removed:
            return _("You will no longer receive police messages by SMS on this number.")
        return _("This number has no subscription to police messages.")


def handle_other(sms: InboundSms) -> str | None:
    language = _reply_language(_language_of(normalise_phone(sms.sender)))
    with translation.override(language):
        return _(
            "This number only handles subscriptions (send STOP to unsubscribe). "
            "Emergency: call 112. Police, no emergency: call 101."
        )


# Extend by inserting handlers before ``handle_other`` (the catch-all).
HANDLERS: list[Callable[[InboundSms], str | None]] = [handle_stop, handle_other]


def handle_inbound(sms: InboundSms) -> str:
    """The reply to an inbound text (possibly empty: no reply)."""
    for handler in HANDLERS:
        reply = handler(sms)
        if reply is not None:
            return reply
    return ""
