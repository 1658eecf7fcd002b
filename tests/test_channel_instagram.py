"""Instagram channel: container, publish, permalink; no image refused; corrections as new posts;
deletion; errors; read-back of an unanswered publish."""

import pytest

from copps.channels import sandbox
from copps.channels.adapters import instagram
from copps.channels.base import ChannelError
from copps.channels.fakes import instagram as fake
from copps.channels.models import Alert

from .support_socialb import (  # noqa: F401 - media_root is an autouse fixture
    correct,
    later,
    live_posts,
    media_root,
    publish,
    publish_with_image,
    reconcile_later,
    retract,
    run,
)

pytestmark = pytest.mark.django_db
IG = "17841400000000001"


@pytest.fixture(autouse=True)
def _quick_polls(monkeypatch):
    monkeypatch.setattr(instagram, "STATUS_WAIT", 0)
    fake.SLOW.clear()


@pytest.fixture
def channel(make_channel):
    return make_channel("instagram", config={"ig_user_id": IG}, secrets={"access_token": "tok"})


@pytest.fixture
def live(make_message, communicator, editor, channel):
    return publish_with_image(make_message, communicator, editor)


def test_it_publishes_the_image_with_caption_and_alt_text(live):
    run(2)
    d = live.deliveries.get()
    post = live_posts("instagram").get()
    assert d.state == "sent" and d.attempts == 1 and d.external_id == post.external_id
    assert d.url == post.url and d.url.startswith("https://www.instagram.com/p/")
    assert post.text == d.payload["text"]
    assert post.payload["image_url"] == d.payload["images"][0]["url"]
    assert post.payload["alt_text"] == "Een fiets aan een paal"


def test_a_message_without_an_image_fails_permanently_with_a_clear_error(
    make_message, communicator, editor, channel
):
    message = publish(make_message, communicator, editor)
    run()
    d = message.deliveries.get()
    assert d.state == "failed" and d.permanent
    assert "Instagram needs an image" in d.last_error
    assert not live_posts("instagram").exists()
    channel.refresh_from_db()
    assert channel.status == "active"


def test_it_waits_for_the_container_to_finish(live):
    fake.SLOW.append(2)
    run()
    assert live.deliveries.get().state == "sent"


def test_a_container_still_processing_is_retried_later_without_publishing(live, monkeypatch):
    monkeypatch.setattr(instagram, "STATUS_POLLS", 2)
    fake.SLOW.append(5)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "still processing" in d.last_error
    assert not live_posts("instagram").exists()
    run(now=later())
    assert live.deliveries.get().state == "sent" and live_posts("instagram").count() == 1


def test_an_unanswered_container_call_is_retried_because_nothing_was_published(live):
    sandbox.inject("instagram", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    run(now=later())
    assert live.deliveries.get().state == "sent" and live_posts("instagram").count() == 1


def test_an_unanswered_publish_is_read_back_not_published_again(live):
    sandbox.inject("instagram", None, None, "timeout")  # container, status, publish lost
    run()
    d = live.deliveries.get()
    assert d.state == "unknown" and live_posts("instagram").count() == 1
    run(2, now=later())
    reconcile_later()
    d.refresh_from_db()
    assert d.state == "sent" and d.external_id == live_posts("instagram").get().external_id
    assert live_posts("instagram").count() == 1


def test_a_correction_is_a_new_post_with_the_image(live, communicator, editor):
    run()
    correct(live, communicator, editor)
    run()
    assert not live.deliveries.filter(operation="update").exists()
    fix = live.deliveries.get(payload__correction=True)
    assert fix.state == "sent"
    assert live_posts("instagram").count() == 2


def test_retracting_deletes_the_post(live, editor):
    run()
    retract(live, editor)
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert not live_posts("instagram").exists()


def test_deleting_without_the_permission_asks_for_removal_by_hand(live, editor, channel):
    import httpx

    from copps.lib import http

    run()
    retract(live, editor)

    def no_permission(request):
        body = {
            "error": {
                "message": "(#10) Application does not have permission for this action",
                "type": "OAuthException",
                "code": 10,
            }
        }
        return httpx.Response(403, json=body)

    with http.fake(no_permission):
        run()
    delete = live.deliveries.get(operation="delete")
    assert delete.state == "failed" and delete.permanent
    assert "remove the post in the Instagram app" in delete.last_error
    channel.refresh_from_db()
    assert channel.status == "active"  # posting still works


def test_the_publishing_limit_is_retried_an_hour_later(live):
    import httpx

    from copps.lib import http

    def limit(request):
        if request.url.path.endswith("/media_publish"):
            body = {
                "error": {
                    "message": "limit",
                    "type": "OAuthException",
                    "code": 9,
                    "error_subcode": 2207042,
                }
            }
            return httpx.Response(400, json=body)
        return fake.handle(request)

    with http.fake(limit):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    assert 3590 < (d.next_attempt_at - d.updated_at).total_seconds() < 3610


def test_check_and_a_revoked_token(channel, make_channel, live):
    assert channel.adapter.check() == "@politie_sandbox"
    channel.set_secrets({"access_token": "revoked"})
    channel.save()
    with pytest.raises(ChannelError) as err:
        channel.adapter.check()
    assert err.value.disable_channel
    run()
    channel.refresh_from_db()
    assert channel.status == "disabled" and Alert.objects.filter(channel=channel).exists()


def test_the_rate_is_the_published_50_posts_a_day(channel):
    assert channel.adapter.rate_per_minute * 24 * 60 == pytest.approx(50)
