"""Zone outlines and route lines: GeoJSON in, checked, measured, drawn.

``parse_feature_collection`` reads an uploaded GeoJSON document into zones (Polygon,
MultiPolygon) and routes (LineString, MultiLineString) and refuses, with a message that names
the feature, anything Shapely finds invalid (a self-intersecting outline, a ring that does not
close, coordinates outside WGS84). Areas are measured in square metres on a local projection
around the zone (exact enough for event zones of a few kilometres). ``svg_paths`` projects
outlines into an SVG viewBox for the server-rendered maps (no tiles, no JavaScript).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _
from shapely import geometry as shp
from shapely.validation import explain_validity

EARTH_RADIUS = 6_371_008.8
MAX_BYTES = 2_000_000
MAX_FEATURES = 500
MAX_POINTS = 20_000
MAX_AREA_M2 = 100_000_000  # 100 km²: larger is not an event zone


class GeoError(ValueError):
    pass


@dataclass
class ZoneShape:
    key: str
    name: str
    geometry: dict
    area_m2: float
    properties: dict = field(default_factory=dict)


@dataclass
class RouteShape:
    name: str
    geometry: dict
    status: str
    note: str


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GeoError(_("A coordinate is not a number."))
    return float(value)


def _check_positions(coords: Any, depth: int, count: list[int]) -> None:
    """Coordinates nested ``depth`` levels deep above [lon, lat] positions, all in WGS84."""
    if not isinstance(coords, list):
        raise GeoError(_("Coordinates must be lists."))
    if depth == 0:
        if len(coords) < 2:
            raise GeoError(_("A position needs a longitude and a latitude."))
        lon, lat = _number(coords[0]), _number(coords[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeoError(_("Coordinates must be longitude, latitude in WGS84 (degrees)."))
        count[0] += 1
        if count[0] > MAX_POINTS:
            raise GeoError(_("Too many points (at most %(n)d).") % {"n": MAX_POINTS})
        return
    for item in coords:
        _check_positions(item, depth - 1, count)


DEPTH = {"Polygon": 2, "MultiPolygon": 3, "LineString": 1, "MultiLineString": 2}


def shape_of(geom: Any) -> shp.base.BaseGeometry:
    """A Shapely geometry from a GeoJSON geometry object, or GeoError."""
    if not isinstance(geom, dict) or geom.get("type") not in DEPTH:
        raise GeoError(_("Expected a Polygon, MultiPolygon, LineString or MultiLineString."))
    _check_positions(geom.get("coordinates"), DEPTH[geom["type"]], [0])
    try:
        shape = shp.shape(geom)
    except Exception as exc:  # Shapely's own complaint (a ring of two points, …)
        raise GeoError(_("Not a valid geometry: %(reason)s") % {"reason": exc}) from exc
    if shape.is_empty:
        raise GeoError(_("The geometry is empty."))
    if not shape.is_valid:
        raise GeoError(_("Invalid outline: %(reason)s") % {"reason": explain_validity(shape)})
    return shape


def area_m2(geom: dict) -> float:
    """Area of a (valid) Polygon or MultiPolygon in square metres."""
    import numpy as np
    import shapely

    shape = shape_of(geom)
    lat0 = shape.centroid.y
    scale = np.array(
        [
            math.radians(1) * EARTH_RADIUS * math.cos(math.radians(lat0)),
            math.radians(1) * EARTH_RADIUS,
        ]
    )
    return float(shapely.transform(shape, lambda coords: coords * scale).area)


def clean_zone_geometry(geom: Any) -> tuple[dict, float]:
    """(normalised GeoJSON, area in m²) of a zone outline, or GeoError."""
    if isinstance(geom, dict) and geom.get("type") == "Feature":
        geom = geom.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise GeoError(_("A zone's outline must be a Polygon or MultiPolygon."))
    shape = shape_of(geom)
    area = area_m2(geom)
    if area <= 1:
        raise GeoError(_("The zone has no area."))
    if area > MAX_AREA_M2:
        raise GeoError(_("The zone is larger than 100 km²: check the coordinates."))
    return shp.mapping(shape) | {}, area


def _plain(mapping: Any) -> Any:
    """Shapely's mapping uses tuples; JSON wants lists."""
    if isinstance(mapping, dict):
        return {k: _plain(v) for k, v in mapping.items()}
    if isinstance(mapping, list | tuple):
        return [_plain(v) for v in mapping]
    return mapping


