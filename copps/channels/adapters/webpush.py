"""Web push (RFC 8030) with aes128gcm message encryption (RFC 8291) and VAPID (RFC 8292).

One encrypted POST per subscriber to the push service the subscriber's browser chose (the
``push_endpoint`` of a Subscription). Push endpoints come from browsers — outside input — so the
entry point refuses private addresses (``allow_private = False``).

Per copy: a fresh ECDH key pair and salt (``encrypt_for``), a VAPID JWT per push-service origin,
cached for most of its lifetime (``vapid_headers``), and ``TTL`` / ``Urgency`` headers. Copies are
sent concurrently by a small, long-lived thread pool: each thread keeps the entry point's pooled
HTTP client, so keep-alive connections to each push service are reused across batches. The pool
threads never touch the database; subscriptions a push service reports gone are deleted
afterwards, in the calling thread.

What each answer means for the copy:

- 201/202 (200 tolerated): accepted by the push service: sent (external id: ``Location``);
- 404/410: the browser dropped the subscription: it is deleted (we keep a subscriber's data only
  while subscribed) and the copy fails permanently;
- 413 (payload too large) and other 4xx: permanent for the copy;
- 429: retryable, after Retry-After;
- 5xx: retryable. RFC 8030 §5: a push service accepts a message with 201; a 5xx is a refusal to
  accept it, not an unanswered call. If a copy did arrive twice, the browser shows it once: each
  notification carries ``tag = copps-<message id>``, so a second copy replaces the first;
- no answer (timeout after sending): maybe sent → unknown (the house rule);
- 400/401/403: the push service rejected our VAPID credentials. When no copy of the same batch
  was accepted by any push service the channel is disabled (the key pair is bad); when another
  push service accepted our token in the same batch, the credentials are fine and only that copy
  fails — so one hostile endpoint answering 401 cannot switch the channel off for everybody.

Sandbox channels encrypt as usual but record each copy as a SandboxPost (service "webpush")
instead of calling the push service: the demo shows what each subscriber would have seen.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import http_ece  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from py_vapid.jwt import sign as jwt_sign  # type: ignore[import-untyped]

from ..base import Adapter, ChannelError, Field

logger = logging.getLogger("copps.channels")

TTL_SECONDS = 24 * 3600
# A VAPID token lives this long (RFC 8292: at most 24 hours) and is reused until this close to
# its end.
JWT_LIFETIME = 12 * 3600
JWT_RENEW_BEFORE = 3600
# Push services accept at least 4096 bytes of encrypted payload (RFC 8030 §7.2).
MAX_PAYLOAD = 3800
SEND_TIMEOUT = 10.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (also tolerates standard base64 and padding); ValueError if bad."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    if not cleaned or not _B64URL.issuperset(cleaned) or len(cleaned) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# VAPID keys -----------------------------------------------------------------------------------


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (public key, private key), both base64url.

    The public key is the uncompressed P-256 point (65 bytes) that browsers take as
    ``applicationServerKey``; the private key is the raw 32-byte scalar (the form other web push
    libraries use). ``private_key_from_text`` also reads PEM and base64 DER.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    return public_key_text(key), b64url(key.private_numbers().private_value.to_bytes(32, "big"))


@lru_cache(maxsize=32)
def private_key_from_text(text: str) -> ec.EllipticCurvePrivateKey:
    """Parse a VAPID private key (raw base64url scalar, base64 DER or PEM); ValueError if bad."""
    text = (text or "").strip()
    if not text:
        raise ValueError("empty key")
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text.replace("\n", ""))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a P-256 private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("not a P-256 (prime256v1) key")
    return key


def public_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def public_key_from_text(text: str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its base64url uncompressed point; ValueError if not one."""
    raw = b64url_decode(text)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def valid_contact(contact: str) -> bool:
    """The VAPID ``sub`` claim: a mailto: address or an https: URL (RFC 8292 §2.1)."""
    return bool(
        contact
        and len(contact) <= 200
        and (
            (contact.startswith("mailto:") and "@" in contact[7:])
            or (contact.startswith("https://") and urlsplit(contact).hostname)
        )
    )


# Encryption and VAPID headers (shared with bench/fanout.py's baseline) ------------------------


def encrypt_for(subscription_keys: dict[str, str], payload: bytes) -> bytes:
    """Encrypt ``payload`` for one browser (RFC 8291, aes128gcm), with a fresh ECDH key and salt.

    ``subscription_keys``: {"p256dh": base64url point, "auth": base64url 16-byte secret}, as in
    the browser's PushSubscription JSON. Returns the request body (header + one record).
    """
    receiver = b64url_decode(subscription_keys["p256dh"])
    auth = b64url_decode(subscription_keys["auth"])
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    return http_ece.encrypt(
        payload,
        salt=os.urandom(16),
        private_key=ephemeral,
        dh=receiver,
        auth_secret=auth,
        version="aes128gcm",
    )


