"""The public crowd pages and the crisis front page: tiny, server-rendered, cacheable.

- ``/<lang>/events/``: the public events that are running or coming;
- ``/<lang>/events/<slug>/``: one event's zones on an inline SVG map (coloured by level, with
  text labels, hatching and a legend, so colour is never the only cue), the zones with level,
  trend and a note when their sensors went silent, the streets and routes with their status and
  the latest police messages; a non-public or unknown event is a 404;
- the crisis front page, which the public home page shows while crisis mode is on
  (``copps.public.views.home`` asks ``crisis_state()``), and the banner every other public page
  shows (``{% crisis_banner %}`` in the site's base template).

No JavaScript, no external assets: the page's own rules are one inline ``<style>`` allowed by its
hash in the Content-Security-Policy; the site's stylesheet is the only other request. Automatic
refreshing is opt-in (``?refresh=1`` adds ``<meta http-equiv=refresh>`` with a link to stop it),
because a page that reloads by itself on a timer fails WCAG 2.2.1 when the reader cannot turn it
off, and reads everything out again to screen-reader users.

Caching: each page answers ``Cache-Control: public, max-age=COPPS_PUBLIC_CROWD_MAX_AGE`` with an
ETag (a hash of the bytes) and Last-Modified (when those bytes were rendered), honours
conditional requests with 304, and keeps the rendered bytes in Django's cache for the same
seconds, so a burst of requests costs one render per process. The crisis state is cached under
``crowd:crisis`` for ``CRISIS_TTL`` seconds; ``copps.crowd.actions.crisis_on/off`` delete it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.csp import CSP
from django.utils.http import http_date
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from . import geo
from .models import CrisisMode, Event, Level, RouteStatus, Sensor, SentMessage

CRISIS_KEY = "crowd:crisis"
CRISIS_TTL = 5  # seconds; the crisis actions delete the key, other processes wait this long
REFRESH_SECONDS = 30
MAP_WIDTH = 400
EVENT_MESSAGES = 5
CRISIS_UPDATES = 10

CSS = (Path(__file__).parent / "templates" / "crowd" / "public.css").read_text().strip()
CSS_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode() + "'"

# Text cues beside the colours (and the hatching) of the levels on the map.
LEVEL_FILL = {Level.GREEN: "#cfe9d6", Level.AMBER: "url(#p-amber)", Level.RED: "url(#p-red)"}
LEVEL_STROKE = {Level.GREEN: "#1e7b34", Level.AMBER: "#8a5300", Level.RED: "#9b1c16"}
ROUTE_STROKE: dict[str, str] = {
    RouteStatus.OPEN: "#0a4c8c",
    RouteStatus.CLOSED: "#b3261e",
    RouteStatus.ONE_WAY: "#0a4c8c",
}


def max_age() -> int:
    return max(int(settings.COPPS_PUBLIC_CROWD_MAX_AGE), 0)


# The crisis state ------------------------------------------------------------------------------


def crisis_state() -> dict | None:
    """The active crisis (``{"page", "content", "since", "stamp"}``) or None, cached a few
    seconds: every public page asks, and one query per page view is too many in a crisis."""
    state = cache.get(CRISIS_KEY)
    if state is None:
        mode = CrisisMode.objects.filter(pk=1, active=True).select_related("page").first()
        if mode is not None and mode.page is not None:
            since = mode.since or timezone.now()
            state = {
                "active": True,
                "page": mode.page_id,
                "content": mode.page.content or {},
                "since": since,
                "stamp": f"{mode.page_id}.{since.timestamp():.0f}."
                f"{mode.page.updated_at.timestamp():.0f}",
            }
        else:
            state = {"active": False, "stamp": "off"}
        cache.set(CRISIS_KEY, state, CRISIS_TTL)
    return state if state["active"] else None


def crisis_text(state: dict, language: str) -> dict:
    """The crisis page's ``{title, body}`` in ``language``, else the site's default language,
    else the first language it was written in."""
    content = state["content"]
    for candidate in (language, settings.LANGUAGE_CODE, "nl", "fr", "de", "en"):
        text = content.get(candidate)
        if text and text.get("title"):
            return {"language": candidate, **text}
    return {"language": language, "title": _("Crisis information"), "body": ""}


def crisis_stamp() -> str:
    state = crisis_state()
    return state["stamp"] if state else "off"


# Rendering once per max-age ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    rendered_at: float
    content_type: str


def cached_page(request, key: str, make: Callable[[], HttpResponse]) -> HttpResponse:
    """``make()``'s response, rendered at most once per ``max_age()`` seconds for ``key``, with
    the public caching headers and conditional GET (304 on a matching ETag or date). Only
    successful pages are kept: ``make()`` raising Http404 is not remembered (made-up addresses
    must not push real pages out of the cache)."""
    seconds = max_age()
    entry = cache.get(key) if seconds else None
    if entry is None:
        made = make()
        body = made.content
        entry = Rendered(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            rendered_at=float(int(timezone.now().timestamp())),
            content_type=made["Content-Type"],
        )
        if seconds:
            cache.set(key, entry, seconds)
    response = get_conditional_response(
        request, etag=entry.etag, last_modified=int(entry.rendered_at)
    )
    if response is None:
        response = HttpResponse(entry.body, content_type=entry.content_type)
    response["ETag"] = entry.etag
    response["Last-Modified"] = http_date(entry.rendered_at)
    patch_cache_control(response, public=True, max_age=seconds)
    return with_style_hash(response)


def with_style_hash(response: HttpResponse) -> HttpResponse:
    """Allow the pages' one inline ``<style>`` by its hash (no nonce: the bytes are cached)."""
    base: dict[str, Any] = dict(settings.SECURE_CSP)
    config = {key: list(value) for key, value in base.items()}
    config["style-src"] = [*config.get("style-src", [CSP.SELF]), CSS_HASH]
    response._csp_config = config  # type: ignore[attr-defined]
    return response


