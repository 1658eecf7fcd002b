"""Facebook Page channel through the real delivery engine against the sandbox Graph API."""

import pytest

from copps.channels import deliveries, sandbox
from copps.channels.adapters.facebook import FacebookAdapter, graph_error
from copps.channels.base import ChannelError
from copps.channels.fakes import facebook as fake
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
PAGE = "104000000000001"


@pytest.fixture
def channel(make_channel):
    return make_channel(
        "facebook", config={"page_id": PAGE}, secrets={"page_access_token": "page-token"}
    )


@pytest.fixture
def live(make_message, communicator, editor, channel):
    return publish(make_message, communicator, editor)


def test_it_posts_the_text_with_the_link_once(live):
    run(2)
    d = live.deliveries.get()
    post = live_posts("facebook").get()
    assert d.state == "sent" and d.attempts == 1
    assert d.external_id == post.external_id and d.external_id.startswith(f"{PAGE}_")
    assert d.url == f"https://www.facebook.com/{d.external_id}"
    assert post.payload["link"] == live.permalink("nl") and post.text == d.payload["text"]


def test_a_message_with_an_image_becomes_a_photo_post(make_message, communicator, editor, channel):
    message = publish_with_image(make_message, communicator, editor)
    run()
    d = message.deliveries.get()
    post = live_posts("facebook").get()
    assert d.state == "sent" and d.external_id == post.external_id
    assert post.payload["url"] == d.payload["images"][0]["url"]
    assert post.payload["caption"] == d.payload["text"]


def test_check_names_the_page_and_a_revoked_token_fails(channel, make_channel):
    assert channel.adapter.check() == fake.PAGE_NAME
    revoked = make_channel(
        "facebook",
        slug="fb-revoked",
        config={"page_id": PAGE},
        secrets={"page_access_token": "revoked"},
    )
    with pytest.raises(ChannelError) as err:
        revoked.adapter.check()
    assert err.value.disable_channel and "190" in str(err.value)


def test_an_approved_correction_edits_the_post(live, communicator, editor):
    run()
    correct(live, communicator, editor)
    run()
    update = live.deliveries.get(operation="update")
    assert update.state == "sent"
    post = live_posts("facebook").get()
    assert "Zuidstation" in post.text and post.edited_at is not None


def test_retracting_deletes_the_post(live, editor):
    run()
    retract(live, editor)
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert not live_posts("facebook").exists()


def test_deleting_a_post_that_is_already_gone_counts_as_done(live, editor):
    run()
    live_posts("facebook").update(deleted_at=later())
    retract(live, editor)
    run()
    assert live.deliveries.get(operation="delete").state == "sent"


def test_a_page_rate_limit_waits_the_announced_time(live):
    fake.throttle(17)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "Graph error 32" in d.last_error
    wait = (d.next_attempt_at - d.updated_at).total_seconds()
    assert 17 * 60 - 5 < wait < 17 * 60 + 5
    run(now=later(minutes=18))
    assert live.deliveries.get().state == "sent"


def test_a_revoked_token_disables_the_channel(live, channel):
    channel.set_secrets({"page_access_token": "revoked"})
    channel.save()
    run()
    channel.refresh_from_db()
    assert channel.status == "disabled" and Alert.objects.filter(channel=channel).exists()
    assert live.deliveries.get().permanent


def test_an_invalid_parameter_is_permanent():
    import httpx

    body = {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}}
    err = graph_error(httpx.Response(400, json=body), "create post", creating=True)
    assert err.permanent and not err.disable_channel and not err.maybe_sent


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_rate_limit_codes_are_retried(code):
    import httpx

    body = {"error": {"message": "limit", "type": "OAuthException", "code": code}}
    err = graph_error(httpx.Response(400, json=body), "create post", creating=True)
    assert not err.permanent and not err.disable_channel and not err.maybe_sent


def test_a_temporary_error_on_create_is_read_back_before_anything_is_sent_again(live):
    import httpx

    from copps.lib import http

    def temporary(request):
        body = {
            "error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}
        }
        return httpx.Response(500, json=body)

    with http.fake(temporary):
        run()
    d = live.deliveries.get()
    assert d.state == "unknown"
    reconcile_later()
    assert live.deliveries.get().state == "pending"  # read back: not there
    run()
    assert live.deliveries.get().state == "sent" and live_posts("facebook").count() == 1


def test_an_unanswered_post_is_read_back_with_no_duplicate(live):
    sandbox.inject("facebook", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown" and live_posts("facebook").count() == 1
    run(2, now=later())
    assert reconcile_later() == 1
    d.refresh_from_db()
    assert d.state == "sent" and d.external_id == live_posts("facebook").get().external_id
    assert live_posts("facebook").count() == 1


def test_configuration_is_checked_before_any_call():
    errors = FacebookAdapter.validate_config({"page_id": "politie", "api_version": "25"}, {})
    assert set(errors) == {"page_id", "api_version", "page_access_token"}
    assert FacebookAdapter.validate_config({"page_id": PAGE}, {"page_access_token": "t"}) == {}


def test_a_refused_post_fails_permanently_and_the_channel_keeps_working(live, channel):
    import httpx

    from copps.lib import http

    def invalid(request):
        body = {
            "error": {
                "message": "(#100) Invalid parameter",
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": "AbC",
            }
        }
        return httpx.Response(400, json=body)

    with http.fake(invalid):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent and "Graph error 100" in d.last_error
    channel.refresh_from_db()
    assert channel.status == "active"


def test_a_hostile_read_back_answer_settles_nothing_and_crashes_nothing(live):
    import httpx

    from copps.lib import http

    sandbox.inject("facebook", "timeout")
    run()
    with http.fake(lambda request: httpx.Response(200, json={"data": [{"message": 1}, "x", None]})):
        reconcile_later()
    d = live.deliveries.get()
    # A garbled answer proves nothing: still unknown, nothing sent again.
    assert d.state == "unknown" and "read-back failed" in d.last_error
    assert live_posts("facebook").count() == 1
    deliveries.reconcile(later(minutes=10))  # the next read-back, with a proper answer
    assert live.deliveries.get().state == "sent" and live_posts("facebook").count() == 1
