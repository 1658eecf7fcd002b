"""Sandbox X (API v2): the paths, JSON shapes and errors of the real API.

- ``GET /2/users/me``, ``POST /2/tweets``, ``DELETE /2/tweets/:id``,
  ``GET /2/users/:id/tweets?max_results=5..100``;
- like X: links in a stored post become ``https://t.co/...``, ``& < >`` come back HTML-escaped,
  the same text twice is refused (403 "duplicate content"), there is no edit endpoint;
- the bearer token ``revoked`` (or none) answers 401 as X does;
- ``throttle(seconds)``: the next create answers 429 with ``x-rate-limit-reset``;
- ``GET /2/users/:id/mentions`` (``since_id``, ``max_results``, ``pagination_token``, the
  ``author_id`` expansion); ``inject_mention(text, ...)`` makes a citizen mention the account.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import time
from typing import Any

import httpx
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.models import SandboxPost

USER = {"id": "1500000000000000001", "name": "Politie (sandbox)", "username": "politie_sandbox"}
URL_RE = re.compile(r"https?://\S+")
THROTTLED: list[float] = []


def throttle(seconds: float) -> float:
    """Make the next ``POST /2/tweets`` answer 429; returns the announced reset (epoch)."""
    reset = time.time() + seconds
    THROTTLED.append(reset)
    return reset


def problem(status: int, title: str, detail: str, kind: str = "about:blank", **headers):
    body = {"title": title, "detail": detail, "type": kind, "status": status}
    return httpx.Response(
        status, json=body, headers={"content-type": "application/problem+json", **headers}
    )


def _shorten(text: str) -> str:
    return URL_RE.sub(lambda _m: "https://t.co/" + secrets.token_urlsafe(7)[:10], text)


def _tweet(post: SandboxPost) -> dict:
    return {
        "id": post.external_id,
        "text": html.escape(post.payload.get("display", post.text), quote=False),
        "edit_history_tweet_ids": [post.external_id],
    }


def _live():
    return SandboxPost.objects.filter(service="x", deleted_at__isnull=True)


# Mentions --------------------------------------------------------------------------------------

MENTION_BASE = 1_900_000_000_000_000_000


def inject_mention(
    text: str, *, username: str = "burger123", in_reply_to: str = "", lang: str = "nl"
) -> dict:
    """A citizen's post mentioning (or replying to) the sandbox account, as X returns it."""
    row = SandboxPost.objects.create(service="x-mention", account=USER["id"], external_id="")
    tweet_id = str(MENTION_BASE + row.pk)
    user = {
        "id": str(1_600_000_000_000_000_000 + sum(map(ord, username))),
        "name": username.title(),
        "username": username,
    }
    tweet: dict[str, Any] = {
        "id": tweet_id,
        "text": html.escape(f"@{USER['username']} {text}", quote=False),
        "author_id": user["id"],
        "conversation_id": in_reply_to or tweet_id,
        "created_at": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lang": lang,
        "edit_history_tweet_ids": [tweet_id],
    }
    if in_reply_to:
        conversation = SandboxPost.objects.filter(
            service="x-mention", external_id=in_reply_to
        ).first()
        if conversation is not None:
            tweet["conversation_id"] = conversation.payload["tweet"]["conversation_id"]
        tweet["in_reply_to_user_id"] = USER["id"]
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": in_reply_to}]
    row.external_id, row.text, row.payload = tweet_id, text, {"tweet": tweet, "user": user}
    row.save(update_fields=["external_id", "text", "payload"])
    return tweet


