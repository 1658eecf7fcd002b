"""Sandbox YouTube: the OAuth token endpoint, the resumable upload and the Data API v3, all on
``https://youtube.sandbox.invalid`` with the real paths and JSON shapes.

- ``POST /token`` (grant_type=refresh_token): ``{"access_token", "expires_in", ...}``; the
  refresh token ``revoked`` answers ``400 invalid_grant`` as Google does;
- ``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` -> 200 and a
  session in ``Location``; ``PUT <session>`` with all the bytes -> 200 and the video resource;
  ``PUT <session>`` with ``Content-Range: bytes */N`` -> the resource if the upload completed,
  ``308`` if not (a completed session never creates a second video);
- ``GET /youtube/v3/channels``, ``GET /youtube/v3/playlistItems`` (the uploads playlist),
  ``GET /youtube/v3/search?forMine=true``, ``PUT /youtube/v3/videos?part=snippet``,
  ``DELETE /youtube/v3/videos?id=``;
- ``exhaust_quota()``: the next call answers ``403 quotaExceeded``; ``REVOKED_ACCESS`` holds
  access tokens that answer 401 (a token revoked before it expired).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from urllib.parse import parse_qsl

import httpx
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.models import SandboxPost

BASE = sandbox.base("youtube")
CHANNEL_ID = "UCsandboxPolitie000000aa"
CHANNEL_TITLE = "Politie (sandbox channel)"
SESSIONS: dict[str, dict] = {}
REVOKED_ACCESS: set[str] = set()
QUOTA: list[bool] = []
TOKEN_CALLS: list[str] = []


def exhaust_quota() -> None:
    QUOTA.append(True)


def api_error(status: int, reason: str, message: str, domain: str = "youtube.api"):
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }
    return httpx.Response(status, json=body)


def _live():
    return SandboxPost.objects.filter(service="youtube", deleted_at__isnull=True)


def _resource(post: SandboxPost) -> dict:
    return {
        "kind": "youtube#video",
        "etag": hashlib.sha1(post.external_id.encode(), usedforsecurity=False).hexdigest()[:27],
        "id": post.external_id,
        "snippet": {**post.payload.get("snippet", {}), "channelId": CHANNEL_ID},
        "status": {**post.payload.get("status", {}), "uploadStatus": "uploaded"},
    }


def handle(request: httpx.Request) -> httpx.Response:
    path, method = request.url.path, request.method
    if path == "/token" and method == "POST":
        return _token(request)
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.startswith("Bearer ") else ""
    upload_id = request.url.params.get("upload_id")
    if not (path == "/upload/youtube/v3/videos" and upload_id):
        # Session URLs carry their own authority; every other call needs a valid token.
        if not token.startswith("ya29.sandbox-") or token in REVOKED_ACCESS:
            return api_error(
                401,
                "authError",
                "Request had invalid authentication credentials.",
                domain="global",
            )
        if QUOTA:
            QUOTA.pop(0)
            return api_error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                domain="youtube.quota",
            )
    if path == "/upload/youtube/v3/videos":
        if method == "POST" and request.url.params.get("uploadType") == "resumable":
            return _start(request)
        if method == "PUT" and upload_id:
            return _put(request, upload_id)
    if path == "/youtube/v3/channels" and method == "GET":
        item = {
            "kind": "youtube#channel",
            "id": CHANNEL_ID,
            "snippet": {"title": CHANNEL_TITLE},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + CHANNEL_ID[2:]}},
        }
        mine = request.url.params.get("mine") == "true"
        wanted = request.url.params.get("id")
        return httpx.Response(
            200,
            json={
                "kind": "youtube#channelListResponse",
                "items": [item] if mine or wanted == CHANNEL_ID else [],
            },
        )
    if path == "/youtube/v3/playlistItems" and method == "GET":
        if request.url.params.get("playlistId") != "UU" + CHANNEL_ID[2:]:
            return api_error(404, "playlistNotFound", "The playlist could not be found.")
        return httpx.Response(
            200, json={"items": [_item(p, "youtube#playlistItem") for p in _recent(request)]}
        )
    if path == "/youtube/v3/search" and method == "GET":
        return httpx.Response(
            200,
            json={
                "items": [
                    {
                        "kind": "youtube#searchResult",
                        "id": {"kind": "youtube#video", "videoId": p.external_id},
                        "snippet": _item(p, "")["snippet"],
                    }
                    for p in _recent(request)
                ]
            },
        )
    if path == "/youtube/v3/videos" and method == "PUT":
        return _update(request)
    if path == "/youtube/v3/videos" and method == "DELETE":
        post = _live().filter(external_id=request.url.params.get("id", "")).first()
        if post is None:
            return api_error(404, "videoNotFound", "Video not found", domain="youtube.video")
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
        return httpx.Response(204)
    return api_error(404, "notFound", "Not Found", domain="global")


def _recent(request: httpx.Request):
    try:
        count = max(1, min(50, int(request.url.params.get("maxResults", "5"))))
    except ValueError:
        count = 5
    return list(_live().order_by("-pk")[:count])


def _item(post: SandboxPost, kind: str) -> dict:
    snippet = post.payload.get("snippet", {})
    return {
        "kind": kind,
        "id": secrets.token_urlsafe(8),
        "snippet": {
            "publishedAt": post.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "channelId": CHANNEL_ID,
            "title": snippet.get("title", ""),
            "description": snippet.get("description", ""),
            "playlistId": "UU" + CHANNEL_ID[2:],
            "resourceId": {"kind": "youtube#video", "videoId": post.external_id},
        },
    }


def _token(request: httpx.Request) -> httpx.Response:
    form = dict(parse_qsl((request.content or b"").decode("utf-8", "replace")))
    if form.get("grant_type") != "refresh_token":
        return httpx.Response(
            400, json={"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        )
    if not form.get("client_id") or not form.get("client_secret"):
        return httpx.Response(
            401,
            json={
                "error": "invalid_client",
                "error_description": "The OAuth client was not found.",
            },
        )
    if not form.get("refresh_token") or form["refresh_token"] == "revoked":  # noqa: S105
        return httpx.Response(
            400,
            json={
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            },
        )
    token = "ya29.sandbox-" + secrets.token_urlsafe(24)
    TOKEN_CALLS.append(token)
    return httpx.Response(
        200,
        json={
            "access_token": token,
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube",
            "token_type": "Bearer",
        },
    )


def _snippet_problem(snippet: dict) -> httpx.Response | None:
    title = snippet.get("title")
    if (
        not isinstance(title, str)
        or not title.strip()
        or len(title) > 100
        or re.search("[<>]", title)
    ):
        return api_error(
            400,
            "invalidTitle",
            "The request metadata specifies an invalid video title.",
            domain="youtube.video",
        )
    description = snippet.get("description", "")
    if (
        not isinstance(description, str)
        or len(description.encode()) > 5000
        or re.search("[<>]", description)
    ):
        return api_error(
            400,
            "invalidDescription",
            "The request metadata specifies an invalid video description.",
            domain="youtube.video",
        )
    return None


def _start(request: httpx.Request) -> httpx.Response:
    try:
        meta = json.loads(request.content)
        snippet, status = meta["snippet"], meta.get("status", {})
        size = int(request.headers["x-upload-content-length"])
    except (ValueError, KeyError, TypeError):
        return api_error(400, "badRequest", "Bad Request", domain="global")
    problem = _snippet_problem(snippet)
    if problem:
        return problem
    if status.get("privacyStatus", "public") not in ("public", "unlisted", "private"):
        return api_error(
            400, "invalidVideoMetadata", "The request metadata is invalid.", domain="youtube.video"
        )
    session = secrets.token_urlsafe(16)
    SESSIONS[session] = {
        "snippet": snippet,
        "status": status,
        "size": size,
        "content_type": request.headers.get("x-upload-content-type", ""),
        "video": None,
    }
    location = f"{BASE}/upload/youtube/v3/videos?uploadType=resumable&upload_id={session}"
    return httpx.Response(200, headers={"location": location})


def _put(request: httpx.Request, upload_id: str) -> httpx.Response:
    session = SESSIONS.get(upload_id)
    if session is None:
        return api_error(404, "notFound", "Upload session not found", domain="global")
    if session["video"]:
        post = SandboxPost.objects.filter(service="youtube", external_id=session["video"]).first()
        if post:
            return httpx.Response(200, json=_resource(post))
    if request.headers.get("content-range", "").startswith("bytes */"):
        return httpx.Response(308, headers={"content-length": "0"})  # nothing received yet
    data = request.content
    if len(data) != session["size"]:
        return httpx.Response(308, headers={"range": f"bytes=0-{len(data) - 1}"} if data else {})
    video_id = secrets.token_urlsafe(8)[:11].replace("-", "x").replace("_", "y")
    post = SandboxPost.objects.create(
        service="youtube",
        account=CHANNEL_ID,
        external_id=video_id,
        text=session["snippet"].get("description", ""),
        payload={
            "snippet": session["snippet"],
            "status": session["status"],
            "content_type": session["content_type"],
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        url=f"https://www.youtube.com/watch?v={video_id}",
    )
    session["video"] = video_id
    return httpx.Response(200, json=_resource(post))


def _update(request: httpx.Request) -> httpx.Response:
    if request.url.params.get("part") != "snippet":
        return api_error(400, "badRequest", "part=snippet is required", domain="global")
    try:
        body = json.loads(request.content)
        video_id, snippet = body["id"], body["snippet"]
    except (ValueError, KeyError, TypeError):
        return api_error(400, "badRequest", "Bad Request", domain="global")
    if not snippet.get("categoryId"):
        return api_error(
            400,
            "invalidCategoryId",
            "The snippet.categoryId property specifies an invalid category ID.",
            domain="youtube.video",
        )
    problem = _snippet_problem(snippet)
    if problem:
        return problem
    post = _live().filter(external_id=video_id).first()
    if post is None:
        return api_error(404, "videoNotFound", "Video not found", domain="youtube.video")
    post.payload = {**post.payload, "snippet": snippet}
    post.text = snippet.get("description", "")
    post.edited_at = timezone.now()
    post.save(update_fields=["payload", "text", "edited_at"])
    return httpx.Response(200, json=_resource(post))


sandbox.add("youtube", handle)
