"""Shared set-up for the public-order tests: an event in Ghent with two zones and sensors."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from copps.crowd import actions
from copps.crowd.models import Event, SensorKind, Template, TemplateUse

# About 98 m × 100 m on the Korenmarkt (≈ 9,800 m²) and 49 m × 56 m on the Vrijdagmarkt.
MARKT = {
    "type": "Polygon",
    "coordinates": [
        [
            [3.7200, 51.0540],
            [3.7214, 51.0540],
            [3.7214, 51.0549],
            [3.7200, 51.0549],
            [3.7200, 51.0540],
        ]
    ],
}
VRIJDAG = {
    "type": "Polygon",
    "coordinates": [
        [
            [3.7250, 51.0570],
            [3.7257, 51.0570],
            [3.7257, 51.0575],
            [3.7250, 51.0575],
            [3.7250, 51.0570],
        ]
    ],
}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[3.72, 51.05], [3.73, 51.06], [3.73, 51.05], [3.72, 51.06], [3.72, 51.05]]],
}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def make_event(admin, *, channels=("web", "rss"), running=True, public=True, slug="gentse-feesten"):
    now = timezone.now()
    start = now - timedelta(hours=1) if running else now + timedelta(days=3)
    event = actions.save_event(
        by=admin,
        name="Gentse Feesten",
        slug=slug,
        starts_at=start,
        ends_at=start + timedelta(hours=10),
        channels=list(channels),
        public=public,
        description="Tien dagen feest in de binnenstad.",
    )
    markt = actions.save_zone(
        event,
        by=admin,
        key="korenmarkt",
        name="Korenmarkt",
        geometry=MARKT,
        comfortable_density=1.0,
        max_density=2.0,
        advice="gebruik de ingang aan de Veldstraat",
    )
    vrijdag = actions.save_zone(
        event, by=admin, key="vrijdagmarkt", name="Vrijdagmarkt", geometry=VRIJDAG
    )
    bt, bt_token = actions.add_sensor(
        markt, by=admin, sensor_id="bt-korenmarkt-1", kind=SensorKind.BLUETOOTH, calibration=2.0
    )
    gate, _ = actions.add_sensor(
        vrijdag, by=admin, sensor_id="gate-vrijdag-1", kind=SensorKind.COUNTER, calibration=1.0
    )
    return event, markt, vrijdag, bt, bt_token, gate


def approved_template(writer, approver, *, use=TemplateUse.CROWD, level="red") -> Template:
    template = actions.save_template(
        by=writer,
        name="Zone vol",
        use=use,
        level=level,
        texts={
            "nl": {
                "title": "{zone} is vol",
                "body": "{zone} is vol ({people} mensen). Ga naar {quietest} of {advice}.",
            },
            "fr": {"title": "{zone} est complet", "body": "Rendez-vous à {quietest}."},
        },
    )
    return actions.approve_template(template, by=approver)


__all__ = ["BOWTIE", "Event", "MARKT", "VRIJDAG", "approved_template", "iso", "make_event"]
