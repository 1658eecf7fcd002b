"""The watch query language and the compiled matcher (copps.listening.query / .matcher)."""

from __future__ import annotations

import random

import pytest

from copps.listening import query as q
from copps.listening.matcher import Matcher


def w(value: str) -> q.Term:
    return q.Term("word", value)


def shape(node):
    """The tree without positions, for comparing."""
    if isinstance(node, q.Term):
        return (node.kind, node.value)
    if isinstance(node, q.Not):
        return ("NOT", shape(node.child))
    return (type(node).__name__.upper(), *[shape(c) for c in node.children])


# Parsing -------------------------------------------------------------------------------------


def test_it_binds_and_tighter_than_or():
    assert shape(q.parse("a OR b AND c")) == (
        "OR",
        ("word", "a"),
        ("AND", ("word", "b"), ("word", "c")),
    )


def test_it_binds_not_tighter_than_and():
    assert shape(q.parse("NOT a b")) == ("AND", ("NOT", ("word", "a")), ("word", "b"))


def test_it_reads_adjacent_terms_as_and_and_brackets_first():
    assert shape(q.parse("(a OR b) c")) == (
        "AND",
        ("OR", ("word", "a"), ("word", "b")),
        ("word", "c"),
    )


def test_it_treats_lowercase_operators_as_words():
    assert shape(q.parse("rock and roll")) == (
        "AND",
        ("word", "rock"),
        ("word", "and"),
        ("word", "roll"),
    )


def test_it_reads_phrases_hashtags_accounts_languages_prefixes():
    tree = q.parse('"Zone  Gent-Centrum" #Brand @PolitieGent lang:NL veilig* ÉTÉ')
    assert shape(tree) == (
        "AND",
        ("phrase", "zone gent centrum"),
        ("hashtag", "brand"),
        ("author", "politiegent"),
        ("lang", "nl"),
        ("prefix", "veilig"),
        ("word", "ete"),
    )


def test_it_finds_a_municipality_by_any_of_its_names_and_keeps_postcodes_literal():
    gent = q.parse("place:Gand")
    assert isinstance(gent, q.Term) and gent.kind == "place" and gent.value == "44021"
    assert "gent" in gent.names and "ledeberg" in gent.names
    assert shape(q.parse("place:9000")) == ("postcode", "9000")
    assert q.parse('place:"Sint-Niklaas"').kind == "place"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("politie AND brand)", 'unexpected ")"', 17),
        ("(politie OR brand", 'unclosed "("', 0),
        ('brand "zone gent', "unclosed quote", 6),
        ("politie AND", "a term is missing", 11),
        ("politie OR OR brand", 'unexpected "OR"', 11),
        ("", "empty query", 0),
        ("a ()", 'empty "()"', 2),
        ("NOT spam", "a query needs a term to look for, not only NOT", 0),
        ("brand lang:dutch", '"dutch" is not a language code (such as nl)', 6),
        ("brand place:Atlantis", '"Atlantis" is not a Belgian municipality we know', 6),
        ("a @", 'an account is missing after "@"', 2),
    ],
)
def test_it_points_at_the_position_of_a_syntax_error(text, message, position):
    with pytest.raises(q.QueryError) as caught:
        q.parse(text)
    assert caught.value.message == message
    assert caught.value.position == position
    assert str(caught.value) == f"{message} at {position}"


def test_it_refuses_a_query_that_is_too_long():
    with pytest.raises(q.QueryError):
        q.parse("a " * 1500)


# Matching: examples --------------------------------------------------------------------------


def matches(query: str, text: str, **post) -> bool:
    return Matcher.build([(1, query)]).match(text, **post) == [1]


def test_it_matches_whole_words_without_case_or_accents():
    assert matches("politie", "De POLITIE was er snel.")
    assert not matches("politie", "politiezone Gent")
    assert matches("ete", "Un été chaud")
    assert matches("café", "cafe de la gare")


