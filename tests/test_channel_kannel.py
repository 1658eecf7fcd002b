"""SMS through a real Kannel (bearerbox + smsbox + fakesmsc on loopback, tests/support_kannel.py).

The copps app runs as a live server so that Kannel's delivery reports (dlr-url) and inbound
texts (sms-service get-url) really come back over HTTP. Kannel is started once per module. The
DLR endpoint's rejections are tested through the endpoint itself, without Kannel.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from django.db import OperationalError
from django.utils import timezone

from copps.channels import deliveries, sms_inbound
from copps.channels.adapters.kannel import KannelAdapter
from copps.channels.base import ChannelError
from copps.channels.models import ChannelStatus, Delivery, Recipient, Subscription
from copps.lib import http
from copps.newsroom import actions
from tests import support_kannel
from tests.conftest import require_component

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "inbound-token-for-the-tests-0123456789"
NUMBERS = ["+32470000001", "+32470000002", "+32470000003"]


@pytest.fixture(scope="module")
def kannel(live_server, tmp_path_factory):
    require_component(support_kannel.available(), "Kannel (bearerbox, smsbox, fakesmsc)")
    get_url = f"{live_server.url}/channels/sms/inbound/?from=%p&to=%P&text=%a&token={TOKEN}"
    k = support_kannel.Kannel(tmp_path_factory.mktemp("kannel"), get_url=get_url).start()
    yield k
    k.stop()


@pytest.fixture(scope="module")
def gate(live_server):
    relay = support_kannel.Gate(live_server.url)
    yield relay
    relay.stop()


@pytest.fixture
def site(settings, live_server, gate):
    """Kannel's delivery reports reach copps through the gate (see support_kannel.Gate)."""
    settings.SITE_URL = gate.url
    settings.COPPS_SMS_INBOUND_TOKEN = TOKEN
    gate.open()
    return live_server


@pytest.fixture
def sms_channel(make_channel, kannel, site):
    def make(password=None, slug="kannel-nl"):
        return make_channel(
            "sms_kannel",
            slug=slug,
            sandbox=False,
            config={
                "sendsms_url": kannel.sendsms_url,
                "username": kannel.username,
                "sender": "POLITIE",
            },
            secrets={"password": password or kannel.password},
        )

    return make


def subscribe(number, language="nl"):
    return Subscription.objects.create(
        medium="sms", address=number, language=language, state="active", secret="s" * 32
    )


