"""The public blotter: the page (list, filters, map data), GeoJSON, CSV, RSS and the daily digest.

Entries get there the real way: a CSV import, the policy, the worker's publication run.
"""

import csv
import io
import json
import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from copps.accounts.models import Area
from copps.audit.models import AuditRecord
from copps.blotter import digest, importer, policy, public_views, publish
from copps.blotter.models import Entry, EntryState
from copps.newsroom.models import Message
from copps.worker import jobs

HEADER = "incident_id,reported_at,category_code,category,summary,street,house_number,postcode,municipality,lat,lon,status,unit\n"
OUTPUTS = ("/en/blotter/", "/nl/blotter/", "/blotter.geojson", "/blotter.csv", "/feeds/blotter.xml")


def when(hours_ago: float, minute: int = 47) -> str:
    moment = timezone.localtime(timezone.now() - timedelta(hours=hours_ago))
    return moment.replace(minute=minute, second=23).isoformat()


def run_import(tmp_path, *rows: str):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    result = importer.Result()
    parsed = list(importer.rows_from_file(path.read_bytes(), path.name, result))
    result = importer.import_rows(parsed, result=result)
    assert result.errors == []
    return result


def row(
    incident_id, category="theft", municipality="Antwerpen", hours=13, summary="Fiets gestolen"
):
    return f"{incident_id},{when(hours)},{category},X,{summary},Kerkstraat,1,2000,{municipality},,,open,PZ"


def use_policy(*, summary="redacted", location="street"):
    return policy.save_version(
        by=None,
        categories=policy.default_categories(),
        location=location,
        time_rounding_minutes=60,
        summary=summary,
    )


@pytest.fixture
def entries(db, tmp_path):
    """Published: two thefts in Antwerpen, a burglary and a noise complaint in Gent."""
    use_policy()
    run_import(
        tmp_path,
        row("T1", "theft", "Antwerpen", 20, "Fiets gestolen aan het station"),
        row("T2", "theft", "Antwerpen", 14, "Gsm gestolen op de tram"),
        row("B1", "burglary", "Gent", 30, "Inbraak via de achterdeur"),
        row("N1", "noise", "Gent", 40, "Luide muziek na middernacht"),
    )
    publish.publish_due()
    assert Entry.objects.filter(state=EntryState.PUBLISHED).count() == 4
    return Entry.objects.all()


def texts(client, *paths):
    out = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        out[path] = b"".join(
            response.streaming_content if response.streaming else [response.content]
        ).decode()
    return out


def map_counts(html: str) -> dict[str, int]:
    found = re.search(r'id="blotter-places" type="application/json">(.*?)</script>', html, re.S)
    return {p["name"]: p["count"] for p in json.loads(found.group(1))}


def antwerpen_nis():
    return Entry.objects.filter(municipality="Antwerpen").values_list("nis", flat=True).first()


# The page -------------------------------------------------------------------------------------


def test_it_lists_published_entries_newest_first_with_label_time_place_and_summary(client, entries):
    html = client.get("/en/blotter/").content.decode()
    order = [
        html.index(s) for s in ("Gsm gestolen", "Fiets gestolen", "Inbraak via", "Luide muziek")
    ]
    assert order == sorted(order)
    assert "Theft" in html and "Burglary" in html
    assert "Kerkstraat, Antwerpen" in html
    assert ":00</time>" in html and ":47" not in html  # rounded to the hour
    assert client.get("/nl/blotter/").content.decode().count("Diefstal") >= 2


def test_it_never_shows_entries_waiting_for_review(client, entries):
    Entry.objects.filter(incident__incident_id="T1").update(state=EntryState.REVIEW)
    for path, body in texts(client, *OUTPUTS).items():
        assert "Fiets gestolen" not in body, path
        assert "Gsm gestolen" in body, path


