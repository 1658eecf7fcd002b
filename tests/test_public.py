"""The public site: permalinks, visibility by state, languages, caching, health check."""

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.template import loader
from django.utils import timezone
from PIL import Image

from copps.newsroom import actions
from copps.newsroom.actions import VersionInput
from copps.newsroom.models import Message, MessageImage
from copps.worker.models import Heartbeat

LANGUAGES = ["nl", "fr", "en", "de"]


@pytest.fixture
def publish(make_message, communicator, editor):
    """Publish a message with the given versions (defaults: one Dutch version)."""

    def make(versions=None, **kwargs):
        versions = versions or [VersionInput("nl", "Fietsdiefstallen aan het station", "Tekst.")]
        message, _created = actions.create_message(by=communicator, versions=versions, **kwargs)
        actions.submit_message(message, by=communicator, override_reason="test")
        actions.approve_message(message, by=editor)
        return message

    return make


def add_image(message, alt_text="Een fietsenstalling aan het station"):
    """Attach a small real image (test set-up only; the app writes through actions.add_image)."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 40, 90)).save(buf, "PNG")
    image = MessageImage(message=message, alt_text=alt_text, sha256="0" * 64)
    image.file.save("test.png", ContentFile(buf.getvalue()), save=False)
    image.width, image.height = 40, 30
    image.save()
    return image


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# Permalinks and short links ------------------------------------------------------------------


def test_it_shows_a_published_message_on_its_permalink_in_its_language(client, published_message):
    path = published_message.permalink_path("nl")
    assert path.startswith(f"/nl/news/{published_message.pk}-fietsdiefstallen")
    response = client.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fietsdiefstallen aan het station" in body
    assert "Wees alert en sluit je fiets altijd op slot." in body
    assert '<html lang="nl">' in body


def test_the_short_link_redirects_to_the_permalink(client, published_message):
    response = client.get(f"/m/{published_message.pk}")
    assert response.status_code == 302
    assert response["Location"] == published_message.permalink_path("nl")
    assert client.get(response["Location"]).status_code == 200


def test_the_short_link_prefers_the_readers_language(client, publish):
    message = publish(
        [VersionInput("nl", "Wegenwerken", "Tekst."), VersionInput("fr", "Travaux", "Texte.")]
    )
    response = client.get(f"/m/{message.pk}", headers={"accept-language": "fr-BE,fr;q=0.9"})
    assert response["Location"] == f"/fr/news/{message.pk}-travaux/"


def test_a_wrong_slug_redirects_permanently_to_the_permalink(client, published_message):
    response = client.get(f"/nl/news/{published_message.pk}-old-title/")
    assert response.status_code == 301
    assert response["Location"] == published_message.permalink_path("nl")
    response = client.get(f"/nl/news/{published_message.pk}/")
    assert response.status_code == 301


@pytest.mark.parametrize("state", ["draft", "submitted", "approved", "scheduled"])
def test_unpublished_messages_are_not_found(client, make_message, communicator, editor, state):
    message = make_message(communicator)
    if state != "draft":
        actions.submit_message(message, by=communicator)
    if state in ("approved", "scheduled"):
        actions.approve_message(message, by=editor, publish_at=timezone.now() + timedelta(days=1))
        if state == "approved":
            actions.unschedule_message(message, by=editor)
    message.refresh_from_db()
    assert message.state == state
    assert client.get(message.permalink_path("nl")).status_code == 404
    assert client.get(f"/nl/news/{message.pk}/").status_code == 404
    assert client.get(f"/m/{message.pk}").status_code == 404
    assert "Fietsdiefstallen" not in client.get("/nl/news/").content.decode()


def test_an_unknown_message_is_not_found(client, db):
    assert client.get("/nl/news/999999-nothing/").status_code == 404
    assert client.get("/m/999999").status_code == 404


def test_a_retracted_message_answers_410_without_its_text(client, published_message, editor):
    path = published_message.permalink_path("nl")
    actions.retract_message(published_message, by=editor, reason="Verkeerde persoon genoemd")
    response = client.get(path)
    assert response.status_code == 410
    body = response.content.decode()
    assert "Fietsdiefstallen" not in body
    assert "Wees alert" not in body
    assert "Verkeerde persoon" not in body  # the internal reason is not published
    assert "De tekst is niet meer beschikbaar." in body  # the notice, in the page's language
    assert 'name="robots" content="noindex"' in body
    # The short link leads to the same notice, without repeating the title in a URL.
    redirect = client.get(f"/m/{published_message.pk}")
    assert "fietsdiefstallen" not in redirect["Location"]
    assert client.get(redirect["Location"]).status_code == 410


def test_a_corrected_message_shows_the_correction_note_and_date(
    client, published_message, editor, second_editor
):
    correction = actions.propose_correction(
        published_message,
        by=editor,
        note="Het waren twaalf fietsen, niet vijftien.",
        versions=[VersionInput("nl", "Fietsdiefstallen aan het station", "Twaalf fietsen.")],
    )
    # Proposed, not approved: readers see the published text without any correction note.
    body = client.get(published_message.permalink_path("nl")).content.decode()
    assert "Twaalf fietsen." not in body
    assert "notice-correction" not in body and "twaalf fietsen, niet vijftien" not in body
    actions.approve_correction(correction, by=second_editor)
    response = client.get(published_message.permalink_path("nl"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Het waren twaalf fietsen, niet vijftien." in body
    assert "notice-correction" in body
    published_message.refresh_from_db()
    assert f'datetime="{timezone.localtime(published_message.corrected_at).isoformat()}"' in body
    assert "Twaalf fietsen." in body


def test_an_expired_message_keeps_its_page_with_a_note_but_leaves_the_lists(
    client, published_message
):
    Message.objects.filter(pk=published_message.pk).update(expires_at=timezone.now())
    assert actions.expire_due(now=timezone.now() + timedelta(seconds=1)) == 1
    response = client.get(published_message.permalink_path("nl"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "notice-expired" in body
    assert "Wees alert" in body
    assert "Fietsdiefstallen" not in client.get("/nl/news/").content.decode()
    assert "Fietsdiefstallen" not in client.get("/nl/").content.decode()


def test_a_message_past_its_expiry_time_leaves_the_list_before_the_worker_runs(client, publish):
    message = publish(expires_at=timezone.now() + timedelta(seconds=1))
    Message.objects.filter(pk=message.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "Fietsdiefstallen" not in client.get("/nl/news/").content.decode()
    assert "notice-expired" in client.get(message.permalink_path("nl")).content.decode()


def test_script_and_event_handlers_in_the_body_are_stripped(client, publish):
    message = publish(
        [
            VersionInput(
                "nl",
                "Veilig",
                "Tekst <script>alert('x')</script> en <img src=x onerror=alert(1)> "
                '<a href="javascript:alert(2)">klik</a>',
            )
        ]
    )
    body = client.get(message.permalink_path("nl")).content.decode()
    assert "<script" not in body
    assert "onerror" not in body
    assert "javascript:" not in body


def test_the_title_is_escaped(client, publish):
    message = publish([VersionInput("nl", "<b onmouseover=x>Titel</b>", "Tekst.")])
    body = client.get(message.permalink_path("nl")).content.decode()
    assert "<b onmouseover" not in body
    assert "&lt;b onmouseover=x&gt;Titel&lt;/b&gt;" in body


def test_the_detail_page_shows_images_with_their_alt_text(client, published_message):
    add_image(published_message, alt_text='Fietsen "aan" de stalling')
    body = client.get(published_message.permalink_path("nl")).content.decode()
    assert 'alt="Fietsen &quot;aan&quot; de stalling"' in body
    assert 'width="40" height="30"' in body
    assert 'property="og:image"' in body


def test_the_detail_page_links_its_other_language_versions(client, publish, settings):
    message = publish(
        [VersionInput("nl", "Wegenwerken", "Tekst."), VersionInput("fr", "Travaux", "Texte.")]
    )
    body = client.get(message.permalink_path("nl")).content.decode()
    site = settings.SITE_URL
    assert f'<link rel="canonical" href="{site}/nl/news/{message.pk}-wegenwerken/">' in body
    assert f'hreflang="fr" href="{site}/fr/news/{message.pk}-travaux/"' in body
    assert f'href="/fr/news/{message.pk}-travaux/" hreflang="fr" lang="fr"' in body
    assert 'type="application/rss+xml"' in body
    # The language switcher goes straight to the French version.
    assert f'<a href="/fr/news/{message.pk}-travaux/" lang="fr" hreflang="fr"' in body


def test_a_message_without_a_version_in_the_readers_language_is_shown_in_another(
    client, published_message, settings
):
    path = f"/en/news/{published_message.pk}-fietsdiefstallen-aan-het-station/"
    response = client.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert '<h1 lang="nl">Fietsdiefstallen aan het station</h1>' in body
    assert "not available in your language" in body
    canonical = settings.SITE_URL + published_message.permalink_path("nl")
    assert f'<link rel="canonical" href="{canonical}">' in body


# Languages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_url_works(client, published_message, language):
    for path in (f"/{language}/", f"/{language}/news/", f"/{language}/pages/house-rules/"):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert f'<html lang="{language}">' in body
        # Links to every other language, in that language's own name.
        for other in LANGUAGES:
            assert f'lang="{other}" hreflang="{other}"' in body


def test_the_root_redirects_to_the_readers_language(client, db, settings):
    settings.LANGUAGE_CODE = "nl"
    assert client.get("/", headers={"accept-language": "fr"})["Location"] == "/fr/"
    assert client.get("/", headers={"accept-language": "xx"})["Location"] == "/nl/"


def test_the_home_page_lists_the_latest_news_in_the_readers_language(client, publish):
    publish([VersionInput("nl", "Alleen Nederlands", "Tekst.")])
    publish([VersionInput("fr", "Seulement en français", "Texte.")])
    nl = client.get("/nl/").content.decode()
    assert "Alleen Nederlands" in nl and "Seulement en français" not in nl
    fr = client.get("/fr/").content.decode()
    assert "Seulement en français" in fr and "Alleen Nederlands" not in fr
    # German: nothing written in German, so the latest news in other languages, marked.
    de = client.get("/de/").content.decode()
    assert "Alleen Nederlands" in de and 'lang="nl"' in de


# The news list -------------------------------------------------------------------------------


def test_the_news_list_filters_by_kind(client, publish):
    publish([VersionInput("nl", "Omleiding Kerkstraat", "Tekst.")], kind="traffic")
    publish([VersionInput("nl", "Gratis inbraakadvies", "Tekst.")], kind="prevention")
    body = client.get("/nl/news/?kind=traffic").content.decode()
    assert "Omleiding Kerkstraat" in body and "Gratis inbraakadvies" not in body
    assert '<option value="traffic" selected>' in body
    assert '<label for="kind">' in body


def test_the_news_list_can_include_other_languages(client, publish):
    publish([VersionInput("fr", "Seulement en français", "Texte.")])
    assert "Seulement en français" not in client.get("/nl/news/").content.decode()
    assert "Seulement en français" in client.get("/nl/news/?all=1").content.decode()


def test_the_news_list_is_paginated(client, publish, settings):
    from copps.public import views

    for i in range(views.NEWS_PER_PAGE + 3):
        publish([VersionInput("nl", f"Bericht nummer {i:02d}", "Tekst.")], kind="traffic")
    first = client.get("/nl/news/?kind=traffic").content.decode()
    assert "Bericht nummer 22" in first and "Bericht nummer 00" not in first
    assert 'href="?kind=traffic&amp;page=2"' in first
    second = client.get("/nl/news/?kind=traffic&page=2").content.decode()
    assert "Bericht nummer 00" in second and "Bericht nummer 22" not in second


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-1",
        "page=0",
        "page=99999999999999999999",
        "page=" + "9" * 5000,
        "kind=<script>alert(1)</script>",
        "kind=traffic&kind=news",
        "all=<x>",
        "page=1.5&kind=%00",
    ],
)
def test_bad_query_parameters_never_cause_an_error(client, published_message, query):
    response = client.get(f"/nl/news/?{query}")
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.content.decode()


def test_bad_feed_parameters_never_cause_an_error(client, published_message):
    for query in ("lang=<script>", "lang=", "lang=xx", "lang=nl&lang=fr"):
        assert client.get(f"/feeds/news.xml?{query}").status_code == 200


# Speed, caching, cookies ---------------------------------------------------------------------


def test_public_news_pages_may_be_cached_for_a_minute(client, published_message):
    for path in ("/nl/news/", published_message.permalink_path("nl"), "/nl/pages/privacy/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "public" in response["Cache-Control"], path
        assert "max-age=60" in response["Cache-Control"], path


def test_the_home_page_is_cached_briefly_so_crisis_mode_reaches_readers_fast(
    client, published_message, settings
):
    settings.COPPS_PUBLIC_CROWD_MAX_AGE = 7
    response = client.get("/nl/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=7"


def test_public_pages_set_no_cookies_and_do_not_vary_on_them(client, published_message):
    for path in ("/nl/", "/nl/news/", published_message.permalink_path("nl"), "/nl/pages/privacy/"):
        response = client.get(path)
        assert not response.cookies, path
        assert "Cookie" not in response.get("Vary", ""), path


def test_the_health_check_is_never_cached(client, db):
    assert "no-store" in client.get("/healthz")["Cache-Control"]


def test_the_home_and_news_pages_use_a_fixed_number_of_queries(
    client, publish, django_assert_max_num_queries
):
    for i in range(12):
        message = publish(
            [
                VersionInput("nl", f"Bericht {i}", "Tekst."),
                VersionInput("fr", f"Message {i}", "Texte."),
            ]
        )
        add_image(message)
    with django_assert_max_num_queries(4):
        assert client.get("/nl/").status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get("/nl/news/").status_code == 200
    # 5: the fifth reads the comment thread under the article (one query however long).
    with django_assert_max_num_queries(5):
        assert client.get(message.permalink_path("nl")).status_code == 200


def test_the_stylesheet_stays_small():
    from pathlib import Path

    import copps.public

    css = Path(copps.public.__file__).parent / "static" / "public" / "site.css"
    assert css.stat().st_size < 15_000
    assert "@font-face" not in css.read_text()


# Health check --------------------------------------------------------------------------------


def test_healthz_is_503_without_a_worker_heartbeat(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"] == "missing"


def test_healthz_is_503_with_a_stale_heartbeat(client, db, settings):
    stale = timezone.now() - timedelta(seconds=settings.COPPS_WORKER_STALE_SECONDS + 5)
    Heartbeat.objects.create(worker_id="w1", seen_at=stale)
    assert client.get("/healthz").status_code == 503


def test_healthz_is_200_with_a_fresh_heartbeat(client, db):
    Heartbeat.objects.create(worker_id="w1", seen_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "worker": "ok"}


# Error pages ---------------------------------------------------------------------------------


def test_an_unknown_page_gets_the_sites_404_page(client, db):
    response = client.get("/en/does-not-exist/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert 'href="/en/news/"' in body


def test_the_500_page_renders_without_a_request_or_the_database(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        html = loader.get_template("500.html").render()
    assert "Something went wrong" in html
    assert "112" in html
    assert "public/site.css" in html
