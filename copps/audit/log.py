"""Writing to and verifying the audit log."""

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .models import GENESIS, AuditHead, AuditRecord


def _text(value, max_length: int | None = None) -> str:
    # PostgreSQL refuses NUL in text and enforces lengths that SQLite ignores: clean both here, so
    # the hashed value is exactly what every database stores.
    text = str(value or "").replace("\x00", "")
    return text[:max_length] if max_length else text


def _json_data(data: dict | None) -> dict:
    """``data`` as the database will give it back: plain JSON types only, no NUL characters.

    Dates, decimals, UUIDs and lazy translations become strings (DjangoJSONEncoder); tuples
    become lists. Hashing this form keeps the chain verifiable after a round trip through SQLite's
    JSON text or PostgreSQL's jsonb.
    """
    if not data:
        return {}
    return _strip_nul(json.loads(json.dumps(data, cls=DjangoJSONEncoder, allow_nan=False)))


def _strip_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict | None = None,
) -> AuditRecord:
    """Append one record. Must run inside the caller's transaction (so both commit or neither).

    ``actor`` is a user (its username is kept, so the record survives the user's deletion) or a
    name such as "worker".
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    actor_name = actor if isinstance(actor, str) else getattr(actor, "username", "system")
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        # Milliseconds: the hashed timestamp is exactly what SQLite and PostgreSQL give back.
        now = timezone.now()
        at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        rec = AuditRecord(
            seq=head.seq + 1,
            at=at,
            actor=_text(actor_name, 150) or "system",
            action=_text(action, 60),
            object_type=_text(object_type, 60),
            object_id=_text(object_id, 64),
            from_state=_text(from_state, 30),
            to_state=_text(to_state, 30),
            reason=_text(reason),
            data=_json_data(data),
            prev_hash=head.hash,
        )
        rec.hash = rec.compute_hash()
        rec.save()
        AuditHead.objects.filter(id=1).update(seq=rec.seq, hash=rec.hash)
    return rec


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


def verify() -> VerifyResult:
    """Walk the chain from the start; name the first record that does not fit.

    Finds a changed record (its hash no longer matches its content), a replaced one (the next
    record no longer links to it), a deleted one (a gap in ``seq``), a cut-off tail (the head
    row remembers the last seq and hash) and a record slipped in past the head. Safe to run
    while others append: it checks the chain up to the head as read at the start.
    """
    head = AuditHead.objects.filter(id=1).first()
    records = AuditRecord.objects.order_by("seq")
    if head is not None:
        records = records.filter(seq__lte=head.seq)
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for rec in records.iterator(chunk_size=2000):
        if rec.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"record {expected_seq} is missing")
        if rec.prev_hash != expected_prev:
            return VerifyResult(
                False,
                checked,
                rec.seq,
                f"record {rec.seq} does not link to record {rec.seq - 1} "
                f"(record {rec.seq - 1} was replaced)",
            )
        if rec.compute_hash() != rec.hash:
            return VerifyResult(False, checked, rec.seq, f"record {rec.seq} was altered")
        expected_prev = rec.hash
        expected_seq += 1
        checked += 1
    if head is None:
        if checked:
            return VerifyResult(False, checked, checked, "the chain's head row is missing")
        return VerifyResult(True, 0)
    if head.seq > checked:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"record {checked + 1} and later are missing (the log ended at record {head.seq})",
        )
    if head.hash != expected_prev:
        return VerifyResult(False, checked, checked, f"record {checked} differs from the head")
    # Records past the head: a writer commits a record and the head together, so reading the
    # highest seq first and the head after it never mistakes a concurrent append for tampering.
    last = AuditRecord.objects.aggregate(last=models.Max("seq"))["last"] or 0
    head_now = AuditHead.objects.filter(id=1).first()
    if head_now is None or last > head_now.seq:
        return VerifyResult(
            False,
            checked,
            (head_now.seq if head_now else head.seq) + 1,
            f"record {(head_now.seq if head_now else head.seq) + 1} was added outside the log",
        )
    return VerifyResult(True, checked)


def for_object(obj):
    return AuditRecord.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
