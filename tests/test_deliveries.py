"""The delivery engine: exactly once, or unknown for a person; never a silent duplicate or loss.

Driven through the sandbox webhook (an idempotent channel) with faults injected at the one HTTP
entry point, and a non-idempotent variant of it.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from copps.channels import deliveries, sandbox
from copps.channels.adapters.webhook import WebhookAdapter
from copps.channels.models import Alert, Channel, Delivery, SandboxPost
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput

pytestmark = pytest.mark.django_db


def posts(key=None):
    qs = SandboxPost.objects.filter(service="webhook", payload__event="message.published")
    return qs.filter(idempotency_key=key) if key else qs


def run(rounds=1, now=None):
    for _ in range(rounds):
        deliveries.deliver_due(now)


@pytest.fixture
def hook(make_channel):
    return make_channel("webhook")


@pytest.fixture
def live(make_message, communicator, editor, hook):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def test_it_plans_one_delivery_per_channel_and_language_when_publishing(live, hook):
    (d,) = live.deliveries.all()
    assert (d.channel, d.language, d.operation, d.state) == (hook, "nl", "post", "pending")
    assert "Fietsdiefstallen" in d.payload["text"]
    assert d.payload["link"] == live.permalink("nl")


def test_it_sends_exactly_once(live):
    run(3)
    d = live.deliveries.get()
    assert d.state == "sent" and d.attempts == 1 and d.external_id == d.key
    assert posts().count() == 1
    assert list(d.events.values_list("to_state", flat=True)) == ["pending", "sending", "sent"]


def test_it_skips_channels_of_other_languages(make_channel, make_message, communicator, editor):
    make_channel("webhook", slug="fr-hook", language="fr")
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    assert not message.deliveries.exists()


def test_a_channel_for_another_audience_is_left_out(
    make_channel, make_message, communicator, editor
):
    from copps.newsroom.models import Audience

    youth = Audience.objects.create(name="Youth", slug="youth")
    seniors = Audience.objects.create(name="Seniors", slug="seniors")
    make_channel("webhook", slug="youth-hook", audiences=[youth])
    everyone = make_channel("webhook", slug="all-hook")
    message = make_message(communicator, audiences=[seniors])
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    assert [d.channel for d in message.deliveries.all()] == [everyone]


def test_an_unanswered_call_is_retried_with_the_same_key_on_an_idempotent_channel(live):
    sandbox.inject("webhook", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "ReadTimeout" in d.last_error
    assert posts().count() == 1  # the receiver got it; we did not hear back
    run(now=timezone.now() + timedelta(hours=2))
    d.refresh_from_db()
    assert d.state == "sent" and d.attempts == 2
    assert posts().count() == 1  # same Idempotency-Key: no duplicate


def test_an_unanswered_call_on_a_channel_without_idempotency_becomes_unknown(live, monkeypatch):
    monkeypatch.setattr(WebhookAdapter, "idempotent", False)
    sandbox.inject("webhook", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown"
    run(3, now=timezone.now() + timedelta(hours=2))
    d.refresh_from_db()
    assert d.state == "unknown" and d.attempts == 1  # never retried blindly


def test_a_refused_connection_is_retried_with_backoff(live):
    sandbox.inject("webhook", "refuse")
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and d.next_attempt_at > timezone.now() + timedelta(seconds=20)
    run()  # not due yet
    assert Delivery.objects.get(pk=d.pk).attempts == 1
    run(now=timezone.now() + timedelta(minutes=5))
    assert Delivery.objects.get(pk=d.pk).state == "sent"


def test_it_honours_retry_after(live, monkeypatch):
    import httpx

    def too_many(request):
        return httpx.Response(429, headers={"Retry-After": "600"}, json={"error": "slow down"})

    monkeypatch.setitem(sandbox.SERVICES, "webhook", too_many)
    from copps.lib import http

    with http.fake(too_many):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    assert d.next_attempt_at > timezone.now() + timedelta(seconds=590)


def test_a_permanent_refusal_is_not_retried(live):
    sandbox.inject("webhook", 422)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent and d.next_attempt_at is None
    run(now=timezone.now() + timedelta(days=1))
    assert Delivery.objects.get(pk=d.pk).attempts == 1


def test_revoked_credentials_disable_the_channel_and_alert(live, hook, make_channel):
    sandbox.inject("webhook", 401)
    run()
    hook.refresh_from_db()
    assert hook.status == "disabled"
    assert Alert.objects.filter(channel=hook).exists()


def test_repeated_failures_pause_the_channel_and_others_keep_delivering(
    make_message, communicator, editor, hook, settings
):
    settings.COPPS_CHANNEL_FAILURE_THRESHOLD = 3
    for i in range(3):
        m = make_message(communicator, title=f"Bericht {i}")
        actions.submit_message(m, by=communicator)
        actions.approve_message(m, by=editor)
    sandbox.inject("webhook", 503, 503, 503)
    Channel.objects.update(next_slot_at=None)
    for _ in range(3):
        run()
        Channel.objects.update(next_slot_at=None)
    hook.refresh_from_db()
    assert hook.status == "paused" and hook.paused_until > timezone.now()
    assert Alert.objects.filter(channel=hook, text__contains="paused").exists()


def test_a_worker_that_died_while_sending_is_swept(live, monkeypatch):
    d = live.deliveries.get()
    assert deliveries.claim(d)
    later = timezone.now() + timedelta(minutes=10)
    assert deliveries.sweep(later) == 1
    d.refresh_from_db()
    assert d.state == "pending"  # idempotent: retried with the same key
    monkeypatch.setattr(WebhookAdapter, "idempotent", False)
    assert deliveries.claim(d)
    deliveries.sweep(later + timedelta(minutes=10))
    d.refresh_from_db()
    assert d.state == "unknown"


def test_retracting_before_it_went_out_cancels_everything(live, editor):
    actions.retract_message(live, by=editor, reason="wrong street")
    run(now=timezone.now() + timedelta(hours=1))
    assert live.deliveries.get(operation="post").state == "cancelled"
    assert posts().count() == 0


def test_retracting_after_it_went_out_deletes_the_post(live, editor):
    run()
    actions.retract_message(live, by=editor, reason="wrong street")
    run()
    delete = live.deliveries.get(operation="delete")
    assert delete.state == "sent"
    assert posts().get().deleted_at is not None


def test_an_approved_correction_edits_the_post(live, communicator, editor):
    run()
    correction = actions.propose_correction(
        live,
        by=communicator,
        note="Het was het Zuidstation.",
        versions=[VersionInput("nl", "Fietsdiefstallen aan het Zuidstation", "Sluit je fiets op.")],
    )
    actions.approve_correction(correction, by=editor)
    run()
    update = live.deliveries.get(operation="update")
    assert update.state == "sent" and "Zuidstation" in update.payload["text"]
    assert "Zuidstation" in posts().get().text


def test_a_person_resolves_an_unknown_outcome(live, editor, monkeypatch):
    monkeypatch.setattr(WebhookAdapter, "idempotent", False)
    sandbox.inject("webhook", "timeout")
    run()
    d = live.deliveries.get()
    assert deliveries.mark_sent(d, by=editor, url="https://example.org/p/1")
    d.refresh_from_db()
    assert d.state == "sent" and d.resolved_by == editor.username
    assert not deliveries.send_again(d, by=editor)  # sent is final


def test_the_api_lists_deliveries(live, editor, client):
    from copps.accounts.models import ApiToken

    run()
    _token, secret = ApiToken.issue(editor, name="t")
    response = client.get(
        f"/api/v1/messages/{live.pk}/deliveries", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    (entry,) = response.json()
    assert {k: entry[k] for k in ("channel", "kind", "state", "attempts", "last_error")} == {
        "channel": "webhook-nl",
        "kind": "webhook",
        "state": "sent",
        "attempts": 1,
        "last_error": "",
    }
    assert entry["external_id"]


def test_a_message_without_a_channel_list_goes_to_the_channels_serving_its_language(
    make_message, communicator, hook
):
    message = make_message(communicator)
    assert message.channels == ["web", "rss", "webhook"]


def test_calls_are_spaced_by_the_channels_rate_limit_after_a_burst(
    make_message, communicator, editor, hook, settings
):
    settings.COPPS_CHANNEL_RATE_LIMIT = True
    hook.config = {"rate_per_minute": 1}  # one a minute, a burst of five
    hook.save()
    for i in range(7):
        m = make_message(communicator, title=f"Bericht {i}")
        actions.submit_message(m, by=communicator)
        actions.approve_message(m, by=editor)
    run()
    assert Delivery.objects.filter(state="sent").count() == 5
    run()
    assert Delivery.objects.filter(state="sent").count() == 5  # the next slot is a minute away
    # A minute later one more slot is free (the burst is not refilled at once).
    Channel.objects.update(next_slot_at=timezone.now() + timedelta(minutes=4))
    run()
    assert Delivery.objects.filter(state="sent").count() == 6


def test_credentials_are_encrypted_at_rest_and_survive_a_secret_key_rotation(
    make_channel, settings
):
    from copps.channels import crypto

    channel = make_channel("webhook", secrets={"signing_secret": "very-secret-signing-key"})
    raw = Channel.objects.filter(pk=channel.pk).values_list("secrets_encrypted", flat=True)[0]
    assert "very-secret" not in raw
    settings.COPPS_SECRETS_KEY = crypto.derived_key()
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert Channel.objects.get(pk=channel.pk).get_secrets() == {
        "signing_secret": "very-secret-signing-key"
    }


def test_the_sweeper_spares_a_slow_worker_that_is_still_alive(live, monkeypatch):
    from copps.worker.models import Heartbeat

    monkeypatch.setattr(deliveries, "WORKER_ID", "worker-a")
    d = live.deliveries.get()
    assert deliveries.claim(d)
    later = timezone.now() + timedelta(minutes=10)
    Heartbeat.objects.create(worker_id="worker-a", started_at=timezone.now(), alive_at=later)
    monkeypatch.setattr(deliveries, "WORKER_ID", "worker-b")  # another worker sweeps
    assert deliveries.sweep(later) == 0  # alive: still in its call, maybe waiting for a lock
    Heartbeat.objects.filter(worker_id="worker-a").update(
        alive_at=timezone.now(), seen_at=timezone.now()
    )
    assert deliveries.sweep(later) == 1  # it stopped saying it is alive: it died


def test_a_row_a_live_worker_left_behind_itself_is_swept(live, monkeypatch):
    """An error after the claim (the database locked while recording) orphans the row, though
    its worker lives on: the worker's own sweep takes it."""
    from copps.worker.models import Heartbeat

    monkeypatch.setattr(deliveries, "WORKER_ID", "worker-a")
    d = live.deliveries.get()
    assert deliveries.claim(d)
    later = timezone.now() + timedelta(minutes=10)
    Heartbeat.objects.create(worker_id="worker-a", started_at=timezone.now(), alive_at=later)
    assert deliveries.sweep(later) == 1


