"""Listening sources: each adapter through its real entry point, resuming from its cursor.

RSS and Mastodon are faked at copps.lib.http (Mastodon with the real Status shape); Jetstream is
a real WebSocket server on loopback (tests/support_websocket.py) replaying events written here.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.urls import include, path

from copps.lib import http
from copps.listening import runner
from copps.listening.models import Post, Source, SourceKind
from copps.listening.sources import bluesky, importer, mastodon, rss, webhook
from tests.support_websocket import (
    BROKEN,
    DROP,
    INVALID_TEXT,
    JetstreamReplay,
    delete_event,
    identity_event,
    post_event,
)

pytestmark = pytest.mark.django_db

# The webhook through a real URLconf: the lead includes hook_urls the same way in copps/urls.py.
urlpatterns = [path("hooks/listening/", include("copps.listening.hook_urls"))]


def _source(kind, **config) -> Source:
    return Source.objects.create(kind=kind, name=kind, config=config)


def _ids(source) -> list[str]:
    return sorted(Post.objects.filter(source=source).values_list("external_id", flat=True))


# --- RSS/Atom ---------------------------------------------------------------------------------

FEED_URL = "https://news.example.org/feed.xml"


def _rss(*items: tuple[str, str, str]) -> bytes:
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://news.example.org/{guid}</link>"
        f"<description>{body}</description><pubDate>Sat, 04 Jul 2026 10:00:00 GMT</pubDate></item>"
        for guid, title, body in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>'
        f"<language>nl</language>{entries}</channel></rss>"
    ).encode()


class FeedServer:
    def __init__(self, body: bytes, status: int = 200):
        self.body, self.status, self.requests = body, status, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("if-none-match") == '"v1"' and self.status == 200:
            return httpx.Response(304)
        return httpx.Response(self.status, content=self.body, headers={"ETag": '"v1"'})


def test_it_reads_a_feed_and_only_new_entries_on_the_next_poll():
    source = _source(SourceKind.RSS, url=FEED_URL)
    server = FeedServer(
        _rss(("a1", "Brand in Gent", "De &lt;b&gt;brandweer&lt;/b&gt; is ter plaatse."))
    )
    with http.fake(server):
        assert rss.poll(source) == 1
        source.refresh_from_db()
        server.body = _rss(("a2", "Tweede", "Nieuw bericht"), ("a1", "Brand in Gent", "x"))
        server.requests.clear()
        assert rss.poll(source) == 0  # 304: the ETag was sent back
        assert server.requests[0].headers["if-none-match"] == '"v1"'
        source.refresh_from_db()
        source.cursor = json.dumps({**json.loads(source.cursor), "etag": ""})
        source.save()
        assert rss.poll(source) == 1
    post = Post.objects.get(source=source, external_id="a1")
    assert post.text == "Brand in Gent\nDe brandweer is ter plaatse."
    assert post.language == "nl" and post.url == "https://news.example.org/a1"
    assert post.published_at.isoformat() == "2026-07-04T10:00:00+00:00"
    assert _ids(source) == ["a1", "a2"]


def test_it_reads_an_atom_feed():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id><updated>2026-07-04T10:00:00Z</updated>
<entry><id>urn:e1</id><title>Stroomstoring</title><updated>2026-07-04T09:00:00Z</updated>
<content type="html">&lt;p&gt;In heel Leuven.&lt;/p&gt;</content><link href="https://x.example/e1"/></entry></feed>"""
    source = _source(SourceKind.RSS, url=FEED_URL)
    with http.fake(FeedServer(atom)):
        assert rss.poll(source) == 1
    assert Post.objects.get(source=source).text == "Stroomstoring\nIn heel Leuven."


