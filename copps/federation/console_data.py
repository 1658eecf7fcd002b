"""What the fediverse console shows, computed once per page for the templates. Reading only;
every write goes through ``actions.py``.

Delivery copies (``channels.Recipient``) carry the inbox URL they go to, not a server: the
per-server view groups them by the inbox's host, which is also how ``health.py`` counts
failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from copps.channels.models import Delivery, Recipient
from copps.channels.panels import STATE_SYMBOLS
from copps.channels.states import DeliveryState, Operation
from copps.lib.charts import CHART_DAYS, DAY_CHART, day_bars

from . import blocks, ids
from .models import (
    Actor,
    DomainBlock,
    Follower,
    FollowState,
    InboxItem,
    ItemState,
    Outgoing,
    OutgoingState,
    Reaction,
    ReactionKind,
    Rejection,
    Report,
    ReportState,
    Server,
)

S = DeliveryState

# The inbox's refusal codes (copps.federation.inbox, httpsig, handlers) in words.
REASONS = {
    "content_type": _("Wrong content type"),
    "too_large": _("Body too large"),
    "too_deep": _("JSON nested too deeply"),
    "malformed": _("Not a readable activity"),
    "blocked": _("Blocked server"),
    "key_unavailable": _("Signing key not available"),
    "actor_mismatch": _("Actor is not the key's owner"),
    "foreign_id": _("Id on another server"),
    "signature_missing": _("No signature"),
    "signature_malformed": _("Unreadable signature"),
    "signature_algorithm": _("Unsupported signature algorithm"),
    "signature_date": _("Outside the time window (replay?)"),
    "signature_digest": _("Body digest missing or wrong"),
    "signature_headers": _("Signature covers too little"),
    "signature_bad_signature": _("Signature does not verify"),
    "no_such_actor": _("No such account here"),
    "announce_loop": _("Boost of a boost (loop)"),
    "report_not_ours": _("Report about nothing of ours"),
    "unacceptable": _("Refused by the handler"),
}


def reason_label(code: str) -> str:
    return str(REASONS.get(code, code))


# Actors ------------------------------------------------------------------------------------


def handle(actor: Actor) -> str:
    return f"@{actor.username}@{ids.domain()}"


def actor_rows() -> list[dict]:
    """Every actor with its follower, post and reaction counts (a handful of grouped queries)."""
    actors = list(Actor.objects.select_related("area", "officer").order_by("pk"))
    followers: dict[tuple[int, str], int] = {
        (a, s): n
        for a, s, n in Follower.objects.order_by()
        .values_list("actor", "state")
        .annotate(n=Count("pk"))
    }
    reactions: dict[tuple[int, str], int] = {
        (a, k): n
        for a, k, n in Reaction.objects.order_by()
        .values_list("actor", "kind")
        .annotate(n=Count("pk"))
    }
    posts = dict(
        Delivery.objects.filter(channel__kind="activitypub", operation=Operation.POST)
        .exclude(state=S.CANCELLED)
        .order_by()
        .values_list("channel")
        .annotate(n=Count("pk"))
    )
    return [
        {
            "actor": actor,
            "handle": handle(actor),
            "accepted": followers.get((actor.pk, FollowState.ACCEPTED), 0),
            "pending": followers.get((actor.pk, FollowState.PENDING), 0),
            "posts": posts.get(actor.channel_id, 0) if actor.channel_id else 0,
            "likes": reactions.get((actor.pk, ReactionKind.LIKE), 0),
            "boosts": reactions.get((actor.pk, ReactionKind.ANNOUNCE), 0),
        }
        for actor in actors
    ]


# Refused inbox requests -------------------------------------------------------------------

# Drawing size of the charts (SVG user units; the SVG scales with its box).
BAR_WIDTH = 200


def rejection_chart(today: date | None = None) -> dict:
    """Refused inbox requests of the last ``CHART_DAYS`` days: totals per reason (bars) and per
    day (columns), with the geometry already worked out so the template only draws."""
    today = today or timezone.localdate()
    first = today - timedelta(days=CHART_DAYS - 1)
    rows = Rejection.objects.filter(day__gte=first, day__lte=today)
    per_reason = list(
        rows.order_by().values_list("reason").annotate(n=Sum("count")).order_by("-n", "reason")
    )
    per_day = dict(rows.order_by().values_list("day").annotate(n=Sum("count")))
    top = max((n for _r, n in per_reason), default=0)
    reasons = [
        {
            "code": code,
            "label": reason_label(code),
            "count": n,
            "width": max(2, round(BAR_WIDTH * n / top)) if top else 0,
        }
        for code, n in per_reason
    ]
    geometry = DAY_CHART
    days, width = day_bars(per_day, first, CHART_DAYS, geometry)
    return {
        "reasons": reasons,
        "days": days,
        "total": sum(n for _r, n in per_reason),
        "first": first,
        "last": today,
        "bar_width": BAR_WIDTH,
        "geometry": geometry,
        "label_y": geometry["height"] + 14,
        "view_height": geometry["height"] + 18,
        "width": width,
    }


# Servers ------------------------------------------------------------------------------------


def server_health(server: Server | None, now=None) -> dict:
    """How a server stands: ok / failing / paused / dead, with a symbol and words."""
    now = now or timezone.now()
    if server is None:
        return {"state": "unknown", "symbol": "–", "label": _("Not contacted yet")}
    dead_after = timedelta(days=settings.COPPS_AP_DEAD_SERVER_DAYS)
    if server.failing_since and now - server.failing_since > dead_after:
        return {"state": "dead", "symbol": "✕", "label": _("Not answering: given up")}
    if server.paused_until and server.paused_until > now:
        return {"state": "paused", "symbol": "❚❚", "label": _("Paused after failures")}
    if server.consecutive_failures:
        return {"state": "failing", "symbol": "!", "label": _("Failing")}
    return {"state": "ok", "symbol": "✓", "label": _("Answering")}


def troubled_servers(now=None) -> list[dict]:
    """Servers that are paused, dead or failing, the worst first."""
    now = now or timezone.now()
    found = Server.objects.filter(
        Q(consecutive_failures__gt=0) | Q(paused_until__gt=now) | Q(failing_since__isnull=False)
    ).order_by("failing_since", "domain")[:200]
    order = {"dead": 0, "paused": 1, "failing": 2}
    rows = [(server_health(s, now), s) for s in found]
    rows.sort(key=lambda row: order.get(row[0]["state"], 3))
    return [{"server": s, "health": health} for health, s in rows]


def outgoing_summary() -> dict:
    """The queue of activities that are not posts (Accept, Follow, profile updates ...)."""
    counts = dict(
        Outgoing.objects.filter(state__in=[OutgoingState.PENDING, OutgoingState.FAILED])
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    waiting = list(
        Outgoing.objects.filter(state__in=[OutgoingState.PENDING, OutgoingState.FAILED])
        .select_related("actor")
        .order_by("-attempts", "created_at")[:10]
    )
    return {
        "pending": counts.get(OutgoingState.PENDING, 0),
        "failed": counts.get(OutgoingState.FAILED, 0),
        "rows": [
            {
                "row": row,
                "type": str(row.activity.get("type", "?"))
                if isinstance(row.activity, dict)
                else "?",
                "domain": blocks.domain_of(row.inbox),
            }
            for row in waiting
        ],
    }


def moderation_counts() -> dict:
    return {
        "items": InboxItem.objects.filter(state=ItemState.NEW).count(),
        "reports": Report.objects.filter(state=ReportState.OPEN).count(),
        "blocks": DomainBlock.objects.count(),
    }


# Posts and their deliveries -----------------------------------------------------------------


def recent_posts(messages, limit: int = 10) -> list[dict]:
    """The latest fediverse posts among ``messages`` (the user's visible ones), one row per
    actor post, with how its copies went and its reactions."""
    posts = list(
        Delivery.objects.filter(
            channel__kind="activitypub", operation=Operation.POST, message__in=messages
        )
        .select_related("message", "channel__actor")
        .prefetch_related("message__versions")
        .order_by("-created_at", "-pk")[:limit]
    )
    reactions: dict[tuple[int, int, str], int] = {
        (m, a, k): n
        for m, a, k, n in Reaction.objects.filter(message__in={p.message_id for p in posts})
        .order_by()
        .values_list("message", "actor", "kind")
        .annotate(n=Count("pk"))
    }
    rows = []
    for post in posts:
        actor = getattr(post.channel, "actor", None)
        key = (post.message_id, actor.pk if actor else 0)
        rows.append(
            {
                "delivery": post,
                "message": post.message,
                "actor": actor,
                "state_label": S(post.state).label if post.state in S.values else post.state,
                "symbol": STATE_SYMBOLS.get(post.state, ""),
                "likes": reactions.get((*key, ReactionKind.LIKE), 0),
                "boosts": reactions.get((*key, ReactionKind.ANNOUNCE), 0),
            }
        )
    return rows


@dataclass
class ServerCopies:
    """The copies of one delivery that went to one server."""

    domain: str
    inboxes: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    last_error: str = ""
    error_at: datetime | None = None
    next_attempt_at: datetime | None = None
    health: dict = field(default_factory=dict)
    server: Server | None = None
    blocked: DomainBlock | None = None

    @property
    def open(self) -> int:
        return sum(n for state, n in self.counts.items() if state != S.SENT)

    @property
    def states(self) -> list[dict]:
        return [
            {"state": s, "label": S(s).label, "symbol": STATE_SYMBOLS.get(s, ""), "count": n}
            for s in S.values
            if (n := self.counts.get(s, 0))
        ]


def delivery_servers(delivery: Delivery, now=None) -> list[ServerCopies]:
    """The delivery's copies grouped by server: problems first, then by domain."""
    now = now or timezone.now()
    by_domain: dict[str, ServerCopies] = {}
    rows = (
        Recipient.objects.filter(delivery=delivery)
        .order_by()
        .values_list("inbox", "state")
        .annotate(n=Count("pk"), attempts=Max("attempts"))
    )
    for inbox, state, n, attempts in rows:
        domain = blocks.domain_of(inbox) or "?"
        entry = by_domain.setdefault(domain, ServerCopies(domain))
        entry.counts[state] = entry.counts.get(state, 0) + n
        entry.attempts = max(entry.attempts, attempts or 0)
    for entry in by_domain.values():
        # One copy per inbox (a unique constraint): copies and inboxes are the same count.
        entry.inboxes = sum(entry.counts.values())
    problems = (
        Recipient.objects.filter(delivery=delivery)
        .exclude(state=S.SENT)
        .values_list("inbox", "last_error", "updated_at", "next_attempt_at")
        .order_by("-updated_at")[:5000]
    )
    for inbox, error, at, next_at in problems:
        copies = by_domain.get(blocks.domain_of(inbox) or "?")
        if copies is None:
            continue
        if error and not copies.last_error:
            copies.last_error, copies.error_at = error, at
        if next_at and (copies.next_attempt_at is None or next_at < copies.next_attempt_at):
            copies.next_attempt_at = next_at
    servers = {s.domain: s for s in Server.objects.filter(domain__in=by_domain)}
    blocked = _blocks_for(set(by_domain))
    for entry in by_domain.values():
        entry.server = servers.get(entry.domain)
        entry.health = server_health(entry.server, now)
        entry.blocked = blocked.get(entry.domain)
    return sorted(by_domain.values(), key=lambda e: (e.open == 0, e.domain))


def _blocks_for(domains: set[str]) -> dict[str, DomainBlock]:
    """domain -> the block that covers it (itself or a parent domain), in one query."""
    candidates: dict[str, list[str]] = {}
    for domain in domains:
        host = domain.split(":")[0]
        parts = host.split(".")
        candidates[domain] = [domain, *(".".join(parts[i:]) for i in range(len(parts) - 1))]
    wanted = {name for names in candidates.values() for name in names}
    found = {b.domain: b for b in DomainBlock.objects.filter(domain__in=wanted)}
    return {
        domain: next(found[n] for n in names if n in found)
        for domain, names in candidates.items()
        if any(n in found for n in names)
    }


def delivery_totals(servers: list[ServerCopies]) -> dict:
    totals: dict[str, int] = {}
    for entry in servers:
        for state, n in entry.counts.items():
            totals[state] = totals.get(state, 0) + n
    return {
        "copies": sum(totals.values()),
        "servers": len(servers),
        "states": [
            {"state": s, "label": S(s).label, "symbol": STATE_SYMBOLS.get(s, ""), "count": n}
            for s in S.values
            if (n := totals.get(s, 0))
        ],
    }
