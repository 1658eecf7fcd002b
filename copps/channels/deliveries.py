"""The delivery engine: plans Delivery rows and advances them, exactly once or flagged unknown.

Rules (ARCHITECTURE.md invariant 2):

- a row is claimed with a conditional UPDATE (pending/failed -> sending) and that is committed
  *before* the outside call, so a crash leaves evidence ("sending") rather than silence;
- an error that may have happened after the service took the request (a timeout while reading,
  a 5xx, a garbled success body, a worker killed mid-call) is never retried blindly: if the
  service deduplicates by our key (``Adapter.idempotent``) the retry carries the same key;
  else if the adapter can read back recent posts (``can_find``) the row waits as *unknown*
  until a read-back settles it; else it stays *unknown* for a person to resolve;
- retryable errors back off exponentially (capped), honour Retry-After, and give up after
  ``COPPS_DELIVERY_MAX_ATTEMPTS``; repeated failures pause the channel (circuit breaker) and
  revoked credentials disable it, while every other channel keeps delivering;
- subscriber channels (e-mail, SMS, push) fan out into Recipient rows, claimed in batches by any
  worker, so a crash loses at most one batch's certainty (those copies become unknown).

Every state change appends a DeliveryEvent. Functions here are safe to run in several workers.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from copps.audit import log as audit
from copps.worker.models import Heartbeat

from .base import Adapter, ChannelError, Outcome
from .models import (
    Alert,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryEvent,
    Recipient,
    Subscription,
    SubscriptionState,
)
from .states import TRANSITIONS, DeliveryState, Operation

logger = logging.getLogger("copps.channels")
S = DeliveryState

RECIPIENT_CLAIM_BATCH = 500


# Planning -------------------------------------------------------------------------------------


def make_key(*parts: object) -> str:
    """A deterministic key from the delivery's identity (same inputs, same key, any process)."""
    raw = ":".join(str(p) for p in parts)
    return "copps-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def plan(
    *,
    message_id: int,
    channel: Channel,
    language: str,
    payload: dict,
    operation: str = Operation.POST,
    target: Delivery | None = None,
    seq: object = 0,
    state: str = S.PENDING,
    note: str = "",
    priority: int = 0,
) -> Delivery:
    """Create the delivery (or return the one already planned with the same identity)."""
    key = make_key(message_id, channel.pk, language, operation, target.pk if target else "", seq)
    existing = Delivery.objects.filter(key=key).first()
    if existing:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                message_id=message_id,
                channel=channel,
                language=language,
                operation=operation,
                target=target,
                key=key,
                payload=payload,
                state=state,
                priority=priority,
                permanent=state == S.FAILED,
                last_error=note if state == S.FAILED else "",
                created_at=now,
                updated_at=now,
            )
            DeliveryEvent.objects.create(
                delivery=delivery, at=now, to_state=state, detail=note or "planned"
            )
    except IntegrityError:
        return Delivery.objects.get(key=key)
    return delivery


def cancel(deliveries: Iterable[Delivery], *, by: str, reason: str) -> int:
    """Cancel every delivery that has not gone out (pending or failed); returns how many."""
    done = 0
    for d in deliveries:
        if _move(d, "cancel", by=by, detail=reason, only_from={S.PENDING, S.FAILED}):
            done += 1
    return done


def replan_payload(delivery: Delivery, payload: dict) -> bool:
    """Replace the payload of a delivery that has not been tried yet (a correction before it
    went out changes what will go out). Returns False when it is already under way."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk, state=S.PENDING, attempts=0).update(
            payload=payload, updated_at=timezone.now()
        )
    )


def replan_fanout(delivery: Delivery, payload: dict) -> bool:
    """A correction while a fan-out post is still going out: the copies not yet sent carry the
    corrected text (the payload is what unsent copies are built from). False once settled."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk, state__in=[S.PENDING, S.SENDING]).update(
            payload=payload, updated_at=timezone.now()
        )
    )


# Moving a delivery ----------------------------------------------------------------------------


