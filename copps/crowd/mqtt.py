"""Sensor counts over MQTT: the long-running listener behind ``copps crowd_mqtt``.

The listener subscribes to ``COPPS_MQTT_TOPIC`` (default ``copps/sensors/+/counts``: the ``+``
level is the sensor identifier) on the broker at ``COPPS_MQTT_URL`` (``mqtt://[user:pass@]host
[:port]``, or ``mqtts://`` for TLS with the system's certificate authorities) with QoS 1 and a
persistent session under the fixed client id ``COPPS_MQTT_CLIENT_ID`` (MQTT 5, clean start off,
a session expiry of a day): counts published while the listener is down wait at the broker and
arrive when it reconnects.

paho's network thread only puts ``(sensor id, payload)`` on a queue. The main thread drains it in
batches (up to ``batch`` messages or ``wait`` seconds) into ``copps.crowd.ingest.ingest`` (one
transaction per batch) and acknowledges the batch's messages only after that commit: a crash
before the acknowledgement makes the broker deliver them again, and ``ingest`` refuses a count
that is not after its sensor's previous one, so nothing is lost and nothing counted twice (a
redelivered count shows as an ``out_of_order`` refusal). Ingestion never stops: a batch that
fails (the database went away) is retried once on a fresh connection, then its messages are
counted as refused with reason ``error`` and acknowledged; a topic without a sensor identifier is
refused as ``bad_topic``; a payload larger than ``ingest.MAX_PAYLOAD`` is cut before it is queued
(and refused as ``too_large``). paho reconnects by itself with a growing delay (1 s to 60 s).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import close_old_connections, connection

from . import ingest

logger = logging.getLogger("copps.crowd")

SESSION_EXPIRY = 24 * 3600  # seconds the broker keeps the session (and queued counts) offline
RECEIVE_MAXIMUM = 2000  # unacknowledged QoS 1 messages the broker may have under way to us
QUEUE_LIMIT = 20_000


def _drop_broken_connection() -> None:
    """A connection that failed is not reused: the retry (and the next batch) opens a new one.
    Inside a caller's transaction (a test's) the connection is the caller's to keep."""
    if connection.in_atomic_block:
        return
    try:
        connection.close_if_unusable_or_obsolete()
    except Exception:  # noqa: S110 - closing a dead connection may fail too
        pass


class Writer(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    topic: str = "copps/sensors/+/counts"
    client_id: str = "copps-crowd"


def parse_url(url: str) -> tuple[str, int, str, str, bool]:
    """(host, port, user, password, tls) from ``mqtt://`` or ``mqtts://`` URLs."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ConfigError(f"COPPS_MQTT_URL must look like mqtt://host:1883, not {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ConfigError(f"bad port in {url!r}") from None
    return (
        parts.hostname,
        port,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        tls,
    )


def config(url: str | None = None, *, topic: str = "", client_id: str = "") -> Config:
    url = url if url is not None else settings.COPPS_MQTT_URL
    if not url:
        raise ConfigError("Set COPPS_MQTT_URL (e.g. mqtt://127.0.0.1:1883).")
    host, port, username, password, tls = parse_url(url)
    topic = topic or settings.COPPS_MQTT_TOPIC
    if topic.count("+") < 1:
        raise ConfigError("COPPS_MQTT_TOPIC needs a '+' level for the sensor identifier.")
    return Config(
        host=host,
        port=port,
        username=username,
        password=password,
        tls=tls,
        topic=topic,
        client_id=client_id or settings.COPPS_MQTT_CLIENT_ID,
    )


def sensor_from_topic(topic: str, pattern: str) -> str | None:
    """The level of ``topic`` where ``pattern`` has its first ``+``; None when it does not match.

    ``copps/sensors/bt-1/counts`` under ``copps/sensors/+/counts`` is ``bt-1``."""
    want, got = pattern.split("/"), topic.split("/")
    if want and want[-1] == "#":
        if len(got) < len(want) - 1:
            return None
        got = got[: len(want) - 1]
        want = want[:-1]
    if len(want) != len(got):
        return None
    sensor = None
    for w, g in zip(want, got, strict=True):
        if w == "+":
            if sensor is None:
                sensor = g
        elif w != g:
            return None
    return sensor or None


def make_client(cfg: Config, *, client_id: str, persistent: bool):
    """A paho MQTT 5 client for ``cfg`` (not connected yet)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=True,
    )
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password or None)
    if cfg.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=60)
    return client


