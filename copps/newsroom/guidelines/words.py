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

import unicodedata

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


def _lists() -> dict[str, list[tuple[str, str]]]:
    from copps.newsroom.models import WordList

    by_language: dict[str, list[tuple[str, str]]] = {}
    for wl in WordList.objects.all():
        for term in wl.term_list():
            by_language.setdefault(wl.language, []).append((wl.category, term))
    return by_language


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


def check(content: Content) -> list[Finding]:
    lists = _lists()
    findings = []
    labels = {
        "offensive": _("Offensive term: the force does not use it."),
        "discriminatory": _("Discriminatory term: the force does not use it."),
    }
    for version in content.versions:
        compiled = _compiled(lists.get(version.language, []))
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
