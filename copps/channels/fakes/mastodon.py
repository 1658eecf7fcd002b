"""Sandbox Mastodon server: the REST endpoints copps uses, answering like Mastodon 4.x.

Statuses are SandboxPost rows (service "mastodon"), uploaded media rows of service
"mastodon-media". Bodies have the shape of real Mastodon entities (Status, Account,
MediaAttachment); errors are ``{"error": "..."}``. ``Idempotency-Key`` is honoured for an hour per
account, as Mastodon does. Any non-empty bearer token is an account except "revoked" (401).

``PROCESSING_POLLS``: how many times ``GET /api/v1/media/:id`` answers 206 (still processing)
before 200; when above 0, uploads answer 202 with ``url: null`` (as Mastodon does for large
files), so the adapter's wait is exercised.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import html
import io
import json
import random
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
from django.utils import timezone
from PIL import Image

from copps.channels import sandbox
from copps.channels.models import SandboxPost

SERVICE = "mastodon"
BASE = sandbox.base(SERVICE)
MAX_CHARS = 500
IDEMPOTENCY_TTL = timedelta(hours=1)
PROCESSING_POLLS = 0
# The sandbox's stand-in for a token the account owner revoked (answers 401).
REVOKED_TOKEN = "revoked"  # noqa: S105
_polls: dict[str, int] = {}

URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]']")


def parse_form(request: httpx.Request) -> tuple[dict[str, list[str]], dict[str, tuple]]:
    """Fields (name -> values) and files (name -> (filename, bytes, content type)) of a
    form-encoded, multipart or JSON request body, or of its query string."""
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple] = {}
    for key, value in request.url.params.multi_items():
        fields.setdefault(key, []).append(value)
    ctype = request.headers.get("content-type", "")
    body = request.content
    if ctype.startswith("application/x-www-form-urlencoded"):
        for key, values in parse_qs(body.decode(), keep_blank_values=True).items():
            fields.setdefault(key, []).extend(values)
    elif ctype.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            data = raw if isinstance(raw, bytes) else b""
            filename = part.get_param("filename", header="content-disposition")
            if filename is not None:
                files[str(name)] = (str(filename), data, part.get_content_type())
            else:
                fields.setdefault(str(name), []).append(data.decode())
    elif ctype.startswith("application/json") and body:
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        for key, value in (document if isinstance(document, dict) else {}).items():
            values = value if isinstance(value, list) else [value]
            fields.setdefault(key, []).extend("" if v is None else str(v) for v in values)
    return fields, files


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": message})


def _snowflake() -> str:
    return str((int(time.time() * 1000) << 16) | random.getrandbits(16))


def _iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _account(token: str) -> dict:
    account_id = str(int(hashlib.sha256(token.encode()).hexdigest()[:12], 16))
    username = "sandbox_police"
    return {
        "id": account_id,
        "username": username,
        "acct": username,
        "display_name": "Police (sandbox)",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "created_at": "2026-01-01T00:00:00.000Z",
        "note": "<p>Sandbox account of copps</p>",
        "url": f"{BASE}/@{username}",
        "uri": f"{BASE}/users/{username}",
        "avatar": f"{BASE}/avatars/original/missing.png",
        "avatar_static": f"{BASE}/avatars/original/missing.png",
        "header": f"{BASE}/headers/original/missing.png",
        "header_static": f"{BASE}/headers/original/missing.png",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": SandboxPost.objects.filter(
            service=SERVICE, account=account_id, deleted_at__isnull=True
        ).count(),
        "last_status_at": None,
        "emojis": [],
        "fields": [],
    }


def render_content(text: str) -> str:
    """Mastodon's HTML for a plain-text status: paragraphs, <br />, linked URLs."""

    def link(match: re.Match) -> str:
        url = match.group(0)
        scheme, rest = url.split("://", 1)
        return (
            f'<a href="{url}" target="_blank" rel="nofollow noopener" translate="no">'
            f'<span class="invisible">{scheme}://</span><span class="">{rest}</span>'
            '<span class="invisible"></span></a>'
        )

    paragraphs = []
    for para in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(para, quote=False)
        escaped = URL_RE.sub(lambda m: link(m), escaped)
        paragraphs.append("<p>" + escaped.replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)


def _status(post: SandboxPost, account: dict) -> dict:
    data = dict(post.payload)
    data["account"] = account
    return data


def _media_entity(row: SandboxPost, ready: bool) -> dict:
    base = f"{BASE}/system/media_attachments/files/{row.external_id}"
    return {
        "id": row.external_id,
        "type": "image",
        "url": f"{base}/original/{row.payload.get('filename', 'image')}" if ready else None,
        "preview_url": f"{base}/small/{row.payload.get('filename', 'image')}",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": row.payload.get("meta", {}),
        "description": row.text or None,
        "blurhash": "UGC~-#M{0JfkNFofR%M{IURj%Mt7E0oM%MR*",
    }


