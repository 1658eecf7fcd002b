"""The demo's running event: a summer festival in Antwerp's old town with four zones, one
sensor each, streets with a status, approved templates and a prepared crisis front page. Two hours
of counts are replayed through the real ingestion, so the live map and the charts have a history;
`make demo` keeps the counts coming (`copps crowd_simulate`)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from . import actions, ingest
from .models import SensorKind, TemplateUse

SLUG = "zomerfeest"


def _box(lon: float, lat: float, half_w: float, half_h: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - half_w, lat - half_h],
                [lon + half_w, lat - half_h],
                [lon + half_w, lat + half_h],
                [lon - half_w, lat + half_h],
                [lon - half_w, lat - half_h],
            ]
        ],
    }


ZONES = [
    # key, name, centre (lon, lat), half sizes (degrees), comfortable, max, advice
    (
        "grote-markt",
        "Grote Markt",
        (4.39995, 51.22130),
        (0.00045, 0.00025),
        1.5,
        3.0,
        "gebruik de uitgang naar de Suikerrui",
    ),
    (
        "groenplaats",
        "Groenplaats",
        (4.40110, 51.21900),
        (0.00055, 0.00030),
        1.5,
        3.0,
        "loop door naar de Schoenmarkt",
    ),
    (
        "steenplein",
        "Steenplein",
        (4.39760, 51.22290),
        (0.00040, 0.00025),
        1.0,
        2.5,
        "volg de kaaien naar het noorden",
    ),
    (
        "handschoenmarkt",
        "Handschoenmarkt",
        (4.40065, 51.22075),
        (0.00025, 0.00015),
        1.5,
        3.0,
        "wacht aan de Oude Koornmarkt",
    ),
]
# One sensor per zone: a zone's figure is then never partly stale, and the API's per-zone
# "stale" is exactly its sensor's. The first sensor listed (zones by name) counts devices.
SENSORS = [
    # sensor id, zone, kind, calibration
    ("bt-grote-markt-1", "grote-markt", SensorKind.BLUETOOTH, 5.0),
    ("bt-groenplaats-1", "groenplaats", SensorKind.BLUETOOTH, 2.8),
    ("bt-steenplein-1", "steenplein", SensorKind.BLUETOOTH, 3.0),
    ("gate-handschoenmarkt-1", "handschoenmarkt", SensorKind.COUNTER, 1.0),
]
ROUTES = [
    ("Suikerrui", "closed", "podium en hulpdiensten", [[4.3985, 51.2208], [4.3969, 51.2215]]),
    (
        "Hoogstraat",
        "one_way",
        "alleen richting Grote Markt",
        [[4.3990, 51.2191], [4.3995, 51.2206]],
    ),
    ("Meir", "open", "", [[4.4030, 51.2180], [4.4120, 51.2175]]),
]
TEMPLATES = [
    (
        "Zone druk",
        TemplateUse.CROWD,
        "amber",
        {
            "nl": (
                "Druk op {zone}",
                "Het wordt druk op {zone}. Rustiger: {quietest}. Volg de aanwijzingen van de stewards.",
            ),
            "fr": (
                "Affluence à {zone}",
                "Il y a du monde à {zone}. Plus calme : {quietest}. Suivez les consignes des stewards.",
            ),
            "en": (
                "{zone} is getting busy",
                "{zone} is getting busy. Quieter: {quietest}. Follow the stewards.",
            ),
        },
    ),
    (
        "Zone vol",
        TemplateUse.CROWD,
        "red",
        {
            "nl": (
                "{zone} is vol",
                "{zone} is vol: kom niet meer naar {zone} en {advice}. Rustiger: {quietest}.",
            ),
            "fr": (
                "{zone} est complet",
                "{zone} est complet : ne vous y rendez plus. Plus calme : {quietest}.",
            ),
            "en": ("{zone} is full", "{zone} is full: do not come to {zone}. Quieter: {quietest}."),
        },
    ),
    (
        "Straten afgesloten",
        TemplateUse.STREETS,
        "",
        {
            "nl": (
                "Afgesloten straten ({time})",
                "Afgesloten voor {event}: {routes_closed}. Actueel overzicht: {url}",
            ),
            "fr": (
                "Rues fermées ({time})",
                "Fermées pour {event} : {routes_closed}. Situation : {url}",
            ),
        },
    ),
    (
        "Crisis: blijf binnen",
        TemplateUse.CRISIS,
        "",
        {
            "nl": (
                "Blijf binnen, sluit ramen en deuren",
                "Blijf binnen, sluit ramen en deuren en volg de updates op onze website. Bel 112 alleen bij nood.",
            ),
            "fr": (
                "Restez à l'intérieur, fermez portes et fenêtres",
                "Restez à l'intérieur, fermez portes et fenêtres et suivez les mises à jour sur notre site. N'appelez le 112 qu'en cas d'urgence.",
            ),
            "en": (
                "Stay indoors, close windows and doors",
                "Stay indoors, close windows and doors and follow the updates on our website. Call 112 only in an emergency.",
            ),
        },
    ),
]
CRISIS_PAGE = {
    "nl": (
        "Incident in de binnenstad",
        "Er is een ernstig incident in de binnenstad. Blijf weg uit het gebied rond de Grote Markt, volg de instructies van de politie en de updates hieronder. Bel 112 alleen bij nood; voor vragen: 101.",
    ),
    "fr": (
        "Incident au centre-ville",
        "Un incident grave a lieu au centre-ville. Évitez les environs de la Grote Markt, suivez les instructions de la police et les mises à jour ci-dessous. N'appelez le 112 qu'en cas d'urgence ; pour toute question : 101.",
    ),
    "de": (
        "Vorfall in der Innenstadt",
        "In der Innenstadt gibt es einen schweren Vorfall. Meiden Sie die Umgebung des Grote Markt und folgen Sie den Anweisungen der Polizei und den Updates unten. Notruf 112 nur im Notfall; Fragen: 101.",
    ),
    "en": (
        "Incident in the city centre",
        "There is a serious incident in the city centre. Stay away from the Grote Markt area, follow police instructions and the updates below. Call 112 only in an emergency; questions: 101.",
    ),
}


def load_demo(users: dict, areas: dict) -> None:
    admin, commander = users["admin"], users["commander"]
    writer, approver = users["communicator"], users["editor"]
    now = timezone.now()
    event = actions.save_event(
        by=commander,
        name="Zomerfeest in de oude stad",
        slug=SLUG,
        description=(
            "Drie dagen muziek op de Grote Markt, de Groenplaats en het Steenplein. "
            "Hier ziet u hoe druk het is en welke straten open zijn."
        ),
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(days=7),
        area=areas.get("centrum"),
        channels=["web", "rss", "mastodon", "bluesky", "push", "fediverse"],
        public=True,
    )
    zones = {}
    for key, name, (lon, lat), (hw, hh), comfortable, maximum, advice in ZONES:
        zones[key] = actions.save_zone(
            event,
            by=commander,
            key=key,
            name=name,
            geometry=_box(lon, lat, hw, hh),
            comfortable_density=comfortable,
            max_density=maximum,
            advice=advice,
        )
    for sensor_id, zone, kind, calibration in SENSORS:
        actions.add_sensor(
            zones[zone], by=commander, sensor_id=sensor_id, kind=kind, calibration=calibration
        )
    for name, status, note, line in ROUTES:
        actions.save_route(
            event,
            by=commander,
            name=name,
            status=status,
            note=note,
            geometry={"type": "LineString", "coordinates": line},
        )
    for name, use, level, texts in TEMPLATES:
        template = actions.save_template(
            by=writer,
            name=name,
            use=use,
            level=level,
            texts={lang: {"title": t, "body": b} for lang, (t, b) in texts.items()},
        )
        actions.approve_template(template, by=approver)
    actions.save_crisis_page(
        by=admin,
        name="Incident binnenstad",
        content={lang: {"title": t, "body": b} for lang, (t, b) in CRISIS_PAGE.items()},
    )
    replay_history(event_sensors(), now)


def event_sensors() -> list[tuple[str, str, float]]:
    return [(sid, str(kind), cal) for sid, _zone, kind, cal in SENSORS]


def devices_at(sensor_id: str, minute: int, rng: random.Random) -> int:
    """A plausible evening: the Grote Markt fills towards the concert, the rest stays calm."""
    base = {"grote-markt": 600, "groenplaats": 260, "steenplein": 90, "handschoenmarkt": 0}
    zone = next(z for s, z, _k, _c in SENSORS if s == sensor_id)
    build = 1 + (minute / 120) * (1.1 if zone == "grote-markt" else 0.3)
    return max(int(base[zone] * build * rng.uniform(0.93, 1.07)), 0)


def replay_history(sensors, now, minutes: int = 120) -> None:
    """Counts every minute for the last ``minutes``, through ``ingest`` as a sensor would."""
    rng = random.Random(7)
    start = now - timedelta(minutes=minutes)
    for minute in range(minutes + 1):
        moment = start + timedelta(minutes=minute)
        batch = []
        for sensor_id, kind, _cal in sensors:
            if kind == SensorKind.COUNTER:
                batch.append(
                    (
                        sensor_id,
                        {
                            "ts": moment.isoformat(),
                            "in": rng.randint(8, 16),
                            "out": rng.randint(4, 12),
                        },
                    )
                )
            else:
                batch.append(
                    (
                        sensor_id,
                        {"ts": moment.isoformat(), "devices": devices_at(sensor_id, minute, rng)},
                    )
                )
        ingest.ingest(batch, via="http", now=moment)
