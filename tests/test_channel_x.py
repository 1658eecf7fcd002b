"""X channel: posts, corrections (X cannot edit), deletions, errors and read-back, through the
real delivery engine against the sandbox imitation of API v2."""

import time

import pytest

from copps.channels import sandbox
from copps.channels.adapters.x import XAdapter, normalise
from copps.channels.base import ChannelError
from copps.channels.fakes import x as fake
from copps.channels.models import Alert

from .support_socialb import correct, later, live_posts, publish, reconcile_later, retract, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(make_channel):
    return make_channel("x", secrets={"access_token": "user-token"})


@pytest.fixture
def live(make_message, communicator, editor, channel):
    return publish(make_message, communicator, editor)


def test_it_posts_once_with_the_accounts_url(live):
    run(2)
    d = live.deliveries.get()
    assert d.state == "sent" and d.attempts == 1
    post = live_posts("x").get()
    assert post.external_id == d.external_id
    assert d.url == f"https://x.com/politie_sandbox/status/{d.external_id}"
    assert post.text == d.payload["text"] and "Fietsdiefstallen" in post.text


def test_check_names_the_account_and_a_revoked_token_fails(channel, make_channel):
    assert channel.adapter.check() == "@politie_sandbox"
    revoked = make_channel("x", slug="x-revoked", secrets={"access_token": "revoked"})
    with pytest.raises(ChannelError) as err:
        revoked.adapter.check()
    assert err.value.disable_channel and "401" in str(err.value)


def test_check_refuses_a_token_of_another_account(make_channel):
    other = make_channel("x", config={"user_id": "42"}, secrets={"access_token": "t"})
    with pytest.raises(ChannelError, match="not to user 42"):
        other.adapter.check()


def test_a_correction_is_a_new_post_because_x_cannot_edit(live, communicator, editor):
    run()
    correct(live, communicator, editor)
    run()
    assert not live.deliveries.filter(operation="update").exists()
    correction = live.deliveries.get(operation="post", payload__correction=True)
    assert correction.state == "sent"
    assert live_posts("x").count() == 2
    assert "Zuidstation" in live_posts("x").get(external_id=correction.external_id).text


def test_retracting_deletes_the_post(live, editor):
    run()
    retract(live, editor)
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert not live_posts("x").exists()


def test_a_rate_limit_waits_until_the_announced_reset(live):
    reset = fake.throttle(900)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    assert abs(d.next_attempt_at.timestamp() - reset) < 5
    run()  # not due yet
    assert live.deliveries.get().attempts == 1
    run(now=later(minutes=16))
    assert live.deliveries.get().state == "sent"


def test_duplicate_content_is_permanent_and_keeps_the_channel(live, channel):
    run()
    d = live.deliveries.get()
    with pytest.raises(ChannelError) as err:
        channel.adapter.post(d)
    assert err.value.permanent and not err.value.disable_channel
    assert "duplicate" in str(err.value)


def test_a_revoked_token_disables_the_channel(live, channel, make_message, communicator, editor):
    channel.set_secrets({"access_token": "revoked"})
    channel.save()
    run()
    channel.refresh_from_db()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent and channel.status == "disabled"
    assert Alert.objects.filter(channel=channel).exists()


def test_an_unanswered_post_is_read_back_instead_of_posted_again(live):
    sandbox.inject("x", None, "timeout")  # users/me answers, the create is lost on the way back
    run()
    d = live.deliveries.get()
    assert d.state == "unknown" and live_posts("x").count() == 1
    run(3, now=later())
    assert live.deliveries.get().state == "unknown"  # never retried blindly
    assert reconcile_later() == 1
    d.refresh_from_db()
    assert d.state == "sent" and d.external_id == live_posts("x").get().external_id
    assert live_posts("x").count() == 1


def test_read_back_sends_again_when_the_post_is_not_there(live):
    sandbox.inject("x", None, "refuse")  # refused: nothing was sent
    run()
    assert live.deliveries.get().state == "failed"
    sandbox.inject("x", None, 503)  # a 5xx: X may have posted
    run(now=later())
    d = live.deliveries.get()
    assert d.state == "unknown" and not live_posts("x").exists()
    reconcile_later()
    assert live.deliveries.get().state == "pending"
    run()
    assert live.deliveries.get().state == "sent" and live_posts("x").count() == 1


def test_texts_compare_across_t_co_links_and_escaping():
    ours = "Let op & wees alert: https://politie.example/nl/nieuws/12-fiets"
    theirs = "Let op &amp; wees alert: https://t.co/AbCdEf1234"
    assert normalise(ours) == normalise(theirs)
    assert normalise(ours) != normalise("Let op & wees alert")


def test_the_rate_follows_the_published_limit_unless_configured(channel, make_channel):
    assert channel.adapter.rate() == pytest.approx(300 / 180)
    custom = make_channel("x", slug="x-basic", config={"rate_per_minute": "0.07"})
    assert custom.adapter.rate() == pytest.approx(0.07)
    assert XAdapter.validate_config({"rate_per_minute": "-1"}, {"access_token": "t"}) == {
        "rate_per_minute": "Enter a positive number."
    }
    assert "access_token" in XAdapter.validate_config({}, {})


def test_a_hostile_answer_is_unknown_not_a_crash(live):
    import httpx

    from copps.lib import http

    def garbage(request):
        if request.url.path == "/2/users/me":
            return httpx.Response(200, json={"data": fake.USER})
        return httpx.Response(201, content=b"<html>oops")

    with http.fake(garbage):
        run()
    assert live.deliveries.get().state == "unknown"


def test_rate_limit_without_reset_header_falls_back_to_backoff(live):
    sandbox.inject("x", None, 429)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    assert d.next_attempt_at.timestamp() > time.time() + 20
