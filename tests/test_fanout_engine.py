"""The subscriber fan-out records each copy's outcome: external ids in bulk, errors per copy."""

import pytest

from copps.channels import deliveries, registry
from copps.channels.base import Adapter, ChannelError
from copps.channels.models import Channel, Recipient, Subscription, SubscriptionState


class ListAdapter(Adapter):
    """A subscriber channel whose service answers per copy: an id, a refusal, or nothing."""

    kind = "sms_http"
    rendition = "sms"
    subscribers = True
    medium = "sms"
    batch_size = 100

    def send_batch(self, delivery, recipients):
        out = {}
        for r in recipients:
            number = r.subscription.address
            if number.endswith("7"):
                out[r.pk] = ChannelError("number unknown", permanent=True)
            elif number.endswith("8"):
                continue  # no answer for this one
            else:
                out[r.pk] = f"msg-{number[-4:]}"
        return out


@pytest.fixture
def list_channel(db, monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, "sms_http", f"{__name__}.ListAdapter")
    channel = Channel(name="sms", slug="sms", kind="sms_http", language="nl")
    channel.save()
    return channel


def test_it_stores_every_copys_external_id_and_settles_refused_and_unanswered_copies(
    list_channel, make_message, communicator
):
    message = make_message(communicator)
    Subscription.objects.bulk_create(
        Subscription(
            medium="sms",
            address=f"+3247000{i:04d}",
            language="nl",
            state=SubscriptionState.ACTIVE,
            secret=f"s{i}",
        )
        for i in range(1, 1201)
    )
    delivery = deliveries.plan(
        message_id=message.pk, channel=list_channel, language="nl", payload={"text": "Alert"}
    )
    deliveries.process(delivery)
    deliveries.deliver_recipients(batch=1000)
    copies = {r.subscription.address: r for r in Recipient.objects.select_related("subscription")}
    assert len(copies) == 1200
    sent = [r for r in copies.values() if r.state == "sent"]
    assert len(sent) == 1200 - 240  # numbers ending in 7 or 8 are not sent
    assert all(r.external_id == f"msg-{r.subscription.address[-4:]}" for r in sent)
    assert copies["+32470000017"].state == "failed"
    assert copies["+32470000018"].state == "unknown"
    delivery.refresh_from_db()
    assert (delivery.recipients_sent, delivery.recipients_failed) == (960, 120)
    assert delivery.recipients_unknown == 120 and delivery.state == "unknown"