def parse_feature_collection(raw: bytes | str) -> tuple[list[ZoneShape], list[RouteShape]]:
    """Zones and routes of an uploaded GeoJSON FeatureCollection (or a single Feature)."""
    from .models import RouteStatus

    if len(raw) > MAX_BYTES:
        raise GeoError(_("The file is larger than 2 MB."))
    try:
        doc = json.loads(raw)
    except RecursionError:  # "[[[[…" nested beyond Python's parser
        raise GeoError(_("Not JSON: nested too deeply.")) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise GeoError(_("Not JSON: %(reason)s") % {"reason": exc}) from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise GeoError(_("Expected a GeoJSON FeatureCollection."))
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise GeoError(_("The collection has no features."))
    if len(features) > MAX_FEATURES:
        raise GeoError(_("Too many features (at most %(n)d).") % {"n": MAX_FEATURES})
    zones: list[ZoneShape] = []
    routes: list[RouteShape] = []
    keys: set[str] = set()
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise GeoError(_("Feature %(n)d is not a GeoJSON Feature.") % {"n": number})
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            props = {}
        name = str(props.get("name") or "").strip()[:120]
        label = name or _("feature %(n)d") % {"n": number}
        geom = feature.get("geometry")
        kind = geom.get("type") if isinstance(geom, dict) else None
        try:
            if kind in ("Polygon", "MultiPolygon"):
                if not name:
                    raise GeoError(_('A zone needs a name (property "name").'))
                cleaned, area = clean_zone_geometry(geom)
                key = slugify(str(props.get("id") or props.get("key") or name))[:60]
                if not key or key in keys:
                    raise GeoError(_("Zone identifiers must be present and unique."))
                keys.add(key)
                zones.append(ZoneShape(key, name, _plain(cleaned), area, props))
            elif kind in ("LineString", "MultiLineString"):
                if not name:
                    raise GeoError(_('A route needs a name (property "name").'))
                shape = shape_of(geom)
                status = str(props.get("status") or RouteStatus.OPEN)
                if status not in RouteStatus.values:
                    raise GeoError(
                        _("Unknown status %(s)s (open, closed, one_way).") % {"s": status[:20]}
                    )
                note = str(props.get("note") or "")[:200]
                routes.append(RouteShape(name, _plain(shp.mapping(shape)), status, note))
            else:
                raise GeoError(_("Only polygons (zones) and lines (routes) can be imported."))
        except GeoError as exc:
            raise GeoError(f"{label}: {exc}") from exc
    return zones, routes


# Drawing ------------------------------------------------------------------------------------


def _rings(geom: dict) -> list[list[list[float]]]:
    if geom.get("type") == "Polygon":
        return list(geom["coordinates"])
    if geom.get("type") == "MultiPolygon":
        return [ring for poly in geom["coordinates"] for ring in poly]
    if geom.get("type") == "LineString":
        return [geom["coordinates"]]
    if geom.get("type") == "MultiLineString":
        return list(geom["coordinates"])
    return []


@dataclass
class Frame:
    """Projects WGS84 into an SVG viewBox ``0 0 width height`` (north up, aspect kept)."""

    west: float
    south: float
    east: float
    north: float
    width: float = 600.0
    height: float = 400.0
    pad: float = 12.0

    @classmethod
    def around(cls, geoms: list[dict], width: float = 600.0) -> Frame:
        points = [p for g in geoms if g for ring in _rings(g) for p in ring]
        if not points:
            return cls(4.3, 50.8, 4.4, 50.9, width, width * 2 / 3)
        west, east = min(p[0] for p in points), max(p[0] for p in points)
        south, north = min(p[1] for p in points), max(p[1] for p in points)
        lat0 = (south + north) / 2
        span_x = max((east - west) * math.cos(math.radians(lat0)), 1e-6)
        span_y = max(north - south, 1e-6)
        height = max(min(width * span_y / span_x, width * 1.2), width * 0.4)
        return cls(west, south, east, north, width, round(height))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        lat0 = (self.south + self.north) / 2
        k = math.cos(math.radians(lat0))
        span_x = max((self.east - self.west) * k, 1e-9)
        span_y = max(self.north - self.south, 1e-9)
        scale = min((self.width - 2 * self.pad) / span_x, (self.height - 2 * self.pad) / span_y)
        off_x = (self.width - span_x * scale) / 2
        off_y = (self.height - span_y * scale) / 2
        return (
            round(off_x + (lon - self.west) * k * scale, 1),
            round(self.height - off_y - (lat - self.south) * scale, 1),
        )

    def path(self, geom: dict | None) -> str:
        """An SVG path ``d`` for a polygon (closed rings) or a line."""
        if not geom:
            return ""
        closed = geom.get("type") in ("Polygon", "MultiPolygon")
        parts = []
        for ring in _rings(geom):
            pts = [self.xy(p[0], p[1]) for p in ring]
            if not pts:
                continue
            d = "M" + " L".join(f"{x},{y}" for x, y in pts)
            parts.append(d + (" Z" if closed else ""))
        return " ".join(parts)

    def label_point(self, geom: dict) -> tuple[float, float]:
        point = shp.shape(geom).representative_point()
        return self.xy(point.x, point.y)
