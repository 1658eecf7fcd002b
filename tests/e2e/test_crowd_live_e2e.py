"""The live crowd view in Chromium: the zones are drawn on the vendored Leaflet in their level's
colour and pattern with a text label, recoloured after a count arrives (htmx refresh, every 5 s);
the alert that count raises is sent in two clicks by the commander, and only once. Screenshots go
to ``COPPS_SCREENSHOT_DIR`` when set (else the test's temporary directory)."""

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from copps.accounts.roles import Role
from copps.crowd import actions, ingest
from copps.crowd.models import AlertState, CrowdAlert, RouteStatus, SentMessage, TemplateUse
from tests.crowd_helpers import approved_template, iso, make_event

from .conftest import sign_in
from .test_accessibility import violations as wcag_violations
from .test_blotter_map_e2e import COLLECT_VIOLATIONS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("COPPS_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def console_errors(page) -> list[str]:
    """Script errors and failed loads, except the browser's own favicon request (the console
    declares no icon)."""
    errors: list[str] = []

    def on_console(message):
        if message.type == "error" and "favicon.ico" not in (message.location or {}).get("url", ""):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def count(sensor_id: str, devices: int) -> None:
    result = ingest.ingest(
        [(sensor_id, {"ts": iso(timezone.now()), "devices": devices})], via="http"
    )
    assert result.accepted == 1


@pytest.fixture
def scene(make_user):
    admin = make_user(Role.ADMIN, "admin-live")
    commander = make_user(Role.COMMANDER, "cmdr-live", first_name="Ann", last_name="Peeters")
    writer = make_user(Role.COMMUNICATOR, "writer-live")
    approver = make_user(Role.EDITOR, "approver-live")
    event, markt, vrijdag, *_ = make_event(admin)
    actions.save_route(
        event,
        by=admin,
        name="Veldstraat",
        status=RouteStatus.CLOSED,
        note="parade",
        geometry={"type": "LineString", "coordinates": [[3.7205, 51.0535], [3.7250, 51.0565]]},
    )
    template = approved_template(writer, approver)
    streets = actions.save_template(
        by=writer,
        name="Straten",
        use=TemplateUse.STREETS,
        texts={"nl": {"title": "Afgesloten: {routes_closed}", "body": "Stand om {time}."}},
    )
    actions.approve_template(streets, by=approver)
    count("bt-korenmarkt-1", 2000)  # 4,000 people on ≈ 9,800 m²: comfortable
    return {"event": event, "commander": commander, "template": template, "admin": admin}


def test_the_live_map_recolours_after_a_count_and_the_commander_sends_once(
    new_page, scene, tmp_path
):
    event = scene["event"]
    folder = shots(tmp_path)
    page = new_page()
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.add_init_script(COLLECT_VIOLATIONS)
    errors = console_errors(page)
    sign_in(page, "cmdr-live")
    page.goto(f"/console/events/{event.pk}/live/")

    markt = page.locator('#crowd-map path[data-zone="korenmarkt"]')
    expect(markt).to_have_attribute("data-level", "green")
    expect(page.locator('#crowd-map path[data-zone="vrijdagmarkt"]')).to_have_attribute(
        "data-level", "green"
    )
    expect(page.locator('[data-zone-label="korenmarkt"]')).to_contain_text("Comfortable")
    expect(page.locator('#crowd-map path[data-route-status="closed"]')).to_have_count(1)
    assert "crowd-fill-green" in (markt.get_attribute("fill") or "")

    # A surge: 12,000 devices × 2 ≈ 2.4 people/m², over the maximum of 2.
    count("bt-korenmarkt-1", 12000)
    expect(markt).to_have_attribute("data-level", "red", timeout=12_000)
    assert "crowd-fill-red" in (markt.get_attribute("fill") or "")
    expect(page.locator('[data-zone-label="korenmarkt"]')).to_contain_text("Full")
    expect(page.locator('#crowd-live-zones tr[data-zone="korenmarkt"]')).to_have_attribute(
        "data-level", "red"
    )
    alert = page.locator("#alerts .crowd-alert--red")
    expect(alert).to_be_visible(timeout=12_000)
    expect(alert).to_contain_text("Korenmarkt is vol")
    page.screenshot(path=str(folder / "crowd-live.png"), full_page=True)
    assert wcag_violations(page) == []
    page.locator("#alerts").screenshot(path=str(folder / "crowd-alerts.png"))

    # Click 1: the confirmation, with the words, the channels and the commander's name.
    alert.get_by_role("link", name="Send…").first.click()
    expect(page.get_by_role("heading", name="Confirm sending")).to_be_visible()
    expect(page.locator("[data-sender]")).to_contain_text("Ann Peeters")
    expect(page.locator("[data-channels]")).to_contain_text("Website")
    expect(page.locator('[data-lang="nl"]')).to_contain_text("Korenmarkt is vol")
    page.screenshot(path=str(folder / "crowd-confirm.png"), full_page=True)
    assert not SentMessage.objects.exists()

    # Click 2 — twice, as a nervous hand would: one message.
    button = page.locator("[data-confirm]")
    button.dblclick()
    page.wait_for_url(f"**/console/events/{event.pk}/live/**")
    expect(page.locator(".flash")).to_contain_text("Ann Peeters")
    assert SentMessage.objects.count() == 1
    assert CrowdAlert.objects.get(zone__key="korenmarkt", kind="level").state == AlertState.SENT
    assert errors == []
    assert page.evaluate("window.__cspViolations") == []


def test_without_javascript_the_table_and_charts_carry_the_live_picture(
    browser, live_server, scene
):
    count("bt-korenmarkt-1", 12000)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "cmdr-live")
        page.goto(f"/console/events/{scene['event'].pk}/live/")
        expect(page.locator(".crowd-map-card")).to_be_hidden()
        expect(page.locator('#crowd-live-zones tr[data-zone="korenmarkt"]')).to_contain_text("Full")
        expect(page.locator('[data-chart="korenmarkt"] polyline')).to_have_count(1)
    finally:
        context.close()


