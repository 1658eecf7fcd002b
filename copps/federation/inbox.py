"""The inbox: every incoming activity is checked in this order, and nothing is stored or acted
on before the signature is verified.

1. content type (415), size (413);
2. the HTTP signature's form, date window and body digest (401), without any key;
3. the signer's server is not blocked (403);
4. the JSON itself: valid, an object, not nested absurdly deep (400);
5. the signer's key, fetched through the one outbound HTTP entry point (401 when it cannot be
   fetched or the signature does not verify; a failing cached key is fetched again once, for key
   rotation);
6. the activity's actor is the key's owner (401);
7. an activity id already processed is acknowledged and skipped (202);
8. the handler for its type (``handlers.py``); a shape it cannot use is 400/422.

Every refusal is counted per day and reason (``Rejection``), never with the request's content.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from . import blocks, handlers, health, httpsig, remote
from .models import Rejection, RemoteActor, SeenActivity

logger = logging.getLogger("copps.federation")

# After a failing key was fetched again, further failures under it are refused without another
# fetch for this long (a key rotated twice within a minute waits that minute).
REFETCH_PAUSE_SECONDS = 60

CONTENT_TYPES = ("application/activity+json", "application/ld+json", "application/json")


@dataclass
class Refusal(Exception):
    status: int
    reason: str
    detail: str


def count(reason: str) -> None:
    day = timezone.localdate()
    if not Rejection.objects.filter(day=day, reason=reason).update(count=F("count") + 1):
        try:
            with transaction.atomic():
                Rejection.objects.create(day=day, reason=reason, count=1)
        except IntegrityError:
            Rejection.objects.filter(day=day, reason=reason).update(count=F("count") + 1)


def depth(value, limit: int) -> int:
    """Nesting depth of a parsed JSON value, without recursion (a hostile document cannot
    exhaust the stack); stops counting past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > deepest:
            deepest = level
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item if isinstance(v, (dict, list)))
    return deepest


def _refuse(status: int, reason: str, detail: str) -> HttpResponse:
    count(reason)
    logger.info("inbox refused a request: %s (%s)", reason, detail)
    return JsonResponse({"error": detail, "reason": reason}, status=status)


def receive(request: HttpRequest, username: str | None = None) -> HttpResponse:
    try:
        return _receive(request, username)
    except Refusal as refusal:
        return _refuse(refusal.status, refusal.reason, refusal.detail)


