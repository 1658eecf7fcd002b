"""The listening sources console (copps.listening.source_views / source_forms / actions):
who may see and change sources, each kind's form, secrets never shown back nor audited, webhook
tokens shown once, file imports with their per-line errors, "poll now", and hostile input."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from copps.accounts.models import Role
from copps.audit.models import AuditRecord
from copps.lib import http
from copps.listening import actions, runner
from copps.listening.models import Post, Purpose, PurposeKind, Source

pytestmark = pytest.mark.django_db

BASE = "/console/listening/sources/"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
MASTODON_TOKEN = "masto-secret-token-0123456789abcdef"
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><guid>a1</guid><title>Brand in de haven</title></item></channel></rss>"
)


@pytest.fixture(autouse=True)
def no_network():
    """Names are not resolved under ``http.fake`` (literal addresses are still checked)."""
    with http.fake(lambda request: httpx.Response(200, content=FEED)) as seen:
        yield seen


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin(admin_user) -> Client:
    return client_for(admin_user)


def form(**fields) -> dict:
    return {"enabled": "on", **fields}


def audit_text() -> str:
    return json.dumps(list(AuditRecord.objects.values("action", "data")))


# Access ------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(db):
    response = Client().get(BASE)
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("role", [Role.COACH, Role.OFFICER, Role.COMMANDER])
def test_staff_who_do_not_listen_do_not_find_the_sources(make_user, role):
    client = client_for(make_user(role))
    assert client.get(BASE).status_code == 404
    assert client.get(BASE + "new").status_code == 404


@pytest.mark.parametrize("role", [Role.COMMUNICATOR, Role.ANALYST, Role.EDITOR, Role.INVESTIGATOR])
def test_listening_staff_see_the_list_read_only(make_user, role):
    source = Source.objects.create(
        kind="mastodon",
        name="Mastodon #politie",
        config={"instance": "https://m.example", "tag": "politie", "token": MASTODON_TOKEN},
    )
    client = client_for(make_user(role))
    page = client.get(BASE)
    assert page.status_code == 200
    assert "Mastodon #politie" in page.content.decode()
    assert MASTODON_TOKEN not in page.content.decode()
    assert "Add a source" not in page.content.decode()
    assert f"{source.pk}/edit" not in page.content.decode()
    assert client.get(BASE + "new").status_code == 403
    assert client.get(BASE + "new/rss").status_code == 403
    assert client.get(f"{BASE}{source.pk}/edit").status_code == 403
    for action in ("enabled", "poll", "token", "import"):
        assert client.post(f"{BASE}{source.pk}/{action}").status_code == 403
    source.refresh_from_db()
    assert source.enabled and source.poll_requested_at is None


def test_writes_are_post_only(admin):
    source = Source.objects.create(kind="rss", name="Feed", config={"url": "https://e.example/f"})
    for action in ("enabled", "poll", "token"):
        assert admin.get(f"{BASE}{source.pk}/{action}").status_code == 405
    assert admin.put(f"{BASE}{source.pk}/edit").status_code == 405


def test_the_actions_refuse_anyone_but_a_source_manager(make_user):
    editor = make_user(Role.EDITOR)
    source = Source.objects.create(kind="webhook", name="Hook")
    with pytest.raises(PermissionDenied):
        actions.save_source(None, by=editor, kind="import", name="Import")
    with pytest.raises(PermissionDenied):
        actions.set_source_enabled(source, by=editor, enabled=False)
    with pytest.raises(PermissionDenied):
        actions.rotate_webhook_token(source, by=editor)


def test_an_unknown_kind_or_source_is_a_404(admin):
    assert admin.get(BASE + "new/telnet").status_code == 404
    assert admin.get(f"{BASE}999999/edit").status_code == 404
    assert admin.post(f"{BASE}999999/enabled", {"enabled": "0"}).status_code == 404


# The list --------------------------------------------------------------------------------------


def test_the_list_shows_state_counts_and_the_cursor_in_words(admin):
    Source.objects.create(
        kind="rss",
        name="Gazet",
        config={"url": "https://gazet.example/feed.xml", "interval": 600},
        cursor=json.dumps({"etag": "x", "modified": "", "seen": ["a", "b", "c"]}),
        received=12,
        skipped=3,
        last_error="SourceError: feed answered HTTP 500",
        last_polled_at=timezone.now(),
    )
    Source.objects.create(kind="own", name="Ours", config={"purpose": 1}, cursor="1234|1229,1231")
    Source.objects.create(kind="bluesky", name="Sky", cursor="1751623200000000", enabled=False)
    page = admin.get(BASE).content.decode()
    assert "3 entries seen in the last fetch · ETag x" in page
    assert "polled every 600 s" in page
    assert "feed answered HTTP 500" in page and "Failing" in page
    assert "after inbox entry 1234, 2 earlier ids awaited" in page
    assert "events up to 2025-07-04 10:00:00 UTC" in page
    assert "Switched off" in page
    assert "Add a source" in page


# RSS -----------------------------------------------------------------------------------------


def test_an_administrator_adds_an_rss_feed(admin, admin_user):
    response = admin.post(
        BASE + "new/rss", form(name="Gazet", url="https://gazet.example/feed.xml", interval=600)
    )
    assert response.status_code == 302
    source = Source.objects.get(name="Gazet")
    assert source.kind == "rss" and source.enabled
    assert source.config == {
        "url": "https://gazet.example/feed.xml",
        "interval": 600,
        "allow_private": False,
    }
    record = AuditRecord.objects.get(action="listening.source.create")
    assert record.actor == admin_user.username
    assert record.data["config"]["url"] == "https://gazet.example/feed.xml"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://gazet.example/feed", "Enter an http or https address."),
        ("javascript:alert(1)", "Enter an http or https address."),
        ("http://127.0.0.1/feed.xml", "private, loopback or reserved"),
        ("http://[::1]/feed.xml", "private, loopback or reserved"),
        ("http://169.254.169.254/latest/meta-data", "private, loopback or reserved"),
        ("https://" + "a" * 600 + ".example/", "at most 500 characters"),
        ("", "This field is required."),
    ],
)
def test_bad_or_private_feed_addresses_are_refused_with_a_clear_error(admin, url, message):
    response = admin.post(BASE + "new/rss", form(name="Bad", url=url, interval=300))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Source.objects.exists()


def test_a_private_address_is_accepted_when_the_administrator_says_so(admin):
    response = admin.post(
        BASE + "new/rss",
        form(name="LAN", url="http://10.0.0.5/feed.xml", interval=300, allow_private="on"),
    )
    assert response.status_code == 302
    assert Source.objects.get().config["allow_private"] is True


@pytest.mark.parametrize("interval", ["0", "59", "86401", "-5", "ten", "1e9"])
def test_an_interval_out_of_range_is_refused(admin, interval):
    response = admin.post(
        BASE + "new/rss", form(name="Gazet", url="https://g.example/f", interval=interval)
    )
    assert response.status_code == 400


def test_a_host_that_does_not_resolve_is_refused(admin, monkeypatch):
    import socket

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    # Resolve names, as in production (the autouse fake is put back before it ends itself).
    faked, http._override.handler = http._override.handler, None
    try:
        response = admin.post(
            BASE + "new/rss", form(name="Typo", url="https://gazet.invalid/feed", interval=300)
        )
    finally:
        http._override.handler = faked
    assert response.status_code == 400
    assert "does not resolve" in response.content.decode()


def test_hostile_names_are_form_errors_not_500s(admin):
    for name in ["x" * 121, "nul\x00byte", "   "]:
        response = admin.post(BASE + "new/import", form(name=name))
        assert response.status_code == 400, name
    assert not Source.objects.exists()


def test_editing_keeps_settings_the_console_does_not_manage(admin):
    source = Source.objects.create(
        kind="rss", name="Feed", config={"url": "https://a.example/f", "extra": "kept"}
    )
    page = admin.get(f"{BASE}{source.pk}/edit").content.decode()
    assert "https://a.example/f" in page
    response = admin.post(
        f"{BASE}{source.pk}/edit", form(name="Feed 2", url="https://b.example/f", interval=900)
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.name == "Feed 2"
    assert source.config == {
        "url": "https://b.example/f",
        "interval": 900,
        "allow_private": False,
        "extra": "kept",
    }


# Mastodon: the token is a secret --------------------------------------------------------------


def mastodon(**extra) -> dict:
    return form(
        name="Mastodon #politie",
        instance="https://mastodon.example/",
        timeline="hashtag",
        tag="#politie",
        interval=300,
        **extra,
    )


def test_a_mastodon_token_is_stored_never_shown_back_and_never_audited(admin):
    assert admin.post(BASE + "new/mastodon", mastodon(token=MASTODON_TOKEN)).status_code == 302
    source = Source.objects.get()
    assert source.config["token"] == MASTODON_TOKEN  # as the adapter reads it today
    assert source.config["instance"] == "https://mastodon.example"
    assert source.config["tag"] == "politie"
    assert source.config["streaming"] is False
    edit = admin.get(f"{BASE}{source.pk}/edit").content.decode()
    assert MASTODON_TOKEN not in edit
    assert "A token is set" in edit and "Remove the stored token" in edit
    # Empty keeps it; a new one replaces it; "remove" removes it.
    assert admin.post(f"{BASE}{source.pk}/edit", mastodon(streaming="on")).status_code == 302
    source.refresh_from_db()
    assert source.config["token"] == MASTODON_TOKEN and source.config["streaming"] is True
    admin.post(f"{BASE}{source.pk}/edit", mastodon(token="another-token-value"))
    source.refresh_from_db()
    assert source.config["token"] == "another-token-value"
    admin.post(f"{BASE}{source.pk}/edit", mastodon(remove_token="on"))
    source.refresh_from_db()
    assert "token" not in source.config
    text = audit_text()
    assert MASTODON_TOKEN not in text and "another-token-value" not in text
    secrets = [
        r.data["secrets"] for r in AuditRecord.objects.filter(action__startswith="listening.source")
    ]
    assert secrets == [{"token": "set"}, {}, {"token": "set"}, {"token": "removed"}]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tag": ""}, "A hashtag timeline needs a hashtag."),
        ({"tag": "two words"}, "letters, digits and _ only"),
        ({"tag": "<script>"}, "letters, digits and _ only"),
        ({"timeline": "home"}, "Select a valid choice"),
        ({"instance": "mastodon.example"}, "Enter an http or https address."),
        ({"instance": "http://192.168.1.1"}, "private, loopback or reserved"),
    ],
)
def test_bad_mastodon_settings_are_form_errors(admin, fields, message):
    response = admin.post(BASE + "new/mastodon", {**mastodon(), **fields})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_public_timeline_needs_no_hashtag(admin):
    response = admin.post(
        BASE + "new/mastodon", {**mastodon(), "timeline": "public", "tag": "", "local": "on"}
    )
    assert response.status_code == 302
    config = Source.objects.get().config
    assert config["timeline"] == "public" and config["local"] is True and "tag" not in config


# Bluesky ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("", 302, ""),
        ("wss://jetstream.example/subscribe", 302, ""),
        ("https://jetstream.example/subscribe", 400, "wss://"),
        ("wss://127.0.0.1:6008/subscribe", 400, "private, loopback or reserved"),
    ],
)
def test_bluesky_takes_an_optional_jetstream_address(admin, url, status, message):
    response = admin.post(BASE + "new/bluesky", form(name="Bluesky", url=url))
    assert response.status_code == status
    assert message in response.content.decode()
    if status == 302:
        source = Source.objects.get()
        assert source.config.get("url", "") == url
        assert "streamed by listening_run" in admin.get(BASE).content.decode()


# Telegram ---------------------------------------------------------------------------------------


def telegram(**fields) -> dict:
    return form(name="Telegram", interval=300, **fields)


def test_a_public_telegram_channel_is_read_from_its_preview(admin):
    response = admin.post(
        BASE + "new/telegram", telegram(mode="preview", channel="@politiebe", backfill=2)
    )
    assert response.status_code == 302
    assert Source.objects.get().config == {"channel": "politiebe", "backfill": 2, "interval": 300}


def test_a_telegram_bot_needs_a_token_and_keeps_it_secret(admin):
    response = admin.post(
        BASE + "new/telegram", telegram(mode="bot", chats="@politiegent, -1001234")
    )
    assert response.status_code == 400
    assert "needs its token" in response.content.decode()
    response = admin.post(
        BASE + "new/telegram",
        telegram(mode="bot", token=BOT_TOKEN, chats="@politiegent\n-1001234"),
    )
    assert response.status_code == 302
    source = Source.objects.get()
    assert source.config == {
        "token": BOT_TOKEN,
        "chats": ["@politiegent", "-1001234"],
        "interval": 300,
    }
    edit = admin.get(f"{BASE}{source.pk}/edit").content.decode()
    assert BOT_TOKEN not in edit and "A token is set" in edit
    # Kept when left empty; switching to the web preview drops the bot's token and chats.
    assert admin.post(f"{BASE}{source.pk}/edit", telegram(mode="bot")).status_code == 302
    source.refresh_from_db()
    assert source.config["token"] == BOT_TOKEN
    response = admin.post(f"{BASE}{source.pk}/edit", telegram(mode="preview", channel="politiebe"))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.config == {"channel": "politiebe", "backfill": 0, "interval": 300}
    assert BOT_TOKEN not in audit_text()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mode": "preview", "channel": "ab"}, "4 to 32 letters"),
        ({"mode": "preview", "channel": "politie/../x"}, "4 to 32 letters"),
        ({"mode": "preview", "channel": "politiebe", "backfill": "11"}, "less than or equal to 10"),
        ({"mode": "bot", "token": "not a token"}, "looks like 123456789:AA"),
        (
            {"mode": "bot", "token": BOT_TOKEN, "chats": "@ok_name, bad chat!"},
            "Not a channel name or id",
        ),
        ({"mode": "carrier-pigeon"}, "Select a valid choice"),
    ],
)
def test_bad_telegram_settings_are_form_errors(admin, fields, message):
    response = admin.post(BASE + "new/telegram", telegram(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert BOT_TOKEN not in response.content.decode()


# Our own channels ----------------------------------------------------------------------------


def test_our_channels_take_a_communication_purpose_and_refuse_an_investigation(admin, admin_user):
    mood = Purpose.objects.create(name="Public mood", kind=PurposeKind.MOOD)
    case = Purpose.objects.create(
        name="Case 7",
        kind=PurposeKind.INVESTIGATION,
        case_reference="PV-7",
        legal_basis="Art. 46",
        authorised_by="OR",
        ends_on=timezone.now().date() + timedelta(days=9),
    )
    page = admin.get(BASE + "new/own").content.decode()
    assert "Public mood" in page and "Case 7" not in page
    response = admin.post(BASE + "new/own", form(name="Ours", purpose=case.pk, interval=300))
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    with pytest.raises(actions.ListeningError, match="communication purposes only"):
        actions.save_source(
            None, by=admin_user, kind="own", name="Ours", config={"purpose": case.pk}
        )
    response = admin.post(BASE + "new/own", form(name="Ours", purpose=mood.pk, interval=300))
    assert response.status_code == 302
    assert Source.objects.get().config == {"purpose": mood.pk, "interval": 300}
    assert "for the purpose “Public mood”" in admin.get(BASE).content.decode()


def test_an_inactive_purpose_is_refused_by_the_action(admin_user):
    old = Purpose.objects.create(name="Old", kind=PurposeKind.MOOD, active=False)
    with pytest.raises(actions.ListeningError, match="not active"):
        actions.save_source(None, by=admin_user, kind="own", name="O", config={"purpose": old.pk})


# Webhook ---------------------------------------------------------------------------------------


def test_a_new_webhook_shows_its_address_once_and_it_works(admin):
    response = admin.post(BASE + "new/webhook", form(name="Dispatch"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    source = Source.objects.get()
    url = response.context["url"]
    assert url.startswith(f"http://testserver/hooks/listening/{source.pk}/")
    assert url in response.content.decode()
    token = url.rsplit("/", 1)[1]
    assert "token" not in source.config and len(source.config["token_sha256"]) == 64
    assert token not in audit_text() and source.config["token_sha256"] not in audit_text()
    # The address shown is the one that works.
    hook = Client().post(
        url.removeprefix("http://testserver"),
        data=json.dumps({"id": "1", "text": "Brand in de haven"}),
        content_type="application/json",
    )
    assert hook.status_code == 200 and hook.json()["stored"] == 1
    # Never again on a page.
    assert token not in admin.get(f"{BASE}{source.pk}/edit").content.decode()
    assert token not in admin.get(BASE).content.decode()


def test_replacing_a_webhook_token_stops_the_old_one(admin):
    admin.post(BASE + "new/webhook", form(name="Dispatch"))
    source = Source.objects.get()
    old = admin.post(f"{BASE}{source.pk}/token")
    new = admin.post(f"{BASE}{source.pk}/token")
    old_path = old.context["url"].removeprefix("http://testserver")
    new_path = new.context["url"].removeprefix("http://testserver")
    body = json.dumps({"id": "2", "text": "x"})
    assert Client().post(old_path, body, content_type="application/json").status_code == 403
    assert Client().post(new_path, body, content_type="application/json").status_code == 200
    records = AuditRecord.objects.filter(action="listening.source.token")
    assert [r.data["secrets"]["token"] for r in records] == ["set", "replaced", "replaced"]


def test_only_webhooks_have_tokens(admin):
    source = Source.objects.create(kind="rss", name="Feed", config={"url": "https://a.example/"})
    assert admin.post(f"{BASE}{source.pk}/token").status_code == 404
    source.refresh_from_db()
    assert "token_sha256" not in source.config


# Import ---------------------------------------------------------------------------------------


@pytest.fixture
def bucket(db) -> Source:
    return Source.objects.create(kind="import", name="Archive")


def upload(client, source, content: bytes, name="posts.jsonl", **extra):
    return client.post(
        f"{BASE}{source.pk}/import",
        {"file": SimpleUploadedFile(name, content), **extra},
    )


def test_creating_an_import_source_leads_to_the_upload(admin):
    response = admin.post(BASE + "new/import", form(name="Archive"))
    source = Source.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"{source.pk}/import")
    assert admin.get(response["Location"]).status_code == 200


def test_a_jsonl_upload_is_imported_with_counts_and_per_line_errors(admin, bucket):
    content = (
        b'{"id": "1", "text": "Brand in de haven"}\n'
        b"not json\n"
        b'{"id": "2"}\n'
        b"\xff\xfe\n"
        b'{"id": "3", "text": "Fietsendiefstal", "lang": "nl"}\n'
    )
    response = upload(admin, bucket, content)
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.read, report.stored, report.skipped) == (5, 2, 3)
    page = response.content.decode()
    assert "invalid JSON" in page and "missing, empty, oversized or invalid text" in page
    assert "not UTF-8" in page
    assert sorted(Post.objects.values_list("external_id", flat=True)) == ["1", "3"]
    record = AuditRecord.objects.get(action="listening.source.import")
    assert record.data == {
        "format": "jsonl",
        "bytes": len(content),
        "read": 5,
        "stored": 2,
        "skipped": 3,
    }
    assert "Brand" not in json.dumps(record.data)
    # The same file again adds nothing.
    again = upload(admin, bucket, content)
    assert again.context["report"].stored == 0 and Post.objects.count() == 2


def test_a_csv_upload_is_read_as_csv(admin, bucket):
    content = "id,text,lang\nc1,Brand in Gent,nl\nc2,,nl\nc3,Incendie à Liège,fr\n".encode()
    response = upload(admin, bucket, content, name="posts.csv")
    report = response.context["report"]
    assert (report.read, report.stored, report.skipped) == (3, 2, 1)
    assert Post.objects.get(external_id="c3").text == "Incendie à Liège"


def test_the_format_can_be_chosen_whatever_the_file_name(admin, bucket):
    response = upload(admin, bucket, b"id,text\nx1,Brand\n", name="export.txt", format="csv")
    assert response.context["report"].stored == 1


def test_a_csv_without_id_and_text_columns_is_one_clear_error(admin, bucket):
    response = upload(admin, bucket, b"name,body\na,b\n", name="x.csv")
    assert response.status_code == 200
    assert "the header must name the columns id and text" in response.content.decode()
    assert not Post.objects.exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(admin, bucket, settings):
    settings.COPPS_LISTENING_IMPORT_MAX_BYTES = 1024
    content = b'{"id": "1", "text": "Brand"}\n' * 200  # ~6 kB
    response = upload(admin, bucket, content)
    assert response.status_code == 400
    assert "The file is larger than" in response.content.decode()
    assert not Post.objects.exists()
    assert not AuditRecord.objects.filter(action="listening.source.import").exists()


def test_an_upload_without_a_file_or_with_a_bad_format_is_a_form_error(admin, bucket):
    assert admin.post(f"{BASE}{bucket.pk}/import", {}).status_code == 400
    response = upload(admin, bucket, b"{}", format="xml")
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_an_upload_needs_the_csrf_token(admin_user, bucket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = upload(client, bucket, b'{"id": "1", "text": "Brand"}\n')
    assert response.status_code == 403
    assert not Post.objects.exists()


def test_files_go_into_import_sources_only(admin):
    feed = Source.objects.create(kind="rss", name="Feed", config={"url": "https://a.example/"})
    assert upload(admin, feed, b'{"id": "1", "text": "x"}\n').status_code == 404


# Switching and polling -------------------------------------------------------------------------


def test_switching_a_source_off_and_on_is_audited(admin):
    source = Source.objects.create(kind="rss", name="Feed", config={"url": "https://a.example/"})
    assert admin.post(f"{BASE}{source.pk}/enabled", {"enabled": "0"}).status_code == 302
    source.refresh_from_db()
    assert not source.enabled
    admin.post(f"{BASE}{source.pk}/enabled", {"enabled": "1"})
    source.refresh_from_db()
    assert source.enabled
    assert list(
        AuditRecord.objects.filter(action__startswith="listening.source.").values_list(
            "action", flat=True
        )
    ) == ["listening.source.disable", "listening.source.enable"]


def test_poll_now_queues_a_poll_that_the_worker_runs_whatever_the_interval(admin, no_network):
    source = Source.objects.create(
        kind="rss",
        name="Feed",
        config={"url": "https://gazet.example/feed.xml", "interval": 3600},
        last_polled_at=timezone.now(),
    )
    assert runner.poll_due() == 0  # polled a moment ago: not due
    response = admin.post(f"{BASE}{source.pk}/poll")
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.poll_requested_at is not None
    assert not no_network  # queued: nothing fetched in the request
    assert "poll requested" in admin.get(BASE).content.decode()
    assert runner.poll_due() == 1
    source.refresh_from_db()
    assert source.poll_requested_at is None and source.received == 1
    assert runner.poll_due() == 0  # the request was answered once
    assert AuditRecord.objects.filter(action="listening.source.poll").count() == 1


@pytest.mark.parametrize(
    ("kind", "config", "enabled"),
    [
        ("bluesky", {}, True),
        ("mastodon", {"instance": "https://m.example", "tag": "x", "streaming": True}, True),
        ("webhook", {}, True),
        ("import", {}, True),
        ("rss", {"url": "https://a.example/"}, False),
    ],
)
def test_poll_now_is_refused_where_it_means_nothing(admin, kind, config, enabled):
    source = Source.objects.create(kind=kind, name="S", config=config, enabled=enabled)
    response = admin.post(f"{BASE}{source.pk}/poll", follow=True)
    assert response.status_code == 200
    assert "Only polled sources" in response.content.decode() or "Switch the source on" in (
        response.content.decode()
    )
    source.refresh_from_db()
    assert source.poll_requested_at is None


def test_the_kind_of_a_source_never_changes(admin_user):
    source = Source.objects.create(kind="webhook", name="Hook")
    with pytest.raises(actions.ListeningError):
        actions.save_source(source, by=admin_user, kind="rss", name="Hook", config={})


@pytest.mark.parametrize("name", ["big.csv", "big.jsonl"])
def test_an_upload_kept_on_disk_is_imported_too(admin, bucket, settings, name):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # Django writes larger uploads to a temp file
    rows = [(f"b{n}", f"Bericht nummer {n} over verkeer in Gent") for n in range(300)]
    if name.endswith(".csv"):
        content = ("id,text\n" + "".join(f"{i},{t}\n" for i, t in rows)).encode()
    else:
        content = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows).encode()
    assert len(content) > 1024
    response = upload(admin, bucket, content, name=name)
    assert response.status_code == 200
    assert response.context["report"].stored == 300
