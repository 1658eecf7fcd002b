"""Sandbox SMS gateway (``https://sms.sandbox.invalid``), speaking the generic HTTP SMS protocol.

- ``POST /v1/messages`` with a Bearer key and ``{"to", "from", "text", "reference"}``: keeps the
  text once per reference (a repeated reference answers the same id, as a deduplicating gateway
  does) and answers ``201 {"id": "..."}`` (``200`` for a repeat);
- ``GET /v1/messages``: ``200 {"account": "sandbox"}`` when a key is given (the check);
- no or empty key: ``401 {"error": "unauthorized"}``; a bad request: ``400 {"error": ...}``.

Citizens' numbers are not kept: a SandboxPost's ``account`` is the number masked but for its
last three digits.
"""

from __future__ import annotations

import json
import uuid

import httpx
from django.db import IntegrityError, transaction

from copps.channels import sandbox
from copps.channels.models import SandboxPost

SERVICE = "sms"
PATH = "/v1/messages"


def mask(number: str) -> str:
    number = str(number or "")
    return "•" * max(0, len(number) - 3) + number[-3:]


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": message})


def handle(request: httpx.Request) -> httpx.Response:
    if request.url.path != PATH:
        return _error(404, "not found")
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        return _error(401, "unauthorized")
    if request.method == "GET":
        return httpx.Response(200, json={"account": "sandbox"})
    if request.method != "POST":
        return _error(405, "method not allowed")
    try:
        data = json.loads(request.content)
    except ValueError:
        return _error(400, "invalid JSON")
    if not isinstance(data, dict):
        return _error(400, "expected an object")
    to, text, reference = data.get("to"), data.get("text"), data.get("reference") or ""
    if not isinstance(to, str) or not to.strip() or not isinstance(text, str) or not text:
        return _error(400, "to and text are required")
    if not isinstance(reference, str) or len(reference) > 200:
        return _error(400, "reference must be a string of at most 200 characters")
    if reference:
        existing = SandboxPost.objects.filter(service=SERVICE, idempotency_key=reference).first()
        if existing is not None:
            return httpx.Response(200, json={"id": existing.external_id})
    try:
        with transaction.atomic():  # the same reference twice at once: one message
            post = SandboxPost.objects.create(
                service=SERVICE,
                account=mask(to.strip()),
                external_id=f"sbx-{uuid.uuid4().hex[:20]}",
                idempotency_key=reference,
                text=text,
                payload={"from": str(data.get("from") or ""), "reference": reference},
            )
    except IntegrityError:
        existing = SandboxPost.objects.get(service=SERVICE, idempotency_key=reference)
        return httpx.Response(200, json={"id": existing.external_id})
    return httpx.Response(201, json={"id": post.external_id})


sandbox.add(SERVICE, handle)
