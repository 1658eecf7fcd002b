"""Two people (or two workers) acting on the same message at once: one wins, nothing is doubled.

SQLite in memory has one connection, so races are played out with two in-memory copies of the
same row, both read before either acts, which is exactly the state two requests are in. The
multi-connection versions of these races run on PostgreSQL in tests/test_postgres.py.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from copps.audit import log as audit
from copps.audit.log import verify
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput
from copps.newsroom.models import Message
from copps.newsroom.workflow import Conflict, State
from copps.worker import jobs


def count(message, action: str) -> int:
    return audit.for_object(message).filter(action=f"message.{action}").count()


def two_copies(message):
    return Message.objects.get(pk=message.pk), Message.objects.get(pk=message.pk)


@pytest.fixture
def submitted(make_message, communicator):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    return message


def test_two_editors_approving_at_once_one_wins_and_the_other_gets_a_conflict(
    submitted, editor, second_editor
):
    first, second = two_copies(submitted)
    actions.approve_message(first, by=editor)
    with pytest.raises(Conflict):
        actions.approve_message(second, by=second_editor)
    submitted.refresh_from_db()
    assert submitted.state == State.PUBLISHED and submitted.approved_by == editor
    assert count(submitted, "approve") == 1 and count(submitted, "publish") == 1
    assert submitted.revisions.count() == 1


def test_approving_a_message_another_editor_just_rejected_is_a_conflict(
    submitted, editor, second_editor
):
    first, second = two_copies(submitted)
    actions.reject_message(first, by=editor, reason="Nog niet.")
    with pytest.raises(Conflict):
        actions.approve_message(second, by=second_editor)
    submitted.refresh_from_db()
    assert submitted.state == State.DRAFT and count(submitted, "approve") == 0


def test_approving_a_message_its_author_just_withdrew_is_a_conflict(
    submitted, communicator, editor
):
    first, second = two_copies(submitted)
    actions.withdraw_message(first, by=communicator)
    with pytest.raises(Conflict):
        actions.approve_message(second, by=editor)
    submitted.refresh_from_db()
    assert submitted.state == State.DRAFT


def test_two_edits_of_the_same_draft_one_wins_and_the_other_gets_a_conflict(
    make_message, communicator, editor
):
    message = make_message(communicator)
    first, second = two_copies(message)
    actions.update_message(first, by=communicator, versions=[VersionInput("nl", "Eerste", "Een.")])
    with pytest.raises(Conflict):
        actions.update_message(second, by=editor, versions=[VersionInput("nl", "Tweede", "Twee.")])
    message.refresh_from_db()
    assert message.primary_version().title == "Eerste"


def test_a_failed_conflict_leaves_no_partial_write(submitted, editor, second_editor):
    first, second = two_copies(submitted)
    actions.approve_message(first, by=editor)
    records = audit.for_object(submitted).count()
    with pytest.raises(Conflict):
        actions.reject_message(second, by=second_editor, reason="Te laat.")
    assert audit.for_object(submitted).count() == records
    assert verify().ok


class OtherWorkerFirst:
    """Stands in for ``django.db.transaction`` in actions: the first time a worker opens a
    transaction (it has already read its list of due messages), a second worker runs a whole
    tick. The first worker then goes on with the copies it read before."""

    def __init__(self):
        self.other_results = None

    def atomic(self, *args, **kwargs):
        if self.other_results is None:
            self.other_results = {}
            self.other_results = jobs.tick(now=timezone.now() + timedelta(hours=2))
        return transaction.atomic(*args, **kwargs)


def test_two_concurrent_worker_ticks_publish_each_due_message_once(
    make_message, communicator, editor, monkeypatch
):
    soon = timezone.now() + timedelta(hours=1)
    messages = [make_message(communicator, title=f"Bericht {i}", publish_at=soon) for i in range(2)]
    for message in messages:
        actions.submit_message(message, by=communicator)
        actions.approve_message(message, by=editor)
        assert message.state == State.SCHEDULED
    other = OtherWorkerFirst()
    monkeypatch.setattr(actions, "transaction", other)

    mine = jobs.tick(now=timezone.now() + timedelta(hours=2))

    assert other.other_results["published"] == 2
    assert mine["published"] == 0 and mine["errors"] == 0  # its stale copies lost, quietly
    for message in messages:
        message.refresh_from_db()
        assert message.state == State.PUBLISHED
        assert count(message, "publish") == 1
        assert message.revisions.count() == 1
    assert verify().ok


def test_an_editor_correcting_while_the_worker_expires_wins_and_the_next_tick_expires(
    published_message, editor, second_editor, monkeypatch
):
    Message.objects.filter(pk=published_message.pk).update(expires_at=timezone.now())
    correction = actions.propose_correction(
        published_message, by=editor, note="Detail.", versions=[VersionInput("nl", "T", "B.")]
    )
    stale = Message.objects.get(pk=published_message.pk)
    actions.approve_correction(correction, by=second_editor)
    # The worker read the message before the correction: its expire loses.
    real_filter = Message.objects.filter
    calls = []

    def due_as_read_before(*args, **kwargs):
        calls.append(kwargs)
        return [stale] if len(calls) == 1 else real_filter(*args, **kwargs)

    monkeypatch.setattr(Message.objects, "filter", due_as_read_before)
    assert actions.expire_due(timezone.now()) == 0
    monkeypatch.undo()
    published_message.refresh_from_db()
    assert published_message.state == State.CORRECTED
    assert actions.expire_due(timezone.now()) == 1
