"""Places mentioned: Belgian municipalities named in a post's text, as NIS codes."""

from __future__ import annotations

import pytest

from copps.listening import pipeline, places
from copps.listening.models import Post, Source

GENT, LIEGE, BRUSSEL, ANTWERPEN, SINT_TRUIDEN, EUPEN = (
    "44021", "62063", "21004", "11002", "71053", "63023",
)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ongeval in Sint-Truiden en in GENT vanavond", [SINT_TRUIDEN, GENT]),
        ("Manifestation à Bruxelles, puis à Liège.", [BRUSSEL, LIEGE]),
        ("Stau bei Eupen und in Lüttich", [EUPEN, LIEGE]),
        ("Police in Antwerp; and again in Antwerpen", [ANTWERPEN]),
        ("Brand in Luik", [LIEGE]),
    ],
)
def test_it_finds_municipalities_in_any_of_their_languages(text, expected):
    assert places.find(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "De Gentse feesten beginnen",  # a word that starts with a name is not the name
        "Een boom viel om, het licht was geel",  # Boom and Geel: everyday Dutch words
        "Wir gehen essen, hier ist es schön",  # Essen; 'hier' is a transliterated name
        "Silly me, I forgot the lint and the lens",  # Silly, Lint, Lens
        "",
    ],
)
def test_it_leaves_out_everyday_words_and_partial_words(text):
    assert places.find(text) == []


@pytest.mark.django_db
def test_it_stores_the_places_with_the_post_when_the_classifier_names_none(monkeypatch):
    monkeypatch.setattr(pipeline, "_classifier", lambda: lambda text: {"lang": "nl"})
    source = Source.objects.create(kind="import", name="feed")
    pipeline.ingest(source, [pipeline.Incoming("1", "Betoging in Gent en Brussel")])
    assert Post.objects.get().places == [GENT, BRUSSEL]


@pytest.mark.django_db
def test_it_keeps_the_classifiers_places_when_it_names_some(monkeypatch):
    monkeypatch.setattr(pipeline, "_classifier", lambda: lambda text: {"places": ["99999"]})
    source = Source.objects.create(kind="import", name="feed")
    pipeline.ingest(source, [pipeline.Incoming("1", "Betoging in Gent")])
    assert Post.objects.get().places == ["99999"]
