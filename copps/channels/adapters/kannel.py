"""SMS through Kannel's HTTP sendsms interface (smsbox ``/cgi-bin/sendsms``).

One sendsms POST per subscriber, the parameters in Kannel's X-Kannel headers (so neither the
password nor the citizen's number is ever part of a URL): ``To`` (E.164), the text as the UTF-8
body (``Content-Type: text/plain; charset=utf-8``) with ``Coding`` 0 (GSM-7) or 2 (UCS-2, when
the text has characters GSM-7 lacks), ``From`` the sender, ``DLR-Mask`` 31 and a ``DLR-Url``
that names the copy and carries an HMAC
(``/channels/sms/dlr/<recipient id>/<mac>/``), so Kannel's delivery reports come back to copps
and cannot be forged. The copy's client reference (``sms-<recipient id>-<mac>``) is its
external id.

Kannel's answers: 202 "0: Accepted for delivery" or 200 "Sent." — sent; 503 "... queued for
later delivery" — accepted (Kannel keeps it); 403 "Authorization failed" — the credentials are
bad (the channel is disabled); another 4xx ("Not routable", "Number barred") — that copy fails
for good. Connection refused — nothing went out, retried later. A read timeout — the copy is
*unknown*: Kannel has no idempotency, so it is never resent blindly; a delivery report that
arrives later settles it.

``check()`` POSTs to sendsms with the credentials and without a receiver: Kannel checks the
credentials first, so 403 "Authorization failed" means bad credentials and 400 "Missing
receiver number" means they are good — and nothing is sent.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from copps.newsroom.renditions import is_gsm7

from .. import sms_inbound
from ..base import Adapter, ChannelError, Field

SENDER_RE = re.compile(r"^(\+?\d{1,15}|[A-Za-z0-9 .&-]{1,11})$")


def _coding(text: str) -> str:
    """Kannel's coding: 0 (GSM-7) when every character has one, else 2 (UCS-2)."""
    return "0" if is_gsm7(text) else "2"


class KannelAdapter(Adapter):
    kind = "sms_kannel"
    rendition = "sms"
    subscribers = True
    medium = "sms"
    batch_size = 100
    # Kannel on the force's own network: the SMSC link sets the pace, Kannel queues.
    rate_per_minute = 6000
    fields = (
        Field(
            "sendsms_url",
            _("sendsms URL"),
            help=_("Kannel smsbox sendsms interface, e.g. http://127.0.0.1:13013/cgi-bin/sendsms"),
        ),
        Field("username", _("sendsms user"), help=_("The sendsms-user's username.")),
        Field(
            "sender",
            _("Sender"),
            required=False,
            help=_("Number or name (up to 11 letters) the texts come from; empty: Kannel's."),
        ),
        Field(
            "concurrency",
            _("Requests at once"),
            required=False,
            default="16",
            help=_("How many texts may be in flight at once (1-32)."),
        ),
        Field("password", _("sendsms password"), secret=True),
    )
    timeout = 10.0

    @property
    def concurrency(self) -> int:
        """How many requests may be in flight at once (``concurrency`` setting, 1-32).

        Sandbox accounts send one at a time: the imitation answers in-process and writes to
        the database, which must stay in the caller's thread."""
        if self.channel.sandbox:
            return 1
        try:
            return max(1, min(32, int(self.config.get("concurrency") or 16)))
        except (TypeError, ValueError):
            return 16

    def _headers(self) -> dict[str, str]:
        headers = {
            "X-Kannel-Username": self.setting("username"),
            "X-Kannel-Password": self.setting("password"),
            "Content-Type": "text/plain; charset=utf-8",
        }
        sender = self.setting("sender")
        if sender:
            headers["X-Kannel-From"] = sender
        return headers

    def _post(self, headers: dict[str, str], text: str, what: str):
        if self.channel.sandbox:
            # No imitation of Kannel: a sandbox SMS account is an "SMS (HTTP gateway)" one.
            raise ChannelError(
                "Kannel channels have no sandbox; use an SMS (HTTP gateway) sandbox channel",
                permanent=True,
            )
        # POST with X-Kannel headers: the password and the citizen's number stay out of URLs
        # (and so out of every log that records URLs).
        return self.call(
            "POST",
            self.setting("sendsms_url"),
            what=what,
            content=text.encode("utf-8"),
            headers=headers,
            timeout=self.timeout,
        )

    def _sendsms(self, to: str, text: str, extra: dict[str, str] | None = None) -> str:
        """One sendsms call; returns Kannel's answer, raises ChannelError as classified."""
        what = "sendsms"
        headers = self._headers() | {"X-Kannel-To": to, "X-Kannel-Coding": _coding(text)}
        response = self._post(headers | (extra or {}), text, what)
        body = response.text.strip()[:200]
        status = response.status_code
        if status in (200, 202):
            return body
        if status == 503 and "queued" in body.lower():
            return body  # Kannel keeps it and sends it when the SMSC is back
        if status in (401, 403) and "authori" in body.lower():
            raise ChannelError(f"{what}: Kannel: {body}", permanent=True, disable_channel=True)
        if 400 <= status < 500 and status not in (408, 429):
            raise ChannelError(f"{what}: Kannel: HTTP {status}: {body}", permanent=True)
        raise ChannelError.from_http(response, f"{what}: Kannel")

    def send_batch(self, delivery, recipients):
        text = str(delivery.payload.get("text") or "")
        if not text:
            raise ChannelError("the SMS rendition is empty", permanent=True)

        def send_one(recipient) -> str:
            extra = {"X-Kannel-DLR-Mask": "31", "X-Kannel-DLR-Url": dlr_url(recipient.pk)}
            self._sendsms(recipient.subscription.address, text, extra)
            return sms_inbound.reference_for(recipient.pk)

        dlr_url = sms_inbound.dlr_url

        return sms_inbound.send_each(recipients, send_one, concurrency=self.concurrency)

    def send_text(self, to: str, text: str, *, reference: str) -> str:
        self._sendsms(to, text)
        return reference

    def check(self) -> str:
        # No receiver: Kannel checks the credentials, then refuses for the missing receiver.
        response = self._post(self._headers(), "", "check")
        body = response.text.strip()[:200]
        if response.status_code in (401, 403):
            raise ChannelError(f"Kannel: {body}", permanent=True, disable_channel=True)
        if response.status_code == 400 and "receiver" in body.lower():
            host = urlsplit(self.setting("sendsms_url")).netloc
            return f"Kannel {host} ({self.setting('username')})"
        raise ChannelError(
            f"Kannel answered an unexpected HTTP {response.status_code}: {body}", permanent=True
        )

    def preview(self, delivery) -> dict:
        from copps.newsroom.renditions import sms_info

        text = str(delivery.payload.get("text") or "")
        encoding, units, segments = sms_info(text)
        return {"text": text, "title": None, "encoding": encoding, "segments": segments}

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        url = str(config.get("sendsms_url", ""))
        if url and not url.startswith(("http://", "https://")):
            errors["sendsms_url"] = str(_("Enter an http or https URL."))
        sender = str(config.get("sender", "")).strip()
        if sender and not SENDER_RE.match(sender):
            errors["sender"] = str(
                _("Use a number of up to 15 digits or a name of up to 11 letters and digits.")
            )
        return errors
