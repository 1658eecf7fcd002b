"""A real web push endpoint on loopback, standing in for a browser's push service.

``PushSink`` is a threaded HTTP/1.1 server on a free 127.0.0.1 port. It acts as the push service
*and* the browsers behind it: ``sink.browser()`` creates a subscriber the way a browser does
(a P-256 key pair and a 16-byte auth secret) and returns its PushSubscription JSON. For every
POST the sink checks, independently of copps' own code:

- the ``Authorization: vapid t=<JWT>, k=<key>`` header: ``k`` is the channel's public key, the
  ES256 signature verifies with it, ``aud`` is this sink's origin, ``exp`` is in the future and
  at most 24 hours away, ``sub`` is a mailto: or https: contact (RFC 8292) -> else 401;
- ``Content-Encoding: aes128gcm`` and a ``TTL`` header (RFC 8030) -> else 400;
- the body decrypts with the browser's private key and auth secret (RFC 8291, implemented here
  with ``cryptography`` alone) -> else 400;

and records the decrypted JSON per browser. It answers 201 with a ``Location`` header. Faults:
``sink.fail(status, times=1, retry_after=None)`` answers the next requests with that status;
``sink.hang(times=1)`` reads the request and never answers (until the sink stops).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _point(key) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def decrypt_aes128gcm(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """RFC 8291 §3.4 / RFC 8188 decryption of a push message body (single or multiple records)."""
    salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    as_public_bytes = body[21 : 21 + idlen]
    records = body[21 + idlen :]
    if idlen != 65 or rs < 18 or not records:
        raise ValueError("bad aes128gcm header")
    as_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public_bytes)
    ecdh_secret = ua_private.exchange(ec.ECDH(), as_public)
    key_info = b"WebPush: info\x00" + _point(ua_private.public_key()) + as_public_bytes
    ikm = _hkdf(auth, ecdh_secret, key_info, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    plaintext = b""
    chunks = [records[i : i + rs] for i in range(0, len(records), rs)]
    for seq, chunk in enumerate(chunks):
        iv = nonce[:4] + (int.from_bytes(nonce[4:], "big") ^ seq).to_bytes(8, "big")
        data = AESGCM(cek).decrypt(iv, chunk, None).rstrip(b"\x00")
        last = seq == len(chunks) - 1
        if not data or data[-1] != (2 if last else 1):
            raise ValueError("bad padding delimiter")
        plaintext += data[:-1]
    return plaintext


def verify_jwt(token: str, public_key: str) -> dict:
    """Verify an ES256 JWT with a base64url uncompressed P-256 public key; its claims."""
    head, claims, sig = token.split(".")
    if json.loads(b64d(head)).get("alg") != "ES256":
        raise ValueError("not ES256")
    raw = b64d(sig)
    if len(raw) != 64:
        raise ValueError("bad signature length")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(public_key))
    key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(b64d(claims))


@dataclass
class Browser:
    """A subscriber's browser: its keys, its endpoint on the sink, what it received."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    received: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)

    @property
    def p256dh(self) -> str:
        return b64e(_point(self.private_key.public_key()))

    @property
    def auth_b64(self) -> str:
        return b64e(self.auth)

    def subscription_json(self) -> dict:
        """What ``PushSubscription.toJSON()`` gives in a browser."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth_b64},
        }


class PushSink:
    def __init__(self, vapid_public_key: str = "", *, decrypt: bool = True, location: bool = True):
        self.vapid_public_key = vapid_public_key
        self.decrypt = decrypt
        self.location = location
        self.browsers: dict[str, Browser] = {}
        self.requests = 0
        self.rejections: list[str] = []
        self._faults: list[tuple[str, int, dict]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                sink._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # lifecycle
    def start(self) -> PushSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    # subscribers and faults
    def browser(self) -> Browser:
        token = uuid.uuid4().hex
        b = Browser(
            token,
            f"{self.origin}/wpush/{token}",
            ec.generate_private_key(ec.SECP256R1()),
            os.urandom(16),
        )
        self.browsers[token] = b
        return b

    def fail(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._faults.extend([("status", status, headers)] * times)

    def hang(self, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([("hang", 0, {})] * times)

    @property
    def received(self) -> list[dict]:
        return [m for b in self.browsers.values() for m in b.received]

    # the push service
    def _reply(
        self, h: BaseHTTPRequestHandler, status: int, text: str = "", headers: dict | None = None
    ):
        body = json.dumps({"code": status, "message": text}).encode() if text else b""
        h.send_response(status)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        if body:
            h.send_header("Content-Type", "application/json")
        h.end_headers()
        h.wfile.write(body)

    def _reject(self, h, status: int, why: str) -> None:
        with self._lock:
            self.rejections.append(why)
        self._reply(h, status, why)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        with self._lock:
            self.requests += 1
            fault = self._faults.pop(0) if self._faults else None
        if fault and fault[0] == "hang":
            self._stop.wait(60)
            h.close_connection = True
            return
        if fault:
            self._reply(h, fault[1], f"injected {fault[1]}", fault[2])
            return
        token = h.path.split("?", 1)[0].rsplit("/", 1)[-1]
        browser = self.browsers.get(token)
        if browser is None:
            self._reply(h, 404, "no such subscription")
            return
        # VAPID (RFC 8292)
        auth = h.headers.get("Authorization", "")
        scheme, _sp, params = auth.partition(" ")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme != "vapid" or "t" not in parts or "k" not in parts:
            return self._reject(h, 401, "missing vapid authorization")
        if self.vapid_public_key and parts["k"] != self.vapid_public_key:
            return self._reject(h, 403, "k is not the key this subscription was made with")
        try:
            claims = verify_jwt(parts["t"], parts["k"])
        except (ValueError, InvalidSignature, KeyError):
            return self._reject(h, 401, "vapid JWT does not verify")
        now = time.time()
        if claims.get("aud") != self.origin:
            return self._reject(h, 401, f"aud {claims.get('aud')!r} is not {self.origin}")
        if not (now < claims.get("exp", 0) <= now + 24 * 3600 + 5):
            return self._reject(h, 401, "exp is not within the next 24 hours")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return self._reject(h, 401, "sub is not a mailto: or https: contact")
        # Web push protocol (RFC 8030) and encryption (RFC 8291)
        if (
            h.headers.get("Content-Encoding") != "aes128gcm"
            or not h.headers.get("TTL", "").isdigit()
        ):
            return self._reject(h, 400, "Content-Encoding aes128gcm and TTL are required")
        if self.decrypt:
            try:
                message = json.loads(decrypt_aes128gcm(body, browser.private_key, browser.auth))
            except (ValueError, InvalidTag, IndexError) as exc:
                return self._reject(h, 400, f"cannot decrypt: {exc!r}")
        else:
            message = {"bytes": len(body)}
        with self._lock:
            browser.received.append(message)
            browser.headers.append({k.lower(): v for k, v in h.headers.items()})
        where = {"Location": f"{self.origin}/m/{uuid.uuid4().hex}"} if self.location else {}
        self._reply(h, 201, headers=where)


def https_subscription() -> dict:
    """A browser's PushSubscription JSON with a public https endpoint (for the subscribe
    endpoint, which takes nothing else; nothing is ever sent to it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return {
        "endpoint": "https://push.example.net/wpush/v2/" + os.urandom(24).hex(),
        "expirationTime": None,
        "keys": {"p256dh": b64e(_point(key.public_key())), "auth": b64e(os.urandom(16))},
    }