def _language() -> str:
    from copps.public.views import _current_language

    return _current_language()


def _refresh(request) -> bool:
    return request.GET.get("refresh") == "1"


def _base_context(request, refresh: bool) -> dict:
    return {
        "crowd_css": mark_safe(CSS),  # noqa: S308 (our own file, hashed into the CSP)
        "refresh": refresh,
        "refresh_seconds": REFRESH_SECONDS,
        "path": request.path,
    }


# The events -------------------------------------------------------------------------------------


def public_events():
    return Event.objects.filter(public=True)


@require_safe
def event_index(request):
    language = _language()
    key = f"crowd:index:{language}:{crisis_stamp()}"

    def make():
        now = timezone.now()
        events = list(public_events().filter(ends_at__gte=now).order_by("starts_at", "pk")[:50])
        return render(
            request,
            "crowd/public_index.html",
            {
                **_base_context(request, False),
                "events": [{"event": e, "running": e.is_running(now)} for e in events],
            },
        )

    return cached_page(request, key, make)


@require_safe
def event_page(request, slug: str):
    """A cached copy answers without touching the database (an event made private meanwhile
    disappears within max-age seconds, as from any shared cache); otherwise the event must exist
    and be public (the slug converter already refused anything but ``[-a-zA-Z0-9_]``)."""
    language = _language()
    refresh = _refresh(request)
    key = f"crowd:event:{slug}:{language}:{int(refresh)}:{crisis_stamp()}"

    def make():
        event = public_events().filter(slug=slug).first()
        if event is None:
            raise Http404
        return render(
            request,
            "crowd/public_event.html",
            {**_base_context(request, refresh), **event_context(event, language)},
        )

    return cached_page(request, key, make)


def density_words(density: float) -> str:
    """People per m² the way a reader takes it in: one decimal, "< 0.1" rather than "0.0"."""
    rounded = round(density, 1)  # number_format cuts decimals off, it does not round
    if rounded < 0.1:
        return "< " + formats.number_format(0.1, 1, use_l10n=True)
    return formats.number_format(rounded, 1, use_l10n=True)


