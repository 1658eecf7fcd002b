"""Mentions and replies of the force's own channels, copied from the citizens' inbox.

copps already pulls the replies and mentions of its own accounts into the inbox (Mastodon,
Bluesky, X, Facebook through ``copps.inbox.pull``; fediverse replies through the federation
inbox). This source hands those public messages to listening too, so the public mood about the
force's own posts is measured with the same watches, without asking the services twice.

What is copied: the citizens' entries (``direction`` in) of conversations on those channels, on
the communication desk, not removed by moderation. Never tips, SMS or e-mails (they were sent to
the force, not said in public, and tips belong to investigators), and not comments on the
force's own website (said on our site under its house rules, not on social media; the inbox
already shows them to the same communicators). Only the minimum: the text, the language and the
author's handle as the inbox has them, the channel (in the post's id: ``mastodon:1234``) and
the time. Not the link, the conversation, the route back to the citizen, nor attachments.

Config: ``{"purpose": <id of a communication purpose>, "interval": 300}``. The source works
only under a communication purpose (reputation, public mood, rumours, an event): a source
without one, or under an investigation purpose, or under an inactive one, is refused at every
run (``SourceError``, recorded on the source), and its posts are matched only by the watches of
that purpose (``pipeline.ingest``): what citizens say to the force never feeds an investigation
watch.

Cursor: the id of the last inbox entry handed over (``"1234"``), stored with the posts. Entry ids
come from a sequence, but on PostgreSQL a transaction holding a smaller id may commit after a
larger one was read: ids below the cursor that no entry had yet (at most ``MAX_HOLES``, within
``HOLE_SPAN`` of the newest; not on the very first run) follow the cursor (``"1234|1229,1231"``) and are looked at again
on every run; an entry that appears there is handed over then. No loss, and (with the pipeline's
own check of the post id) no duplicates.
"""

from __future__ import annotations

from copps.listening import pipeline
from copps.listening.models import Purpose, PurposeKind, Source

from .base import SourceError, clip, usable

# The inbox channels whose messages are public posts about the force's own channels.
CHANNELS = ("mastodon", "bluesky", "x", "facebook", "fediverse")
BATCH = 500
MAX_ROUNDS = 20
HOLE_SPAN = 1000  # how far below the newest id a missing id is still waited for
MAX_HOLES = 200


def purpose_of(source: Source) -> Purpose:
    """The source's purpose, or ``SourceError`` unless it is an active communication purpose."""
    key = (source.config or {}).get("purpose")
    if isinstance(key, bool) or not isinstance(key, int):
        raise SourceError("no purpose configured: set config['purpose'] to a purpose id")
    purpose = Purpose.objects.filter(pk=key).first()
    if purpose is None:
        raise SourceError(f"purpose {key} does not exist")
    if purpose.kind == PurposeKind.INVESTIGATION:
        raise SourceError("mentions of our own channels serve communication purposes only")
    if not purpose.active:
        raise SourceError(f"purpose {key} is not active")
    return purpose


def _entries(after: int, upto: int | None = None):
    from copps.inbox.models import Desk, Direction, Entry, Visibility

    rows = Entry.objects.filter(
        pk__gt=after,
        direction=Direction.IN,
        conversation__source__in=CHANNELS,
        conversation__desk=Desk.COMMUNICATION,
    ).exclude(visibility=Visibility.REMOVED)
    if upto is not None:
        rows = rows.filter(pk__lte=upto)
    return rows.order_by("pk").values_list(
        "pk", "text", "author", "created_at", "conversation__source", "conversation__language"
    )


def to_incoming(row: tuple) -> pipeline.Incoming | None:
    pk, text, author, created_at, channel, language = row
    text = usable(text)
    if text is None:
        return None
    return pipeline.Incoming(
        external_id=f"{channel}:{pk}",
        text=text,
        author=clip(author or "", 200),
        language=clip(language or "", 8),
        published_at=created_at,
    )


def _cursor(text: str) -> tuple[int, list[int]]:
    last, _sep, rest = text.partition("|")
    holes = [int(h) for h in rest.split(",") if h.isdigit()]
    return (int(last) if last.isdigit() else 0), holes


def _text(last: int, holes: list[int]) -> str:
    return f"{last}|{','.join(map(str, holes))}" if holes else str(last)


def _holes(last: int, upto: int) -> list[int]:
    """Ids below ``upto`` (and above ``last``) that no entry has yet: rolled back, or committing
    later (look again next time). Only the last ``HOLE_SPAN`` ids are looked at."""
    from copps.inbox.models import Entry

    if last == 0:  # the first run: ids below the first entry are the inbox's past, not holes
        return []
    low = max(last + 1, upto - HOLE_SPAN)
    present = set(Entry.objects.filter(pk__gte=low, pk__lt=upto).values_list("pk", flat=True))
    return [pk for pk in range(low, upto) if pk not in present]


def _hand_over(source: Source, rows, cursor: str) -> int:
    items, skipped = [], 0
    for row in rows:
        item = to_incoming(row)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    handed = pipeline.deliver(source, items, cursor=cursor)
    pipeline.skip(source, skipped)
    return handed


def poll(source: Source) -> int:
    """Hand over the inbox entries after the cursor. Returns the number handed over."""
    from copps.inbox.models import Entry

    purpose_of(source)
    source.refresh_from_db(fields=["cursor"])
    last, holes = _cursor(source.cursor)
    stored, ran = 0, False
    if holes:
        filled = set(Entry.objects.filter(pk__in=holes).values_list("pk", flat=True))
        if filled:
            holes = [h for h in holes if h not in filled]
            rows = _entries(0).filter(pk__in=filled)
            stored += _hand_over(source, rows, _text(last, holes))
            ran = True
    for _round in range(MAX_ROUNDS):
        rows = list(_entries(last)[:BATCH])
        if not rows:
            break
        upto = rows[-1][0]
        holes = [h for h in holes + _holes(last, upto) if h > upto - HOLE_SPAN][-MAX_HOLES:]
        last = upto
        stored += _hand_over(source, rows, _text(last, holes))
        ran = True
        if len(rows) < BATCH:
            break
    if not ran:
        pipeline.deliver(source, [], cursor=None)  # records the run
    return stored