def notification_payload(
    *, title: str, body: str, url: str, lang: str, tag: str, limit: int = MAX_PAYLOAD
) -> bytes:
    """The JSON the service worker shows ({title, body, url, lang, tag}), before encryption;
    the body is shortened until the whole fits in ``limit`` bytes."""
    fields = {"title": title, "body": body, "url": url, "lang": lang, "tag": tag}
    data = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    while len(data) > limit and fields["body"]:
        fields["body"] = fields["body"][: len(fields["body"]) * 3 // 4]
        data = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return data


def push_headers(*, topic: str, urgent: bool = False, ttl: int = TTL_SECONDS) -> dict[str, str]:
    """The RFC 8030 headers of one push: TTL, Urgency, the encoding, and a Topic (a newer push
    with the same topic replaces one the browser has not fetched yet)."""
    return {
        "TTL": str(ttl),
        "Urgency": "high" if urgent else "normal",
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "Topic": topic[:32],
    }


def seal(
    endpoint: str, keys: dict[str, str], plaintext: bytes, signer: tuple[str, str]
) -> tuple[bytes, dict[str, str]] | ChannelError:
    """One copy made ready to post: (encrypted body, VAPID Authorization header), or a permanent
    ChannelError when the subscription's keys are unusable. No database access (pool threads)."""
    try:
        return encrypt_for(keys, plaintext), vapid_headers(endpoint, *signer)
    except (ValueError, KeyError, http_ece.ECEException) as exc:
        return ChannelError(f"cannot encrypt for this subscription: {exc}", permanent=True)


def origin_of(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}".lower()


_jwt_cache: dict[tuple[str, str, str], tuple[str, float]] = {}
_jwt_lock = threading.Lock()


def vapid_headers(endpoint: str, private_key: str, contact: str) -> dict[str, str]:
    """The ``Authorization: vapid t=<JWT>, k=<public key>`` header for a push endpoint.

    The JWT (ES256; aud = the endpoint's origin, exp = now + 12 h, sub = contact) is cached per
    (key, contact, origin) and reused until an hour before it expires: a fan-out to 100,000
    subscribers of the same push service signs once, not 100,000 times.
    """
    audience = origin_of(endpoint)
    cache_key = (private_key, contact, audience)
    cached = _jwt_cache.get(cache_key)
    if cached and cached[1] - JWT_RENEW_BEFORE > time.time():
        return {"Authorization": cached[0]}
    with _jwt_lock:  # the pool's threads all miss at first: sign once, not once per thread
        now = time.time()
        cached = _jwt_cache.get(cache_key)
        if cached and cached[1] - JWT_RENEW_BEFORE > now:
            return {"Authorization": cached[0]}
        key = private_key_from_text(private_key)
        exp = int(now) + JWT_LIFETIME
        token = jwt_sign({"aud": audience, "exp": exp, "sub": contact}, key)
        header = f"vapid t={token}, k={public_key_text(key)}"
        _jwt_cache[cache_key] = (header, float(exp))
    return {"Authorization": header}


def verify_vapid(header: str, public_key: str) -> dict:
    """Check an Authorization header against a public key; the JWT's claims (for receivers and
    tests). Raises ValueError when the header is malformed or the signature does not verify."""
    scheme, _sp, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError("not a vapid Authorization header")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    if parts.get("k") != public_key:
        raise ValueError("k is not the expected public key")
    from cryptography.exceptions import InvalidSignature
    from py_vapid.jwt import decode

    try:
        return decode(parts.get("t", ""), public_key)
    except InvalidSignature:
        raise ValueError("bad JWT signature") from None


# The thread pool --------------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The shared, long-lived pool that sends copies (each thread keeps its HTTP client)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            threads = int(getattr(settings, "COPPS_WEBPUSH_THREADS", 16))
            _pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="webpush")
        return _pool


