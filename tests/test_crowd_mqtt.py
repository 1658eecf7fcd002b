"""Sensor counts over MQTT, against a real Mosquitto on loopback (tests/support_mosquitto.py: a
broker of this module's own when the binary is installed, else one already answering; skipped,
saying why, without either — a failure under CI=true).

The listener (``copps.crowd.mqtt.Listener``) runs its own loop in the test's thread (paho's
network thread beside it, as in ``copps crowd_mqtt``), so it writes through the test's database
connection; the SIGKILL test runs ``copps crowd_mqtt`` processes through bench/crowd.py on a
database of their own.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from copps.accounts.roles import Role
from copps.channels import deliveries
from copps.channels.models import SandboxPost
from copps.crowd import actions, ingest, mqtt
from copps.crowd.models import (
    AlertKind,
    AlertState,
    CrowdAlert,
    Reading,
    Rejection,
    Sensor,
    Zone,
)
from copps.newsroom.models import State as MessageState
from tests import support_mosquitto
from tests.conftest import require_component
from tests.crowd_helpers import approved_template, iso, make_event

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    if support_mosquitto.available():
        server = support_mosquitto.Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
        yield server.url
        server.stop()
        return
    require_component(
        support_mosquitto.answers(support_mosquitto.FALLBACK_URL),
        f"Mosquitto (the mosquitto binary, or a broker at {support_mosquitto.FALLBACK_URL})",
    )
    yield support_mosquitto.FALLBACK_URL


@pytest.fixture
def cfg(broker):
    pytest.importorskip("paho.mqtt", reason="paho-mqtt is not installed")
    tag = uuid.uuid4().hex[:10]
    return mqtt.config(
        broker, topic=f"copps-test/{tag}/sensors/+/counts", client_id=f"copps-test-{tag}"
    )


@pytest.fixture
def listener(cfg):
    listening = mqtt.Listener(cfg, progress_every=0)
    listening.start()
    assert listening.subscribed.wait(10), "the listener did not subscribe within 10 s"
    yield listening
    listening.stop()


@pytest.fixture
def publisher(cfg):
    sender = mqtt.Publisher(cfg)
    yield sender
    sender.close()


def pump(listener: mqtt.Listener, until, timeout: float = 15.0) -> None:
    """Run the listener's loop until ``until()`` holds (what ``run`` does, bounded)."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {listener.total.line()}"
        listener.step(0.1)


def count(sensor_id: str, **fields) -> bytes:
    return json.dumps({"ts": iso(fields.pop("at", timezone.now())), **fields}).encode()


@pytest.fixture
def people(make_user):
    return {
        "admin": make_user(Role.ADMIN, "admin-mqtt"),
        "commander": make_user(Role.COMMANDER, "commander-mqtt"),
        "writer": make_user(Role.COMMUNICATOR, "writer-mqtt"),
        "approver": make_user(Role.EDITOR, "approver-mqtt"),
    }


@pytest.mark.django_db
def test_counts_over_mqtt_raise_the_level_and_the_fast_track_reaches_a_channel_and_the_public(
    people, listener, publisher, make_channel, client
):
    hook = make_channel("webhook", language="nl")
    event, markt, vrijdag, *_ = make_event(people["admin"], channels=("web", "webhook"))
    area = Zone.objects.get(pk=markt.pk).area_m2
    start = timezone.now() - timedelta(seconds=30)
    # The Korenmarkt fills up (calibration 2: each phone seen stands for two people); people
    # pass the Vrijdagmarkt gate.
    for step, density in enumerate([0.4, 0.8, 1.3, 2.3]):
        at = start + timedelta(seconds=5 * step)
        devices = int(density * area / 2.0) + 1
        publisher.send("bt-korenmarkt-1", count("bt-korenmarkt-1", at=at, devices=devices))
        publisher.send("gate-vrijdag-1", count("gate-vrijdag-1", at=at, **{"in": 50, "out": 10}))
        publisher.flush()
        pump(listener, lambda n=2 * (step + 1): Reading.objects.count() == n)
    assert listener.total.accepted == 8 and not listener.total.refused

    markt.refresh_from_db()
    vrijdag.refresh_from_db()
    assert markt.level == "red" and not markt.stale and markt.density >= 2.0
    assert vrijdag.people == 160 and vrijdag.level == "green"
    alerts = CrowdAlert.objects.filter(zone=markt, kind=AlertKind.LEVEL).order_by("raised_at")
    assert [a.level for a in alerts] == ["amber", "red"]
    red = alerts.get(level="red")
    assert red.state == AlertState.OPEN and red.people == markt.people

    template = approved_template(people["writer"], people["approver"])
    message = actions.send_fast_track(by=people["commander"], template=template, alert=red)
    red.refresh_from_db()
    assert red.state == AlertState.SENT
    assert message.state == MessageState.PUBLISHED
    title = message.versions.get(language="nl").title
    assert title == "Korenmarkt is vol"

    deliveries.deliver_due()
    (post,) = SandboxPost.objects.filter(service="webhook", payload__event="message.published")
    assert "Korenmarkt is vol" in json.dumps(post.payload, ensure_ascii=False)
    assert message.deliveries.get(channel=hook).state == "sent"

    response = client.get(f"/nl/events/{event.slug}/")
    assert response.status_code == 200
    assert "Korenmarkt is vol" in response.content.decode()
    # The news page (the public site's copy of every published message).
    response = client.get(message.permalink_path("nl"))
    assert response.status_code == 200
    assert "Korenmarkt is vol" in response.content.decode()


