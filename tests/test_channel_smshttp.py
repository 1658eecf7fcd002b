"""SMS through a generic HTTP gateway: the sandbox gateway (the demo's) and, for the errors a
real gateway gives, ``copps.lib.http.fake`` at the one HTTP entry point. Plus the report and
inbound endpoints, every rejection through the real endpoint.
"""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from copps.audit.models import AuditRecord
from copps.channels import deliveries, sandbox, sms_inbound
from copps.channels.adapters.smshttp import HttpSmsAdapter
from copps.channels.base import ChannelError
from copps.channels.models import ChannelStatus, Delivery, Recipient, SandboxPost, Subscription
from copps.lib import http
from copps.newsroom import actions

pytestmark = pytest.mark.django_db

NUMBERS = ["+32470000001", "+32470000002", "+32470000003"]
TOKEN = "inbound-token-for-the-tests-0123456789"
GATEWAY = "https://sms.gateway.test/v1/messages"


def subscribe(number, language="nl"):
    return Subscription.objects.create(
        medium="sms", address=number, language=language, state="active", secret="s" * 32
    )


@pytest.fixture
def sandbox_channel(make_channel):
    return make_channel(
        "sms_http", slug="sms-sandbox", config={"sender": "POLITIE"}, secrets={"api_key": "k"}
    )


@pytest.fixture
def real_channel(make_channel):
    """A gateway without deduplication, answered by http.fake in the tests (one request at a
    time: http.fake intercepts the calling thread only)."""

    def make(dedupe=False, slug="sms-gw"):
        return make_channel(
            "sms_http",
            slug=slug,
            sandbox=False,
            config={
                "url": GATEWAY,
                "sender": "POLITIE",
                "dedupe_reference": dedupe,
                "concurrency": 1,
            },
            secrets={"api_key": "gw-key"},
        )

    return make


@pytest.fixture
def alert(make_message, communicator, editor):
    def publish():
        message = make_message(communicator)
        actions.submit_message(message, by=communicator)
        actions.approve_message(message, by=editor)
        return message

    return publish


def deliver():
    """One worker round, an hour after the previous one (retried copies wait for their backoff)."""
    later = timezone.now() + timedelta(hours=1)
    deliveries.deliver_due(later)
    deliveries.deliver_recipients(later, limit_seconds=3)


def copies(channel):
    return Recipient.objects.filter(delivery__channel=channel).order_by("pk")


# The sandbox gateway --------------------------------------------------------------------------


def test_it_sends_each_subscriber_one_copy_to_the_sandbox_without_keeping_numbers(
    sandbox_channel, alert
):
    for number in NUMBERS:
        subscribe(number)
    message = alert()
    deliver()
    delivery = Delivery.objects.get(message=message, channel=sandbox_channel)
    assert (delivery.state, delivery.recipients_sent) == ("sent", 3)
    posts = SandboxPost.objects.filter(service="sms")
    assert posts.count() == 3
    assert sorted(posts.values_list("account", flat=True)) == [
        "•" * 9 + "001",
        "•" * 9 + "002",
        "•" * 9 + "003",
    ]
    for post in posts:
        assert post.text == delivery.payload["text"]
        assert "+3247" not in json.dumps(post.payload)
    by_id = dict(posts.values_list("external_id", "idempotency_key"))
    for copy in copies(sandbox_channel):
        assert by_id[copy.external_id] == sms_inbound.reference_for(copy.pk)


def test_it_does_not_duplicate_a_copy_whose_answer_was_lost_when_the_gateway_dedupes(
    sandbox_channel, alert
):
    for number in NUMBERS:
        subscribe(number)
    sandbox.inject("sms", "timeout")  # the gateway takes the first copy; its answer is lost
    alert()
    deliver()
    assert SandboxPost.objects.filter(service="sms").count() == 3
    assert list(copies(sandbox_channel).values_list("state", flat=True)) == ["sent"] * 3
    assert copies(sandbox_channel).first().attempts == 2  # retried with the same reference


