"""An in-process imitation of another fediverse server for the federation tests.

``FakeServer("social.example")`` answers through ``copps.lib.http``'s fake registry: it serves
its actors' documents (with real RSA keys), records every POST to its inboxes and checks each
one's HTTP signature against the sending copps actor's published key. ``signed_post`` sends an
activity to copps' inbox through Django's test client, signed by one of its actors.

Hostile or broken servers are imitated too: ``routes`` answers chosen paths with any handler (a
500, a timeout, a document that lies about its id), ``fault`` makes every request to the server
fail at the transport level, a user marked ``gone`` answers 410, and ``gets`` records every GET
(to prove a key was never fetched). ``fixture`` loads the Mastodon-shaped documents in
``tests/fixtures/fediverse/`` with their hosts and ids filled in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from copps.channels import crypto
from copps.federation import httpsig, keys
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


_STRANGER: list[tuple[str, str]] = []


def stranger_key_pair() -> tuple[str, str]:
    """A pair no actor of ``cached_key_pair``'s pool has: for "signed with the wrong key"."""
    if not _STRANGER:
        _STRANGER.append(key_pair())
    return _STRANGER[0]


_LOADED: dict[str, object] = {}


def fast_keys(monkeypatch) -> None:
    """For a test's duration: new copps actors take a pair from ``cached_key_pair`` instead of
    generating one, and a private key PEM is parsed once, not on every signature (parsing checks
    the key and costs as much as generating one). What is signed and verified is unchanged."""
    original = httpsig._rsa_private

    def loaded(private_key_pem: str):
        if private_key_pem not in _LOADED:
            _LOADED[private_key_pem] = original(private_key_pem)
        return _LOADED[private_key_pem]

    def generate() -> tuple[str, str]:
        private, public = cached_key_pair()
        return crypto.encrypt(private), public

    monkeypatch.setattr(httpsig, "_rsa_private", loaded)
    monkeypatch.setattr(keys, "generate", generate)


@dataclass
class RemoteUser:
    server: FakeServer
    username: str
    private_pem: str
    public_pem: str
    shared_inbox: bool = True
    # "/actor" for a server's own instance actor (Mastodon signs reports with it).
    path: str = ""
    kind: str = "Person"
    gone: bool = False  # the account was deleted: its document answers 410

    @property
    def id(self) -> str:
        return f"https://{self.server.host}{self.path or '/users/' + self.username}"

    @property
    def key_id(self) -> str:
        return self.id + "#main-key"

    @property
    def inbox(self) -> str:
        return self.id + "/inbox"

    def rotate_key(self) -> None:
        """A new key pair under the same key id (as a server does after a key compromise)."""
        self.private_pem, self.public_pem = key_pair()

    def document(self) -> dict:
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": self.kind,
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
    # path -> handler answering every request to that path (overrides the default answers)
    routes: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)
    fault: Exception | None = None  # raised on every request: a server down or not answering
    gets: list[httpx.Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        http.register_fake(self.host, self.handle)

    def close(self) -> None:
        http._fakes.pop(self.host, None)

    def user(
        self,
        username: str = "alice",
        *,
        shared_inbox: bool = True,
        path: str = "",
        kind: str = "Person",
    ) -> RemoteUser:
        if username not in self.users:
            private, public = cached_key_pair()
            self.users[username] = RemoteUser(
                self, username, private, public, shared_inbox, path=path, kind=kind
            )
        return self.users[username]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            self.gets.append(request)
        if self.fault is not None:
            raise self.fault
        if path in self.routes:
            return self.routes[path](request)
        if request.method == "GET":
            for user in self.users.values():
                if str(request.url).split("#")[0] == user.id:
                    if user.gone:
                        return httpx.Response(410)
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
    body: bytes | None = None,
    content_type: str = "application/activity+json",
):
    """POST ``activity`` to copps' ``path`` through the test client, signed by ``user``.

    ``body`` replaces the JSON of ``activity`` (raw bytes: garbage, huge or deeply nested
    documents, still correctly signed); ``content_type`` is sent and signed as given."""
    if body is None:
        body = json.dumps(activity).encode()
    url = f"http://{host}{path}"
    sign = httpsig.sign_request if scheme == "cavage" else httpsig.sign_request_rfc9421
    headers = sign(
        "POST",
        url,
        body=body,
        key_id=user.key_id,
        private_key_pem=key_pem or user.private_pem,
        headers={"Content-Type": content_type},
        now=now,
    )
    meta = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in headers.items()
        if k.lower() != "content-type"
    }
    meta.update(extra or {})
    return client.post(path, data=body, content_type=content_type, **meta)


# Mastodon-shaped documents ------------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "fediverse"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def fixture(name: str, *, remote_host: str, site: str, **values: object) -> dict:
    """``tests/fixtures/fediverse/<name>.json`` for this test: the remote server
    ``mastodon.example`` becomes ``remote_host``, copps' ``https://police.example`` becomes
    ``site`` (and the bare host its host), and each ``{{name}}`` the given value (JSON-escaped,
    so a PEM key fits). A placeholder left unfilled is an error in the test."""
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    text = text.replace("https://mastodon.example", f"https://{remote_host}")
    text = text.replace("mastodon.example", remote_host)
    text = text.replace("https://police.example", site.rstrip("/"))
    text = text.replace("police.example", site.split("://", 1)[-1].rstrip("/"))

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"fixture {name}: no value for {{{{{key}}}}}")
        return json.dumps(str(values[key]))[1:-1]

    return json.loads(_PLACEHOLDER.sub(fill, text))


# Fixtures shared by the federation test modules (registered in tests/conftest.py) -------------


@pytest.fixture
def news(db, admin_user):
    """The force's account @news (a module may override it with a fuller profile)."""
    from copps.federation import actions as fediverse

    return fediverse.create_actor(by=admin_user, username="news", kind="force", name="Police news")


@pytest.fixture
def social():
    """A fake remote server at social.example, unregistered after the test."""
    server = FakeServer("social.example")
    yield server
    server.close()
