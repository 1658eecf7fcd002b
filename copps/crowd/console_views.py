"""The public-order console, mounted at /console/events/ (namespace ``crowd_console``).

Access checklist (ARCHITECTURE.md §6): anonymous -> login; staff without a public-order
capability -> 404 (events are not theirs to know of); viewers (``events.view``) watch events, the
live picture and the templates; setting events up needs ``events.manage``, sending and dismissing
``events.fast_track``, writing templates ``templates.write``, approving them
``templates.approve`` (never the writer), the crisis switch and pages ``crisis.manage`` — else 403.
Writes are POST only (405) with CSRF, and go through ``copps.crowd.actions`` (audited). Hostile
input (bad GeoJSON, huge files, unknown ids) gives the form again with the error (400) or a 404.

The fast track takes two clicks: "Send" shows the confirmation (exactly which words go to which
channels, and who sends); "Confirm" sends. The confirmation carries a signed moment it was shown:
a second POST of the same confirmation (a double click, a reload) finds the message already sent
since then and sends nothing more.
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from django.contrib import messages as flash
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts import roles
from copps.accounts.roles import has_capability
from copps.newsroom.views import console_view, forbidden

from . import actions, geo, live, templates
from .console_forms import (
    PLACEHOLDERS,
    CrisisOnForm,
    CrisisPageForm,
    DismissForm,
    EventForm,
    ImportForm,
    RouteForm,
    SendForm,
    SensorForm,
    TemplateForm,
    ZoneForm,
)
from .ingest import stale_after
from .models import (
    AlertKind,
    AlertState,
    CrisisMode,
    CrisisPage,
    CrowdAlert,
    Event,
    Route,
    RouteStatus,
    Sensor,
    SentMessage,
    Template,
    TemplateUse,
    Zone,
)

SEE_EVENTS = (roles.EVENTS_VIEW,)
SEE_TEMPLATES = (roles.EVENTS_VIEW, roles.TEMPLATES_WRITE, roles.TEMPLATES_APPROVE)
SEE_CRISIS = (roles.CRISIS_MANAGE, roles.EVENTS_FAST_TRACK)
SEND_SALT = "copps.crowd.send"
SEND_MAX_AGE = 3600


def crowd_view(see: tuple[str, ...], need: str | None = None):
    """Signed-in staff holding one of ``see`` (else 404) and, for writes, ``need`` (else 403)."""

    def decorator(view):
        @console_view
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not any(has_capability(request.user, c) for c in see):
                raise Http404
            if need and not has_capability(request.user, need):
                return forbidden(request, _("Your role does not allow this."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _context(request, **extra) -> dict:
    user = request.user
    return {
        "section": "events",
        "may_manage": has_capability(user, roles.EVENTS_MANAGE),
        "may_send": has_capability(user, roles.EVENTS_FAST_TRACK),
        "may_write": has_capability(user, roles.TEMPLATES_WRITE),
        "may_approve": has_capability(user, roles.TEMPLATES_APPROVE),
        "may_crisis": has_capability(user, roles.CRISIS_MANAGE),
        "may_see_events": has_capability(user, roles.EVENTS_VIEW),
        "may_see_crisis": any(has_capability(user, c) for c in SEE_CRISIS),
        **extra,
    }


def _add_errors(form, exc: ValidationError) -> None:
    """An action's ValidationError onto the form: per field where the form has it."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            form.add_error(target, errors)
    else:
        form.add_error(None, exc.messages)


def _event(pk: int) -> Event:
    return get_object_or_404(Event, pk=pk)


# Events --------------------------------------------------------------------------------------


