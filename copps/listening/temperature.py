"""Emotional temperature of a watch: volume and sentiment per hour, bursts, emerging terms.

A post counts at its publication time (its arrival time when the source gave none).
``hourly(watch, start, end)`` is one aggregate query: per clock hour (UTC), the matched posts and
how many were negative, neutral and positive. ``burst(watch, now)`` compares the matches of the
last 60 minutes with the hourly counts of the baseline before them (at most a week, at least a day
of the watch's life): a burst is at least ``BURST_MIN`` posts and more than the baseline's mean plus
``BURST_K`` standard deviations (the deviation never taken below the Poisson one, √mean, so a flat
baseline does not make every small wobble a burst). ``emerging(watch, now)`` finds words whose
share of the last hour's posts is at least ``TERM_RATIO`` times their (smoothed) share in the
baseline, in at least ``TERM_MIN`` posts.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import Coalesce, TruncHour

from . import query as q
from .models import Match, Watch

HOUR = timedelta(hours=1)
BASELINE_MAX = timedelta(hours=168)
BASELINE_MIN = timedelta(hours=24)
BURST_K = 3.0
BURST_MIN = 10
TERM_MIN = 5
TERM_RATIO = 5.0
SAMPLE = 5000  # posts read for terms (the most recent of the window)
SENTIMENTS = ("negative", "neutral", "positive")

# Frequent words of nl/fr/de/en (folded as the matcher folds), never terms.
STOPWORDS = frozenset(
    """
    aan als bij dat de den der des die dit door een en er het hij hoe hun ik in is je jij kan maar
    met mij naar niet nog nu of om ook op over te tot uit van voor was wat we wel wie wij zal ze zij
    zijn zo dan al heb hebben heeft werd worden wordt geen meer deze daar hier waar toch alle veel
    les la le un une du au aux et est sont pas pour par sur dans avec qui que quoi mais ou ce cette
    ces il elle ils elles nous vous tout tous plus moins tres ete fait etre avoir ont sans son ses
    leur leurs mon mes ton tes entre
    der die das und ist nicht mit von den dem ein eine einer auf fur sich auch als wie wir ihr sie
    noch nach bei aus zum zur war sind hat haben wird werden oder aber kein keine uber unter
    the and for are was were with that this from have has had not but you your they their them
    our out all can will just who what when where why how been into about there than then its
    https http www com amp rt via
    """.split()
)
_WORD = re.compile(r"^[^\W\d_]{3,}$")


def at_expression():
    return Coalesce("post__published_at", "post__received_at")


def _matches(watch: Watch, start: datetime, end: datetime):
    return (
        Match.objects.filter(watch=watch)
        .annotate(at=at_expression())
        .filter(at__gte=start, at__lt=end)
        .order_by()
    )


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hourly(watch: Watch, start: datetime, end: datetime) -> list[dict]:
    """One dict per hour from ``floor_hour(start)`` up to ``end`` (zeros included)."""
    first = floor_hour(start)
    rows = (
        _matches(watch, first, end)
        .annotate(hour=TruncHour("at", tzinfo=UTC))
        .values("hour")
        .annotate(
            total=Count("pk"),
            **{s: Count("pk", filter=Q(post__sentiment=s)) for s in SENTIMENTS},
        )
    )
    by_hour = {floor_hour(r["hour"]): r for r in rows}
    series = []
    hour = first
    while hour < end:
        row = by_hour.get(hour, {})
        series.append(
            {"hour": hour, "total": row.get("total", 0), **{s: row.get(s, 0) for s in SENTIMENTS}}
        )
        hour += HOUR
    return series


def baseline_window(watch: Watch, now: datetime) -> tuple[datetime, datetime] | None:
    """The whole hours before the last 60 minutes, at most a week, within the watch's life."""
    end = floor_hour(now - HOUR)
    start = max(end - BASELINE_MAX, floor_hour(watch.created_at) + HOUR)
    if end - start < BASELINE_MIN:
        return None
    return start, end


@dataclass
class Burst:
    count: int
    mean: float
    threshold: float
    bursting: bool
    posts: list[int] = field(default_factory=list)


def burst(watch: Watch, now: datetime) -> Burst | None:
    """The last 60 minutes against the baseline; None when the watch is younger than a day."""
    window = baseline_window(watch, now)
    if window is None:
        return None
    recent = _matches(watch, now - HOUR, now)
    count = recent.count()
    if count < BURST_MIN:  # a quiet hour: no need to read the baseline
        return Burst(count, 0.0, 0.0, False)
    counts = [h["total"] for h in hourly(watch, *window)]
    mean = sum(counts) / len(counts)
    std = math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))
    threshold = mean + BURST_K * max(std, math.sqrt(mean), 1.0)
    bursting = count >= BURST_MIN and count > threshold
    posts = list(recent.order_by("-at").values_list("post_id", flat=True)[:50]) if bursting else []
    return Burst(count, round(mean, 2), round(threshold, 2), bursting, posts)


def terms_of(text: str) -> set[str]:
    return {w for w in q.words(text) if _WORD.match(w) and w not in STOPWORDS}


def _documents(watch: Watch, start: datetime, end: datetime) -> list[tuple[int, set[str]]]:
    rows = _matches(watch, start, end).order_by("-at").values_list("post_id", "post__text")[:SAMPLE]
    return [(pk, terms_of(text)) for pk, text in rows]


def top_terms(watch: Watch, now: datetime, hours: int = 24, n: int = 20) -> list[tuple[str, int]]:
    """The words in most matched posts of the last ``hours`` (posts counted, not occurrences)."""
    counter: Counter[str] = Counter()
    for _pk, words in _documents(watch, now - hours * HOUR, now):
        counter.update(words)
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass
class Term:
    term: str
    count: int
    baseline_share: float
    posts: list[int]


def emerging(watch: Watch, now: datetime) -> list[Term]:
    """Words rising sharply in the last hour against the baseline (None before a day of life)."""
    window = baseline_window(watch, now)
    if window is None:
        return []
    recent = _documents(watch, now - HOUR, now)
    if len(recent) < TERM_MIN:
        return []
    base = _documents(watch, *window)
    base_counts: Counter[str] = Counter()
    for _pk, words in base:
        base_counts.update(words)
    now_counts: Counter[str] = Counter()
    for _pk, words in recent:
        now_counts.update(words)
    found = []
    for term, count in now_counts.items():
        if count < TERM_MIN:
            continue
        base_share = (base_counts[term] + 1) / (len(base) + 1)
        if count / len(recent) >= TERM_RATIO * base_share:
            posts = [pk for pk, words in recent if term in words][:50]
            found.append(Term(term, count, round(base_share, 4), posts))
    found.sort(key=lambda t: (-t.count, t.term))
    return found


def places(watch: Watch, now: datetime, hours: int = 168) -> list[dict]:
    """The municipalities named by the matched posts of the last ``hours``, most posts first.

    One dict per municipality: ``nis``, ``name``, ``lat`` and ``lon`` (its centre in the
    gazetteer; None for a code the gazetteer does not know), ``count`` (posts) and, of those,
    ``negative``, ``neutral`` and ``positive``; ``mood`` is the average sentiment from -1 (all
    negative) to 1 (all positive) over the posts that have one (None when none has).
    """
    from copps.blotter.gazetteer import by_nis

    counts: Counter[str] = Counter()
    moods: dict[str, Counter[str]] = {}
    rows = _matches(watch, now - hours * HOUR, now).values_list("post__places", "post__sentiment")
    for codes, sentiment in rows[: SAMPLE * 4]:
        for code in {str(c) for c in codes or ()}:
            counts[code] += 1
            if sentiment in SENTIMENTS:
                moods.setdefault(code, Counter())[sentiment] += 1
    out = []
    for nis, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        municipality = by_nis(nis)
        mood = moods.get(nis, Counter())
        rated = sum(mood.values())
        out.append(
            {
                "nis": nis,
                "name": municipality.name if municipality else nis,
                "lat": municipality.lat if municipality else None,
                "lon": municipality.lon if municipality else None,
                "count": count,
                **{s: mood[s] for s in SENTIMENTS},
                "mood": round((mood["positive"] - mood["negative"]) / rated, 3) if rated else None,
            }
        )
    return out