def _move(
    delivery: Delivery,
    transition: str,
    *,
    by: str = "worker",
    detail: str = "",
    only_from: set[str] | None = None,
    **fields,
) -> bool:
    """Apply one transition with a conditional UPDATE; False if the row was not in a source state."""
    sources, target = TRANSITIONS[transition]
    if only_from is not None:
        sources = frozenset(sources & only_from)
    now = timezone.now()
    fields.setdefault("updated_at", now)
    with transaction.atomic():
        current = (
            Delivery.objects.filter(pk=delivery.pk, state__in=sources)
            .values_list("state", flat=True)
            .first()
        )
        if current is None:
            return False
        moved = Delivery.objects.filter(pk=delivery.pk, state=current).update(
            state=target, **fields
        )
        if not moved:
            return False
        DeliveryEvent.objects.create(
            delivery_id=delivery.pk,
            at=now,
            from_state=current,
            to_state=target,
            attempt=delivery.attempts,
            actor=by,
            detail=detail[:2000],
        )
    delivery.state = target
    for name, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(delivery, name, value)
    return True


# Set by `copps worker` at start: claims carry it, and the sweeper leaves rows of live workers.
WORKER_ID = ""


def claim(delivery: Delivery, now=None) -> bool:
    """pending/failed (retryable, due) -> sending, committed before any outside call."""
    now = now or timezone.now()
    with transaction.atomic():
        before = Delivery.objects.filter(pk=delivery.pk).values_list("state", flat=True).first()
        moved = (
            Delivery.objects.filter(pk=delivery.pk, state__in=TRANSITIONS["claim"][0])
            .filter(state=before, permanent=False)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .update(
                state=S.SENDING,
                sending_since=now,
                attempts=F("attempts") + 1,
                updated_at=now,
                next_attempt_at=None,
                claimed_by=WORKER_ID,
            )
        )
        if not moved:
            return False
        delivery.refresh_from_db()
        DeliveryEvent.objects.create(
            delivery=delivery,
            at=now,
            from_state=before or "",
            to_state=S.SENDING,
            attempt=delivery.attempts,
            actor="worker",
        )
    return True


def backoff(attempts: int) -> float:
    return float(min(settings.COPPS_DELIVERY_BACKOFF_CAP, 30 * 2 ** max(0, attempts - 1)))


def _safe_url(url: str) -> str:
    """A post's URL as the service reported it, if it is an http(s) link (it is shown as a link
    in the console: never a ``javascript:`` URL from a hostile answer)."""
    url = (url or "").strip()
    return url[:500] if urlsplit(url).scheme in ("http", "https") else ""


def _succeed(
    delivery: Delivery,
    outcome: Outcome,
    *,
    by: str = "worker",
    detail: str = "",
    only_from: set[str] | None = None,
) -> None:
    now = timezone.now()
    _move(
        delivery,
        "succeed",
        by=by,
        only_from=only_from,
        detail=detail or "sent",
        external_id=(outcome.external_id or "")[:300],
        url=_safe_url(outcome.url),
        sent_at=now,
        last_error="",
        sending_since=None,
    )
    _channel_ok(delivery.channel_id, now)


def _fail(delivery: Delivery, err: ChannelError, adapter) -> None:
    now = timezone.now()
    message = str(err)[:2000]
    if err.maybe_sent and (
        not adapter.idempotent or delivery.attempts >= settings.COPPS_DELIVERY_MAX_ATTEMPTS
    ):
        # Without idempotency, or out of attempts: it may be out there; a person decides.
        _move(delivery, "lose_track", detail=message, last_error=message)
        return
    permanent = err.permanent or delivery.attempts >= settings.COPPS_DELIVERY_MAX_ATTEMPTS
    if permanent and not err.permanent:
        message = f"{message} (gave up after {delivery.attempts} attempts)"
    wait = err.retry_after if err.retry_after is not None else backoff(delivery.attempts)
    _move(
        delivery,
        "fail",
        detail=message,
        last_error=message,
        permanent=permanent,
        sending_since=None,
        next_attempt_at=None if permanent else now + timedelta(seconds=wait),
    )
    if err.disable_channel:
        disable_channel(delivery.channel, reason=message)
    elif not err.permanent and adapter.channel_breaker:
        _channel_failed(delivery.channel_id, now, message)


# The channel's health: rate limit and circuit breaker ----------------------------------------


