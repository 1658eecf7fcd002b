"""A generic webhook: ``POST /hooks/listening/<source id>/<token>`` with one record or a list.

Body: JSON ``{"id", "text", "url"?, "author"?, "lang"?, "published_at"?}`` or a list of them
(at most ``MAX_RECORDS``, at most ``MAX_BODY`` bytes). The token is shown once when it is made
(``copps listening_run --webhook-token --source ID``); the source keeps only its SHA-256 in
``config["token_sha256"]``. Answers: 200 ``{"stored": n, "skipped": k}`` (with NATS configured,
n is the number handed to the stream); 503 when NATS is configured but down; 403 for an unknown,
disabled or non-webhook source or a wrong token (one answer for all, so ids cannot be probed);
400 for a body that is not JSON or not an object/list; 413 for a body too large or too many
records; 405 for anything but POST. Unusable records inside a good body are skipped and counted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from copps.listening import nats, pipeline
from copps.listening.models import Source, SourceKind

from .records import BadRecord, to_incoming

MAX_BODY = 1024 * 1024
MAX_RECORDS = 500


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_token(source: Source) -> str:
    """Make (or replace) the source's token; returns it (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    source.config = {**(source.config or {}), "token_sha256": _digest(token)}
    source.save(update_fields=["config"])
    return token


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, source_id: int, token: str) -> JsonResponse:
    source = Source.objects.filter(pk=source_id, kind=SourceKind.WEBHOOK, enabled=True).first()
    expected = str((source.config or {}).get("token_sha256", "")) if source else ""
    if source is None or not expected:
        return _error(403, "forbidden")
    if not hmac.compare_digest(expected.encode(), _digest(token).encode()):
        return _error(403, "forbidden")
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "bad Content-Length")
    if length > MAX_BODY:
        return _error(413, "body too large")
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _error(413, "body too large")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        pipeline.skip(source, 1)
        return _error(400, "body is not JSON")
    records = document if isinstance(document, list) else [document]
    if not isinstance(document, list | dict):
        pipeline.skip(source, 1)
        return _error(400, "body must be an object or a list of objects")
    if len(records) > MAX_RECORDS:
        return _error(413, f"at most {MAX_RECORDS} records per request")
    items, skipped = [], 0
    for record in records:
        try:
            items.append(to_incoming(record))
        except BadRecord:
            skipped += 1
    try:
        stored = pipeline.deliver(source, items)
    except nats.Unavailable:  # NATS configured but down: nothing accepted, the sender retries
        return _error(503, "try again later")
    pipeline.skip(source, skipped)
    return JsonResponse({"stored": stored, "skipped": skipped})