def test_screenshots_of_templates_crisis_and_zone_drawing(new_page, scene, tmp_path):
    folder = shots(tmp_path)
    admin = scene["admin"]
    actions.save_crisis_page(
        by=admin,
        name="Overstroming",
        content={"nl": {"title": "Overstroming", "body": "Blijf binnen."}},
    )
    page = new_page()
    page.set_viewport_size({"width": 1440, "height": 1000})
    errors = console_errors(page)
    sign_in(page, "admin-live")
    page.goto("/console/events/templates/")
    expect(page.locator("[data-template]")).to_have_count(2)
    page.screenshot(path=str(folder / "crowd-templates.png"), full_page=True)
    assert wcag_violations(page) == []
    page.goto(f"/console/events/templates/{scene['template'].pk}/edit")
    page.screenshot(path=str(folder / "crowd-template-form.png"), full_page=True)
    page.goto("/console/events/crisis/")
    page.screenshot(path=str(folder / "crowd-crisis-off.png"), full_page=True)
    page.get_by_role("button", name="Switch crisis mode on…").click()
    expect(page.locator("[data-confirm]")).to_be_visible()
    page.screenshot(path=str(folder / "crowd-crisis-confirm.png"), full_page=True)
    page.locator("[data-confirm]").click()
    expect(page.locator(".crisis-banner")).to_contain_text("Crisis mode is ON")
    page.screenshot(path=str(folder / "crowd-crisis-on.png"), full_page=True)
    assert wcag_violations(page) == []
    # Drawing a zone: four clicks, close, save.
    event = scene["event"]
    page.goto(f"/console/events/{event.pk}/zones/new")
    box = page.locator("#zone-map").bounding_box()
    assert box is not None
    for dx, dy in ((0.3, 0.3), (0.5, 0.3), (0.5, 0.5), (0.3, 0.5)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    page.get_by_role("button", name="Close the outline").click()
    assert '"Polygon"' in page.locator("#id_geometry").input_value()
    page.get_by_label("Name").fill("Getekend")
    page.get_by_label("Identifier").fill("getekend")
    page.screenshot(path=str(folder / "crowd-zone-draw.png"), full_page=True)
    page.get_by_role("button", name="Save zone").click()
    page.wait_for_url(f"**/console/events/{event.pk}/")
    expect(page.locator('tr[data-zone="getekend"]')).to_have_count(1)
    page.screenshot(path=str(folder / "crowd-event.png"), full_page=True)
    assert errors == []