def _channel_ok(channel_id: int, now) -> None:
    # Written at most every few seconds: a newsletter must not rewrite the channel per batch.
    Channel.objects.filter(pk=channel_id).filter(
        Q(consecutive_failures__gt=0)
        | Q(last_success_at__isnull=True)
        | Q(last_success_at__lt=now - timedelta(seconds=5))
    ).update(consecutive_failures=0, last_success_at=now)
    resumed = Channel.objects.filter(pk=channel_id, status=ChannelStatus.PAUSED).update(
        status=ChannelStatus.ACTIVE, paused_until=None, status_reason="", updated_at=now
    )
    if resumed:
        audit.record(
            actor="worker",
            action="channel.resume",
            object_type="channel",
            object_id=str(channel_id),
        )


def _channel_failed(channel_id: int, now, message: str) -> None:
    Channel.objects.filter(pk=channel_id).update(
        consecutive_failures=F("consecutive_failures") + 1, last_failure_at=now
    )
    channel = Channel.objects.get(pk=channel_id)
    if channel.consecutive_failures < settings.COPPS_CHANNEL_FAILURE_THRESHOLD:
        return
    # Half-open after a pause that doubles with each further failure, up to the backoff cap.
    extra = channel.consecutive_failures - settings.COPPS_CHANNEL_FAILURE_THRESHOLD
    pause = min(settings.COPPS_DELIVERY_BACKOFF_CAP, 60 * 2**extra)
    paused = (
        Channel.objects.filter(pk=channel_id)
        .exclude(status=ChannelStatus.DISABLED)
        .update(
            status=ChannelStatus.PAUSED,
            paused_until=now + timedelta(seconds=pause),
            status_reason=message[:1000],
            updated_at=now,
        )
    )
    if paused and channel.status == ChannelStatus.ACTIVE:
        audit.record(actor="worker", action="channel.pause", obj=channel, reason=message[:500])
        _alert(
            channel,
            f"{channel.name}: paused after {channel.consecutive_failures} failures in a row: {message}",
        )


def disable_channel(channel: Channel, *, reason: str, by: str = "worker") -> None:
    """A permanent problem (revoked credentials): stop using the channel until an admin acts."""
    now = timezone.now()
    changed = (
        Channel.objects.filter(pk=channel.pk)
        .exclude(status=ChannelStatus.DISABLED)
        .update(status=ChannelStatus.DISABLED, status_reason=reason[:1000], updated_at=now)
    )
    if changed:
        audit.record(actor=by, action="channel.disable", obj=channel, reason=reason[:500])
        _alert(channel, f"{channel.name}: disabled: {reason}")


def _alert(channel: Channel, text: str) -> None:
    Alert.objects.create(channel=channel, text=text[:2000])
    transaction.on_commit(lambda: _mail_admins(text))


