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

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from copps.audit import log as audit

from .base import ChannelError, Outcome
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
from .states import FINAL_STATES, TRANSITIONS, DeliveryState, Operation

logger = logging.getLogger("copps.channels")
S = DeliveryState

# An unknown outcome is read back only after this long (a post may take a moment to appear);
# setting COPPS_READ_BACK_GRACE (seconds) overrides it (the crash-injection test shortens it).
READ_BACK_GRACE = timedelta(seconds=30)


def read_back_grace() -> timedelta:
    seconds = getattr(settings, "COPPS_READ_BACK_GRACE", None)
    return READ_BACK_GRACE if seconds is None else timedelta(seconds=float(seconds))


RECIPIENT_CLAIM_BATCH = 100


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


def claim(delivery: Delivery, now=None) -> bool:
    """pending/failed (retryable, due) -> sending, committed before any outside call."""
    now = now or timezone.now()
    with transaction.atomic():
        moved = (
            Delivery.objects.filter(pk=delivery.pk, state__in=TRANSITIONS["claim"][0])
            .filter(permanent=False)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .update(
                state=S.SENDING,
                sending_since=now,
                attempts=F("attempts") + 1,
                updated_at=now,
                next_attempt_at=None,
            )
        )
        if not moved:
            return False
        delivery.refresh_from_db()
        DeliveryEvent.objects.create(
            delivery=delivery,
            at=now,
            from_state=S.PENDING if delivery.attempts == 1 else S.FAILED,
            to_state=S.SENDING,
            attempt=delivery.attempts,
            actor="worker",
        )
    return True


def backoff(attempts: int) -> float:
    return float(min(settings.COPPS_DELIVERY_BACKOFF_CAP, 30 * 2 ** max(0, attempts - 1)))


def _succeed(delivery: Delivery, outcome: Outcome, *, by: str = "worker", detail: str = "") -> None:
    now = timezone.now()
    _move(
        delivery,
        "succeed",
        by=by,
        detail=detail or "sent",
        external_id=(outcome.external_id or "")[:300],
        url=(outcome.url or "")[:500],
        sent_at=now,
        last_error="",
        sending_since=None,
    )
    _channel_ok(delivery.channel_id, now)


def _fail(delivery: Delivery, err: ChannelError, adapter) -> None:
    now = timezone.now()
    message = str(err)[:2000]
    if err.maybe_sent and not adapter.idempotent:
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
    elif not err.permanent:
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
    """Reserve the channel's next call under its rate limit (a conditional UPDATE)."""
    if not adapter.rate_per_minute or not settings.COPPS_CHANNEL_RATE_LIMIT:
        return True
    interval = timedelta(seconds=60.0 / adapter.rate_per_minute)
    return bool(
        Channel.objects.filter(pk=channel.pk)
        .filter(Q(next_slot_at__isnull=True) | Q(next_slot_at__lte=now))
        .update(next_slot_at=now + interval)
    )


# Processing -----------------------------------------------------------------------------------