@require_safe
@crowd_view(SEE_EVENTS)
def event_list(request):
    now = timezone.now()
    events = list(Event.objects.select_related("area").prefetch_related("zones"))
    running = [e for e in events if e.is_running(now)]
    upcoming = sorted((e for e in events if e.starts_at > now), key=lambda e: e.starts_at)
    past = [e for e in events if e.ends_at < now]
    open_alerts = dict(
        CrowdAlert.objects.filter(state=AlertState.OPEN)
        .order_by()
        .values_list("event_id")
        .annotate(n=Count("pk"))
    )
    return render(
        request,
        "crowd/console/events.html",
        _context(
            request,
            groups=[
                ("running", _("Running now"), running),
                ("upcoming", _("Coming up"), upcoming),
                ("past", _("Past"), past),
            ],
            open_alerts=open_alerts,
            crisis=CrisisMode.objects.filter(pk=1, active=True).first(),
        ),
    )


def _watches(user, event: Event | None):
    """The watches ``user`` may choose, or None when the field must stay as it is (the user
    may not listen, or the event's watch is one they may not see)."""
    from copps.listening.access import may_listen, watches_for

    if not may_listen(user):
        return None
    watches = watches_for(user)
    if event is not None and event.watch_id and not watches.filter(pk=event.watch_id).exists():
        return None
    return watches


@require_http_methods(["GET", "HEAD", "POST"])
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def event_edit(request, pk: int | None = None):
    event = _event(pk) if pk else None
    watches = _watches(request.user, event)
    initial: dict = {"public": True}
    if event is not None:
        initial = {
            "name": event.name,
            "slug": event.slug,
            "description": event.description,
            "starts_at": timezone.localtime(event.starts_at),
            "ends_at": timezone.localtime(event.ends_at),
            "area": event.area_id,
            "channels": event.channels,
            "public": event.public,
            "watch": event.watch_id,
        }
    form = EventForm(request.POST or None, initial=initial, watches=watches)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            fields = dict(form.cleaned_data)
            if watches is None:
                fields.pop("watch", None)
            try:
                event = actions.save_event(by=request.user, event=event, **fields)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                flash.success(request, _("The event was saved."))
                return redirect("crowd_console:event", pk=event.pk)
        status = 400
    return render(
        request,
        "crowd/console/event_form.html",
        _context(request, form=form, event=event),
        status=status,
    )


def _sensor_rows(event: Event, now: datetime) -> list[dict]:
    limit = now - stale_after()
    rows = []
    for sensor in Sensor.objects.filter(zone__event=event).select_related("zone"):
        silent = sensor.last_received_at is None or sensor.last_received_at < limit
        rows.append(
            {
                "sensor": sensor,
                "stale": sensor.stale or silent,
                "count": None
                if sensor.last_received_at is None
                else sensor.occupancy
                if sensor.kind == "counter"
                else sensor.last_devices,
                "people": round(sensor.people()),
            }
        )
    return rows


def _setup(request, event: Event, *, status=200, **forms) -> HttpResponse:
    """The event's set-up page (zones, routes, sensors) with any form that failed or a token
    to show once."""
    now = timezone.now()
    zones = event.zones.all()
    return render(
        request,
        "crowd/console/event.html",
        _context(
            request,
            event=event,
            zones=list(zones),
            routes=list(event.routes.all()),
            route_statuses=RouteStatus.choices,
            sensors=_sensor_rows(event, now),
            import_form=forms.get("import_form") or ImportForm(),
            route_form=forms.get("route_form") or RouteForm(),
            sensor_form=forms.get("sensor_form") or SensorForm(zones=zones),
            new_token=forms.get("new_token"),
            token_sensor=forms.get("token_sensor"),
            running=event.is_running(now),
        ),
        status=status,
    )


@require_safe
@crowd_view(SEE_EVENTS)
def event_detail(request, pk: int):
    return _setup(request, _event(pk))


# Zones, routes, sensors ----------------------------------------------------------------------


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def zone_import(request, pk: int):
    event = _event(pk)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        raw = form.cleaned_data["file"].read(geo.MAX_BYTES + 1)
        try:
            created, updated, routes = actions.import_geojson(event, by=request.user, raw=raw)
        except geo.GeoError as exc:
            form.add_error("file", str(exc))
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            flash.success(
                request,
                _("Imported: %(c)s zones created, %(u)s updated, %(r)s routes.")
                % {"c": created, "u": updated, "r": routes},
            )
            return redirect("crowd_console:event", pk=event.pk)
    return _setup(request, event, status=400, import_form=form)


