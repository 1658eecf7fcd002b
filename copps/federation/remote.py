"""Remote actors: fetched through the one outbound HTTP entry point (never a private address
from remote input), validated, and cached so a busy inbox does not fetch a key per request.

Fetches are signed with the force's actor key (servers in "authorized fetch" mode demand it).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.utils import timezone

from copps.lib import http

from . import activities, blocks, httpsig, ids, keys
from .models import Actor, ActorKind, RemoteActor

ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MAX_DOCUMENT_BYTES = 1024 * 1024
TIMEOUT = 10.0


class RemoteError(Exception):
    """The remote document could not be fetched or is not what it claims to be."""


class Gone(RemoteError):
    """The remote server says the document was deleted (HTTP 410)."""


def _signer() -> Actor | None:
    return (
        Actor.objects.filter(enabled=True, kind=ActorKind.FORCE).order_by("pk").first()
        or Actor.objects.filter(enabled=True).order_by("pk").first()
    )


def fetch_json(url: str) -> dict:
    """GET a JSON-LD document (signed when we have an actor). Raises RemoteError."""
    if blocks.suspended(blocks.domain_of(url)):
        raise RemoteError(f"{blocks.domain_of(url)} is blocked")
    headers = {"Accept": ACCEPT}
    signer = _signer()
    if signer is not None and signer.private_key_encrypted:
        headers.update(
            httpsig.sign_request(
                "GET",
                url,
                body=None,
                key_id=ids.key(signer.username),
                private_key_pem=keys.private_pem(signer),
                headers=headers,
            )
        )
    try:
        response = http.request(
            "GET",
            url,
            headers=headers,
            timeout=TIMEOUT,
            max_bytes=MAX_DOCUMENT_BYTES,
            follow_redirects=True,
        )
    except http.HttpError as exc:
        raise RemoteError(f"{url}: {exc}") from None
    if response.status_code == 410:
        raise Gone(f"{url}: gone")
    if response.status_code != 200:
        raise RemoteError(f"{url}: HTTP {response.status_code}")
    try:
        doc = json.loads(response.content)
    except (ValueError, RecursionError):
        raise RemoteError(f"{url}: not JSON") from None
    if not isinstance(doc, dict):
        raise RemoteError(f"{url}: not a JSON object")
    return doc


def _str(value: Any, limit: int = 500) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _url(value: Any) -> str:
    """``value`` if it is a plain http(s) URL of at most 500 characters, else "". Refused: a
    longer one (never silently cut to another URL), one that does not parse (``https://[x``
    would raise), and one with user information (``user:pass@host``: an id names its server
    one way only, and nothing fetched may carry credentials a remote party chose)."""
    if not isinstance(value, str) or len(value) > 500:
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return ""
    return value


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc.lower()) == (pb.scheme, pb.netloc.lower())


def _key_from(doc: dict, key_id: str | None) -> tuple[str, str]:
    """(key id, PEM) of the actor's RSA key: the one named ``key_id`` if given. A key whose id
    is on another server than the actor is never taken: a document cannot claim a key that its
    own server does not serve."""
    keys_ = doc.get("publicKey")
    candidates = keys_ if isinstance(keys_, list) else [keys_]
    doc_id = doc.get("id")
    for key in candidates:
        if not isinstance(key, dict):
            continue
        kid, pem = _str(key.get("id")), _str(key.get("publicKeyPem"), 10_000)
        owner = key.get("owner")
        if owner not in (None, doc_id):
            continue
        if not _url(kid) or not isinstance(doc_id, str) or not _same_origin(kid, doc_id):
            continue
        if pem and (key_id is None or kid == key_id):
            return kid, pem
    return "", ""


def store(doc: dict, *, fetched_from: str, key_id: str | None = None) -> RemoteActor:
    """Validate an actor document and save what copps needs of it."""
    uri = _url(doc.get("id"))
    if not uri or not _same_origin(uri, fetched_from):
        raise RemoteError("the actor's id does not match where it was fetched from")
    if not isinstance(doc.get("type"), str):
        raise RemoteError("not an actor")
    inbox = _url(doc.get("inbox"))
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = _url(endpoints.get("sharedInbox")) if endpoints else ""
    if not inbox or not _same_origin(inbox, uri):
        raise RemoteError("the actor has no inbox on its own server")
    if shared and not _same_origin(shared, uri):
        shared = ""
    kid, pem = _key_from(doc, key_id)
    fields = {
        "domain": urlsplit(uri).netloc.lower(),
        "inbox": inbox,
        "shared_inbox": shared,
        "username": _str(doc.get("preferredUsername"), 100),
        "name": _str(doc.get("name"), 200),
        "url": _url(doc.get("url")),
        "kind": _str(doc.get("type"), 30),
        "fetched_at": timezone.now(),
    }
    if pem:
        # A document without a usable key (a profile Update that leaves it out) keeps the one
        # cached: it must not leave the account unverifiable until the next fetch.
        fields |= {"key_id": kid, "public_key_pem": pem}
    remote, _ = RemoteActor.objects.update_or_create(uri=uri, defaults=fields)
    if pem:
        # A key id names one account. Another row still holding it (an account that gave it up)
        # would be found first by ``actor_for_key`` and make every request under it fail.
        RemoteActor.objects.filter(key_id=kid).exclude(pk=remote.pk).update(
            key_id="", public_key_pem=""
        )
    return remote


def get_actor(uri: str, *, refresh: bool = False) -> RemoteActor:
    """The remote actor ``uri``, from the cache when fresh enough, else fetched."""
    if ids.local_username(uri):
        raise RemoteError("that is one of our own actors")
    if not refresh:
        cached = RemoteActor.objects.filter(uri=uri).first()
        if cached and cached.fetched_at > timezone.now() - timedelta(
            seconds=settings.COPPS_AP_KEY_CACHE_SECONDS
        ):
            return cached
    doc, doc_id = _fetch_actor(uri)
    return store(doc, fetched_from=doc_id)


def _fetch_actor(url: str, doc: dict | None = None) -> tuple[dict, str]:
    """(document, id) of the actor at ``url`` (``doc``: already fetched from there): the
    document's id must be where it was fetched from. One naming another id on the same server
    (a key URL that serves its owner, as GoToSocial's do) is fetched again from that id, so
    that what an uploaded file or an open redirect on a server serves can never speak for one
    of its accounts."""
    doc = fetch_json(url) if doc is None else doc
    doc_id = _url(doc.get("id"))
    if doc_id == url:
        return doc, url
    if not doc_id or not _same_origin(doc_id, url):
        raise RemoteError("the actor's id does not match where it was fetched from")
    doc = fetch_json(doc_id)
    if doc.get("id") != doc_id:
        raise RemoteError("the actor's id does not match where it was fetched from")
    return doc, doc_id


def actor_for_key(key_id: str, *, refresh: bool = False) -> RemoteActor:
    """The remote actor owning ``key_id`` (``https://host/users/a#main-key``), with that key."""
    if not _url(key_id):
        raise RemoteError("the key id is not an http(s) URL")
    if not refresh:
        cached = RemoteActor.objects.filter(key_id=key_id).exclude(public_key_pem="").first()
        if cached and cached.fetched_at > timezone.now() - timedelta(
            seconds=settings.COPPS_AP_KEY_CACHE_SECONDS
        ):
            return cached
    document_url = key_id.split("#", 1)[0]
    doc = fetch_json(document_url)
    if "inbox" not in doc and isinstance(doc.get("owner"), str):
        # The key is a document of its own (CryptographicKey): fetch its owner.
        owner = _url(doc["owner"])
        if not owner or not _same_origin(owner, document_url):
            raise RemoteError("the key's owner is on another server")
        doc, actor_id = _fetch_actor(owner)
    else:
        doc, actor_id = _fetch_actor(document_url, doc)
    # Checked before storing: a document without the key must not wipe the cached one.
    if not _key_from(doc, key_id)[1]:
        raise RemoteError("the actor does not publish that key")
    remote = store(doc, fetched_from=actor_id, key_id=key_id)
    if remote.key_id != key_id or not remote.public_key_pem:
        raise RemoteError("the actor does not publish that key")
    return remote


def resolve_handle(handle: str) -> RemoteActor:
    """``@user@host`` or an actor URL -> the remote actor (WebFinger for handles)."""
    handle = handle.strip()
    if handle.startswith(("https://", "http://")):
        return get_actor(handle, refresh=True)
    user, _, host = handle.lstrip("@").partition("@")
    if not user or not host or "/" in host:
        raise RemoteError("not an address of the form @name@server")
    resource = quote(f"acct:{user}@{host}", safe=":@")
    schemes = ["https"]
    if settings.SITE_URL.startswith("http://"):
        schemes.append("http")  # a development setup talks to its peers over plain http
    last = ""
    for scheme in schemes:
        url = f"{scheme}://{host}/.well-known/webfinger?resource={resource}"
        try:
            response = http.request(
                "GET",
                url,
                headers={"Accept": "application/jrd+json"},
                timeout=TIMEOUT,
                max_bytes=256 * 1024,
            )
        except http.HttpError as exc:
            last = str(exc)
            continue
        if response.status_code != 200:
            last = f"HTTP {response.status_code}"
            continue
        try:
            jrd = json.loads(response.content)
        except ValueError:
            last = "not JSON"
            continue
        for link in jrd.get("links", []) if isinstance(jrd, dict) else []:
            if (
                isinstance(link, dict)
                and link.get("rel") == "self"
                and link.get("type", "").split(";")[0].strip()
                in (activities.ACTIVITY_JSON, "application/ld+json")
                and _url(link.get("href"))
            ):
                return get_actor(link["href"], refresh=True)
        last = "no ActivityPub link"
    raise RemoteError(f"{handle}: {last}")
