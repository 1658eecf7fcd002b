"""Sandbox LinkedIn (Community Management API, versioned ``/rest`` endpoints).

- requires ``LinkedIn-Version`` (YYYYMM; missing: 400 ``VERSION_MISSING``, older than a year:
  426 ``NONEXISTENT_VERSION``) and ``X-Restli-Protocol-Version: 2.0.0`` as the real API does;
- ``GET /rest/organizations/{id}``; ``POST /rest/posts`` -> 201, empty body, ``x-restli-id``;
  ``POST /rest/posts/{urn}`` with ``X-RestLi-Method: PARTIAL_UPDATE`` -> 204;
  ``DELETE /rest/posts/{urn}`` -> 204; ``GET /rest/posts?q=author&author=...``;
- token ``revoked``: 401 ``INVALID_ACCESS_TOKEN``; an author the token does not administer: 403.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from urllib.parse import unquote

import httpx
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.models import SandboxPost

ORG_NAME = "Politie (sandbox Page)"


def error(status: int, code: str, message: str, service_code: int = 100) -> httpx.Response:
    body = {"status": status, "serviceErrorCode": service_code, "code": code, "message": message}
    return httpx.Response(status, json=body)


def _version_problem(request: httpx.Request) -> httpx.Response | None:
    version = request.headers.get("linkedin-version", "")
    if not version:
        return error(
            400,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        )
    if not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", version):
        return error(400, "INVALID_VERSION", f"Invalid version {version}")
    now = datetime.now(UTC)
    months = (now.year - int(version[:4])) * 12 + now.month - int(version[4:])
    if months > 12 or months < 0:
        return error(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
    if request.headers.get("x-restli-protocol-version") != "2.0.0":
        return error(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is required")
    return None


def _live():
    return SandboxPost.objects.filter(service="linkedin", deleted_at__isnull=True)


def handle(request: httpx.Request) -> httpx.Response:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or auth[7:].strip() in ("", "revoked"):
        return error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
    problem = _version_problem(request)
    if problem:
        return problem
    path, method = request.url.path, request.method
    match = re.fullmatch(r"/rest/organizations/(\d+)", path)
    if match and method == "GET":
        return httpx.Response(
            200,
            json={"id": int(match[1]), "localizedName": ORG_NAME, "vanityName": "politie-sandbox"},
        )
    if path == "/rest/posts" and method == "POST":
        return _create(request)
    if path == "/rest/posts" and method == "GET":
        if request.url.params.get("q") != "author":
            return error(400, "ILLEGAL_ARGUMENT", "Unknown finder")
        author = request.url.params.get("author", "")
        rows = _live().filter(account=author).order_by("-pk")[:20]
        elements = [
            {
                "id": p.external_id,
                "author": author,
                "commentary": p.payload.get("commentary", ""),
                "lifecycleState": "PUBLISHED",
            }
            for p in rows
        ]
        return httpx.Response(
            200, json={"elements": elements, "paging": {"start": 0, "count": len(elements)}}
        )
    match = re.fullmatch(r"/rest/posts/([^/]+)", request.url.raw_path.decode().split("?")[0])
    if match:
        urn = unquote(match[1])
        post = _live().filter(external_id=urn).first()
        if post is None:
            return error(404, "NOT_FOUND", f"Post {urn} not found")
        if method == "DELETE":
            post.deleted_at = timezone.now()
            post.save(update_fields=["deleted_at"])
            return httpx.Response(204)
        if method == "POST" and request.headers.get("x-restli-method") == "PARTIAL_UPDATE":
            try:
                commentary = json.loads(request.content)["patch"]["$set"]["commentary"]
            except (ValueError, KeyError, TypeError):
                return error(400, "ILLEGAL_ARGUMENT", "Invalid patch")
            post.payload = {**post.payload, "commentary": commentary}
            post.text = _plain(commentary)
            post.edited_at = timezone.now()
            post.save(update_fields=["payload", "text", "edited_at"])
            return httpx.Response(204)
    return error(404, "NOT_FOUND", "Resource not found")


def _plain(commentary: str) -> str:
    return re.sub(r"\\([\\|{}@\[\]()<>#*_~])", r"\1", commentary)


def _create(request: httpx.Request) -> httpx.Response:
    try:
        body = json.loads(request.content)
        author, commentary = body["author"], body.get("commentary", "")
        assert body["visibility"] == "PUBLIC" and body["lifecycleState"] == "PUBLISHED"
        assert body["distribution"]["feedDistribution"] == "MAIN_FEED"
    except (ValueError, KeyError, TypeError, AssertionError):
        return error(
            422,
            "UNPROCESSABLE_ENTITY",
            "Invalid post: author, visibility, distribution and lifecycleState are required",
        )
    if not re.fullmatch(r"urn:li:organization:\d+", str(author)):
        return error(403, "ACCESS_DENIED", f"Not enough permissions to post as {author}")
    if len(commentary) > 3000:
        return error(422, "UNPROCESSABLE_ENTITY", "commentary is longer than 3000 characters")
    if _live().filter(account=author, payload__commentary=commentary).exists():
        other = _live().filter(account=author, payload__commentary=commentary).first()
        return error(
            422, "DUPLICATE_POST", f"Content is a duplicate of {other.external_id if other else ''}"
        )
    urn = f"urn:li:share:{7_300_000_000_000_000_000 + secrets.randbelow(10**17)}"
    SandboxPost.objects.create(
        service="linkedin",
        account=author,
        external_id=urn,
        text=_plain(commentary),
        payload=body,
        url=f"https://www.linkedin.com/feed/update/{urn}/",
    )
    return httpx.Response(201, headers={"x-restli-id": urn})


sandbox.add("linkedin", handle)
