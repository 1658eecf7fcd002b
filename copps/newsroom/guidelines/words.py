"""Offensive or discriminatory terms, from the editable word lists (coaches keep them).

Matching rules (decided here, tested in tests/test_guidelines.py):

- whole words only: "idioot" does not match in "idiootje"; a term ending in ``*`` matches every
  word that starts with it ("klootzak*" also finds "klootzakken");
- case-insensitive and accent-insensitive on both sides: "Idiöt", "IDIOT" and "idiot" are the same
  word, so swapping a letter for an accented one does not get a slur past the check (text and
  terms are compared after Unicode compatibility decomposition with combining marks removed, so
  ligatures and full-width letters fold too); a term of several words matches across any
  whitespace;
- a list applies to the versions in its own language only, because words are ambiguous across
  languages (English "retard" is a slur, French "retard" means a delay).
"""

import functools
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import regex
from django.utils.translation import gettext as _

from .base import BLOCKING, Content, Finding, fields_of


def fold(text: str) -> tuple[str, list[int]]:
    """``text`` case- and accent-folded, with the index in ``text`` of every folded character."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        base = "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        ).casefold()
        out.append(base)
        index.extend([i] * len(base))
    return "".join(out), index


def term_pattern(term: str) -> str:
    """The regular expression (over folded text) for one list term."""
    prefix = term.endswith("*")
    words = fold(term.rstrip("*").strip())[0].split()
    if not words:
        return ""
    body = r"\s+".join(regex.escape(w) for w in words)
    return r"(?<!\w)" + body + (r"\w*" if prefix else "") + r"(?!\w)"


def _compiled(entries: list[tuple[str, str]]) -> list[tuple[str, regex.Pattern]]:
    """One alternation per category (one pass over the text per category, not per term)."""
    by_category: dict[str, list[str]] = {}
    for category, term in entries:
        pattern = term_pattern(term)
        if pattern:
            by_category.setdefault(category, []).append(pattern)
    return [
        # Longest first, so "kankerjood" wins over a shorter term at the same place.
        (category, regex.compile("|".join(sorted(set(patterns), key=len, reverse=True))))
        for category, patterns in by_category.items()
    ]


Rows = tuple[tuple[str, str, str], ...]  # (language, category, terms) of every list
Compiled = dict[str, list[tuple[str, regex.Pattern]]]  # language -> [(category, pattern)]

# Set by ``pinned()``: the lists as read once for a batch of checks (a page of messages).
_pinned: ContextVar[Compiled | None] = ContextVar("copps_pinned_word_lists", default=None)


def _rows() -> Rows:
    """The lists as stored now: one small query (the terms themselves are the cache key, so a
    list changed in any way, by any process, is never matched with stale patterns)."""
    from copps.newsroom.models import WordList

    return tuple(
        WordList.objects.order_by("language", "category").values_list(
            "language", "category", "terms"
        )
    )


@functools.lru_cache(maxsize=8)
def _compile_rows(rows: Rows) -> Compiled:
    """Patterns per language, compiled once per distinct content of the lists."""
    from copps.newsroom.models import WordList

    by_language: dict[str, list[tuple[str, str]]] = {}
    for language, category, terms in rows:
        entries = WordList(terms=terms).term_list()
        by_language.setdefault(language, []).extend((category, term) for term in entries)
    return {language: _compiled(entries) for language, entries in by_language.items()}


def compiled_lists() -> Compiled:
    """The current lists as compiled patterns per language (pinned ones inside ``pinned()``)."""
    pinned_lists = _pinned.get()
    if pinned_lists is not None:
        return pinned_lists
    return _compile_rows(_rows())


@contextmanager
def pinned() -> Iterator[None]:
    """Read the word lists once for every check inside the block (a page checking many
    messages runs one query, not one per message)."""
    token = _pinned.set(compiled_lists())
    try:
        yield
    finally:
        _pinned.reset(token)


def check(content: Content) -> list[Finding]:
    lists = compiled_lists()
    findings = []
    labels = {
        "offensive": _("Offensive term: the force does not use it."),
        "discriminatory": _("Discriminatory term: the force does not use it."),
    }
    for version in content.versions:
        compiled = lists.get(version.language, [])
        if not compiled:
            continue
        for field, text in fields_of(version):
            folded, index = fold(text)
            for category, pattern in compiled:
                for m in pattern.finditer(folded):
                    start, end = index[m.start()], index[m.end() - 1] + 1
                    while end < len(text) and unicodedata.combining(text[end]):
                        end += 1  # keep a decomposed accent with its letter
                    findings.append(
                        Finding(
                            f"{category}_term",
                            BLOCKING,
                            labels.get(category, category),
                            version.language,
                            field,
                            text[start:end],
                            start,
                            end,
                        )
                    )
    return findings
