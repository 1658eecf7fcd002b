"""The public crowd page in Chromium with JavaScript off and the network limited to copps: the
map, its legend and the zone list are there, nothing else is fetched, the Content-Security-Policy
is never violated, and WCAG 2.2 AA (axe) finds nothing. Crisis mode switched on shows the crisis
front page; switched off, the news again."""

import pytest
from playwright.sync_api import expect

from copps.accounts.roles import Role
from copps.crowd import actions, ingest
from copps.crowd.models import RouteStatus
from tests.crowd_helpers import iso, make_event

from .test_accessibility import violations as wcag_violations
from .test_blotter_map_e2e import COLLECT_VIOLATIONS, console_errors, offline

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, "admin-crowd")


@pytest.fixture
def event(admin, settings):
    settings.COPPS_PUBLIC_CROWD_MAX_AGE = 0  # the test switches crisis mode and looks again
    from django.utils import timezone

    event, markt, *_ = make_event(admin)
    now = timezone.now()
    ingest.ingest(
        [("bt-korenmarkt-1", {"ts": iso(now), "devices": int(markt.area_m2 * 1.3)})],
        via="http",
        now=now,
    )
    actions.save_route(event, by=admin, name="Veldstraat", status=RouteStatus.CLOSED)
    return event


def test_the_crowd_page_works_without_javascript(browser, live_server, event):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    aborted = offline(page, live_server)
    page.goto(f"/en/events/{event.slug}/")
    expect(page.get_by_role("heading", name="Gentse Feesten")).to_be_visible()
    expect(page.get_by_role("img", name="Map of the zones")).to_be_visible()
    expect(page.locator(".map > svg > path[stroke-width='2']")).to_have_count(2)
    expect(page.locator(".zones > li")).to_have_count(2)
    expect(page.locator(".zones > li").first).to_contain_text("Full")
    expect(page.locator(".routes")).to_contain_text("Closed Veldstraat")
    assert page.evaluate("document.styleSheets.length") == 2  # site.css and the inline rules
    assert aborted == []
    context.close()


def test_the_crowd_page_is_accessible_and_within_its_policy(new_page, live_server, event):
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    aborted = offline(page, live_server)
    errors = console_errors(page)
    page.goto(f"/en/events/{event.slug}/")
    # The inline <style> applied (allowed by its hash): the zone list has its coloured border.
    border = page.locator(".zones > li").first.evaluate("e => getComputedStyle(e).borderLeftWidth")
    assert border == "8px"
    assert page.evaluate("window.__cspViolations") == []
    assert errors == [] and aborted == []
    assert wcag_violations(page) == []
    page.goto("/en/events/")
    assert wcag_violations(page) == []


def test_the_crisis_front_page_appears_and_disappears(browser, new_page, live_server, event, admin):
    page_text = actions.save_crisis_page(
        by=admin, name="Storm", content={"en": {"title": "Severe storm", "body": "Stay indoors."}}
    )
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/en/")
    expect(page.get_by_role("heading", name="Latest news")).to_be_visible()
    actions.crisis_on(by=admin, page=page_text)
    page.goto("/en/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Severe storm")
    expect(page.get_by_text("Stay indoors.")).to_be_visible()
    checked = new_page()  # axe needs JavaScript
    checked.goto("/en/")
    assert wcag_violations(checked) == []
    page.goto(f"/en/events/{event.slug}/")
    expect(page.locator(".crisis-banner")).to_contain_text("Severe storm")
    page.locator(".crisis-banner a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Severe storm")
    actions.crisis_off(by=admin)
    page.goto("/en/")
    expect(page.get_by_role("heading", name="Latest news")).to_be_visible()
    expect(page.locator(".crisis-banner")).to_have_count(0)
    context.close()
