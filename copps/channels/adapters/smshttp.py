"""SMS through a generic JSON HTTP gateway (the protocol is documented in docs/channels/sms.md).

Sending: ``POST <url>`` with ``Authorization: Bearer <api key>`` and
``{"to": "+32470123456", "from": "<sender>", "text": "...", "reference": "<our reference>",
"status_callback": "<SITE_URL>/channels/sms/report/"}``; a 2xx answer carries
``{"id": "<gateway's message id>"}``. Checking: ``GET <url>`` with the same header answers 2xx
when the key is good, 401/403 when it is not (nothing is sent).

Delivery reports: the gateway POSTs ``{"reference", "status"}`` to ``/channels/sms/report/``;
the reference (``sms-<recipient id>-<mac>``) carries an HMAC, so a report cannot be forged.

Idempotency: when the gateway deduplicates by our reference (``dedupe_reference``), a copy
whose answer was lost (timeout, 5xx, garbled body) is retried with the same reference; without
it such a copy is *unknown* and never resent blindly. The class-level ``idempotent`` flag stays
False (it is per channel here); the distinction is made per copy in ``send_batch``.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from .. import sms_inbound
from ..base import Adapter, ChannelError, Field

SENDER_RE = re.compile(r"^(\+?\d{1,15}|[A-Za-z0-9 .&-]{1,11})$")


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


class HttpSmsAdapter(Adapter):
    kind = "sms_http"
    rendition = "sms"
    subscribers = True
    medium = "sms"
    batch_size = 100
    rate_per_minute = 6000
    sandbox_base = "https://sms.sandbox.invalid/v1/messages"
    fields = (
        Field("url", _("Gateway URL"), help=_("Receives one JSON POST per text.")),
        Field(
            "sender",
            _("Sender"),
            required=False,
            help=_("Number or name (up to 11 letters) the texts come from."),
        ),
        Field(
            "dedupe_reference",
            _("The gateway deduplicates by our reference"),
            required=False,
            help=_("Only if the gateway guarantees it: unanswered requests are then retried."),
        ),
        Field(
            "concurrency",
            _("Requests at once"),
            required=False,
            default="4",
            help=_("How many texts may be in flight at once (1-32)."),
        ),
        Field("api_key", _("API key"), secret=True),
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
            return max(1, min(32, int(self.config.get("concurrency") or 4)))
        except (TypeError, ValueError):
            return 4

    @property
    def dedupe(self) -> bool:
        return self.channel.sandbox or _truthy(self.config.get("dedupe_reference"))

    def _url(self) -> str:
        return self.sandbox_base if self.channel.sandbox else self.setting("url")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.setting('api_key')}"}

    def _send(self, to: str, text: str, reference: str, *, callback: bool) -> str:
        body = {"to": to, "from": self.setting("sender"), "text": text, "reference": reference}
        if callback:
            body["status_callback"] = sms_inbound.report_url()
        try:
            answer = self.json_call(
                "POST",
                self._url(),
                what="send",
                json=body,
                headers=self._headers(),
                ok=(200, 201, 202),
                timeout=self.timeout,
            )
        except ChannelError as err:
            if err.maybe_sent and self.dedupe:
                # The gateway will recognise the reference: sending again is safe.
                raise ChannelError(
                    f"{err} (retried with the same reference)", retry_after=err.retry_after
                ) from None
            raise
        message_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(message_id, (str, int)) or isinstance(message_id, bool):
            raise ChannelError(
                "send: the gateway's answer has no message id", maybe_sent=not self.dedupe
            )
        return str(message_id)[:200]

    def send_batch(self, delivery, recipients):
        text = str(delivery.payload.get("text") or "")
        if not text:
            raise ChannelError("the SMS rendition is empty", permanent=True)

        def send_one(recipient) -> str:
            reference = sms_inbound.reference_for(recipient.pk)
            return self._send(recipient.subscription.address, text, reference, callback=True)

        return sms_inbound.send_each(recipients, send_one, concurrency=self.concurrency)

    def send_text(self, to: str, text: str, *, reference: str) -> str:
        return self._send(to, text, reference, callback=False)

    def check(self) -> str:
        response = self.call(
            "GET", self._url(), what="check", headers=self._headers(), timeout=self.timeout
        )
        if response.status_code in (200, 204):
            return "SMS sandbox" if self.channel.sandbox else self._url()
        raise ChannelError.from_http(response, "check")

    def preview(self, delivery) -> dict:
        from copps.newsroom.renditions import sms_info

        text = str(delivery.payload.get("text") or "")
        encoding, units, segments = sms_info(text)
        return {"text": text, "title": None, "encoding": encoding, "segments": segments}

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        url = str(config.get("url", ""))
        if url and not url.startswith(("http://", "https://")):
            errors["url"] = str(_("Enter an http or https URL."))
        sender = str(config.get("sender", "")).strip()
        if sender and not SENDER_RE.match(sender):
            errors["sender"] = str(
                _("Use a number of up to 15 digits or a name of up to 11 letters and digits.")
            )
        return errors
