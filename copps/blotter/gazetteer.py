"""Belgian municipalities and their centres (``data/be_municipalities.tsv``, from GeoNames).

``find(name)`` returns the municipality a name (a municipality, a former municipality, a
French/Dutch/German variant) belongs to, with the municipality's centre: the point a public entry
is snapped to. Loaded once per process.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "be_municipalities.tsv"
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Municipality:
    nis: str
    name: str
    lat: float
    lon: float
    population: int


def fold(name: str) -> str:
    """Compare names without case, accents, hyphens or brackets."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    # ASCII only from here: its letters and digits are [0-9a-z] once case-folded.
    return " ".join(_NOT_ALNUM.sub(" ", text.casefold()).split())


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, Municipality], dict[str, Municipality]]:
    by_nis: dict[str, Municipality] = {}
    names: dict[str, tuple[int, Municipality]] = {}
    places: list[tuple[str, list[str]]] = []
    with DATA.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            nis, name, alts, lat, lon, population, kind = line.rstrip("\n").split("\t")
            others = [a for a in alts.split("|") if a]
            if kind == "municipality":
                by_nis[nis] = Municipality(nis, name, float(lat), float(lon), int(population))
                for variant in [name, *others]:
                    # A municipality's own names win over places of the same name (rank 2).
                    key = fold(variant)
                    if key and (key not in names or names[key][0] < 2):
                        names[key] = (2, by_nis[nis])
            else:
                places.append((nis, [name, *others]))
    for nis, variants in places:
        municipality = by_nis.get(nis)
        if municipality is None:
            continue
        for variant in variants:
            key = fold(variant)
            if key and key not in names:
                names[key] = (1, municipality)
    return by_nis, {key: value for key, (_rank, value) in names.items()}


def find(name: str) -> Municipality | None:
    """The municipality ``name`` belongs to, or None if it is not a Belgian place we know."""
    key = fold(name)
    if not key:
        return None
    names = _index()[1]
    if key in names:
        return names[key]
    # "Antwerpen (Borgerhout)", "Brussel (stad)": try the bracketed and the leading part.
    if "(" in str(name):
        outer, _sep, inner = str(name).partition("(")
        return names.get(fold(inner.rstrip(")"))) or names.get(fold(outer))
    return None


@lru_cache(maxsize=1)
def _own_names() -> dict[str, tuple[str, Municipality]]:
    """{folded name: (spelling, municipality)} for the municipalities' own names and variants."""
    own: dict[str, tuple[str, Municipality]] = {}
    with DATA.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            nis, name, alts, *_rest, kind = line.rstrip("\n").split("\t")
            municipality = by_nis(nis)
            if kind != "municipality" or municipality is None:
                continue
            for variant in [name, *(a for a in alts.split("|") if a)]:
                key = fold(variant)
                if key and key not in own:
                    own[key] = (variant, municipality)
    return own


def public_name(name: str) -> str:
    """The name to publish for ``name``: the municipality's own spelling of it when it is one of
    the municipality's names ("Bruxelles", "GENT" -> "Gent"), else the municipality's name — never
    the text as typed (notes, other scripts) nor a hamlet or former municipality inside it."""
    place = find(name)
    if place is None:
        return ""
    spelled = _own_names().get(fold(name))
    if spelled is not None and spelled[1] == place and "(" not in str(name):
        return spelled[0]
    return place.name


def by_nis(nis: str) -> Municipality | None:
    return _index()[0].get(str(nis))


def build(source: str, target: Path = DATA) -> int:  # pragma: no cover - a maintainer's tool
    """Regenerate the shipped file from a GeoNames ``BE.txt`` dump."""
    import re

    latin = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿ' .\-()]+$")
    adm4: dict[str, list[str]] = {}
    places = []
    with open(source, encoding="utf-8") as handle:
        for line in handle:
            f = line.rstrip("\n").split("\t")
            if f[7] == "ADM4" and f[13]:
                adm4[f[13]] = f
            elif f[6] == "P" and f[13] and int(f[14] or 0) > 0:
                places.append(f)

    def row(f: list[str], kind: str, limit: int = 100) -> str:
        alts = sorted(
            {a for a in f[3].split(",") if a and latin.match(a) and not a.isdigit() and a != f[1]}
        )[:limit]
        return "\t".join(
            [
                f[13],
                f[1],
                "|".join(alts),
                f"{float(f[4]):.5f}",
                f"{float(f[5]):.5f}",
                f[14] or "0",
                kind,
            ]
        )

    lines = [row(f, "municipality") for _nis, f in sorted(adm4.items())]
    lines += [row(f, "place", 8) for f in places if f[13] in adm4]
    header = (
        "# Belgian municipalities (GeoNames ADM4) and their populated places, derived from the GeoNames\n"
        "# dump for Belgium (geonames.org, CC BY 4.0). Columns: nis, name, other names (|), lat, lon,"
        " population, kind.\n"
    )
    target.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        print(build(sys.argv[2]))
