"""The browser-notifications opt-in block in Chromium: hidden without JavaScript, shown with it
when the site has a web push channel, no CSP violation, and permission asked only on a click.

The subscribe page itself belongs to the subscriptions feature; this test hosts the block on a
minimal page of the public layout (``push-demo/``), as that page includes it.
Screenshots go to $COPPS_SCREENSHOTS (default: not kept).
"""

import os

import pytest
from django.http import HttpResponse
from django.template import engines
from django.urls import path
from playwright.sync_api import expect

from copps.channels.adapters.webpush import generate_vapid_keys
from copps.urls import urlpatterns as site_urls

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE = """{% extends "public/base.html" %}{% block content %}
<h1>Subscribe</h1>
<form id="subscribe-form" method="post" action="#">
  <fieldset><legend>Language</legend>
    <label><input type="radio" name="language" value="nl" checked> Nederlands</label>
    <label><input type="radio" name="language" value="fr"> Français</label>
  </fieldset>
  <label><input type="checkbox" name="topics" value="crisis" checked> Crisis</label>
  <label>Postcodes <input name="postcodes" value="1000"></label>
</form>
{% include "channels/push/optin.html" with push_form="subscribe-form" %}
{% endblock %}"""


def demo(request):
    return HttpResponse(engines["django"].from_string(PAGE).render({}, request))


urlpatterns = [path("push-demo/", demo), *site_urls]

COLLECT = """window.__csp = []; document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""


@pytest.fixture
def push_site(settings, make_channel):
    settings.ROOT_URLCONF = __name__
    public, private = generate_vapid_keys()
    make_channel(
        "webpush",
        sandbox=False,
        config={"vapid_public_key": public, "contact": "mailto:webmaster@police.example"},
        secrets={"vapid_private_key": private},
    )


def shot(page, name):
    folder = os.environ.get("COPPS_SCREENSHOTS")
    if folder:
        page.locator("main").screenshot(path=os.path.join(folder, f"push-optin-{name}.png"))


def test_the_block_appears_with_javascript_and_asks_permission_only_on_a_click(new_page, push_site):
    page = new_page()
    page.add_init_script(COLLECT)
    asked = []
    page.add_init_script(
        "window.__asked = 0; const r = Notification.requestPermission.bind(Notification);"
        "Notification.requestPermission = () => { window.__asked++; return r(); };"
    )
    page.goto("/push-demo/")
    block = page.locator("#push-optin")
    expect(block).to_be_visible()
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_visible()
    expect(page.get_by_role("button", name="Stop notifications")).to_be_hidden()
    asked.append(page.evaluate("window.__asked"))
    shot(page, "initial")
    page.get_by_role("button", name="Turn on notifications").click()
    # Headless Chromium refuses the prompt: the citizen is told nothing changed.
    expect(block.locator("[data-push-status]")).to_contain_text("did not allow", timeout=10_000)
    shot(page, "denied")
    assert asked == [0] and page.evaluate("window.__asked") == 1
    assert page.evaluate("window.__csp") == []


def test_the_block_stays_hidden_without_javascript(browser, live_server, push_site):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/push-demo/")
        expect(page.locator("#push-optin")).to_be_hidden()
        expect(page.locator("#subscribe-form")).to_be_visible()
    finally:
        context.close()


FAKE_PUSH_MANAGER = """(() => {
  // Headless Chromium has no push service offline: the browser's own PushManager is replaced by
  // one that hands out a fixed subscription; everything else (service worker, permission,
  // fetches, CSRF) is the real thing.
  let current = null;
  const SUB = %s;
  PushManager.prototype.subscribe = function (options) {
    window.__keyBytes = options.applicationServerKey.length;
    window.__userVisibleOnly = options.userVisibleOnly;
    current = { endpoint: SUB.endpoint, toJSON: () => SUB,
                unsubscribe: () => { current = null; return Promise.resolve(true); } };
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})();"""


def test_a_citizen_turns_notifications_on_and_off_again(browser, live_server, push_site):
    import json

    from copps.channels.models import Subscription
    from tests.support_pushsink import https_subscription

    sub = https_subscription()
    context = browser.new_context(base_url=live_server.url)
    context.grant_permissions(["notifications"])
    try:
        page = context.new_page()
        page.add_init_script(COLLECT)
        page.add_init_script(FAKE_PUSH_MANAGER % json.dumps(sub))
        page.goto("/push-demo/")
        page.get_by_role("button", name="Turn on notifications").click()
        status = page.locator("[data-push-status]")
        expect(status).to_contain_text("Notifications are on", timeout=10_000)
        expect(page.get_by_role("button", name="Stop notifications")).to_be_visible()
        shot(page, "on")
        saved = Subscription.objects.get()
        assert (saved.push_endpoint, saved.language, saved.topics, saved.postcodes) == (
            sub["endpoint"],
            "nl",
            ["crisis"],
            ["1000"],
        )
        assert page.evaluate("window.__keyBytes") == 65
        assert page.evaluate("window.__userVisibleOnly") is True
        assert (
            page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => r && r.scope)")
            == live_server.url + "/"
        )
        page.get_by_role("button", name="Stop notifications").click()
        expect(status).to_contain_text("Notifications are off", timeout=10_000)
        expect(page.get_by_role("button", name="Turn on notifications")).to_be_visible()
        assert not Subscription.objects.exists()
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()


def test_the_service_worker_shows_a_pushed_notification_and_keeps_its_link_on_this_site(
    browser, live_server, push_site
):
    import json

    context = browser.new_context(base_url=live_server.url)
    context.grant_permissions(["notifications"])
    try:
        page = context.new_page()
        page.goto("/push-demo/")
        page.evaluate(
            "navigator.serviceWorker.register('/push/sw.js', {scope: '/'})"
            ".then(() => navigator.serviceWorker.ready)"
        )
        cdp = context.new_cdp_session(page)
        cdp.send("ServiceWorker.enable")
        registrations = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda e: registrations.extend(e["registrations"]),
        )
        page.wait_for_timeout(500)
        registration_id = next(r["registrationId"] for r in registrations if not r["isDeleted"])
        payload = {
            "title": "Verkeershinder E40",
            "body": "De E40 is dicht richting Brussel.",
            "url": "https://evil.example/phish",
            "lang": "nl",
            "tag": "copps-7",
        }
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live_server.url,
                "registrationId": registration_id,
                "data": json.dumps(payload),
            },
        )
        page.wait_for_timeout(1000)
        shown = page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list => list.map("
            "n => ({title: n.title, body: n.body, lang: n.lang, tag: n.tag, url: n.data.url})))"
        )
        assert shown == [
            {
                "title": "Verkeershinder E40",
                "body": "De E40 is dicht richting Brussel.",
                "lang": "nl",
                "tag": "copps-7",
                "url": live_server.url + "/",  # another site's link is never opened
            }
        ]
    finally:
        context.close()
