"""The public blotter: ``/<lang>/blotter/`` (list and map), ``/blotter.geojson``, ``/blotter.csv``.

Everything here reads published ``Entry`` rows only — the generalised, redacted public form —
never an ``Incident``. Filters (GET, the same everywhere; an unknown or hostile value is ignored,
never an error): ``municipality`` (a NIS code), ``category`` (a category code), ``from`` and
``to`` (dates, YYYY-MM-DD, on the rounded time of the entry, both days included).

The page is the list; the map above it is progressive enhancement (vendored Leaflet, one marker
per municipality with the number of entries, since every entry sits on its municipality's
centre). Without JavaScript or without a tile server the list is all there is, and enough.
Background tiles come from ``COPPS_MAP_TILE_URL`` (empty: no tiles, a plain background); the
tile host is then allowed in this page's ``img-src`` only.

Size limits keep the exports fast with 100,000 entries: without a date range the GeoJSON holds
the latest ``GEOJSON_LIMIT`` entries and the CSV the latest ``CSV_LIMIT``; with a date range
(``from`` or ``to``) the limits are ``GEOJSON_RANGE_LIMIT`` and ``CSV_RANGE_LIMIT``. Answers may
be cached for a minute and carry an ETag (a conditional request gets 304 Not Modified).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Max, Sum
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.csp import CSP
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.views.decorators.http import condition, require_safe

from copps.newsroom.models import CONTENT_LANGUAGES

from . import gazetteer
from . import policy as policies
from .models import Entry, EntryState

ENTRIES_PER_PAGE = 25
GEOJSON_LIMIT = 1000
GEOJSON_RANGE_LIMIT = 10_000
CSV_LIMIT = 10_000
CSV_RANGE_LIMIT = 100_000
MAX_AGE = 60

NIS_RE = re.compile(r"^\d{4,6}$")
CODE_RE = re.compile(r"^[a-z0-9_]{1,60}$")
CSV_FIELDS = (
    "id",
    "occurred_at",
    "category_code",
    "category",
    "street",
    "municipality",
    "lat",
    "lon",
    "summary",
)


def published():
    """The public entries, newest first: the only rows any public output reads."""
    return Entry.objects.filter(state=EntryState.PUBLISHED).order_by("-occurred_at", "-pk")


@dataclass(frozen=True)
class Filters:
    municipality: str = ""  # NIS code
    category: str = ""
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def has_range(self) -> bool:
        return self.start is not None or self.end is not None

    def apply(self, qs):
        if self.municipality:
            qs = qs.filter(nis=self.municipality)
        if self.category:
            qs = qs.filter(category_code=self.category)
        if self.start:
            qs = qs.filter(occurred_at__gte=_day_start(self.start))
        if self.end:
            qs = qs.filter(occurred_at__lt=_day_start(self.end + dt.timedelta(days=1)))
        return qs

    def query(self) -> dict[str, str]:
        pairs = (
            ("municipality", self.municipality),
            ("category", self.category),
            ("from", self.start.isoformat() if self.start else ""),
            ("to", self.end.isoformat() if self.end else ""),
        )
        return {k: v for k, v in pairs if v}


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _date(value: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None
    # Far-off years overflow the day arithmetic; nobody means them.
    return day if day and 1900 <= day.year <= 2200 else None


def filters_from(request) -> Filters:
    get = request.GET
    municipality = get.get("municipality", "").strip()
    category = get.get("category", "").strip()
    return Filters(
        municipality=municipality if NIS_RE.match(municipality) else "",
        category=category if CODE_RE.match(category) else "",
        start=_date(get.get("from", "").strip()),
        end=_date(get.get("to", "").strip()),
    )


def content_language(value: str | None = None) -> str:
    """A content language: ``value`` if it is one, else the active language, else nl."""
    for candidate in (value, get_language(), settings.LANGUAGE_CODE, "nl"):
        if candidate and candidate[:2] in CONTENT_LANGUAGES:
            return candidate[:2]
    return "nl"


def label_for(labels: dict, code: str, language: str) -> str:
    return str(labels.get(language) or labels.get("en") or labels.get("nl") or code)


def municipality_name(nis: str, name: str = "") -> str:
    """The name the force's own records use (as imported), else the gazetteer's."""
    if name:
        return name
    place = gazetteer.by_nis(nis)
    return place.name if place else ""


def municipality_counts(qs) -> list[dict]:
    """Entries per municipality (the map's markers; every entry sits on its centre)."""
    rows = (
        qs.exclude(nis="")
        .order_by()
        .values("nis")
        .annotate(n=Count("id"), lat=Max("lat"), lon=Max("lon"), name=Max("municipality"))
    )
    out = []
    for row in rows:
        if row["lat"] is None or row["lon"] is None:
            continue
        out.append(
            {
                "nis": row["nis"],
                "name": municipality_name(row["nis"], row["name"]),
                "lat": row["lat"],
                "lon": row["lon"],
                "count": row["n"],
            }
        )
    return sorted(out, key=lambda r: r["name"])


def category_choices(language: str) -> list[tuple[str, str]]:
    """The category codes that have published entries, with their labels in ``language``."""
    codes = published().order_by().values_list("category_code", flat=True).distinct()
    rules = policies.current().categories
    choices = [
        (code, label_for((rules.get(code) or {}).get("labels") or {}, code, language))
        for code in codes
    ]
    return sorted(choices, key=lambda c: c[1].casefold())


def _choices(language: str) -> tuple[list[dict], list[tuple[str, str]]]:
    """The filter form's choices (and the unfiltered map), kept while no entry changes: with
    100,000 entries the grouping is the page's most expensive query."""
    key = f"blotter:choices:{language}:{version_stamp()}"
    cached = cache.get(key)
    if cached is None:
        cached = (municipality_counts(published()), category_choices(language))
        cache.set(key, cached, MAX_AGE)
    return cached


# Map tiles ------------------------------------------------------------------------------------


def tile_settings() -> tuple[str, str]:
    url = str(getattr(settings, "COPPS_MAP_TILE_URL", "") or "").strip()
    attribution = str(getattr(settings, "COPPS_MAP_TILE_ATTRIBUTION", "") or "").strip()
    if url and not url.startswith(("https://", "http://")):
        url = ""  # only web tile servers; anything else is a configuration mistake
    return url, attribution


def tile_source(url: str) -> str:
    """The CSP source for a tile URL template: ``https://{s}.tile.example/{z}/{x}/{y}.png`` ->
    ``https://*.tile.example``."""
    parts = urlsplit(url)
    host = re.sub(r"^\{[a-z]+\}\.", "*.", parts.netloc)
    if "{" in host or "}" in host or not host:
        return ""
    return f"{parts.scheme}://{host}"


def _with_tile_host(response, url: str):
    source = tile_source(url)
    if source:
        base: dict[str, Any] = dict(settings.SECURE_CSP)
        config = {key: list(value) for key, value in base.items()}
        config["img-src"] = [*config.get("img-src", [CSP.SELF]), source]
        response._csp_config = config
    return response


# The page ------------------------------------------------------------------------------------


@require_safe
def blotter(request):
    language = content_language()
    filters = filters_from(request)
    qs = filters.apply(published())
    page = Paginator(qs, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    everywhere, categories = _choices(language)
    municipalities = [(row["nis"], row["name"], row["count"]) for row in everywhere]
    places = municipality_counts(qs) if filters.query() else [dict(p) for p in everywhere]
    list_url = reverse("blotter:list")
    for place in places:
        place["url"] = list_url + "?" + urlencode({**filters.query(), "municipality": place["nis"]})
    entries = [
        {
            "entry": entry,
            "label": entry.label(language),
            "place": ", ".join(p for p in (entry.street, entry.municipality) if p),
        }
        for entry in page.object_list
    ]
    tiles, attribution = tile_settings()
    query = filters.query()
    response = render(
        request,
        "blotter/list.html",
        {
            "page": page,
            "entries": entries,
            "filters": filters,
            "municipalities": municipalities,
            "categories": categories,
            "places": places,
            "tile_url": tiles,
            "tile_attribution": attribution,
            "page_query": urlencode(query),
            "export_query": urlencode({**query, "lang": language}),
            "language": language,
            "section": "blotter",
        },
    )
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return _with_tile_host(response, tiles) if tiles else response


# Exports -------------------------------------------------------------------------------------


def version_stamp() -> str:
    """Changes whenever any public entry appears, changes or goes (count, newest id, sum of the
    ids — one entry taken down while an older one is approved keeps count and newest id —,
    newest change): one cheap aggregate."""
    stats = (
        published()
        .order_by()
        .aggregate(n=Count("id"), top=Max("pk"), ids=Sum("pk"), changed=Max("updated_at"))
    )
    text = f"{stats['n']}:{stats['top']}:{stats['ids']}:{stats['changed']}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def entries_etag(request, *args, **kwargs) -> str:
    """The exports' ETag: the entries' version stamp, per filter and language."""
    text = f"{version_stamp()}:{request.get_full_path()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


EXPORT_FIELDS = (
    "id",
    "category_code",
    "labels",
    "occurred_at",
    "street",
    "municipality",
    "lat",
    "lon",
    "summary",
)


def _export_rows(filters: Filters, limit: int):
    return filters.apply(published()).values(*EXPORT_FIELDS)[:limit]


def _iso(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat()


def _cached(response):
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    response["Access-Control-Allow-Origin"] = "*"  # open data: usable from any web page
    return response


@require_safe
@condition(etag_func=entries_etag)
def geojson(request):
    """A GeoJSON FeatureCollection of the public entries (points: the municipality's centre)."""
    filters = filters_from(request)
    language = content_language(request.GET.get("lang") or "nl")
    limit = GEOJSON_RANGE_LIMIT if filters.has_range else GEOJSON_LIMIT
    features = []
    for row in _export_rows(filters, limit):
        geometry = (
            {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
            if row["lat"] is not None and row["lon"] is not None
            else None
        )
        features.append(
            {
                "type": "Feature",
                "id": row["id"],
                "geometry": geometry,
                "properties": {
                    "id": row["id"],
                    "category_code": row["category_code"],
                    "category": label_for(row["labels"] or {}, row["category_code"], language),
                    "occurred_at": _iso(row["occurred_at"]),
                    "street": row["street"],
                    "municipality": row["municipality"],
                    "summary": row["summary"],
                },
            }
        )
    body = {
        "type": "FeatureCollection",
        "features": features,
        # Foreign members (allowed by RFC 7946): how the collection was cut.
        "limit": limit,
        "truncated": len(features) >= limit,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        content_type="application/geo+json; charset=utf-8",
    )
    return _cached(response)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix with a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_safe
@condition(etag_func=entries_etag)
def csv_export(request):
    """The public entries as CSV (UTF-8 with a byte order mark, so spreadsheets read it)."""
    filters = filters_from(request)
    language = content_language(request.GET.get("lang") or "nl")
    limit = CSV_RANGE_LIMIT if filters.has_range else CSV_LIMIT
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff" + writer.writerow(CSV_FIELDS)
        for row in _export_rows(filters, limit).iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    row["id"],
                    _iso(row["occurred_at"]),
                    csv_safe(row["category_code"]),
                    csv_safe(label_for(row["labels"] or {}, row["category_code"], language)),
                    csv_safe(row["street"]),
                    csv_safe(row["municipality"]),
                    "" if row["lat"] is None else row["lat"],
                    "" if row["lon"] is None else row["lon"],
                    csv_safe(row["summary"]),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="blotter.csv"'
    return _cached(response)
