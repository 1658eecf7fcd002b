"""Sandbox webhook receiver: keeps each event once per Idempotency-Key, as receivers must."""

import json

import httpx
from django.db import IntegrityError, transaction

from copps.channels import sandbox
from copps.channels.models import SandboxPost


def handle(request: httpx.Request) -> httpx.Response:
    try:
        event = json.loads(request.content)
    except ValueError:
        return httpx.Response(400, json={"error": "invalid JSON"})
    key = request.headers.get("idempotency-key", "")
    if event.get("event") == "ping":
        return httpx.Response(204)
    existing = SandboxPost.objects.filter(service="webhook", idempotency_key=key).first()
    if existing is None:
        message = event.get("message") or {}
        try:
            with transaction.atomic():  # two deliveries of the same key at once: one row
                existing = SandboxPost.objects.create(
                    service="webhook",
                    external_id=key,
                    idempotency_key=key,
                    text=message.get("text") or "",
                    payload=event,
                )
        except IntegrityError:
            return httpx.Response(200, json={"id": key})
        if event.get("event") in ("message.updated", "message.deleted"):
            original = SandboxPost.objects.filter(
                service="webhook", external_id=event.get("target", "")
            ).first()
            if original and event["event"] == "message.deleted":
                original.deleted_at = existing.created_at
                original.save(update_fields=["deleted_at"])
            elif original:
                original.text, original.edited_at = message.get("text") or "", existing.created_at
                original.save(update_fields=["text", "edited_at"])
    return httpx.Response(200, json={"id": existing.external_id})


sandbox.add("webhook", handle)
