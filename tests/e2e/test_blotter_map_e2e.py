"""The blotter page in Chromium with the network off: only the live server answers; every other
request is aborted. The map draws its markers (vendored Leaflet, no tiles), the list is there,
the console stays clean, the Content-Security-Policy is never violated, and without JavaScript
the list alone does the job."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from copps.blotter import importer, publish

from .test_accessibility import violations as wcag_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = "incident_id,reported_at,category_code,category,summary,street,house_number,postcode,municipality,lat,lon,status,unit\n"
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def entries(db):
    def at(hours):
        return (timezone.now() - timedelta(hours=hours)).isoformat()

    rows = [
        f"E1,{at(13)},theft,X,Fiets gestolen aan het station,Kerkstraat,1,2000,Antwerpen,,,open,PZ",
        f"E2,{at(15)},theft,X,Gsm gestolen op de tram,Meir,2,2000,Antwerpen,,,open,PZ",
        f"E3,{at(20)},burglary,X,Inbraak via de achterdeur,Veldstraat,3,9000,Gent,,,open,PZ",
        f"E4,{at(25)},noise,X,Luide muziek na middernacht,,,1000,Brussel,,,open,PZ",
    ]
    result = importer.Result()
    parsed = list(importer.rows_from_file((HEADER + "\n".join(rows)).encode(), "in.csv", result))
    importer.import_rows(parsed, result=result)
    publish.publish_due()


def offline(page, live_server) -> list[str]:
    """Abort every request that is not for the live server; returns the list of aborted URLs."""
    aborted: list[str] = []

    def handle(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return aborted


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_the_map_shows_markers_per_municipality_with_the_network_off(
    new_page, live_server, entries, tmp_path
):
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    aborted = offline(page, live_server)
    errors = console_errors(page)
    page.goto("/en/blotter/")
    markers = page.locator("#blotter-map .blotter-marker")
    expect(markers).to_have_count(3)
    expect(page.locator("#blotter-map .blotter-marker", has_text="2")).to_have_count(1)
    expect(page.locator(".blotter-map-section")).to_be_visible()
    expect(page.locator("ol.blotter-entries > li")).to_have_count(4)
    expect(page.get_by_text("No background map")).to_be_visible()
    # Without tiles, the municipalities are named next to their markers.
    expect(page.locator(".blotter-name")).to_have_text(["Antwerpen", "Brussel", "Gent"])
    page.screenshot(path=str(tmp_path / "blotter.png"), full_page=True)
    # A marker opens a popup that leads to the list filtered on its municipality.
    page.locator("#blotter-map .blotter-marker", has_text="2").click()
    link = page.locator(".blotter-popup a")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url("**municipality=*")
    expect(page.locator("ol.blotter-entries > li")).to_have_count(2)
    expect(markers).to_have_count(1)
    page.screenshot(path=str(tmp_path / "filtered.png"), full_page=True)
    assert errors == []
    assert page.evaluate("window.__cspViolations") == []
    assert aborted == []  # nothing even tried to leave the server
    assert wcag_violations(page) == []


def test_unreachable_tiles_leave_the_markers_and_the_list_working(
    new_page, live_server, entries, settings
):
    settings.COPPS_MAP_TILE_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    settings.COPPS_MAP_TILE_ATTRIBUTION = "© Example tiles"
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    aborted = offline(page, live_server)
    errors = console_errors(page)
    page.goto("/en/blotter/")
    expect(page.locator("#blotter-map .blotter-marker")).to_have_count(3)
    expect(page.locator("ol.blotter-entries > li")).to_have_count(4)
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("© Example tiles")
    expect(page.locator(".blotter-name")).to_have_count(0)  # the tiles name the places
    assert any("tile.example.org" in url for url in aborted)
    # The only errors are the tiles that could not load; the CSP allowed their host.
    assert all("Failed to load resource" in e for e in errors), errors
    assert page.evaluate("window.__cspViolations") == []


def test_without_javascript_the_list_and_filters_work_and_no_empty_map_shows(
    browser, live_server, entries
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/en/blotter/")
        expect(page.locator(".blotter-map-section")).to_be_hidden()
        expect(page.locator("ol.blotter-entries > li")).to_have_count(4)
        page.select_option("#category", "burglary")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**category=burglary*")
        expect(page.locator("ol.blotter-entries > li")).to_have_count(1)
        expect(page.locator("ol.blotter-entries")).to_contain_text("Inbraak via de achterdeur")
    finally:
        context.close()
