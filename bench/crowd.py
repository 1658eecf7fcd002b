"""Benchmark: crowd sensors through Mosquitto into a running ``copps crowd_mqtt``.

``--sensors`` Bluetooth counters (default 2,000) in ``--zones`` zones of about 100 m × 100 m each
publish one count per second (``--rate``) for ``--duration`` seconds (default 300), QoS 1, from
``--publishers`` processes, each count at its own moment within the second. The listener is a
real ``copps crowd_mqtt`` process on a fresh database (PostgreSQL by default: a database
``copps_bench_crowd`` is created afresh, BENCH_CROWD_POSTGRES_URL to change it; ``--database
sqlite`` for a temporary SQLite file) and
a Mosquitto of the run's own on a free loopback port (``--broker URL`` to use another).

Every zone sits at about 0.4 people/m² (green). In ``--hot`` zones one sensor, the driver, jumps
every 30 s to a count that puts its zone above the maximum density (red) and back 15 s later
(green again: the alert resolves); the publish time of the driver's first high count is the
moment the threshold was crossed, and ``alert.raised_at`` minus that moment is the
threshold-to-alert latency (the same clock: one machine).

It prints progress every 10 s, then: offered counts/s, stored counts/s, the backlog drained after
publishing stopped, alert latency p50/p95 (target p95 <= 2 s) and, same run, the naive baseline:
the same listener with ``--batch 1`` (one count per transaction) under the same load for
``--baseline-seconds``. The last line is machine-readable:
``offered_per_s=… stored_per_s=… alert_p50_s=… alert_p95_s=… naive_per_s=… batch_vs_naive=…``.

    .venv/bin/python bench/crowd.py --sensors 200 --duration 30      # a small run
    .venv/bin/python bench/crowd.py                                  # 2,000 sensors, 5 minutes

``--kill`` (the crash test, tests/test_crowd_mqtt.py): people counters publish random passages
in and out while the listener process is SIGKILLed every ``--kill-every`` seconds and started
again; afterwards every count must be stored once and every sensor's occupancy must equal the
passages in minus out it published. Last line:
``published=… stored=… kills=… lost=… doubled=… occupancy_exact=yes|no redelivered=…``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PG_URL, ROOT, log, prepare_database, setup_django  # noqa: E402

# A database of its own: other benchmarks recreate the shared default one.
CROWD_PG_URL = os.environ.get(
    "BENCH_CROWD_POSTGRES_URL", PG_URL.rsplit("/", 1)[0] + "/copps_bench_crowd"
)

PERIOD = 30.0  # seconds between two rises of a hot zone
HIGH_FOR = 15.0  # seconds a hot zone stays above its maximum
TOPIC = "copps/sensors/+/counts"
# About 98 m × 100 m at 51° N.
DLON, DLAT = 0.0014, 0.0009


def square(i: int) -> dict:
    x, y = 3.70 + (i % 40) * DLON * 1.5, 51.04 + (i // 40) * DLAT * 1.5
    ring = [[x, y], [x + DLON, y], [x + DLON, y + DLAT], [x, y + DLAT], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


# Set-up --------------------------------------------------------------------------------------


def make_event(sensors: int, zones: int, *, counters: bool) -> list[dict]:
    """An event with ``zones`` zones and ``sensors`` sensors; returns the sensors' plan."""
    from django.utils import timezone

    from copps.accounts.models import User
    from copps.accounts.roles import Role
    from copps.crowd import actions
    from copps.crowd.models import SensorKind

    admin = User.objects.create(username="bench-admin", role=Role.ADMIN)
    now = timezone.now()
    event = actions.save_event(
        by=admin,
        name="Bench festival",
        slug="bench-festival",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=10),
        channels=["web"],
    )
    plan = []
    per_zone = max(1, sensors // zones)
    made = 0
    for z in range(zones):
        zone = actions.save_zone(
            event,
            by=admin,
            key=f"zone-{z:03d}",
            name=f"Zone {z}",
            geometry=square(z),
            comfortable_density=1.0,
            max_density=2.0,
        )
        count = per_zone if z < zones - 1 else sensors - made
        for s in range(count):
            sensor, _token = actions.add_sensor(
                zone,
                by=admin,
                sensor_id=f"s{z:03d}-{s:04d}",
                kind=SensorKind.COUNTER if counters else SensorKind.BLUETOOTH,
                calibration=1.0,
            )
            # Together the zone's sensors see 0.4 people/m² (green).
            plan.append(
                {
                    "sensor": sensor.sensor_id,
                    "zone": zone.pk,
                    "base": max(1, round(0.4 * zone.area_m2 / count)),
                    "high": 0,
                }
            )
            if s == 0:
                # The driver alone puts the zone at 2.4 people/m² (red) when it jumps.
                plan[-1]["high"] = round(2.4 * zone.area_m2)
            made += 1
        if made % 200 < per_zone:
            log(f"set-up: {made:,}/{sensors:,} sensors")
    return plan


# Publishers (processes of their own; Django only for the MQTT client helpers) ----------------


def publish_slice(env, url, plan, start_at, duration, rate, hot_zones, seed, counters, results):
    os.environ.update(env)
    import django

    django.setup()
    from copps.crowd import mqtt

    rng = random.Random(seed)
    cfg = mqtt.config(url, topic=TOPIC, client_id="unused")
    publisher = mqtt.Publisher(cfg)
    phase = {z: i * PERIOD / max(1, len(hot_zones)) for i, z in enumerate(sorted(hot_zones))}
    was_high: dict[str, bool] = {}
    crossings: list[tuple[int, float]] = []
    published: dict[str, int] = {}
    totals: dict[str, list[int]] = {}
    occupancy: dict[str, int] = {}
    ticks = int(duration * rate)
    chunk = 25
    for k in range(ticks):
        tick_start = start_at + k / rate
        for first in range(0, len(plan), chunk):
            due = tick_start + (first / len(plan)) / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            for item in plan[first : first + chunk]:
                sensor = item["sensor"]
                now = time.time()
                if counters:
                    occ = occupancy.get(sensor, 0)
                    inflow = rng.randint(0, 6)
                    outflow = rng.randint(0, min(6, occ + inflow))
                    occupancy[sensor] = occ + inflow - outflow
                    got = totals.setdefault(sensor, [0, 0])
                    got[0] += inflow
                    got[1] += outflow
                    body = {"in": inflow, "out": outflow}
                else:
                    high = False
                    if item["high"] and item["zone"] in phase:
                        since = now - start_at - 10 - phase[item["zone"]]
                        high = since >= 0 and since % PERIOD < HIGH_FOR
                    if high and not was_high.get(sensor):
                        crossings.append((item["zone"], now))
                    was_high[sensor] = high
                    jitter = rng.randint(-2, 2)
                    body = {"devices": item["high"] if high else max(0, item["base"] + jitter)}
                ts = datetime.fromtimestamp(now, UTC).isoformat()
                publisher.send(sensor, json.dumps({"ts": ts, **body}))
                published[sensor] = published.get(sensor, 0) + 1
        if k % 5 == 4:
            publisher.flush(60)
    last = time.time()
    publisher.close()
    results.put({"published": published, "crossings": crossings, "totals": totals, "last": last})


def run_publishers(env, url, plan, duration, rate, hot_zones, processes, seed, counters):
    """Start the publisher processes; returns (processes, results queue, start time)."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 3.0  # every process connected by then
    procs = []
    for i in range(processes):
        part = plan[i::processes]
        proc = ctx.Process(
            target=publish_slice,
            args=(env, url, part, start_at, duration, rate, hot_zones, seed + i, counters, results),
        )
        proc.start()
        procs.append(proc)
    return procs, results, start_at


def collect(procs, results, timeout: float) -> dict:
    merged: dict = {"published": {}, "crossings": [], "totals": {}, "last": 0.0}
    for _ in procs:
        part = results.get(timeout=timeout)
        merged["last"] = max(merged["last"], part["last"])
        merged["published"].update(part["published"])
        merged["crossings"].extend(part["crossings"])
        merged["totals"].update(part["totals"])
    for proc in procs:
        proc.join(10)
    return merged


# The listener ---------------------------------------------------------------------------------


LISTENERS: list[Listener] = []


class Listener:
    def __init__(self, env: dict, url: str, logdir: Path, client_id: str, batch: int = 500):
        self.env = dict(env, COPPS_MQTT_URL=url, COPPS_MQTT_TOPIC=TOPIC)
        self.logdir, self.client_id, self.batch = logdir, client_id, batch
        self.proc: subprocess.Popen | None = None
        self.started = 0
        self.born = 0.0

    def start(self, wait: bool = True) -> None:
        self.started += 1
        path = self.logdir / f"listener-{self.client_id}-{self.started}.log"
        out = open(path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "copps.manage", "crowd_mqtt", "--progress", "10",
             "--client-id", self.client_id, "--batch", str(self.batch)],
            env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.born = time.monotonic()
        if wait:
            deadline = time.monotonic() + 60
            while b"subscribed to" not in path.read_bytes():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the listener did not subscribe: see {path}")
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def stored() -> int:
    from copps.crowd.models import Reading

    return Reading.objects.count()


def wait_drained(target: int, *, quiet_for: float = 20.0, limit: float = 600.0) -> float:
    """Seconds until ``target`` counts are stored (or nothing moved for ``quiet_for``)."""
    started = last_move = time.monotonic()
    seen = stored()
    while seen < target and time.monotonic() - started < limit:
        time.sleep(0.25)
        now_seen = stored()
        if now_seen != seen:
            seen, last_move = now_seen, time.monotonic()
        elif time.monotonic() - last_move > quiet_for:
            break
    return time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# Modes ----------------------------------------------------------------------------------------


def progress_until(procs, label: str, started: float) -> None:
    while any(p.is_alive() for p in procs):
        time.sleep(10)
        from copps.crowd.models import CrowdAlert

        log(
            f"{label}: {time.monotonic() - started:5.0f} s  stored {stored():,}  "
            f"alerts {CrowdAlert.objects.count():,}"
        )


def main_bench(args, env, url, tmp: Path) -> None:
    from copps.crowd.models import CrowdAlert, Reading

    plan = make_event(args.sensors, args.zones, counters=False)
    hot = sorted({p["zone"] for p in plan if p["high"]})[: args.hot]
    tag = uuid.uuid4().hex[:8]
    listener = Listener(env, url, tmp, f"bench-{tag}", batch=args.batch)
    listener.start()
    LISTENERS.append(listener)
    log(
        f"publishing: {args.sensors:,} sensors × {args.rate:g}/s for {args.duration:g} s "
        f"from {args.publishers} processes; {len(hot)} hot zones"
    )
    procs, results, start_at = run_publishers(
        env, url, plan, args.duration, args.rate, hot, args.publishers, args.seed, False
    )
    progress_until(procs, "run", time.monotonic())
    merged = collect(procs, results, 120)
    end_publish = merged["last"]
    published = sum(merged["published"].values())
    wait_drained(published)
    listener.stop()
    total = Reading.objects.count()
    last = Reading.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    offered = published / (end_publish - start_at)
    window = (last.timestamp() - start_at) if last else 0.0
    stored_per_s = total / window if window else 0.0
    drain_s = (last.timestamp() - end_publish) if last else 0.0

    latencies, missed = [], 0
    alerts: dict[int, list[float]] = {}
    for zone_id, raised in CrowdAlert.objects.filter(kind="level").values_list(
        "zone_id", "raised_at"
    ):
        alerts.setdefault(zone_id, []).append(raised.timestamp())
    for zone_id, at in sorted(merged["crossings"], key=lambda c: c[1]):
        after = [r - at for r in alerts.get(zone_id, []) if 0 <= r - at < HIGH_FOR]
        if after:
            latencies.append(min(after))
        else:
            missed += 1
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)

    from django.db import connection

    print(f"database: {connection.vendor}; broker: {url}")
    print(
        f"sensors: {args.sensors:,} in {args.zones} zones, {args.rate:g} count/s each, "
        f"{args.duration:g} s, listener batch {args.batch}"
    )
    print(f"offered: {published:,} counts, {offered:,.0f}/s")
    print(
        f"stored: {total:,} counts, {stored_per_s:,.0f}/s; backlog drained "
        f"{max(0.0, drain_s):.1f} s after publishing stopped"
    )
    print(
        f"threshold-to-alert: {len(latencies)} crossings, p50 {p50:.2f} s, p95 {p95:.2f} s, "
        f"max {max(latencies, default=float('nan')):.2f} s, missed {missed} (target p95 <= 2 s)",
        flush=True,
    )

    naive = 0.0
    if args.baseline_seconds > 0:
        # The same listener, one count per transaction, under the same offered load.
        naive_listener = Listener(env, url, tmp, f"naive-{tag}", batch=1)
        naive_listener.start()
        LISTENERS.append(naive_listener)
        before = Reading.objects.count()
        procs, results, start_at = run_publishers(
            env, url, plan, args.baseline_seconds, args.rate, [], args.publishers,
            args.seed + 100, False,
        )  # fmt: skip
        progress_until(procs, "naive", time.monotonic())
        naive_end = collect(procs, results, 120)["last"]
        naive_stored = Reading.objects.count() - before
        naive = naive_stored / (naive_end - start_at)
        naive_listener.stop()

    if naive:
        print(
            f"naive baseline (one count per transaction): {naive:,.0f} stored/s under "
            f"{offered:,.0f}/s offered"
        )
    ratio = stored_per_s / naive if naive else float("nan")
    print(
        f"offered_per_s={offered:.0f} stored_per_s={stored_per_s:.0f} alert_p50_s={p50:.2f} "
        f"alert_p95_s={p95:.2f} naive_per_s={naive:.0f} batch_vs_naive={ratio:.1f}"
    )


def kill_run(args, env, url, tmp: Path) -> None:
    from django.db.models import Count, Sum

    from copps.crowd.models import Reading, Rejection, Sensor

    plan = make_event(args.sensors, args.zones, counters=True)
    listener = Listener(env, url, tmp, f"kill-{uuid.uuid4().hex[:8]}", batch=args.batch)
    listener.start()
    LISTENERS.append(listener)
    rng = random.Random(args.seed)
    procs, results, _start_at = run_publishers(
        env, url, plan, args.duration, args.rate, [], 1, args.seed, True
    )
    kills = 0
    while any(p.is_alive() for p in procs):
        time.sleep(0.05)
        up = time.monotonic() - listener.born
        if up >= args.kill_every * rng.uniform(0.6, 1.4) and stored() > 0:
            listener.kill()
            kills += 1
            log(f"kill {kills}: SIGKILL after {up:.1f} s; {stored():,} stored")
            time.sleep(rng.uniform(0.0, 1.0))  # counts pile up at the broker meanwhile
            listener.start(wait=False)
    merged = collect(procs, results, 60)
    if listener.proc is None or listener.proc.poll() is not None:
        listener.start()
    published = sum(merged["published"].values())
    wait_drained(published, quiet_for=15, limit=240)
    time.sleep(1.0)  # anything redelivered late is refused and counted meanwhile
    listener.stop()

    rows = dict(Reading.objects.values_list("sensor__sensor_id").annotate(n=Count("pk")))
    distinct = Reading.objects.values("sensor_id", "ts").distinct().count()
    total = sum(rows.values())
    lost = sum(max(0, n - rows.get(s, 0)) for s, n in merged["published"].items())
    doubled = sum(max(0, rows.get(s, 0) - n) for s, n in merged["published"].items())
    doubled += total - distinct
    occupancy = dict(Sensor.objects.values_list("sensor_id", "occupancy"))
    wrong = [s for s, (i, o) in merged["totals"].items() if occupancy.get(s) != i - o]
    for sensor in wrong[:5]:
        log(f"{sensor}: occupancy {occupancy.get(sensor)} != {merged['totals'][sensor]}")
    replays = Rejection.objects.filter(reason="out_of_order").aggregate(n=Sum("count"))["n"] or 0
    print(
        f"published={published} stored={total} kills={kills} lost={lost} doubled={doubled} "
        f"occupancy_exact={'no' if wrong else 'yes'} redelivered={replays}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sensors", type=int, default=2000)
    parser.add_argument("--zones", type=int, default=0, help="Default: one per 50 sensors.")
    parser.add_argument("--hot", type=int, default=20, help="Zones driven over the maximum.")
    parser.add_argument("--rate", type=float, default=1.0, help="Counts per second per sensor.")
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="The listener's batch.")
    parser.add_argument("--baseline-seconds", type=float, default=30.0)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--database-url", default=None, help="A PostgreSQL URL (recreated).")
    parser.add_argument("--broker", default="", help="mqtt://host:port (default: start one).")
    parser.add_argument("--tmp", default="", help="Directory for logs and the SQLite file.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--kill", action="store_true", help="The crash test (see above).")
    parser.add_argument("--kill-every", type=float, default=3.0)
    args = parser.parse_args()
    args.zones = args.zones or max(1, min(args.sensors, args.sensors // 50 or 1))
    if args.database_url:
        args.database = "postgres"
    elif args.database == "postgres":
        args.database_url = CROWD_PG_URL
    tmp = Path(args.tmp or tempfile.mkdtemp(prefix="copps-crowd-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    broker = None
    url = args.broker
    if not url:
        sys.path.insert(0, str(ROOT))
        from tests.support_mosquitto import Mosquitto, available

        if not available():
            raise SystemExit("no mosquitto binary: install Debian's mosquitto or pass --broker")
        broker = Mosquitto(tmp / "mosquitto").start()
        url = broker.url
    env = prepare_database(args.database, args.database_url, tmp)
    # Lenient limits for the run: every count of the load is legitimate.
    env.setdefault("COPPS_SENSOR_MAX_PER_MINUTE", str(int(args.rate * 60 * 2) + 10))
    setup_django(env)
    try:
        (kill_run if args.kill else main_bench)(args, env, url, tmp)
    finally:
        for listener in LISTENERS:  # none left behind when the run fails half-way
            listener.stop()
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
