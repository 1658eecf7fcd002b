"""The fediverse as a channel: each of our actors has a Channel of kind ``activitypub``.

A post is one Delivery (Create, Update or Delete of the message's Note); it fans out into one
copy (Recipient row) per follower inbox, a server's shared inbox standing for all its followers
there. Each copy is one HTTP-signed POST. Receivers deduplicate by the activity's stable id,
so a copy whose answer was lost is simply sent again (``idempotent``). Failures are counted
per server (``health.py``), never against the whole channel.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from django.conf import settings

from copps.channels.base import Adapter, ChannelError
from copps.channels.states import Operation
from copps.lib import http

from . import activities, blocks, health, httpsig, ids, keys
from .models import Actor, ActorKind, FollowState

if TYPE_CHECKING:
    from copps.channels.models import Delivery, Recipient

TIMEOUT = 10.0

_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    """Long-lived sending threads, one pool per size. Each thread keeps its HTTP client
    (``copps.lib.http``: one per thread) between batches; a pool per batch built a new client
    — a TLS context with the CA bundle loaded, 20–40 ms — in every thread for every batch, and
    dropped the keep-alive connections to servers that get more than one copy."""
    with _POOLS_LOCK:
        if size not in _POOLS:
            _POOLS[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="copps-ap")
        return _POOLS[size]


class ActivityPubAdapter(Adapter):
    kind = "activitypub"
    rendition = "fediverse"
    fields = ()
    idempotent = True
    can_edit = True
    can_delete = True
    subscribers = True
    multilingual = True
    channel_breaker = False
    created_in_console = False
    rate_per_minute = 0.0
    batch_size = 50

    def __init__(self, channel):
        super().__init__(channel)
        self._actor: Actor | None = None
        self._pem: str | None = None

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            actor = Actor.objects.filter(channel=self.channel).first()
            if actor is None:
                raise ChannelError("no fediverse account is linked to this channel", permanent=True)
            self._actor = actor
        return self._actor

    def check(self) -> str:
        actor = self.actor
        if not actor.public_key_pem or not actor.private_key_encrypted:
            raise ChannelError("the account has no key pair", permanent=True)
        return f"@{actor.username}@{ids.domain()}"

    # Distribution hooks -------------------------------------------------------------------

    def accepts(self, message: Any) -> bool:
        actor = Actor.objects.filter(channel=self.channel, enabled=True).first()
        if actor is None:
            return False
        if actor.kind == ActorKind.AREA:
            return actor.area_id is not None and message.area_id == actor.area_id
        if actor.kind == ActorKind.OFFICER:
            return actor.officer_id is not None and message.author_id == actor.officer_id
        return True

    def payload_extra(self, message: Any, language: str) -> dict:
        actor = self.actor
        return {"actor": actor.username, "object": activities.note(message, actor)}

    def fanout(self, delivery: Delivery) -> list[Recipient]:
        from copps.channels.models import Delivery as DeliveryModel
        from copps.channels.models import Recipient

        actor = self.actor
        note_id = ids.note(actor.username, delivery.message_id)
        DeliveryModel.objects.filter(pk=delivery.pk).update(external_id=note_id, url=note_id)
        delivery.external_id = delivery.url = note_id
        return [
            Recipient(delivery_id=delivery.pk, inbox=inbox) for inbox in follower_inboxes(actor)
        ]

    def max_attempts(self) -> int:
        return int(settings.COPPS_AP_DELIVERY_ATTEMPTS)

    # Sending ------------------------------------------------------------------------------

    def activity_for(self, delivery: Delivery) -> dict:
        username = self.actor.username
        if delivery.operation == Operation.DELETE:
            return activities.delete(username, delivery.message_id)
        obj = delivery.payload.get("object") or {}
        if delivery.operation == Operation.UPDATE:
            return activities.update(username, delivery.message_id, obj, delivery.pk)
        return activities.create(username, delivery.message_id, obj)

    def private_pem(self) -> str:
        if self._pem is None:
            self._pem = keys.private_pem(self.actor)
        return self._pem

    def send_batch(self, delivery: Delivery, recipients: list[Recipient]) -> dict[int, Any]:
        body = json.dumps(self.activity_for(delivery)).encode()
        key_id, pem = ids.key(self.actor.username), self.private_pem()
        by_domain: dict[str, list[Recipient]] = {}
        for r in recipients:
            by_domain.setdefault(blocks.domain_of(r.inbox), []).append(r)
        held = health.state(set(by_domain))
        results: dict[int, Any] = {}
        calls: list[Recipient] = []
        for domain, group in by_domain.items():
            status, wait = held.get(domain, ("", 0.0))
            if blocks.suspended(domain):
                err = ChannelError(f"{domain} is blocked", permanent=True)
            elif status == "dead":
                err = ChannelError(
                    f"{domain} has not answered for {settings.COPPS_AP_DEAD_SERVER_DAYS} days",
                    permanent=True,
                )
            elif status == "paused":
                err = ChannelError(f"{domain} is paused after repeated failures", retry_after=wait)
            else:
                calls.extend(group)
                continue
            results.update({r.pk: err for r in group})
        if calls:
            pool = _pool(max(1, int(settings.COPPS_AP_THREADS)))
            outcomes = pool.map(lambda r: post(r.inbox, body, key_id, pem), calls)
            for r, outcome in zip(calls, outcomes, strict=True):
                results[r.pk] = outcome
        self._record_health(by_domain, results)
        return results

    def _record_health(self, by_domain: dict[str, list], results: dict[int, Any]) -> None:
        for domain, group in by_domain.items():
            values = [results.get(r.pk) for r in group]
            if any(isinstance(v, str) for v in values):
                health.succeeded(domain)
            elif any(
                isinstance(v, ChannelError) and not v.permanent and not v.retry_after
                for v in values
            ):
                health.failed(domain, str(next(v for v in values if v)))

    def preview(self, delivery: Delivery) -> dict:
        obj = delivery.payload.get("object") or {}
        return {"text": delivery.payload.get("text", ""), "title": obj.get("name")}


def follower_inboxes(actor: Actor) -> list[str]:
    """Where an activity for all of ``actor``'s followers goes: each server's shared inbox once
    (else each follower's own inbox), in order, never to a suspended server."""
    inboxes: dict[str, None] = {}
    rows = actor.followers.filter(state=FollowState.ACCEPTED).values_list(
        "remote__shared_inbox", "remote__inbox", "remote__domain"
    )
    suspended: dict[str, bool] = {}
    for shared, own, domain in rows.iterator(chunk_size=5000):
        if domain not in suspended:
            suspended[domain] = blocks.suspended(domain)
        if not suspended[domain] and (shared or own):
            inboxes.setdefault(shared or own)
    return list(inboxes)


def post(inbox: str, body: bytes, key_id: str, private_pem: str) -> str | ChannelError:
    """One signed POST of an activity to an inbox: "" when the server took it, else the error
    (classified for the engine; a remote refusal never disables our own channel)."""
    headers = {"Content-Type": activities.ACTIVITY_JSON, "Accept": activities.ACTIVITY_JSON}
    try:
        headers.update(
            httpsig.sign_request(
                "POST",
                inbox,
                body=body,
                key_id=key_id,
                private_key_pem=private_pem,
                headers=headers,
            )
        )
        response = http.request(
            "POST", inbox, content=body, headers=headers, timeout=TIMEOUT, max_bytes=64 * 1024
        )
    except http.HttpError as exc:
        return ChannelError.from_transport(exc, inbox)
    except Exception as exc:  # noqa: BLE001 - one bad inbox must not fail the batch
        return ChannelError(f"{inbox}: {exc!r}", permanent=True)
    status = response.status_code
    if 200 <= status < 300:
        return ""
    message = f"{inbox}: HTTP {status}"
    if status == 429:
        err = ChannelError.from_http(response, inbox)
        return ChannelError(message, retry_after=err.retry_after)
    if status >= 500 or status == 408:
        return ChannelError(message, maybe_sent=status >= 500)
    # 4xx: the server refuses this activity (gone, blocked us, bad request): not retried.
    return ChannelError(message, permanent=True)
