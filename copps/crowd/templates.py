"""Filling a pre-approved template with live facts.

Only ``{name}`` placeholders from ``FACTS`` are replaced (no attribute access, no format
specifications): the words stay the ones a second person approved, the commander's fast track
adds numbers and names from the live picture. An unknown placeholder stays as written, so a typo
shows in the preview instead of failing at the worst moment.
"""

from __future__ import annotations

import re

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .models import Event, Level, Route, RouteStatus, Template, Zone

PLACEHOLDER = re.compile(r"\{([a-z_]{1,30})\}")
FACTS = (
    "event",
    "zone",
    "people",
    "density",
    "level",
    "advice",
    "quietest",
    "time",
    "routes_closed",
    "url",
)


def facts_for(event: Event | None, zone: Zone | None, language: str, now=None) -> dict[str, str]:
    """The live facts in ``language`` (numbers formatted the local way)."""
    from django.conf import settings

    now = now or timezone.now()
    with translation.override(language):
        facts = {
            "event": event.name if event else "",
            "zone": zone.name if zone else "",
            "people": formats.number_format(zone.people, use_l10n=True, force_grouping=True)
            if zone
            else "",
            "density": formats.number_format(zone.density, 1, use_l10n=True) if zone else "",
            "level": str(Level(zone.level).label) if zone else "",
            "advice": zone.advice if zone else "",
            "time": timezone.localtime(now).strftime("%H:%M"),
            # Until a zone is known to be quiet: never send people to a zone nobody measures.
            "quietest": _("a quieter place"),
            "routes_closed": "",
            "url": "",
        }
        if event is not None:
            others = [
                z
                for z in event.zones.all()
                if (zone is None or z.pk != zone.pk) and z.level == Level.GREEN and not z.stale
            ]
            if others:
                facts["quietest"] = min(others, key=lambda z: z.density).name
            closed = Route.objects.filter(event=event, status=RouteStatus.CLOSED).order_by("name")
            facts["routes_closed"] = ", ".join(r.name for r in closed) or pgettext(
                "no street is closed", "none"
            )
            facts["url"] = f"{settings.SITE_URL}/{language}/events/{event.slug}/"
    return facts


def fill(text: str, facts: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: facts.get(m.group(1), m.group(0)), text)


def render(template: Template, event: Event | None, zone: Zone | None, now=None) -> dict:
    """``{language: {"title", "body"}}`` of every language the template has."""
    out = {}
    for language, text in (template.texts or {}).items():
        if not isinstance(text, dict) or not (text.get("title") or "").strip():
            continue
        facts = facts_for(event, zone, language, now)
        out[language] = {
            "title": fill(text.get("title", ""), facts).strip()[:200],
            "body": fill(text.get("body", ""), facts).strip(),
        }
    return out


def proposals(alert_level: str, use: str = "crowd"):
    """Approved active templates for a level (most specific first)."""
    rows = Template.objects.filter(active=True, use=use, approved_by__isnull=False)
    return sorted(
        (t for t in rows if t.approved and t.level in (alert_level, "")),
        key=lambda t: (t.level != alert_level, t.name),
    )
