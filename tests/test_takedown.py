"""Takedown: a retracted message disappears from the site, the feeds and every sandbox channel;
what cannot be removed (e-mail, SMS already received) is listed for a person."""

import secrets

import pytest

from copps.channels import deliveries
from copps.channels.models import SandboxPost, Subscription
from copps.newsroom import actions
from tests.support_socialb import media_root, png_upload, video_upload  # noqa: F401

pytestmark = pytest.mark.django_db

SOCIAL = {
    "mastodon": ({"instance_url": "https://mastodon.sandbox.invalid"}, {"access_token": "t"}),
    "bluesky": ({"handle": "politie.example"}, {"app_password": "t"}),
    "x": ({}, {"access_token": "t"}),
    "facebook": ({"page_id": "100000000000001"}, {"page_access_token": "t"}),
    "instagram": ({"ig_user_id": "17841400000000001"}, {"access_token": "t"}),
    "linkedin": ({"organization_id": "1000001"}, {"access_token": "t"}),
    "telegram": ({"chat_id": "@politie_sandbox"}, {"bot_token": "123456:t"}),
    "youtube": ({}, {"client_id": "t", "client_secret": "t", "refresh_token": "t"}),
    "webhook": ({"url": "https://webhook.sandbox.invalid/hook"}, {"signing_secret": "s" * 32}),
}
# The services' own names for their posts in the sandbox (uploads are stored apart).
POSTS = {"mastodon", "bluesky", "x", "facebook", "instagram", "linkedin", "telegram", "youtube"}


def run(rounds=3):
    for _ in range(rounds):
        deliveries.deliver_due()
        deliveries.deliver_recipients()


def test_a_retracted_message_disappears_from_the_site_the_feeds_and_every_sandbox_channel(
    make_channel, make_message, communicator, editor, client
):
    for kind, (config, secret_values) in SOCIAL.items():
        make_channel(kind, config=config, secrets=secret_values)
    make_channel(
        "sms_http",
        config={"url": "https://sms.sandbox.invalid/v1/messages"},
        secrets={"api_key": "t"},
    )
    Subscription.objects.create(
        medium="sms",
        address="+32470990001",
        language="nl",
        state="active",
        secret=secrets.token_hex(8),
    )
    message = make_message(
        communicator,
        channels=[
            "web",
            "rss",
            "mastodon",
            "bluesky",
            "x",
            "facebook",
            "instagram",
            "linkedin",
            "telegram",
            "youtube",
            "webhook",
            "sms",
        ],
    )
    actions.add_image(message, by=communicator, upload=png_upload(), alt_text="Een fiets")
    actions.set_video(message, by=communicator, upload=video_upload(), caption="Beelden")
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    run()
    posts = message.deliveries.filter(operation="post")
    assert set(posts.values_list("state", flat=True)) == {"sent"}, list(
        posts.values_list("channel__kind", "state", "last_error")
    )
    live = SandboxPost.objects.filter(service__in=POSTS, deleted_at__isnull=True)
    assert set(live.values_list("service", flat=True)) == POSTS
    page = message.permalink_path("nl")
    assert client.get(page).status_code == 200
    assert message.versions_list()[0].title in client.get("/feeds/news.xml").content.decode()

    actions.retract_message(message, by=editor, reason="wrong street")
    run()

    assert client.get(page).status_code == 410
    assert message.versions_list()[0].title not in client.get("/feeds/news.xml").content.decode()
    removals = {d.channel.kind: d for d in message.deliveries.filter(operation="delete")}
    assert all(removals[k].state == "sent" for k in SOCIAL), {
        k: (d.state, d.last_error) for k, d in removals.items()
    }
    assert not SandboxPost.objects.filter(service__in=POSTS, deleted_at__isnull=True).exists()
    # An SMS cannot be recalled: listed for a person, never silently "done".
    sms = removals["sms_http"]
    assert sms.state == "failed" and sms.permanent and "cannot be recalled" in sms.last_error