def _zone_context(event: Event, zone: Zone | None) -> dict:
    from copps.blotter.public_views import tile_settings

    tile_url, tile_attribution = tile_settings()
    others = [
        {"key": z.key, "name": z.name, "geometry": z.geometry}
        for z in event.zones.all()
        if zone is None or z.pk != zone.pk
    ]
    return {"others": others, "tile_url": tile_url, "tile_attribution": tile_attribution}


def _with_tiles(response: HttpResponse) -> HttpResponse:
    from copps.blotter.public_views import _with_tile_host, tile_settings

    url, _attribution = tile_settings()
    return _with_tile_host(response, url) if url else response


@require_http_methods(["GET", "HEAD", "POST"])
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def zone_edit(request, pk: int, zone_pk: int | None = None):
    event = _event(pk)
    zone = get_object_or_404(Zone, pk=zone_pk, event=event) if zone_pk else None
    initial = {}
    if zone is not None:
        import json

        initial = {
            "name": zone.name,
            "key": zone.key,
            "geometry": json.dumps(zone.geometry),
            "comfortable_density": zone.comfortable_density,
            "max_density": zone.max_density,
            "advice": zone.advice,
        }
    form = ZoneForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                zone = actions.save_zone(event, by=request.user, zone=zone, **form.cleaned_data)
            except geo.GeoError as exc:
                form.add_error("geometry", str(exc))
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                flash.success(request, _("The zone %(name)s was saved.") % {"name": zone.name})
                return redirect("crowd_console:event", pk=event.pk)
        status = 400
    response = render(
        request,
        "crowd/console/zone_form.html",
        _context(request, event=event, zone=zone, form=form, **_zone_context(event, zone)),
        status=status,
    )
    return _with_tiles(response)


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def zone_delete(request, pk: int, zone_pk: int):
    event = _event(pk)
    zone = get_object_or_404(Zone, pk=zone_pk, event=event)
    actions.delete_zone(zone, by=request.user)
    flash.success(request, _("The zone %(name)s was deleted.") % {"name": zone.name})
    return redirect("crowd_console:event", pk=event.pk)


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def route_add(request, pk: int):
    event = _event(pk)
    form = RouteForm(request.POST)
    if form.is_valid():
        try:
            actions.save_route(event, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            flash.success(request, _("The route was saved."))
            return redirect(reverse("crowd_console:event", args=[event.pk]) + "#routes")
    return _setup(request, event, status=400, route_form=form)


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def route_status(request, pk: int, route_pk: int):
    """A quick toggle: open, closed, one-way (the note stays unless a new one is given)."""
    event = _event(pk)
    route = get_object_or_404(Route, pk=route_pk, event=event)
    status = request.POST.get("status", "")
    if status not in RouteStatus.values:
        flash.error(request, _("Unknown status."))
        return redirect(reverse("crowd_console:event", args=[event.pk]) + "#routes")
    note = request.POST.get("note")
    actions.save_route(
        event,
        by=request.user,
        route=route,
        name=route.name,
        status=status,
        note=route.note if note is None else note[:200],
    )
    flash.success(
        request,
        _("%(name)s: %(status)s.") % {"name": route.name, "status": RouteStatus(status).label},
    )
    back = request.POST.get("next") == "live"
    return redirect(
        reverse("crowd_console:live", args=[event.pk]) + "#routes"
        if back
        else reverse("crowd_console:event", args=[event.pk]) + "#routes"
    )


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def sensor_add(request, pk: int):
    event = _event(pk)
    zones = event.zones.all()
    form = SensorForm(request.POST, zones=zones)
    if form.is_valid():
        data = form.cleaned_data
        try:
            sensor, token = actions.add_sensor(
                data["zone"],
                by=request.user,
                sensor_id=data["sensor_id"],
                kind=data["kind"],
                calibration=data["calibration"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            # Shown once, on this response only: never in a redirect, a flash or a log.
            return _setup(request, event, new_token=token, token_sensor=sensor)
    return _setup(request, event, status=400, sensor_form=form)


def _sensor(event: Event, sensor_pk: int) -> Sensor:
    return get_object_or_404(Sensor, pk=sensor_pk, zone__event=event)


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def sensor_rotate(request, pk: int, sensor_pk: int):
    event = _event(pk)
    sensor = _sensor(event, sensor_pk)
    token = actions.rotate_sensor_token(sensor, by=request.user)
    return _setup(request, event, new_token=token, token_sensor=sensor)


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_MANAGE)
def sensor_remove(request, pk: int, sensor_pk: int):
    event = _event(pk)
    sensor = _sensor(event, sensor_pk)
    actions.remove_sensor(sensor, by=request.user)
    flash.success(request, _("The sensor %(id)s was removed.") % {"id": sensor.sensor_id})
    return redirect(reverse("crowd_console:event", args=[event.pk]) + "#sensors")


# Live view -----------------------------------------------------------------------------------


def _zones_context(event: Event) -> dict:
    now = timezone.now()
    rows = live.zone_figures(event, now)
    charts = live.charts_for(event, now)
    for row in rows:
        row["chart"] = charts.get(row["pk"])
    return {"rows": rows, "map_data": live.map_data(event, rows), "now": now}


def _alerts(event: Event) -> list[CrowdAlert]:
    return list(
        CrowdAlert.objects.filter(event=event, state=AlertState.OPEN)
        .select_related("zone")
        .order_by("-raised_at", "-pk")[:20]
    )


def _streets_templates() -> list[Template]:
    rows = Template.objects.filter(active=True, use=TemplateUse.STREETS, approved_by__isnull=False)
    return [t for t in rows.select_related("approved_by") if t.approved]


def _alerts_signature(event: Event) -> str:
    """Changes when the panel must be redrawn: an alert opens or closes, a template changes."""
    alerts = CrowdAlert.objects.filter(event=event, state=AlertState.OPEN).values_list("pk")
    tpl = Template.objects.filter(active=True).values_list("pk", "updated_at", "approved_at")
    return signing.Signer(salt="copps.crowd.alerts").sign(
        str(abs(hash((tuple(alerts), tuple(tpl)))))
    )[-12:]


def _alerts_context(request, event: Event) -> dict:
    alerts = []
    for alert in _alerts(event):
        proposals = []
        if alert.kind == AlertKind.LEVEL:
            for template in templates.proposals(alert.level):
                proposals.append(
                    {"template": template, "texts": templates.render(template, event, alert.zone)}
                )
        alerts.append({"alert": alert, "proposals": proposals})
    streets = [
        {"template": t, "texts": templates.render(t, event, None)} for t in _streets_templates()
    ]
    return {
        "alerts": alerts,
        "streets": streets,
        "dismiss_form": DismissForm(),
        "signature": _alerts_signature(event),
        "sent": list(
            SentMessage.objects.filter(event=event)
            .select_related("template", "sent_by", "message")
            .order_by("-sent_at")[:8]
        ),
    }


def _watch_context(request, event: Event) -> dict:
    if not event.watch_id:
        return {}
    from datetime import timedelta

    from copps.listening.access import watches_for
    from copps.listening.models import Match

    watch = watches_for(request.user).filter(pk=event.watch_id).first()
    if watch is None:
        return {"watch_hidden": True}
    now = timezone.now()
    matches = Match.objects.filter(watch=watch)
    return {
        "watch": watch,
        "watch_hour": matches.filter(matched_at__gte=now - timedelta(hours=1)).count(),
        "watch_day": matches.filter(matched_at__gte=now - timedelta(hours=24)).count(),
    }


@require_safe
@crowd_view(SEE_EVENTS)
def live_view(request, pk: int):
    from copps.blotter.public_views import tile_settings

    event = _event(pk)
    tile_url, tile_attribution = tile_settings()
    response = render(
        request,
        "crowd/console/live.html",
        _context(
            request,
            event=event,
            shapes=live.shapes(event),
            tile_url=tile_url,
            tile_attribution=tile_attribution,
            routes=list(event.routes.all()),
            route_statuses=RouteStatus.choices,
            **_zones_context(event),
            **_alerts_context(request, event),
            **_watch_context(request, event),
        ),
    )
    return _with_tiles(response)


@require_safe
@crowd_view(SEE_EVENTS)
def live_zones(request, pk: int):
    """The polled part: zone table, charts and the map's figures (every 5 seconds)."""
    event = _event(pk)
    return render(
        request,
        "crowd/console/_live_zones.html",
        _context(request, event=event, **_zones_context(event)),
    )


@require_safe
@crowd_view(SEE_EVENTS)
def live_alerts(request, pk: int):
    """The polled alerts panel: 204 (nothing to redraw) while nothing changed, so a reason
    being typed into a dismiss field is not wiped every five seconds."""
    event = _event(pk)
    if request.GET.get("v") and request.GET.get("v") == _alerts_signature(event):
        return HttpResponse(status=204)
    return render(
        request,
        "crowd/console/_alerts.html",
        _context(request, event=event, **_alerts_context(request, event)),
    )


@require_POST
@crowd_view(SEE_EVENTS, roles.EVENTS_FAST_TRACK)
def alert_dismiss(request, pk: int, alert_pk: int):
    event = _event(pk)
    alert = get_object_or_404(CrowdAlert, pk=alert_pk, event=event)
    form = DismissForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    actions.dismiss_alert(alert, by=request.user, reason=reason)
    flash.success(request, _("The alert was dismissed."))
    return redirect(reverse("crowd_console:live", args=[event.pk]) + "#alerts")


# The fast track: Send (confirmation) -> Confirm ----------------------------------------------


def _channel_labels(keys) -> list[str]:
    from copps.newsroom.renditions import CHANNELS

    return [str(CHANNELS[k].label) for k in keys if k in CHANNELS]


def _sendable(template_pk, *, crisis: bool) -> Template:
    """An approved, active template of the right kind, or 404."""
    try:
        pk = int(template_pk)
    except (TypeError, ValueError):
        raise Http404 from None
    uses = [TemplateUse.CRISIS] if crisis else [TemplateUse.CROWD, TemplateUse.STREETS]
    template = (
        Template.objects.filter(pk=pk, use__in=uses, active=True)
        .select_related("approved_by", "written_by")
        .first()
    )
    if template is None or not template.approved:
        raise Http404
    return template


def _confirm_page(
    request, *, event, template, zone=None, alert=None, action_url, back_url, status=200
):
    crisis = template.use == TemplateUse.CRISIS
    mode = CrisisMode.objects.filter(pk=1).select_related("area").first()
    if crisis:
        from copps.newsroom.renditions import CHANNELS

        channels = list(CHANNELS)
        area = mode.area if mode and mode.active else (event.area if event else None)
    else:
        channels = event.channels or ["web", "rss"]
        area = event.area
    shown = signing.dumps(
        {
            "t": template.pk,
            "z": zone.pk if zone else None,
            "a": alert.pk if alert else None,
            "e": event.pk if event else None,
            "at": timezone.now().isoformat(),
            # The words shown: a template changed (and approved again) meanwhile is not sent.
            "v": template.updated_at.isoformat(),
        },
        salt=SEND_SALT,
    )
    return render(
        request,
        "crowd/console/send_confirm.html",
        _context(
            request,
            event=event,
            zone=zone,
            alert=alert,
            template=template,
            texts=templates.render(template, event, zone),
            channels=_channel_labels(channels),
            area=area,
            crisis=crisis,
            form=SendForm(initial={"template": template.pk, "shown": shown}),
            action_url=action_url,
            back_url=back_url,
        ),
        status=status,
    )


def _send_once(
    request,
    *,
    event,
    template,
    zone,
    alert,
    shown: dict,
    back_url: str,
):
    """Send ``template`` once for the confirmation ``shown`` (when it was shown, the template's
    version it showed); a repeat finds the first and stops."""
    from copps.newsroom.actions import GuidelineBlocked

    user = request.user
    if shown.get("v") != template.updated_at.isoformat():
        flash.error(
            request,
            _("The template changed since you looked at it: nothing was sent. Look at it again."),
        )
        return redirect(back_url)
    try:
        with transaction.atomic():
            if event is not None:
                Event.objects.select_for_update().filter(pk=event.pk).first()
            else:
                CrisisMode.objects.select_for_update().get_or_create(pk=1)
            earlier = SentMessage.objects.filter(
                sent_by=user, template=template, event=event, alert=alert, sent_at__gte=shown["at"]
            ).first()
            if earlier is not None:
                flash.info(request, _("This message was already sent; it was not sent again."))
                return redirect(back_url)
            if alert is not None:
                alert = CrowdAlert.objects.select_for_update().get(pk=alert.pk)
                if alert.state != AlertState.OPEN:
                    flash.warning(
                        request,
                        _("This alert was closed meanwhile (%(state)s); nothing was sent.")
                        % {"state": alert.get_state_display()},
                    )
                    return redirect(back_url)
            message = actions.send_fast_track(
                by=user, template=template, event=event, zone=zone, alert=alert
            )
    except GuidelineBlocked as exc:
        flash.error(
            request,
            _("Not sent: the guidelines block this text (%(findings)s).")
            % {"findings": "; ".join(str(getattr(f, "message", f)) for f in exc.findings)[:300]},
        )
        return redirect(back_url)
    except (PermissionDenied, ValidationError) as exc:
        text = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        flash.error(request, _("Not sent: %(reason)s") % {"reason": text})
        return redirect(back_url)
    flash.success(
        request,
        _("Sent by %(user)s: “%(title)s” (message %(id)s).")
        % {
            "user": user.get_full_name() or user.username,
            "title": message.versions_list()[0].title if message.versions_list() else "",
            "id": message.pk,
        },
    )
    return redirect(back_url)


def _shown(request) -> dict | None:
    form = SendForm(request.POST)
    if not form.is_valid():
        return None
    try:
        data = signing.loads(form.cleaned_data["shown"], salt=SEND_SALT, max_age=SEND_MAX_AGE)
        data["at"] = datetime.fromisoformat(data["at"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return data


def _expired(request, back_url: str):
    flash.error(request, _("This confirmation is too old or damaged: look at the message again."))
    return redirect(back_url)


@require_http_methods(["GET", "HEAD", "POST"])
@crowd_view(SEE_EVENTS, roles.EVENTS_FAST_TRACK)
def alert_send(request, pk: int, alert_pk: int):
    event = _event(pk)
    alert = get_object_or_404(CrowdAlert, pk=alert_pk, event=event)
    back = reverse("crowd_console:live", args=[event.pk]) + "#alerts"
    action_url = reverse("crowd_console:alert-send", args=[event.pk, alert.pk])
    if request.method == "POST":
        shown = _shown(request)
        if shown is None or shown.get("a") != alert.pk or shown.get("e") != event.pk:
            return _expired(request, back)
        template = _sendable(shown["t"], crisis=False)
        return _send_once(
            request,
            event=event,
            template=template,
            zone=alert.zone,
            alert=alert,
            shown=shown,
            back_url=back,
        )
    template = _sendable(request.GET.get("template"), crisis=False)
    if alert.state != AlertState.OPEN:
        flash.warning(request, _("This alert is no longer open."))
        return redirect(back)
    return _confirm_page(
        request,
        event=event,
        template=template,
        zone=alert.zone,
        alert=alert,
        action_url=action_url,
        back_url=back,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@crowd_view(SEE_EVENTS, roles.EVENTS_FAST_TRACK)
def event_send(request, pk: int):
    """A streets (or crowd) template for the event without an alert."""
    event = _event(pk)
    back = reverse("crowd_console:live", args=[event.pk]) + "#alerts"
    action_url = reverse("crowd_console:event-send", args=[event.pk])
    if request.method == "POST":
        shown = _shown(request)
        if shown is None or shown.get("a") is not None or shown.get("e") != event.pk:
            return _expired(request, back)
        template = _sendable(shown["t"], crisis=False)
        zone = Zone.objects.filter(pk=shown["z"], event=event).first() if shown.get("z") else None
        return _send_once(
            request,
            event=event,
            template=template,
            zone=zone,
            alert=None,
            shown=shown,
            back_url=back,
        )
    template = _sendable(request.GET.get("template"), crisis=False)
    zone = None
    if request.GET.get("zone"):
        try:
            zone = event.zones.filter(pk=int(request.GET["zone"])).first()
        except ValueError:
            raise Http404 from None
    return _confirm_page(
        request, event=event, template=template, zone=zone, action_url=action_url, back_url=back
    )


# Templates -----------------------------------------------------------------------------------


@require_safe
@crowd_view(SEE_TEMPLATES)
def template_list(request):
    rows = Template.objects.select_related("written_by", "approved_by")
    groups = [
        (value, label, [t for t in rows if t.use == value]) for value, label in TemplateUse.choices
    ]
    return render(
        request, "crowd/console/templates.html", _context(request, groups=groups, tab="templates")
    )


@require_http_methods(["GET", "HEAD", "POST"])
@crowd_view(SEE_TEMPLATES, roles.TEMPLATES_WRITE)
def template_edit(request, pk: int | None = None):
    template = get_object_or_404(Template, pk=pk) if pk else None
    initial = {}
    if template is not None:
        initial = {"name": template.name, "use": template.use, "level": template.level}
        initial |= TemplateForm.initial_from(template.texts)
    form = TemplateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            was_approved = template is not None and template.approved
            try:
                template = actions.save_template(
                    by=request.user,
                    template=template,
                    name=data["name"],
                    use=data["use"],
                    level=data["level"],
                    texts=form.texts(),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                if was_approved and not template.approved:
                    flash.warning(
                        request,
                        _(
                            "The words changed: the approval was withdrawn. A second person must approve the template again."
                        ),
                    )
                else:
                    flash.success(request, _("The template was saved."))
                return redirect("crowd_console:templates")
        status = 400
    return render(
        request,
        "crowd/console/template_form.html",
        _context(request, form=form, template=template, placeholders=PLACEHOLDERS),
        status=status,
    )


@require_POST
@crowd_view(SEE_TEMPLATES, roles.TEMPLATES_APPROVE)
def template_approve(request, pk: int):
    template = get_object_or_404(Template, pk=pk)
    try:
        actions.approve_template(template, by=request.user, seen=request.POST.get("version", ""))
    except actions.SelfApproval:
        flash.error(
            request,
            _("You wrote this template: another person with the right to approve must approve it."),
        )
        return redirect("crowd_console:templates")
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
        return redirect("crowd_console:templates")
    flash.success(request, _("“%(name)s” is approved.") % {"name": template.name})
    return redirect("crowd_console:templates")


@require_POST
@crowd_view(SEE_TEMPLATES, roles.TEMPLATES_WRITE)
def template_active(request, pk: int):
    template = get_object_or_404(Template, pk=pk)
    active = request.POST.get("active") == "1"
    actions.set_template_active(template, by=request.user, active=active)
    flash.success(
        request,
        (_("“%(name)s” is active.") if active else _("“%(name)s” is inactive."))
        % {"name": template.name},
    )
    return redirect("crowd_console:templates")


# Crisis --------------------------------------------------------------------------------------


def _crisis_templates() -> list[Template]:
    rows = Template.objects.filter(use=TemplateUse.CRISIS, active=True).select_related(
        "approved_by"
    )
    return [t for t in rows if t.approved]


@require_safe
@crowd_view(SEE_CRISIS)
def crisis(request):
    mode = CrisisMode.current()
    return render(
        request,
        "crowd/console/crisis.html",
        _context(
            request,
            mode=mode,
            pages=list(CrisisPage.objects.all()),
            form=CrisisOnForm(),
            crisis_templates=[
                {"template": t, "texts": templates.render(t, None, None)}
                for t in _crisis_templates()
            ],
            sent=list(
                SentMessage.objects.filter(crisis=True)
                .select_related("template", "sent_by")
                .order_by("-sent_at")[:10]
            ),
        ),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@crowd_view(SEE_CRISIS, roles.CRISIS_MANAGE)
def crisis_page_edit(request, pk: int | None = None):
    page = get_object_or_404(CrisisPage, pk=pk) if pk else None
    initial = {"name": page.name} | CrisisPageForm.initial_from(page.content) if page else {}
    form = CrisisPageForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                page = actions.save_crisis_page(
                    by=request.user, page=page, name=form.cleaned_data["name"], content=form.texts()
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                flash.success(request, _("The crisis front page was saved."))
                return redirect("crowd_console:crisis")
        status = 400
    return render(
        request,
        "crowd/console/crisis_page_form.html",
        _context(request, form=form, page=page),
        status=status,
    )


@require_POST
@crowd_view(SEE_CRISIS, roles.CRISIS_MANAGE)
def crisis_on(request):
    """Step 1 (no ``confirm``): the confirmation page. Step 2 (``confirm=1``): switch on."""
    form = CrisisOnForm(request.POST)
    if not form.is_valid():
        flash.error(request, _("Choose a crisis front page (prepare one first)."))
        return redirect("crowd_console:crisis")
    page, area = form.cleaned_data["page"], form.cleaned_data["area"]
    if request.POST.get("confirm") != "1":
        return render(
            request,
            "crowd/console/crisis_confirm.html",
            _context(request, switch="on", page=page, area=area, form=form),
        )
    actions.crisis_on(by=request.user, page=page, area=area)
    flash.warning(
        request, _("Crisis mode is ON: the public site shows “%(name)s”.") % {"name": page.name}
    )
    return redirect("crowd_console:crisis")


@require_POST
@crowd_view(SEE_CRISIS, roles.CRISIS_MANAGE)
def crisis_off(request):
    mode = CrisisMode.current()
    if request.POST.get("confirm") != "1":
        return render(
            request,
            "crowd/console/crisis_confirm.html",
            _context(request, switch="off", mode=mode),
        )
    actions.crisis_off(by=request.user)
    flash.success(request, _("Crisis mode is off: the public site is back to normal."))
    return redirect("crowd_console:crisis")


@require_http_methods(["GET", "HEAD", "POST"])
@crowd_view(SEE_CRISIS, roles.EVENTS_FAST_TRACK)
def crisis_send(request):
    back = reverse("crowd_console:crisis")
    action_url = reverse("crowd_console:crisis-send")
    if request.method == "POST":
        shown = _shown(request)
        if shown is None or shown.get("e") is not None or shown.get("a") is not None:
            return _expired(request, back)
        template = _sendable(shown["t"], crisis=True)
        return _send_once(
            request,
            event=None,
            template=template,
            zone=None,
            alert=None,
            shown=shown,
            back_url=back,
        )
    template = _sendable(request.GET.get("template"), crisis=True)
    return _confirm_page(
        request, event=None, template=template, action_url=action_url, back_url=back
    )
