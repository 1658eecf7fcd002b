"""Scale-out over NATS JetStream, against the nats-server on loopback (COPPS_TEST_NATS_URL,
default nats://127.0.0.1:4222); skipped, saying why, when no server answers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from copps.listening import nats as bus
from copps.listening.models import Match, Post, Purpose, Source, Watch
from copps.listening.pipeline import Incoming

URL = os.environ.get("COPPS_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _reachable(url: str) -> bool:
    where = urlparse(url)
    try:
        with socket.create_connection((where.hostname or "127.0.0.1", where.port or 4222), 1):
            return True
    except OSError:
        return False


needs_server = pytest.mark.skipif(
    not _reachable(URL), reason=f"no nats-server with JetStream at {URL} (start: nats-server -js)"
)


class Crash(Exception):
    """A consumer dying between its database commit and its acknowledgements."""


@pytest.fixture
def cfg():
    pytest.importorskip("nats", reason="nats-py is not installed")
    tag = uuid.uuid4().hex[:12]
    config = bus.Config(
        url=URL,
        stream=f"COPPS_TEST_{tag}",
        subject=f"copps.test.{tag}",
        durable=f"test-{tag}",
    )
    yield config

    async def delete():
        import nats
        from nats.js.errors import NotFoundError

        nc = await nats.connect(URL)
        try:
            await nc.jetstream().delete_stream(config.stream)
        except NotFoundError:  # the test skipped before creating it
            pass
        finally:
            await nc.close()

    if _reachable(URL):
        bus.run_sync(delete())


@needs_server
@pytest.mark.django_db(transaction=True)
def test_it_stores_and_matches_every_message_exactly_once_when_a_consumer_dies_mid_stream(cfg):
    source = Source.objects.create(kind="import", name="national feed")
    purpose = Purpose.objects.create(name="mood", kind="mood")
    Watch.objects.create(purpose=purpose, name="politie", query="politie")
    items = [
        Incoming(external_id=f"post-{n}", text=f"De politie in Gent, bericht {n}", language="nl")
        for n in range(500)
    ]
    assert bus.run_sync(bus.publish_async(cfg, source.pk, items, cursor="500")) == 500

    def crash_after_150(acked: int) -> None:
        if acked >= 150:  # four batches stored, the fourth never acknowledged
            raise Crash

    with pytest.raises(Crash):
        bus.run_sync(bus.consume_async(cfg, batch=50, before_ack=crash_after_150, ack_wait=1))
    assert Post.objects.filter(source=source).count() == 200

    acked = bus.run_sync(bus.consume_async(cfg, batch=50, idle_exit=3, ack_wait=1))

    # The second consumer got the 300 never delivered plus the 50 the first stored but did not
    # acknowledge: those were redelivered and recognised as already stored.
    assert acked == 350
    posts = Post.objects.filter(source=source)
    assert posts.count() == 500
    assert set(posts.values_list("external_id", flat=True)) == {i.external_id for i in items}
    assert Match.objects.filter(post__source=source).count() == 500
    assert Match.objects.values("post").distinct().count() == 500
    source.refresh_from_db()
    assert source.received == 500 and source.cursor == "500"
    assert posts.first().places == ["44021"]  # analysed on the consumer side: Gent


def _shared_database_url() -> str:
    """The test database as a URL another process can open (PostgreSQL only)."""
    from django.db import connection

    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        return ""
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


@needs_server
@pytest.mark.django_db(transaction=True)
def test_it_loses_and_double_counts_nothing_when_a_consumer_process_is_sigkilled(cfg):
    url = _shared_database_url()
    if not url:
        pytest.skip("needs a database a second process can share: PostgreSQL (CI runs it)")
    source = Source.objects.create(kind="import", name="national feed")
    purpose = Purpose.objects.create(name="mood", kind="mood")
    Watch.objects.create(purpose=purpose, name="politie", query="politie")
    items = [Incoming(f"post-{n}", f"De politie meldt {n} in Eupen") for n in range(500)]

    async def prepare():
        import nats

        nc = await nats.connect(cfg.url)
        try:
            await bus.ensure(nc.jetstream(), cfg, ack_wait=1)  # redeliver after one second
        finally:
            await nc.close()

    bus.run_sync(prepare())
    assert bus.run_sync(bus.publish_async(cfg, source.pk, items, cursor="500")) == 500
    env = dict(
        os.environ,
        DATABASE_URL=url,
        COPPS_NATS_URL=cfg.url,
        COPPS_NATS_STREAM=cfg.stream,
        COPPS_NATS_SUBJECT=cfg.subject,
        COPPS_NATS_DURABLE=cfg.durable,
    )
    root = Path(__file__).resolve().parent.parent
    consumer = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "listening_nats", "consume", "--batch", "10"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while Post.objects.filter(source=source).count() < 50:
            assert consumer.poll() is None, consumer.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the consumer stored nothing in 60 s"
            time.sleep(0.02)
        consumer.send_signal(signal.SIGKILL)
    finally:
        consumer.kill()
        consumer.wait(10)
        if consumer.stderr:
            consumer.stderr.close()
    at_kill = Post.objects.filter(source=source).count()
    assert at_kill < 500, "the consumer finished before it could be killed"

    bus.run_sync(bus.consume_async(cfg, batch=50, idle_exit=3, ack_wait=1))

    posts = Post.objects.filter(source=source)
    assert posts.count() == 500
    assert posts.values("external_id").distinct().count() == 500
    assert Match.objects.filter(post__source=source).count() == 500
    assert Match.objects.values("post").distinct().count() == 500


@needs_server
@pytest.mark.django_db(transaction=True)
def test_it_counts_and_drops_malformed_messages_instead_of_redelivering_them(cfg):
    import nats

    source = Source.objects.create(kind="import", name="feed")

    async def send():
        nc = await nats.connect(cfg.url)
        try:
            js = nc.jetstream()
            await bus.ensure(js, cfg)
            await js.publish(cfg.subject, b"\xff\xfe not json")
            await js.publish(cfg.subject, b'{"source": %d, "item": {"text": 5}}' % source.pk)
            await js.publish(cfg.subject, bus.encode(source.pk, Incoming("ok-1", "hallo"), None))
        finally:
            await nc.close()

    bus.run_sync(send())
    assert bus.run_sync(bus.consume_async(cfg, batch=10, idle_exit=2, ack_wait=1)) == 3
    assert list(Post.objects.values_list("external_id", flat=True)) == ["ok-1"]
    source.refresh_from_db()
    assert source.skipped == 1  # the one that named its source; the other is only logged


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        b"[]",
        b'{"source": "7", "item": {}}',
        b'{"source": 7, "item": {"external_id": "x", "text": ""}}',
        b'{"source": 7, "cursor": 3, "item": {"external_id": "x", "text": "t"}}',
        b'{"source": 7, "item": {"external_id": "x", "text": "t", "published_at": "nope"}}',
        b'{"source": 7, "item": {"external_id": "x", "text": "' + b"a" * 70_000 + b'"}}',
    ],
)
def test_it_rejects_hostile_messages_with_a_reason(data):
    with pytest.raises(bus.BadMessage):
        bus.decode(data)


def test_it_round_trips_an_item_through_a_message():
    item = Incoming("id-1", "Brand in Luik", url="https://x.test/1", author="@a", language="nl")
    assert bus.decode(bus.encode(3, item, "c9")) == (3, item, "c9")


# --- Sources publish to the stream when COPPS_NATS_URL is set ---------------------------------


def _configure(settings, config: bus.Config) -> None:
    settings.COPPS_NATS_URL = config.url
    settings.COPPS_NATS_STREAM = config.stream
    settings.COPPS_NATS_SUBJECT = config.subject
    settings.COPPS_NATS_DURABLE = config.durable


def _feed_source() -> Source:
    from tests.test_listening_sources import FEED_URL

    purpose = Purpose.objects.create(name="mood", kind="mood")
    Watch.objects.create(purpose=purpose, name="brand", query="brand")
    return Source.objects.create(kind="rss", name="news", config={"url": FEED_URL})


def _feed(*guids: str):
    from tests.test_listening_sources import FeedServer, _rss

    return FeedServer(_rss(*((g, f"Brand {g}", "De brandweer is ter plaatse.") for g in guids)))


def _stream_count(config: bus.Config) -> int:
    async def count():
        import nats

        nc = await nats.connect(config.url)
        try:
            return (await nc.jetstream().stream_info(config.stream)).state.messages
        finally:
            await nc.close()

    return bus.run_sync(count())


def _drain(config: bus.Config, **options) -> int:
    return bus.run_sync(bus.consume_async(config, batch=50, idle_exit=2, ack_wait=1, **options))


@needs_server
@pytest.mark.django_db(transaction=True)
def test_a_polled_feed_publishes_to_the_stream_and_a_consumer_stores_it(cfg, settings):
    from copps.lib import http
    from copps.listening import runner

    _configure(settings, cfg)
    source = _feed_source()
    server = _feed("a1", "a2", "a3")
    with http.fake(server):
        assert runner.poll_due() == 3
    # Published, not ingested by the poller; the cursor advanced after JetStream acknowledged.
    assert Post.objects.count() == 0
    assert _stream_count(cfg) == 3
    source.refresh_from_db()
    assert json.loads(source.cursor)["seen"] == ["a1", "a2", "a3"]
    assert source.last_error == "" and source.last_polled_at is not None

    assert _drain(cfg) == 3
    assert sorted(Post.objects.values_list("external_id", flat=True)) == ["a1", "a2", "a3"]
    assert Match.objects.count() == 3
    source.refresh_from_db()
    assert source.received == 3
    assert json.loads(source.cursor)["seen"] == ["a1", "a2", "a3"]  # consumers leave it alone

    # Not due again yet: nothing polled. Due, the feed unchanged (304): nothing published.
    with http.fake(server):
        assert runner.poll_due() == 0
        assert len(server.requests) == 1
        later = source.last_polled_at + timedelta(seconds=settings.COPPS_LISTENING_POLL_SECONDS + 1)
        assert runner.poll_due(now=later) == 0
    assert server.requests[-1].headers["if-none-match"] == '"v1"'
    assert _stream_count(cfg) == 3


@needs_server
@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_after_publishing_before_its_cursor_loses_and_duplicates_nothing(
    cfg, settings, monkeypatch
):
    from copps.lib import http
    from copps.listening import runner

    _configure(settings, cfg)
    source = _feed_source()
    server = _feed("a1", "a2", "a3")

    def killed(*args, **kwargs):
        raise Crash("killed between the acknowledgement and the cursor")

    monkeypatch.setattr(bus, "advance", killed)
    with http.fake(server):
        assert runner.poll_one(source) == 0
    source.refresh_from_db()
    assert source.cursor == "" and "Crash" in source.last_error
    assert _stream_count(cfg) == 3

    # Restarted: the same entries are read and published again; the stream's duplicate window
    # drops them, the consumer stores each once.
    monkeypatch.undo()
    _configure(settings, cfg)
    with http.fake(server):
        assert runner.poll_one(source) == 3
    assert _stream_count(cfg) == 3
    assert _drain(cfg) == 3
    assert Post.objects.filter(source=source).count() == 3
    assert Match.objects.count() == 3


@needs_server
@pytest.mark.django_db(transaction=True)
def test_a_publish_that_fails_halfway_keeps_the_cursor_and_the_next_run_sends_the_rest(
    cfg, settings, monkeypatch
):
    from copps.lib import http
    from copps.listening import runner

    _configure(settings, cfg)
    source = _feed_source()
    server = _feed("a1", "a2", "a3")
    real, calls = bus.encode, []

    def breaks_on_the_second(*args):
        calls.append(args)
        if len(calls) == 2:
            raise ConnectionResetError("NATS went away")
        return real(*args)

    monkeypatch.setattr(bus, "encode", breaks_on_the_second)
    with http.fake(server):
        assert runner.poll_one(source) == 0
    source.refresh_from_db()
    assert source.cursor == "" and "NATS went away" in source.last_error
    assert _stream_count(cfg) == 1

    monkeypatch.undo()
    _configure(settings, cfg)
    with http.fake(server):
        assert runner.poll_one(source) == 3
    source.refresh_from_db()
    assert source.last_error == "" and json.loads(source.cursor)["seen"] == ["a1", "a2", "a3"]
    assert _drain(cfg) == 3
    assert sorted(Post.objects.values_list("external_id", flat=True)) == ["a1", "a2", "a3"]


@needs_server
@pytest.mark.django_db(transaction=True)
def test_a_consumer_killed_after_storing_a_polled_feed_stores_each_post_once(cfg, settings):
    from copps.lib import http
    from copps.listening import runner

    _configure(settings, cfg)
    source = _feed_source()
    with http.fake(_feed(*(f"g{n}" for n in range(120)))):
        assert runner.poll_one(source) == 120

    def crash(acked: int) -> None:
        if acked >= 50:  # the second batch is stored, never acknowledged
            raise Crash

    with pytest.raises(Crash):
        _drain(cfg, before_ack=crash)
    assert Post.objects.count() == 100
    assert _drain(cfg) == 70  # the 20 never delivered plus the 50 redelivered
    assert Post.objects.filter(source=source).count() == 120
    assert Match.objects.count() == 120
    source.refresh_from_db()
    assert source.received == 120


@needs_server
@pytest.mark.django_db(transaction=True)
def test_nats_down_is_the_sources_error_and_nothing_moves(settings):
    from copps.lib import http
    from copps.listening import runner

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.COPPS_NATS_URL = f"nats://127.0.0.1:{port}"
    source = _feed_source()
    started = time.monotonic()
    with http.fake(_feed("a1")):
        assert runner.poll_one(source) == 0
    assert time.monotonic() - started < 15  # gives up quickly; the next run retries
    source.refresh_from_db()
    assert source.cursor == "" and "NATS" in source.last_error
    assert Post.objects.count() == 0


@needs_server
@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.test_listening_sources")
def test_the_webhook_and_the_importer_publish_too(cfg, settings, client, tmp_path):
    from copps.listening.sources import importer, webhook

    _configure(settings, cfg)
    hook = Source.objects.create(kind="webhook", name="hook")
    token = webhook.new_token(hook)
    answer = client.post(
        f"/hooks/listening/{hook.pk}/{token}",
        [{"id": "w1", "text": "Hallo politie"}, {"id": "w2"}],
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json() == {"stored": 1, "skipped": 1}
    imported = Source.objects.create(kind="import", name="file")
    path = tmp_path / "posts.jsonl"
    path.write_text('{"id": "i1", "text": "Brand"}\n{"id": "i2", "text": "Rook"}\nnope\n')
    assert importer.import_file(imported, path).stored == 2
    assert Post.objects.count() == 0
    assert _drain(cfg) == 3
    assert sorted(Post.objects.values_list("external_id", flat=True)) == ["i1", "i2", "w1"]

    settings.COPPS_NATS_URL = "nats://127.0.0.1:1"
    answer = client.post(
        f"/hooks/listening/{hook.pk}/{token}", {"id": "w3", "text": "x"},
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 503


@needs_server
@pytest.mark.django_db(transaction=True)
def test_a_streaming_source_publishes_and_advances_its_cursor_after_the_stream_took_it(
    cfg, settings
):
    from copps.listening.sources import bluesky
    from tests.support_websocket import JetstreamReplay, post_event

    _configure(settings, cfg)
    t0 = 1_779_719_009_000_000
    frames = [post_event(t0 + n, f"r{n}", f"Politie bericht {n}") for n in range(1, 4)]
    with JetstreamReplay(frames) as server:
        source = Source.objects.create(
            kind="bluesky", name="sky", config={"url": server.url, "allow_private": True}
        )
        assert bluesky.run(source) == 3
    source.refresh_from_db()
    assert source.cursor == str(t0 + 3)
    assert Post.objects.count() == 0
    assert _drain(cfg) == 3
    assert Post.objects.filter(source=source).count() == 3
