"""RSS and Atom feeds: published items with permalinks, nothing else, valid XML."""

import xml.etree.ElementTree as ET

import pytest

from copps.newsroom import actions
from copps.newsroom.actions import VersionInput

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def publish(communicator, editor):
    def make(versions, **kwargs):
        message, _created = actions.create_message(by=communicator, versions=versions, **kwargs)
        actions.submit_message(message, by=communicator, override_reason="test")
        actions.approve_message(message, by=editor)
        return message

    return make


def rss_items(client, query=""):
    response = client.get("/feeds/news.xml" + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own output)
    return [
        {
            "title": item.findtext("title"),
            "link": item.findtext("link"),
            "guid": item.findtext("guid"),
            "description": item.findtext("description"),
        }
        for item in root.iter("item")
    ]


def atom_entries(client, query=""):
    response = client.get("/feeds/news.atom" + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own output)
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "link": entry.find(f"{ATOM}link").get("href"),
            "id": entry.findtext(f"{ATOM}id"),
            "updated": entry.findtext(f"{ATOM}updated"),
        }
        for entry in root.iter(f"{ATOM}entry")
    ]


def test_the_rss_feed_contains_published_items_with_their_permalink(client, published_message):
    items = rss_items(client)
    assert len(items) == 1
    assert items[0]["title"] == "Fietsdiefstallen aan het station"
    assert items[0]["link"] == published_message.permalink("nl")
    assert items[0]["guid"] == published_message.permalink("nl")
    assert "Wees alert" in items[0]["description"]


def test_the_atom_feed_contains_published_items_with_their_permalink(client, published_message):
    entries = atom_entries(client)
    assert len(entries) == 1
    assert entries[0]["title"] == "Fietsdiefstallen aan het station"
    assert entries[0]["link"] == published_message.permalink("nl")


def test_feeds_leave_out_drafts_submitted_scheduled_and_retracted_messages(
    client, publish, make_message, communicator, editor
):
    from datetime import timedelta

    from django.utils import timezone

    make_message(communicator, title="Nog een kladversie")
    submitted = make_message(communicator, title="Wacht op nazicht")
    actions.submit_message(submitted, by=communicator)
    scheduled = make_message(communicator, title="Komt morgen")
    actions.submit_message(scheduled, by=communicator)
    actions.approve_message(scheduled, by=editor, publish_at=timezone.now() + timedelta(days=1))
    retracted = publish([VersionInput("nl", "Ingetrokken bericht", "Tekst.")])
    actions.retract_message(retracted, by=editor, reason="fout")
    publish([VersionInput("nl", "Zichtbaar bericht", "Tekst.")])

    for titles in (
        [i["title"] for i in rss_items(client)],
        [e["title"] for e in atom_entries(client)],
    ):
        assert titles == ["Zichtbaar bericht"]


def test_the_lang_parameter_narrows_a_feed_to_one_language(client, publish):
    message = publish(
        [VersionInput("nl", "Wegenwerken", "Tekst."), VersionInput("fr", "Travaux", "Texte.")]
    )
    publish([VersionInput("nl", "Alleen Nederlands", "Tekst.")])
    assert {i["title"] for i in rss_items(client)} == {
        "Wegenwerken",
        "Travaux",
        "Alleen Nederlands",
    }
    fr = rss_items(client, "?lang=fr")
    assert [i["title"] for i in fr] == ["Travaux"]
    assert fr[0]["link"] == message.permalink("fr")
    assert {e["title"] for e in atom_entries(client, "?lang=nl")} == {
        "Wegenwerken",
        "Alleen Nederlands",
    }
    # An unknown language is ignored rather than an error or an empty feed.
    assert len(rss_items(client, "?lang=xx")) == 3


def test_a_corrected_item_carries_its_note_escaped_and_its_update_time(
    client, published_message, editor, second_editor
):
    correction = actions.propose_correction(
        published_message,
        by=editor,
        note="Fout aantal <script>x</script>",
        versions=[VersionInput("nl", "Fietsdiefstallen aan het station", "Twaalf fietsen.")],
    )
    assert "Fout aantal" not in rss_items(client)[0]["description"]  # not before approval
    actions.approve_correction(correction, by=second_editor)
    description = rss_items(client)[0]["description"]
    assert "Fout aantal &lt;script&gt;" in description
    assert "<script>" not in description
    published_message.refresh_from_db()
    entry = atom_entries(client)[0]
    assert entry["updated"].startswith(published_message.corrected_at.strftime("%Y-%m-%dT%H:%M"))


def test_item_bodies_are_sanitised(client, publish):
    publish([VersionInput("nl", "Titel", "Tekst <script>alert(1)</script><img src=x onerror=y>")])
    description = rss_items(client)[0]["description"]
    assert "<script" not in description
    assert "onerror" not in description


def test_feeds_may_be_cached_for_a_minute(client, published_message):
    for path in ("/feeds/news.xml", "/feeds/news.atom?lang=nl"):
        cache_control = client.get(path)["Cache-Control"]
        assert "public" in cache_control and "max-age=60" in cache_control


def test_feeds_are_advertised_on_the_public_pages(client, published_message):
    body = client.get("/fr/").content.decode()
    assert '<link rel="alternate" type="application/rss+xml"' in body
    assert 'href="/feeds/news.xml?lang=fr"' in body
    assert 'href="/feeds/news.atom?lang=fr"' in body
