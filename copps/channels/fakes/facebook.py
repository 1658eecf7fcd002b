"""Sandbox Facebook Page (Graph API): the paths, JSON shapes and error bodies of the real one.

- ``GET /{version}/{page-id}?fields=id,name``, ``POST /{version}/{page-id}/feed`` (message, link),
  ``POST /{version}/{page-id}/photos`` (url, caption), ``GET /{version}/{page-id}/posts``,
  ``POST /{version}/{post-id}`` (message: an edit), ``DELETE /{version}/{post-id}``;
- the token comes as ``Authorization: Bearer`` or an ``access_token`` parameter; ``revoked``
  answers Graph error 190 (HTTP 400), as Facebook does for an invalidated session;
- ``throttle(minutes)``: the next call answers error 32 with ``X-Business-Use-Case-Usage``;
- comments: ``GET /{version}/{page-id}/feed?fields=id,comments...`` lists the Page's posts with
  their comments (stream order, replies carrying ``parent``), ``POST /{version}/{object-id}/
  comments`` (message) answers a post or comment -> ``{"id"}``; ``inject_comment(post_id, text)``
  makes a citizen comment.
"""

from __future__ import annotations

import json
import re
import secrets
from urllib.parse import parse_qsl

import httpx
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.models import SandboxPost

PAGE_NAME = "Politie (sandbox Page)"
THROTTLED: list[int] = []


def throttle(minutes: int) -> None:
    THROTTLED.append(minutes)


def graph_error(status, code, message, kind="OAuthException", subcode=None, headers=None):
    error = {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_urlsafe(8)}
    if subcode:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, headers=headers or {})


def params_of(request: httpx.Request) -> dict:
    """Query string and body (form-encoded or JSON), as Graph accepts both."""
    values = dict(request.url.params)
    body = request.content or b""
    if body:
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                loaded = json.loads(body)
                values |= loaded if isinstance(loaded, dict) else {}
            except ValueError:
                pass
        else:
            values |= dict(parse_qsl(body.decode("utf-8", "replace")))
    return values


def token_of(request: httpx.Request, values: dict) -> str:
    auth = request.headers.get("authorization", "")
    if auth.startswith(("Bearer ", "OAuth ")):
        return auth.split(" ", 1)[1].strip()
    return str(values.get("access_token", ""))


def check_token(request: httpx.Request, values: dict) -> httpx.Response | None:
    token = token_of(request, values)
    if not token:
        return graph_error(
            400,
            2500,
            "An active access token must be used to query information about the current user.",
        )
    if token == "revoked":  # noqa: S105 - the sandbox's revoked token
        return graph_error(
            400,
            190,
            "Error validating access token: The session has been invalidated because the user "
            "changed their password or Facebook has changed the session for security reasons.",
            subcode=460,
        )
    if THROTTLED:
        minutes = THROTTLED.pop(0)
        usage = {
            "1": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 10,
                    "total_time": 10,
                    "estimated_time_to_regain_access": minutes,
                }
            ]
        }
        return graph_error(
            400,
            32,
            "Page request limit reached",
            headers={"x-business-use-case-usage": json.dumps(usage)},
        )
    return None


def unsupported(method: str, object_id: str) -> httpx.Response:
    return graph_error(
        400,
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation.",
        kind="GraphMethodException",
        subcode=33,
    )


def _live():
    return SandboxPost.objects.filter(service="facebook", deleted_at__isnull=True)


# Comments ---------------------------------------------------------------------------------------


def _fb_time() -> str:
    return timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000")


def _comment(post_id: str, text: str, author: dict | None, parent: str = "") -> dict:
    number = str(200_000_000_000_000 + secrets.randbelow(10**14))
    comment_id = f"{post_id.split('_')[-1]}_{number}"
    page = post_id.split("_")[0]
    comment: dict[str, object] = {
        "id": comment_id,
        "message": text,
        "created_time": _fb_time(),
        "permalink_url": f"https://www.facebook.com/{post_id}?comment_id={number}",
    }
    if author is not None:
        comment["from"] = author
    if parent:
        comment["parent"] = {"id": parent}
    SandboxPost.objects.create(
        service="facebook-comment",
        account=page,
        external_id=comment_id,
        text=text,
        payload={"post": post_id, "comment": comment},
    )
    return comment


def inject_comment(
    post_id: str, text: str, *, name: str = "Jan Peeters", parent: str = "", anonymous=False
) -> dict:
    """A citizen comments on the Page's post ``post_id`` (or answers comment ``parent``).
    ``anonymous``: Graph leaves out ``from`` (the app lacks the permission to see who)."""
    author = None if anonymous else {"name": name, "id": str(10**15 + sum(map(ord, name)))}
    return _comment(post_id, text, author, parent)


