"""The listening dashboard's map of places: the GeoJSON it reads (access-checked like the other
result views, audited with ids only) and the table that stays as its fallback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from copps.accounts.models import Role
from copps.audit.models import AuditRecord
from copps.listening.models import Match, Post, Purpose, PurposeKind, Source, Watch

pytestmark = pytest.mark.django_db

GENT, ANTWERPEN = "44021", "11002"


@pytest.fixture
def source(db):
    return Source.objects.create(kind="import", name="test import")


def make_watch(kind=PurposeKind.MOOD, name="brand") -> Watch:
    extra = {}
    if kind == PurposeKind.INVESTIGATION:
        extra = {
            "case_reference": "PV-1",
            "legal_basis": "art. 46",
            "authorised_by": "magistrate",
            "ends_on": timezone.localdate() + timedelta(days=30),
        }
    purpose = Purpose.objects.create(name=f"{name} purpose", kind=kind, **extra)
    return Watch.objects.create(purpose=purpose, name=name, query="brand")


_n = iter(range(1_000_000))


def add(source, watch, places, sentiment="neutral", hours_ago=2, text="brand in de haven"):
    n = next(_n)
    at = timezone.now() - timedelta(hours=hours_ago)
    post = Post.objects.create(
        source=source,
        external_id=f"m{n}",
        text=text,
        sentiment=sentiment,
        places=list(places),
        fingerprint=f"mf{n}",
        published_at=at,
        received_at=at,
    )
    Match.objects.create(watch=watch, post=post, matched_at=at)
    return post


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(watch) -> str:
    return f"/console/listening/watches/{watch.pk}/places.geojson"


def test_it_gives_each_place_its_centre_count_and_sentiment(source, communicator):
    watch = make_watch()
    add(source, watch, [GENT], "negative")
    add(source, watch, [GENT], "negative")
    add(source, watch, [GENT, ANTWERPEN], "positive")
    add(source, watch, [ANTWERPEN], "")  # no sentiment: counted, not rated
    add(source, watch, [GENT], "positive", hours_ago=24 * 8)  # older than the week shown
    response = client_for(communicator).get(url(watch))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["type"] == "FeatureCollection"
    features = {f["id"]: f for f in data["features"]}
    assert list(features) == [GENT, ANTWERPEN]  # most posts first
    gent = features[GENT]
    lon, lat = gent["geometry"]["coordinates"]
    assert gent["geometry"]["type"] == "Point" and 51.0 < lat < 51.1 and 3.6 < lon < 3.8
    props = gent["properties"]
    assert props["name"] == "Gent" and props["count"] == 3
    assert (props["negative"], props["neutral"], props["positive"]) == (2, 0, 1)
    assert props["mood"] == pytest.approx(-1 / 3, abs=0.001)
    antwerpen = features[ANTWERPEN]["properties"]
    assert antwerpen["count"] == 2 and antwerpen["positive"] == 1 and antwerpen["mood"] == 1.0


def test_a_place_the_gazetteer_does_not_know_stays_in_the_table_but_not_on_the_map(
    source, communicator
):
    watch = make_watch()
    add(source, watch, ["99999"])
    client = client_for(communicator)
    assert client.get(url(watch)).json()["features"] == []
    html = client.get(f"/console/listening/watches/{watch.pk}/dashboard").content.decode()
    assert 'data-nis="99999"' in html


def test_every_opening_is_audited_with_ids_only(source, communicator):
    watch = make_watch()
    add(source, watch, [GENT], text="brand in de haven van Gent")
    client_for(communicator).get(url(watch))
    record = AuditRecord.objects.filter(action="listening.view").latest("pk")
    assert record.actor == communicator.username
    assert record.object_id == str(watch.pk)
    assert record.data == {"purpose": watch.purpose_id, "view": "places", "places": 1}
    assert "haven" not in str(record.data) and "Gent" not in str(record.data)


def test_communicators_never_see_an_investigation_watch_places(source, communicator, make_user):
    case = make_watch(PurposeKind.INVESTIGATION, "case")
    add(source, case, [GENT])
    response = client_for(communicator).get(url(case))
    assert response.status_code == 404
    assert b"Gent" not in response.content
    investigator = make_user(Role.INVESTIGATOR, "ivan")
    assert client_for(investigator).get(url(case)).json()["features"][0]["id"] == GENT
    # ... and investigators do not see the communication desk's.
    mood = make_watch()
    assert client_for(investigator).get(url(mood)).status_code == 404
    assert AuditRecord.objects.filter(action="listening.view").count() == 1


def test_the_access_checklist(source, communicator, make_user):
    watch = make_watch()
    anonymous = Client().get(url(watch))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    officer = make_user(Role.OFFICER, "olga")
    assert client_for(officer).get(url(watch)).status_code in (403, 404)
    assert client_for(communicator).post(url(watch)).status_code == 405
    assert (
        client_for(communicator).get("/console/listening/watches/0/places.geojson").status_code
        == 404
    )
    assert not AuditRecord.objects.filter(action="listening.view").exists()


def test_the_dashboard_keeps_the_table_and_hides_the_map_until_drawn(source, communicator):
    watch = make_watch()
    add(source, watch, [GENT], "negative")
    html = client_for(communicator).get(f"/console/listening/watches/{watch.pk}/dashboard")
    html = html.content.decode()
    assert '<div class="places-map-block" hidden>' in html
    assert f'data-url="{url(watch)}"' in html
    assert "vendor/leaflet/leaflet.js" in html and "listening/places-map.js" in html
    row = html.split(f'data-nis="{GENT}"')[1].split("</tr>")[0]
    assert "<td>Gent</td><td>1</td><td>1</td><td>0</td><td>0</td>" in row
