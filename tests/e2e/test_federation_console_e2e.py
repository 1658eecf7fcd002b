"""The fediverse console in Chromium: no WCAG 2.2 AA violation (axe-core) and no
Content-Security-Policy violation on any of its pages (the charts are inline SVG drawn on the
server), and a moderation decision made with the mouse."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from copps.channels import deliveries
from copps.federation import actions as fediverse
from copps.federation.models import InboxItem, Rejection, Report, Server
from copps.newsroom import actions as newsroom
from tests.support_fediverse import FakeServer
from tests.test_federation_console import add_follower, remote_actor

from .conftest import sign_in
from .test_accessibility import violations as axe_violations
from .test_csp import COLLECT_VIOLATIONS
from .test_csp import violations as csp_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fediverse_data(live_server, settings, admin_user, make_message, communicator, editor, area):
    settings.SITE_URL = live_server.url
    news = fediverse.create_actor(by=admin_user, username="news", kind="force", name="Police news")
    fediverse.create_actor(
        by=admin_user,
        username="noord",
        kind="area",
        name="Noord",
        area=area,
        manually_approves_followers=True,
    )
    good, bad = FakeServer("social.example"), FakeServer("broken.example", status=500)
    try:
        add_follower(news, "social.example", "alice")
        add_follower(news, "broken.example", "bob")
        message = make_message(communicator, channels=["web", "fediverse"])
        newsroom.submit_message(message, by=communicator)
        newsroom.approve_message(message, by=editor)
        deliveries.deliver_due()
        deliveries.deliver_recipients()
    finally:
        good.close()
        bad.close()
    today = timezone.localdate()
    for days, reason, n in ((0, "signature_bad_signature", 9), (2, "blocked", 4)):
        Rejection.objects.create(day=today - timedelta(days=days), reason=reason, count=n)
    Server.objects.create(
        domain="down.example",
        consecutive_failures=6,
        paused_until=timezone.now() + timedelta(hours=1),
        failing_since=timezone.now() - timedelta(hours=2),
    )
    item = InboxItem.objects.create(
        object_id="https://social.example/users/bea/statuses/1",
        kind="reply",
        actor=news,
        remote=remote_actor("social.example", "bea"),
        message=message,
        content_html="<p>Thanks for the warning!</p>",
    )
    Report.objects.create(
        activity_id="https://social.example/reports/1",
        remote=remote_actor("social.example", "mod"),
        actor=news,
        content="Spam?",
    )
    fediverse.block_domain(by=admin_user, domain="spam.example", comment="Spam")
    return {"message": message, "item": item}


def test_the_fediverse_pages_pass_axe_and_the_content_security_policy(
    new_page, fediverse_data, admin_user
):
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    sign_in(page, admin_user.username)
    message = fediverse_data["message"]
    for path in (
        "/console/fediverse/",
        "/console/fediverse/accounts/new/",
        "/console/fediverse/accounts/news/",
        "/console/fediverse/accounts/news/followers/",
        f"/console/fediverse/posts/{message.pk}/?all=1",
        "/console/fediverse/blocks/",
        "/console/fediverse/moderation/",
        "/console/fediverse/reports/",
    ):
        page.goto(path)
        assert axe_violations(page) == [], path
        assert csp_violations(page) == [], path
    page.goto("/console/fediverse/")
    expect(page.locator("svg.fv-days rect")).to_have_count(2)


def test_an_editor_rejects_a_reply_with_a_reason_in_the_browser(new_page, fediverse_data, editor):
    page = new_page()
    sign_in(page, editor.username)
    page.goto("/console/fediverse/")
    page.get_by_role("link", name="Moderation").first.click()
    item = page.locator(f"#item-{fediverse_data['item'].pk}")
    item.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Say why it is rejected")).to_be_visible()
    page.locator(f"#item-{fediverse_data['item'].pk}").get_by_label("Reason").fill("Off topic")
    page.locator(f"#item-{fediverse_data['item'].pk}").get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Rejected: the item from @bea@social.example.")).to_be_visible()
    fediverse_data["item"].refresh_from_db()
    assert fediverse_data["item"].state == "rejected"
    assert fediverse_data["item"].moderation_reason == "Off topic"
