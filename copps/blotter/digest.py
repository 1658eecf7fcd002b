"""The daily blotter digest: per area, a draft newsroom message listing yesterday's entries.

``draft_digests(day)`` takes the entries published on ``day`` (local date of ``published_at``,
so every entry is in exactly one digest) and groups them by area:

- an ``accounts.Area`` covers the municipalities its name (or slug) names in the gazetteer, plus
  those listed for its slug in the setting ``COPPS_BLOTTER_DIGEST_AREAS``
  (``{"area-slug": ["Municipality", ...]}``); its digest is a message of that area, so the
  channels send it to the subscribers of the area's postcodes once it is published;
- entries in municipalities no area covers go into one force-wide digest (no area: it reaches
  every subscriber).

Each digest is a **draft** (nl and fr) by the account named in ``COPPS_BLOTTER_DIGEST_AUTHOR``
(default ``blotter-digest``: created on first use, without a usable password, so nobody signs in
with it), and goes through the normal approval workflow. It lists the entries per category with
counts and municipalities and links to the blotter page filtered on each municipality — no
summaries (the page has them; a digest stays short).

Idempotent: one digest per area per day; the message's ``client_key``
(``blotter-digest:<day>:<area slug or "all">``) is the stable key, so running again (every worker
tick after ``COPPS_BLOTTER_DIGEST_HOUR``, default 7) never makes a second one — not even after
an editor deleted or rejected the first. Creation is audited (``message.create`` by the
newsroom, plus ``blotter.digest``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode

from copps.audit import log as audit

from . import gazetteer
from .models import Entry, EntryState
from .public_views import label_for, municipality_name

LANGUAGES = ("nl", "fr")
KEY_PREFIX = "blotter-digest"

# The digest's text per language (the newsroom stores the text itself, in each language; these
# are not UI strings of the running site, so they are spelled out here rather than translated).
TEXT = {
    "nl": {
        "title": "Politieblotter {area}: {date}",
        "title_all": "Politieblotter: {date}",
        "intro": "Op {date} publiceerden we {count} meldingen in de politieblotter{where}.",
        "where": " voor {area}",
        "more": "Alle meldingen, met een korte beschrijving:",
        "all": "het hele politiegebied",
    },
    "fr": {
        "title": "Main courante {area} : {date}",
        "title_all": "Main courante : {date}",
        "intro": "Le {date}, nous avons publié {count} faits dans la main courante{where}.",
        "where": " pour {area}",
        "more": "Tous les faits, avec une courte description :",
        "all": "toute la zone de police",
    },
}


def key_for(day: dt.date, area) -> str:
    return f"{KEY_PREFIX}:{day.isoformat()}:{area.slug if area is not None else 'all'}"


def digest_author():
    """The account that drafts the digests (created on first use, unable to sign in)."""
    from copps.accounts.roles import Role

    username = str(getattr(settings, "COPPS_BLOTTER_DIGEST_AUTHOR", "") or "blotter-digest")
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=Role.COMMUNICATOR, display_name="Blotter")
        user.set_unusable_password()
        user.save()
        audit.record(actor="blotter", action="blotter.digest.author", obj=user)
    return user


def area_municipalities() -> dict:
    """{Area: set of NIS codes it covers}."""
    from copps.accounts.models import Area

    extra = getattr(settings, "COPPS_BLOTTER_DIGEST_AREAS", {}) or {}
    covered: dict = {}
    for area in Area.objects.order_by("name"):
        codes = set()
        for name in (area.name, area.slug.replace("-", " "), *extra.get(area.slug, [])):
            place = gazetteer.find(name)
            if place is not None:
                codes.add(place.nis)
        if codes:
            covered[area] = codes
    return covered


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def _group(day: dt.date) -> dict:
    """{area or None: [entry rows]} for the entries published on ``day``."""
    start, end = _day_bounds(day)
    rows = list(
        Entry.objects.filter(
            state=EntryState.PUBLISHED, published_at__gte=start, published_at__lt=end
        )
        .order_by("occurred_at", "pk")
        .values("category_code", "labels", "nis", "municipality")
    )
    covered = area_municipalities()
    groups: dict = defaultdict(list)
    for row in rows:
        areas = [a for a, codes in covered.items() if row["nis"] and row["nis"] in codes]
        for area in areas or [None]:
            groups[area].append(row)
    return groups


def _blotter_url(language: str, nis: str = "") -> str:
    with translation.override(language):
        path = reverse("blotter:list")
    return settings.SITE_URL + path + (f"?{urlencode({'municipality': nis})}" if nis else "")


def _text(language: str, day: dt.date, area, rows: list[dict]) -> tuple[str, str]:
    t = TEXT[language]
    area_name = area.name if area is not None else t["all"]
    date = day.strftime("%d/%m/%Y")
    by_category: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_category[label_for(row["labels"] or {}, row["category_code"], language)].append(row)
    places: dict[str, str] = {}
    lines = [
        t["intro"].format(
            date=date,
            count=len(rows),
            where=t["where"].format(area=area_name) if area is not None else "",
        ),
        "",
    ]
    for label in sorted(by_category, key=str.casefold):
        counts: dict[str, int] = defaultdict(int)
        for row in by_category[label]:
            name = municipality_name(row["nis"], row["municipality"]) or "?"
            counts[name] += 1
            if row["nis"]:
                places[name] = row["nis"]
        where = ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))
        lines.append(f"- **{label}**: {len(by_category[label])} — {where}")
    lines += ["", t["more"], ""]
    if len(places) == 1:
        (nis,) = places.values()
        lines.append(f"- {_blotter_url(language, nis)}")
    else:
        lines += [
            f"- {name}: {_blotter_url(language, nis)}" for name, nis in sorted(places.items())
        ]
        if not places:
            lines.append(f"- {_blotter_url(language)}")
    title = t["title"] if area is not None else t["title_all"]
    return title.format(area=area_name, date=date), "\n".join(lines)


def draft_digests(day: dt.date) -> int:
    """Draft the digests of ``day`` that do not exist yet; returns how many were drafted."""
    from copps.newsroom.actions import VersionInput, create_message
    from copps.newsroom.models import Kind, Message

    groups = _group(day)
    if not groups:
        return 0
    author = None
    drafted = 0
    for area, rows in sorted(groups.items(), key=lambda g: g[0].name if g[0] else ""):
        key = key_for(day, area)
        if Message.objects.filter(client_key=key).exists():
            continue
        author = author or digest_author()
        versions = []
        for language in LANGUAGES:
            title, body = _text(language, day, area, rows)
            versions.append(VersionInput(language=language, title=title, body=body))
        with transaction.atomic():
            message, created = create_message(
                by=author,
                versions=versions,
                kind=Kind.NEIGHBOURHOOD if area is not None else Kind.NEWS,
                area=area,
                client_key=key,
            )
            if created:
                drafted += 1
                audit.record(
                    actor=author,
                    action="blotter.digest",
                    obj=message,
                    data={
                        "day": day.isoformat(),
                        "area": key.rsplit(":", 1)[1],
                        "entries": len(rows),
                    },
                )
    return drafted


# Days this process has finished: a past day's entries no longer change (``published_at`` is the
# moment of publication), so the worker need not look again every tick.
_done: set[dt.date] = set()


def digest_due(now) -> int:
    """The worker's job: after ``COPPS_BLOTTER_DIGEST_HOUR`` (local time), yesterday's digests."""
    local = timezone.localtime(now)
    hour = int(getattr(settings, "COPPS_BLOTTER_DIGEST_HOUR", 7))
    day = local.date() - dt.timedelta(days=1)
    if local.hour < hour or day in _done:
        return 0
    drafted = draft_digests(day)
    _done.add(day)
    return drafted