def test_it_filters_by_municipality_category_and_dates_without_javascript(client, entries):
    nis = antwerpen_nis()
    html = client.get("/en/blotter/", {"municipality": nis}).content.decode()
    assert "Fiets gestolen" in html and "Inbraak via" not in html
    html = client.get("/en/blotter/", {"category": "noise"}).content.decode()
    assert "Luide muziek" in html and "Fiets gestolen" not in html
    today = timezone.localdate()
    html = client.get("/en/blotter/", {"from": today.isoformat()}).content.decode()
    # Only entries of today (the earliest are more than a day old).
    noise = Entry.objects.get(category_code="noise")
    assert timezone.localtime(noise.occurred_at).date() < today
    assert "Luide muziek" not in html
    old = timezone.localtime(noise.occurred_at).date().isoformat()
    html = client.get("/en/blotter/", {"from": old, "to": old}).content.decode()
    assert "Luide muziek" in html
    # The form keeps what was chosen.
    html = client.get("/en/blotter/", {"municipality": nis, "category": "theft"}).content.decode()
    assert f'<option value="{nis}" selected>' in html
    assert '<option value="theft" selected>' in html


@pytest.mark.parametrize(
    "query",
    [
        {"municipality": "<script>alert(1)</script>"},
        {"municipality": "1" * 5000},
        {"category": "'; DROP TABLE blotter_entry;--"},
        {"from": "2026-13-45", "to": "yesterday"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"page": "-1"},
        {"page": "99999999999999999999"},
        {"lang": "\x00"},
    ],
)
def test_it_ignores_hostile_filter_values_everywhere(client, entries, query):
    for path in OUTPUTS:
        response = client.get(path, query)
        assert response.status_code == 200, (path, query)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"<script>alert" not in body


def test_it_paginates(client, entries, monkeypatch):
    monkeypatch.setattr(public_views, "ENTRIES_PER_PAGE", 3)
    first = client.get("/en/blotter/").content.decode()
    second = client.get("/en/blotter/", {"page": 2}).content.decode()
    assert "Luide muziek" not in first and "Luide muziek" in second
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_the_map_data_counts_entries_per_municipality_centre(client, entries):
    html = client.get("/en/blotter/").content.decode()
    data = json.loads(
        re.search(r'id="blotter-places" type="application/json">(.*?)</script>', html, re.S).group(
            1
        )
    )
    counts = {p["name"]: p["count"] for p in data}
    assert counts == {"Antwerpen": 2, "Gent": 2}
    antwerpen = next(p for p in data if p["name"] == "Antwerpen")
    assert f"municipality={antwerpen_nis()}" in antwerpen["url"]
    # With a filter the map follows the list.
    html = client.get("/en/blotter/", {"category": "noise"}).content.decode()
    data = json.loads(
        re.search(r'id="blotter-places" type="application/json">(.*?)</script>', html, re.S).group(
            1
        )
    )
    assert [(p["name"], p["count"]) for p in data] == [("Gent", 1)]


def test_the_page_has_no_inline_script_or_style_and_no_tiles_by_default(client, entries):
    response = client.get("/en/blotter/")
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "<style" not in html and " style=" not in html
    assert 'data-tiles=""' in html
    assert "No background map" in html
    assert "img-src 'self';" in response["Content-Security-Policy"] + ";"
    assert (
        response["Cache-Control"] == "public, max-age=60"
        or "max-age=60" in response["Cache-Control"]
    )


def test_a_configured_tile_server_is_allowed_in_img_src_of_this_page_only(
    client, entries, settings
):
    settings.COPPS_MAP_TILE_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    settings.COPPS_MAP_TILE_ATTRIBUTION = "© Example contributors"
    response = client.get("/en/blotter/")
    assert 'data-tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png"' in response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "img-src 'self' https://*.tile.example.org" in csp
    assert "script-src 'self';" in csp + ";"
    assert "tile.example.org" not in client.get("/en/news/")["Content-Security-Policy"]


def test_a_tile_url_that_is_not_http_is_ignored(client, entries, settings):
    settings.COPPS_MAP_TILE_URL = "javascript:alert(1)//{z}"
    response = client.get("/en/blotter/")
    assert 'data-tiles=""' in response.content.decode()
    assert "javascript" not in response["Content-Security-Policy"]


def test_the_public_navigation_links_the_blotter(client, db):
    assert 'href="/en/blotter/"' in client.get("/en/").content.decode()


# GeoJSON, CSV, RSS ----------------------------------------------------------------------------


