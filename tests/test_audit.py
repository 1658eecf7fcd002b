"""The audit log: append-only, hash-chained, and `copps audit verify` finds any tampering."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils.translation import gettext_lazy

from copps.audit import log
from copps.audit.models import GENESIS, AppendOnlyError, AuditRecord, canonical_json, canonical_time

TABLE = AuditRecord._meta.db_table


@pytest.fixture
def five(db):
    return [
        log.record(actor="tester", action="test.step", object_type="x", object_id=str(i))
        for i in range(5)
    ]


def run_verify() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def broken(match: str):
    return pytest.raises(CommandError, match=match)


def sql(statement: str, *params):
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("TABLE", connection.ops.quote_name(TABLE)), params)


def test_records_form_a_chain_of_hashes(five):
    assert [r.seq for r in five] == [1, 2, 3, 4, 5]
    assert five[0].prev_hash == GENESIS
    for before, after in zip(five, five[1:], strict=False):
        assert after.prev_hash == before.hash
    assert len({r.hash for r in five}) == 5


def test_verify_passes_on_a_clean_log(five):
    assert "5 records verified" in run_verify()


def test_verify_passes_on_an_empty_log(db):
    assert "0 records verified" in run_verify()


def test_verify_names_a_record_changed_with_raw_sql(five):
    sql("UPDATE TABLE SET reason = %s WHERE seq = %s", "covered up", 3)
    with broken(r"record 3\b.*altered") as caught:
        run_verify()
    assert caught.value.returncode != 0


def test_verify_names_a_record_deleted_from_the_middle(five):
    sql("DELETE FROM TABLE WHERE seq = %s", 2)
    with broken(r"record 2 is missing"):
        run_verify()


def test_verify_notices_a_truncated_tail(five):
    sql("DELETE FROM TABLE WHERE seq >= %s", 4)
    with broken(r"record 4 and later are missing"):
        run_verify()


def test_verify_notices_a_record_replaced_with_a_freshly_computed_hash(five):
    forged = AuditRecord.objects.get(seq=3)
    forged.reason = "covered up"
    sql(
        "UPDATE TABLE SET reason = %s, hash = %s WHERE seq = %s",
        "covered up",
        forged.compute_hash(),
        3,
    )
    with broken(r"record 4 does not link to record 3"):
        run_verify()


def test_verify_notices_a_record_slipped_in_after_the_head(five):
    last = five[-1]
    extra = AuditRecord(seq=6, actor="intruder", action="x", prev_hash=last.hash, at=last.at)
    extra.hash = extra.compute_hash()
    extra.save()  # written past log.record, so the head row does not know it
    with broken(r"record 6 was added outside the log"):
        run_verify()


def test_the_orm_refuses_to_change_or_delete_a_record(five):
    record = AuditRecord.objects.get(seq=1)
    record.reason = "changed"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(seq=1).update(reason="changed")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(seq=1).delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():  # bulk_update breaks its transaction
        AuditRecord.objects.bulk_update([record], ["reason"])
    assert "5 records verified" in run_verify()


def test_a_record_keeps_who_did_what_to_which_object(editor, published_message):
    record = log.for_object(published_message).get(action="message.publish")
    assert (record.actor, record.object_type, record.object_id) == (
        editor.username,
        "newsroom.message",
        str(published_message.pk),
    )


# Hash input: the same on SQLite and PostgreSQL -------------------------------------------------


def test_timestamps_are_hashed_in_utc_at_millisecond_precision():
    utc = datetime(2026, 3, 12, 13, 30, 5, 123456, tzinfo=UTC)
    brussels = utc.astimezone(ZoneInfo("Europe/Brussels"))
    assert canonical_time(utc) == canonical_time(brussels) == "2026-03-12T13:30:05.123Z"


def test_records_are_stored_at_millisecond_precision(five):
    assert all(r.at.microsecond % 1000 == 0 for r in AuditRecord.objects.all())


def test_json_is_canonical_whatever_the_key_order_or_float_spelling():
    assert canonical_json({"b": 1, "a": [1.0, "é"]}) == canonical_json({"a": [1, "é"], "b": 1.0})
    assert canonical_json({"a": "é"}) == '{"a":"\\u00e9"}'
    assert canonical_json({"big": 1e16}) == '{"big":10000000000000000}'


def test_data_is_stored_as_plain_json_so_it_verifies_after_the_round_trip(db):
    data = {
        "when": datetime(2026, 3, 12, 13, 30, tzinfo=UTC),
        "amount": Decimal("1250.00"),
        "languages": ("nl", "fr"),
        "label": gettext_lazy("Draft"),
        "nested": {"z": 1, "a": [True, None, 0.5]},
        "nul": "a\x00b",
    }
    record = log.record(actor="tester", action="test.data", reason="met\x00nul", data=data)
    stored = AuditRecord.objects.get(pk=record.pk)
    assert stored.data == record.data
    assert stored.data["languages"] == ["nl", "fr"]
    assert stored.data["nul"] == "ab" and stored.reason == "metnul"
    assert stored.compute_hash() == stored.hash
    assert log.verify().ok


def test_overlong_fields_are_cut_to_what_every_database_stores(db):
    record = log.record(actor="a" * 500, action="b" * 500, object_id="c" * 500)
    stored = AuditRecord.objects.get(pk=record.pk)
    assert (len(stored.actor), len(stored.action), len(stored.object_id)) == (150, 60, 64)
    assert stored.compute_hash() == stored.hash


def test_a_record_written_inside_a_failed_transaction_leaves_no_trace(db):
    log.record(actor="tester", action="test.kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        log.record(actor="tester", action="test.rolled_back")
        raise RuntimeError("the action failed")
    assert not AuditRecord.objects.filter(action="test.rolled_back").exists()
    log.record(actor="tester", action="test.after")
    assert log.verify().ok
