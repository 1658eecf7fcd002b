"""Behaviour that only a real multi-connection database can show: run on PostgreSQL.

The SQLite pass skips these (in-memory SQLite has one connection); CI's PostgreSQL pass runs them.
"""

import threading

import pytest
from django.conf import settings
from django.db import connection

from copps.newsroom import actions
from copps.newsroom.models import Message
from copps.newsroom.workflow import Conflict, State

pytestmark = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)",
)


def run_concurrently(*functions):
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, fn):
        try:
            barrier.wait()
            results[index] = fn()
        except Exception as exc:  # collected and asserted by the caller
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_editors_approving_at_once_one_wins_the_other_gets_a_conflict(
    make_message, communicator, editor, second_editor
):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)

    def approve(user):
        return lambda: actions.approve_message(Message.objects.get(pk=message.pk), by=user)

    results = run_concurrently(approve(editor), approve(second_editor))
    conflicts = [r for r in results if isinstance(r, Conflict)]
    winners = [r for r in results if isinstance(r, Message)]
    assert len(winners) == 1 and len(conflicts) == 1, results
    message.refresh_from_db()
    assert message.state == State.PUBLISHED
    assert message.revisions.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_audit_writers_never_fork_the_chain(make_message, communicator):
    from copps.audit.log import verify

    def create(i):
        return lambda: make_message(communicator, title=f"Bericht {i}")

    results = run_concurrently(*(create(i) for i in range(6)))
    assert all(isinstance(r, Message) for r in results), results
    assert verify().ok


@pytest.mark.django_db(transaction=True)
def test_two_workers_publishing_due_messages_publish_each_once(make_message, communicator, editor):
    from datetime import timedelta

    from django.utils import timezone

    message = make_message(communicator, publish_at=timezone.now() + timedelta(hours=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    Message.objects.filter(pk=message.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    later = timezone.now()
    results = run_concurrently(
        lambda: actions.publish_due(later), lambda: actions.publish_due(later)
    )
    assert sorted(results) == [0, 1], results
    assert Message.objects.get(pk=message.pk).revisions.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_editors_approving_one_correction_at_once_one_wins_the_other_gets_a_conflict(
    published_message, editor, second_editor, make_user
):
    from copps.newsroom.actions import VersionInput
    from copps.newsroom.models import Correction

    third = make_user("editor", "dora")
    correction = actions.propose_correction(
        published_message, by=editor, note="Datum.", versions=[VersionInput("nl", "T", "Nieuw.")]
    )

    def approve(user):
        return lambda: actions.approve_correction(Correction.objects.get(pk=correction.pk), by=user)

    results = run_concurrently(approve(second_editor), approve(third))
    conflicts = [r for r in results if isinstance(r, Conflict)]
    winners = [r for r in results if isinstance(r, Correction)]
    assert len(winners) == 1 and len(conflicts) == 1, results
    published_message.refresh_from_db()
    assert published_message.state == State.CORRECTED
    assert published_message.revisions.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_proposals_at_once_leave_exactly_one_pending_correction(
    published_message, editor, second_editor
):
    from copps.newsroom.actions import VersionInput
    from copps.newsroom.models import Correction

    def propose(user, body):
        return lambda: actions.propose_correction(
            Message.objects.get(pk=published_message.pk),
            by=user,
            note="Datum.",
            versions=[VersionInput("nl", "T", body)],
        )

    results = run_concurrently(propose(editor, "Een."), propose(second_editor, "Twee."))
    assert all(isinstance(r, Correction) for r in results), results
    states = sorted(Correction.objects.values_list("state", flat=True))
    assert states == ["pending", "superseded"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_delivery_only_one_sends(
    make_message, communicator, editor, make_channel
):
    from copps.channels import deliveries
    from copps.channels.models import Delivery, SandboxPost

    make_channel("webhook")
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    pk = message.deliveries.get().pk

    def work():
        return deliveries.process(Delivery.objects.select_related("channel").get(pk=pk))

    run_concurrently(work, work, work)
    delivery = Delivery.objects.get(pk=pk)
    assert delivery.state == "sent" and delivery.attempts == 1
    assert SandboxPost.objects.filter(idempotency_key=delivery.key).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_a_fan_out_and_every_copy_goes_once(
    make_message, communicator, editor, make_channel, monkeypatch
):
    import secrets

    from copps.channels import deliveries
    from copps.channels.models import Subscription
    from tests.support_channels import install

    counting = install(monkeypatch)
    make_channel("email", slug="newsletter", secrets={})
    Subscription.objects.bulk_create(
        Subscription(
            medium="email",
            address=f"s{i}@example.org",
            language="nl",
            state="active",
            secret=secrets.token_hex(8),
        )
        for i in range(600)
    )
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    deliveries.deliver_due()
    run_concurrently(deliveries.deliver_recipients, deliveries.deliver_recipients)
    addresses = [a for _d, a in counting.sent]
    assert len(addresses) == 600 and len(set(addresses)) == 600
    d = message.deliveries.get()
    assert (d.state, d.recipients_sent) == ("sent", 600)
