"""Mastodon channel: through the real delivery engine against the sandbox Mastodon server
(answering at the one HTTP entry point like Mastodon 4.x)."""

import io
from datetime import timedelta

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from copps.channels import deliveries, sandbox
from copps.channels.adapters.mastodon import MastodonAdapter, html_to_text
from copps.channels.base import ChannelError
from copps.channels.fakes import mastodon as fake
from copps.channels.models import SandboxPost
from copps.lib import http
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def channel(make_channel):
    return make_channel(
        "mastodon",
        config={"instance_url": "https://social.example"},
        secrets={"access_token": "token-1"},
    )


def statuses():
    return SandboxPost.objects.filter(service="mastodon")


def run(now=None):
    deliveries.deliver_due(now)


def later(minutes=120):
    return timezone.now() + timedelta(minutes=minutes)


def png(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "navy").save(out, "PNG")
    return out.getvalue()


def publish(make_message, communicator, editor, *, image_alt=None, **kwargs):
    message = make_message(communicator, **kwargs)
    if image_alt:
        actions.add_image(
            message,
            by=communicator,
            upload=SimpleUploadedFile("p.png", png(), content_type="image/png"),
            alt_text=image_alt,
        )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


@pytest.fixture
def live(make_message, communicator, editor, channel):
    return publish(make_message, communicator, editor)


def test_it_posts_the_rendition_as_a_public_status_in_the_channels_language(live):
    run()
    d = live.deliveries.get()
    assert d.state == "sent" and d.attempts == 1
    status = statuses().get()
    assert d.external_id == status.external_id
    assert d.url == f"https://mastodon.sandbox.invalid/@sandbox_police/{status.external_id}"
    assert status.payload["visibility"] == "public" and status.payload["language"] == "nl"
    assert status.text == d.payload["text"] and "Fietsdiefstallen" in status.text
    assert status.idempotency_key == d.key
    assert html_to_text(status.payload["content"]).startswith("Fietsdiefstallen aan het station")


def test_the_status_html_is_read_back_as_the_text_that_was_sent():
    text = "Let op <script> & co\n\nMeer: https://politie.example/nl/m/1 nu"
    assert html_to_text(fake.render_content(text)) == text


def test_an_approved_correction_edits_the_status(live, communicator, editor):
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
    assert update.state == "sent"
    status = statuses().get()
    assert "Zuidstation" in status.text and status.edited_at is not None
    assert status.payload["edited_at"] and "Zuidstation" in status.payload["content"]
    assert update.external_id == status.external_id


def test_retracting_deletes_the_status(live, editor):
    run()
    actions.retract_message(live, by=editor, reason="wrong street")
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert statuses().get().deleted_at is not None


def test_a_status_that_is_already_gone_counts_as_deleted(live, editor):
    run()
    statuses().update(deleted_at=timezone.now())  # removed by hand on the instance
    actions.retract_message(live, by=editor, reason="wrong street")
    run()
    assert live.deliveries.get(operation="delete").state == "sent"


def test_check_names_the_account_and_its_instance(channel):
    assert channel.adapter.check() == "@sandbox_police on mastodon.sandbox.invalid"


def test_check_says_which_scopes_a_token_lacks(channel):
    def read_only(request):
        if request.url.path == "/api/v1/apps/verify_credentials":
            return httpx.Response(200, json={"name": "copps", "scopes": ["read", "write:media"]})
        return fake.handle(request)

    with http.fake(read_only), pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert str(caught.value) == "the access token lacks the scopes write:statuses"


def test_check_accepts_a_server_that_does_not_tell_the_scopes(channel):
    def older(request):
        if request.url.path == "/api/v1/apps/verify_credentials":
            return httpx.Response(200, json={"name": "copps", "website": None})
        return fake.handle(request)

    with http.fake(older):
        assert channel.adapter.check().startswith("@sandbox_police")


def test_check_with_a_revoked_token_fails_as_mastodon_answers(make_channel):
    channel = make_channel("mastodon", slug="bad", secrets={"access_token": "revoked"})
    with pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert caught.value.disable_channel and "The access token is invalid" in str(caught.value)


def test_a_revoked_token_at_publish_time_disables_the_channel(
    make_channel, make_message, communicator, editor
):
    channel = make_channel("mastodon", secrets={"access_token": "revoked"})
    message = publish(make_message, communicator, editor)
    run()
    channel.refresh_from_db()
    assert channel.status == "disabled" and message.deliveries.get().permanent
    assert not statuses().exists()


def test_the_configuration_needs_a_server_address_and_a_token():
    errors = MastodonAdapter.validate_config({"instance_url": "mastodon.social/@x"}, {})
    assert set(errors) == {"instance_url", "access_token"}
    assert (
        MastodonAdapter.validate_config(
            {"instance_url": "https://mastodon.social"}, {"access_token": "t"}
        )
        == {}
    )