def _receive(request: HttpRequest, username: str | None) -> HttpResponse:
    content_type = (request.content_type or "").lower()
    if content_type not in CONTENT_TYPES:
        raise Refusal(415, "content_type", "send application/activity+json")
    limit = settings.COPPS_AP_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal(400, "malformed", "bad Content-Length") from None
    if declared > limit:
        raise Refusal(413, "too_large", f"the body is larger than {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Refusal(413, "too_large", f"the body is larger than {limit} bytes")

    try:
        parsed = httpsig.parse_request(
            request.method or "POST",
            request.get_full_path(),
            request.headers,
            body,
            url=request.build_absolute_uri(),
            window=settings.COPPS_AP_SIGNATURE_WINDOW,
        )
    except httpsig.SignatureError as exc:
        raise Refusal(401, f"signature_{exc.reason}", str(exc)) from None

    key_domain = blocks.domain_of(parsed.key_id)
    if blocks.suspended(key_domain):
        raise Refusal(403, "blocked", "this server is blocked")

    try:
        activity = json.loads(body)
    except (ValueError, RecursionError):
        raise Refusal(400, "malformed", "the body is not JSON") from None
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
        raise Refusal(400, "malformed", "the body is not an activity")
    if depth(activity, settings.COPPS_AP_MAX_DEPTH) > settings.COPPS_AP_MAX_DEPTH:
        raise Refusal(400, "too_deep", "the JSON is nested too deeply")

    actor_id = activity.get("actor")
    if isinstance(actor_id, dict):
        actor_id = actor_id.get("id")
    if (
        _deletes_itself(activity, actor_id)
        and not RemoteActor.objects.filter(uri=actor_id).exists()
    ):
        # Servers announce a deleted account to every server they know. One copps never
        # stored left nothing here to delete, and its key is gone with it: acknowledge
        # without fetching (as Mastodon does), or its server retries for days.
        return HttpResponse(status=202)

    signer = _verified_signer(parsed, activity)
    if actor_id != signer.uri:
        raise Refusal(401, "actor_mismatch", "the activity's actor is not the key's owner")

    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not activity_id or len(activity_id) > 500:
        raise Refusal(400, "malformed", "the activity has no usable id")
    if blocks.domain_of(activity_id) != signer.domain:
        raise Refusal(400, "foreign_id", "the activity's id is not on the sender's server")

    health.reset(signer.domain)  # it talks to us: it is not dead
    with transaction.atomic():
        try:
            with transaction.atomic():
                SeenActivity.objects.create(activity_id=activity_id)
        except IntegrityError:
            return HttpResponse(status=202)  # a redelivery: already handled
        try:
            handlers.handle(activity, signer, local_username=username)
        except handlers.Unacceptable as exc:  # leaving the block rolls everything back
            raise Refusal(exc.status, exc.reason, str(exc)) from None
        except IntegrityError:
            # An id this server already used for something else (a reaction's id reused once
            # its first use left SeenActivity): the sender's mistake, not our crash.
            raise Refusal(409, "conflict", "that id was already used for something else") from None
        except Exception:  # a bug or a shape nobody foresaw: never a 500, never half-stored
            logger.exception("inbox could not process a %s", str(activity.get("type"))[:40])
            raise Refusal(422, "unprocessable", "the activity could not be processed") from None
    return HttpResponse(status=202)


def _deletes_itself(activity: dict, actor_id: object) -> bool:
    """A Delete of the sending account itself (Mastodon: object == actor)."""
    target = activity.get("object")
    if isinstance(target, dict):
        target = target.get("id")
    return activity.get("type") == "Delete" and isinstance(actor_id, str) and target == actor_id


def _gone_signer(parsed: httpsig.ParsedSignature, activity: dict) -> RemoteActor:
    """The signer's document answers 410: the account was deleted, and its own Delete is
    signed with a key that can no longer be fetched. The key cached while the account existed
    (however old) is the only one left to check that Delete with; nothing else is accepted."""
    cached = RemoteActor.objects.filter(key_id=parsed.key_id).exclude(public_key_pem="").first()
    if cached is None or not _deletes_itself(activity, cached.uri):
        raise Refusal(401, "key_unavailable", "the signing key's account is gone")
    try:
        httpsig.verify(parsed, cached.public_key_pem)
    except httpsig.SignatureError as exc:
        raise Refusal(401, "signature_bad_signature", str(exc)) from None
    return cached


def _verified_signer(parsed: httpsig.ParsedSignature, activity: dict) -> RemoteActor:
    # A key that could not be fetched a moment ago is not fetched again for each request that
    # names it (a flood of requests under an unreachable or bogus key id).
    failed = "copps.ap.keyfail:" + hashlib.sha256(parsed.key_id.encode()).hexdigest()
    if cache.get(failed):
        raise Refusal(401, "key_unavailable", "the signing key could not be fetched just now")
    try:
        signer = remote.actor_for_key(parsed.key_id)
    except remote.Gone:
        return _gone_signer(parsed, activity)
    except remote.RemoteError as exc:
        cache.set(failed, True, REFETCH_PAUSE_SECONDS)
        raise Refusal(
            401, "key_unavailable", f"the signing key could not be fetched: {exc}"
        ) from None
    try:
        httpsig.verify(parsed, signer.public_key_pem)
        return signer
    except httpsig.SignatureError as exc:
        failure = exc
    # The key may have been rotated since we cached it: fetch it once more, but once only for
    # the key as fetched. A flood of bad signatures under a real key id would otherwise make
    # us fetch that account's document for each of them (and hammer its server through us).
    marker = _refetched_marker(parsed.key_id, signer)
    if cache.get(marker):
        raise Refusal(401, "signature_bad_signature", str(failure))
    cache.set(marker, True, REFETCH_PAUSE_SECONDS)  # also when the fetch below fails
    try:
        signer = remote.actor_for_key(parsed.key_id, refresh=True)
        cache.set(_refetched_marker(parsed.key_id, signer), True, REFETCH_PAUSE_SECONDS)
        httpsig.verify(parsed, signer.public_key_pem)
    except remote.RemoteError as exc:
        raise Refusal(
            401, "key_unavailable", f"the signing key could not be fetched: {exc}"
        ) from None
    except httpsig.SignatureError as exc:
        raise Refusal(401, "signature_bad_signature", str(exc)) from None
    return signer


def _refetched_marker(key_id: str, cached: RemoteActor) -> str:
    """Cache key saying "this key, as fetched at that moment, was just fetched again because a
    signature failed": a later fetch (a new ``fetched_at``) is a different key."""
    digest = hashlib.sha256(f"{key_id} {cached.fetched_at.isoformat()}".encode()).hexdigest()
    return f"copps:ap-refetched:{digest}"