def test_geojson_is_a_feature_collection_of_points_at_the_municipality_centre(client, entries):
    response = client.get("/blotter.geojson", {"lang": "fr"})
    assert response["Content-Type"].startswith("application/geo+json")
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 4
    feature = data["features"][0]
    entry = Entry.objects.get(pk=feature["properties"]["id"])
    assert feature["geometry"] == {"type": "Point", "coordinates": [entry.lon, entry.lat]}
    assert set(feature["properties"]) == {
        "id",
        "category_code",
        "category",
        "occurred_at",
        "street",
        "municipality",
        "summary",
    }
    assert feature["properties"]["category"] == "Vol"  # ?lang=fr
    assert feature["properties"]["occurred_at"] == timezone.localtime(entry.occurred_at).isoformat()
    nl = json.loads(client.get("/blotter.geojson").content)
    assert nl["features"][0]["properties"]["category"] == "Diefstal"  # default nl
    only_gent = json.loads(client.get("/blotter.geojson", {"category": "noise"}).content)
    assert [f["properties"]["summary"] for f in only_gent["features"]] == [
        "Luide muziek na middernacht"
    ]


def test_geojson_holds_the_latest_entries_only_unless_a_date_range_is_given(
    client, entries, monkeypatch
):
    monkeypatch.setattr(public_views, "GEOJSON_LIMIT", 2)
    data = json.loads(client.get("/blotter.geojson").content)
    assert len(data["features"]) == 2 and data["truncated"] is True
    assert [f["properties"]["summary"] for f in data["features"]][0] == "Gsm gestolen op de tram"
    data = json.loads(client.get("/blotter.geojson", {"from": "2000-01-01"}).content)
    assert len(data["features"]) == 4 and data["truncated"] is False