def test_it_matches_prefixes_phrases_and_hashtags():
    assert matches("politie*", "de politiezone meldt")
    assert matches('"zone gent"', "Politie ZONE, Gent!")
    assert not matches('"zone gent"', "zone in gent")
    assert matches("#brand", "Grote #Brand in de haven")
    assert not matches("#brand", "grote brand in de haven")
    assert matches("brand", "grote #brand")  # a word also finds the hashtag


def test_it_matches_authors_languages_and_places():
    assert matches("@PolitieGent", "whatever", author="@politiegent")
    assert matches("lang:fr", "n'importe quoi", language="fr")
    assert not matches("lang:fr", "n'importe quoi", language="nl")
    assert matches("place:Gent", "Brand in Ledeberg vannacht")
    assert matches("place:Gent", "no name here", places=["44021"])
    assert matches("place:9000 brand", "brand in 9000 Gent")


def test_it_evaluates_not_on_the_candidates():
    assert matches("brand NOT oefening", "brand in de haven")
    assert not matches("brand NOT oefening", "brand in de haven, een oefening")


# Matching: against the reference, on random queries ------------------------------------------

VOCABULARY = ["brand", "politie", "gent", "zone", "fiets", "feest", "été", "auto", "nl"]


def random_query(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 2 or roll < 0.4:
        kind = rng.choice(["word", "word", "prefix", "phrase", "hashtag", "lang", "author"])
        word = rng.choice(VOCABULARY)
        return {
            "word": word,
            "prefix": word[:3] + "*",
            "phrase": f'"{word} {rng.choice(VOCABULARY)}"',
            "hashtag": f"#{word}",
            "lang": f"lang:{rng.choice(['nl', 'fr'])}",
            "author": f"@{rng.choice(['ann', 'bob'])}",
        }[kind]
    left, right = random_query(rng, depth + 1), random_query(rng, depth + 1)
    op = rng.choice(["AND", "OR", "", "AND NOT", "OR"])
    return f"({left} {op} {right})"


def random_post(rng: random.Random) -> dict:
    words = [
        rng.choice(VOCABULARY + ["#" + v for v in VOCABULARY] + ["de", "BRAND!", "Gent,"])
        for _ in range(rng.randint(1, 10))
    ]
    return {
        "text": " ".join(words),
        "author": rng.choice(["ann", "@Bob", "carl"]),
        "language": rng.choice(["nl", "fr", ""]),
        "places": [],
    }


def test_it_agrees_with_the_reference_evaluation_on_random_queries():
    rng = random.Random(7)
    watches = []
    while len(watches) < 300:
        text = random_query(rng)
        try:
            q.parse(text)
        except q.QueryError:
            continue  # e.g. only NOT: refused, as it should be
        watches.append((len(watches) + 1, text))
    matcher = Matcher.build(watches)
    assert not matcher.errors
    trees = {wid: q.parse(text) for wid, text in watches}
    checked = 0
    for _ in range(400):
        post = random_post(rng)
        expected = [wid for wid, tree in trees.items() if q.evaluate(tree, **post)]
        assert matcher.match(post["text"], author=post["author"], language=post["language"]) == (
            expected
        ), post
        checked += len(expected)
    assert checked > 1000  # the random queries really matched things


def test_it_skips_a_watch_whose_query_no_longer_parses():
    matcher = Matcher.build([(1, "brand"), (2, "brand)")])
    assert matcher.match("brand") == [1]
    assert set(matcher.errors) == {2}


def test_it_finds_an_and_with_a_language_through_its_word():
    matcher = Matcher.build([(1, "lang:nl brand"), (2, "lang:fr")])
    assert matcher.by_lang == {"fr": (1,)}  # the first watch is indexed under "brand" only
    assert matcher.match("grote brand", language="nl") == [1]
    assert matcher.match("grote brand", language="fr") == [2]
    assert matcher.match("niets", language="nl") == []