def _upload(request, account) -> httpx.Response:
    fields, files = parse_form(request)
    if "file" not in files:
        return _error(422, "Validation failed: File can't be blank")
    filename, data, ctype = files["file"]
    if not ctype.startswith("image/"):
        return _error(
            422, "Validation failed: File has contents that are not what they are reported to be"
        )
    meta = {}
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
        meta = {"original": {"width": w, "height": h, "size": f"{w}x{h}", "aspect": w / h}}
    except Exception:
        return _error(422, "Validation failed: File could not be processed")
    row = SandboxPost.objects.create(
        service="mastodon-media",
        account=account["id"],
        external_id=_snowflake(),
        text=(fields.get("description") or [""])[0][:1500],
        payload={"filename": filename, "size": len(data), "meta": meta},
    )
    if PROCESSING_POLLS:
        _polls[row.external_id] = PROCESSING_POLLS
        return httpx.Response(202, json=_media_entity(row, ready=False))
    return httpx.Response(200, json=_media_entity(row, ready=True))


def _media_rows(account, ids) -> list[SandboxPost] | None:
    rows = []
    for media_id in ids:
        row = SandboxPost.objects.filter(
            service="mastodon-media", account=account["id"], external_id=media_id
        ).first()
        if row is None or _polls.get(media_id):
            return None
        rows.append(row)
    return rows


def _validate(fields, account):
    text = (fields.get("status") or [""])[0]
    media_ids = fields.get("media_ids[]") or fields.get("media_ids") or []
    if len(media_ids) > 4:
        return (
            None,
            None,
            _error(422, "Validation failed: Media attachments exceeds the limit of 4"),
        )
    media = _media_rows(account, media_ids)
    if media is None:
        return None, None, _error(422, "Cannot attach files that have not finished processing")
    if not text.strip() and not media:
        return None, None, _error(422, "Validation failed: Text can't be blank")
    if len(text) > MAX_CHARS:
        return (
            None,
            None,
            _error(422, f"Validation failed: Text character limit of {MAX_CHARS} exceeded"),
        )
    return text, media, None