def due(now=None) -> list[int]:
    """Ids of deliveries ready to be tried, oldest first."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            Q(state=S.PENDING) | Q(state=S.FAILED, permanent=False, next_attempt_at__lte=now)
        )
        .filter(channel__enabled=True)
        .exclude(channel__status=ChannelStatus.DISABLED)
        .order_by("pk")
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
    adapter = channel.adapter
    if not adapter.subscribers and not _take_slot(channel, adapter, timezone.now()):
        return delivery.state
    if not claim(delivery, now):
        return delivery.state
    if adapter.subscribers:
        expand(delivery, adapter)
        return delivery.state
    target = delivery.target
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
        process(delivery, now or timezone.now())
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
        if topics and kind not in topics:
            continue
        if wanted and codes and not wanted.intersection(codes):
            continue
        yield pk


def expand(delivery: Delivery, adapter) -> int:
    """Create the recipients of a claimed subscriber delivery (idempotent), then let
    ``deliver_recipients`` send them. Returns the number of recipients."""
    payload = delivery.payload
    ids = list(
        matching_subscriptions(
            adapter.medium,
            delivery.language,
            payload.get("kind", ""),
            payload.get("postcodes", []),
        )
    )
    now = timezone.now()
    for start in range(0, len(ids), 5000):
        Recipient.objects.bulk_create(
            [
                Recipient(delivery_id=delivery.pk, subscription_id=pk, updated_at=now)
                for pk in ids[start : start + 5000]
            ],
            ignore_conflicts=True,
        )
    total = Recipient.objects.filter(delivery=delivery).count()
    Delivery.objects.filter(pk=delivery.pk).update(
        recipients_total=total, sending_since=timezone.now()
    )
    delivery.recipients_total = total
    if total == 0:
        _succeed(delivery, Outcome(""), detail="no matching subscribers")
    return total


def _claim_recipients(now, limit: int) -> tuple[str, list[int]]:
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            Recipient.objects.filter(
                state=S.PENDING,
                delivery__state=S.SENDING,
                delivery__channel__enabled=True,
            )
            .exclude(delivery__channel__status=ChannelStatus.DISABLED)
            .order_by("delivery_id", "pk")
            # PostgreSQL: workers claiming at once take different rows instead of the same ones
            # (the loser used to find none claimed and idle a tick). SQLite ignores this: its
            # writing transactions are serialised anyway.
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return token, []
        Recipient.objects.filter(pk__in=ids, state=S.PENDING).update(
            state=S.SENDING, last_error=token, updated_at=now, attempts=F("attempts") + 1
        )
    claimed = list(
        Recipient.objects.filter(pk__in=ids, state=S.SENDING, last_error=token).values_list(
            "pk", flat=True
        )
    )
    return token, claimed


def deliver_recipients(now=None, *, limit_seconds: float = 20.0, batch: int = 0) -> int:
    """Send claimed batches of subscriber copies until none are left (or time is up)."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < limit_seconds:
        now = timezone.now()
        _token, ids = _claim_recipients(now, batch or RECIPIENT_CLAIM_BATCH)
        if not ids:
            break
        recipients = list(
            Recipient.objects.filter(pk__in=ids).select_related(
                "subscription", "delivery", "delivery__channel"
            )
        )
        by_delivery: dict[int, list[Recipient]] = {}
        for r in recipients:
            by_delivery.setdefault(r.delivery_id, []).append(r)
        for group in by_delivery.values():
            sent += _send_group(group)
    finish_fanouts()
    return sent


def _send_group(group: list[Recipient]) -> int:
    delivery = group[0].delivery
    adapter = delivery.channel.adapter
    now = timezone.now()
    gone = [r for r in group if r.subscription is None]
    live = [r for r in group if r.subscription is not None]
    if gone:
        Recipient.objects.filter(pk__in=[r.pk for r in gone]).update(
            state=S.CANCELLED, last_error="unsubscribed", updated_at=now
        )
    if not live:
        return 0
    try:
        results = adapter.send_batch(delivery, live)
    except ChannelError as err:
        state = S.UNKNOWN if err.maybe_sent else S.PENDING
        if err.permanent:
            state = S.FAILED
        Recipient.objects.filter(pk__in=[r.pk for r in live]).update(
            state=state, last_error=str(err)[:500], updated_at=now
        )
        if err.disable_channel:
            disable_channel(delivery.channel, reason=str(err))
        elif not err.permanent:
            _channel_failed(delivery.channel_id, now, str(err))
            if state == S.PENDING:
                time.sleep(min(5.0, err.retry_after or 1.0))  # don't hammer a server that's down
        return 0
    except Exception as exc:
        logger.exception("adapter %s crashed on a batch of delivery %s", adapter.kind, delivery.pk)
        Recipient.objects.filter(pk__in=[r.pk for r in live]).update(
            state=S.UNKNOWN, last_error=f"internal error: {exc!r}"[:500], updated_at=now
        )
        return 0
    ok_plain = [pk for pk, v in results.items() if isinstance(v, str) and not v]
    ok_ids = {pk: v for pk, v in results.items() if isinstance(v, str) and v}
    # One transaction and one statement per kind of result, not one autocommitted UPDATE per
    # copy (on PostgreSQL that was a commit per subscriber: most of a large fan-out's time).
    with transaction.atomic():
        if ok_plain:
            Recipient.objects.filter(pk__in=ok_plain).update(
                state=S.SENT, last_error="", updated_at=now
            )
        if ok_ids:
            _mark_sent_with_ids(ok_ids, now)
        for pk, value in results.items():
            if isinstance(value, ChannelError):
                state = (
                    S.FAILED if value.permanent else (S.UNKNOWN if value.maybe_sent else S.PENDING)
                )
                if (
                    state == S.PENDING
                    and _recipient_attempts(pk) >= settings.COPPS_DELIVERY_MAX_ATTEMPTS
                ):
                    state = S.FAILED
                Recipient.objects.filter(pk=pk).update(
                    state=state, last_error=str(value)[:500], updated_at=now
                )
        missing = [r.pk for r in live if r.pk not in results]
        if missing:  # the adapter did not say: we cannot know
            Recipient.objects.filter(pk__in=missing).update(
                state=S.UNKNOWN, last_error="no result from the adapter", updated_at=now
            )
    Delivery.objects.filter(pk=delivery.pk, state=S.SENDING).update(sending_since=now)
    if ok_plain or ok_ids:
        _channel_ok(delivery.channel_id, now)
    return len(ok_plain) + len(ok_ids)


