"""Every write in public order and crisis is one of these named actions (audited, one
transaction each). Views, the API, commands and the demo call these; ingestion of counts lives
in ``copps.crowd.ingest``."""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.accounts import roles
from copps.audit import log as audit

from . import access, geo, templates
from .ingest import SENSOR_ID, recompute_zones
from .models import (
    AlertState,
    CrisisMode,
    CrisisPage,
    CrowdAlert,
    Event,
    Level,
    Route,
    RouteStatus,
    Sensor,
    SensorKind,
    SentMessage,
    Template,
    TemplateUse,
    Zone,
)

LANGUAGES = ("nl", "fr", "de", "en")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Events, zones, routes, sensors -------------------------------------------------------------


def _clean_period(starts_at, ends_at) -> None:
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("The event must end after it starts.")]})


def _clean_channels(channels) -> list[str]:
    from copps.newsroom.renditions import CHANNELS

    channels = list(channels or [])
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValidationError({"channels": [_("Unknown channel: %s") % ", ".join(unknown)]})
    return [c for c in CHANNELS if c in channels]


def save_event(*, by, event: Event | None = None, **fields) -> Event:
    """Create an event (``event`` None) or change one."""
    access.require(by, roles.EVENTS_MANAGE)
    event = event or Event(created_by=by)
    created = event.pk is None
    for name, value in fields.items():
        if name == "channels":
            value = _clean_channels(value)
        setattr(event, name, value)
    _clean_period(event.starts_at, event.ends_at)
    event.updated_at = timezone.now()
    event.full_clean(exclude=["created_by", "watch", "area"])
    with transaction.atomic():
        event.save()
        audit.record(
            actor=by,
            action="event.create" if created else "event.update",
            obj=event,
            data={k: str(v) for k, v in fields.items() if k != "description"},
        )
    return event


def _check_densities(comfortable: float, maximum: float) -> None:
    if not (0 < comfortable < maximum <= 10):
        raise ValidationError(
            {
                "max_density": [
                    _("Densities: 0 < comfortable < maximum ≤ 10 people per square metre.")
                ]
            }
        )


def save_zone(
    event: Event,
    *,
    by,
    key: str,
    name: str,
    geometry,
    comfortable_density: float = 2.0,
    max_density: float = 4.0,
    advice: str = "",
    zone: Zone | None = None,
) -> Zone:
    """Create or change a zone; the outline is checked and measured (``geo.GeoError``)."""
    access.require(by, roles.EVENTS_MANAGE)
    cleaned, area = geo.clean_zone_geometry(geometry)
    _check_densities(comfortable_density, max_density)
    zone = zone or Zone(event=event)
    zone.key, zone.name, zone.geometry, zone.area_m2 = key, name, geo._plain(cleaned), area
    zone.comfortable_density, zone.max_density, zone.advice = (
        comfortable_density,
        max_density,
        advice,
    )
    zone.full_clean(exclude=["event"], validate_unique=False)
    if Zone.objects.filter(event=event, key=key).exclude(pk=zone.pk).exists():
        raise ValidationError({"key": [_("Another zone of this event has this identifier.")]})
    with transaction.atomic():
        zone.save()
        recompute_zones([zone.pk], timezone.now())
        audit.record(
            actor=by, action="event.zone_save", obj=zone, data={"key": key, "area_m2": area}
        )
    return zone


def import_geojson(event: Event, *, by, raw: bytes | str) -> tuple[int, int, int]:
    """Zones (polygons) and routes (lines) from a GeoJSON file: existing zones with the same
    identifier and routes with the same name are updated. Returns (created, updated, routes).
    An invalid document changes nothing (``geo.GeoError`` names the feature)."""
    access.require(by, roles.EVENTS_MANAGE)
    zones, routes = geo.parse_feature_collection(raw)
    created = updated = 0
    with transaction.atomic():
        for shape in zones:
            props = shape.properties
            try:
                comfortable = float(props.get("comfortable_density", 2.0))
                maximum = float(props.get("max_density", 4.0))
            except (TypeError, ValueError):
                raise geo.GeoError(
                    _("%(name)s: densities must be numbers.") % {"name": shape.name}
                ) from None
            try:
                _check_densities(comfortable, maximum)
            except ValidationError as exc:
                raise geo.GeoError(f"{shape.name}: {exc.messages[0]}") from None
            zone, is_new = Zone.objects.get_or_create(
                event=event,
                key=shape.key,
                defaults={"name": shape.name, "geometry": shape.geometry, "area_m2": shape.area_m2},
            )
            zone.name, zone.geometry, zone.area_m2 = shape.name, shape.geometry, shape.area_m2
            zone.comfortable_density, zone.max_density = comfortable, maximum
            zone.advice = str(props.get("advice") or zone.advice)[:200]
            zone.save()
            created += is_new
            updated += not is_new
        for line in routes:
            Route.objects.update_or_create(
                event=event,
                name=line.name,
                defaults={
                    "geometry": line.geometry,
                    "status": line.status,
                    "note": line.note,
                    "updated_at": timezone.now(),
                },
            )
        recompute_zones(event.zones.values_list("pk", flat=True), timezone.now())
        audit.record(
            actor=by,
            action="event.import_geojson",
            obj=event,
            data={"zones_created": created, "zones_updated": updated, "routes": len(routes)},
        )
    return created, updated, len(routes)


