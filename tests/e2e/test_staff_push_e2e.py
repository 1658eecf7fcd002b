"""Staff turn on listening alerts in their browser (Chromium): the console page registers the
service worker under /console/ (apart from a citizen's registration at /), subscribes with the
site's VAPID key and stores the subscription for the signed-in user; turning it off deletes it.
The browser's PushManager is replaced as in test_push_optin (no push service offline)."""

import json
import os

import pytest
from playwright.sync_api import expect

from copps.channels.adapters.webpush import generate_vapid_keys
from copps.channels.models import StaffPushSubscription
from tests.support_pushsink import https_subscription

from .conftest import sign_in
from .test_accessibility import violations as wcag_violations
from .test_push_optin import COLLECT, FAKE_PUSH_MANAGER

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def push_channel(make_channel):
    public, private = generate_vapid_keys()
    make_channel(
        "webpush",
        sandbox=False,
        config={"vapid_public_key": public, "contact": "mailto:webmaster@police.example"},
        secrets={"vapid_private_key": private},
    )


def test_a_communicator_turns_alerts_on_and_off_in_this_browser(
    browser, live_server, push_channel, communicator, tmp_path
):
    sub = https_subscription()
    context = browser.new_context(base_url=live_server.url)
    context.grant_permissions(["notifications"])
    try:
        page = context.new_page()
        page.add_init_script(COLLECT)
        page.add_init_script(FAKE_PUSH_MANAGER % json.dumps(sub))
        sign_in(page, communicator.username)
        page.goto("/console/channels/me/push/")
        page.get_by_role("button", name="Turn on alerts in this browser").click()
        status = page.locator("[data-push-status]")
        expect(status).to_contain_text("Alerts are on in this browser")
        expect(page.get_by_role("button", name="Turn off alerts in this browser")).to_be_visible()
        expect(page.get_by_role("button", name="Turn on alerts in this browser")).to_be_hidden()
        saved = StaffPushSubscription.objects.get()
        assert (saved.user_id, saved.endpoint) == (communicator.pk, sub["endpoint"])
        assert page.evaluate("window.__keyBytes") == 65
        scope = page.evaluate(
            "navigator.serviceWorker.getRegistration('/console/').then(r => r && r.scope)"
        )
        assert scope == live_server.url + "/console/"
        folder = os.environ.get("COPPS_SCREENSHOTS") or str(tmp_path)
        page.screenshot(path=os.path.join(folder, "staff-push-on.png"), full_page=True)
        assert wcag_violations(page) == []
        page.get_by_role("button", name="Turn off alerts in this browser").click()
        expect(status).to_contain_text("Alerts are off in this browser")
        assert not StaffPushSubscription.objects.exists()
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()


def test_without_javascript_the_page_still_turns_everything_off(
    browser, live_server, push_channel, communicator
):
    from copps.channels import staff_push

    sub = https_subscription()
    staff_push.enable(
        communicator,
        endpoint=sub["endpoint"],
        p256dh=sub["keys"]["p256dh"],
        auth=sub["keys"]["auth"],
    )
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, communicator.username)
        page.goto("/console/channels/me/push/")
        expect(page.locator("#push-optin")).to_be_hidden()
        page.get_by_role("button", name="Turn off alerts in all my browsers").click()
        expect(page.get_by_text("No browser receives your alerts.")).to_be_visible()
        assert not StaffPushSubscription.objects.exists()
    finally:
        context.close()
