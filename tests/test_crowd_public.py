"""The public crowd page, the events index and the crisis front page: contents, levels in words,
stale sensors, routes, fast-track messages, caching and conditional GET, size, languages, and
crisis mode switched on and off through the actions."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.http import http_date

from copps.accounts.roles import Role
from copps.crowd import actions, ingest
from copps.crowd.models import RouteStatus, TemplateUse
from tests.crowd_helpers import approved_template, iso, make_event

pytestmark = pytest.mark.django_db

URL = "/en/events/gentse-feesten/"
SIZE_BUDGET = 15_000


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, "admin-crowd")


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER, "commander-crowd")


@pytest.fixture
def setup(admin):
    return make_event(admin)


def push(sensor_id, payload, now=None):
    return ingest.ingest([(sensor_id, payload)], via="mqtt", now=now)


def fill(setup, *, red=True):
    """The Korenmarkt full (red), the Vrijdagmarkt comfortable (green)."""
    _e, markt, *_ = setup
    now = timezone.now()
    devices = int(markt.area_m2 * 2.5 / 2.0) if red else 10  # calibration 2.0, max density 2.0
    push("bt-korenmarkt-1", {"ts": iso(now), "devices": devices}, now=now)
    push("gate-vrijdag-1", {"ts": iso(now), "in": 40, "out": 0}, now=now)
    return now


def get(client, url=URL, **headers):
    return client.get(url, **headers)


def text_of(response) -> str:
    return response.content.decode()


def test_the_page_shows_zones_on_a_map_with_levels_in_words(client, setup):
    fill(setup)
    response = get(client)
    assert response.status_code == 200
    html = text_of(response)
    assert "<h1>Gentse Feesten</h1>" in html
    # The map: one outline per zone, labelled with the zone's name and its level in words.
    svg = html[html.index("<svg viewBox") : html.index("</svg>")]
    assert svg.count('stroke-width="2"') >= 2
    assert 'fill="url(#p-red)"' in svg and 'fill="#cfe9d6"' in svg
    assert ">Korenmarkt</tspan>" in svg and ">Full</tspan>" in svg
    assert ">Vrijdagmarkt</tspan>" in svg and ">Comfortable</tspan>" in svg
    assert 'role="img"' in svg and "<title" in svg
    # The legend names every level; the list says the same in words, busiest first.
    legend = html[html.index('class="legend"') :]
    for word in ("Comfortable", "Busy", "Full"):
        assert word in legend
    zones = html[html.index('class="zones"') :]
    assert zones.index("Korenmarkt") < zones.index("Vrijdagmarkt")
    assert 'class="lvl lvl-red">Full<' in zones
    assert "Gebruik de ingang aan de Veldstraat" in zones  # advice shown for a full zone
    assert "about 40 people" in zones
    assert "Figures of" in html and "Sensors silent" not in html


def test_a_zone_whose_sensors_went_silent_says_its_figures_may_be_low(client, setup, settings):
    settings.COPPS_SENSOR_STALE_SECONDS = 60
    now = fill(setup)
    ingest.mark_stale(now + timedelta(seconds=120))
    html = text_of(get(client))
    assert html.count("Sensors silent: figures may be low.") == 2
    assert 'stroke-dasharray="5 4"' in html  # dashed outline on the map
    assert "? sensors silent" in html  # and in the legend


def test_a_zone_without_any_count_says_so(client, setup):
    html = text_of(get(client))
    assert html.count("No figures yet.") == 3  # the heading line and both zones


def test_streets_and_routes_show_their_status(client, setup, admin):
    event = setup[0]
    line = {"type": "LineString", "coordinates": [[3.7201, 51.0545], [3.7252, 51.0572]]}
    actions.save_route(
        event, by=admin, name="Veldstraat", status=RouteStatus.CLOSED, note="tot 23 uur"
    )
    actions.save_route(event, by=admin, name="Kraanlei", status=RouteStatus.ONE_WAY, geometry=line)
    actions.save_route(event, by=admin, name="Belfortstraat", status=RouteStatus.OPEN)
    html = text_of(get(client))
    routes = html[html.index('class="routes"') :]
    assert 'class="st st-closed">Closed</span> Veldstraat — tot 23 uur' in routes
    assert 'class="st st-one_way">One-way</span> Kraanlei' in routes
    assert 'class="st st-open">Open</span> Belfortstraat' in routes
    assert 'marker-end="url(#arrow)"' in html  # the one-way street is drawn with its arrow


def test_a_fast_track_message_appears_with_a_link_to_its_page(client, setup, commander, editor):
    event, markt, *_ = setup
    fill(setup)
    template = approved_template(commander, editor)
    message = actions.send_fast_track(by=commander, template=template, event=event, zone=markt)
    # Cached pages are rendered again once the max-age has passed; a test cannot wait.
    from django.core.cache import cache

    cache.clear()
    html = text_of(get(client))
    section = html[html.index('id="messages-h"') :]
    assert "Korenmarkt is vol" in section
    # No English version: the Dutch one, under the reader's /en/ prefix, marked as Dutch.
    assert f'href="/en/news/{message.pk}-korenmarkt-is-vol/"' in section
    assert 'lang="nl"' in section
    detail = client.get(f"/en/news/{message.pk}-korenmarkt-is-vol/")
    assert detail.status_code == 200


def test_caching_headers_and_conditional_get(client, setup, settings):
    fill(setup)
    first = get(client)
    assert first["Cache-Control"] == "public, max-age=10"
    etag, modified = first["ETag"], first["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert "Set-Cookie" not in first and "Cookie" not in first.get("Vary", "")
    assert "sha256-" in first["Content-Security-Policy"]  # the inline style, by its hash
    again = get(client, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "public, max-age=10"
    assert get(client, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    old = http_date(timezone.now().timestamp() - 3600)
    assert get(client, HTTP_IF_MODIFIED_SINCE=old).status_code == 200
    assert get(client, HTTP_IF_NONE_MATCH='"other"').status_code == 200

    settings.COPPS_PUBLIC_CROWD_MAX_AGE = 25
    from django.core.cache import cache

    cache.clear()
    assert get(client)["Cache-Control"] == "public, max-age=25"


def test_a_burst_of_requests_costs_one_render(client, setup, django_assert_max_num_queries):
    fill(setup)
    first = get(client)
    for _ in range(5):
        with django_assert_max_num_queries(0):  # the crisis state is cached too
            again = get(client)
        assert again.content == first.content


def test_non_public_and_unknown_events_are_404(client, admin, setup):
    hidden = make_event_hidden(admin)
    assert client.get(f"/en/events/{hidden.slug}/").status_code == 404
    assert client.get("/en/events/nope/").status_code == 404
    assert client.get("/en/events/%3Cscript%3E/").status_code == 404
    assert client.post(URL).status_code == 405
    index = text_of(client.get("/en/events/"))
    assert "Gentse Feesten" in index and hidden.name not in index


def make_event_hidden(admin):
    from copps.crowd.models import Event

    now = timezone.now()
    return Event.objects.create(
        name="Besloten oefening",
        slug="oefening",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        public=False,
    )


def test_the_index_lists_running_and_coming_events_not_past_ones(client, admin, setup):
    from copps.crowd.models import Event

    now = timezone.now()
    Event.objects.create(
        name="Oud feest",
        slug="oud",
        starts_at=now - timedelta(days=9),
        ends_at=now - timedelta(days=8),
    )
    Event.objects.create(
        name="Stadsmarathon",
        slug="marathon",
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, hours=5),
    )
    response = client.get("/en/events/")
    assert response.status_code == 200 and response["Cache-Control"] == "public, max-age=10"
    html = text_of(response)
    assert 'href="/en/events/gentse-feesten/"' in html and "now" in html
    assert 'href="/en/events/marathon/"' in html
    assert "Oud feest" not in html


def test_the_page_is_small_and_loads_nothing_from_elsewhere(
    client, setup, admin, commander, editor
):
    event, markt, *_ = setup
    fill(setup)
    for n in range(6):
        actions.save_route(event, by=admin, name=f"Straat {n}", status=RouteStatus.CLOSED)
    template = approved_template(commander, editor)
    for _ in range(5):
        actions.send_fast_track(by=commander, template=template, event=event, zone=markt)
    from django.core.cache import cache

    cache.clear()
    body = get(client).content
    assert len(body) < SIZE_BUDGET, len(body)
    html = body.decode()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert stylesheets == ["/static/public/site.css"]


def test_automatic_reloading_is_opt_in(client, setup):
    html = text_of(get(client))
    assert 'http-equiv="refresh"' not in html
    assert f'href="{URL}?refresh=1"' in html
    auto = text_of(get(client, URL + "?refresh=1"))
    assert '<meta http-equiv="refresh" content="30">' in auto
    assert f'<a href="{URL}">Stop reloading</a>' in auto
    # Anything else in the query is ignored (and shares the cached page).
    assert text_of(get(client, URL + "?refresh=yes&x=<b>")) == html


@pytest.mark.parametrize("language", ["nl", "fr", "de", "en"])
def test_every_language_has_the_page_with_a_switcher(client, setup, language):
    fill(setup)
    response = client.get(f"/{language}/events/gentse-feesten/")
    assert response.status_code == 200
    html = text_of(response)
    assert f'<html lang="{language}">' in html
    for other in ("nl", "fr", "de", "en"):
        assert f'href="/{other}/events/gentse-feesten/"' in html
    assert "Korenmarkt" in html
    assert "Vary" not in response or "Accept-Language" not in response["Vary"]


# Crisis mode -----------------------------------------------------------------------------------


@pytest.fixture
def crisis_page(admin):
    return actions.save_crisis_page(
        by=admin,
        name="Stroomuitval",
        content={
            "nl": {
                "title": "Grote stroomuitval",
                "body": "Blijf binnen. **Bel 112** alleen bij nood.",
            },
            "en": {
                "title": "Major power cut",
                "body": "Stay indoors. **Call 112** only in an emergency.",
            },
        },
    )


def test_crisis_mode_turns_the_home_page_into_the_crisis_page_and_back(
    client, admin, commander, editor, crisis_page, setup, published_message
):
    normal = text_of(client.get("/en/"))
    assert "Latest news" in normal and "crisis-banner" not in normal

    # A crisis update sent before the crisis started is not one of its updates.
    template = approved_template(commander, editor, use=TemplateUse.CRISIS, level="")
    before = actions.send_fast_track(by=commander, template=template)
    actions.crisis_on(by=admin, page=crisis_page)
    update = actions.send_fast_track(by=commander, template=template)
    from copps.newsroom.models import Message

    Message.objects.filter(pk=before.pk).update(published_at=timezone.now() - timedelta(hours=1))

    response = client.get("/en/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=10" and response["ETag"]
    html = text_of(response)
    assert "<h1>Major power cut</h1>" in html
    assert "<strong>Call 112</strong>" in html
    assert "Latest news" not in html
    updates = html[html.index('id="updates-h"') :]
    assert f"/en/news/{update.pk}-" in updates and f"/en/news/{before.pk}-" not in updates
    assert 'href="/en/news/"' in html  # the regular site stays reachable
    assert 'href="/en/events/gentse-feesten/"' in html  # and the running event
    assert "crisis-banner" not in html  # the front page is the crisis page itself
    assert len(response.content) < SIZE_BUDGET
    assert client.get("/en/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    # Other public pages carry a banner pointing at the front page.
    for path in ("/en/news/", URL, "/en/events/", published_message.permalink_path("en")):
        page = client.get(path, follow=True)
        assert page.status_code == 200, path
        assert 'class="crisis-banner"' in text_of(page), path
        link = (
            '<a href="/nl/">Grote stroomuitval</a>'
            if "/nl/" in path
            else '<a href="/en/">Major power cut</a>'
        )
        assert link in text_of(page), path

    # French falls back to the default language (English in the tests), then Dutch.
    assert "<h1>Major power cut</h1>" in text_of(client.get("/fr/"))
    assert "<h1>Grote stroomuitval</h1>" in text_of(client.get("/nl/"))

    actions.crisis_off(by=admin)
    back = text_of(client.get("/en/"))
    assert "Latest news" in back and "Major power cut" not in back
    assert "crisis-banner" not in text_of(client.get(URL))


def test_the_home_page_is_cached_briefly_so_crisis_mode_spreads_fast(client):
    assert client.get("/en/")["Cache-Control"] == "public, max-age=10"
