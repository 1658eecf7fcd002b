"""Web push endpoints of the public site (under /push/): thin views over ``push.py``.

- ``GET /push/key/?lang=xx`` -> {"publicKey"} of the web push channel browsers subscribe with;
- ``POST /push/subscribe/`` (JSON, CSRF token in ``X-CSRFToken``) -> 201/200 {"status"};
- ``POST /push/unsubscribe/`` (JSON {"endpoint"}) -> 200 {"status": "unsubscribed"}, whether or
  not the endpoint was subscribed (the answer tells nobody who is);
- ``GET /push/sw.js`` -> the service worker, with ``Service-Worker-Allowed: /`` so it can be
  registered for the whole site (it has no fetch handler: it only shows notifications).

Every refusal is a 4xx with {"error", "field"}; never a 500.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from copps.lib.clientip import client_address

from . import push

SERVICE_WORKER = Path(__file__).parent / "static" / "channels" / "push-sw.js"


def _error(message: str, status: int = 400, field: str = "", **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message, "field": field}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _json_body(request: HttpRequest):
    """The request's JSON document, or a JsonResponse saying what is wrong with it."""
    content_type = request.content_type or ""
    if content_type != "application/json":
        return _error(_("Send the request as application/json."), 415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > push.MAX_BODY_BYTES or len(request.body) > push.MAX_BODY_BYTES:
        return _error(_("The request is too large."), 413)
    try:
        return json.loads(request.body)
    except (ValueError, RecursionError):
        return _error(_("The request is not valid JSON."))


def _throttled(request: HttpRequest, purpose: str) -> JsonResponse | None:
    wait = push.throttle(client_address(request), purpose)
    if wait is None:
        return None
    return _error(
        _("Too many requests from your connection; please try again later."),
        429,
        Retry_After=str(int(wait) + 1),
    )


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    language = request.GET.get("lang", "")
    key = push.public_key_for(language if isinstance(language, str) else None)
    if not key:
        return _error(_("Browser notifications are not available."), 404)
    response = JsonResponse({"publicKey": key})
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    refused = _throttled(request, "subscribe")
    if refused:
        return refused
    data = _json_body(request)
    if isinstance(data, HttpResponse):
        return data
    try:
        req = push.parse_subscribe(data, default_language=get_language() or "")
        _subscription, created = push.subscribe_push(req)
    except push.PushInputError as exc:
        return _error(exc.message, 400, exc.field)
    return JsonResponse({"status": "subscribed"}, status=201 if created else 200)


@require_POST
def unsubscribe(request: HttpRequest) -> HttpResponse:
    refused = _throttled(request, "unsubscribe")
    if refused:
        return refused
    data = _json_body(request)
    if isinstance(data, HttpResponse):
        return data
    try:
        endpoint = push.parse_unsubscribe(data)
    except push.PushInputError as exc:
        return _error(exc.message, 400, exc.field)
    push.unsubscribe_push(endpoint)
    return JsonResponse({"status": "unsubscribed"})


@lru_cache(maxsize=1)
def _service_worker_source() -> bytes:
    return SERVICE_WORKER.read_bytes()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_service_worker_source(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker at most daily anyway; never let a proxy pin an old one.
    response["Cache-Control"] = "no-cache"
    return response
