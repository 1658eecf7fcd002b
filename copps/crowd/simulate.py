"""A plausible crowd for the demo and the bench: counts for every sensor of an event.

Each zone starts between 30 % and 60 % of its comfortable density and drifts a little; one zone
(``hot``: the one named, else the smallest) fills up over ``build`` seconds to 15 % above its
maximum density, so its level goes green → amber → red and alerts fire, then stays full. A device
counter reports its share of the zone's people divided by its calibration factor (it sees part of
the phones); a people counter reports passages in and out that move its occupancy towards its
share, with some people passing through both ways. Counts only, never an identifier.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime

from .models import Event, SensorKind, Zone


@dataclass
class SimSensor:
    sensor_id: str
    zone_id: int
    counter: bool
    calibration: float
    share: float
    occupancy: int = 0


class Crowd:
    def __init__(
        self, event: Event, *, hot: str = "", build: float = 120.0, seed: int | None = None
    ):
        self.rng = random.Random(seed)
        self.build = max(1.0, build)
        self.zones: dict[int, Zone] = {z.pk: z for z in event.zones.all()}
        self.sensors: list[SimSensor] = []
        per_zone: dict[int, list] = {}
        for sensor in (
            s for z in self.zones.values() for s in z.sensors.all().order_by("sensor_id")
        ):
            per_zone.setdefault(sensor.zone_id, []).append(sensor)
        for zone_id, sensors in per_zone.items():
            for sensor in sensors:
                self.sensors.append(
                    SimSensor(
                        sensor.sensor_id,
                        zone_id,
                        sensor.kind == SensorKind.COUNTER,
                        sensor.calibration or 1.0,
                        1.0 / len(sensors),
                        max(sensor.occupancy, 0),
                    )
                )
        watched = [z for z in self.zones.values() if z.pk in per_zone]
        chosen = [z for z in watched if z.key == hot] or sorted(
            watched, key=lambda z: (z.area_m2 * z.max_density, z.key)
        )
        self.hot: Zone | None = chosen[0] if chosen else None
        self.base = {
            z.pk: z.comfortable_density * z.area_m2 * self.rng.uniform(0.3, 0.6)
            for z in self.zones.values()
        }

    def people(self, zone_id: int, elapsed: float) -> float:
        """The simulated people in a zone ``elapsed`` seconds into the run."""
        zone = self.zones[zone_id]
        base = self.base[zone_id] * self.rng.uniform(0.97, 1.03)
        if self.hot is not None and zone_id == self.hot.pk:
            full = zone.max_density * zone.area_m2 * 1.15
            return base + (full - base) * min(1.0, elapsed / self.build)
        return base

    def tick(self, elapsed: float, now: datetime) -> list[tuple[str, bytes]]:
        """One count from every sensor: ``(sensor id, JSON payload)``."""
        ts = now.isoformat()
        people = {zone_id: self.people(zone_id, elapsed) for zone_id in self.zones}
        out = []
        for s in self.sensors:
            want = max(0, round(people[s.zone_id] * s.share / s.calibration))
            if s.counter:
                through = self.rng.randint(0, 3)
                gap = want - s.occupancy
                inflow = max(gap, 0) + through
                outflow = min(max(-gap, 0) + through, s.occupancy + inflow)
                s.occupancy += inflow - outflow
                body = {"ts": ts, "in": inflow, "out": outflow}
            else:
                body = {"ts": ts, "devices": want}
            out.append((s.sensor_id, json.dumps(body).encode()))
        return out


def default_event() -> Event | None:
    """The running event with sensors (the demo's), else the next one."""
    from django.utils import timezone

    now = timezone.now()
    with_sensors = Event.objects.filter(zones__sensors__isnull=False).distinct()
    return (
        with_sensors.filter(starts_at__lte=now, ends_at__gte=now).order_by("starts_at").first()
        or with_sensors.filter(ends_at__gte=now).order_by("starts_at").first()
    )