@pytest.mark.django_db
def test_a_sensor_that_falls_silent_turns_stale(people, listener, publisher, settings):
    settings.COPPS_SENSOR_STALE_SECONDS = 60
    _event, markt, *_ = make_event(people["admin"])
    publisher.send("bt-korenmarkt-1", count("bt-korenmarkt-1", devices=40))
    publisher.flush()
    pump(listener, lambda: Reading.objects.exists())
    assert not Zone.objects.get(pk=markt.pk).stale
    # Nothing more comes over the broker: a minute and a half later the worker's job flags it.
    assert ingest.mark_stale(timezone.now() + timedelta(seconds=90)) == 1
    sensor = Sensor.objects.get(sensor_id="bt-korenmarkt-1")
    assert sensor.stale and Zone.objects.get(pk=markt.pk).stale
    alert = CrowdAlert.objects.get(kind=AlertKind.STALE)
    assert alert.sensor_id == "bt-korenmarkt-1" and alert.state == AlertState.OPEN
    # It speaks again: stale no more, the alert resolved.
    publisher.send("bt-korenmarkt-1", count("bt-korenmarkt-1", devices=41))
    publisher.flush()
    pump(listener, lambda: Reading.objects.count() == 2)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and not Zone.objects.get(pk=markt.pk).stale


@pytest.mark.django_db
def test_hostile_input_is_refused_and_counted_and_the_listener_keeps_going(
    people, listener, publisher, cfg, settings
):
    settings.COPPS_SENSOR_MAX_PER_MINUTE = 100
    make_event(people["admin"])
    now = timezone.now()
    hostile = [
        ("bt-korenmarkt-1", b"garbage", "malformed"),
        ("bt-korenmarkt-1", b"\xff\xfe\x00", "malformed"),
        ("bt-korenmarkt-1", b"", "malformed"),
        ("bt-korenmarkt-1", b'{"ts": "x", "devices": 1}', "bad_timestamp"),
        ("bt-korenmarkt-1", b"[" * 200_000, "too_large"),  # 200 KB
        ("bt-korenmarkt-1", count("b", devices=3, mac="aa:bb:cc:dd:ee:ff"), "unexpected_field"),
        ("bt-korenmarkt-1", count("b", devices=-1), "negative"),
        ("nobody-here", count("n", devices=3), "unknown_sensor"),
        ("bad id!", count("n", devices=3), "bad_sensor_id"),
        ("gate-vrijdag-1", count("g", devices=3), "wrong_kind"),
    ]
    for sensor_id, payload, _reason in hostile:
        publisher.send(sensor_id, payload)
    # Topics outside the subscription never reach the listener (the broker filters them).
    prefix = cfg.topic.split("/sensors/")[0]
    publisher.send("", count("x", devices=1), topic=f"{prefix}/sensors/bt-korenmarkt-1/other")
    publisher.send("", count("x", devices=1), topic=f"{prefix}/sensors/a/b/counts")
    # A flood: 150 counts of one sensor for one minute of its time, QoS 0 and 1 mixed.
    minute = now.replace(second=0, microsecond=0) - timedelta(minutes=2)
    for i in range(150):
        at = iso(minute + timedelta(milliseconds=200 * i))
        payload = json.dumps({"ts": at, "in": 1, "out": 0}).encode()
        publisher.send("gate-vrijdag-1", payload, qos=i % 2)
    publisher.flush()
    expected = Counter(reason for *_x, reason in hostile)
    expected["flood"] = 50
    pump(listener, lambda: sum(listener.total.refused.values()) >= sum(expected.values()))
    assert listener.total.refused == expected
    assert listener.total.accepted == 100
    stored = dict(Rejection.objects.filter(via="mqtt").values_list("reason", "count"))
    assert stored == dict(expected)
    assert Sensor.objects.get(sensor_id="gate-vrijdag-1").occupancy == 100
    # Still listening: a good count after all that is stored.
    publisher.send("bt-korenmarkt-1", count("bt-korenmarkt-1", devices=12))
    publisher.flush()
    pump(listener, lambda: Reading.objects.filter(sensor__sensor_id="bt-korenmarkt-1").exists())