def delete_zone(zone: Zone, *, by) -> None:
    access.require(by, roles.EVENTS_MANAGE)
    with transaction.atomic():
        audit.record(actor=by, action="event.zone_delete", obj=zone, data={"key": zone.key})
        zone.delete()


def save_route(
    event: Event,
    *,
    by,
    name: str,
    status: str,
    note: str = "",
    geometry=None,
    route: Route | None = None,
) -> Route:
    access.require(by, roles.EVENTS_MANAGE)
    if status not in RouteStatus.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    if geometry:
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "LineString",
            "MultiLineString",
        ):
            raise geo.GeoError(_("A route is a LineString or MultiLineString."))
        geometry = geo._plain(geo.shp.mapping(geo.shape_of(geometry)))
    route = route or Route(event=event)
    previous = route.status if route.pk else ""
    route.name, route.status, route.note = name.strip()[:160], status, note.strip()[:200]
    if geometry is not None:
        route.geometry = geometry or None
    if not route.name:
        raise ValidationError({"name": [_("A route needs a name.")]})
    route.updated_at = timezone.now()
    with transaction.atomic():
        route.save()
        audit.record(
            actor=by,
            action="event.route_save",
            obj=route,
            from_state=previous,
            to_state=status,
            data={"name": route.name},
        )
    return route


def add_sensor(
    zone: Zone, *, by, sensor_id: str, kind: str = SensorKind.BLUETOOTH, calibration: float = 1.0
) -> tuple[Sensor, str]:
    """Register a sensor; returns it with its own push token (shown once, stored hashed)."""
    access.require(by, roles.EVENTS_MANAGE)
    if not SENSOR_ID.match(sensor_id or ""):
        raise ValidationError(
            {"sensor_id": [_("Use letters, digits, '-', '_' and '.', at most 64.")]}
        )
    if kind not in SensorKind.values:
        raise ValidationError({"kind": [_("Unknown kind of sensor.")]})
    if not (0 < calibration <= 100):
        raise ValidationError(
            {"calibration": [_("The calibration factor lies above 0, at most 100.")]}
        )
    if Sensor.objects.filter(sensor_id=sensor_id).exists():
        raise ValidationError({"sensor_id": [_("A sensor with this identifier exists.")]})
    token = "copps_sensor_" + secrets.token_urlsafe(24)
    with transaction.atomic():
        sensor = Sensor.objects.create(
            sensor_id=sensor_id,
            zone=zone,
            kind=kind,
            calibration=calibration,
            token_hash=token_hash(token),
        )
        audit.record(
            actor=by,
            action="event.sensor_add",
            obj=sensor,
            data={"sensor_id": sensor_id, "zone": zone.key, "kind": kind},
        )
    return sensor, token


def update_sensor(sensor: Sensor, *, by, zone: Zone, calibration: float) -> Sensor:
    access.require(by, roles.EVENTS_MANAGE)
    if not (0 < calibration <= 100):
        raise ValidationError(
            {"calibration": [_("The calibration factor lies above 0, at most 100.")]}
        )
    old_zone = sensor.zone_id
    with transaction.atomic():
        sensor.zone, sensor.calibration = zone, calibration
        sensor.save(update_fields=["zone", "calibration"])
        recompute_zones({old_zone, zone.pk}, timezone.now())
        audit.record(
            actor=by,
            action="event.sensor_update",
            obj=sensor,
            data={"zone": zone.key, "calibration": calibration},
        )
    return sensor


def rotate_sensor_token(sensor: Sensor, *, by) -> str:
    access.require(by, roles.EVENTS_MANAGE)
    token = "copps_sensor_" + secrets.token_urlsafe(24)
    with transaction.atomic():
        Sensor.objects.filter(pk=sensor.pk).update(token_hash=token_hash(token))
        audit.record(actor=by, action="event.sensor_token", obj=sensor)
    return token


