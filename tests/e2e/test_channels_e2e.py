"""End to end in Chromium: an administrator adds a sandbox channel through the console; the
deliveries panel of a published message refreshes by itself until every delivery is settled; an
editor decides an unknown outcome; the dashboard and the sandbox viewer show what happened.

Set ``COPPS_SCREENSHOTS=<dir>`` to keep a desktop and a narrow mobile screenshot of every page.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from copps.channels import deliveries, sandbox
from copps.channels.adapters.webhook import WebhookAdapter
from copps.channels.models import Alert, Channel, ChannelStatus, Delivery
from copps.newsroom import actions

from .conftest import sign_in
from .test_accessibility import violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("COPPS_SCREENSHOTS", "")
SIZES = {"desktop": (1280, 900), "mobile": (390, 844)}


def shoot(page, name: str) -> None:
    """Check the page against WCAG 2.2 AA (axe-core) and keep screenshots when asked."""
    assert violations(page) == [], name
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{SHOTS}/{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def publish(make_message, communicator, editor, **kwargs):
    message = make_message(communicator, **kwargs)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def test_an_administrator_adds_a_channel_and_an_editor_follows_and_resolves_deliveries(
    new_page, admin_user, editor, communicator, make_message, make_channel, monkeypatch
):
    admin = new_page()
    sign_in(admin, admin_user.username)
    admin.goto("/console/channels/")
    shoot(admin, "channels-empty")
    admin.get_by_role("link", name="Add a channel").click()
    shoot(admin, "channel-kind")
    admin.get_by_role("link", name="Signed webhook").click()
    admin.get_by_label("Name", exact=True).fill("Webhook Persdienst")
    admin.get_by_label("Short name").fill("webhook-pers")
    admin.get_by_label("Sandbox account").check()
    admin.get_by_label("Webhook URL").fill("ftp://wrong.example.org")
    admin.get_by_label("Signing secret").fill("short")
    admin.get_by_role("button", name="Test and save").click()
    expect(admin.locator("body")).to_contain_text("Enter an http or https URL.")
    shoot(admin, "channel-form-errors")
    admin.get_by_label("Webhook URL").fill("https://hooks.example.org/pers")
    admin.get_by_label("Signing secret").fill("a-long-enough-signing-secret")
    admin.get_by_role("button", name="Test and save").click()
    expect(admin.locator("body")).to_contain_text("the connection test passed")
    channel = Channel.objects.get(slug="webhook-pers")
    assert channel.get_secrets() == {"signing_secret": "a-long-enough-signing-secret"}

    # More accounts for the pictures: one paused after failures, one disabled with an alert.
    paused = make_channel("webhook", slug="webhook-fr", language="fr")
    Channel.objects.filter(pk=paused.pk).update(
        name="Webhook Presse (FR)", status=ChannelStatus.PAUSED, status_reason="HTTP 503 x5"
    )
    revoked = make_channel("webhook", slug="webhook-partner")
    deliveries.disable_channel(revoked, reason="HTTP 401: token revoked")
    admin.goto("/console/channels/")
    expect(admin.locator("body")).to_contain_text("token revoked")
    shoot(admin, "channels-list")
    admin.goto("/console/channels/webhook-pers/edit/")
    expect(admin.locator("body")).not_to_contain_text("a-long-enough-signing-secret")
    shoot(admin, "channel-edit")
    Channel.objects.filter(pk=revoked.pk).update(enabled=False)

    # A published message: its deliveries panel refreshes by itself until all are settled.
    message = publish(
        make_message,
        communicator,
        editor,
        body="Wees alert en sluit je fiets op slot. Tips: https://preventie.example.org/fiets",
    )
    ed = new_page()
    sign_in(ed, editor.username)
    ed.goto(f"/console/messages/{message.pk}/")
    panel = ed.locator("#deliveries")
    expect(panel).to_contain_text("Pending")
    shoot(ed, "message-deliveries-pending")
    deliveries.deliver_due()
    expect(panel).to_contain_text("Sent", timeout=10_000)  # no reload: htmx polled
    expect(panel).to_contain_text("Every delivery is settled.")
    assert panel.get_attribute("hx-trigger") is None  # polling stopped
    ed.goto("/console/channels/webhook-pers/sandbox/")
    expect(ed.locator(".sb-post").first).to_contain_text("Wees alert")
    shoot(ed, "sandbox-viewer")

    # An unknown outcome: the dashboard flags it, the editor decides on the message page.
    monkeypatch.setattr(WebhookAdapter, "idempotent", False)
    second = publish(make_message, communicator, editor, title="Verkeershinder op de E17")
    sandbox.inject("webhook", "timeout")
    deliveries.deliver_due()
    stuck = Delivery.objects.get(message=second)
    assert stuck.state == "unknown"
    Alert.objects.create(channel=paused, text="Webhook Presse (FR): paused after 5 failures")
    ed.goto("/console/")
    expect(ed.locator("body")).to_contain_text("1 delivery with an unknown outcome")
    shoot(ed, "dashboard-editor")
    admin.goto("/console/")
    expect(admin.locator("body")).to_contain_text("paused after 5 failures")
    shoot(admin, "dashboard-admin")
    ed.get_by_role("link", name="Verkeershinder op de E17").first.click()
    expect(ed.locator("#deliveries")).to_contain_text("did the post go out?")
    shoot(ed, "message-deliveries-unknown")
    ed.get_by_label("Address of the post (optional)").fill("https://hooks.example.org/p/1")
    ed.get_by_role("button", name="It went out").click()
    expect(ed.locator("body")).to_contain_text("Marked as sent.")
    stuck.refresh_from_db()
    assert stuck.state == "sent" and stuck.resolved_by == editor.username

    # The compose form names the accounts each format reaches.
    ed.goto("/console/messages/new")
    expect(ed.locator("body")).to_contain_text("Webhook — Webhook Persdienst (nl, sandbox)")
    shoot(ed, "compose-formats")
