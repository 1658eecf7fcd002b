"""Public order in the v1 API (a django-ninja router).

- ``POST /api/v1/sensors/<sensor_id>/counts``: one count ``{"ts", "devices"}`` or
  ``{"ts", "in", "out"}`` (or a JSON array of up to 1,000, a sensor's buffer after an outage),
  with the sensor's own token or the token of an event commander or administrator. Answers 202
  ``{"accepted", "rejected": {reason: n}}``; a single refused count answers with its reason:
  400 malformed, 404 unknown sensor, 409 out of order, 413 too large, 422 any other, 429 flood.
  Refusals are counted per day and reason (never stored).
- ``GET /api/v1/events``: events with their zones and sensors.
- ``GET /api/v1/events/<id>/zones``: each zone's live people, density, level and staleness.

Public events (their crowd page is public) are readable without a token; others need a role
that may follow events.
"""

from __future__ import annotations

import json
from collections import Counter

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer
from pydantic import Field

from copps.api import schemas as s
from copps.api.auth import BearerAuth

from . import access, ingest, live
from .actions import sensor_for_token
from .models import Event, Zone

router = Router(tags=["public order"])
MAX_BATCH = 1000
MAX_BYTES = 256 * 1024

STATUS = {
    "malformed": 400,
    "bad_sensor_id": 400,
    "too_large": 413,
    "unknown_sensor": 404,
    "out_of_order": 409,
    "flood": 429,
}


class SensorAuth(HttpBearer):
    """The sensor's own token (``copps_sensor_…``, for its own URL only), or a commander's or
    administrator's personal token. Documented as the API's one bearer scheme."""

    openapi_bearerFormat = "copps_<token>"

    def authenticate(self, request: HttpRequest, token: str):
        token = token.strip()
        match = getattr(request, "resolver_match", None)
        sensor_id = (match.kwargs.get("sensor_id") if match else None) or ""
        if token.startswith("copps_sensor_"):
            sensor = sensor_for_token(sensor_id, token)
            return f"sensor:{sensor.sensor_id}" if sensor else None
        user = BearerAuth().authenticate(request, token)
        if user is not None and not access.may_push_counts(user):
            raise HttpError(403, _("Your role may not push sensor counts."))
        return user


# ninja names the security scheme after the class: the same HTTP bearer scheme as the rest.
SensorAuth.__name__ = SensorAuth.__qualname__ = "BearerAuth"


class AnyoneAuth:
    """No token: public events only (see ``_events_for``). A token that is sent but not valid
    is still refused (401), rather than silently read as anonymous."""

    def __call__(self, request):
        return None if request.headers.get("Authorization") else "anonymous"


class CountOut(Schema):
    accepted: int
    rejected: dict[str, int]


class CountIn(Schema):
    """One count: ``devices`` (Bluetooth/Wi-Fi counters) or ``in`` and ``out`` (people
    counters). No other field is accepted: device identifiers are never taken."""

    ts: str = Field(
        description="ISO 8601, e.g. 2026-11-29T14:05:00+01:00 (without an offset: UTC)."
    )
    devices: int | None = Field(None, ge=0)
    in_: int | None = Field(None, ge=0, alias="in")
    out: int | None = Field(None, ge=0)


DOCUMENTED_SCHEMAS = {"CountIn": CountIn}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/CountIn"},
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/CountIn"},
                            "maxItems": MAX_BATCH,
                        },
                    ]
                }
            }
        },
    }
}


@router.post(
    "/sensors/{sensor_id}/counts",
    auth=[SensorAuth()],
    response={
        202: CountOut,
        **{code: s.ErrorOut for code in (400, 401, 403, 404, 409, 413, 422, 429)},
    },
    openapi_extra=REQUEST_BODY,
)
def push_counts(request, sensor_id: str):
    """Push one count (or a buffered array of counts) of a sensor."""
    body = request.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        ingest.count_rejections(Counter({"too_large": 1}), via="http")
        return Status(413, {"detail": _("The body is too large."), "reason": "too_large"})
    try:
        data = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        data = None
    if isinstance(data, list):
        if not data or len(data) > MAX_BATCH:
            return Status(
                413,
                {
                    "detail": _("Send 1 to %(n)d counts at a time.") % {"n": MAX_BATCH},
                    "reason": "too_large",
                },
            )
        items = [(sensor_id, item) for item in data]
    else:
        items = [(sensor_id, body if data is None else data)]
    result = ingest.ingest(items, via="http")
    if len(items) == 1 and result.rejected:
        reason = next(iter(result.rejected))
        return Status(
            STATUS.get(reason, 422),
            {
                "detail": str(REASONS.get(reason, reason)),
                "reason": reason,
            },
        )
    return Status(202, {"accepted": result.accepted, "rejected": dict(result.rejected)})