def _mark_sent_with_ids(ok_ids: dict[int, str], now) -> None:
    """Mark copies sent with their external ids: one UPDATE ... FROM (VALUES ...) per 500 copies
    (SQLite >= 3.33 and PostgreSQL), instead of one UPDATE per copy."""
    table = connection.ops.quote_name(Recipient._meta.db_table)
    items = list(ok_ids.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            rows = ", ".join(["(%s, %s)"] * len(chunk))
            params: list = [S.SENT, now]
            for pk, external in chunk:
                params += [pk, external[:200]]
            cursor.execute(
                f"UPDATE {table} SET state = %s, last_error = '', updated_at = %s, "  # noqa: S608
                f"external_id = v.column2 FROM (VALUES {rows}) AS v "
                f"WHERE {table}.id = v.column1",
                params,
            )


def _recipient_attempts(pk: int) -> int:
    return Recipient.objects.filter(pk=pk).values_list("attempts", flat=True).first() or 0


def finish_fanouts() -> int:
    """Close subscriber deliveries whose recipients are all settled, with their counts."""
    done = 0
    open_ids = Delivery.objects.filter(state=S.SENDING, recipients_total__gt=0).values_list(
        "pk", flat=True
    )
    for pk in list(open_ids):
        recipients = Recipient.objects.filter(delivery_id=pk)
        if recipients.filter(state__in=[S.PENDING, S.SENDING]).exists():
            continue
        counts = {
            state: recipients.filter(state=state).count()
            for state in (S.SENT, S.FAILED, S.UNKNOWN, S.CANCELLED)
        }
        delivery = Delivery.objects.get(pk=pk)
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
            _succeed(delivery, Outcome(""), detail=summary)
            if counts[S.FAILED]:
                Delivery.objects.filter(pk=pk).update(last_error=summary)
        else:
            _move(delivery, "fail", detail=summary, last_error=summary, permanent=True)
        done += 1
    return done


# The sweeper and read-back --------------------------------------------------------------------


def sweep(now=None) -> int:
    """Rows left in "sending" by a worker that died: settle them by the adapter's rules."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.COPPS_DELIVERY_SENDING_TIMEOUT)
    swept = 0
    stuck_recipients = Recipient.objects.filter(state=S.SENDING, updated_at__lt=limit)
    swept += stuck_recipients.update(
        state=S.UNKNOWN, last_error="the worker stopped while sending", updated_at=now
    )
    for delivery in Delivery.objects.filter(
        state=S.SENDING, sending_since__lt=limit
    ).select_related("channel"):
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


def reconcile(now=None) -> int:
    """Settle unknown outcomes by reading back the account's recent posts where possible."""
    now = now or timezone.now()
    settled = 0
    unknown = Delivery.objects.filter(
        state=S.UNKNOWN, updated_at__lt=now - read_back_grace(), recipients_total=0
    ).select_related("channel")
    for delivery in unknown[:200]:
        adapter = delivery.channel.adapter
        if not adapter.can_find or delivery.operation != Operation.POST:
            continue
        if not _channel_ready(delivery.channel, now):
            continue
        try:
            found = adapter.find(delivery)
        except ChannelError as err:
            Delivery.objects.filter(pk=delivery.pk).update(
                last_error=f"read-back failed: {err}"[:2000], updated_at=now
            )
            continue
        except Exception:
            logger.exception("read-back of delivery %s failed", delivery.pk)
            continue
        if found is not None:
            _succeed(delivery, found, detail="read back: the post is there")
        else:
            _move(delivery, "retry", detail="read back: the post is not there; sending again")
        settled += 1
    return settled


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


def is_final(delivery: Delivery) -> bool:
    return delivery.state in FINAL_STATES or (delivery.state == S.FAILED and delivery.permanent)