def remove_sensor(sensor: Sensor, *, by) -> None:
    access.require(by, roles.EVENTS_MANAGE)
    zone_id = sensor.zone_id
    with transaction.atomic():
        audit.record(
            actor=by, action="event.sensor_remove", obj=sensor, data={"sensor_id": sensor.sensor_id}
        )
        sensor.delete()
        recompute_zones([zone_id], timezone.now())


def sensor_for_token(sensor_id: str, token: str) -> Sensor | None:
    """The sensor whose own token this is (constant-time comparison of the hashes)."""
    sensor = Sensor.objects.filter(sensor_id=sensor_id).only("token_hash").first()
    if sensor is None or not sensor.token_hash:
        return None
    return sensor if secrets.compare_digest(sensor.token_hash, token_hash(token)) else None


# Templates ----------------------------------------------------------------------------------


def _clean_texts(texts) -> dict:
    if not isinstance(texts, dict):
        raise ValidationError({"texts": [_("Texts per language are required.")]})
    clean = {}
    for language in LANGUAGES:
        text = texts.get(language) or {}
        title = str(text.get("title") or "").strip()
        body = str(text.get("body") or "").strip()
        if title or body:
            if not title:
                raise ValidationError({"texts": [_("Each language needs a title.")]})
            clean[language] = {"title": title[:200], "body": body[:2000]}
    if not clean:
        raise ValidationError({"texts": [_("Write the text in at least one language.")]})
    return clean


def save_template(
    *, by, name: str, use: str, level: str = "", texts: dict, template: Template | None = None
) -> Template:
    """Write or change a template. Changed words withdraw the approval (a second person must
    look again)."""
    access.require(by, roles.TEMPLATES_WRITE)
    if use not in TemplateUse.values:
        raise ValidationError({"use": [_("Unknown use.")]})
    if level and level not in Level.values:
        raise ValidationError({"level": [_("Unknown level.")]})
    clean = _clean_texts(texts)
    name = (name or "").strip()[:120]
    if not name:
        raise ValidationError({"name": [_("A template needs a name.")]})
    template = template or Template(written_by=by)
    # Other words, or another use or level (a crowd template made a crisis one): approve again.
    changed = (
        template.pk is None
        or template.texts != clean
        or template.use != use
        or template.level != level
    )
    template.name, template.use, template.level, template.texts = name, use, level, clean
    if changed:
        template.written_by = by
        template.approved_by, template.approved_at = None, None
    template.updated_at = timezone.now()
    with transaction.atomic():
        template.save()
        audit.record(
            actor=by,
            action="template.save",
            obj=template,
            data={"use": use, "level": level, "approval_withdrawn": changed},
        )
    return template


class SelfApproval(PermissionDenied):
    """Nobody approves a template they wrote."""


def approve_template(template: Template, *, by, seen: str | None = None) -> Template:
    """Approve ``template`` as it is now; ``seen`` (the console passes it) is the version the
    approver was shown: if the words changed since, nothing is approved."""
    access.require(by, roles.TEMPLATES_APPROVE)
    if template.written_by_id == by.pk:
        raise SelfApproval(_("A second person approves a template, not its writer."))
    if seen is not None and seen != template.updated_at.isoformat():
        raise ValidationError(_("The template changed meanwhile: read it again."))
    with transaction.atomic():
        updated = Template.objects.filter(
            pk=template.pk, updated_at=template.updated_at, written_by=template.written_by_id
        ).update(approved_by=by, approved_at=timezone.now())
        if not updated:
            raise ValidationError(_("The template changed meanwhile: read it again."))
        template.refresh_from_db()
        audit.record(actor=by, action="template.approve", obj=template)
    return template


def set_template_active(template: Template, *, by, active: bool) -> None:
    access.require(by, roles.TEMPLATES_WRITE)
    with transaction.atomic():
        Template.objects.filter(pk=template.pk).update(active=active)
        audit.record(
            actor=by, action="template.activate" if active else "template.deactivate", obj=template
        )


# Alerts and the fast track ------------------------------------------------------------------


def dismiss_alert(alert: CrowdAlert, *, by, reason: str = "") -> None:
    access.require(by, roles.EVENTS_FAST_TRACK)
    with transaction.atomic():
        if CrowdAlert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
            state=AlertState.DISMISSED, closed_at=timezone.now(), closed_by=by
        ):
            audit.record(
                actor=by,
                action="event.alert_dismiss",
                obj=alert,
                to_state=AlertState.DISMISSED,
                reason=reason,
            )