def publish(make_message, communicator, editor, **kwargs):
    message = make_message(communicator, **kwargs)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def wait_for(condition, timeout=45.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OperationalError:  # SQLite in memory: the live server is writing this instant
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def deliver(gate):
    """Run the engine with Kannel's callbacks held, then let them through."""
    gate.close()
    try:
        deliveries.deliver_due()
        deliveries.deliver_recipients(limit_seconds=5)
    finally:
        gate.open()


def new_messages(kannel, before, count):
    return kannel.wait_received(before + count)[before:]


# Through Kannel --------------------------------------------------------------------------------


def test_it_sends_each_subscriber_one_copy_and_takes_the_delivery_reports_back(
    kannel, gate, sms_channel, make_message, communicator, editor
):
    channel = sms_channel()
    for number in NUMBERS:
        subscribe(number)
    before = len(kannel.received())
    message = publish(make_message, communicator, editor)
    start = gate.forwarded
    gate.close()
    deliveries.deliver_due()
    deliveries.deliver_recipients(limit_seconds=5)

    got = new_messages(kannel, before, 3)
    delivery = Delivery.objects.get(message=message, channel=channel)
    text = delivery.payload["text"]
    assert sorted(to for _sender, to, _text in got) == NUMBERS
    assert {(sender, body) for sender, _to, body in got} == {("POLITIE", text)}
    assert (delivery.state, delivery.recipients_sent) == ("sent", 3)
    gate.open()

    # fakesmsc acknowledges each copy; Kannel calls our dlr-url, which records the report.
    # Two reports per copy (submitted, then delivered); the database is read only once they
    # are all through (the live server shares this thread's in-memory SQLite connection).
    gate.wait_forwarded(start + 6, timeout=45)
    wait_for(
        lambda: Recipient.objects.filter(delivery=delivery, report="delivered").count() == 3,
        what=f"delivery reports\n{kannel.logs()}",
    )
    ids = set(Recipient.objects.filter(delivery=delivery).values_list("pk", "external_id"))
    assert ids == {(pk, sms_inbound.reference_for(pk)) for pk, _ext in ids}
    assert len(kannel.received()) == before + 3  # exactly once each


def test_it_sends_text_outside_gsm7_as_ucs2_and_it_arrives_intact(kannel, sms_channel):
    adapter = KannelAdapter(sms_channel())
    text = "Politie: verdachte situatie in de Rue de l'Église — 🚨 Ωμέγα, ИНФО"
    before = len(kannel.received())
    reference = adapter.send_text("+32470000009", text, reference="code-1")
    adapter.send_text("+32470000009", "Code: 123456", reference="code-2")
    (first, second) = new_messages(kannel, before, 2)
    assert reference == "code-1"
    assert first == ("POLITIE", "+32470000009", text)
    assert second == ("POLITIE", "+32470000009", "Code: 123456")


def test_it_tells_good_from_bad_credentials_without_sending_anything(kannel, sms_channel):
    before = len(kannel.received())
    good = KannelAdapter(sms_channel())
    assert kannel.username in good.check()
    bad = KannelAdapter(sms_channel(password="wrong-password", slug="kannel-bad"))
    with pytest.raises(ChannelError) as caught:
        bad.check()
    assert caught.value.disable_channel and "Authorization failed" in str(caught.value)
    time.sleep(0.3)
    assert len(kannel.received()) == before


def test_it_disables_the_channel_when_kannel_refuses_the_password_at_send_time(
    kannel, gate, sms_channel, make_message, communicator, editor
):
    channel = sms_channel(password="revoked-password")
    subscribe(NUMBERS[0])
    before = len(kannel.received())
    publish(make_message, communicator, editor)
    deliver(gate)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DISABLED
    assert "Authorization failed" in channel.status_reason
    assert len(kannel.received()) == before
    # The copies wait for an administrator to fix the password; none is lost.
    copies = Recipient.objects.filter(delivery__channel=channel)
    assert list(copies.values_list("state", flat=True)) == ["pending"]


def test_it_keeps_the_copies_while_kannel_is_down_and_sends_them_once_it_is_back(
    kannel, gate, sms_channel, make_message, communicator, editor
):
    channel = sms_channel()
    for number in NUMBERS:
        subscribe(number)
    before = len(kannel.received())
    message = publish(make_message, communicator, editor)
    kannel.stop_smsbox()
    gate.close()
    try:
        deliveries.deliver_due()
        deliveries.deliver_recipients(limit_seconds=1)
        copies = Recipient.objects.filter(delivery__channel=channel)
        assert sorted(copies.values_list("state", flat=True)) == ["pending"] * 3
        assert "Connect" in copies.first().last_error
    finally:
        kannel.start_smsbox()
    deliveries.deliver_recipients(timezone.now() + timedelta(hours=1), limit_seconds=5)
    got = new_messages(kannel, before, 3)
    assert sorted(to for _s, to, _t in got) == NUMBERS
    delivery = Delivery.objects.get(message=message, channel=channel)
    assert (delivery.state, delivery.recipients_sent) == ("sent", 3)
    sent = gate.forwarded
    gate.open()
    gate.wait_forwarded(sent + 6)  # two reports per copy: submitted, then delivered


def test_it_unsubscribes_a_number_that_texts_stop_and_replies(kannel, site):
    subscribe("+32470000042", language="nl")
    other = subscribe("+32470000043")
    before = len(kannel.received())
    kannel.send_mo("+32470000042", "4411", "  Stop ")
    (reply,) = new_messages(kannel, before, 1)
    assert reply[0] == "4411" and reply[1] == "+32470000042"
    assert "geen politieberichten per sms meer" in reply[2]  # in the subscriber's language
    assert not Subscription.objects.filter(address="+32470000042").exists()
    assert Subscription.objects.filter(pk=other.pk).exists()


def test_it_answers_other_texts_with_the_emergency_numbers(kannel, site):
    before = len(kannel.received())
    kannel.send_mo("+32470000044", "4411", "Er is ingebroken bij mijn buren")
    (reply,) = new_messages(kannel, before, 1)
    assert reply[1] == "+32470000044" and "112" in reply[2] and "101" in reply[2]


# The DLR endpoint's rules (without Kannel) ----------------------------------------------------


@pytest.fixture
def copy(make_channel, published_message):
    channel = make_channel("sms_kannel", slug="kannel-dlr", sandbox=False, secrets={})
    delivery = deliveries.plan(
        message_id=published_message.pk,
        channel=channel,
        language="nl",
        payload={"text": "x"},
        state="sent",
    )
    Delivery.objects.filter(pk=delivery.pk).update(recipients_total=1, recipients_sent=1)
    return Recipient.objects.create(
        delivery=delivery, subscription=subscribe("+32470000077"), state="sent"
    )


def dlr_path(recipient_id, mac=None):
    return f"/channels/sms/dlr/{recipient_id}/{mac or sms_inbound.dlr_mac(recipient_id)}/"


def test_it_records_a_final_failure_report_and_counts_the_copy_failed(client, copy):
    response = client.get(dlr_path(copy.pk), {"status": "16", "reply": "NACK/0x0000000b"})
    assert response.status_code == 200 and response.content == b"OK"
    copy.refresh_from_db()
    assert (copy.state, copy.report) == ("failed", "rejected")
    assert "rejected" in copy.last_error
    delivery = Delivery.objects.get(pk=copy.delivery_id)
    assert (delivery.recipients_sent, delivery.recipients_failed) == (0, 1)


def test_it_keeps_a_final_report_when_an_intermediate_one_arrives_late(client, copy):
    client.get(dlr_path(copy.pk), {"status": "1"})
    client.get(dlr_path(copy.pk), {"status": "8"})
    copy.refresh_from_db()
    assert (copy.state, copy.report) == ("sent", "delivered")


def test_it_settles_an_unknown_copy_when_its_report_arrives(client, copy):
    Recipient.objects.filter(pk=copy.pk).update(state="unknown")
    client.get(dlr_path(copy.pk), {"status": "8"})
    copy.refresh_from_db()
    assert (copy.state, copy.report) == ("sent", "submitted")


def test_it_rejects_a_report_with_a_forged_mac(client, copy):
    response = client.get(dlr_path(copy.pk, "0" * 32), {"status": "2"})
    assert response.status_code == 403
    response = client.get(dlr_path(copy.pk + 1, sms_inbound.dlr_mac(copy.pk)), {"status": "2"})
    assert response.status_code == 403
    copy.refresh_from_db()
    assert (copy.state, copy.report) == ("sent", "")


def test_it_answers_404_for_an_unknown_copy_and_400_for_a_garbage_status(client, copy):
    assert client.get(dlr_path(copy.pk + 1000), {"status": "1"}).status_code == 404
    for status in ("", "abc", "3", "99999999999999999999999"):
        assert client.get(dlr_path(copy.pk), {"status": status}).status_code == 400
    huge = 10**30
    assert client.get(dlr_path(huge, "a" * 32), {"status": "1"}).status_code == 403
    assert client.post(dlr_path(copy.pk), {"status": "1"}).status_code == 405


def test_it_never_sends_without_text(make_channel, published_message):
    channel = make_channel("sms_kannel", slug="kannel-empty", sandbox=False, secrets={})
    delivery = deliveries.plan(
        message_id=published_message.pk, channel=channel, language="nl", payload={"text": ""}
    )
    with pytest.raises(ChannelError) as caught:
        KannelAdapter(channel).send_batch(delivery, [])
    assert caught.value.permanent


@pytest.fixture
def faked_kannel(make_channel, published_message):
    """A Kannel channel answered by http.fake (one request at a time: the fake is per thread)."""
    channel = make_channel(
        "sms_kannel",
        slug="kannel-fake",
        sandbox=False,
        config={
            "sendsms_url": "http://kannel.test:13013/cgi-bin/sendsms",
            "username": "copps",
            "sender": "POLITIE",
            "concurrency": 1,
        },
        secrets={"password": "p"},
    )
    delivery = deliveries.plan(
        message_id=published_message.pk, channel=channel, language="nl", payload={"text": "Hi"}
    )
    rows = [
        Recipient.objects.create(delivery=delivery, subscription=subscribe(n), state="sending")
        for n in NUMBERS
    ]
    return channel.adapter, delivery, rows


def kannel_answers(*answers):
    queue = list(answers)

    def handle(request):
        item = queue.pop(0) if queue else (202, "0: Accepted for delivery")
        if isinstance(item, type):
            raise item("injected", request=request)
        return httpx.Response(item[0], text=item[1])

    return handle


def test_it_reads_each_kannel_answer_for_what_it_means(faked_kannel):
    adapter, delivery, rows = faked_kannel
    answers = kannel_answers(
        (503, "Sent. Message queued for later delivery"),
        (403, "Not routable. Do not try again."),
        (200, "Sent."),
    )
    with http.fake(answers) as seen:
        results = adapter.send_batch(delivery, rows)
    assert results[rows[0].pk] == sms_inbound.reference_for(rows[0].pk)
    refused = results[rows[1].pk]
    assert isinstance(refused, ChannelError) and refused.permanent
    assert not refused.disable_channel
    assert results[rows[2].pk] == sms_inbound.reference_for(rows[2].pk)
    first = seen[0]
    assert first.method == "POST" and "password" not in str(first.url)
    assert first.headers["x-kannel-to"] == NUMBERS[0]
    assert first.headers["x-kannel-coding"] == "0" and first.headers["x-kannel-dlr-mask"] == "31"
    assert first.headers["x-kannel-dlr-url"] == sms_inbound.dlr_url(rows[0].pk)
    assert first.content == b"Hi"


def test_it_flags_a_copy_unknown_on_a_read_timeout_and_sends_no_more_of_the_batch(faked_kannel):
    adapter, delivery, rows = faked_kannel
    with http.fake(kannel_answers((202, "0: Accepted for delivery"), httpx.ReadTimeout)) as seen:
        results = adapter.send_batch(delivery, rows)
    assert len(seen) == 2
    assert isinstance(results[rows[0].pk], str)
    assert results[rows[1].pk].maybe_sent
    assert not results[rows[2].pk].maybe_sent and not results[rows[2].pk].permanent


def test_it_refuses_to_send_from_a_sandbox_kannel_channel(make_channel):
    channel = make_channel("sms_kannel", slug="kannel-sandbox", sandbox=True, secrets={})
    with http.fake(kannel_answers()) as seen, pytest.raises(ChannelError) as caught:
        channel.adapter.send_text("+32470000001", "x", reference="r")
    assert caught.value.permanent and not seen


def test_it_validates_the_configuration():
    errors = KannelAdapter.validate_config(
        {"sendsms_url": "ftp://kannel", "username": "u", "sender": "A name far too long"},
        {"password": ""},
    )
    assert set(errors) == {"sendsms_url", "sender", "password"}
    assert not KannelAdapter.validate_config(
        {"sendsms_url": "http://10.0.0.5:13013/cgi-bin/sendsms", "username": "u", "sender": "POL"},
        {"password": "p"},
    )
