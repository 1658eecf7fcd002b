"""Places mentioned in a post: Belgian municipalities found in its text, as NIS codes.

The names come from ``copps.blotter.gazetteer`` (GeoNames, CC BY 4.0): each municipality's name
and its other names (Dutch, French, German and other spellings: "Antwerpen", "Anvers",
"Antwerp"). They are folded like the gazetteer folds them (no case, accents, hyphens or
punctuation), and every name of at least four letters goes into one Aho-Corasick automaton, built
once per process. A name counts only as a whole word (or words): "Gentse" is not "Gent".

Names that are also everyday words in Dutch, French, German or English ("Boom", "Geel", "Essen",
"Lint", "Forest", "Manage", ...) are left out: ``STOP`` lists them. A post that names such a place
gets no place for it; that is the price of not tagging every tree ("boom") as a town.
"""

from __future__ import annotations

from functools import lru_cache

import ahocorasick

from copps.blotter import gazetteer

MIN_LETTERS = 4
MAX_PLACES = 50

# Folded names that are common words (nl/fr/de/en) or mostly mean somewhere else.
STOP = frozenset(
    {
        # Dutch
        "boom", "geel", "peer", "balen", "landen", "schoten", "kapellen", "vorst", "schilde",
        "lede", "wellen", "staden", "halle", "mere", "lier", "herk", "bever", "zele", "hove",
        # French
        "manage", "celles", "marche", "bouillon", "clavier", "fosses", "heron", "court",
        "chapelle", "fontaine", "malle", "vaux", "leuze", "verlaine", "beaumont", "rumes",
        # German
        "essen", "herne", "amel", "burg", "geer",
        # English
        "lint", "lens", "silly", "forest", "bree", "brecht",
        # Transliterations among GeoNames' other names that are everyday words
        "hier", "name", "male", "dame", "alter", "hole", "lane", "mane", "hale", "hare",
        "alan", "chili", "mont", "twin", "sine", "lire", "lira", "leven", "loven", "lowen",
        "heil", "halen", "haren", "telen", "vuren", "waver", "enge", "gamme", "moll", "mete",
        "rete", "sere", "seren", "vise", "bure", "pute", "tams", "eron", "oton", "ases",
        # Mostly elsewhere or a province rather than the municipality
        "lille", "limburg", "limbourg", "luxembourg", "luxemburg", "namen", "hainaut",
    }
)  # fmt: skip


def _names():
    """(folded name, NIS) for every municipality's own names and their variants."""
    with gazetteer.DATA.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            nis, name, alts, *_rest, kind = line.rstrip("\n").split("\t")
            if kind != "municipality":
                continue
            for variant in [name, *(a for a in alts.split("|") if a)]:
                yield gazetteer.fold(variant), nis


@lru_cache(maxsize=1)
def automaton() -> ahocorasick.Automaton:
    found = ahocorasick.Automaton()
    for key, nis in _names():
        if sum(ch.isalpha() for ch in key) < MIN_LETTERS or key in STOP:
            continue
        padded = f" {key} "  # word-bounded: the folded text is padded the same way
        if padded not in found:  # the first municipality to claim a name keeps it
            found.add_word(padded, nis)
    found.make_automaton()
    return found


def find(text: str) -> list[str]:
    """NIS codes of the municipalities ``text`` names, in order of first mention, no repeats."""
    folded = gazetteer.fold(text)
    if not folded:
        return []
    codes: list[str] = []
    for _end, nis in automaton().iter(f" {folded} "):
        if nis not in codes:
            codes.append(nis)
            if len(codes) >= MAX_PLACES:
                break
    return codes