@pytest.mark.django_db
def test_a_failing_batch_is_retried_once_then_counted_as_refused_and_acknowledged(
    people, cfg, publisher
):
    make_event(people["admin"])
    calls = []

    def broken(pairs, *, via):
        calls.append(len(pairs))
        if len(calls) <= 2:
            raise RuntimeError("database went away")
        return ingest.ingest(pairs, via=via)

    listening = mqtt.Listener(cfg, progress_every=0, ingest_batch=broken, wait=0.5)
    listening.start()
    try:
        assert listening.subscribed.wait(10)
        publisher.send("bt-korenmarkt-1", count("bt-korenmarkt-1", devices=5))
        publisher.send("bt-korenmarkt-1", count("bt-korenmarkt-1", devices=6))
        publisher.flush()
        pump(listening, lambda: listening.total.batches >= 1)
        assert listening.total.refused == {"error": 2} and listening.total.errors == 2
        assert Rejection.objects.get(reason="error", via="mqtt").count == 2
        # The queue moves on: the next count goes in.
        publisher.send("bt-korenmarkt-1", count("bt-korenmarkt-1", devices=7))
        publisher.flush()
        pump(listening, lambda: Reading.objects.filter(devices=7).exists())
    finally:
        listening.stop()


def test_messages_without_a_sensor_in_their_topic_are_refused_as_bad_topic(cfg, monkeypatch):
    counted = []
    monkeypatch.setattr(ingest, "count_rejections", lambda reasons, via: counted.append(reasons))
    listening = mqtt.Listener(cfg, progress_every=0, ingest_batch=lambda *a, **k: ingest.Result())
    result = listening.process([mqtt.Item(1, 0, 0, None, b"{}"), mqtt.Item(2, 0, 0, None, b"")])
    assert result.rejected == {"bad_topic": 2} and counted == [Counter(bad_topic=2)]


@pytest.mark.parametrize(
    ("topic", "pattern", "sensor"),
    [
        ("copps/sensors/bt-1/counts", "copps/sensors/+/counts", "bt-1"),
        ("copps/sensors/bt-1/other", "copps/sensors/+/counts", None),
        ("copps/sensors/a/b/counts", "copps/sensors/+/counts", None),
        ("copps/sensors//counts", "copps/sensors/+/counts", None),
        ("site/gent/bt-9/counts/raw", "site/+/+/counts/#", "gent"),
    ],
)
def test_the_sensor_comes_from_the_topic(topic, pattern, sensor):
    assert mqtt.sensor_from_topic(topic, pattern) == sensor


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("mqtt://127.0.0.1:1883", ("127.0.0.1", 1883, "", "", False)),
        ("mqtt://copps:s%40cret@broker.lan", ("broker.lan", 1883, "copps", "s@cret", False)),
        ("mqtts://broker.example", ("broker.example", 8883, "", "", True)),
    ],
)
def test_broker_urls(url, parsed):
    assert mqtt.parse_url(url) == parsed


@pytest.mark.parametrize("url", ["http://x", "mqtt://", "broker:1883", "mqtt://h:99999"])
def test_bad_broker_urls_are_refused_clearly(url):
    with pytest.raises(mqtt.ConfigError):
        mqtt.parse_url(url)


# SIGKILL: nothing lost, nothing counted twice --------------------------------------------------