def _mail_admins(text: str) -> None:
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    admins = list(
        get_user_model()
        .objects.filter(role="admin", is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not admins:
        return
    try:
        send_mail("[copps] " + text[:120], text, None, admins)
    except Exception:  # the alert is on the dashboard in any case
        logger.warning("could not e-mail the channel alert to administrators", exc_info=True)


def _channel_ready(channel: Channel, now) -> bool:
    if not channel.usable:
        return False
    if (
        channel.status == ChannelStatus.PAUSED
        and channel.paused_until
        and channel.paused_until > now
    ):
        return False
    return True


def _take_slot(channel: Channel, adapter, now) -> bool:
    """Reserve the channel's next call under its rate limit: GCRA with one column.

    ``next_slot_at`` is the theoretical arrival time (TAT): a call is allowed while the TAT is
    less than ``rate_burst - 1`` intervals ahead of now; each call pushes it one interval on. The
    UPDATE is conditional on the TAT read, so concurrent workers cannot both take the last slot.
    """
    rate = adapter.rate()
    if not rate or not settings.COPPS_CHANNEL_RATE_LIMIT:
        return True
    interval = timedelta(seconds=60.0 / rate)
    tolerance = interval * max(0, adapter.rate_burst - 1)
    for _attempt in range(3):
        tat = Channel.objects.filter(pk=channel.pk).values_list("next_slot_at", flat=True).first()
        start = max(tat, now) if tat else now
        if start - now > tolerance:
            return False
        same = Q(next_slot_at=tat) if tat else Q(next_slot_at__isnull=True)
        if Channel.objects.filter(same, pk=channel.pk).update(next_slot_at=start + interval):
            return True
    return False


# Processing -----------------------------------------------------------------------------------


def due(now=None) -> list[int]:
    """Ids of deliveries ready to be tried: crisis messages first, then oldest first."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            Q(state=S.PENDING) | Q(state=S.FAILED, permanent=False, next_attempt_at__lte=now)
        )
        .filter(channel__enabled=True)
        .exclude(channel__status=ChannelStatus.DISABLED)
        .order_by("-priority", "pk")
        .values_list("pk", flat=True)[:1000]
    )


def process(delivery: Delivery, now=None) -> str:
    """Try one delivery once (if it is due and its channel may be called). Returns its state."""
    now = now or timezone.now()
    channel = delivery.channel
    if not _channel_ready(channel, now):
        return delivery.state
    if delivery.operation != Operation.POST:
        waiting = _wait_for_target(delivery)
        if waiting:
            return delivery.state
    elif delivery.state in (S.PENDING, S.FAILED) and _removal_planned(delivery):
        # Withdrawn while it was being sent and failed: it must not go out now.
        _move(
            delivery, "cancel", detail="the message was withdrawn", only_from={S.PENDING, S.FAILED}
        )
        return delivery.state
    target = delivery.target
    if delivery.operation != Operation.POST and target is not None and not target.external_id:
        # Nobody knows the post's id (a person marked it sent without one): never pretend to
        # have changed or removed it.
        if claim(delivery, now):
            _fail(
                delivery,
                ChannelError(
                    "the post's id is not known: change or remove it by hand", permanent=True
                ),
                channel.adapter,
            )
        return delivery.state
    adapter = channel.adapter
    if not adapter.subscribers and not _take_slot(channel, adapter, timezone.now()):
        return delivery.state
    if not claim(delivery, now):
        return delivery.state
    if adapter.subscribers:
        expand(delivery, adapter)
        return delivery.state
    try:
        if delivery.operation == Operation.POST or target is None:
            outcome = adapter.post(delivery)
        elif delivery.operation == Operation.UPDATE:
            outcome = adapter.update(delivery, target)
        else:
            adapter.delete(delivery, target)
            outcome = Outcome(target.external_id, "")
    except ChannelError as err:
        _fail(delivery, err, adapter)
    except Exception as exc:  # a bug in an adapter: we cannot know whether it sent
        logger.exception("adapter %s crashed on delivery %s", channel.kind, delivery.pk)
        _fail(delivery, ChannelError(f"internal error: {exc!r}", maybe_sent=True), adapter)
    else:
        _succeed(delivery, outcome)
    return delivery.state


def _wait_for_target(delivery: Delivery) -> bool:
    """An update or delete waits until its post is out; if the post never went out, it is moot."""
    target = delivery.target
    if target is None:
        return False
    target.refresh_from_db()
    if target.state == S.SENT:
        return False
    if (
        target.state in (S.SENDING, S.UNKNOWN)
        and target.recipients_total
        and delivery.channel.adapter.subscribers
    ):
        # A fan-out still under way (one slow server out of thousands): the copies already out
        # get the change now; those still waiting carry the new text themselves
        # (``replan_fanout``) or were cancelled by the retraction.
        return False
    if target.state == S.CANCELLED or (target.state == S.FAILED and target.permanent):
        _move(
            delivery,
            "cancel",
            detail="the original post never went out: nothing to change",
            only_from={S.PENDING, S.FAILED},
        )
    return True


def deliver_due(now=None, *, limit_seconds: float = 20.0) -> int:
    """One round of the worker: try every due delivery (bounded in time). Returns how many were
    tried; recipients of subscriber channels are sent by ``deliver_recipients``."""
    started = time.monotonic()
    tried = 0
    for pk in due(now):
        if time.monotonic() - started > limit_seconds:
            break
        delivery = Delivery.objects.select_related("channel", "target").filter(pk=pk).first()
        if delivery is None:
            continue
        before = delivery.attempts
        try:
            process(delivery, now or timezone.now())
        except (
            Exception
        ):  # one broken row (a removed adapter, a bad payload) must not stop the rest
            logger.exception("delivery %s could not be processed", pk)
            continue
        tried += delivery.attempts != before
    return tried


# Subscriber channels: one Recipient per matching subscription ---------------------------------


def matching_subscriptions(medium: str, language: str, kind: str, postcodes: list[str]):
    """Active subscriptions of ``medium`` in ``language`` that want a message of ``kind`` about
    ``postcodes`` (empty: the whole force area, which reaches everyone)."""
    wanted = set(postcodes or [])
    rows = Subscription.objects.filter(
        medium=medium, state=SubscriptionState.ACTIVE, language=language
    ).values_list("pk", "topics", "postcodes")
    for pk, topics, codes in rows.iterator(chunk_size=5000):
        # A correction concerns everyone who received the original, whatever they chose; a
        # crisis message reaches every subscriber of the affected area, whatever the topics.
        if topics and kind not in topics and kind not in ("correction", "crisis"):
            continue
        if wanted and codes and not wanted.intersection(codes):
            continue
        yield pk


def expand(delivery: Delivery, adapter) -> int:
    """Create the copies of a claimed fan-out delivery (idempotent: a copy exists once), then
    let ``deliver_recipients`` send them. Returns the number of copies."""
    copies = adapter.fanout(delivery)
    now = timezone.now()
    for copy in copies:
        copy.delivery_id = delivery.pk
        copy.updated_at = now
    for start in range(0, len(copies), 5000):
        Recipient.objects.bulk_create(copies[start : start + 5000], ignore_conflicts=True)
    total = Recipient.objects.filter(delivery=delivery).count()
    Delivery.objects.filter(pk=delivery.pk).update(
        recipients_total=total, sending_since=timezone.now()
    )
    delivery.recipients_total = total
    if total == 0:
        _succeed(delivery, Outcome(delivery.external_id), detail="no matching recipients")
    return total


def _claim_recipients(now, limit: int) -> tuple[int, list[int]]:
    """Claim up to ``limit`` pending copies: (how many were seen, the ids this worker got).

    On PostgreSQL concurrent workers skip each other's locked rows and take different batches;
    everywhere the conditional UPDATE tagged with a one-off token decides who got which row.
    """
    token = f"{WORKER_ID}|{uuid.uuid4().hex}"[-100:]
    with transaction.atomic():
        candidates = (
            Recipient.objects.filter(
                state=S.PENDING,
                delivery__state=S.SENDING,
                delivery__channel__enabled=True,
            )
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .exclude(delivery__followups__operation=Operation.DELETE)  # withdrawn meanwhile
            .exclude(delivery__channel__status=ChannelStatus.DISABLED)
            .exclude(
                delivery__channel__status=ChannelStatus.PAUSED,
                delivery__channel__paused_until__gt=now,
            )
            .order_by("-delivery__priority", "delivery_id", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return 0, []
        Recipient.objects.filter(pk__in=ids, state=S.PENDING).update(
            state=S.SENDING, claim=token, updated_at=now, attempts=F("attempts") + 1
        )
    claimed = list(
        Recipient.objects.filter(pk__in=ids, state=S.SENDING, claim=token).values_list(
            "pk", flat=True
        )
    )
    return len(ids), claimed


def deliver_recipients(now=None, *, limit_seconds: float = 20.0, batch: int = 0) -> int:
    """Send claimed batches of subscriber copies until none are left (or time is up)."""
    started = time.monotonic()
    sent = 0
    fixed = now  # tests pass a moment in the future ("an hour later"); the worker passes None
    adapters: dict[int, Adapter] = {}
    while time.monotonic() - started < limit_seconds:
        seen, ids = _claim_recipients(fixed or timezone.now(), batch or RECIPIENT_CLAIM_BATCH)
        if not seen:
            break
        if not ids:
            continue  # another worker took these; look again
        recipients = list(
            Recipient.objects.filter(pk__in=ids).select_related(
                "subscription", "delivery", "delivery__channel"
            )
        )
        by_delivery: dict[int, list[Recipient]] = {}
        for r in recipients:
            by_delivery.setdefault(r.delivery_id, []).append(r)
        for group in by_delivery.values():
            channel = group[0].delivery.channel
            try:
                # One adapter per channel for the whole call: secrets decrypted once, and the
                # adapter may keep its connections (SMTP, HTTP) between batches.
                adapter = adapters.setdefault(channel.pk, channel.adapter)
            except Exception:  # a kind no longer installed: its copies wait, the rest go on
                logger.exception("no adapter for channel %s", channel.pk)
                Recipient.objects.filter(pk__in=[r.pk for r in group], state=S.SENDING).update(
                    state=S.PENDING, next_attempt_at=timezone.now() + timedelta(hours=1)
                )
                continue
            for start in range(0, len(group), max(1, adapter.batch_size)):
                sent += _send_group(group[start : start + adapter.batch_size], adapter)
    finish_fanouts()
    return sent


def _send_group(group: list[Recipient], adapter=None) -> int:
    """Send one claimed batch of one delivery and record each copy's outcome.

    Every update is conditional on the copy still being "sending" (ours): a delivery report
    that arrived meanwhile (an SMS rejected by the network) is never overwritten.
    """
    delivery = group[0].delivery
    adapter = adapter or delivery.channel.adapter
    now = timezone.now()
    gone = [r.pk for r in group if r.subscription is None and not r.inbox]
    live = [r for r in group if r.subscription is not None or r.inbox]
    mine = Recipient.objects.filter(state=S.SENDING)
    if gone:
        mine.filter(pk__in=gone).update(
            state=S.CANCELLED, last_error="unsubscribed", updated_at=now
        )
    if not live:
        return 0
    try:
        results: dict[int, object] = adapter.send_batch(delivery, live)
    except ChannelError as err:
        results = {r.pk: err for r in live}
        if err.disable_channel:
            disable_channel(delivery.channel, reason=str(err))
        elif not err.permanent and adapter.channel_breaker:
            _channel_failed(delivery.channel_id, now, str(err))
    except Exception as exc:
        logger.exception("adapter %s crashed on a batch of delivery %s", adapter.kind, delivery.pk)
        results = {r.pk: ChannelError(f"internal error: {exc!r}", maybe_sent=True) for r in live}
    _record_copies(live, results, now, adapter)
    if any(isinstance(v, ChannelError) and v.disable_channel for v in results.values()):
        # Only when no copy of the batch got through: one hostile endpoint (a citizen's push
        # subscription answering 401) must not switch the whole channel off.
        if not any(isinstance(v, str) for v in results.values()):
            reason = next(
                str(v)
                for v in results.values()
                if isinstance(v, ChannelError) and v.disable_channel
            )
            disable_channel(delivery.channel, reason=reason)
    Delivery.objects.filter(pk=delivery.pk, state=S.SENDING).update(sending_since=now)
    sent = sum(1 for v in results.values() if isinstance(v, str))
    if sent:
        _channel_ok(delivery.channel_id, now)
    return sent


def _record_copies(live: list[Recipient], results: dict, now, adapter=None) -> None:
    """Write a batch's outcomes in one transaction (one disk sync on SQLite, not one per copy),
    touching only copies still "sending" (a delivery report may have settled one meanwhile)."""
    with transaction.atomic():
        still = Recipient.objects.filter(pk__in=[r.pk for r in live], state=S.SENDING)
        if connection.features.has_select_for_update:
            still = still.select_for_update()
        ours = {pk: attempts for pk, attempts in still.values_list("pk", "attempts")}
        sent_plain, changed, unknown = [], [], []
        for r in live:
            if r.pk not in ours:
                continue
            value = results.get(r.pk)
            if value == "":
                sent_plain.append(r.pk)
            elif isinstance(value, str):
                r.state, r.external_id, r.last_error = S.SENT, value[:200], ""
                r.updated_at = now
                changed.append(r)
            elif isinstance(value, ChannelError):
                for name, field_value in _copy_failure(value, ours[r.pk], now, adapter).items():
                    setattr(r, name, field_value)
                changed.append(r)
            else:  # the adapter did not say: we cannot know
                unknown.append(r.pk)
        if sent_plain:
            Recipient.objects.filter(pk__in=sent_plain).update(
                state=S.SENT, last_error="", updated_at=now
            )
        if unknown:
            Recipient.objects.filter(pk__in=unknown).update(
                state=S.UNKNOWN, last_error="no result from the adapter", updated_at=now
            )
        if changed:
            Recipient.objects.bulk_update(
                changed,
                ["state", "external_id", "last_error", "updated_at", "next_attempt_at"],
                batch_size=500,
            )


def _copy_failure(err: ChannelError, attempts: int, now, adapter=None) -> dict:
    """The fields of a copy whose send failed: unknown, failed, or pending with a backoff.

    A copy that may have arrived is retried only where the receiver deduplicates (the
    fediverse: by activity id); elsewhere it becomes unknown."""
    fields: dict = {"last_error": str(err)[:500], "updated_at": now}
    limit = adapter.max_attempts() if adapter else settings.COPPS_DELIVERY_MAX_ATTEMPTS
    if err.maybe_sent and not (adapter and adapter.idempotent and attempts < limit):
        return fields | {"state": S.UNKNOWN}
    if err.disable_channel:
        # Bad credentials: the copy waits for an administrator to fix the channel.
        return fields | {"state": S.PENDING, "next_attempt_at": now + timedelta(hours=1)}
    if err.permanent or attempts >= limit:
        return fields | {"state": S.FAILED}
    wait = err.retry_after if err.retry_after is not None else backoff(attempts)
    # A channel being switched off (bad credentials) keeps its copies waiting, not failed.
    return fields | {"state": S.PENDING, "next_attempt_at": now + timedelta(seconds=wait)}


def finish_fanouts() -> int:
    """Close subscriber deliveries whose copies are all settled, with their counts; an unknown
    fan-out whose last uncertain copies were settled (a delivery report, a person) becomes sent."""
    done = 0
    open_ids = Delivery.objects.filter(
        state__in=[S.SENDING, S.UNKNOWN], recipients_total__gt=0
    ).values_list("pk", flat=True)
    for pk in list(open_ids):
        recipients = Recipient.objects.filter(delivery_id=pk)
        if recipients.filter(state__in=[S.PENDING, S.SENDING]).exists():
            continue
        counts = {
            state: recipients.filter(state=state).count()
            for state in (S.SENT, S.FAILED, S.UNKNOWN, S.CANCELLED)
        }
        delivery = Delivery.objects.get(pk=pk)
        if delivery.state == S.UNKNOWN and counts[S.UNKNOWN]:
            if delivery.recipients_unknown != counts[S.UNKNOWN]:
                Delivery.objects.filter(pk=pk).update(
                    recipients_sent=counts[S.SENT],
                    recipients_failed=counts[S.FAILED],
                    recipients_unknown=counts[S.UNKNOWN],
                )
            continue
        Delivery.objects.filter(pk=pk).update(
            recipients_sent=counts[S.SENT],
            recipients_failed=counts[S.FAILED],
            recipients_unknown=counts[S.UNKNOWN],
        )
        summary = (
            f"{counts[S.SENT]} sent, {counts[S.FAILED]} failed, {counts[S.UNKNOWN]} unknown, "
            f"{counts[S.CANCELLED]} cancelled"
        )
        if counts[S.UNKNOWN]:
            _move(delivery, "lose_track", detail=summary, last_error=summary)
        elif counts[S.SENT] or not counts[S.FAILED]:
            _succeed(delivery, Outcome(delivery.external_id, delivery.url), detail=summary)
            if counts[S.FAILED]:
                Delivery.objects.filter(pk=pk).update(last_error=summary)
        elif delivery.state == S.SENDING:
            _move(delivery, "fail", detail=summary, last_error=summary, permanent=True)
        done += 1
    return done


# The sweeper and read-back --------------------------------------------------------------------


def sweep(now=None) -> int:
    """Rows left in "sending" by a worker that died: settle them by the adapter's rules."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.COPPS_DELIVERY_SENDING_TIMEOUT)
    swept = 0
    alive = set(
        Heartbeat.objects.filter(
            Q(alive_at__gte=now - timedelta(seconds=settings.COPPS_WORKER_STALE_SECONDS))
            | Q(seen_at__gte=now - timedelta(seconds=settings.COPPS_WORKER_STALE_SECONDS))
        ).values_list("worker_id", flat=True)
    )
    # Our own rows are not being sent by us while we sweep (one thread per worker): orphans.
    alive.discard(WORKER_ID)
    stuck_recipients = Recipient.objects.filter(state=S.SENDING, updated_at__lt=limit)
    for token in set(stuck_recipients.values_list("claim", flat=True)):
        if token.partition("|")[0] in alive:
            continue  # a live worker's slow batch: its results are still coming
        swept += stuck_recipients.filter(claim=token).update(
            state=S.UNKNOWN, last_error="the worker stopped while sending", updated_at=now
        )
    for delivery in Delivery.objects.filter(
        state=S.SENDING, sending_since__lt=limit
    ).select_related("channel"):
        if delivery.claimed_by and delivery.claimed_by in alive:
            # Slow, not dead (waiting for a lock or a slow service): taking its row now could
            # send the same thing twice at once.
            continue
        adapter = delivery.channel.adapter
        detail = "the worker stopped while sending"
        if adapter.subscribers:
            if delivery.recipients_total == 0:
                # Crashed while creating recipients: creating them again is idempotent.
                swept += _move(delivery, "retry", detail=detail, sending_since=None)
            else:
                Delivery.objects.filter(pk=delivery.pk).update(sending_since=now)
            continue
        if adapter.idempotent:
            swept += _move(delivery, "retry", detail=detail + "; retrying with the same key")
        else:
            swept += _move(delivery, "lose_track", detail=detail, last_error=detail)
    return swept


def reconcile(now=None, *, limit_seconds: float = 20.0) -> int:
    """Settle unknown outcomes by reading back the account's recent posts where possible."""
    now = now or timezone.now()
    settled = 0
    unknown = Delivery.objects.filter(
        state=S.UNKNOWN,
        updated_at__lt=now - timedelta(seconds=settings.COPPS_READ_BACK_GRACE),
        recipients_total=0,
    ).select_related("channel")
    started = time.monotonic()
    failing: set[int] = set()
    for delivery in unknown.filter(operation=Operation.POST)[:200]:
        if time.monotonic() - started > limit_seconds:
            break
        if delivery.channel_id in failing or not _channel_ready(delivery.channel, now):
            continue
        try:
            adapter = delivery.channel.adapter
            if not adapter.can_find:
                continue
            found = adapter.find(delivery)
        except ChannelError as err:
            failing.add(delivery.channel_id)  # one hung service must not hold the round
            Delivery.objects.filter(pk=delivery.pk).update(
                last_error=f"read-back failed: {err}"[:2000], updated_at=now
            )
            continue
        except Exception:
            logger.exception("read-back of delivery %s failed", delivery.pk)
            continue
        # Only from "unknown": a person or another worker may have moved it meanwhile.
        if found is not None:
            _succeed(delivery, found, detail="read back: the post is there", only_from={S.UNKNOWN})
        elif _removal_planned(delivery):
            _move(
                delivery,
                "cancel",
                detail="read back: not there, and the message was withdrawn: not sent again",
                only_from={S.UNKNOWN},
            )
        else:
            _move(
                delivery,
                "retry",
                detail="read back: the post is not there; sending again",
                only_from={S.UNKNOWN},
            )
        settled += 1
    return settled


def _removal_planned(post: Delivery) -> bool:
    """A retraction planned the deletion of this post: it must never be (re)sent."""
    return Delivery.objects.filter(target=post, operation=Operation.DELETE).exists()


# A person resolves an unknown outcome -----------------------------------------------------


def mark_sent(delivery: Delivery, *, by, url: str = "", external_id: str = "") -> bool:
    """A person checked the channel: the post is there."""
    moved = _move(
        delivery,
        "succeed",
        by=by.username,
        detail="marked as sent by a person",
        only_from={S.UNKNOWN},
        url=url[:500],
        external_id=external_id[:300],
        sent_at=timezone.now(),
        resolved_by=by.username,
    )
    if moved:
        if delivery.recipients_total:
            Recipient.objects.filter(delivery=delivery, state=S.UNKNOWN).update(state=S.SENT)
        audit.record(actor=by, action="delivery.mark_sent", obj=delivery, data={"url": url})
    return moved


def send_again(delivery: Delivery, *, by) -> bool:
    """A person checked the channel: the post is not there; send it (again)."""
    moved = _move(
        delivery,
        "retry",
        by=by.username,
        detail="sent again by a person",
        only_from={S.UNKNOWN, S.FAILED},
        permanent=False,
        next_attempt_at=None,
        resolved_by=by.username,
    )
    if moved:
        if delivery.recipients_total:
            # The next claim re-runs the (idempotent) fan-out; only these copies go again.
            Recipient.objects.filter(delivery=delivery, state__in=[S.UNKNOWN, S.FAILED]).update(
                state=S.PENDING, attempts=0
            )
        audit.record(actor=by, action="delivery.send_again", obj=delivery)
    return moved


def give_up(delivery: Delivery, *, by, reason: str = "") -> bool:
    """A person decides this one will not go out."""
    moved = _move(
        delivery,
        "cancel",
        by=by.username,
        detail=reason or "cancelled by a person",
        resolved_by=by.username,
    )
    if moved:
        Recipient.objects.filter(delivery=delivery, state__in=[S.PENDING, S.UNKNOWN]).update(
            state=S.CANCELLED
        )
        audit.record(actor=by, action="delivery.cancel", obj=delivery, reason=reason)
    return moved
