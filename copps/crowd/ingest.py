"""Sensor counts in: parse, check, store, recompute the zones, raise alerts. One place.

The MQTT listener (``copps.crowd.mqtt``) and the HTTP push (``POST /api/v1/sensors/<id>/counts``)
both hand raw payloads to ``ingest``, in batches. A payload is
``{"ts": <ISO 8601>, "devices": <int>}`` (a Bluetooth or Wi-Fi counter) or
``{"ts": ..., "in": <int>, "out": <int>}`` (a people counter). Anything else — an unknown sensor,
malformed JSON, another field (a device identifier, say: never accepted, never stored), a
negative or absurd count, a timestamp in the future, too old or not after the sensor's previous
one, more than ``COPPS_SENSOR_MAX_PER_MINUTE`` counts a minute — is refused with a reason and
counted per day in ``Rejection``; the rest of the batch goes on. Accepted counts, the sensors'
latest values, the zones' live figures, the per-minute samples and any alert are written in one
transaction, so a crash loses or doubles nothing (the sensor's ``last_ts`` refuses a replay).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import (
    LEVEL_RANK,
    AlertKind,
    AlertState,
    CrowdAlert,
    Level,
    Reading,
    Rejection,
    Sensor,
    SensorKind,
    Zone,
    ZoneSample,
)

SENSOR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_PAYLOAD = 1024
MAX_COUNT = 1_000_000
MAX_PEOPLE = 2_000_000_000
FIELDS = {"ts", "devices", "in", "out"}
# A level goes down only once the density is this far below the threshold (no flapping).
HYSTERESIS = 0.9


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class Count:
    sensor_id: str
    ts: datetime
    devices: int | None = None
    inflow: int | None = None
    outflow: int | None = None


@dataclass
class Result:
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    alerts: list[int] = field(default_factory=list)

    def merge(self, other: Result) -> None:
        self.accepted += other.accepted
        self.rejected.update(other.rejected)
        self.alerts.extend(other.alerts)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected("bad_count", f"{name} must be a whole number")
    if value < 0:
        raise Rejected("negative", f"{name} is negative")
    if value > MAX_COUNT:
        raise Rejected("bad_count", f"{name} is implausibly large")
    return value


def parse(sensor_id: str, payload: Any) -> Count:
    """A ``Count`` from one raw payload (bytes, text or an already decoded object)."""
    if not isinstance(sensor_id, str) or not SENSOR_ID.match(sensor_id):
        raise Rejected("bad_sensor_id", "letters, digits, '-', '_' and '.', at most 64")
    if isinstance(payload, bytes | bytearray | str):
        if len(payload) > MAX_PAYLOAD:
            raise Rejected("too_large", f"at most {MAX_PAYLOAD} bytes")
        try:
            payload = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise Rejected("malformed", "not JSON") from None
    if not isinstance(payload, dict):
        raise Rejected("malformed", "expected a JSON object")
    extra = set(payload) - FIELDS
    if extra:
        # A MAC address, a device list, a name: counts only, identifiers never.
        raise Rejected("unexpected_field", "only ts, devices, in and out are accepted")
    raw_ts = payload.get("ts")
    if not isinstance(raw_ts, str) or len(raw_ts) > 40:
        raise Rejected("bad_timestamp", "ts must be an ISO 8601 date and time")
    try:
        ts = datetime.fromisoformat(raw_ts)
    except ValueError:
        raise Rejected("bad_timestamp", "ts must be an ISO 8601 date and time") from None
    if ts.tzinfo is None:
        # Sensors keep UTC; a timestamp without an offset is read as UTC (a local time sent
        # without its offset then lies an hour or two ahead and is refused as "future").
        ts = ts.replace(tzinfo=UTC)
    if "devices" in payload:
        if "in" in payload or "out" in payload:
            raise Rejected("malformed", "either devices, or in and out")
        return Count(sensor_id, ts, devices=_count(payload["devices"], "devices"))
    if "in" in payload and "out" in payload:
        return Count(
            sensor_id,
            ts,
            inflow=_count(payload["in"], "in"),
            outflow=_count(payload["out"], "out"),
        )
    raise Rejected("malformed", "devices, or in and out, are required")


def level_for(zone: Zone, density: float) -> str:
    """The level for ``density``; going down needs a margin below the threshold."""
    if density >= zone.max_density:
        raw = Level.RED
    elif density >= zone.comfortable_density:
        raw = Level.AMBER
    else:
        raw = Level.GREEN
    if LEVEL_RANK[raw] < LEVEL_RANK.get(zone.level, 0):
        if zone.level == Level.RED and density >= zone.max_density * HYSTERESIS:
            return Level.RED
        if density >= zone.comfortable_density * HYSTERESIS:
            return Level.AMBER
    return raw


def stale_after() -> timedelta:
    return timedelta(seconds=int(settings.COPPS_SENSOR_STALE_SECONDS))


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def update_rows(model, rows, fields: list[str]) -> None:
    """Write ``fields`` of each of ``rows`` (model instances) back, one parametrised UPDATE per
    row sent with ``executemany`` (PostgreSQL: one pipeline). Django's ``bulk_update`` builds a
    CASE per field and row, which costs about 2 ms of Python per row: too slow for a batch of
    hundreds of sensors every 100 ms."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from the model
        quote(meta.db_table),
        ", ".join(f"{quote(c.column)} = %s" for c in columns),
        quote(meta.pk.column),
    )
    params = [
        [c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def recompute_zones(zone_ids, now: datetime) -> list[int]:
    """Recompute the live figures of ``zone_ids`` from their sensors; sample the minute; raise
    or resolve alerts. Runs inside the caller's transaction. Returns new alert ids."""
    zone_ids = sorted(set(zone_ids))
    if not zone_ids:
        return []
    zones = list(Zone.objects.select_for_update().filter(pk__in=zone_ids).order_by("pk"))
    people: dict[int, float] = {}
    stale: dict[int, bool] = {}
    limit = now - stale_after()
    # Bare values, not model instances: a batch can touch every sensor of a large event.
    for zone_id, kind, calibration, devices, occupancy, received in Sensor.objects.filter(
        zone_id__in=zone_ids
    ).values_list(
        "zone_id", "kind", "calibration", "last_devices", "occupancy", "last_received_at"
    ):
        estimate = Sensor.estimate(kind, calibration, devices, occupancy)
        people[zone_id] = people.get(zone_id, 0.0) + estimate
        silent = received is None or received < limit
        stale[zone_id] = stale.get(zone_id, False) or silent
    minute = _minute(now)
    # The latest sample five to ten minutes back (sensors may report less than once a minute).
    before = dict(
        ZoneSample.objects.filter(
            zone_id__in=zone_ids,
            minute__lte=minute - timedelta(minutes=5),
            minute__gte=minute - timedelta(minutes=10),
        )
        .order_by("zone_id", "minute")
        .values_list("zone_id", "density")
    )
    open_alerts: dict[int, list[CrowdAlert]] = {}
    for alert in CrowdAlert.objects.filter(
        zone_id__in=zone_ids, kind=AlertKind.LEVEL, state=AlertState.OPEN
    ):
        open_alerts.setdefault(alert.zone_id, []).append(alert)
    new_alerts: list[CrowdAlert] = []
    resolved: list[int] = []
    samples = []
    for zone in zones:
        # Bounded: a 32-bit column, and no zone holds more people than this.
        count = min(round(people.get(zone.pk, 0.0)), MAX_PEOPLE)
        density = round(count / zone.area_m2, 3) if zone.area_m2 else 0.0
        level = level_for(zone, density)
        previous = before.get(zone.pk)
        trend = 0
        if previous is not None:
            if density > previous * 1.1 + 0.05:
                trend = 1
            elif density < previous * 0.9 - 0.05:
                trend = -1
        rank, old_rank = LEVEL_RANK[level], LEVEL_RANK.get(zone.level, 0)
        pending = open_alerts.get(zone.pk, [])
        if rank > old_rank and not any(LEVEL_RANK[a.level] >= rank for a in pending):
            new_alerts.append(
                CrowdAlert(
                    event_id=zone.event_id,
                    zone=zone,
                    kind=AlertKind.LEVEL,
                    level=level,
                    people=count,
                    density=density,
                    raised_at=now,
                )
            )
        # An alert for a level the zone has left is over.
        resolved.extend(a.pk for a in pending if LEVEL_RANK[a.level] > rank)
        zone.people, zone.density, zone.level, zone.trend = count, density, level, trend
        zone.stale = stale.get(zone.pk, True)
        zone.updated_at = now
        samples.append(
            ZoneSample(zone=zone, minute=minute, people=count, density=density, level=level)
        )
    update_rows(Zone, zones, ["people", "density", "level", "trend", "stale", "updated_at"])
    ZoneSample.objects.bulk_create(
        samples,
        update_conflicts=True,
        unique_fields=["zone", "minute"],
        update_fields=["people", "density", "level"],
    )
    if resolved:
        CrowdAlert.objects.filter(pk__in=resolved, state=AlertState.OPEN).update(
            state=AlertState.RESOLVED, closed_at=now
        )
    created = CrowdAlert.objects.bulk_create(new_alerts)
    return [a.pk for a in created if a.pk]


def _check(sensor: Sensor, count: Count, now: datetime) -> None:
    """Refuse ``count`` for ``sensor`` (raises Rejected) or apply it to the sensor's fields."""
    if (count.devices is None) != (sensor.kind == SensorKind.COUNTER):
        raise Rejected("wrong_kind", "devices for device counters, in/out for people counters")
    if count.ts > now + timedelta(seconds=int(settings.COPPS_SENSOR_CLOCK_SKEW_SECONDS)):
        raise Rejected("future", "ts lies in the future")
    if count.ts < now - timedelta(hours=int(settings.COPPS_SENSOR_MAX_AGE_HOURS)):
        raise Rejected("too_old", "ts is too old")
    if sensor.last_ts is not None and count.ts <= sensor.last_ts:
        raise Rejected("out_of_order", "ts is not after the sensor's previous count")
    # Flood control per minute of the sensor's own time, so a buffer sent after an outage (counts
    # spread over many minutes) passes, while many counts for one minute do not.
    minute = _minute(count.ts)
    if sensor.window_start is None or sensor.window_start != minute:
        sensor.window_start, sensor.window_count = minute, 0
    if sensor.window_count >= int(settings.COPPS_SENSOR_MAX_PER_MINUTE):
        raise Rejected("flood", "too many counts this minute")
    sensor.window_count += 1
    sensor.last_ts = count.ts
    sensor.last_received_at = now
    sensor.stale = False
    if count.devices is not None:
        sensor.last_devices = count.devices
    else:
        # Never below zero, and bounded (a counter that sends running totals instead of the
        # passages since its previous count would otherwise overflow the column).
        sensor.occupancy = min(
            max(sensor.occupancy + (count.inflow or 0) - (count.outflow or 0), 0), MAX_COUNT
        )


SENSOR_FIELDS = [
    "last_ts",
    "last_devices",
    "occupancy",
    "last_received_at",
    "stale",
    "window_start",
    "window_count",
]


def ingest(items: list[tuple[str, Any]], *, via: str, now: datetime | None = None) -> Result:
    """Take a batch of ``(sensor_id, payload)``; returns what was accepted and refused."""
    now = now or timezone.now()
    result = Result()
    parsed: list[Count] = []
    for sensor_id, payload in items:
        try:
            parsed.append(parse(sensor_id, payload))
        except Rejected as exc:
            result.rejected[exc.reason] += 1
    if parsed:
        with transaction.atomic():
            ids = {c.sensor_id for c in parsed}
            sensors = {
                s.sensor_id: s
                for s in Sensor.objects.select_for_update().filter(sensor_id__in=ids).order_by("pk")
            }
            readings, changed = [], {}
            for count in parsed:
                sensor = sensors.get(count.sensor_id)
                if sensor is None:
                    result.rejected["unknown_sensor"] += 1
                    continue
                try:
                    _check(sensor, count, now)
                except Rejected as exc:
                    result.rejected[exc.reason] += 1
                    continue
                readings.append(
                    Reading(
                        sensor=sensor,
                        ts=count.ts,
                        devices=count.devices,
                        inflow=count.inflow,
                        outflow=count.outflow,
                        received_at=now,
                    )
                )
                changed[sensor.pk] = sensor
            if readings:
                Reading.objects.bulk_create(readings, batch_size=2000)
                update_rows(Sensor, list(changed.values()), SENSOR_FIELDS)
                CrowdAlert.objects.filter(
                    kind=AlertKind.STALE,
                    state=AlertState.OPEN,
                    sensor_id__in=[s.sensor_id for s in changed.values()],
                ).update(state=AlertState.RESOLVED, closed_at=now)
                result.alerts = recompute_zones({s.zone_id for s in changed.values()}, now)
            result.accepted = len(readings)
    if result.rejected:
        count_rejections(result.rejected, via=via, now=now)
    return result


def count_rejections(reasons: Counter, *, via: str, now: datetime | None = None) -> None:
    """Add to the per-day refusal counters (never the refused content)."""
    day = timezone.localdate(now or timezone.now())
    for reason, n in reasons.items():
        for _attempt in range(2):
            with transaction.atomic():
                if Rejection.objects.filter(day=day, reason=reason, via=via).update(
                    count=F("count") + n
                ):
                    break
                try:
                    with transaction.atomic():
                        Rejection.objects.create(day=day, reason=reason, via=via, count=n)
                    break
                except IntegrityError:
                    continue  # created meanwhile by another process: add to it


def mark_stale(now: datetime | None = None) -> int:
    """Flag sensors that went silent; raise one alert per sensor; refresh their zones.

    Only sensors of events that are running (or start within the hour) are watched.
    """
    now = now or timezone.now()
    limit = now - stale_after()
    candidates = Sensor.objects.filter(
        stale=False,
        last_received_at__lt=limit,
        zone__event__starts_at__lte=now + timedelta(hours=1),
        zone__event__ends_at__gte=now,
    )
    if not candidates.exists():
        return 0
    with transaction.atomic():
        # Read and flag under the row locks: a count committed meanwhile keeps its sensor live.
        silent = list(candidates.select_for_update(of=("self",)).select_related("zone"))
        if not silent:
            return 0
        Sensor.objects.filter(pk__in=[s.pk for s in silent]).update(stale=True)
        already = set(
            CrowdAlert.objects.filter(
                kind=AlertKind.STALE,
                state=AlertState.OPEN,
                sensor_id__in=[s.sensor_id for s in silent],
            ).values_list("sensor_id", flat=True)
        )
        CrowdAlert.objects.bulk_create(
            [
                CrowdAlert(
                    event_id=s.zone.event_id,
                    zone=s.zone,
                    kind=AlertKind.STALE,
                    level=s.zone.level,
                    people=s.zone.people,
                    density=s.zone.density,
                    sensor_id=s.sensor_id,
                    raised_at=now,
                )
                for s in silent
                if s.sensor_id not in already
            ]
        )
        recompute_zones({s.zone_id for s in silent}, now)
    return len(silent)
