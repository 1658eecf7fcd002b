"""Subscriber channels: one copy per matching subscriber, each exactly once or flagged unknown."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from copps.channels import deliveries
from copps.channels.base import ChannelError
from copps.channels.models import Recipient, Subscription
from copps.newsroom import actions
from tests.support_channels import install

pytestmark = pytest.mark.django_db


def subscriber(address, language="nl", topics=(), postcodes=(), state="active"):
    return Subscription.objects.create(
        medium="email",
        address=address,
        language=language,
        topics=list(topics),
        postcodes=list(postcodes),
        state=state,
        secret=secrets.token_hex(16),
    )


@pytest.fixture
def counting(monkeypatch):
    return install(monkeypatch)


@pytest.fixture
def newsletter(make_channel, counting):
    return make_channel("email", slug="newsletter", secrets={})


def publish(make_message, communicator, editor, **kw):
    message = make_message(communicator, **kw)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def run():
    deliveries.deliver_due()
    deliveries.deliver_recipients()


def test_it_sends_one_copy_to_each_matching_subscriber(
    newsletter, counting, make_message, communicator, editor, area
):
    area.postcodes = ["2000"]
    area.save()
    subscriber("all@example.org")
    subscriber("traffic@example.org", topics=["traffic"])
    subscriber("here@example.org", postcodes=["2000"])
    subscriber("elsewhere@example.org", postcodes=["9000"])
    subscriber("fr@example.org", language="fr")
    subscriber("pending@example.org", state="pending")
    message = publish(make_message, communicator, editor, area=area)
    run()
    run()
    assert sorted(a for _d, a in counting.sent) == ["all@example.org", "here@example.org"]
    d = message.deliveries.get()
    assert (d.state, d.recipients_total, d.recipients_sent) == ("sent", 2, 2)


def test_no_matching_subscriber_is_a_sent_delivery_with_zero_copies(
    newsletter, counting, make_message, communicator, editor
):
    message = publish(make_message, communicator, editor)
    run()
    d = message.deliveries.get()
    assert d.state == "sent" and d.recipients_total == 0


def test_partial_failures_are_counted_not_hidden(
    newsletter, counting, make_message, communicator, editor
):
    subscriber("ok@example.org")
    subscriber("bounce@example.org")
    counting.fail["bounce@example.org"] = ChannelError("550 no such user", permanent=True)
    message = publish(make_message, communicator, editor)
    run()
    d = message.deliveries.get()
    assert (d.state, d.recipients_sent, d.recipients_failed) == ("sent", 1, 1)
    assert "1 failed" in d.last_error


def test_a_crash_mid_batch_flags_those_copies_unknown_and_loses_none(
    newsletter, counting, make_message, communicator, editor
):
    for i in range(5):
        subscriber(f"s{i}@example.org")
    message = publish(make_message, communicator, editor)
    counting.crash_after = 2
    run()
    d = message.deliveries.get()
    assert d.state == "unknown" and d.recipients_unknown == 5 and len(counting.sent) == 2
    # A person decides to send the uncertain copies again.
    counting.crash_after = None
    assert deliveries.send_again(d, by=editor)
    run()
    d.refresh_from_db()
    assert d.state == "sent" and d.recipients_sent == 5


def test_a_worker_killed_while_sending_leaves_unknown_copies_for_the_sweeper(
    newsletter, counting, make_message, communicator, editor
):
    for i in range(3):
        subscriber(f"s{i}@example.org")
    message = publish(make_message, communicator, editor)
    deliveries.deliver_due()  # expands
    d = message.deliveries.get()
    seen, claimed = deliveries._claim_recipients(timezone.now(), 2)  # then the worker dies
    assert seen == 2 and len(claimed) == 2
    later = timezone.now() + timedelta(minutes=10)
    assert deliveries.sweep(later) >= 2
    deliveries.deliver_recipients()  # the third copy still goes
    d.refresh_from_db()
    assert d.state == "unknown" and (d.recipients_sent, d.recipients_unknown) == (1, 2)


def test_an_unsubscribed_citizen_gets_nothing_after_leaving(
    newsletter, counting, make_message, communicator, editor
):
    stay, leave = subscriber("stay@example.org"), subscriber("leave@example.org")
    message = publish(make_message, communicator, editor)
    deliveries.deliver_due()  # fan-out planned for both
    leave.delete()
    deliveries.deliver_recipients()
    assert [a for _d, a in counting.sent] == [stay.address]
    assert Recipient.objects.filter(delivery__message=message, state="cancelled").count() == 1
