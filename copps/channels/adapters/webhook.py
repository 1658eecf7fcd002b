"""Generic signed webhook: POSTs each publication, edit and deletion as JSON to a URL.

Signature (like Stripe's): header ``X-Copps-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" with the shared secret>``. ``Idempotency-Key`` carries the delivery's key; the
receiver must treat a repeated key as the same event (documented in docs/api.md), which is what
makes retrying an unanswered call safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.utils.translation import gettext_lazy as _

from ..base import Adapter, ChannelError, Field, Outcome


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """Check a signature header (for receivers, and for our own tests)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookAdapter(Adapter):
    kind = "webhook"
    rendition = "webhook"
    idempotent = True
    can_edit = True
    can_delete = True
    rate_per_minute = 600
    sandbox_base = "https://webhook.sandbox.invalid/hook"
    fields = (
        Field("url", _("Webhook URL"), help=_("Receives a signed JSON POST per event.")),
        Field("signing_secret", _("Signing secret"), secret=True),
    )

    def _url(self) -> str:
        if self.channel.sandbox:
            return self.sandbox_base
        return self.setting("url")

    def _send(self, event: str, data: dict, key: str) -> dict:
        body = json.dumps({"event": event, **data}, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-Copps-Signature": sign(self.setting("signing_secret"), body),
        }
        return self.json_call(
            "POST", self._url(), what=event, content=body, headers=headers, ok=(200, 201, 202, 204)
        )

    def check(self) -> str:
        self._send("ping", {}, f"ping-{int(time.time())}")
        return self._url()

    def _message(self, delivery) -> dict:
        p = delivery.payload
        return {
            "message": {
                "id": delivery.message_id,
                "language": delivery.language,
                "kind": p.get("kind"),
                "title": p.get("title"),
                "summary": p.get("summary"),
                "text": p.get("text"),
                "body_html": p.get("body_html"),
                "url": p.get("link"),
                "images": p.get("images", []),
                "correction": p.get("correction", False),
            }
        }

    def post(self, delivery) -> Outcome:
        answer = self._send("message.published", self._message(delivery), delivery.key)
        return Outcome(str(answer.get("id") or delivery.key), str(answer.get("url") or ""))

    def update(self, delivery, target) -> Outcome:
        data = self._message(delivery) | {"target": target.external_id}
        self._send("message.updated", data, delivery.key)
        return Outcome(target.external_id, target.url)

    def delete(self, delivery, target) -> None:
        data = {"message": {"id": delivery.message_id}, "target": target.external_id}
        self._send("message.deleted", data, delivery.key)

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        url = str(config.get("url", ""))
        if url and not url.startswith(("https://", "http://")):
            errors["url"] = str(_("Enter an http or https URL."))
        if not errors and len(str(secrets.get("signing_secret", ""))) < 16:
            errors["signing_secret"] = str(_("Use at least 16 characters."))
        return errors


__all__ = ["ChannelError", "WebhookAdapter", "sign", "verify"]
