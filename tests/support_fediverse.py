"""An in-process imitation of another fediverse server for the federation tests.

``FakeServer("social.example")`` answers through ``copps.lib.http``'s fake registry: it serves
its actors' documents (with real RSA keys), records every POST to its inboxes and checks each
one's HTTP signature against the sending copps actor's published key. ``signed_post`` sends an
activity to copps' inbox through Django's test client, signed by one of its actors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from copps.federation import httpsig
from copps.federation.models import Actor
from copps.lib import http


def key_pair() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


_KEYS: list[tuple[str, str]] = []


def cached_key_pair() -> tuple[str, str]:
    """Key generation costs ~50 ms: tests reuse a few pairs."""
    if len(_KEYS) < 4:
        _KEYS.append(key_pair())
        return _KEYS[-1]
    _KEYS.append(_KEYS.pop(0))
    return _KEYS[-1]


@dataclass
class RemoteUser:
    server: FakeServer
    username: str
    private_pem: str
    public_pem: str
    shared_inbox: bool = True

    @property
    def id(self) -> str:
        return f"https://{self.server.host}/users/{self.username}"

    @property
    def key_id(self) -> str:
        return self.id + "#main-key"

    @property
    def inbox(self) -> str:
        return self.id + "/inbox"

    def document(self) -> dict:
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.username,
            "name": self.username.title(),
            "inbox": self.inbox,
            "outbox": self.id + "/outbox",
            "url": f"https://{self.server.host}/@{self.username}",
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.public_pem},
        }
        if self.shared_inbox:
            doc["endpoints"] = {"sharedInbox": f"https://{self.server.host}/inbox"}
        return doc


@dataclass
class Received:
    inbox: str
    activity: dict
    request: httpx.Request
    headers: dict

    @property
    def verified(self) -> bool:
        """Checked when asked (in the test's thread: copps sends from worker threads, which
        cannot read the test database)."""
        return _verify(self.request)


@dataclass
class FakeServer:
    host: str
    users: dict[str, RemoteUser] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    status: int = 202  # what its inboxes answer

    def __post_init__(self) -> None:
        http.register_fake(self.host, self.handle)

    def close(self) -> None:
        http._fakes.pop(self.host, None)

    def user(self, username: str = "alice", *, shared_inbox: bool = True) -> RemoteUser:
        if username not in self.users:
            private, public = cached_key_pair()
            self.users[username] = RemoteUser(self, username, private, public, shared_inbox)
        return self.users[username]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            for user in self.users.values():
                if str(request.url).split("#")[0] == user.id:
                    return httpx.Response(
                        200,
                        json=user.document(),
                        headers={"Content-Type": "application/activity+json"},
                    )
            return httpx.Response(404)
        if request.method == "POST" and path.endswith("inbox"):
            body = request.content
            self.received.append(
                Received(str(request.url), json.loads(body), request, dict(request.headers))
            )
            return httpx.Response(self.status)
        return httpx.Response(405)

    def of_type(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.activity.get("type") == kind]


def _verify(request: httpx.Request) -> bool:
    try:
        parsed = httpsig.parse_request(
            request.method,
            request.url.raw_path.decode(),
            request.headers,
            request.content,
            url=str(request.url),
        )
    except httpsig.SignatureError:
        return False
    username = parsed.key_id.split("/@", 1)[-1].split("#")[0]
    actor = Actor.objects.filter(username=username).first()
    if actor is None:
        return False
    try:
        httpsig.verify(parsed, actor.public_key_pem)
    except httpsig.SignatureError:
        return False
    return True


def signed_post(
    client,
    path: str,
    activity: dict,
    user: RemoteUser,
    *,
    host: str = "testserver",
    scheme: str = "cavage",
    key_pem: str | None = None,
    now=None,
    extra: dict | None = None,
):
    """POST ``activity`` to copps' ``path`` through the test client, signed by ``user``."""
    body = json.dumps(activity).encode()
    url = f"http://{host}{path}"
    sign = httpsig.sign_request if scheme == "cavage" else httpsig.sign_request_rfc9421
    headers = sign(
        "POST",
        url,
        body=body,
        key_id=user.key_id,
        private_key_pem=key_pem or user.private_pem,
        headers={"Content-Type": "application/activity+json"},
        now=now,
    )
    meta = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in headers.items()
        if k.lower() != "content-type"
    }
    meta.update(extra or {})
    return client.post(path, data=body, content_type="application/activity+json", **meta)
