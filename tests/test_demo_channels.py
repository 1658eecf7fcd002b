"""The demo's channels: a message created through the API without a channel list reaches the
sandbox e-mail newsletter and sandbox social channels (issue contract), and nothing leaves."""

import pytest
from django.core.management import call_command

from copps.accounts.models import ApiToken, User
from copps.channels import deliveries
from copps.channels.models import Channel, SandboxPost

pytestmark = pytest.mark.django_db


def test_an_api_message_without_channels_reaches_the_demo_newsletter_and_social_sandboxes(
    client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Channel.objects.filter(sandbox=True).count() >= 12
    author = User.objects.get(username="demo-communicator")
    editor = User.objects.get(username="demo-editor")
    headers = {"Authorization": f"Bearer {ApiToken.issue(author, name='t')[1]}"}
    created = client.post(
        "/api/v1/messages",
        {"title": "Wegenwerken", "body": "De Kerkstraat is dicht.", "language": "nl"},
        content_type="application/json",
        headers=headers,
    )
    assert created.status_code == 201, created.content
    formats = created.json()["channels"]
    assert "email" in formats and {"mastodon", "bluesky", "x"} <= set(formats)
    message_id = created.json()["id"]
    client.post(
        f"/api/v1/messages/{message_id}/submit",
        {},
        content_type="application/json",
        headers=headers,
    )
    editor_headers = {"Authorization": f"Bearer {ApiToken.issue(editor, name='t')[1]}"}
    approved = client.post(
        f"/api/v1/messages/{message_id}/approve",
        {},
        content_type="application/json",
        headers=editor_headers,
    )
    assert approved.status_code == 200, approved.content
    deliveries.deliver_due()
    listed = client.get(f"/api/v1/messages/{message_id}/deliveries", headers=headers).json()
    kinds = {d["kind"]: d for d in listed}
    assert {"email", "mastodon", "bluesky", "x"} <= set(kinds)
    assert kinds["mastodon"]["state"] == "sent" and kinds["mastodon"]["url"]
    assert SandboxPost.objects.filter(service="mastodon", text__contains="Wegenwerken").exists()
