"""Sandbox Bluesky PDS: the XRPC methods copps uses, answering like the reference PDS.

Posts are SandboxPost rows (service "bluesky", external_id = the record's at:// URI,
idempotency_key = its record key); uploaded blobs are rows of service "bluesky-blob". Sessions are
signed JWT-shaped tokens (access: 2 hours, refresh: 90 days), checked on every call;
``expire_access_tokens()`` makes every access token issued so far answer ``ExpiredToken``, as the
PDS does after two hours. Errors are ``{"error": "<Name>", "message": "..."}``. A second
createRecord with an existing record key answers 500 ``InternalServerError``, which is what the
reference PDS does today. Any handle signs in with any non-empty password except "revoked".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time

import httpx
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.models import SandboxPost
from copps.newsroom.renditions import GRAPHEME_RE

SERVICE = "bluesky"
BASE = sandbox.base(SERVICE)
COLLECTION = "app.bsky.feed.post"
ACCESS_TTL = 2 * 3600
REFRESH_TTL = 90 * 24 * 3600
REVOKED_PASSWORD = "revoked"  # noqa: S105 - the sandbox's stand-in for a revoked app password
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")

_key = secrets.token_bytes(32)
_expired_before = 0.0


def expire_access_tokens() -> None:
    """Every access token issued until now answers ExpiredToken from now on."""
    global _expired_before
    _expired_before = time.time() + 0.001


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict) -> str:
    head = _b64(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = _b64(hmac.new(_key, f"{head}.{body}".encode(), "sha256").digest())
    return f"{head}.{body}.{sig}"


def _claims(token: str) -> dict | None:
    try:
        head, body, sig = token.split(".")
        expected = _b64(hmac.new(_key, f"{head}.{body}".encode(), "sha256").digest())
        if not hmac.compare_digest(expected, sig):
            return None
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None


def _error(status: int, name: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": name, "message": message})


def did_for(handle: str) -> str:
    digest = base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower()
    return "did:plc:" + digest[:24]


def _cid(data: bytes) -> str:
    return "bafyrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")


def _session(handle: str) -> dict:
    did, now = did_for(handle), time.time()
    return {
        "did": did,
        "handle": handle,
        "email": f"{handle.split('.')[0]}@example.invalid",
        "emailConfirmed": True,
        "active": True,
        "accessJwt": _jwt(
            {
                "scope": "com.atproto.appPass",
                "sub": did,
                "handle": handle,
                "iat": now,
                "exp": now + ACCESS_TTL,
                "aud": "did:web:bluesky.sandbox.invalid",
            }
        ),
        "refreshJwt": _jwt(
            {
                "scope": "com.atproto.refresh",
                "sub": did,
                "handle": handle,
                "iat": now,
                "exp": now + REFRESH_TTL,
                "jti": secrets.token_hex(8),
            }
        ),
    }


def _auth(request: httpx.Request, scope: str):
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None, _error(401, "AuthenticationRequired", "Authentication Required")
    claims = _claims(header[7:].strip())
    if claims is None or claims.get("scope") != scope:
        return None, _error(400, "InvalidToken", "Token could not be verified")
    now = time.time()
    if claims.get("exp", 0) < now or (
        scope != "com.atproto.refresh" and claims.get("iat", 0) < _expired_before
    ):
        return None, _error(400, "ExpiredToken", "Token has expired")
    return claims, None


def _json_body(request: httpx.Request):
    try:
        body = json.loads(request.content or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _invalid(message: str) -> httpx.Response:
    return _error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {message}")


def _validate_post(record: dict, did: str) -> httpx.Response | None:
    if record.get("$type") != COLLECTION:
        return _error(400, "InvalidRequest", "Invalid $type: expected app.bsky.feed.post")
    text = record.get("text")
    if not isinstance(text, str):
        return _invalid("Record/text must be a string")
    if len(GRAPHEME_RE.findall(text)) > 300 or len(text.encode()) > 3000:
        return _invalid("Record/text must not be longer than 300 graphemes")
    if not isinstance(record.get("createdAt"), str):
        return _invalid('Record must have the property "createdAt"')
    size = len(text.encode())
    for facet in record.get("facets") or []:
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
            return _invalid("Record/facets/index is out of the text's byte range")
    embed = record.get("embed")
    if embed and embed.get("$type") == "app.bsky.embed.images":
        images = embed.get("images") or []
        if len(images) > 4:
            return _invalid("Record/embed/images must not have more than 4 elements")
        for image in images:
            if not isinstance(image.get("alt"), str):
                return _invalid('Record/embed/images/0 must have the property "alt"')
            ref = ((image.get("image") or {}).get("ref") or {}).get("$link", "")
            if not SandboxPost.objects.filter(
                service="bluesky-blob", account=did, external_id=ref
            ).exists():
                return _error(400, "InvalidRequest", f"Could not find blob: {ref}")
    return None


def _create_record(request, claims) -> httpx.Response:
    body = _json_body(request)
    if body is None:
        return _error(400, "InvalidRequest", "Input must be an object")
    did = claims["sub"]
    if body.get("repo") not in (did, claims.get("handle")):
        return _error(401, "AuthRequiredError", "Authentication Required")
    if body.get("collection") != COLLECTION:
        return _error(400, "InvalidRequest", "Unsupported collection in the sandbox")
    record = body.get("record")
    if not isinstance(record, dict):
        return _error(400, "InvalidRequest", 'Input must have the property "record"')
    rkey = body.get("rkey") or _now_tid()
    if not TID_RE.match(str(rkey)):
        return _invalid(f"Invalid record key for a tid collection: {rkey}")
    uri = f"at://{did}/{COLLECTION}/{rkey}"
    if SandboxPost.objects.filter(
        service=SERVICE, account=did, idempotency_key=rkey, deleted_at__isnull=True
    ).exists():
        # The reference PDS fails a create over an existing record with a 500.
        return _error(500, "InternalServerError", "Internal Server Error")
    problem = _validate_post(record, did)
    if problem is not None:
        return problem
    cid = _cid(json.dumps(record, sort_keys=True).encode())
    SandboxPost.objects.create(
        service=SERVICE,
        account=did,
        external_id=uri,
        idempotency_key=rkey,
        text=record["text"],
        payload={"uri": uri, "cid": cid, "value": record},
        url=f"{BASE}/profile/{claims.get('handle')}/post/{rkey}",
    )
    return httpx.Response(
        200,
        json={
            "uri": uri,
            "cid": cid,
            "commit": {"cid": _cid(cid.encode()), "rev": _now_tid()},
            "validationStatus": "valid",
        },
    )


def _now_tid() -> str:
    value = (int(time.time() * 1_000_000) << 10) | secrets.randbelow(1024)
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(13)))


# Notifications (replies, mentions, quotes) -------------------------------------------------------


def _iso_now() -> str:
    now = timezone.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def inject_mention(
    text: str,
    *,
    to: str = "politie.bsky.social",
    author: str = "burger.bsky.social",
    reply_to: str = "",
    reason: str = "",
    lang: str = "nl",
) -> dict:
    """A citizen's post for the account ``to``: a reply to its post ``reply_to`` (an at:// URI
    of a post in the sandbox), else a mention. Returns the notification, shaped like
    ``app.bsky.notification.listNotifications``' entries."""
    author_did = did_for(author)
    rkey = _now_tid()
    uri = f"at://{author_did}/{COLLECTION}/{rkey}"
    record: dict = {"$type": COLLECTION, "text": text, "createdAt": _iso_now(), "langs": [lang]}
    if reply_to:
        parent_row = SandboxPost.objects.filter(
            service__in=[SERVICE, "bluesky-notification"], external_id=reply_to
        ).first()
        parent_cid = parent_row.payload.get("cid", "") if parent_row else _cid(reply_to.encode())
        parent = {"uri": reply_to, "cid": parent_cid}
        root = parent
        if parent_row is not None:
            value = parent_row.payload.get("value") or parent_row.payload.get("record") or {}
            root = (value.get("reply") or {}).get("root") or parent
        record["reply"] = {"root": root, "parent": parent}
    else:
        mention = f"@{to}"
        record["text"] = f"{mention} {text}"
        record["facets"] = [
            {
                "index": {"byteStart": 0, "byteEnd": len(mention.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did_for(to)}],
            }
        ]
    cid = _cid(json.dumps(record, sort_keys=True).encode())
    notification = {
        "uri": uri,
        "cid": cid,
        "author": {
            "did": author_did,
            "handle": author,
            "displayName": author.split(".")[0].title(),
            "labels": [],
            "createdAt": "2025-01-01T00:00:00.000Z",
        },
        "reason": reason or ("reply" if reply_to else "mention"),
        "record": record,
        "isRead": False,
        "indexedAt": _iso_now(),
        "labels": [],
    }
    if reply_to:
        notification["reasonSubject"] = reply_to
    SandboxPost.objects.create(
        service="bluesky-notification",
        account=did_for(to),
        external_id=uri,
        text=record["text"],
        payload=notification,
    )
    return notification