def test_csv_has_the_documented_header_and_one_row_per_entry(client, entries):
    response = client.get("/blotter.csv", {"municipality": antwerpen_nis(), "lang": "en"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [
        "id",
        "occurred_at",
        "category_code",
        "category",
        "street",
        "municipality",
        "lat",
        "lon",
        "summary",
    ]
    assert [r[3] for r in rows[1:]] == ["Theft", "Theft"]
    assert {r[5] for r in rows[1:]} == {"Antwerpen"}
    assert rows[1][8] == "Gsm gestolen op de tram"


def test_csv_cells_cannot_run_as_spreadsheet_formulas(client, db, tmp_path):
    use_policy()
    run_import(
        tmp_path,
        row("F1", summary='"=HYPERLINK(""http://evil.example"",""klik"")"'),
        row("F2", summary="+1 fiets"),
        row("F3", summary="@SUM(A1)"),
        row("F4", summary="-2 banden lek"),
    )
    publish.publish_due()
    # A person checked what the redactor was unsure about (the formula's capitals): the CSV must
    # still neutralise it.
    for entry in Entry.objects.filter(state=EntryState.REVIEW):
        publish.approve_review(entry, by=None)
    text = b"".join(client.get("/blotter.csv").streaming_content).decode("utf-8")
    summaries = sorted(r[8] for r in list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:])
    assert summaries == sorted(
        ['\'=HYPERLINK("[URL]","klik")', "'+1 fiets", "'@SUM(A1)", "'-2 banden lek"]
    )


def test_rss_lists_the_entries_with_labels_in_the_asked_language(client, entries):
    response = client.get("/feeds/blotter.xml", {"lang": "fr", "category": "theft"})
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ElementTree.fromstring(response.content).find("channel")  # noqa: S314 (our own output)
    items = channel.findall("item")
    assert len(items) == 2
    assert all(i.findtext("title").startswith("Vol — Kerkstraat, Antwerpen") for i in items)
    assert "Gsm gestolen op de tram" in items[0].findtext("description")
    assert "/fr/blotter/?municipality=" in items[0].findtext("link")


@pytest.mark.parametrize("path", ["/blotter.geojson", "/blotter.csv", "/feeds/blotter.xml"])
def test_exports_are_cacheable_and_answer_304_until_something_changes(client, entries, path):
    first = client.get(path)
    assert "max-age=60" in first["Cache-Control"] and "public" in first["Cache-Control"]
    etag = first["ETag"]
    assert client.get(path, headers={"if-none-match": etag}).status_code == 304
    # A take-down changes the answer, so the old tag no longer matches.
    Entry.objects.filter(incident__incident_id="T1").delete()
    again = client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 200 and again["ETag"] != etag


def test_exports_differ_per_filter(client, entries):
    assert (
        client.get("/blotter.geojson")["ETag"]
        != client.get("/blotter.geojson?category=noise")["ETag"]
    )


# Corrections and personal data ---------------------------------------------------------------


def test_a_withdrawn_incident_disappears_from_every_output(client, entries, tmp_path):
    for path, body in texts(client, *OUTPUTS).items():
        assert "Fiets gestolen aan het station" in body, path
    assert map_counts(client.get("/en/blotter/").content.decode())["Antwerpen"] == 2
    # The source withdraws T1: re-imported with that status, taken down by the next run.
    run_import(
        tmp_path,
        row("T1", summary="Fiets gestolen aan het station").replace(",open,", ",withdrawn,"),
    )
    publish.publish_due()
    for path, body in texts(client, *OUTPUTS).items():
        assert "Fiets gestolen aan het station" not in body, path
        assert "Gsm gestolen op de tram" in body, path
    # The map and the municipality choice count it no longer either (nothing stale is kept).
    html = client.get("/en/blotter/").content.decode()
    assert map_counts(html)["Antwerpen"] == 1
    assert "Antwerpen (1)</option>" in html


def test_a_reclassified_incident_changes_or_leaves_every_output(client, entries, tmp_path):
    run_import(tmp_path, row("T2", "domestic_violence", summary="Gsm gestolen op de tram"))
    publish.publish_due()
    for path, body in texts(client, *OUTPUTS).items():
        assert "Gsm gestolen op de tram" not in body, path


PLANTED = {
    "incident_id": "INC-PLANT-998877",
    "street": "Zonnebloemstraat 347b",
    "house_number": "347b",
    "postcode": "2060",
    "lat": "51.219876",
    "lon": "4.401234",
    "status": "dossier-QX7",
    "unit": "PATROL-ALFA-77",
    "category": "Fietsdiefstal bij Pieters",
}
SUMMARY = (
    "Mevrouw Janssens (0470 12 34 56, an.janssens@example.be, rijksregister 85.07.30-033.28) "
    "zag de auto 1-ABC-123 wegrijden aan de Zonnebloemstraat 347b."
)
# What must never appear in any public output (the exact time too: 47 minutes past).
SECRETS = [
    "INC-PLANT-998877",
    "347",
    "2060",
    "51.219876",
    "4.401234",
    "51.2198",
    "4.4012",
    "dossier-QX7",
    "PATROL-ALFA-77",
    "Pieters",
    "Janssens",
    "0470",
    "12 34 56",
    "an.janssens",
    "example.be",
    "85.07.30",
    "033.28",
    "1-ABC-123",
    ":47",
]


def planted_import(tmp_path):
    p = PLANTED
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(
        [
            p["incident_id"],
            when(13),
            "theft",
            p["category"],
            SUMMARY,
            p["street"],
            p["house_number"],
            p["postcode"],
            "Antwerpen",
            p["lat"],
            p["lon"],
            p["status"],
            p["unit"],
        ]
    )
    run_import(tmp_path, line.getvalue())
    publish.publish_due()
    assert Entry.objects.get().state == EntryState.PUBLISHED


def assert_nothing_planted_leaks(client):
    bodies = texts(
        client, *OUTPUTS, "/fr/blotter/", "/blotter.geojson?lang=en", "/feeds/blotter.xml?lang=fr"
    )
    for path, body in bodies.items():
        for secret in SECRETS:
            if secret in ("347", "2060"):
                assert not re.search(rf"\b{secret}", body), (path, secret)
            else:
                assert secret.casefold() not in body.casefold(), (path, secret)
    return bodies


def test_planted_personal_data_in_every_field_reaches_no_output_with_label_summaries(
    client, db, tmp_path
):
    use_policy(summary="label")
    planted_import(tmp_path)
    bodies = assert_nothing_planted_leaks(client)
    # The entry is there all the same: street without number, municipality, category label.
    assert "Zonnebloemstraat, Antwerpen" in bodies["/en/blotter/"]
    assert "Theft" in bodies["/en/blotter/"]


def test_planted_personal_data_reaches_no_output_with_redacted_summaries(client, db, tmp_path):
    use_policy(summary="redacted")
    planted_import(tmp_path)
    bodies = assert_nothing_planted_leaks(client)
    assert "[PHONE]" in bodies["/blotter.csv"] and "[EMAIL]" in bodies["/en/blotter/"]
    assert "[PLATE]" in bodies["/blotter.geojson"] and "[NAME]" in bodies["/feeds/blotter.xml"]


# The daily digest -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_digest_memory():
    digest._done.clear()
    yield
    digest._done.clear()


@pytest.fixture
def antwerp_area(db):
    return Area.objects.create(name="Antwerpen", slug="antwerpen", postcodes=["2000", "2018"])


def test_the_digest_drafts_one_message_per_area_and_one_for_the_rest(entries, antwerp_area):
    day = timezone.localdate()
    assert digest.draft_digests(day) == 2
    area_msg = Message.objects.get(client_key=f"blotter-digest:{day}:antwerpen")
    rest = Message.objects.get(client_key=f"blotter-digest:{day}:all")
    assert area_msg.state == "draft" and rest.state == "draft"
    assert area_msg.area == antwerp_area and rest.area is None
    assert sorted(v.language for v in area_msg.versions.all()) == ["fr", "nl"]
    nl = area_msg.versions.get(language="nl")
    assert "Politieblotter Antwerpen" in nl.title
    assert "**Diefstal**: 2 — Antwerpen (2)" in nl.body
    assert f"/nl/blotter/?municipality={antwerpen_nis()}" in nl.body
    fr = rest.versions.get(language="fr")
    assert "**Cambriolage**: 1 — Gent (1)" in fr.body and "**Tapage**: 1" in fr.body
    assert "Vol" not in fr.body  # Antwerp's thefts are in the area's digest, not here
    # Summaries stay on the page; the author cannot sign in.
    assert "gestolen" not in nl.body
    assert not area_msg.author.has_usable_password()
    assert AuditRecord.objects.filter(action="blotter.digest").count() == 2


def test_the_digest_is_drafted_once_per_area_and_day(entries, antwerp_area):
    day = timezone.localdate()
    assert digest.draft_digests(day) == 2
    assert digest.draft_digests(day) == 0
    Message.objects.filter(client_key=f"blotter-digest:{day}:all").update(state="rejected")
    assert digest.draft_digests(day) == 0
    assert Message.objects.filter(client_key__startswith="blotter-digest:").count() == 2


def test_a_day_without_entries_has_no_digest(entries):
    assert digest.draft_digests(timezone.localdate() - timedelta(days=5)) == 0
    assert not Message.objects.exists()


def test_the_worker_drafts_yesterdays_digest_after_the_digest_hour(entries, settings):
    settings.COPPS_BLOTTER_DIGEST_HOUR = 7
    tomorrow = timezone.localtime() + timedelta(days=1)
    early = tomorrow.replace(hour=6, minute=30)
    assert jobs.tick(early)["blotter_digests"] == 0
    late = tomorrow.replace(hour=7, minute=5)
    results = jobs.tick(late)
    assert results["blotter_digests"] == 1 and results["errors"] == 0
    assert jobs.tick(late + timedelta(hours=1))["blotter_digests"] == 0
    assert Message.objects.get().client_key == f"blotter-digest:{timezone.localdate()}:all"


def test_an_area_digest_reaches_the_subscribers_of_the_areas_postcodes(
    entries, antwerp_area, make_channel
):
    import secrets

    from copps.channels.deliveries import matching_subscriptions
    from copps.channels.models import Subscription
    from copps.newsroom.distribution import payload_for

    def subscribe(address, postcodes):
        return Subscription.objects.create(
            medium="email",
            address=address,
            state="active",
            language="nl",
            postcodes=postcodes,
            secret=secrets.token_hex(16),
        ).pk

    antwerp = subscribe("a@example.org", ["2018"])
    ghent = subscribe("g@example.org", ["9000"])
    everywhere = subscribe("e@example.org", [])
    digest.draft_digests(timezone.localdate())
    message = Message.objects.get(area=antwerp_area)
    payload = payload_for(message, make_channel("email"), "nl")
    reached = set(matching_subscriptions("email", "nl", payload["kind"], payload["postcodes"]))
    assert reached == {antwerp, everywhere} and ghent not in reached