def connect_properties(*, persistent: bool):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)
    if persistent:
        props.SessionExpiryInterval = SESSION_EXPIRY
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    return props


@dataclass
class Stats:
    accepted: int = 0
    refused: Counter = field(default_factory=Counter)
    batches: int = 0
    errors: int = 0
    slowest: float = 0.0  # seconds of the slowest batch

    def add(self, result: ingest.Result) -> None:
        self.accepted += result.accepted
        self.refused.update(result.rejected)

    def line(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.refused.items()))
        refused = sum(self.refused.values())
        return (
            f"accepted={self.accepted} refused={refused}"
            + (f" ({reasons})" if reasons else "")
            + f"; {self.batches} batches, slowest {self.slowest:.2f} s"
        )


@dataclass(frozen=True)
class Item:
    mid: int
    qos: int
    generation: int
    sensor_id: str | None
    payload: bytes


class Listener:
    """Subscribe, queue, ingest in batches, acknowledge after the commit. ``run()`` blocks."""

    def __init__(
        self,
        cfg: Config,
        *,
        batch: int = 500,
        wait: float = 0.1,
        out: Writer | None = None,
        progress_every: float = 60.0,
        ingest_batch: Callable[..., ingest.Result] | None = None,
    ):
        self.cfg = cfg
        self.batch = max(1, batch)
        self.wait = max(0.0, wait)
        self.out = out
        self.progress_every = progress_every
        self.ingest_batch = ingest_batch or ingest.ingest
        self.queue: queue.Queue[Item] = queue.Queue(maxsize=QUEUE_LIMIT)
        self.generation = 0  # a new one per connection: acks never cross connections
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.total = Stats()
        self.minute = Stats()
        self.dropped: Counter[str] = (
            Counter()
        )  # counted by the network thread, added by the main thread
        self._dropped_lock = threading.Lock()
        self.client = make_client(cfg, client_id=cfg.client_id, persistent=True)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # paho's network thread ------------------------------------------------------------------

    def _on_connect(self, client, _userdata, flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self._say(f"crowd_mqtt: the broker refused the connection: {reason_code}")
            return
        self.generation += 1
        self.connected.set()
        resumed = getattr(flags, "session_present", False)
        self._say(
            f"crowd_mqtt: connected to {self.cfg.host}:{self.cfg.port} as {self.cfg.client_id}"
            + (" (session resumed)" if resumed else " (new session)")
        )
        client.subscribe(self.cfg.topic, qos=1)

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            self._say(f"crowd_mqtt: subscription to {self.cfg.topic} refused: {reason_codes}")
            return
        self._say(f"crowd_mqtt: subscribed to {self.cfg.topic}")
        self.subscribed.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if reason_code.value != 0:
            self._say(f"crowd_mqtt: disconnected ({reason_code}); reconnecting")

    def _on_message(self, _client, _userdata, message) -> None:
        payload = message.payload
        if len(payload) > ingest.MAX_PAYLOAD:
            payload = payload[: ingest.MAX_PAYLOAD + 1]  # still refused as too large, kept small
        item = Item(
            message.mid,
            message.qos,
            self.generation,
            sensor_from_topic(message.topic, self.cfg.topic),
            bytes(payload),
        )
        if message.qos == 0:
            # Not redelivered by the broker: when the queue is full it is refused, not waited on.
            try:
                self.queue.put_nowait(item)
            except queue.Full:
                with self._dropped_lock:
                    self.dropped["overload"] += 1
            return
        # QoS 1: at most RECEIVE_MAXIMUM are under way unacknowledged, far below the limit.
        self.queue.put(item)

    # The main thread ------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()
        else:
            logger.info(text)

    def start(self) -> None:
        """Connect (in the background: paho retries until the broker answers)."""
        self.client.connect_async(
            self.cfg.host,
            self.cfg.port,
            keepalive=30,
            clean_start=False,
            properties=connect_properties(persistent=True),
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _take(self, timeout: float) -> list[Item]:
        try:
            first = self.queue.get(timeout=timeout)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + self.wait
        while len(items) < self.batch:
            left = deadline - time.monotonic()
            try:
                items.append(self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _ingest(self, pairs: list[tuple[str, Any]]) -> ingest.Result:
        for attempt in (1, 2):
            try:
                return self.ingest_batch(pairs, via="mqtt")
            except Exception:
                self.total.errors += 1
                logger.exception(
                    "crowd_mqtt: a batch of %d failed (attempt %d)", len(pairs), attempt
                )
                _drop_broken_connection()
        result = ingest.Result()
        result.rejected["error"] = len(pairs)
        try:
            ingest.count_rejections(result.rejected, via="mqtt")
        except Exception:
            logger.exception("crowd_mqtt: could not count %d refusals", len(pairs))
            _drop_broken_connection()
        return result

    def process(self, items: list[Item]) -> ingest.Result:
        """Ingest one batch, then acknowledge its messages (those of the current connection)."""
        started = time.monotonic()
        result = ingest.Result()
        pairs = [(i.sensor_id, i.payload) for i in items if i.sensor_id is not None]
        bad_topic = len(items) - len(pairs)
        with self._dropped_lock:
            dropped, self.dropped = self.dropped, Counter()
        if pairs:
            result.merge(self._ingest(pairs))
        extra = Counter(dropped)
        if bad_topic:
            extra["bad_topic"] += bad_topic
        if extra:
            try:
                ingest.count_rejections(extra, via="mqtt")
            except Exception:
                logger.exception("crowd_mqtt: could not count refusals")
                _drop_broken_connection()
            result.rejected.update(extra)
        for item in items:
            # A message received on an earlier connection is not acknowledged on this one: the
            # broker delivers it again and ingest refuses the replay.
            if item.qos and item.generation == self.generation:
                self.client.ack(item.mid, item.qos)
        took = time.monotonic() - started
        for stats in (self.total, self.minute):
            stats.batches += 1
            stats.slowest = max(stats.slowest, took)
            stats.add(result)
        return result

    def step(self, timeout: float = 0.5) -> int:
        """Take and process one batch (waiting up to ``timeout`` for its first message)."""
        items = self._take(timeout)
        if items:
            self.process(items)
        return len(items)

    def run(self, stop: Callable[[], bool], *, idle_exit: float | None = None) -> Stats:
        """Process batches until ``stop()`` (or ``idle_exit`` seconds without a message)."""
        self.start()
        last_progress = last_message = time.monotonic()
        last_cleanup = 0.0
        try:
            while not stop():
                handled = self.step(0.5)
                now = time.monotonic()
                if handled:
                    last_message = now
                elif idle_exit is not None and now - last_message >= idle_exit:
                    break
                if now - last_cleanup >= 30:
                    close_old_connections()  # CONN_MAX_AGE is honoured between batches
                    last_cleanup = now
                if self.progress_every and now - last_progress >= self.progress_every:
                    self._say(
                        f"crowd_mqtt: last {round(now - last_progress)} s: {self.minute.line()}; "
                        f"queued {self.queue.qsize()}"
                    )
                    self.minute = Stats()
                    last_progress = now
        finally:
            self.stop()
            self._say(f"crowd_mqtt: stopped; {self.total.line()}")
        return self.total


# Publishing (the simulator, the bench, the tests) --------------------------------------------


class Publisher:
    """A connected publishing client: ``send`` QoS 1 counts; ``flush`` waits for the broker."""

    def __init__(self, cfg: Config, *, client_id: str = "", inflight: int = 1000):
        import uuid

        self.cfg = cfg
        self.client = make_client(
            cfg, client_id=client_id or f"copps-sim-{uuid.uuid4().hex[:10]}", persistent=False
        )
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.pending: list = []
        self.client.connect(cfg.host, cfg.port, keepalive=30, clean_start=True)
        self.client.loop_start()

    def topic(self, sensor_id: str) -> str:
        topic = self.cfg.topic.replace("+", sensor_id, 1)
        return topic[:-2] if topic.endswith("/#") else topic

    def send(self, sensor_id: str, payload: bytes | str, *, topic: str = "", qos: int = 1):
        info = self.client.publish(topic or self.topic(sensor_id), payload, qos=qos)
        if qos:
            self.pending.append(info)
        return info

    def flush(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for info in self.pending:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        self.pending = [i for i in self.pending if not i.is_published()]
        if self.pending:
            raise TimeoutError(f"{len(self.pending)} counts not acknowledged by the broker")

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.client.disconnect()
            self.client.loop_stop()
