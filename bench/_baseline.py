"""The fan-out benchmark's bare baseline: one asyncio loop sending the same messages to the same
sinks with nothing around it (no database, no states, no retries).

- e-mail: asyncio streams speaking SMTP (EHLO once per connection, then MAIL/RCPT/DATA per
  message, one message per recipient as a newsletter with personal unsubscribe links needs);
- web push: the push adapter's own ``encrypt_for`` (RFC 8291 aes128gcm, a fresh key per copy) and
  ``vapid_headers`` (one JWT per push service, cached), POSTed with httpx.AsyncClient;
- SMS: Kannel's sendsms HTTP interface with httpx.AsyncClient.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# Web push crypto: the adapter's functions when it is on the branch, else the same algorithm --


def push_crypto(private_key: str, contact: str) -> tuple[Callable, Callable]:
    """(encrypt_for(keys, payload) -> body, headers_for(endpoint) -> {"Authorization": ...})."""
    try:
        from copps.channels.adapters import webpush
    except ImportError:
        webpush = None
    if webpush is not None and hasattr(webpush, "encrypt_for"):
        return webpush.encrypt_for, lambda endpoint: webpush.vapid_headers(
            endpoint, private_key, contact
        )
    return _encrypt_for, _vapid_headers_factory(private_key, contact)


def _encrypt_for(keys: dict[str, str], payload: bytes) -> bytes:
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec

    return http_ece.encrypt(
        payload,
        salt=os.urandom(16),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=b64url_decode(keys["p256dh"]),
        auth_secret=b64url_decode(keys["auth"]),
        version="aes128gcm",
    )


def _vapid_headers_factory(private_key: str, contact: str) -> Callable:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = ec.derive_private_key(int.from_bytes(b64url_decode(private_key), "big"), ec.SECP256R1())
    public = b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    cache: dict[str, str] = {}

    def headers_for(endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in cache:
            head = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
            claims = {"aud": origin, "exp": int(time.time()) + 12 * 3600, "sub": contact}
            body = b64url(json.dumps(claims).encode())
            r, s = decode_dss_signature(
                key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
            )
            sig = b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            cache[origin] = f"vapid t={head}.{body}.{sig}, k={public}"
        return {"Authorization": cache[origin]}

    return headers_for


def new_vapid_keys() -> tuple[str, str]:
    """(public key, private key) as base64url (the applicationServerKey format)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    public = b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    return public, private


def browser_keys() -> dict[str, str]:
    """A browser's PushSubscription keys (p256dh point, auth secret)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)


# The loops -------------------------------------------------------------------------------------


def newsletter(payload: dict, sender: str, to: str, unsubscribe: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = payload["title"]
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(payload["body_text"])
    msg.add_alternative(payload["body_html"], subtype="html")
    return msg.as_bytes()


async def _reply(reader: asyncio.StreamReader, expect: int) -> None:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("SMTP server closed the connection")
        if line[3:4] != b"-":
            break
    if int(line[:3]) != expect:
        raise RuntimeError(f"SMTP: expected {expect}, got {line!r}")


async def send_emails(
    host: str, port: int, sender: str, addresses: Sequence[str], payload: dict, connections=4
) -> int:
    queue: asyncio.Queue = asyncio.Queue()
    for i, address in enumerate(addresses):
        queue.put_nowait((i, address))
    # Built once, the personal parts filled in per copy (what a bare sender would do).
    template = newsletter(payload, sender, "@@TO@@", "@@UNSUBSCRIBE@@")
    template = template.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    template = template.replace(b"\r\n.", b"\r\n..")
    sent = 0

    async def connection() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(host, port)
        await _reply(reader, 220)
        writer.write(b"EHLO baseline.example\r\n")
        await _reply(reader, 250)
        while not queue.empty():
            i, address = queue.get_nowait()
            data = template.replace(b"@@TO@@", address.encode()).replace(
                b"@@UNSUBSCRIBE@@", f"https://police.example/u/{i}".encode()
            )
            writer.write(f"MAIL FROM:<{sender}>\r\n".encode())
            await _reply(reader, 250)
            writer.write(f"RCPT TO:<{address}>\r\n".encode())
            await _reply(reader, 250)
            writer.write(b"DATA\r\n")
            await _reply(reader, 354)
            writer.write(data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
            await _reply(reader, 250)
            sent += 1
        writer.write(b"QUIT\r\n")
        await writer.drain()
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return sent


async def send_pushes(
    subscriptions: Sequence[tuple[str, dict]],
    payload: dict,
    private_key: str,
    contact: str,
    concurrency=8,
) -> int:
    encrypt, headers_for = push_crypto(private_key, contact)
    body = json.dumps(
        {"title": payload["title"], "body": payload["text"], "url": payload["link"]}
    ).encode()
    queue: asyncio.Queue = asyncio.Queue()
    for item in subscriptions:
        queue.put_nowait(item)
    sent = 0

    async def worker() -> None:
        # One client (one keep-alive connection) per task: httpx's shared pool costs
        # O(connections) per request, which a bare loop need not pay.
        nonlocal sent
        async with httpx.AsyncClient(limits=ONE_CONNECTION, timeout=30) as client:
            while not queue.empty():
                endpoint, keys = queue.get_nowait()
                headers = {
                    **headers_for(endpoint),
                    "TTL": "86400",
                    "Urgency": "high",
                    "Content-Encoding": "aes128gcm",
                    "Content-Type": "application/octet-stream",
                }
                response = await client.post(endpoint, content=encrypt(keys, body), headers=headers)
                sent += response.status_code == 201

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


async def send_sms(
    url: str,
    username: str,
    password: str,
    sender: str,
    numbers: Sequence[str],
    text: str,
    concurrency=8,
) -> int:
    queue: asyncio.Queue = asyncio.Queue()
    for i, number in enumerate(numbers):
        queue.put_nowait((i, number))
    sent = 0

    async def worker() -> None:
        nonlocal sent
        async with httpx.AsyncClient(limits=ONE_CONNECTION, timeout=30) as client:
            while not queue.empty():
                _i, number = queue.get_nowait()
                params = {
                    "username": username,
                    "password": password,
                    "from": sender,
                    "to": number,
                    "text": text,
                }
                response = await client.get(url, params=params)
                sent += response.status_code == 202

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent
