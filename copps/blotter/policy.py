"""The publication policy: which incidents become public, when, and how generalised.

``current()`` is the version in force (the newest). ``decide(incident, policy)`` says where an
incident stands (``Decision``) and from when it may be published. ``generalise`` turns an
incident into the public facts: category label, rounded time, street without house number (or
none), the municipality and its centre — never the incident's own coordinates.

Defaults (the first version, also the demo's): theft, burglary, vandalism, traffic and noise are
public after 12 hours; sexual offences, domestic violence, suicide and anything involving minors
are never published; any other code is unknown and held back.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from copps.audit import log as audit

from . import gazetteer
from .models import Decision, Incident, PolicyVersion

DEFAULT_DELAY_HOURS = 12
# Never published by default; a policy must list one explicitly as public to change that.
SENSITIVE_CODES = ("sexual_offence", "domestic_violence", "suicide", "minor")
# Source statuses that mean the incident should not be (or no longer be) public.
WITHDRAWN_STATUSES = frozenset(
    {"withdrawn", "cancelled", "canceled", "unfounded", "deleted", "ingetrokken", "annulé"}
)

DEFAULT_CATEGORIES: dict[str, dict] = {
    "theft": {"nl": "Diefstal", "fr": "Vol", "de": "Diebstahl", "en": "Theft"},
    "burglary": {"nl": "Inbraak", "fr": "Cambriolage", "de": "Einbruch", "en": "Burglary"},
    "vandalism": {"nl": "Vandalisme", "fr": "Vandalisme", "de": "Vandalismus", "en": "Vandalism"},
    "traffic": {
        "nl": "Verkeer",
        "fr": "Circulation",
        "de": "Verkehr",
        "en": "Traffic",
    },
    "noise": {"nl": "Geluidsoverlast", "fr": "Tapage", "de": "Lärmbelästigung", "en": "Noise"},
}
SENSITIVE_LABELS: dict[str, dict] = {
    "sexual_offence": {
        "nl": "Zedenfeit",
        "fr": "Fait de mœurs",
        "de": "Sexualdelikt",
        "en": "Sexual offence",
    },
    "domestic_violence": {
        "nl": "Intrafamiliaal geweld",
        "fr": "Violence intrafamiliale",
        "de": "Häusliche Gewalt",
        "en": "Domestic violence",
    },
    "suicide": {"nl": "Zelfdoding", "fr": "Suicide", "de": "Suizid", "en": "Suicide"},
    "minor": {"nl": "Minderjarige", "fr": "Mineur", "de": "Minderjährige", "en": "Minor involved"},
}

# Words that say a minor is involved: such incidents are never published, whatever the category.
MINOR_RE = re.compile(
    r"\b(minderjarig\w*|kind(?:eren)?|jongen(?:tje)?|meisje\w*|baby|peuter|kleuter|scholier\w*|"
    r"mineur\w*|enfant\w*|bébé|adolescent\w*|écolier\w*|collégien\w*|"
    r"minderjährig\w*|kinder|jugendlich\w*|schüler\w*|"
    r"minor|child(?:ren)?|juvenile|toddler|teen(?:ager)?s?|schoolboy|schoolgirl|"
    r"tiener\w*|puber\w*|ados?|fillette\w*|garçonnet\w*|gamin\w*)\b"
    r"|\b(?:1[0-7]|[1-9])[- ]?(?:jarige?|jaar\b|ans?\b|jährige?|years?[- ]old)"
    # Ages written out: "zestienjarige", "de quinze ans", "Fünfzehnjährigen".
    r"|\b(?:een|één|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien|"
    r"vijftien|zestien|zeventien)(?:[- ]?jarig\w*|\s+jaar\s+oud\b)"
    r"|\bde\s+(?:un|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|"
    r"quinze|seize|dix-sept)\s+ans\b"
    r"|\b(?:ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|dreizehn|vierzehn|"
    r"fünfzehn|sechzehn|siebzehn)(?:[- ]?jährig\w*|\s+jahre\s+alt\b)",
    re.IGNORECASE,
)


def default_categories() -> dict[str, dict]:
    categories = {
        code: {"public": True, "delay_hours": DEFAULT_DELAY_HOURS, "labels": labels}
        for code, labels in DEFAULT_CATEGORIES.items()
    }
    for code, labels in SENSITIVE_LABELS.items():
        categories[code] = {"public": False, "delay_hours": DEFAULT_DELAY_HOURS, "labels": labels}
    return categories


def current() -> PolicyVersion:
    """The policy in force; the default one is created the first time it is needed."""
    policy = PolicyVersion.objects.order_by("-number").first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            policy = PolicyVersion.objects.create(
                number=1, categories=default_categories(), note="default policy"
            )
            audit.record(actor="blotter", action="blotter.policy", obj=policy, data={"number": 1})
            return policy
    except IntegrityError:
        return PolicyVersion.objects.order_by("-number").first()  # type: ignore[return-value]


def save_version(
    *, by, categories: dict, location: str, time_rounding_minutes: int, summary: str, note: str = ""
) -> PolicyVersion:
    """Record a new version (the old ones stay); incidents not yet public are re-decided."""
    clean = validate_categories(categories)
    if location not in PolicyVersion.Location.values:
        raise ValueError(f"unknown location mode {location!r}")
    if summary not in PolicyVersion.Summary.values:
        raise ValueError(f"unknown summary mode {summary!r}")
    if not 1 <= int(time_rounding_minutes) <= 24 * 60:
        raise ValueError("time rounding must be between 1 minute and 24 hours")
    with transaction.atomic():
        previous = current()
        policy = PolicyVersion.objects.create(
            number=previous.number + 1,
            categories=clean,
            location=location,
            time_rounding_minutes=int(time_rounding_minutes),
            summary=summary,
            note=note[:300],
            created_by=by,
        )
        audit.record(
            actor=by,
            action="blotter.policy",
            obj=policy,
            data={
                "number": policy.number,
                "public": sorted(c for c, v in clean.items() if v["public"]),
                "location": location,
                "summary": summary,
            },
        )
    redecide_all(policy)
    return policy


CODE_RE = re.compile(r"^[a-z0-9_]{1,60}$")


def validate_categories(categories: dict) -> dict[str, dict]:
    if not isinstance(categories, dict):
        raise ValueError("categories must be an object")
    clean: dict[str, dict] = {}
    for code, rule in categories.items():
        if not CODE_RE.match(str(code)) or not isinstance(rule, dict):
            raise ValueError(f"bad category {code!r}")
        delay = float(rule.get("delay_hours", DEFAULT_DELAY_HOURS))
        if not 0 <= delay <= 24 * 365:
            raise ValueError(f"bad delay for {code}")
        labels = {k: str(v)[:100] for k, v in dict(rule.get("labels") or {}).items() if v}
        clean[str(code)] = {
            "public": bool(rule.get("public")),
            "delay_hours": delay,
            "labels": labels,
        }
    return clean


def involves_minor(incident: Incident) -> bool:
    return bool(MINOR_RE.search(f"{incident.category} {incident.summary}"))


def decide(incident: Incident, policy: PolicyVersion) -> tuple[str, datetime | None]:
    """(decision, publish_after) for an incident under ``policy`` (before redaction)."""
    if incident.decision == Decision.REJECTED:
        # A person said no: no new policy or corrected record overrules that.
        return Decision.REJECTED, None
    status = unicodedata.normalize("NFC", incident.status).strip().casefold()
    if status in WITHDRAWN_STATUSES:  # "annulé" may come with a decomposed accent
        return Decision.WITHDRAWN, None
    rule = policy.categories.get(incident.category_code)
    if incident.category_code in SENSITIVE_CODES and not (rule and rule.get("public")):
        return Decision.EXCLUDED, None
    if involves_minor(incident):
        return Decision.EXCLUDED, None
    if rule is None:
        return Decision.UNKNOWN, None
    if not rule.get("public"):
        return Decision.HELD, None
    delay = float(rule.get("delay_hours", DEFAULT_DELAY_HOURS))
    return Decision.WAITING, publish_after(
        incident.reported_at, delay, policy.time_rounding_minutes
    )


@dataclass(frozen=True)
class Public:
    """The generalised public facts of an incident (without the summary)."""

    labels: dict
    occurred_at: datetime
    street: str
    municipality: str
    nis: str
    lat: float | None
    lon: float | None


# A house number sometimes travels in the street field, in any of its Belgian forms ("Kerkstraat
# 12-14", "nr. 12", "5 bte 2", "12, rue de la Loi", "Kerkstraat 12, 2000 Antwerpen"): the public
# street is the text before the first number. Kept: numbers of a date in a street's name ("Rue du
# 11 Novembre", "Place du 1er Mai") and road numbers glued to a capital ("E40", "N9").
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|"
    "décembre|decembre|januar|februar|märz|juni|juli|oktober|dezember"
)
_NOTE_RE = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
_LEADING_NUMBER_RE = re.compile(
    r"^[\s,.]*(?:(?:nr|no|num|n°)\.?\s*)?\d+\s*[a-zA-Z]?\b(?:\s*[-/+&]\s*\d+\s*[a-zA-Z]?\b)*[\s,.]*",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(
    r"(?:\b(?:nr|no|num|huisnummer|n°)\.?\s*)?(?<!\d)(?-i:(?<![A-Z]))\d"
    rf"(?!\d*\s*(?:er|e|ste|de|sten)?\s+(?:{_MONTHS})\b)",
    re.IGNORECASE,
)
HOUSE_NUMBER_RE = _NUMBER_RE


def public_street(street: str) -> str:
    """The street without house number, box, notes or anything after the number."""
    text = _NOTE_RE.sub(" ", street or "")
    text = _LEADING_NUMBER_RE.sub("", text)
    found = _NUMBER_RE.search(text)
    if found is not None:
        text = text[: found.start()]
    return re.sub(r"\s+", " ", text).strip(" ,.;:-/+&")[:200]


def round_time(moment: datetime, minutes: int) -> datetime:
    """The start of ``moment``'s slice of ``minutes``, slices counted from local midnight.

    Counted in real time (UTC): aware arithmetic within one zone is wall-clock arithmetic, which
    put the second 02:40 of the night the clocks go back in the first 02:00, 1 h 40 earlier."""
    local = timezone.localtime(moment)
    minutes = max(1, int(minutes))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    elapsed = int((moment.astimezone(UTC) - midnight).total_seconds() // 60)
    return timezone.localtime(midnight + timedelta(minutes=elapsed - elapsed % minutes))


def publish_after(reported_at: datetime, delay_hours: float, rounding_minutes: int) -> datetime:
    """When an incident may go out: its report time plus the category's delay (the contract:
    published within a minute once the delay has passed). Someone polling the feed each minute
    can therefore tell the report time to the minute, whatever the rounding of the displayed
    time: a force that minds lengthens the delay (``rounding_minutes`` is kept for callers)."""
    return reported_at + timedelta(hours=delay_hours)


def generalise(incident: Incident, policy: PolicyVersion) -> Public:
    rule = policy.categories.get(incident.category_code) or {}
    labels = dict(rule.get("labels") or {}) or {"en": incident.category or incident.category_code}
    place = gazetteer.find(incident.municipality)
    street = ""
    if policy.location == PolicyVersion.Location.STREET and place is not None:
        # A house number sometimes travels in the street field: never publish it.
        street = public_street(incident.street)
    return Public(
        labels=labels,
        occurred_at=round_time(incident.reported_at, policy.time_rounding_minutes),
        street=street,
        municipality=gazetteer.public_name(incident.municipality)[:120] if place else "",
        nis=place.nis if place else "",
        lat=place.lat if place else None,
        lon=place.lon if place else None,
    )


def redecide_all(policy: PolicyVersion | None = None, *, batch: int = 2000) -> int:
    """Apply ``policy`` (default: the one in force) to every incident again, e.g. after a policy
    change: entries that are no longer allowed are taken down by the next publication run, and
    published entries are rendered again under the new rules. Returns how many changed."""
    policy = policy or current()
    changed = 0
    last = 0
    while True:
        chunk = list(Incident.objects.filter(pk__gt=last).order_by("pk")[:batch])
        if not chunk:
            return changed
        last = chunk[-1].pk
        updates = []
        for incident in chunk:
            decision, after = decide(incident, policy)
            if (decision, after) != (incident.decision, incident.publish_after):
                incident.decision, incident.publish_after = decision, after
                updates.append(incident)
        with transaction.atomic():
            Incident.objects.bulk_update(updates, ["decision", "publish_after"], batch_size=batch)
        changed += len(updates)