def test_an_unanswered_post_is_retried_with_the_same_key_and_no_duplicate(live):
    sandbox.inject("mastodon", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "ReadTimeout" in d.last_error
    assert statuses().count() == 1  # Mastodon created it; we never heard
    run(later())
    d.refresh_from_db()
    assert d.state == "sent" and d.attempts == 2
    assert statuses().count() == 1
    assert d.external_id == statuses().get().external_id


def test_the_idempotency_key_alone_stops_a_duplicate_within_the_hour(live, monkeypatch):
    monkeypatch.setattr(MastodonAdapter, "find", lambda self, delivery: None)
    sandbox.inject("mastodon", "timeout")
    run()
    run(later())
    assert live.deliveries.get().state == "sent"
    assert statuses().count() == 1


def test_a_retry_after_the_keys_hour_finds_the_status_instead_of_posting_again(live):
    sandbox.inject("mastodon", "timeout")
    run()
    statuses().update(created_at=timezone.now() - timedelta(hours=2))  # the key has expired
    run(later())
    d = live.deliveries.get()
    assert d.state == "sent" and statuses().count() == 1
    assert d.external_id == statuses().get().external_id


def test_a_refused_connection_is_retried_and_posts_once(live):
    sandbox.inject("mastodon", "refuse")
    run()
    assert live.deliveries.get().state == "failed" and not statuses().exists()
    run(later())
    assert live.deliveries.get().state == "sent" and statuses().count() == 1


def test_a_server_error_is_retried_without_duplicate(live):
    sandbox.inject("mastodon", 503)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    run(later())
    d.refresh_from_db()
    assert d.state == "sent" and statuses().count() == 1


def test_a_validation_error_is_permanent(live):
    sandbox.inject("mastodon", 422)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent
    run(later(60 * 24))
    assert live.deliveries.get().attempts == 1


def test_a_text_mastodon_refuses_is_a_permanent_failure_with_its_reason(channel):
    from copps.channels.models import Delivery

    d = Delivery(channel=channel, language="nl", key="k1", payload={"text": "x" * 501})
    d.created_at = timezone.now()
    with pytest.raises(ChannelError) as caught:
        channel.adapter.post(d)
    assert caught.value.permanent and "character limit of 500" in str(caught.value)


def test_a_rate_limited_post_waits_until_the_limit_resets(live):
    reset = (timezone.now() + timedelta(minutes=10)).isoformat()

    def limited(request):
        if request.url.path == "/api/v1/statuses":
            return httpx.Response(
                429,
                headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
                json={"error": "Too many requests"},
            )
        return fake.handle(request)

    with http.fake(limited):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "Too many requests" in d.last_error
    assert d.next_attempt_at > timezone.now() + timedelta(minutes=9)
    run(timezone.now() + timedelta(minutes=5))
    assert live.deliveries.get().attempts == 1  # not before the reset
    run(later(11))
    assert live.deliveries.get().state == "sent" and statuses().count() == 1


def test_images_reach_mastodon_with_their_alt_text(make_message, communicator, editor, channel):
    message = publish(
        make_message, communicator, editor, image_alt="Een fiets met een doorgeknipt slot"
    )
    run()
    d = message.deliveries.get()
    assert d.state == "sent"
    (media,) = statuses().get().payload["media_attachments"]
    assert media["description"] == "Een fiets met een doorgeknipt slot"
    assert media["type"] == "image" and media["meta"]["original"]["width"] == 40


def test_it_waits_for_an_image_that_is_still_being_processed(
    make_message, communicator, editor, channel, monkeypatch
):
    monkeypatch.setattr(fake, "PROCESSING_POLLS", 3)
    monkeypatch.setattr(MastodonAdapter, "media_poll_interval", 0)
    message = publish(make_message, communicator, editor, image_alt="Een fiets")
    seen = []

    def recording(request):
        seen.append((request.method, request.url.path))
        return fake.handle(request)

    with http.fake(recording):
        run()
    assert message.deliveries.get().state == "sent"
    assert [m for m, p in seen if p.startswith("/api/v1/media/")] == ["GET"] * 3
    assert statuses().get().payload["media_attachments"][0]["url"]


def test_an_image_that_never_finishes_processing_is_retried_later_without_posting(
    make_message, communicator, editor, channel, monkeypatch
):
    monkeypatch.setattr(fake, "PROCESSING_POLLS", 100)
    monkeypatch.setattr(MastodonAdapter, "media_poll_interval", 0)
    message = publish(make_message, communicator, editor, image_alt="Een fiets")
    run()
    d = message.deliveries.get()
    assert d.state == "failed" and not d.permanent and "processing" in d.last_error
    assert not statuses().exists()


def test_an_edit_keeps_the_images_of_the_status(make_message, communicator, editor, channel):
    message = publish(make_message, communicator, editor, image_alt="Een fiets")
    run()
    correction = actions.propose_correction(
        message,
        by=communicator,
        note="Zuidstation.",
        versions=[VersionInput("nl", "Fietsdiefstallen aan het Zuidstation", "Sluit je fiets op.")],
    )
    actions.approve_correction(correction, by=editor)
    run()
    status = statuses().get()
    assert "Zuidstation" in status.text
    assert status.payload["media_attachments"][0]["description"] == "Een fiets"


def test_a_read_back_settles_an_unknown_outcome_when_the_status_is_there(live, monkeypatch):
    monkeypatch.setattr(MastodonAdapter, "idempotent", False)  # to reach "unknown"
    sandbox.inject("mastodon", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown"
    assert deliveries.reconcile(later()) == 1
    d.refresh_from_db()
    assert d.state == "sent" and d.external_id == statuses().get().external_id
    assert statuses().count() == 1


def test_a_read_back_that_does_not_find_the_status_sends_it_once(live, monkeypatch):
    monkeypatch.setattr(MastodonAdapter, "idempotent", False)
    sandbox.inject("mastodon", 502)  # answered 5xx: maybe sent, but it was not
    run()
    d = live.deliveries.get()
    assert d.state == "unknown" and not statuses().exists()
    deliveries.reconcile(later())
    assert live.deliveries.get().state == "pending"
    run(later())
    assert live.deliveries.get().state == "sent" and statuses().count() == 1


def test_find_ignores_other_statuses_of_the_account(live, channel):
    run()
    d = live.deliveries.get()
    statuses().update(
        text="iets anders", payload={**statuses().get().payload, "content": "<p>x</p>"}
    )
    assert channel.adapter.find(d) is None