def send_fast_track(
    *,
    by,
    template: Template,
    event: Event | None = None,
    zone: Zone | None = None,
    alert: CrowdAlert | None = None,
):
    """Fill ``template`` with the live facts and publish it at once to the event's channels
    (a crisis template: every channel, every subscriber of the affected area, top priority).

    Only an approved, active template goes; the commander is named in the audit record with
    the template, its approver, the facts and the alert. Returns the published message.
    """
    from copps.newsroom import actions as newsroom
    from copps.newsroom.models import Kind
    from copps.newsroom.renditions import CHANNELS

    access.require(by, roles.EVENTS_FAST_TRACK)
    template.refresh_from_db()
    if not template.active or not template.approved:
        raise PermissionDenied(_("Only an approved, active template goes through the fast track."))
    crisis = template.use == TemplateUse.CRISIS
    if alert is not None:
        zone, event = alert.zone, alert.event
    if not crisis and event is None:
        raise ValidationError(_("An event template needs its event."))
    if zone is not None:
        zone.refresh_from_db()
    texts = templates.render(template, event, zone)
    if not texts:
        raise ValidationError(_("The template has no text."))
    versions = [
        newsroom.VersionInput(language=lang, title=t["title"], body=t["body"] or t["title"])
        for lang, t in texts.items()
    ]
    if crisis:
        mode = CrisisMode.current()
        area = mode.area if mode.active else (event.area if event else None)
        channels = list(CHANNELS)
    else:
        assert event is not None
        area = event.area
        channels = event.channels or ["web", "rss"]
    reference = {
        "template": template.pk,
        "template_name": template.name,
        "template_approved_by": template.approved_by.username if template.approved_by else "",
        "event": event.pk if event else None,
        "zone": zone.key if zone else None,
        "alert": alert.pk if alert else None,
        "facts": {"people": zone.people, "density": zone.density, "level": zone.level}
        if zone
        else {},
    }
    with transaction.atomic():
        message = newsroom.fast_track_message(
            by=by,
            versions=versions,
            kind=Kind.CRISIS if crisis else Kind.PUBLIC_ORDER,
            approved_by=template.approved_by,
            reference=reference,
            area=area,
            channels=channels,
        )
        SentMessage.objects.create(
            event=event, message=message, template=template, alert=alert, sent_by=by, crisis=crisis
        )
        if alert is not None:
            CrowdAlert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
                state=AlertState.SENT, closed_at=timezone.now(), closed_by=by
            )
        audit.record(actor=by, action="event.fast_track", obj=message, data=reference)
    return message


# Crisis mode --------------------------------------------------------------------------------


def save_crisis_page(*, by, name: str, content: dict, page: CrisisPage | None = None) -> CrisisPage:
    access.require(by, roles.CRISIS_MANAGE)
    clean = {}
    for language in LANGUAGES:
        text = (content or {}).get(language) or {}
        title = str(text.get("title") or "").strip()[:200]
        body = str(text.get("body") or "").strip()[:5000]
        if title:
            clean[language] = {"title": title, "body": body}
    if not clean:
        raise ValidationError({"content": [_("Write the page in at least one language.")]})
    page = page or CrisisPage()
    page.name = (name or "").strip()[:120] or _("Crisis")
    page.content = clean
    page.updated_at = timezone.now()
    with transaction.atomic():
        page.save()
        audit.record(actor=by, action="crisis.page_save", obj=page)
    return page


def crisis_on(*, by, page: CrisisPage, area=None) -> CrisisMode:
    """Switch the public site to ``page`` (its front page shows it with the latest updates)."""
    access.require(by, roles.CRISIS_MANAGE)
    with transaction.atomic():
        mode = CrisisMode.objects.select_for_update().get_or_create(pk=1)[0]
        mode.active, mode.page, mode.area = True, page, area
        mode.since, mode.by = timezone.now(), by
        mode.save()
        audit.record(
            actor=by,
            action="crisis.on",
            obj=mode,
            to_state="on",
            data={"page": page.pk, "area": area.slug if area else ""},
        )
    _forget_public_cache()
    return mode


def crisis_off(*, by) -> CrisisMode:
    access.require(by, roles.CRISIS_MANAGE)
    with transaction.atomic():
        mode = CrisisMode.objects.select_for_update().get_or_create(pk=1)[0]
        was = mode.active
        mode.active = False
        mode.save()
        audit.record(
            actor=by,
            action="crisis.off",
            obj=mode,
            from_state="on" if was else "off",
            to_state="off",
        )
    _forget_public_cache()
    return mode


def _forget_public_cache() -> None:
    """The public pages' and the console banner's cached crisis state: this process sees the
    switch at once, others within those caches' few seconds."""
    from django.core.cache import cache

    from .public import CRISIS_KEY
    from .templatetags.crowd_console import BANNER_KEY

    cache.delete_many([CRISIS_KEY, BANNER_KEY])
