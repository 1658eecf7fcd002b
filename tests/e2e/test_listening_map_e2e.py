"""The listening dashboard's map in Chromium with the network off: circles at the centres of the
municipalities the posts named (vendored Leaflet, no tiles), sized by count and coloured by
sentiment, names beside them, a popup with the sentiment shares; no console error, no CSP
violation, no WCAG AA violation. Without JavaScript the table alone does the job.
Screenshots go to $COPPS_SCREENSHOTS (default: the test's temporary folder)."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from copps.listening.models import Match, Post, Purpose, PurposeKind, Source, Watch

from .conftest import sign_in
from .test_accessibility import violations as wcag_violations
from .test_blotter_map_e2e import COLLECT_VIOLATIONS, console_errors, offline

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GENT, ANTWERPEN, BRUSSEL = "44021", "11002", "21004"


@pytest.fixture
def watch(db):
    source = Source.objects.create(kind="import", name="import")
    purpose = Purpose.objects.create(name="mood", kind=PurposeKind.MOOD)
    watch = Watch.objects.create(purpose=purpose, name="brand", query="brand")
    at = timezone.now() - timedelta(hours=3)
    posts = [([GENT], "negative")] * 6 + [([GENT], "positive")]
    posts += [([ANTWERPEN], "positive")] * 3 + [([BRUSSEL], "neutral")]
    for n, (places, sentiment) in enumerate(posts):
        post = Post.objects.create(
            source=source,
            external_id=f"e{n}",
            text="brand",
            sentiment=sentiment,
            places=places,
            fingerprint=f"e{n}",
            published_at=at,
            received_at=at,
        )
        Match.objects.create(watch=watch, post=post, matched_at=at)
    return watch


def shot(page, tmp_path, name: str) -> None:
    folder = os.environ.get("COPPS_SCREENSHOTS") or str(tmp_path)
    page.screenshot(path=os.path.join(folder, f"listening-map-{name}.png"), full_page=True)


def test_the_map_draws_a_circle_per_place_with_the_network_off(
    new_page, live_server, watch, communicator, tmp_path
):
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    aborted = offline(page, live_server)
    errors = console_errors(page)
    sign_in(page, communicator.username)
    page.goto(f"/console/listening/watches/{watch.pk}/dashboard")
    circles = page.locator("#places-map path.places-circle")
    expect(circles).to_have_count(3)
    expect(page.locator(".places-map-block")).to_be_visible()
    # Sized by the number of posts: Gent (7) is drawn larger than Brussel (1).
    gent = page.locator(f'#places-map path[data-nis="{GENT}"]')
    brussel = page.locator(f'#places-map path[data-nis="{BRUSSEL}"]')
    assert gent.bounding_box()["width"] > 1.5 * brussel.bounding_box()["width"]
    # Coloured by the average sentiment: Gent mostly negative, Antwerpen positive.
    assert gent.get_attribute("fill") == "#b91c1c"
    assert page.locator(f'path[data-nis="{ANTWERPEN}"]').get_attribute("fill") == "#15803d"
    assert brussel.get_attribute("fill") == "#6b7280"
    # No background map: the municipalities are named beside their circles.
    expect(page.locator(".places-name")).to_have_count(3)
    expect(page.locator(".places-name", has_text="Gent")).to_be_visible()
    expect(page.locator("table [data-nis]")).to_have_count(3)  # the table stays
    shot(page, tmp_path, "dashboard")
    gent.click()
    popup = page.locator(".places-popup")
    expect(popup).to_contain_text("Gent")
    expect(popup).to_contain_text("7 posts")
    expect(popup.locator('[data-sentiment="negative"]')).to_have_text("negative: 86 % (6)")
    page.wait_for_timeout(300)  # the popup fades in
    folder = os.environ.get("COPPS_SCREENSHOTS") or str(tmp_path)
    page.locator("#places-map").screenshot(path=os.path.join(folder, "listening-map-popup.png"))
    assert errors == []
    assert page.evaluate("window.__cspViolations") == []
    assert aborted == []
    assert wcag_violations(page) == []


def test_without_javascript_the_table_shows_and_no_empty_map(
    browser, live_server, watch, communicator
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, communicator.username)
        page.goto(f"/console/listening/watches/{watch.pk}/dashboard")
        expect(page.locator(".places-map-block")).to_be_hidden()
        expect(page.locator("table [data-nis]")).to_have_count(3)
    finally:
        context.close()