def _feed(page: str, values: dict) -> httpx.Response:
    try:
        limit = max(1, min(100, int(values.get("limit", 25))))
    except ValueError:
        limit = 25
    posts = _live().filter(account=page).order_by("-pk")[:limit]
    data = []
    for post in posts:
        entry: dict = {
            "id": post.external_id,
            "message": post.text,
            "created_time": post.created_at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        }
        if "comments" in str(values.get("fields") or ""):
            rows = SandboxPost.objects.filter(
                service="facebook-comment", payload__post=post.external_id
            ).order_by("-pk")
            comments = [r.payload["comment"] for r in rows[:100]]
            if comments:
                entry["comments"] = {"data": comments, "paging": {"cursors": {}}}
        data.append(entry)
    return httpx.Response(200, json={"data": data, "paging": {}})


def _reply(object_id: str, values: dict) -> httpx.Response:
    message = str(values.get("message") or "")
    if not message:
        return graph_error(400, 100, "(#100) Missing message or attachment", kind="OAuthException")
    post = _live().filter(external_id=object_id).first()
    parent = ""
    if post is None:
        row = SandboxPost.objects.filter(service="facebook-comment", external_id=object_id).first()
        if row is None:
            return unsupported("POST", object_id)
        post_id = row.payload["post"]
        parent = object_id
    else:
        post_id = post.external_id
    page = post_id.split("_")[0]
    comment = _comment(post_id, message, {"name": PAGE_NAME, "id": page}, parent)
    return httpx.Response(200, json={"id": comment["id"]})


def handle(request: httpx.Request) -> httpx.Response:
    values = params_of(request)
    refused = check_token(request, values)
    if refused:
        return refused
    comments = re.fullmatch(r"/v\d+\.\d+/(\d+_\d+)/comments", request.url.path)
    if comments and request.method == "POST":
        return _reply(comments[1], values)
    match = re.fullmatch(r"/v\d+\.\d+/(\d+)(?:_(\d+))?(?:/(feed|photos|posts))?", request.url.path)
    if not match:
        return graph_error(400, 2500, "Unknown path components", kind="OAuthException")
    page, post_part, edge = match[1], match[2], match[3]
    method = request.method
    if post_part is None and edge is None and method == "GET":
        return httpx.Response(200, json={"id": page, "name": PAGE_NAME})
    if edge == "feed" and method == "POST":
        message = str(values.get("message") or "")
        if not message and not values.get("link"):
            return graph_error(
                400, 100, "(#100) The parameter message or link is required", kind="OAuthException"
            )
        return _create(page, message, values)
    if edge == "photos" and method == "POST":
        if not str(values.get("url") or "").startswith(("http://", "https://")):
            return graph_error(400, 324, "(#324) Requires upload file", kind="OAuthException")
        return _create(page, str(values.get("caption") or ""), values, photo=True)
    if edge == "feed" and method == "GET":
        return _feed(page, values)
    if edge == "posts" and method == "GET":
        try:
            limit = max(1, min(100, int(values.get("limit", 25))))
        except ValueError:
            limit = 25
        rows = _live().filter(account=page).order_by("-pk")[:limit]
        data = [
            {
                "id": p.external_id,
                "message": p.text,
                "created_time": p.created_at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
            for p in rows
        ]
        return httpx.Response(200, json={"data": data, "paging": {}})
    if post_part is not None and edge is None:
        post_id = f"{page}_{post_part}"
        post = _live().filter(external_id=post_id).first()
        if post is None:
            return unsupported(method, post_id)
        if method == "DELETE":
            post.deleted_at = timezone.now()
            post.save(update_fields=["deleted_at"])
            return httpx.Response(200, json={"success": True})
        if method == "POST":
            post.text, post.edited_at = str(values.get("message") or post.text), timezone.now()
            post.save(update_fields=["text", "edited_at"])
            return httpx.Response(200, json={"success": True})
        if method == "GET":
            return httpx.Response(200, json={"id": post_id, "message": post.text})
    return graph_error(400, 100, "(#100) Unsupported request", kind="OAuthException")


def _create(page: str, message: str, values: dict, photo: bool = False) -> httpx.Response:
    if _live().filter(account=page, text=message).exclude(text="").exists():
        return graph_error(
            400, 506, "Duplicate status message", kind="OAuthException", subcode=1455006
        )
    number = str(100_000_000_000_000 + secrets.randbelow(10**14))
    post_id = f"{page}_{number}"
    SandboxPost.objects.create(
        service="facebook",
        account=page,
        external_id=post_id,
        text=message,
        payload={k: v for k, v in values.items() if k != "access_token"},
        url=f"https://www.facebook.com/{post_id}",
    )
    if photo:
        return httpx.Response(200, json={"id": number, "post_id": post_id})
    return httpx.Response(200, json={"id": post_id})


sandbox.add("facebook", handle)
