"""Every active watch compiled into one matcher: one Aho-Corasick pass per post.

The terms of all watches (words, prefixes, phrases, hashtags, postcodes, municipality names)
become patterns of one automaton (pyahocorasick) over the normalised text (``query.normalise``:
folded case, no accents, one space between words, a space at both ends). Word boundaries are
part of the patterns: a word is `` word ``, a prefix `` prefix``, a hashtag `` # tag ``, so a
hit found by the scan is a whole-word hit, with no second check.

One scan gives the set of patterns present. Only the watches one of whose *trigger* terms fired
are evaluated: the positive terms (not under a NOT; ``query.parse`` refuses queries that could
match without one), and of an AND only its cheapest child's. Watches triggered by a language, an
author or a place the analysis found are looked up in their own small indexes. Each watch's boolean expression is compiled to a
Python function of (patterns present, author, language, places).

``current()`` returns the matcher for the active watches (active watch, active purpose, not past
its end date), built once and cached per process until the watches change: their count and last
change, the purposes' last change and the date form its version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick

from . import query as q

logger = logging.getLogger("copps.listening")

Test = Callable[[set, str, str, frozenset], bool]


@dataclass
class Matcher:
    """The compiled form of a set of watches, given as (watch id, query text) pairs."""

    watch_ids: list[int] = field(default_factory=list)
    tests: list[Test] = field(default_factory=list)
    patterns: dict[str, int] = field(default_factory=dict)
    by_pattern: list[tuple[int, ...]] = field(default_factory=list)
    by_lang: dict[str, tuple[int, ...]] = field(default_factory=dict)
    by_author: dict[str, tuple[int, ...]] = field(default_factory=dict)
    by_place: dict[str, tuple[int, ...]] = field(default_factory=dict)
    errors: dict[int, q.QueryError] = field(default_factory=dict)
    automaton: ahocorasick.Automaton | None = None
    version: object = None

    @classmethod
    def build(cls, watches: Iterable[tuple[int, str]], version: object = None) -> Matcher:
        self = cls(version=version)
        by_pattern: list[set[int]] = []
        by_lang: dict[str, set[int]] = {}
        by_author: dict[str, set[int]] = {}
        by_place: dict[str, set[int]] = {}

        def pattern(text: str) -> int:
            if text not in self.patterns:
                self.patterns[text] = len(self.patterns)
                by_pattern.append(set())
            return self.patterns[text]

        def leaf_patterns(term: q.Term) -> list[int]:
            v = term.value
            if term.kind in ("word", "phrase", "postcode"):
                return [pattern(f" {v} ")]
            if term.kind == "prefix":
                return [pattern(f" {v}")]
            if term.kind == "hashtag":
                return [pattern(f" # {v[:-1]}" if v.endswith("*") else f" # {v} ")]
            if term.kind == "place":
                return [pattern(f" {name} ") for name in term.names]
            return []

        def code(node: q.Node) -> str:
            if isinstance(node, q.Term):
                parts = [f"{k} in f" for k in leaf_patterns(node)]
                if node.kind == "author":
                    parts.append(f"a == {node.value!r}")
                elif node.kind == "lang":
                    parts.append(f"l == {node.value!r}")
                elif node.kind == "place":
                    parts.append(f"{node.value!r} in p")
                return "(" + " or ".join(parts or ["False"]) + ")"
            if isinstance(node, q.Not):
                return f"(not {code(node.child)})"
            joiner = " and " if isinstance(node, q.And) else " or "
            return "(" + joiner.join(code(c) for c in node.children) + ")"

        for watch_id, text in watches:
            try:
                tree = q.parse(text)
            except q.QueryError as error:
                # Saved before a rule changed (a place the gazetteer no longer knows …): skip it.
                self.errors[watch_id] = error
                logger.warning("watch %s: query no longer valid: %s", watch_id, error)
                continue
            index = len(self.watch_ids)
            self.watch_ids.append(watch_id)
            self.tests.append(eval(f"lambda f, a, l, p: {code(tree)}", {}))  # noqa: S307 - our code
            for term in triggers(tree):
                for k in leaf_patterns(term):
                    by_pattern[k].add(index)
                if term.kind == "lang":
                    by_lang.setdefault(term.value, set()).add(index)
                elif term.kind == "author":
                    by_author.setdefault(term.value, set()).add(index)
                elif term.kind == "place":
                    by_place.setdefault(term.value, set()).add(index)
        self.by_pattern = [tuple(sorted(s)) for s in by_pattern]
        self.by_lang = {k: tuple(sorted(v)) for k, v in by_lang.items()}
        self.by_author = {k: tuple(sorted(v)) for k, v in by_author.items()}
        self.by_place = {k: tuple(sorted(v)) for k, v in by_place.items()}
        if self.patterns:
            automaton = ahocorasick.Automaton()
            for text_, k in self.patterns.items():
                automaton.add_word(text_, k)
            automaton.make_automaton()
            self.automaton = automaton
        return self

    def scan(self, normalised: str) -> set[int]:
        """The patterns present in an already normalised text."""
        if self.automaton is None:
            return set()
        return {k for _end, k in self.automaton.iter(normalised)}

    def match(
        self, text: str, *, author: str = "", language: str = "", places: Sequence[str] = ()
    ) -> list[int]:
        """The ids of the watches this post matches (in the order the watches were given)."""
        fired = self.scan(q.normalise(text))
        by_pattern = self.by_pattern
        candidates: set[int] = set()
        for k in fired:
            candidates.update(by_pattern[k])
        author = author.lstrip("@").casefold() if author else ""
        language = language.casefold() if language else ""
        if language and language in self.by_lang:
            candidates.update(self.by_lang[language])
        if author and author in self.by_author:
            candidates.update(self.by_author[author])
        place_set = frozenset(places or ())
        for nis in place_set:
            candidates.update(self.by_place.get(nis, ()))
        if not candidates:
            return []
        tests, ids = self.tests, self.watch_ids
        return [ids[i] for i in sorted(candidates) if tests[i](fired, author, language, place_set)]


# A language fires for a quarter of all posts, a place's names are many: an AND is indexed under
# its cheapest child only (all of its children must hold for it to match).
_COST = {"lang": 1000, "place": 3}


def triggers(node: q.Node) -> list[q.Term]:
    """Terms one of which is true whenever ``node`` matches (``node`` can match alone).

    A term: itself. An OR: the triggers of every child. An AND: the triggers of its cheapest child
    that can match alone (when the AND holds, that child holds too). Never under a NOT.
    """
    if isinstance(node, q.Term):
        return [node]
    if isinstance(node, q.Or):
        return [t for c in node.children for t in triggers(c)]
    if isinstance(node, q.And):
        options = [triggers(c) for c in node.children if q.can_match_alone(c)]
        return min(options, key=lambda terms: sum(_COST.get(t.kind, 1) for t in terms))
    return []


# The cached matcher of the active watches ----------------------------------------------------

_lock = threading.Lock()
_cached: Matcher | None = None
_local_version = 0


def changed() -> None:
    """Watches or purposes changed in this process: rebuild on the next use."""
    global _local_version
    with _lock:
        _local_version += 1


def active_watches(today=None):
    from django.db.models import Q
    from django.utils import timezone

    from .models import Watch

    today = today or timezone.localdate()
    return Watch.objects.filter(active=True, purpose__active=True).filter(
        Q(purpose__ends_on__isnull=True) | Q(purpose__ends_on__gte=today)
    )


def version(today=None) -> tuple:
    """Cheap to compute (one query): changes whenever the set of active watches may have."""
    from django.db.models import Count, Max
    from django.utils import timezone

    from .models import Purpose

    today = today or timezone.localdate()
    watches = active_watches(today).aggregate(n=Count("pk"), at=Max("updated_at"), top=Max("pk"))
    purposes = Purpose.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
    return (
        _local_version,
        today,
        watches["n"],
        watches["at"],
        watches["top"],
        purposes["n"],
        purposes["at"],
    )


def current(today=None) -> Matcher:
    """The matcher of the active watches, rebuilt only when they changed."""
    global _cached
    stamp = version(today)
    cached = _cached
    if cached is not None and cached.version == stamp:
        return cached
    rows = active_watches(today).order_by("pk").values_list("pk", "query")
    built = Matcher.build(list(rows), version=stamp)
    with _lock:
        _cached = built
    return built
