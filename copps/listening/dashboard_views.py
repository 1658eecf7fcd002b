"""A watch's dashboard (volume and sentiment per hour, top terms, places and their map) and
acknowledging alerts. Same access rules as the other listening pages
(``console_views.listening_view``): a watch of the other desk is a 404. Every view is audited
("listening.view", ids only), the map's GeoJSON too (``"view": "places"``)."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from copps.audit import log as audit

from . import access, temperature
from .console_views import _context, listening_view, open_alerts
from .models import ListeningAlert

CHART_HOURS = 48
PLACES_HOURS = 168
CHART = {"height": 120, "bar": 8, "gap": 2, "top": 14}
COLOURS = {"negative": "#b91c1c", "neutral": "#6b7280", "positive": "#15803d"}


def chart(series: list[dict]) -> dict:
    """Bar geometry for the hourly series: one bar (volume) and one stack (sentiment) per hour."""
    geometry = CHART
    top = max((h["total"] for h in series), default=0)
    usable = geometry["height"] - geometry["top"]
    hours = []
    for i, h in enumerate(series):
        x = i * (geometry["bar"] + geometry["gap"])
        height = max(1, round(usable * h["total"] / top)) if h["total"] else 0
        stack, y = [], geometry["height"]
        for sentiment in temperature.SENTIMENTS:
            part = round(usable * h[sentiment] / top) if h[sentiment] else 0
            if part:
                y -= part
                stack.append(
                    {"sentiment": sentiment, "y": y, "height": part, "fill": COLOURS[sentiment]}
                )
        hours.append(
            {
                **h,
                "x": x,
                "y": geometry["height"] - height,
                "height": height,
                "stack": stack,
                "label": i % 12 == 0,
                "label_x": x,
            }
        )
    return {
        "hours": hours,
        "geometry": geometry,
        "width": max(1, len(series) * (geometry["bar"] + geometry["gap"]) - geometry["gap"]),
        "view_height": geometry["height"] + 16,
        "label_y": geometry["height"] + 13,
        "total": sum(h["total"] for h in series),
        "colours": COLOURS,
    }


@require_safe
@listening_view
def dashboard(request, pk: int):
    watch = access.get_watch(request.user, pk)
    now = timezone.now()
    series = temperature.hourly(watch, now - (CHART_HOURS - 1) * temperature.HOUR, now)
    terms = temperature.top_terms(watch, now)
    places = temperature.places(watch, now, PLACES_HOURS)
    alerts = open_alerts(request.user, watch)
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="listening.view",
            obj=watch,
            data={
                "purpose": watch.purpose_id,
                "view": "dashboard",
                "alerts": [a.pk for a in alerts],
            },
        )
    return render(
        request,
        "listening/console/dashboard.html",
        _context(
            request,
            watch=watch,
            purpose=watch.purpose,
            chart=chart(series),
            terms=terms,
            places=places,
            alerts=alerts,
        ),
    )


def places_geojson(places: list[dict]) -> dict:
    """The map's data: one GeoJSON point per municipality centre the gazetteer knows."""
    features = []
    for place in places:
        if place["lat"] is None or place["lon"] is None:
            continue
        properties = {k: v for k, v in place.items() if k not in ("lat", "lon")}
        features.append(
            {
                "type": "Feature",
                "id": place["nis"],
                "geometry": {"type": "Point", "coordinates": [place["lon"], place["lat"]]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


@require_safe
@listening_view
def places_map(request, pk: int):
    """GeoJSON of the places the watch's posts named (the dashboard's map reads it)."""
    watch = access.get_watch(request.user, pk)
    data = places_geojson(temperature.places(watch, timezone.now(), PLACES_HOURS))
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="listening.view",
            obj=watch,
            data={
                "purpose": watch.purpose_id,
                "view": "places",
                "places": len(data["features"]),
            },
        )
    response = JsonResponse(data, content_type="application/geo+json")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@listening_view
def alert_acknowledge(request, pk: int):
    alert = (
        ListeningAlert.objects.filter(
            pk=pk, watch__purpose__kind__in=access.kinds_for(request.user)
        )
        .select_related("watch")
        .first()
    )
    if alert is None:
        raise Http404
    with transaction.atomic():
        if alert.acknowledged_at is None:
            alert.acknowledged_at = timezone.now()
            alert.acknowledged_by = request.user
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit.record(
                actor=request.user,
                action="listening.alert.acknowledge",
                obj=alert,
                data={"watch": alert.watch_id},
            )
    return redirect(reverse("listening_console:dashboard", args=[alert.watch_id]))