REASONS = {
    "malformed": gettext_lazy(
        'Not a count: send {"ts", "devices"} or {"ts", "in", "out"} as JSON.'
    ),
    "bad_sensor_id": gettext_lazy("Not a sensor identifier."),
    "too_large": gettext_lazy("The body is too large."),
    "unexpected_field": gettext_lazy(
        "Only ts, devices, in and out are accepted (never device identifiers)."
    ),
    "bad_timestamp": gettext_lazy("ts must be an ISO 8601 date and time."),
    "bad_count": gettext_lazy("Counts are whole numbers."),
    "negative": gettext_lazy("Counts cannot be negative."),
    "unknown_sensor": gettext_lazy("No sensor has this identifier."),
    "wrong_kind": gettext_lazy("devices for device counters, in and out for people counters."),
    "future": gettext_lazy("ts lies in the future."),
    "too_old": gettext_lazy("ts is too old."),
    "out_of_order": gettext_lazy("ts is not after this sensor's previous count."),
    "flood": gettext_lazy("Too many counts from this sensor this minute."),
}


class SensorRef(Schema):
    id: str
    zone: str
    kind: str


class ZoneRef(Schema):
    id: str
    zone: str
    name: str
    area_m2: float
    comfortable_density: float
    max_density: float
    geometry: dict


class EventOut(Schema):
    id: int
    name: str
    slug: str
    starts_at: str
    ends_at: str
    running: bool
    public: bool
    zones: list[ZoneRef]
    sensors: list[SensorRef]


class ZoneLiveOut(Schema):
    zone: str
    name: str
    people: int
    density: float
    level: str = Field(description="green, amber or red.")
    trend: int = Field(description="-1 falling, 0 steady, 1 rising (over 5 minutes).")
    stale: bool = Field(description="A sensor of the zone is silent: the figure may be low.")
    updated_at: str | None


def _events_for(request):
    events = Event.objects.all()
    user = request.auth
    if not (user != "anonymous" and access.may_view(user)):
        events = events.filter(public=True)
    return events


@router.get(
    "/events",
    auth=[BearerAuth(), AnyoneAuth()],
    response={200: list[EventOut], 401: s.ErrorOut},
)
def list_events(request):
    """Events (running first) with their zones and sensors."""
    now = timezone.now()
    events = _events_for(request).prefetch_related(
        Prefetch("zones", queryset=Zone.objects.prefetch_related("sensors"))
    )
    out = []
    for event in sorted(events, key=lambda e: (not e.is_running(now), e.starts_at)):
        zones = list(event.zones.all())
        out.append(
            {
                "id": event.pk,
                "name": event.name,
                "slug": event.slug,
                "starts_at": event.starts_at.isoformat(),
                "ends_at": event.ends_at.isoformat(),
                "running": event.is_running(now),
                "public": event.public,
                "zones": [
                    {
                        "id": z.key,
                        "zone": z.key,
                        "name": z.name,
                        "area_m2": round(z.area_m2, 1),
                        "comfortable_density": z.comfortable_density,
                        "max_density": z.max_density,
                        "geometry": z.geometry,
                    }
                    for z in zones
                ],
                "sensors": [
                    {"id": sensor.sensor_id, "zone": z.key, "kind": sensor.kind}
                    for z in zones
                    for sensor in z.sensors.all()
                ],
            }
        )
    return Status(200, out)


@router.get(
    "/events/{int:event_id}/zones",
    auth=[BearerAuth(), AnyoneAuth()],
    response={200: list[ZoneLiveOut], **{code: s.ErrorOut for code in (401, 404, 422)}},
)
def event_zones(request, event_id: int):
    """Live figures per zone."""
    event = get_object_or_404(_events_for(request), pk=event_id)
    silent = live.silent_zone_ids(event, timezone.now())
    return Status(
        200,
        [
            {
                "zone": z.key,
                "name": z.name,
                "people": z.people,
                "density": z.density,
                "level": z.level,
                "trend": z.trend,
                "stale": z.pk in silent or z.stale,
                "updated_at": z.updated_at.isoformat() if z.updated_at else None,
            }
            for z in event.zones.all()
        ],
    )