def _mentions(request: httpx.Request, user_id: str) -> httpx.Response:
    params = request.url.params
    try:
        count = int(params.get("max_results", "10"))
        since = int(params.get("since_id") or 0)
        before = int(params.get("pagination_token") or 0)
    except ValueError:
        count = 0
        since = before = 0
    if not 5 <= count <= 100:
        return problem(
            400,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
            "https://api.twitter.com/2/problems/invalid-request",
        )
    rows = SandboxPost.objects.filter(service="x-mention", account=user_id)
    if since:
        rows = rows.filter(pk__gt=since - MENTION_BASE)
    if before:
        rows = rows.filter(pk__lt=before - MENTION_BASE)
    picked = list(rows.order_by("-pk")[: count + 1])
    more = len(picked) > count
    picked = picked[:count]
    meta: dict = {"result_count": len(picked)}
    if not picked:
        return httpx.Response(200, json={"meta": meta})
    meta |= {"newest_id": picked[0].external_id, "oldest_id": picked[-1].external_id}
    if more:
        meta["next_token"] = picked[-1].external_id  # the sandbox's opaque token
    users = {r.payload["user"]["id"]: r.payload["user"] for r in picked}
    return httpx.Response(
        200,
        json={
            "data": [r.payload["tweet"] for r in picked],
            "includes": {"users": list(users.values())},
            "meta": meta,
        },
    )


def handle(request: httpx.Request) -> httpx.Response:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or auth[7:].strip() in ("", "revoked"):
        return problem(401, "Unauthorized", "Unauthorized")
    path, method = request.url.path, request.method
    if method == "GET" and path == "/2/users/me":
        return httpx.Response(200, json={"data": USER})
    if method == "POST" and path == "/2/tweets":
        return _create(request)
    match = re.fullmatch(r"/2/tweets/(\d+)", path)
    if method == "DELETE" and match:
        post = _live().filter(external_id=match[1]).first()
        if post is None:
            return problem(
                404,
                "Not Found Error",
                f"Could not find tweet with id: [{match[1]}].",
                "https://api.twitter.com/2/problems/resource-not-found",
            )
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
        return httpx.Response(200, json={"data": {"deleted": True}})
    match = re.fullmatch(r"/2/users/(\d+)/mentions", path)
    if method == "GET" and match:
        return _mentions(request, match[1])
    match = re.fullmatch(r"/2/users/(\d+)/tweets", path)
    if method == "GET" and match:
        try:
            count = int(request.url.params.get("max_results", "10"))
        except ValueError:
            count = 0
        if not 5 <= count <= 100:
            return problem(
                400,
                "Invalid Request",
                "One or more parameters to your request was invalid.",
                "https://api.twitter.com/2/problems/invalid-request",
            )
        if match[1] != USER["id"]:
            return httpx.Response(200, json={"meta": {"result_count": 0}})
        tweets = [_tweet(p) for p in _live().order_by("-pk")[:count]]
        meta = {"result_count": len(tweets)}
        if tweets:
            meta |= {"newest_id": tweets[0]["id"], "oldest_id": tweets[-1]["id"]}
        return httpx.Response(
            200, json={"data": tweets, "meta": meta} if tweets else {"meta": meta}
        )
    return problem(404, "Not Found", "Sorry, that page does not exist.")


def _create(request: httpx.Request) -> httpx.Response:
    if THROTTLED:
        reset = THROTTLED.pop(0)
        return problem(
            429,
            "Too Many Requests",
            "Too Many Requests",
            **{
                "x-rate-limit-limit": "200",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(reset)),
            },
        )
    try:
        body = json.loads(request.content)
        text = body["text"]
        assert isinstance(text, str) and text.strip()
    except (ValueError, KeyError, TypeError, AssertionError):
        return problem(
            400,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
            "https://api.twitter.com/2/problems/invalid-request",
        )
    if _live().filter(text=text).exists():
        return problem(
            403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
        )
    post_id = str(1_800_000_000_000_000_000 + secrets.randbelow(10**17))
    display = _shorten(text)
    SandboxPost.objects.create(
        service="x",
        account=USER["username"],
        external_id=post_id,
        text=text,
        payload={"display": display, "request": body},
        url=f"https://x.com/{USER['username']}/status/{post_id}",
    )
    return httpx.Response(
        201, json={"data": {"id": post_id, "text": display, "edit_history_tweet_ids": [post_id]}}
    )


sandbox.add("x", handle)
