"""Scale-out over NATS JetStream, against the nats-server on loopback (COPPS_TEST_NATS_URL,
default nats://127.0.0.1:4222); skipped, saying why, when no server answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
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