def test_it_refuses_a_billion_laughs_feed_without_expanding_it():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><item><guid>b</guid><title>&lol9;</title></item></channel></rss>"""
    source = _source(SourceKind.RSS, url=FEED_URL)
    with http.fake(FeedServer(bomb)):
        assert runner.poll_one(source) == 0
    source.refresh_from_db()
    assert source.skipped == 1 and "entities" in source.last_error
    assert not Post.objects.exists()


def test_it_counts_a_malformed_feed_and_records_the_error_and_retries_next_time():
    source = _source(SourceKind.RSS, url=FEED_URL)
    server = FeedServer(b"\x00\xff this is not xml")
    with http.fake(server):
        runner.poll_one(source)
        source.refresh_from_db()
        assert source.skipped == 1 and source.last_error
        server.body = _rss(("ok", "Alles goed", "x"))
        assert runner.poll_one(source) == 1
    source.refresh_from_db()
    assert source.last_error == "" and source.received == 1


def test_it_records_an_http_error_and_a_dead_server():
    source = _source(SourceKind.RSS, url=FEED_URL)
    with http.fake(FeedServer(b"", status=500)):
        runner.poll_one(source)
    source.refresh_from_db()
    assert "500" in source.last_error

    def down(request):
        raise httpx.ConnectError("refused")

    with http.fake(down):
        runner.poll_one(source)
    source.refresh_from_db()
    assert "NotSent" in source.last_error


def test_it_skips_entries_without_id_or_with_huge_text():
    source = _source(SourceKind.RSS, url=FEED_URL)
    body = _rss(("big", "t", "x" * 20_000), ("fine", "Kort", "bericht"))
    with http.fake(FeedServer(body)):
        assert rss.poll(source) == 1
    source.refresh_from_db()
    assert source.skipped == 1 and _ids(source) == ["fine"]


def test_the_worker_job_polls_only_sources_whose_interval_has_passed():
    due = _source(SourceKind.RSS, url=FEED_URL, interval=60)
    _source(SourceKind.BLUESKY)  # streaming: never polled by the worker
    server = FeedServer(_rss(("a", "b", "c")))
    with http.fake(server):
        assert runner.poll_due() == 1
        assert runner.poll_due() == 0
    assert len(server.requests) == 1
    assert _ids(due) == ["a"]


# --- Bluesky Jetstream ------------------------------------------------------------------------

T0 = 1_779_719_009_000_000


def _jetstream(url) -> Source:
    return _source(SourceKind.BLUESKY, url=url, allow_private=True)


def test_it_stores_jetstream_posts_with_text_language_and_at_uri():
    frames = [
        post_event(T0 + 1, "r1", "Politie zoekt getuigen", langs=("nl", "en")),
        identity_event(T0 + 2),
        delete_event(T0 + 3, "r1"),
        post_event(T0 + 4, "r2", "Merci à la police"),
    ]
    with JetstreamReplay(frames) as server:
        source = _jetstream(server.url)
        assert bluesky.run(source) == 2
    assert "wantedCollections=app.bsky.feed.post" in server.paths[0]
    post = Post.objects.get(external_id="at://did:plc:abc/app.bsky.feed.post/r1")
    assert post.text == "Politie zoekt getuigen" and post.language == "nl"
    assert post.url == "https://bsky.app/profile/did:plc:abc/post/r1"
    source.refresh_from_db()
    assert source.cursor == str(T0 + 4) and source.skipped == 0


def test_it_resumes_after_a_cut_connection_without_loss_or_duplicates():
    events = [post_event(T0 + i * 1000, f"k{i}", f"bericht {i}") for i in range(6)]
    with JetstreamReplay([*events[:3], DROP, *events[3:]]) as server:
        source = _jetstream(server.url)
        stop = threading.Event()
        threading.Thread(target=lambda: (_wait_connections(server, 2), stop.set())).start()
        runner.stream_one(source, stop=stop)
    assert len(server.paths) >= 2
    # The reconnection asked from the stored cursor minus the margin.
    assert f"cursor={T0 + 2000 - bluesky.MARGIN_US}" in server.paths[1]
    assert _ids(source) == sorted(f"at://did:plc:abc/app.bsky.feed.post/k{i}" for i in range(6))
    source.refresh_from_db()
    assert source.received == 6 and source.cursor == str(T0 + 5000)


def _wait_connections(server, count):
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if len(server.paths) >= count and server.finished.is_set():
            time.sleep(0.3)
            return
        time.sleep(0.05)


def test_a_broken_websocket_frame_ends_the_connection_and_the_next_one_resumes():
    events = [post_event(T0 + i, f"b{i}", f"tekst {i}") for i in range(4)]
    with JetstreamReplay([*events[:2], BROKEN, *events[2:]]) as server:
        source = _jetstream(server.url)
        with pytest.raises(bluesky.SourceError):
            bluesky.run(source)
        assert len(_ids(source)) == 2  # what came before the broken frame is kept
        server.finished.clear()
        bluesky.run(source)
    assert len(_ids(source)) == 4


def test_it_skips_and_counts_invalid_json_invalid_utf8_and_huge_posts():
    frames = [
        '{"did": "did:plc:abc", "time_us": 1, "kind": "comm',
        b"\xff\xfe\xfa not utf-8",
        INVALID_TEXT,
        "x" * (bluesky.MAX_FRAME + 1),
        "[1, 2, 3]",
        post_event(T0 + 1, "huge", "x" * 20_000),
        post_event(T0 + 2, "surrogate", "\ud800 lone"),
        post_event(T0 + 3, "good", "Goed bericht"),
    ]
    with JetstreamReplay(frames) as server:
        source = _jetstream(server.url)
        assert bluesky.run(source) == 1
    source.refresh_from_db()
    assert source.skipped == 7
    assert _ids(source) == ["at://did:plc:abc/app.bsky.feed.post/good"]
    assert len(server.paths) == 1  # none of them cost the connection


REAL_CAPTURE = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/social/bluesky_jetstream/jetstream_v1_capture_2026-07-04.jsonl"
)


@pytest.mark.skipif(not REAL_CAPTURE.exists(), reason="../shared/data/social is not here")
def test_it_replays_the_real_jetstream_capture_cut_in_the_middle_exactly_once():
    events = [json.loads(line) for line in REAL_CAPTURE.read_text().splitlines() if line]
    expected = {
        f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}"
        for e in events
        if e["kind"] == "commit"
        and e["commit"]["collection"] == "app.bsky.feed.post"
        and e["commit"]["operation"] == "create"
        and e["commit"]["record"].get("text", "").strip()
    }
    half = len(events) // 2
    with JetstreamReplay([*events[:half], DROP, *events[half:]]) as server:
        source = _jetstream(server.url)
        stop = threading.Event()
        threading.Thread(target=lambda: (_wait_connections(server, 2), stop.set())).start()
        runner.stream_one(source, stop=stop)
    assert len(expected) >= 10
    assert set(_ids(source)) == expected
    source.refresh_from_db()
    assert source.received == len(expected)
    assert source.cursor == str(max(e["time_us"] for e in events))


def test_it_refuses_a_private_jetstream_address_unless_allowed():
    source = _source(SourceKind.BLUESKY, url="ws://127.0.0.1:9/subscribe")
    with pytest.raises(http.Refused):
        bluesky.run(source)


def test_a_refused_connection_is_recorded_as_the_sources_error():
    source = _source(SourceKind.BLUESKY, url="ws://127.0.0.1:9/subscribe", allow_private=True)
    runner.stream_one(source, stop=threading.Event(), once=True)
    source.refresh_from_db()
    assert "cannot connect" in source.last_error


# --- Mastodon ---------------------------------------------------------------------------------

INSTANCE = "https://mastodon.example"


def _status(sid: str, html: str, *, lang="nl", acct="alice@example.social") -> dict:
    """A Status in the shape Mastodon 4.x answers (fields as in the recorded responses)."""
    return {
        "id": sid,
        "created_at": "2026-08-01T13:55:55.867Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": lang,
        "uri": f"https://example.social/users/alice/statuses/{sid}",
        "url": f"https://example.social/@alice/{sid}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": html,
        "reblog": None,
        "application": None,
        "account": {
            "id": "1",
            "username": "alice",
            "acct": acct,
            "url": "https://example.social/@alice",
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": "politie", "url": "https://mastodon.example/tags/politie"}],
        "emojis": [],
        "card": None,
        "poll": None,
    }


class MastodonServer:
    """Timeline pages honouring min_id, and a stream of server-sent events."""

    def __init__(self, statuses: list[dict], stream: bytes = b""):
        self.statuses, self.stream, self.requests = statuses, stream, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.startswith("/api/v1/streaming/"):
            # Delivered in small pieces, as a network would: lines span chunks.
            chunks = (self.stream[i : i + 4096] for i in range(0, len(self.stream), 4096))
            return httpx.Response(
                200, content=chunks, headers={"Content-Type": "text/event-stream"}
            )
        min_id = int(request.url.params.get("min_id", "0"))
        limit = int(request.url.params.get("limit", "20"))
        newer = sorted(
            (s for s in self.statuses if int(s["id"]) > min_id), key=lambda s: int(s["id"])
        )
        page = newer[:limit] if min_id else newer[-limit:]
        return httpx.Response(200, json=sorted(page, key=lambda s: -int(s["id"])))


def test_it_polls_a_hashtag_timeline_from_the_newest_status_id():
    server = MastodonServer([_status("100", "<p>Eerste <a href='x'>#politie</a></p>")])
    source = _source(SourceKind.MASTODON, instance=INSTANCE, tag="politie")
    with http.fake(server):
        assert mastodon.poll(source) == 1
        server.statuses.append(_status("101", "<p>Tweede&amp;laatste</p><p>regel</p>"))
        assert mastodon.poll(source) == 1
        assert mastodon.poll(source) == 0
    assert server.requests[0].url.path == "/api/v1/timelines/tag/politie"
    assert server.requests[1].url.params["min_id"] == "100"
    post = Post.objects.get(external_id__endswith="/101")
    assert post.text == "Tweede&laatste\nregel" and post.author == "alice@example.social"
    source.refresh_from_db()
    assert source.cursor == "101"


def test_it_catches_up_page_by_page_after_a_long_pause():
    server = MastodonServer([_status("5", "<p>start</p>")])
    source = _source(SourceKind.MASTODON, instance=INSTANCE, tag="politie")
    with http.fake(server):
        mastodon.poll(source)
        server.statuses += [_status(str(i), f"<p>n{i}</p>") for i in range(10, 100)]
        assert mastodon.poll(source) == 90
    assert Post.objects.filter(source=source).count() == 91


def _sse(*events: tuple[str, str]) -> bytes:
    out = b":)\n\n"
    for name, data in events:
        out += f"event: {name}\ndata: {data}\n\n".encode()
    return out


def test_it_reads_the_streaming_api_after_catching_up():
    stream = (
        _sse(
            ("update", json.dumps(_status("201", "<p>Live &lt;nieuws&gt;</p>", lang="fr"))),
            ("delete", "201"),
            ("status.update", json.dumps(_status("201", "<p>bewerkt</p>"))),
            ("update", "{not json"),
            ("update", json.dumps(_status("202", "<p>" + "x" * 20_000 + "</p>"))),
            ("update", json.dumps(_status("203", "<p>Nog een</p>"))),
        )
        + b"event: update\ndata: \xff\xfe\n\n"
        + b"event: update\ndata: "
        + b"y" * (mastodon.MAX_LINE * 3)
        + b"\n\n"
        + _sse(("update", json.dumps(_status("204", "<p>Na de lange regel</p>"))))
    )
    server = MastodonServer([_status("200", "<p>Gemist tijdens de herstart</p>")], stream)
    source = _source(
        SourceKind.MASTODON, instance=INSTANCE, tag="politie", streaming=True, token="secret"
    )
    with http.fake(server):
        assert runner.stream_one(source, stop=threading.Event(), once=True) == 4
    paths = [r.url.path for r in server.requests]
    assert paths == ["/api/v1/timelines/tag/politie", "/api/v1/streaming/hashtag"]
    assert server.requests[1].url.params["tag"] == "politie"
    assert server.requests[1].headers["authorization"] == "Bearer secret"
    assert Post.objects.get(external_id__endswith="/201").text == "Live <nieuws>"
    source.refresh_from_db()
    assert source.skipped == 4 and source.cursor == "204" and source.last_error == ""


def test_a_public_timeline_uses_the_public_endpoints():
    server = MastodonServer([_status("7", "<p>hallo</p>")], _sse())
    source = _source(SourceKind.MASTODON, instance=INSTANCE, timeline="public", streaming=True)
    with http.fake(server):
        mastodon.run(source)
    assert [r.url.path for r in server.requests] == [
        "/api/v1/timelines/public",
        "/api/v1/streaming/public",
    ]


def test_a_mastodon_error_answer_is_recorded():
    source = _source(SourceKind.MASTODON, instance=INSTANCE, tag="politie")
    with http.fake(lambda r: httpx.Response(200, content=b"<html>")):
        runner.poll_one(source)
    source.refresh_from_db()
    assert "not JSON" in source.last_error and source.skipped == 1


# --- Webhook ----------------------------------------------------------------------------------


@pytest.fixture
def hook(db):
    source = _source(SourceKind.WEBHOOK)
    token = webhook.new_token(source)
    return source, f"/hooks/listening/{source.pk}/{token}"


@pytest.mark.urls("tests.test_listening_sources")
def test_the_webhook_stores_one_record_or_a_list(client, hook):
    source, url = hook
    one = {"id": "x1", "text": "Hallo", "lang": "nl", "published_at": "2026-07-04T10:00:00Z"}
    answer = client.post(url, one, content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {"stored": 1, "skipped": 0}
    many = [one, {"id": 2, "text": "Tweede", "url": "javascript:alert(1)"}, {"id": "3"}]
    answer = client.post(url, many, content_type="application/json")
    assert answer.json() == {"stored": 1, "skipped": 1}
    assert _ids(source) == ["2", "x1"]
    assert Post.objects.get(external_id="2").url == ""
    assert "token" not in json.dumps(source.config).replace("token_sha256", "")


@pytest.mark.urls("tests.test_listening_sources")
def test_the_webhook_refuses_bad_requests(client, hook, settings):
    source, url = hook
    post = lambda u, body, **kw: client.post(u, body, content_type="application/json", **kw)  # noqa: E731
    assert post(url[:-1] + "x", {"id": 1, "text": "a"}).status_code == 403
    assert post(f"/hooks/listening/{source.pk + 99}/abc", {}).status_code == 403
    assert post(url, "{not json").status_code == 400
    assert post(url, '"a string"').status_code == 400
    assert client.post(url, b"\xff\xfe", content_type="application/json").status_code == 400
    assert (
        post(url, [{"id": i, "text": "t"} for i in range(webhook.MAX_RECORDS + 1)]).status_code
        == 413
    )
    assert post(url, json.dumps({"id": 1, "text": "x" * (webhook.MAX_BODY + 1)})).status_code == 413
    assert client.get(url).status_code == 405
    source.enabled = False
    source.save()
    assert post(url, {"id": 1, "text": "a"}).status_code == 403
    assert not Post.objects.exists()


# --- Import -----------------------------------------------------------------------------------


def test_it_imports_jsonl_and_reports_bad_lines_by_number(tmp_path, capsys):
    source = _source(SourceKind.IMPORT)
    file = tmp_path / "posts.jsonl"
    file.write_bytes(
        b'{"id": "1", "text": "Eerste"}\n'
        b"{broken\n"
        b"\n"
        b'{"id": "2"}\n'
        b'\xff\xfe{"id": "3", "text": "x"}\n'
        b'{"id": "4", "text": "Vierde", "author": "bob", "lang": "nl"}\n'
    )
    call_command("listening_run", "--import", str(file), "--source", str(source.pk))
    out = capsys.readouterr()
    assert "read=5 stored=2 skipped=3" in out.out
    assert "line 2: invalid JSON" in out.err and "line 4: missing, empty" in out.err
    assert "line 5: not UTF-8" in out.err
    call_command("listening_run", "--import", str(file), "--source", str(source.pk))
    assert "stored=0" in capsys.readouterr().out  # importing again adds nothing
    assert _ids(source) == ["1", "4"]


def test_it_imports_csv_with_a_header(tmp_path):
    source = _source(SourceKind.IMPORT)
    file = tmp_path / "posts.csv"
    file.write_text('\ufeffid,text,lang\n1,"Een, twee",nl\n2,,fr\n3,"Drie",de,extra\n4,Vier,en\n')
    report = importer.import_file(source, file)
    assert (report.stored, report.skipped) == (2, 2)
    assert [line for line, _ in report.errors] == [3, 4]
    assert Post.objects.get(source=source, external_id="1").text == "Een, twee"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,body\nx,y\n")
    assert importer.import_file(source, bad).errors == [
        (1, "the header must name the columns id and text")
    ]


def test_the_command_makes_a_webhook_token_and_runs_sources_once(capsys):
    hook_source = _source(SourceKind.WEBHOOK)
    call_command("listening_run", "--webhook-token", "--source", str(hook_source.pk))
    assert f"/hooks/listening/{hook_source.pk}/" in capsys.readouterr().out
    feed = _source(SourceKind.RSS, url=FEED_URL)
    with http.fake(FeedServer(_rss(("a", "b", "c")))):
        call_command("listening_run", "--once", "--source", str(feed.pk))
    assert f"source {feed.pk} (rss): received=1 skipped=0 ok" in capsys.readouterr().out


# --- Telegram ---------------------------------------------------------------------------------


class TelegramServer:
    """getUpdates as the Bot API answers it: updates from ``offset`` on, at most ``limit``."""

    def __init__(self, updates: list[dict]):
        self.updates, self.requests = updates, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/bot123:abc/getUpdates":
            return httpx.Response(
                404, json={"ok": False, "error_code": 404, "description": "Not Found"}
            )
        offset = int(request.url.params.get("offset", "0"))
        limit = int(request.url.params.get("limit", "100"))
        result = [u for u in self.updates if u["update_id"] >= offset][:limit]
        return httpx.Response(200, json={"ok": True, "result": result})


def _channel_post(update_id: int, message_id: int, text: str | None, *, username="politiegent"):
    post = {
        "message_id": message_id,
        "sender_chat": {
            "id": -1001234,
            "title": "Politie Gent",
            "username": username,
            "type": "channel",
        },
        "chat": {"id": -1001234, "title": "Politie Gent", "username": username, "type": "channel"},
        "date": 1783159200,
    }
    if text is not None:
        post["text"] = text
    return {"update_id": update_id, "channel_post": post}


def test_it_reads_telegram_channel_posts_from_the_stored_offset():
    server = TelegramServer(
        [_channel_post(10, 1, "Wegenwerken in Gent"), _channel_post(11, 2, None)]
    )
    source = _source(SourceKind.TELEGRAM, token="123:abc")
    with http.fake(server):
        assert runner.poll_one(source) == 1
        server.updates.append(_channel_post(12, 3, "Tweede bericht"))
        server.updates.append({"update_id": 13, "message": {"message_id": 9, "text": "privé"}})
        assert runner.poll_one(source) == 1
    assert server.requests[1].url.params["offset"] == "12"
    post = Post.objects.get(source=source, external_id="-1001234/1")
    assert post.url == "https://t.me/politiegent/1" and post.author == "@politiegent"
    source.refresh_from_db()
    assert source.cursor == "14" and source.skipped == 1  # the post without text


def test_a_telegram_error_is_recorded_without_the_token():
    source = _source(SourceKind.TELEGRAM, token="999:wrong")
    with http.fake(TelegramServer([])):
        runner.poll_one(source)
    source.refresh_from_db()
    assert "404" in source.last_error and "999:wrong" not in source.last_error


@pytest.mark.django_db(transaction=True)
def test_the_command_streams_every_enabled_streaming_source_once(capsys):
    with JetstreamReplay([post_event(T0, "c1", "Via de opdracht")]) as server:
        stream = _jetstream(server.url)
        off = _jetstream(server.url)
        off.enabled = False
        off.save()
        call_command("listening_run", "--once")
    out = capsys.readouterr().out
    assert f"source {stream.pk} (bluesky): received=1 skipped=0 ok" in out
    assert f"source {off.pk} " not in out  # disabled
    assert len(server.paths) == 1


def test_a_mastodon_stream_is_refused_on_a_private_address_and_recorded_when_down():
    private = _source(
        SourceKind.MASTODON, instance="http://127.0.0.1:9", tag="politie", streaming=True
    )
    with pytest.raises(http.Refused):
        mastodon.run(private)
    private.config["allow_private"] = True
    private.save()
    runner.stream_one(private, stop=threading.Event(), once=True)
    private.refresh_from_db()
    assert private.last_error.startswith("NotSent")