def test_it_answers_a_repeated_reference_with_the_same_id():
    request = {"to": "+32470000001", "text": "Code: 123456", "reference": "code-1"}
    headers = {"Authorization": "Bearer k"}
    first = http.request(
        "POST", sandbox.base("sms") + "/v1/messages", json=request, headers=headers
    )
    again = http.request(
        "POST", sandbox.base("sms") + "/v1/messages", json=request, headers=headers
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    bare = http.request("POST", sandbox.base("sms") + "/v1/messages", json=request)
    assert bare.status_code == 401


def test_it_sends_a_transactional_text(sandbox_channel):
    message_id = sandbox_channel.adapter.send_text(
        "+32470000009", "Uw code: 123456", reference="confirm-7"
    )
    post = SandboxPost.objects.get(service="sms", external_id=message_id)
    assert (post.text, post.idempotency_key, post.account) == (
        "Uw code: 123456",
        "confirm-7",
        "•" * 9 + "009",
    )


def test_it_checks_the_sandbox_account(sandbox_channel):
    assert sandbox_channel.adapter.check() == "SMS sandbox"


# A real gateway's errors ----------------------------------------------------------------------


def answer(*responses):
    """A fake gateway giving these answers in turn (then 201s); records what it got."""
    queue = list(responses)
    counter = iter(range(1, 10_000))

    def handle(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if queue else None
        if isinstance(item, type) and issubclass(item, Exception):
            raise item("injected", request=request)
        if isinstance(item, httpx.Response):
            return item
        return httpx.Response(201, json={"id": f"gw-{next(counter)}"})

    return handle


def test_it_flags_a_copy_unknown_when_the_answer_was_lost_and_the_gateway_does_not_dedupe(
    real_channel, alert
):
    channel = real_channel()
    for number in NUMBERS:
        subscribe(number)
    alert()
    with http.fake(answer(httpx.ReadTimeout)) as seen:
        deliver()
    states = list(copies(channel).values_list("state", flat=True))
    assert states.count("unknown") == 1 and states.count("sent") == 2
    # Not resent: three requests for three copies, whatever the worker does next.
    with http.fake(answer()) as later:
        deliver()
    assert len(seen) == 3 and len(later) == 0
    sent = [json.loads(r.content) for r in seen]
    assert {body["reference"] for body in sent} == {
        sms_inbound.reference_for(pk) for pk in copies(channel).values_list("pk", flat=True)
    }
    assert all(r.headers["authorization"] == "Bearer gw-key" for r in seen)
    assert all(body["status_callback"].endswith("/channels/sms/report/") for body in sent)


def test_it_retries_with_the_same_reference_when_the_gateway_dedupes(real_channel, alert):
    channel = real_channel(dedupe=True)
    subscribe(NUMBERS[0])
    alert()
    with http.fake(answer(httpx.ReadTimeout)) as seen:
        deliver()
    assert list(copies(channel).values_list("state", flat=True)) == ["sent"]
    references = [json.loads(r.content)["reference"] for r in seen]
    assert len(references) == 2 and references[0] == references[1]


def test_it_honours_retry_after_and_stops_the_batch_on_429(real_channel, published_message):
    channel = real_channel()
    recipients = [subscribe(n) for n in NUMBERS]
    delivery = deliveries.plan(
        message_id=published_message.pk, channel=channel, language="nl", payload={"text": "Hi"}
    )
    rows = [
        Recipient.objects.create(delivery=delivery, subscription=s, state="sending")
        for s in recipients
    ]
    slow_down = httpx.Response(429, headers={"Retry-After": "30"}, json={"error": "slow down"})
    adapter = channel.adapter
    with http.fake(answer(slow_down)) as seen:
        with pytest.raises(ChannelError) as caught:
            adapter.send_batch(delivery, rows)
    assert caught.value.retry_after == 30 and not caught.value.permanent
    assert not caught.value.maybe_sent and len(seen) == 1

    with http.fake(answer(None, slow_down)) as seen:
        results = adapter.send_batch(delivery, rows)
    assert len(seen) == 2  # the third copy is not tried
    assert isinstance(results[rows[0].pk], str)
    for row in rows[1:]:
        err = results[row.pk]
        assert isinstance(err, ChannelError) and err.retry_after == 30
        assert not err.permanent and not err.maybe_sent


def test_it_disables_the_channel_on_401_and_keeps_the_copies(real_channel, alert):
    channel = real_channel()
    subscribe(NUMBERS[0])
    alert()
    refused = httpx.Response(401, json={"error": "invalid api key"})
    with http.fake(answer(refused, refused)):
        deliver()
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DISABLED
    assert "invalid api key" in channel.status_reason
    assert list(copies(channel).values_list("state", flat=True)) == ["pending"]


def test_it_fails_only_the_copy_the_gateway_refuses(real_channel, alert):
    channel = real_channel()
    for number in NUMBERS:
        subscribe(number)
    alert()
    bad_number = httpx.Response(400, json={"error": "invalid destination"})
    with http.fake(answer(None, bad_number)):
        deliver()
    states = list(copies(channel).values_list("state", flat=True))
    assert states == ["sent", "failed", "sent"]


def test_it_treats_a_success_without_an_id_as_unknown(real_channel, alert):
    channel = real_channel()
    subscribe(NUMBERS[0])
    alert()
    with http.fake(answer(httpx.Response(200, text="<html>ok</html>"))):
        deliver()
    assert list(copies(channel).values_list("state", flat=True)) == ["unknown"]


def test_it_catches_bad_credentials_when_checking(real_channel):
    adapter = real_channel().adapter
    with http.fake(answer(httpx.Response(401, json={"error": "invalid api key"}))):
        with pytest.raises(ChannelError) as caught:
            adapter.check()
    assert caught.value.disable_channel
    with http.fake(lambda request: httpx.Response(200, json={"account": "x"})) as seen:
        assert adapter.check() == GATEWAY
    assert seen[0].method == "GET"


def test_it_validates_the_configuration():
    errors = HttpSmsAdapter.validate_config({"url": "gopher://x", "sender": "+" + "9" * 20}, {})
    assert set(errors) == {"url", "sender", "api_key"}


# Delivery reports from a gateway ------------------------------------------------------------


@pytest.fixture
def copy(make_channel, published_message):
    channel = make_channel("sms_http", slug="sms-report", secrets={"api_key": "k"})
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


def post_report(client, body):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/channels/sms/report/", data, content_type="application/json")


def test_it_records_a_report_posted_by_the_gateway(client, copy):
    reference = sms_inbound.reference_for(copy.pk)
    response = post_report(client, {"reference": reference, "status": "undelivered"})
    assert response.status_code == 200
    copy.refresh_from_db()
    assert (copy.state, copy.report) == ("failed", "failed")
    delivery = Delivery.objects.get(pk=copy.delivery_id)
    assert (delivery.recipients_sent, delivery.recipients_failed) == (0, 1)


def test_it_rejects_a_report_with_a_forged_reference(client, copy):
    forged = f"sms-{copy.pk}-{'0' * 32}"
    other = f"sms-{copy.pk}-{sms_inbound.dlr_mac(copy.pk + 1)}"
    for reference in (forged, other, "sms-1", "anything", ""):
        response = post_report(client, {"reference": reference, "status": "failed"})
        assert response.status_code == 403, reference
    copy.refresh_from_db()
    assert (copy.state, copy.report) == ("sent", "")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe", "[]", {"status": "delivered"}, {"reference": 5, "status": "x"}],
)
def test_it_answers_400_to_a_malformed_report(client, copy, body):
    assert post_report(client, body).status_code == 400


def test_it_answers_400_to_an_unknown_status_and_404_to_an_unknown_copy(client, copy):
    reference = sms_inbound.reference_for(copy.pk)
    assert post_report(client, {"reference": reference, "status": "teleported"}).status_code == 400
    gone = sms_inbound.reference_for(copy.pk + 500)
    assert post_report(client, {"reference": gone, "status": "delivered"}).status_code == 404
    assert post_report(client, b"{" + b" " * 5000 + b"}").status_code == 413
    assert client.get("/channels/sms/report/").status_code == 405


# Inbound texts --------------------------------------------------------------------------------


@pytest.fixture
def inbound(client, settings):
    settings.COPPS_SMS_INBOUND_TOKEN = TOKEN

    def send(sender, text, token=TOKEN, method="get"):
        params = {"from": sender, "to": "4411", "text": text, "token": token}
        return getattr(client, method)("/channels/sms/inbound/", params)

    return send


@pytest.mark.parametrize(
    "keyword", ["STOP", " stop ", "Stop!", "Stop All", "UIT", "stoppen", "ARRET", "Arrêt", "HALT"]
)
def test_it_deletes_the_sms_subscription_of_a_number_that_texts_a_stop_keyword(inbound, keyword):
    subscription = subscribe("+32470123456")
    kept = subscribe("+32470123457")
    response = inbound("0470 12 34 56", keyword)
    assert response.status_code == 200
    assert "geen politieberichten per sms meer" in response.content.decode()  # in nl, as subscribed
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert Subscription.objects.filter(pk=kept.pk).exists()
    record = AuditRecord.objects.get(action="subscription.stop_by_sms")
    assert record.object_id == str(subscription.pk)
    assert "470" not in json.dumps(record.data) + record.reason


@pytest.mark.parametrize("sender", ["+32470123456", "0032470123456", "32470123456"])
def test_it_recognises_the_number_in_every_format_a_gateway_gives(inbound, sender):
    subscribe("+32470123456")
    inbound(sender, "stop", method="post")
    assert not Subscription.objects.exists()


def test_it_cancels_the_copies_not_yet_sent_to_a_number_that_stopped(
    inbound, sandbox_channel, alert
):
    subscribe(NUMBERS[0])
    subscribe(NUMBERS[1])
    alert()
    deliveries.deliver_due()  # the copies are planned, none sent yet
    inbound(NUMBERS[0], "STOP")
    deliveries.deliver_recipients(limit_seconds=3)
    assert SandboxPost.objects.filter(service="sms").count() == 1
    states = sorted(copies(sandbox_channel).values_list("state", flat=True))
    assert states == ["cancelled", "sent"]


def test_it_says_so_when_the_number_has_no_subscription(inbound):
    response = inbound("+32470999999", "STOP")
    assert response.status_code == 200
    assert "no subscription" in response.content.decode()


def test_it_points_other_texts_to_the_emergency_numbers(inbound):
    subscription = subscribe("+32470123456")
    response = inbound("+32470123456", "stop het geluid van de buren")
    assert response.status_code == 200
    body = response.content.decode()
    assert "112" in body and "101" in body
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_it_refuses_a_wrong_token_and_is_off_without_one(inbound, settings):
    subscription = subscribe("+32470123456")
    assert inbound("+32470123456", "STOP", token="guess").status_code == 403
    assert inbound("+32470123456", "STOP", token="").status_code == 403
    settings.COPPS_SMS_INBOUND_TOKEN = ""
    assert inbound("+32470123456", "STOP", token="").status_code == 404
    assert Subscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.parametrize(
    "sender, text",
    [
        ("", "STOP"),
        ("x" * 200, "STOP"),
        ("not a number", "STOP"),
        ("+32470123456", "\x00STOP\x00"),
        ("\x00", "\x00"),
        ("+999999999999999999", "arrêt" * 1000),
        ("+32470123456", ""),
    ],
)
def test_it_never_fails_on_garbage_inbound(inbound, sender, text):
    response = inbound(sender, text)
    assert response.status_code in (200, 400)


def test_it_never_fails_on_garbage_encodings(client, settings):
    settings.COPPS_SMS_INBOUND_TOKEN = TOKEN
    query = f"token={TOKEN}&from=%FF%FE&text=%C3%28%00&to=%ZZ"
    response = client.get("/channels/sms/inbound/?" + query)
    assert response.status_code in (200, 400)
    assert client.put("/channels/sms/inbound/").status_code == 405


def test_it_counts_a_copy_failed_when_its_rejection_arrives_before_the_batch_is_over(
    real_channel, alert
):
    channel = real_channel()
    subscribe(NUMBERS[0])
    alert()

    def gateway_that_reports_at_once(request: httpx.Request) -> httpx.Response:
        reference = json.loads(request.content)["reference"]
        # The SMSC rejects it instantly: the report comes in while copps is still sending.
        sms_inbound.apply_report(sms_inbound.recipient_id_for_reference(reference), "rejected")
        return httpx.Response(201, json={"id": "gw-1"})

    with http.fake(gateway_that_reports_at_once):
        deliver()
    copy = copies(channel).get()
    assert (copy.state, copy.report) == ("failed", "rejected")
    delivery = Delivery.objects.get(pk=copy.delivery_id)
    assert (delivery.state, delivery.recipients_failed) == ("failed", 1)


def test_a_report_with_a_non_ascii_mac_is_refused_not_a_crash(client):
    response = client.get("/channels/sms/dlr/1/%C3%A9/?status=1")
    assert response.status_code in (403, 404)
