"""LinkedIn Page channel through the real delivery engine against the sandbox Posts API."""

import pytest

from copps.channels import sandbox
from copps.channels.adapters.linkedin import LinkedInAdapter, little_text, plain_text
from copps.channels.base import ChannelError
from copps.channels.fakes import linkedin as fake
from copps.channels.models import Alert

from .support_socialb import correct, later, live_posts, publish, reconcile_later, retract, run

pytestmark = pytest.mark.django_db
ORG = "2414183"


@pytest.fixture
def channel(make_channel):
    return make_channel(
        "linkedin", config={"organization_id": ORG}, secrets={"access_token": "member-token"}
    )


@pytest.fixture
def live(make_message, communicator, editor, channel):
    return publish(make_message, communicator, editor, body="Sluit je fiets (altijd) op #slot.")


def test_it_posts_as_the_organisation_with_the_article_link(live):
    run(2)
    d = live.deliveries.get()
    post = live_posts("linkedin").get()
    assert d.state == "sent" and d.attempts == 1
    assert d.external_id == post.external_id and d.external_id.startswith("urn:li:share:")
    assert d.url == f"https://www.linkedin.com/feed/update/{d.external_id}/"
    body = post.payload
    assert body["author"] == f"urn:li:organization:{ORG}"
    assert body["visibility"] == "PUBLIC" and body["lifecycleState"] == "PUBLISHED"
    assert body["content"]["article"]["source"] == live.permalink("nl")
    assert post.text == d.payload["text"]  # the reserved characters came through escaped


def test_reserved_characters_are_escaped_for_little_text():
    text = "Info (NL) #politie @wijk [1] <b> a_b ~c *d \\ | {x}"
    escaped = little_text(text)
    assert escaped.startswith("Info \\(NL\\) \\#politie \\@wijk \\[1\\]")
    assert plain_text(escaped) == text


def test_check_names_the_page_and_a_revoked_token_fails(channel, make_channel):
    assert channel.adapter.check() == fake.ORG_NAME
    revoked = make_channel(
        "linkedin",
        slug="li-revoked",
        config={"organization_id": ORG},
        secrets={"access_token": "revoked"},
    )
    with pytest.raises(ChannelError) as err:
        revoked.adapter.check()
    assert err.value.disable_channel and "Invalid access token" in str(err.value)


def test_an_approved_correction_edits_the_commentary(live, communicator, editor):
    run()
    correct(live, communicator, editor)
    run()
    assert live.deliveries.get(operation="update").state == "sent"
    post = live_posts("linkedin").get()
    assert "Zuidstation" in post.text and post.edited_at is not None


def test_retracting_deletes_the_post(live, editor):
    run()
    retract(live, editor)
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert not live_posts("linkedin").exists()


def test_a_rate_limit_without_retry_after_waits_for_the_daily_reset(live):
    sandbox.inject("linkedin", 429)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    assert d.next_attempt_at.hour == 0 and d.next_attempt_at.minute == 0


def test_an_expired_api_version_disables_the_channel(live, channel):
    channel.config = {"organization_id": ORG, "api_version": "202001"}
    channel.save()
    run()
    channel.refresh_from_db()
    assert channel.status == "disabled" and "not active" in channel.status_reason
    assert Alert.objects.filter(channel=channel).exists()


def test_a_revoked_token_disables_the_channel(live, channel):
    channel.set_secrets({"access_token": "revoked"})
    channel.save()
    run()
    channel.refresh_from_db()
    assert channel.status == "disabled"


def test_a_refused_post_is_permanent(live, channel):
    run()
    with pytest.raises(ChannelError) as err:
        channel.adapter.post(live.deliveries.get())
    assert err.value.permanent and not err.value.disable_channel and "duplicate" in str(err.value)


def test_an_unanswered_post_is_read_back_with_no_duplicate(live):
    sandbox.inject("linkedin", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown" and live_posts("linkedin").count() == 1
    run(2, now=later())
    reconcile_later()
    d.refresh_from_db()
    assert d.state == "sent" and d.external_id == live_posts("linkedin").get().external_id


def test_configuration_is_checked_before_any_call():
    errors = LinkedInAdapter.validate_config(
        {"organization_id": "urn:li:x", "api_version": "2026-09"}, {}
    )
    assert set(errors) == {"organization_id", "api_version", "access_token"}


def test_an_unprocessable_post_fails_permanently_through_the_engine(live, channel):
    sandbox.inject("linkedin", 422)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent and "422" in d.last_error
    channel.refresh_from_db()
    assert channel.status == "active"
