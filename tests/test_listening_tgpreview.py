"""Telegram public channels through their web preview (t.me/s/<channel>), faked at copps.lib.http
with pages shaped like the real ones."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from copps.lib import http
from copps.listening import runner
from copps.listening.models import Post, Source, SourceKind
from copps.listening.sources import tgpreview

pytestmark = pytest.mark.django_db

CHANNEL = "politiebe"


def _message(number: int, text: str, *, channel=CHANNEL, reply_to: str = "") -> str:
    reply = (
        f'<a class="tgme_widget_message_reply" href="https://t.me/{channel}/{number - 1}">'
        '<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_'
        'author_name">Politie</span></div><div class="tgme_widget_message_metatext js-message_'
        f'reply_text" dir="auto">{reply_to}</div></a>'
        if reply_to
        else ""
    )
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
        f'data-post="{channel}/{number}" data-view="eyJjIjotMTAwMSwicCI6MTAxfQ">'
        '<div class="tgme_widget_message_user"><a href="https://t.me/politiebe">'
        '<i class="tgme_widget_message_user_photo bgcolor0" data-content="P">'
        '<img src="https://cdn4.telesco.pe/file/x.jpg"></i></a></div>'
        '<div class="tgme_widget_message_bubble"><i class="tgme_widget_message_bubble_tail">'
        '<svg class="bubble_icon" width="9px" height="20px"><path d="M0 0"/></svg></i>'
        '<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner'
        '_name" href="https://t.me/politiebe"><span dir="auto">Politie</span></a></div>'
        f"{reply}"
        f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        '<span class="tgme_widget_message_views">1.2K</span>'
        '<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" '
        f'href="https://t.me/{channel}/{number}"><time datetime="2026-07-04T10:{number % 60:02d}'
        ':00+00:00" class="time">10:00</time></a></span></div></div></div></div></div>'
    )


def _page(messages: list[str], *, head: str = "") -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Politie – Telegram</title>'
        f'<script>var loaded = true;</script>{head}</head><body class="widget_frame_base '
        'tgme_webpreview_body"><main class="tgme_main"><section class="tgme_channel_history '
        f'js-message_history">{"".join(messages)}</section></main></body></html>'
    ).encode()


class PreviewServer:
    """t.me/s/<channel>: the latest 20 posts; ?after=N the next 20; ?before=N the 20 before."""

    def __init__(self, posts: dict[int, str]):
        self.posts = posts
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        parts = urlsplit(str(request.url))
        if parts.path != f"/s/{CHANNEL}":
            return httpx.Response(302, headers={"Location": "https://t.me/"})
        query = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
        ids = sorted(self.posts)
        if "after" in query:
            shown = [i for i in ids if i > query["after"]][:20]
        elif "before" in query:
            shown = [i for i in ids if i < query["before"]][-20:]
        else:
            shown = ids[-20:]
        return httpx.Response(200, content=_page([_message(i, self.posts[i]) for i in shown]))


def _source(**config) -> Source:
    return Source.objects.create(
        kind=SourceKind.TELEGRAM, name="tg", config={"channel": CHANNEL, **config}
    )


def _ids(source) -> list[int]:
    return sorted(
        int(e.split("/")[1])
        for e in Post.objects.filter(source=source).values_list("external_id", flat=True)
    )


def test_it_reads_the_latest_page_of_a_public_channel_with_text_time_and_link():
    posts = {n: f"Bericht {n}" for n in range(1, 31)}
    posts[30] = "Verkeer in <b>Gent</b><br/>Omleiding via <a href='https://x.test'>de ring</a>"
    server = PreviewServer(posts)
    source = _source()
    with http.fake(server):
        assert runner.poll_one(source) == 20
    assert [str(r.url) for r in server.requests] == [
        "https://t.me/s/politiebe",
        "https://t.me/s/politiebe?after=30",
    ]
    assert _ids(source) == list(range(11, 31))
    post = Post.objects.get(external_id="politiebe/30")
    assert post.text == "Verkeer in Gent\nOmleiding via de ring"
    assert post.url == "https://t.me/politiebe/30" and post.author == "@politiebe"
    assert post.published_at == datetime(2026, 7, 4, 10, 30, tzinfo=UTC)
    source.refresh_from_db()
    assert source.cursor == "30" and source.last_error == ""


def test_it_resumes_after_the_cursor_page_by_page_without_loss_or_duplicates():
    server = PreviewServer({n: f"Bericht {n}" for n in range(1, 6)})
    source = _source()
    with http.fake(server):
        assert tgpreview.poll(source) == 5
        for n in range(6, 51):
            server.posts[n] = f"Bericht {n}"
        server.requests.clear()
        assert tgpreview.poll(source) == 45
        assert tgpreview.poll(source) == 0
    afters = [parse_qs(urlsplit(str(r.url)).query)["after"][0] for r in server.requests]
    assert afters == ["5", "25", "45", "50", "50"]
    assert _ids(source) == list(range(1, 51))
    source.refresh_from_db()
    assert source.cursor == "50" and source.received == 50


def test_the_first_run_pages_back_as_far_as_configured():
    server = PreviewServer({n: f"Bericht {n}" for n in range(1, 61)})
    source = _source(backfill=1)
    with http.fake(server):
        assert tgpreview.poll(source) == 40
    assert "before=41" in str(server.requests[1].url)
    assert _ids(source) == list(range(21, 61))


def test_a_reply_keeps_its_own_text_not_the_quoted_one():
    page = _page([_message(7, "Dank u", reply_to="Wie zag iets?")])
    source = _source()
    with http.fake(lambda r: httpx.Response(200, content=page)):
        tgpreview.poll(source)
    assert Post.objects.get().text == "Dank u"


def test_hostile_messages_are_skipped_and_counted():
    page = _page(
        [
            _message(1, "x" * 20_000),  # oversized
            _message(2, "   "),  # no text
            _message(3, "Ander kanaal", channel="someoneelse"),
            _message(4, "Geldig <script>alert('nee')</script>bericht"),
            # broken nesting: never closed, the next message starts inside it
            '<div class="tgme_widget_message" data-post="politiebe/5"><div class="tgme_widget_'
            'message_text">Niet afgesloten',
            _message(6, "Na de breuk"),
            '<div class="tgme_widget_message" data-post="politiebe/abc">geen nummer</div>',
        ],
        head='<script>document.write(\'<div class="tgme_widget_message" '
        'data-post="politiebe/99"><div class="tgme_widget_message_text">nep</div></div>\')'
        "</script>",
    )
    source = _source()
    with http.fake(lambda r: httpx.Response(200, content=_page([]) if r.url.query else page)):
        assert runner.poll_one(source) == 3
    texts = dict(Post.objects.values_list("external_id", "text"))
    assert texts == {
        "politiebe/4": "Geldig bericht",
        "politiebe/5": "Niet afgesloten",
        "politiebe/6": "Na de breuk",
    }
    source.refresh_from_db()
    assert source.skipped == 4 and source.cursor == "6" and source.last_error == ""


@pytest.mark.parametrize(
    "body, error",
    [
        (b"<html>" + b"<div>" * 1_200_000, "larger than"),
        (b"<html><body>Sorry, this channel is private.</body></html>", "not a channel preview"),
        (b"\xff\xfe<<<</div></section>\x00" * 100, "not a channel preview"),
    ],
    ids=["huge", "no-structure", "garbage"],
)
def test_a_hostile_page_is_skipped_counted_and_recorded_never_a_crash(body, error):
    source = _source()
    with http.fake(lambda r: httpx.Response(200, content=body)):
        assert runner.poll_one(source) == 0
    source.refresh_from_db()
    assert error in source.last_error and source.skipped == 1 and source.cursor == ""


def test_an_unknown_channel_or_a_bad_name_is_recorded():
    source = _source(channel="nosuchchannel")
    with http.fake(PreviewServer({})):
        assert runner.poll_one(source) == 0
    source.refresh_from_db()
    assert "HTTP 302" in source.last_error
    bad = _source(channel="../../etc")
    assert runner.poll_one(bad) == 0
    bad.refresh_from_db()
    assert "channel name" in bad.last_error


def test_the_parser_reads_entities_and_line_breaks():
    parser = tgpreview.PreviewParser()
    parser.feed(_page([_message(9, html.escape("A & B <tag>") + "<br>tweede")]).decode())
    parser.close()
    number, item = tgpreview.to_incoming(parser.messages[0], CHANNEL)
    assert number == 9 and item is not None and item.text == "A & B <tag>\ntweede"