def _create_status(request, account) -> httpx.Response:
    key = request.headers.get("idempotency-key", "")
    if key:
        earlier = SandboxPost.objects.filter(
            service=SERVICE,
            account=account["id"],
            idempotency_key=key,
            created_at__gte=timezone.now() - IDEMPOTENCY_TTL,
        ).first()
        if earlier is not None:
            return httpx.Response(200, json=_status(earlier, account))
    fields, _files = parse_form(request)
    text, media, error = _validate(fields, account)
    if error is not None:
        return error
    now = timezone.now()
    status_id = _snowflake()
    url = f"{BASE}/@{account['username']}/{status_id}"
    payload = {
        "id": status_id,
        "created_at": _iso(now),
        "in_reply_to_id": (fields.get("in_reply_to_id") or [""])[0] or None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": (fields.get("visibility") or ["public"])[0],
        "language": (fields.get("language") or [""])[0] or None,
        "uri": f"{BASE}/users/{account['username']}/statuses/{status_id}",
        "url": url,
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": render_content(text),
        "reblog": None,
        "application": {"name": "copps", "website": None},
        "media_attachments": [_media_entity(m, ready=True) for m in media],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    post = SandboxPost.objects.create(
        service=SERVICE,
        account=account["id"],
        external_id=status_id,
        idempotency_key=key,
        text=text,
        payload=payload,
        url=url,
        created_at=now,
    )
    return httpx.Response(200, json=_status(post, account))


def _edit_status(request, account, post: SandboxPost) -> httpx.Response:
    fields, _files = parse_form(request)
    text, media, error = _validate(fields, account)
    if error is not None:
        return error
    now = timezone.now()
    payload = dict(post.payload)
    payload.update(
        content=render_content(text),
        edited_at=_iso(now),
        media_attachments=[_media_entity(m, ready=True) for m in media],
    )
    if fields.get("language"):
        payload["language"] = fields["language"][0]
    post.text, post.payload, post.edited_at = text, payload, now
    post.save(update_fields=["text", "payload", "edited_at"])
    return httpx.Response(200, json=_status(post, account))


# Replies and mentions: notifications -----------------------------------------------------------


def inject_mention(
    text: str,
    *,
    acct: str = "citizen@social.example",
    in_reply_to_id: str | None = None,
    visibility: str = "public",
    language: str = "nl",
    token: str = "token-1",  # noqa: S107 - a sandbox token
) -> dict:
    """A citizen mentions (or replies to) the sandbox account: a mention notification for the
    account of ``token`` appears, shaped like Mastodon's Notification entity. Returns it."""
    account = _account(token)
    now = timezone.now()
    status_id = _snowflake()
    username, _sep, domain = acct.partition("@")
    origin = f"https://{domain}" if domain else BASE
    author = {
        "id": str(int(hashlib.sha256(acct.encode()).hexdigest()[:12], 16)),
        "username": username,
        "acct": acct,
        "display_name": username.title(),
        "url": f"{origin}/@{username}",
        "uri": f"{origin}/users/{username}",
        "bot": False,
        "group": False,
        "emojis": [],
        "fields": [],
    }
    mention = (
        f'<span class="h-card" translate="no"><a href="{account["url"]}" class="u-url mention">'
        f"@<span>{account['username']}</span></a></span> "
    )
    content = render_content(text)
    content = content.replace("<p>", "<p>" + mention, 1) if content else f"<p>{mention}</p>"
    status = {
        "id": status_id,
        "created_at": _iso(now),
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": account["id"] if in_reply_to_id else None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": visibility,
        "language": language,
        "uri": f"{origin}/users/{username}/statuses/{status_id}",
        "url": f"{origin}/@{username}/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": content,
        "reblog": None,
        "account": author,
        "media_attachments": [],
        "mentions": [
            {
                "id": account["id"],
                "username": account["username"],
                "url": account["url"],
                "acct": account["acct"],
            }
        ],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    row = SandboxPost.objects.create(
        service="mastodon-notif", account=account["id"], external_id="", text=text
    )
    notification = {
        "id": str(row.pk),
        "type": "mention",
        "created_at": _iso(now),
        "group_key": f"ungrouped-{row.pk}",
        "account": author,
        "status": status,
    }
    row.external_id, row.payload = str(row.pk), notification
    row.save(update_fields=["external_id", "payload"])
    return notification


def _notifications(request: httpx.Request, account: dict) -> httpx.Response:
    params = request.url.params
    types = params.get_list("types[]")
    try:
        limit = max(1, min(80, int(params.get("limit", "40") or 40)))
        min_id = int(params.get("min_id") or 0)
        since_id = int(params.get("since_id") or 0)
        max_id = int(params.get("max_id") or 0)
    except ValueError:
        return _error(422, "Invalid parameter")
    rows = SandboxPost.objects.filter(service="mastodon-notif", account=account["id"])
    after_min = "min_id" in params
    if after_min or since_id:
        rows = rows.filter(pk__gt=max(min_id, since_id))
    if max_id:
        rows = rows.filter(pk__lt=max_id)
    # min_id: the page right after it (oldest first, answered newest first); else the newest.
    picked = list(rows.order_by("pk" if after_min else "-pk")[:limit])
    picked.sort(key=lambda r: r.pk, reverse=True)
    found = [r.payload for r in picked if not types or r.payload.get("type") in types]
    return httpx.Response(200, json=found)


def handle(request: httpx.Request) -> httpx.Response:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not token or token == REVOKED_TOKEN:
        return _error(401, "The access token is invalid")
    account = _account(token)
    method, path = request.method, request.url.path.rstrip("/")
    if path == "/api/v1/accounts/verify_credentials" and method == "GET":
        return httpx.Response(200, json=account | {"source": {"privacy": "public", "note": ""}})
    if path == "/api/v1/apps/verify_credentials" and method == "GET":
        return httpx.Response(
            200,
            json={
                "id": "1",
                "name": "copps",
                "website": None,
                "scopes": ["read:accounts", "read:statuses", "write:statuses", "write:media"],
                "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
            },
        )
    if path == "/api/v2/media" and method == "POST":
        return _upload(request, account)
    if match := re.fullmatch(r"/api/v1/media/(\d+)", path):
        row = SandboxPost.objects.filter(
            service="mastodon-media", account=account["id"], external_id=match[1]
        ).first()
        if row is None:
            return _error(404, "Record not found")
        left = _polls.get(row.external_id, 0)
        if left:
            _polls[row.external_id] = left - 1
            if left - 1:
                return httpx.Response(206, json=_media_entity(row, ready=False))
            del _polls[row.external_id]
        return httpx.Response(200, json=_media_entity(row, ready=True))
    if path == "/api/v1/statuses" and method == "POST":
        return _create_status(request, account)
    if path == "/api/v1/notifications" and method == "GET":
        return _notifications(request, account)
    if match := re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path):
        limit = min(40, int(request.url.params.get("limit", "20") or 20))
        rows = SandboxPost.objects.filter(
            service=SERVICE, account=match[1], deleted_at__isnull=True
        ).order_by("-created_at", "-pk")[:limit]
        return httpx.Response(200, json=[_status(p, account) for p in rows])
    if match := re.fullmatch(r"/api/v1/statuses/(\d+)", path):
        post = SandboxPost.objects.filter(
            service=SERVICE, account=account["id"], external_id=match[1], deleted_at__isnull=True
        ).first()
        if post is None:
            return _error(404, "Record not found")
        if method == "GET":
            return httpx.Response(200, json=_status(post, account))
        if method == "PUT":
            return _edit_status(request, account, post)
        if method == "DELETE":
            post.deleted_at = timezone.now()
            post.save(update_fields=["deleted_at"])
            body = _status(post, account)
            body.pop("content", None)
            body["text"] = post.text  # Mastodon answers a deletion with the source text
            return httpx.Response(200, json=body)
    return _error(404, "Record not found")


sandbox.add(SERVICE, handle)