def test_a_scheduled_message_taken_back_before_its_time_sends_nothing(
    make_message, communicator, editor, hook
):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor, publish_at=timezone.now() + timedelta(hours=1))
    actions.unschedule_message(message, by=editor)
    actions.publish_due(timezone.now() + timedelta(hours=2))
    run(now=timezone.now() + timedelta(hours=2))
    assert not message.deliveries.exists() and posts().count() == 0
    # Scheduled again and published on time: it goes out once.
    actions.schedule_message(message, by=editor, publish_at=timezone.now() + timedelta(minutes=5))
    actions.publish_due(timezone.now() + timedelta(minutes=10))
    run()
    assert message.deliveries.get().state == "sent" and posts().count() == 1


def test_a_post_url_from_a_hostile_answer_is_kept_only_if_it_is_http(live):
    import httpx

    from copps.lib import http

    def evil(request):
        return httpx.Response(200, json={"id": "1", "url": "javascript:alert(1)"})

    with http.fake(evil):
        run()
    d = live.deliveries.get()
    assert d.state == "sent" and d.url == ""


def test_reconcile_never_moves_a_row_someone_else_is_sending(live, monkeypatch):
    monkeypatch.setattr(WebhookAdapter, "idempotent", False)
    monkeypatch.setattr(WebhookAdapter, "can_find", True)
    sandbox.inject("webhook", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown"

    def slow_find(self, delivery):
        # Meanwhile a person sends it again and a worker claims it.
        Delivery.objects.filter(pk=delivery.pk).update(state="sending")
        return None

    monkeypatch.setattr(WebhookAdapter, "find", slow_find)
    deliveries.reconcile(timezone.now() + timedelta(minutes=5))
    assert Delivery.objects.get(pk=d.pk).state == "sending"  # not pushed back to pending


def test_a_post_unknown_when_retracted_is_not_sent_again(live, editor, monkeypatch):
    monkeypatch.setattr(WebhookAdapter, "idempotent", False)
    monkeypatch.setattr(WebhookAdapter, "can_find", True)
    monkeypatch.setattr(WebhookAdapter, "find", lambda self, delivery: None)
    sandbox.inject("webhook", "timeout")
    run()
    SandboxPost.objects.all().delete()  # it did not arrive after all
    actions.retract_message(live, by=editor, reason="wrong street")
    deliveries.reconcile(timezone.now() + timedelta(minutes=5))
    run(3, now=timezone.now() + timedelta(hours=1))
    assert live.deliveries.get(operation="post").state == "cancelled"
    assert not posts().exists()


def test_one_row_that_cannot_be_processed_does_not_stop_the_others(
    make_message, communicator, editor, hook, make_channel
):
    broken = make_channel("webhook", slug="broken")
    for i in range(2):
        m = make_message(communicator, title=f"Bericht {i}")
        actions.submit_message(m, by=communicator)
        actions.approve_message(m, by=editor)
    Channel.objects.filter(pk=broken.pk).update(kind="no-such-kind")
    run()
    assert Delivery.objects.filter(channel=hook, state="sent").count() == 2