def event_context(event: Event, language: str, now=None) -> dict:
    """Everything the crowd page shows, computed once per render."""
    now = now or timezone.now()
    zones = list(event.zones.all())
    routes = list(event.routes.all())
    # When each zone last heard from a sensor (None: never): the time of its figures.
    heard = dict(
        Sensor.objects.filter(zone__event=event)
        .order_by()
        .values("zone_id")
        .annotate(last=Max("last_received_at"))
        .values_list("zone_id", "last")
    )
    frame = geo.Frame.around(
        [z.geometry for z in zones] + [r.geometry for r in routes if r.geometry], width=MAP_WIDTH
    )
    trend_labels = {1: _("getting busier"), 0: _("steady"), -1: _("getting quieter")}
    trend_arrows = {1: "↑", 0: "→", -1: "↓"}
    zone_rows = []
    for zone in zones:
        level = Level(zone.level)
        x, y = frame.label_point(zone.geometry)
        zone_rows.append(
            {
                "zone": zone,
                "key": zone.key,
                "level": level.value,
                "level_label": level.label,
                "trend": trend_labels.get(zone.trend, trend_labels[0]),
                "arrow": trend_arrows.get(zone.trend, "→"),
                "people": formats.number_format(zone.people, use_l10n=True, force_grouping=True),
                "density": density_words(zone.density),
                "stale": zone.stale,
                "measured": heard.get(zone.pk) is not None,
                "path": frame.path(zone.geometry),
                "fill": LEVEL_FILL[level],
                "stroke": LEVEL_STROKE[level],
                "x": x,
                "y": y,
            }
        )
    route_rows = [
        {
            "route": route,
            "status": route.status,
            "status_label": RouteStatus(route.status).label,
            "path": frame.path(route.geometry) if route.geometry else "",
            "stroke": ROUTE_STROKE.get(route.status, "#0a4c8c"),
        }
        for route in routes
    ]
    measured = [moment for moment in heard.values() if moment is not None]
    return {
        "event": event,
        "running": event.is_running(now),
        "ended": event.ends_at < now,
        "frame": frame,
        "zones": zone_rows,
        # The busiest first in the list: that is what a reader on the spot looks for.
        "zones_by_level": sorted(
            zone_rows, key=lambda r: (-["green", "amber", "red"].index(r["level"]), r["zone"].name)
        ),
        "routes": route_rows,
        "routes_drawn": [r for r in route_rows if r["path"]],
        "figures_at": max(measured) if measured else None,
        "any_stale": any(z.stale for z in zones),
        "police_messages": event_messages(event, language),
        "levels": [(lv.value, lv.label, LEVEL_FILL[lv], LEVEL_STROKE[lv]) for lv in Level],
    }


def message_rows(messages, language: str) -> list[dict]:
    from copps.public.views import message_items

    return message_items(messages, language)


def event_messages(event: Event, language: str) -> list[dict]:
    """The latest published police messages sent for the event (fast track), newest first."""
    from copps.public.views import public_messages

    sent = SentMessage.objects.filter(event=event).values("message_id")
    return message_rows(public_messages().filter(pk__in=sent)[:EVENT_MESSAGES], language)


# The crisis front page ------------------------------------------------------------------------


def crisis_front(request, state: dict):
    """The home page while crisis mode is on (called by ``copps.public.views.home``)."""
    language = _language()
    key = f"crowd:crisis-front:{language}:{state['stamp']}"

    def make():
        from copps.newsroom.markup import render_markdown
        from copps.newsroom.models import Kind
        from copps.public.views import public_messages

        text = crisis_text(state, language)
        updates = public_messages().filter(kind=Kind.CRISIS, published_at__gte=state["since"])
        now = timezone.now()
        events = list(
            public_events().filter(starts_at__lte=now, ends_at__gte=now).order_by("starts_at")[:5]
        )
        return render(
            request,
            "crowd/crisis_front.html",
            {
                **_base_context(request, False),
                "crisis": text,
                "crisis_body": mark_safe(render_markdown(text.get("body") or "")),  # noqa: S308
                "foreign": text["language"] != language,
                "since": state["since"],
                "updates": message_rows(updates[:CRISIS_UPDATES], language),
                "events": events,
            },
        )

    return cached_page(request, key, make)
