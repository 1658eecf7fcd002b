"""End to end in Chromium: an administrator adds listening sources through the console (a
Telegram public channel, a webhook whose address is shown once), asks for a poll and sees the
list; every page passes axe-core (WCAG 2.2 AA).

Set ``COPPS_SCREENSHOTS=<dir>`` to keep a desktop and a narrow mobile screenshot of every page.
"""

import json

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from copps.accounts.models import Role
from copps.listening.models import Purpose, Source

from .conftest import sign_in
from .test_channels_e2e import shoot  # axe-core, then screenshots under COPPS_SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_administrator_adds_sources_and_sees_them_listed(new_page, make_user):
    make_user(Role.ADMIN, "dirk")
    mood = Purpose.objects.create(name="Public mood", kind="mood")
    Source.objects.create(
        kind="rss",
        name="Het Nieuwsblad — Gent",
        config={"url": "https://www.nieuwsblad.be/rss/section/gent", "interval": 600},
        cursor=json.dumps({"etag": '"5f1"', "modified": "", "seen": ["a"] * 20}),
        received=1843,
        skipped=2,
        last_polled_at=timezone.now(),
    )
    Source.objects.create(
        kind="mastodon",
        name="Mastodon #politie",
        config={"instance": "https://mastodon.social", "tag": "politie", "streaming": True},
        cursor="113912345678901234",
        received=512,
        last_error="SourceError: timeline answered HTTP 503",
        last_polled_at=timezone.now(),
    )
    Source.objects.create(
        kind="own", name="Our channels", config={"purpose": mood.pk}, cursor="4211|4207"
    )
    Source.objects.create(kind="bluesky", name="Bluesky Jetstream", enabled=False)

    page = new_page()
    sign_in(page, "dirk")
    page.goto("/console/listening/sources/")
    expect(page.get_by_role("heading", name="Sources", exact=True)).to_be_visible()
    shoot(page, "sources-list")

    page.get_by_role("link", name="Add a source").click()
    shoot(page, "sources-kinds")
    page.get_by_role("link", name="Telegram public channel").click()
    page.get_by_label("Name", exact=True).fill("Politie België (Telegram)")
    page.get_by_role("textbox", name="Public channel").fill("ab")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("4 to 32 letters")).to_be_visible()
    shoot(page, "sources-telegram-form-error")
    page.get_by_role("textbox", name="Public channel").fill("politiebe")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/console/listening/sources/")
    source = Source.objects.get(kind="telegram")
    assert source.config == {"channel": "politiebe", "backfill": 0, "interval": 300}

    page.get_by_role("button", name="Poll now Politie België (Telegram)").click()
    expect(page.get_by_text("The worker polls")).to_be_visible()

    page.goto("/console/listening/sources/new/mastodon")
    shoot(page, "sources-mastodon-form")

    page.goto("/console/listening/sources/new/webhook")
    page.get_by_label("Name", exact=True).fill("Dispatch centre")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    url = page.locator("#hook-url").inner_text()
    hook = Source.objects.get(kind="webhook")
    assert url.startswith(f"{page.url.split('/console')[0]}/hooks/listening/{hook.pk}/")
    shoot(page, "sources-webhook-token")


def test_an_administrator_imports_a_file_and_sees_the_lines_skipped(new_page, make_user):
    make_user(Role.ADMIN, "dirk")
    archive = Source.objects.create(kind="import", name="Archive 2025")
    page = new_page()
    sign_in(page, "dirk")
    page.goto(f"/console/listening/sources/{archive.pk}/import")
    content = (
        b'{"id": "1", "text": "Brand in de haven van Gent"}\n'
        b"{not json\n"
        b'{"id": "2"}\n'
        b'{"id": "3", "text": "Fietsendiefstal aan het station"}\n'
    )
    page.get_by_label("File").set_input_files(
        {"name": "posts.jsonl", "mimeType": "application/json", "buffer": content}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    expect(page.get_by_text("missing, empty, oversized or invalid text")).to_be_visible()
    assert Source.objects.get(pk=archive.pk).received == 2
    shoot(page, "sources-import-report")
