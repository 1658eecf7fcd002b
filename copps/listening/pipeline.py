"""The listening pipeline's entry point: sources hand over what they read, with their cursor.

``ingest(source, items, cursor=...)`` stores the new posts and the source's new cursor in one
transaction (a restart resumes after the last stored item: no loss, no duplicates), analysed
and matched in that same transaction (a stored post is never left unmatched). Items a source could
not read are counted with ``skip(source, n)``. Sources call ``deliver``, not ``ingest``: it
ingests here, or publishes to NATS JetStream when ``COPPS_NATS_URL`` is set (see ``nats``).

Analysis: ``copps.listening.classify.analyse(text)`` when that module is installed (language,
sentiment, emotion, places); without it the language is the one the source declared and the rest
stays empty. Places the classifier did not name come from ``places.find`` (the gazetteer). A post whose normalised text was seen before is a repost: ``repost_of`` points at the
first one and the analysis is copied from it, not done again. Matching: ``matcher.current()``
(every active watch, one scan per post); one ``Match`` row per watch that matches (for a source
under a purpose, only that purpose's watches: ``watches_for``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import places
from .models import Match, Post, PurposeKind, Source, SourceKind, Watch

MAX_TEXT = 10_000
logger = logging.getLogger("copps.listening")


@dataclass(frozen=True)
class Incoming:
    """One public post as a source read it."""

    external_id: str
    text: str
    url: str = ""
    author: str = ""
    language: str = ""  # as the source declares it (may be empty or wrong)
    published_at: datetime | None = None


def fingerprint(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return hashlib.sha256(" ".join(folded.split()).encode()).hexdigest()


def _classifier():
    from .classify import analyse

    return analyse


def _value(result, name: str, default):
    if result is None:
        return default
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


def analyse(post: Post, classify) -> None:
    """Fill language, sentiment, emotion and places from the classifier (if there is one);
    places from the gazetteer (``places.find``) when the classifier named none."""
    analyse_all([post], classify)


def analyse_all(posts: list[Post], classify) -> None:
    """``analyse`` for many posts: the real classifier analyses them all at once
    (``classify.analyse_many``: the same results, a fraction of the cost per post)."""
    if classify is not None and posts:
        for post, result in zip(posts, _classify_all(posts, classify), strict=True):
            if result is not None:
                _apply(post, result)
    find = places.find
    for post in posts:
        if not post.places:
            try:
                post.places = find(post.text)
            except Exception:  # never lose a post over its places
                logger.exception("listening: places failed for %s", post.external_id[:80])


def _classify_all(posts: list[Post], classify) -> list:
    from . import classify as module

    if classify is module.analyse:
        try:
            return module.analyse_many([p.text for p in posts], scores=False)
        except Exception:  # then one by one: only the post it chokes on stays unanalysed
            logger.exception("listening: batch analysis failed; analysing one by one")
    results = []
    for post in posts:
        try:
            results.append(classify(post.text))
        except Exception:  # a post the classifier chokes on is stored unanalysed, never lost
            logger.exception("listening: analysis failed for %s", post.external_id[:80])
            results.append(None)
    return results


def _apply(post: Post, result) -> None:
    language = _value(result, "lang", None) or _value(result, "language", None)
    if language:
        post.language = str(language)[:8]
    post.sentiment = str(_value(result, "sentiment", "") or "")[:10]
    post.emotion = str(_value(result, "emotion", "") or "")[:20]
    named = _value(result, "places", None)
    if named:
        post.places = [str(p) for p in named][:50]


# PostgreSQL array types for the columns of Post (``_insert_posts_pg``), by Django field type.
_PG_ARRAY = {
    "CharField": "text",
    "URLField": "text",
    "TextField": "text",
    "JSONField": "jsonb",
    "DateTimeField": "timestamptz",
    "ForeignKey": "bigint",
}


def _insert_posts(source: Source, posts: list[Post]) -> None:
    """Insert new posts at once and give each its id.

    ``bulk_create`` spends more time preparing a thousand rows than the database does storing
    them. PostgreSQL: one INSERT of one array per column (``unnest``) returning the ids;
    SQLite: one executemany, Django's own per-field conversion only where it is needed (JSON,
    dates), then the ids read back by external id.
    """
    if not posts:
        return
    fields = [f for f in Post._meta.concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(Post._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    if connection.vendor == "postgresql" and all(
        f.get_internal_type() in _PG_ARRAY for f in fields
    ):
        ids = _insert_posts_pg(table, columns, fields, posts)
    else:
        _insert_posts_executemany(table, columns, fields, posts)
        ids = dict(
            Post.objects.filter(
                source=source, external_id__in=[p.external_id for p in posts]
            ).values_list("external_id", "pk")
        )
    for post in posts:
        post.pk = ids[post.external_id]
        post._state.adding = False
        post._state.db = connection.alias


def _insert_posts_pg(table: str, columns: str, fields: list, posts: list[Post]) -> dict:
    arrays = []
    casts = []
    for f in fields:
        kind = f.get_internal_type()
        values = [getattr(post, f.attname) for post in posts]
        if kind == "JSONField":  # sent as text, read as jsonb by the cast
            values = [json.dumps(v, cls=f.encoder) for v in values]
        arrays.append(values)
        casts.append(f"%s::{_PG_ARRAY[kind]}[]")
    names = ", ".join(f"c{n}" for n in range(len(fields)))
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {names} "  # noqa: S608 - our names
        f"FROM unnest({', '.join(casts)}) AS t({names}) RETURNING "
        f"{connection.ops.quote_name('external_id')}, {connection.ops.quote_name('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return dict(cursor.fetchall())


def _insert_posts_executemany(table: str, columns: str, fields: list, posts: list[Post]) -> None:
    converted = {"JSONField", "DateTimeField"}
    prepare = [
        (f.attname, f.get_db_prep_save if f.get_internal_type() in converted else None)
        for f in fields
    ]
    # Most posts share their converted values (no places, the same received_at): convert each
    # distinct value once.
    done: dict[tuple, object] = {}

    def value(post: Post, name: str, convert):
        raw = getattr(post, name)
        if convert is None:
            return raw
        if isinstance(raw, list):
            if not all(isinstance(item, str) for item in raw):
                return convert(raw, connection)
            key: tuple = (name, *raw)
        elif raw is None or isinstance(raw, datetime):
            key = (name, raw)
        else:
            return convert(raw, connection)
        if key not in done:
            done[key] = convert(raw, connection)
        return done[key]

    rows = [tuple(value(post, name, convert) for name, convert in prepare) for post in posts]
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - our names
        cursor.executemany(sql, rows)


def _insert_matches(pairs: list[tuple[int, int]], at: datetime) -> None:
    """Store many (watch id, post id) matches at once: a thousand posts may bring thousands of
    matches, and building a model instance for each costs more than the matching itself.
    PostgreSQL: one INSERT of two arrays (``unnest``), a few parameters whatever the number of
    rows; SQLite: one executemany."""
    if not pairs:
        return
    table = connection.ops.quote_name(Match._meta.db_table)
    # Names from our own model, never from input.
    columns = ", ".join(
        connection.ops.quote_name(name) for name in ("watch_id", "post_id", "matched_at")
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            watches, posts = zip(*pairs, strict=True)
            sql = (
                f"INSERT INTO {table} ({columns}) SELECT w, p, %s "  # noqa: S608 - our names
                "FROM unnest(%s::bigint[], %s::bigint[]) AS t(w, p)"
            )
            cursor.execute(sql, [at, list(watches), list(posts)])
            return
        stamp = connection.ops.adapt_datetimefield_value(at)
        sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s)"  # noqa: S608 - our names
        cursor.executemany(sql, [(w, p, stamp) for w, p in pairs])


def watches_for(source: Source) -> set[int] | None:
    """The watches a source's posts may match: all (``None``), or, for a source configured under
    a purpose (``config["purpose"]``), only that purpose's watches. The force's own channels
    (``SourceKind.OWN``) feed communication purposes only: under an investigation purpose they
    match nothing."""
    key = (source.config or {}).get("purpose") if isinstance(source.config, dict) else None
    if key is None and source.kind != SourceKind.OWN:
        return None
    if isinstance(key, bool) or not isinstance(key, int):
        return set()
    watches = Watch.objects.filter(purpose_id=key)
    if source.kind == SourceKind.OWN:
        watches = watches.exclude(purpose__kind=PurposeKind.INVESTIGATION)
    return set(watches.values_list("pk", flat=True))


def ingest(source: Source, items: Iterable[Incoming], *, cursor: str | None = None) -> list[Post]:
    """Store new posts (an id seen before from this source is skipped) and the cursor; analyse
    them, link reposts and record their matches, all in one transaction."""
    from . import matcher

    batch = [i for i in items if i.external_id and i.text and i.text.strip()]
    now = timezone.now()
    classify = _classifier()
    with transaction.atomic():
        seen = set(
            Post.objects.filter(
                source=source, external_id__in=[i.external_id[:500] for i in batch]
            ).values_list("external_id", flat=True)
        )
        new = []
        for item in batch:
            key = item.external_id[:500]
            if key in seen:
                continue
            seen.add(key)
            text = item.text[:MAX_TEXT]
            new.append(
                Post(
                    source=source,
                    external_id=key,
                    url=item.url[:500],
                    author=item.author[:200],
                    text=text,
                    language=item.language[:8],
                    fingerprint=fingerprint(text),
                    published_at=item.published_at,
                    received_at=now,
                )
            )
        # Reposts: the first post with the same fingerprint (stored before, or earlier here).
        originals: dict[str, Post] = {}
        for stored in (
            Post.objects.filter(
                fingerprint__in={p.fingerprint for p in new}, repost_of__isnull=True
            )
            .only("pk", "fingerprint", "language", "sentiment", "emotion", "places")
            .order_by("-pk")
        ):
            originals[stored.fingerprint] = stored  # the oldest wins (last assigned)
        in_batch: list[tuple[Post, Post]] = []
        fresh: list[Post] = []  # the first of their text: analysed (all at once)
        copies: list[tuple[Post, Post]] = []  # reposts: the analysis copied from the original
        for post in new:
            original = originals.get(post.fingerprint)
            if original is None:
                fresh.append(post)
                originals[post.fingerprint] = post
            else:
                copies.append((post, original))
        analyse_all(fresh, classify)
        for post, original in copies:
            post.sentiment, post.emotion = original.sentiment, original.emotion
            post.language = original.language or post.language
            post.places = list(original.places or [])
            if original.pk is not None:
                post.repost_of_id = original.pk
            else:
                in_batch.append((post, original))
        _insert_posts(source, new)
        if in_batch:
            for post, original in in_batch:
                post.repost_of_id = original.pk
            Post.objects.bulk_update([p for p, _o in in_batch], ["repost_of"])
        if new:
            compiled = matcher.current()
            pairs = [
                (watch_id, post.pk)
                for post in new
                for watch_id in compiled.match(
                    post.text, author=post.author, language=post.language, places=post.places
                )
            ]
            allowed = watches_for(source)
            if allowed is not None:
                pairs = [pair for pair in pairs if pair[0] in allowed]
            _insert_matches(pairs, now)
        fields: dict = {"received": F("received") + len(new), "last_polled_at": now}
        if cursor is not None:
            fields["cursor"] = cursor
        Source.objects.filter(pk=source.pk).update(**fields)
    return new


def deliver(source: Source, items: Iterable[Incoming], *, cursor: str | None = None) -> int:
    """What every source calls with what it read and the cursor after it.

    Embedded (``COPPS_NATS_URL`` empty): ``ingest`` here, posts and cursor in one transaction;
    returns the number of new posts stored. With NATS: publish to the JetStream stream and
    advance the cursor only once JetStream has acknowledged every message
    (``nats.publish_and_advance``); the consumers ingest. Returns the number handed over.
    """
    from . import nats

    if nats.enabled():
        return nats.publish_and_advance(source, items, cursor=cursor)
    return len(ingest(source, items, cursor=cursor))


def skip(source: Source, count: int = 1) -> None:
    """Count items a source could not use (malformed, oversized, invalid encoding)."""
    if count:
        Source.objects.filter(pk=source.pk).update(skipped=F("skipped") + count)