class WebPushAdapter(Adapter):
    kind = "webpush"
    rendition = "push"
    subscribers = True
    medium = "push"
    # Endpoints come from browsers: never call a private address for them.
    allow_private = False
    # Push services take no idempotency key; a repeated copy replaces the shown notification
    # (same tag), but an unanswered call is still reported as unknown, not retried.
    idempotent = False
    rate_per_minute = 0  # per push service; copies are spaced by the engine's batches
    # Copies per engine batch (used once the engine honours Adapter.batch_size; see the report)
    batch_size = 500
    fields = (
        Field(
            "vapid_public_key",
            _("VAPID public key"),
            required=False,
            help=_("Leave both keys empty for a new channel: copps generates a key pair."),
        ),
        Field(
            "contact",
            _("Contact (mailto: or https:)"),
            help=_("Push services contact this address if our notifications cause trouble."),
        ),
        Field("vapid_private_key", _("VAPID private key"), secret=True, required=False),
    )

    # Configuration -----------------------------------------------------------------------------

    @classmethod
    def prepare_config(cls, config: dict, secrets: dict) -> tuple[dict, dict]:
        """Before validation, when a channel is created: a fresh key pair if both keys are empty
        (for the console's channel form)."""
        if not config.get("vapid_public_key") and not secrets.get("vapid_private_key"):
            public, private = generate_vapid_keys()
            config = {**config, "vapid_public_key": public}
            secrets = {**secrets, "vapid_private_key": private}
        return config, secrets

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        for name, values in (("vapid_public_key", config), ("vapid_private_key", secrets)):
            if not str(values.get(name, "")).strip():
                errors[name] = str(_("This field is required."))
        contact = str(config.get("contact", "")).strip()
        if contact and not valid_contact(contact):
            errors["contact"] = str(
                _("Enter a mailto: address or an https: URL, e.g. mailto:webmaster@police.example.")
            )
        public = str(config.get("vapid_public_key", "")).strip()
        private = str(secrets.get("vapid_private_key", "")).strip()
        if public:
            try:
                public_key_from_text(public)
            except ValueError:
                errors["vapid_public_key"] = str(
                    _("Enter the base64url form of an uncompressed P-256 public key.")
                )
        if private:
            try:
                key = private_key_from_text(private)
            except ValueError:
                errors["vapid_private_key"] = str(_("This is not a P-256 private key."))
            else:
                if public and "vapid_public_key" not in errors and public_key_text(key) != public:
                    errors["vapid_public_key"] = str(
                        _("This public key does not belong to the private key.")
                    )
        return errors

    def check(self) -> str:
        """Local checks only: a push service cannot be called without a subscription."""
        errors = self.validate_config(self.config, self.secrets)
        if errors:
            raise ChannelError("; ".join(f"{k}: {v}" for k, v in errors.items()), permanent=True)
        vapid_headers("https://push.invalid", self._private_key(), self._contact())
        from ..models import Subscription, SubscriptionState

        count = Subscription.objects.filter(
            medium="push", state=SubscriptionState.ACTIVE, language=self.channel.language
        ).count()
        return str(
            _("VAPID key pair valid; %(count)d browser subscription(s) in %(language)s")
            % {"count": count, "language": self.channel.language}
        )

    def _private_key(self) -> str:
        return self.setting("vapid_private_key")

    def _contact(self) -> str:
        return self.setting("contact")

    # Sending -----------------------------------------------------------------------------------

    def notification(self, delivery) -> bytes:
        """The JSON the service worker shows (title, body, url, lang, tag), before encryption."""
        p = delivery.payload
        return notification_payload(
            title=p.get("title") or "",
            body=p.get("text") or "",  # renditions keep it far shorter than the limit
            url=p.get("link") or "",
            lang=p.get("language") or delivery.language,
            tag=f"copps-{delivery.message_id}",
        )

    def headers_for(self, delivery) -> dict[str, str]:
        """TTL, Urgency (high for crisis messages), encoding, and a Topic per message, so a
        correction replaces the original while the browser has not fetched it yet."""
        return push_headers(
            topic=f"copps{delivery.message_id}", urgent=delivery.payload.get("kind") == "crisis"
        )

    def encrypt_for(self, subscription_keys: dict[str, str], payload: bytes) -> bytes:
        return encrypt_for(subscription_keys, payload)

    def vapid_headers(self, endpoint: str) -> dict[str, str]:
        """The Authorization header for ``endpoint`` with this channel's key pair."""
        return vapid_headers(endpoint, self._private_key(), self._contact())

    def signer(self) -> tuple[str, str]:
        """(private key, contact) for ``vapid_headers``: decrypt the secrets once, in the calling
        thread, not in each pool thread."""
        return self._private_key(), self._contact()

    def post_sealed(self, endpoint: str, body: bytes, headers: dict) -> Any:
        """POST one sealed copy through the entry point; the response, or a ChannelError."""
        try:
            return self.call(
                "POST", endpoint, what="push", content=body, headers=headers, timeout=SEND_TIMEOUT
            )
        except ChannelError as err:
            return err

    def push_one(
        self, endpoint: str, keys: dict, plaintext: bytes, headers: dict, signer: tuple[str, str]
    ) -> Any:
        """One copy sealed and posted, whatever the channel's sandbox flag: for pushes that are
        not publications (staff alerts, ``copps.channels.staff_push``). Runs in a pool thread."""
        sealed = seal(endpoint, keys, plaintext, signer)
        if isinstance(sealed, ChannelError):
            return sealed
        body, auth = sealed
        return self.post_sealed(endpoint, body, headers | auth)

    def _send_one(
        self, endpoint: str, keys: dict, plaintext: bytes, headers: dict, signer: tuple[str, str]
    ) -> Any:
        """One copy of a delivery; runs in a pool thread (no database access here)."""
        sealed = seal(endpoint, keys, plaintext, signer)
        if isinstance(sealed, ChannelError):
            return sealed
        body, auth = sealed
        if self.channel.sandbox:
            return ("sandbox", body)
        return self.post_sealed(endpoint, body, headers | auth)

    def send_batch(self, delivery, recipients) -> dict[int, Any]:
        plaintext = self.notification(delivery)
        headers = self.headers_for(delivery)
        signer = self.signer()
        jobs = {}
        pool = executor()
        for r in recipients:
            sub = r.subscription
            keys = {"p256dh": sub.push_p256dh, "auth": sub.push_auth}
            jobs[r.pk] = (
                r,
                pool.submit(self._send_one, sub.push_endpoint, keys, plaintext, headers, signer),
            )
        results: dict[int, Any] = {}
        gone: list[tuple[Any, int]] = []
        rejected: list[int] = []
        accepted = False
        for pk, (r, future) in jobs.items():
            try:
                answer = future.result()
            except Exception as exc:  # a bug: we cannot know whether it went out
                logger.exception("web push copy crashed (delivery %s)", delivery.pk)
                results[pk] = ChannelError(f"internal error: {exc!r}", maybe_sent=True)
                continue
            if isinstance(answer, ChannelError):
                results[pk] = answer
            elif isinstance(answer, tuple):
                results[pk] = self._record_sandbox(delivery, r, plaintext)
                accepted = True
            else:
                outcome = self.classify(answer)
                results[pk] = outcome
                status = answer.status_code
                if isinstance(outcome, str):
                    accepted = True
                elif status in (404, 410):
                    gone.append((r.subscription, status))
                elif status in (400, 401, 403):
                    rejected.append(pk)
        for subscription, status in gone:
            from ..push import forget_gone_subscription

            forget_gone_subscription(subscription, status=status)
        hosts = {urlsplit(jobs[pk][0].subscription.push_endpoint).hostname for pk in rejected}
        known = set(getattr(settings, "COPPS_PUSH_SERVICES", ())) & hosts
        if not accepted and len(rejected) >= 2 and (known or len(hosts) >= 2):
            # Nobody accepted our token, and browsers' own push services (or several services)
            # refused it: the key pair is bad. A hostile endpoint, even alone in a batch, only
            # fails its own copy. The engine disables the channel.
            for pk in rejected:
                results[pk] = ChannelError(
                    f"push service rejected the VAPID credentials: {results[pk]}",
                    permanent=True,
                    disable_channel=True,
                )
        return results

    @staticmethod
    def classify(response) -> Any:
        """A push service's answer: the external id (accepted) or a ChannelError (see above)."""
        status = response.status_code
        if status in (200, 201, 202):
            return response.headers.get("location", "")[:200]
        err = ChannelError.from_http(response, "push")
        if status in (404, 410):
            return ChannelError(f"push: HTTP {status}: the subscription is gone", permanent=True)
        if status == 413:
            return ChannelError("push: HTTP 413: payload too large", permanent=True)
        if status == 429:
            return ChannelError(str(err), retry_after=err.retry_after)
        if status >= 500:
            # Not accepted (RFC 8030 §5: acceptance is a 201): retry; see the module docstring.
            return ChannelError(str(err), retry_after=err.retry_after)
        if status in (400, 401, 403):
            # VAPID rejected; whether that disables the channel is decided per batch.
            return ChannelError(str(err), permanent=True)
        return ChannelError(str(err), permanent=True)

    def _record_sandbox(self, delivery, recipient, plaintext: bytes) -> str:
        from ..models import SandboxPost

        post = SandboxPost.objects.create(
            service="webpush",
            account=origin_of(recipient.subscription.push_endpoint),
            external_id=f"push-{delivery.pk}-{recipient.pk}",
            idempotency_key=f"{delivery.key}:{recipient.pk}",
            text=delivery.payload.get("text") or "",
            payload=json.loads(plaintext),
        )
        return post.external_id

    def preview(self, delivery) -> dict:
        data = json.loads(self.notification(delivery))
        return {"text": data["body"], "title": data["title"], "url": data["url"]}


__all__ = [
    "WebPushAdapter",
    "encrypt_for",
    "executor",
    "notification_payload",
    "push_headers",
    "seal",
    "generate_vapid_keys",
    "vapid_headers",
    "verify_vapid",
]
