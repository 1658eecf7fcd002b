"""Writing to and verifying the audit log."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import GENESIS, AuditHead, AuditRecord


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
    """Append one record. Must run inside the caller's transaction (so both commit or neither)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    actor_name = actor if isinstance(actor, str) else getattr(actor, "username", "system")
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        # Milliseconds: ISO timestamps round-trip identically on SQLite and PostgreSQL.
        now = timezone.now()
        at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        rec = AuditRecord(
            seq=head.seq + 1,
            at=at,
            actor=actor_name or "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            data=data or {},
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
    """Walk the chain from the start; name the first record that does not fit."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for rec in AuditRecord.objects.order_by("seq").iterator(chunk_size=2000):
        if rec.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"record {expected_seq} is missing")
        if rec.prev_hash != expected_prev:
            return VerifyResult(
                False, checked, rec.seq, f"record {rec.seq} does not link to record {rec.seq - 1}"
            )
        if rec.compute_hash() != rec.hash:
            return VerifyResult(False, checked, rec.seq, f"record {rec.seq} was altered")
        expected_prev = rec.hash
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and head.seq != checked:
        return VerifyResult(
            False, checked, checked + 1, f"records after {checked} are missing (head says {head.seq})"
        )
    if head is not None and head.hash != expected_prev:
        return VerifyResult(False, checked, checked, f"record {checked} differs from the head")
    return VerifyResult(True, checked)


def for_object(obj):
    return AuditRecord.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