def _notifications(request: httpx.Request, did: str) -> httpx.Response:
    params = request.url.params
    try:
        limit = int(params.get("limit", "50"))
        before = int(params.get("cursor") or 0)
    except ValueError:
        return _error(400, "InvalidRequest", 'Error: Params must have the property "limit"')
    if not 1 <= limit <= 100:
        return _error(400, "InvalidRequest", "Error: limit must be between 1 and 100")
    reasons = params.get_list("reasons")
    rows = SandboxPost.objects.filter(service="bluesky-notification", account=did)
    if before:
        rows = rows.filter(pk__lt=before)
    picked = [r for r in rows.order_by("-pk")[:limit]]
    body: dict = {
        "notifications": [
            r.payload for r in picked if not reasons or r.payload.get("reason") in reasons
        ],
        "priority": False,
        "seenAt": _iso_now(),
    }
    if len(picked) == limit:
        body["cursor"] = str(picked[-1].pk)
    return httpx.Response(200, json=body)


def handle(request: httpx.Request) -> httpx.Response:
    nsid = request.url.path.removeprefix("/xrpc/")
    if nsid == "com.atproto.server.createSession" and request.method == "POST":
        body = _json_body(request) or {}
        identifier = str(body.get("identifier") or "").strip().lstrip("@")
        password = str(body.get("password") or "")
        if not identifier or not password or password == REVOKED_PASSWORD:
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        return httpx.Response(200, json=_session(identifier))
    if nsid == "com.atproto.server.refreshSession" and request.method == "POST":
        claims, problem = _auth(request, "com.atproto.refresh")
        if problem is not None:
            return problem
        fresh = _session(claims["handle"])
        return httpx.Response(
            200, json={k: fresh[k] for k in ("accessJwt", "refreshJwt", "handle", "did", "active")}
        )
    claims, problem = _auth(request, "com.atproto.appPass")
    if problem is not None:
        return problem
    did = claims["sub"]
    if nsid == "com.atproto.server.getSession":
        session = _session(claims["handle"])
        return httpx.Response(
            200,
            json={k: session[k] for k in ("handle", "did", "email", "emailConfirmed", "active")},
        )
    if nsid == "com.atproto.repo.uploadBlob" and request.method == "POST":
        data = request.content
        if len(data) > 50_000_000:
            return _error(400, "BlobTooLarge", "This file is too large")
        mime = request.headers.get("content-type", "application/octet-stream")
        cid = "bafkrei" + _cid(data)[7:]
        SandboxPost.objects.get_or_create(
            service="bluesky-blob",
            account=did,
            external_id=cid,
            defaults={"payload": {"mimeType": mime, "size": len(data)}},
        )
        blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}
        return httpx.Response(200, json={"blob": blob})
    if nsid == "com.atproto.repo.createRecord" and request.method == "POST":
        return _create_record(request, claims)
    if nsid == "app.bsky.notification.listNotifications" and request.method == "GET":
        return _notifications(request, did)
    if nsid == "com.atproto.repo.getRecord" and request.method == "GET":
        params = request.url.params
        repo, rkey = params.get("repo", ""), params.get("rkey", "")
        post = SandboxPost.objects.filter(
            service=SERVICE,
            account=did_for(repo) if not repo.startswith("did:") else repo,
            idempotency_key=rkey,
            deleted_at__isnull=True,
        ).first()
        if post is None or params.get("collection") != COLLECTION:
            uri = f"at://{repo}/{params.get('collection', '')}/{rkey}"
            return _error(400, "RecordNotFound", f"Could not locate record: {uri}")
        return httpx.Response(200, json=post.payload)
    if nsid == "com.atproto.repo.deleteRecord" and request.method == "POST":
        body = _json_body(request) or {}
        if body.get("repo") not in (did, claims.get("handle")):
            return _error(401, "AuthRequiredError", "Authentication Required")
        post = SandboxPost.objects.filter(
            service=SERVICE,
            account=did,
            idempotency_key=str(body.get("rkey") or ""),
            deleted_at__isnull=True,
        ).first()
        if post is None:
            return httpx.Response(200, json={})  # no-op, as the PDS does
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
        return httpx.Response(
            200, json={"commit": {"cid": _cid(post.external_id.encode()), "rev": _now_tid()}}
        )
    return _error(501, "MethodNotImplemented", "Method Not Implemented")


sandbox.add(SERVICE, handle)
