"""The live crowd picture for the console: zone figures and per-zone density charts.

``zone_figures`` reads the live columns the ingestion keeps up to date (``Zone.people``,
``density``, ``level``, ``trend``) and flags a zone stale when one of its sensors is silent now,
even before the stale sweep has run (as the API does). ``density_chart`` draws the last two
hours of ``ZoneSample`` rows as an SVG line with the comfortable and maximum densities as
reference lines; the geometry is worked out here so the template only places it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from . import ingest
from .models import Event, Level, Route, Sensor, Zone, ZoneSample

CHART_WINDOW = timedelta(hours=2)
CHART = {"width": 360, "height": 110, "left": 30, "right": 6, "top": 8, "bottom": 18}
TREND_ARROWS = {1: "▲", 0: "→", -1: "▼"}
# Text symbols beside the colours, so the level never depends on colour alone.
LEVEL_SYMBOLS = {Level.GREEN: "●", Level.AMBER: "◆", Level.RED: "■"}


def silent_zone_ids(event: Event, now: datetime) -> set[int]:
    limit = now - ingest.stale_after()
    return set(
        Sensor.objects.filter(zone__event=event)
        .exclude(last_received_at__gte=limit)
        .values_list("zone_id", flat=True)
    )


def zone_figures(event: Event, now: datetime | None = None) -> list[dict]:
    """One dict per zone of ``event``: live figures, level label and symbol, trend arrow."""
    now = now or timezone.now()
    silent = silent_zone_ids(event, now)
    rows = []
    for zone in event.zones.all():
        level = Level(zone.level) if zone.level in Level.values else Level.GREEN
        rows.append(
            {
                "pk": zone.pk,
                "key": zone.key,
                "name": zone.name,
                "people": zone.people,
                "density": round(zone.density, 2),
                "level": level.value,
                "level_label": str(level.label),
                "symbol": LEVEL_SYMBOLS[level],
                "trend": zone.trend,
                "arrow": TREND_ARROWS.get(zone.trend, "→"),
                "stale": zone.stale or zone.pk in silent,
                "comfortable": zone.comfortable_density,
                "max": zone.max_density,
                "updated_at": zone.updated_at,
            }
        )
    return rows


def map_data(event: Event, rows: list[dict]) -> dict:
    """What the live map script redraws from: zones by key with their figures, routes."""
    return {
        "zones": {
            r["key"]: {
                "name": r["name"],
                "level": r["level"],
                "label": r["level_label"],
                "symbol": r["symbol"],
                "people": r["people"],
                "density": r["density"],
                "arrow": r["arrow"],
                "stale": r["stale"],
            }
            for r in rows
        },
        "routes": {
            str(route.pk): {"status": route.status, "label": str(route.get_status_display())}
            for route in Route.objects.filter(event=event)
        },
    }


def shapes(event: Event) -> dict:
    """The outlines (drawn once; the figures come with every refresh)."""
    return {
        "zones": [
            {"key": z.key, "name": z.name, "geometry": z.geometry} for z in event.zones.all()
        ],
        "routes": [
            {"id": str(r.pk), "name": r.name, "geometry": r.geometry, "status": r.status}
            for r in Route.objects.filter(event=event)
            if r.geometry
        ],
    }


def density_chart(zone: Zone, now: datetime | None = None, samples=None) -> dict:
    """Density over the last two hours with the comfortable and maximum lines (SVG geometry)."""
    now = now or timezone.now()
    start = now - CHART_WINDOW
    if samples is None:
        samples = list(
            ZoneSample.objects.filter(zone=zone, minute__gte=start).order_by("minute")[:200]
        )
    g = CHART
    plot_w = g["width"] - g["left"] - g["right"]
    plot_h = g["height"] - g["top"] - g["bottom"]
    peak = max([s.density for s in samples] + [zone.max_density * 1.15, 0.1])
    span = CHART_WINDOW.total_seconds()

    def x(moment: datetime) -> float:
        offset = min(max((moment - start).total_seconds(), 0), span)
        return round(g["left"] + plot_w * offset / span, 1)

    def y(value: float) -> float:
        return round(g["top"] + plot_h * (1 - min(value, peak) / peak), 1)

    points = " ".join(f"{x(s.minute)},{y(s.density)}" for s in samples)
    return {
        "geometry": g,
        "points": points,
        "count": len(samples),
        "last": samples[-1] if samples else None,
        # The latest point, marked: a single sample draws no line.
        "last_xy": (x(samples[-1].minute), y(samples[-1].density)) if samples else None,
        "peak": round(peak, 1),
        "comfortable_y": y(zone.comfortable_density),
        "max_y": y(zone.max_density),
        "comfortable": zone.comfortable_density,
        "max": zone.max_density,
        "left": g["left"],
        "right": g["width"] - g["right"],
        "top": g["top"],
        "bottom": g["top"] + plot_h,
        "label_y": g["height"] - 4,
        "start": start,
        "middle": start + CHART_WINDOW / 2,
        "end": now,
        "middle_x": round(g["left"] + plot_w / 2, 1),
    }


def charts_for(event: Event, now: datetime | None = None) -> dict[int, dict]:
    """Charts for every zone of ``event`` from one query."""
    now = now or timezone.now()
    per_zone: dict[int, list] = {}
    for sample in ZoneSample.objects.filter(
        zone__event=event, minute__gte=now - CHART_WINDOW
    ).order_by("zone_id", "minute"):
        per_zone.setdefault(sample.zone_id, []).append(sample)
    return {
        zone.pk: density_chart(zone, now, per_zone.get(zone.pk, [])) for zone in event.zones.all()
    }