def bench_database_args() -> list[str]:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return ["--database", "sqlite"]
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return ["--database-url", f"postgres://{auth}@{host}/{db['NAME']}_crowd"]


def test_a_sigkilled_listener_loses_nothing_and_counts_nothing_twice(broker, tmp_path):
    """bench/crowd.py --kill: people counters publish in/out over QoS 1 while ``copps
    crowd_mqtt`` processes are SIGKILLed and restarted; afterwards every sensor's occupancy is
    exactly in − out as published and every count is stored once."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "crowd.py"),
        "--kill",
        "--sensors", "40",
        "--duration", "12",
        "--kill-every", "2.5",
        "--broker", broker,
        "--tmp", str(tmp_path),
        *bench_database_args(),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    figures = dict(part.split("=") for part in done.stdout.strip().splitlines()[-1].split())
    assert int(figures["kills"]) >= 2, done.stderr[-3000:]
    assert int(figures["published"]) > 0
    assert figures["lost"] == "0" and figures["doubled"] == "0", done.stderr[-3000:]
    assert figures["occupancy_exact"] == "yes", done.stderr[-3000:]


class Crash(BaseException):
    """The listener dying between its database commit and its acknowledgements."""


@pytest.mark.django_db
def test_counts_committed_but_not_acknowledged_come_again_and_are_not_counted_twice(
    people, cfg, publisher
):
    make_event(people["admin"])
    start = timezone.now() - timedelta(seconds=40)

    def commit_then_die(pairs, *, via):
        ingest.ingest(pairs, via=via)
        raise Crash

    first = mqtt.Listener(cfg, progress_every=0, ingest_batch=commit_then_die, wait=0.3)
    first.start()
    assert first.subscribed.wait(10)
    for i in range(20):
        at = start + timedelta(seconds=i)
        publisher.send("gate-vrijdag-1", count("g", at=at, **{"in": 7, "out": 2}))
    publisher.flush()
    with pytest.raises(Crash):
        pump(first, lambda: False)
    first.stop()
    committed = Reading.objects.count()
    assert 0 < committed <= 20
    for i in range(20, 30):  # published while no listener runs: queued at the broker
        at = start + timedelta(seconds=i)
        publisher.send("gate-vrijdag-1", count("g", at=at, **{"in": 7, "out": 2}))
    publisher.flush()

    second = mqtt.Listener(cfg, progress_every=0)  # the same client id: the same session
    second.start()
    try:
        pump(second, lambda: second.total.accepted + committed >= 30)
    finally:
        second.stop()
    assert Reading.objects.count() == 30
    assert Sensor.objects.get(sensor_id="gate-vrijdag-1").occupancy == 30 * 5
    # What the first one stored came again and was refused as a replay.
    assert second.total.refused == {"out_of_order": committed}


# The demo feed --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_simulator_feeds_the_listener_and_the_busy_zone_goes_red(
    people, listener, cfg, broker, settings
):
    from django.core.management import call_command

    settings.COPPS_MQTT_TOPIC = cfg.topic
    event, markt, vrijdag, *_ = make_event(people["admin"])
    call_command(
        "crowd_simulate",
        event=event.slug,
        zone="korenmarkt",
        rate=4,
        duration=2.1,
        build=1.5,
        mqtt=broker,
        seed=7,
        stdout=io.StringIO(),
    )
    pump(listener, lambda: Reading.objects.count() >= 16)
    assert not listener.total.refused
    markt.refresh_from_db()
    vrijdag.refresh_from_db()
    assert markt.level == "red" and vrijdag.level == "green" and vrijdag.people > 0
    assert CrowdAlert.objects.filter(zone=markt, level="red", state=AlertState.OPEN).exists()


@pytest.mark.django_db(transaction=True)
def test_the_simulator_can_push_over_http(people, live_server, settings):
    from django.core.management import call_command

    from copps.accounts import actions as account_actions

    settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS = "127.0.0.1,localhost"
    event, markt, *_ = make_event(people["admin"])
    _row, token = account_actions.issue_token(people["commander"], by=people["commander"])
    out = io.StringIO()
    call_command(
        "crowd_simulate",
        event=event.slug,
        rate=2,
        duration=1.2,
        http=live_server.url,
        token=token,
        stdout=out,
    )
    assert "sent=6 refused=0" in out.getvalue()
    assert Reading.objects.count() == 6
