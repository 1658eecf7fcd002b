"""Sandbox Instagram (content publishing through the Graph API), answering like the real one.

- ``GET /{version}/{ig-user-id}?fields=id,username``;
- ``POST /{version}/{ig-user-id}/media`` (image_url, caption, alt_text) -> ``{"id": container}``;
  without ``image_url`` error 100 as Instagram answers;
- ``GET /{version}/{container}?fields=status_code`` -> ``FINISHED`` (``IN_PROGRESS`` first when
  ``SLOW`` is set), ``PUBLISHED`` once used;
- ``POST /{version}/{ig-user-id}/media_publish`` (creation_id) -> ``{"id": media id}``; a
  container is published once (a second publish is refused, as Instagram does);
- ``GET /{version}/{media-id}?fields=permalink``, ``GET /{version}/{ig-user-id}/media``,
  ``DELETE /{version}/{media-id}`` -> ``{"success": true}``; no caption edits;
- more than 50 publishes in 24 hours: error 9 / 2207042; token ``revoked``: error 190.

Containers live in memory (a container is created and published within one delivery attempt).
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import httpx
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.models import SandboxPost

from .facebook import check_token, graph_error, params_of, unsupported

USERNAME = "politie_sandbox"
CONTAINERS: dict[str, dict] = {}
SLOW: list[int] = []  # polls answering IN_PROGRESS before FINISHED, for the next container


def _live():
    return SandboxPost.objects.filter(service="instagram", deleted_at__isnull=True)


def _shortcode(media_id: str) -> str:
    return "C" + media_id[-9:]


def handle(request: httpx.Request) -> httpx.Response:
    values = params_of(request)
    refused = check_token(request, values)
    if refused:
        return refused
    match = re.fullmatch(r"/v\d+\.\d+/(\d+)(?:/(media|media_publish))?", request.url.path)
    if not match:
        return graph_error(400, 2500, "Unknown path components")
    object_id, edge, method = match[1], match[2], request.method
    if edge == "media" and method == "POST":
        url = str(values.get("image_url") or "")
        if not url:
            if values.get("video_url"):
                return graph_error(400, 100, "(#100) The parameter media_type is required.")
            return graph_error(400, 100, "(#100) The parameter image_url is required.")
        if not url.startswith(("http://", "https://")):
            return graph_error(
                400, 9004, "Only photo or video can be accepted as media type.", subcode=2207052
            )
        container = str(17_900_000_000_000_000 + secrets.randbelow(10**15))
        CONTAINERS[container] = {
            "owner": object_id,
            "status": "IN_PROGRESS" if SLOW else "FINISHED",
            "polls": SLOW.pop(0) if SLOW else 0,
            "fields": {k: v for k, v in values.items() if k != "access_token"},
        }
        return httpx.Response(200, json={"id": container})
    if edge == "media_publish" and method == "POST":
        return _publish(object_id, str(values.get("creation_id") or ""))
    if edge == "media" and method == "GET":
        rows = _live().filter(account=object_id).order_by("-pk")[:25]
        data = [
            {
                "id": p.external_id,
                "caption": p.text,
                "permalink": p.url,
                "timestamp": p.created_at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
            for p in rows
        ]
        return httpx.Response(200, json={"data": data, "paging": {}})
    if edge is None and method == "GET":
        fields = str(values.get("fields") or "")
        if object_id in CONTAINERS:
            box = CONTAINERS[object_id]
            if box["status"] == "IN_PROGRESS":
                if box["polls"] <= 0:
                    box["status"] = "FINISHED"
                box["polls"] -= 1
            return httpx.Response(200, json={"status_code": box["status"], "id": object_id})
        post = _live().filter(external_id=object_id).first()
        if post is not None:
            return httpx.Response(200, json={"permalink": post.url, "id": object_id})
        if "username" in fields or fields == "id":
            return httpx.Response(200, json={"id": object_id, "username": USERNAME})
        return unsupported(method, object_id)
    if edge is None and method == "DELETE":
        post = _live().filter(external_id=object_id).first()
        if post is None:
            return unsupported(method, object_id)
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
        return httpx.Response(200, json={"success": True})
    if edge is None and method == "POST":
        return graph_error(400, 100, "(#100) Tried accessing nonexisting field (caption)")
    return graph_error(400, 100, "(#100) Unsupported request")


def _publish(owner: str, creation_id: str) -> httpx.Response:
    box = CONTAINERS.get(creation_id)
    if box is None or box["owner"] != owner:
        return graph_error(400, 100, "(#100) Param creation_id must be a valid container id")
    if box["status"] == "PUBLISHED":
        return graph_error(400, 9007, "The media has already been published.", subcode=2207008)
    if box["status"] != "FINISHED":
        return graph_error(400, 9007, "Media ID is not available", subcode=2207027)
    day_ago = timezone.now() - timedelta(hours=24)
    if (
        SandboxPost.objects.filter(
            service="instagram", account=owner, created_at__gte=day_ago
        ).count()
        >= 50
    ):
        return graph_error(400, 9, "Application request limit reached", subcode=2207042)
    box["status"] = "PUBLISHED"
    media_id = str(18_000_000_000_000_000 + secrets.randbelow(10**15))
    fields = box["fields"]
    SandboxPost.objects.create(
        service="instagram",
        account=owner,
        external_id=media_id,
        text=str(fields.get("caption") or ""),
        payload=fields,
        url=f"https://www.instagram.com/p/{_shortcode(media_id)}/",
    )
    return httpx.Response(200, json={"id": media_id})


sandbox.add("instagram", handle)
