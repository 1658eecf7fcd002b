"""Analysis of many posts at once: the same results as one post at a time, bit for bit."""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import pytest
from django.db import connection

from copps.listening import classify, pipeline
from copps.listening.classify import analyse, analyse_many, features
from copps.listening.classify.langid_batch import MIN_ROWS, encode
from copps.listening.models import Match, Post, Source

FIXTURES = Path(__file__).parent / "fixtures" / "listening_classify.jsonl"

WORDS = [
    "politie", "brand", "niet", "geen", "super", "slecht", "police", "incendie", "pas", "génial",
    "nul", "Polizei", "Unfall", "nicht", "toll", "schlecht", "the", "fire", "not", "great",
    "awful", "Gent", "Liège", "#brand", "@wijkagent", "https://example.org/x", ":)", ":(", "<3",
    "😀", "🚓", "🔥", "!!!", "???", "1234", "Ελλάδα", "Москва", "北京", "مرحبا", "cooool",
    "d'accord", "don't", "ÉCOLE", "straße", "\\u00e9t\\u00e9", "x", ",", "…",
]  # fmt: skip

EDGE = [
    "", " ", "\n\t", "😀", "🚓🔥👍", "!!!", "1234 5678", ":) :( <3", "@someone", "#tag",
    "https://example.org/only-a-link", "WAT EEN SCHANDE, ECHT WOEDEND", "ΑΒΓ δέλτα ε",
    "Привет, как дела?", "中文和English混合", "héllo\ud800 wörld", "a" * 5000,
    "Schandalig. " * 2000, "Merci beaucoup ! " * 400, "x",
]  # fmt: skip


def texts() -> list[str]:
    rng = random.Random(7)
    fixtures = [json.loads(line)["text"] for line in FIXTURES.read_text().splitlines()]
    generated = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) for _ in range(300)]
    # Short ones at the end: the batch's longest texts are walked in step, the rest in Python.
    return fixtures + generated + EDGE


def test_a_batch_gives_exactly_what_one_text_at_a_time_gives():
    all_texts = texts()
    assert len(all_texts) > 300
    assert analyse_many(all_texts) == [analyse(t) for t in all_texts]


def test_a_batch_of_any_size_gives_the_same_and_scores_can_be_left_out():
    all_texts = texts()
    single = [analyse(t) for t in all_texts]
    for size in (1, MIN_ROWS - 1, MIN_ROWS, 97):
        for start in range(0, len(all_texts), size * 5):
            chunk = all_texts[start : start + size]
            assert analyse_many(chunk) == single[start : start + size]
    bare = analyse_many(all_texts, scores=False)
    assert [(a.lang, a.sentiment, a.emotion) for a in bare] == [
        (a.lang, a.sentiment, a.emotion) for a in single
    ]
    assert all(a.scores == {} for a in bare)
    assert analyse_many([]) == []


def test_the_batch_language_detector_equals_py3langid_text_by_text():
    models = classify._get()
    all_texts = [features.normalise(t) for t in texts()] + ["ONLY CAPITALS HERE", "Ça va"]
    expected = [models.langid.classify(t) for t in all_texts]
    assert models.langid_batch.classify_many(all_texts) == expected
    assert encode("ÉCOLE") == "école".encode()


def test_non_str_input_is_analysed_like_one_at_a_time():
    odd = [b"Merci beaucoup", None, 42, "ok"]
    assert analyse_many(odd) == [analyse(t) for t in odd]  # type: ignore[arg-type]


def test_the_checksums_are_the_crc32_of_the_feature_names():
    for text in texts()[:60]:
        names = features.feature_strings(text, "nl")
        assert sorted(features.checksums(text, "nl")) == sorted(
            zlib.crc32(name.encode()) for name in names
        )


@pytest.mark.django_db
def test_the_pipeline_stores_the_batch_analysis_of_every_new_post(monkeypatch):
    source = Source.objects.create(kind="import", name="batch")
    sample = texts()[:80]
    items = [pipeline.Incoming(external_id=f"b{i}", text=t) for i, t in enumerate(sample) if t]
    pipeline.ingest(source, items)
    stored = {p.external_id: p for p in Post.objects.filter(source=source)}
    for item in items:
        if not item.text.strip():
            continue
        expected = analyse(item.text)
        post = stored[item.external_id]
        assert (post.language, post.sentiment, post.emotion) == (
            expected.lang,
            expected.sentiment,
            expected.emotion,
        )


@pytest.mark.django_db
def test_a_failing_batch_falls_back_to_one_by_one(monkeypatch):
    def broken(texts, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(classify, "analyse_many", broken)
    source = Source.objects.create(kind="import", name="fallback")
    pipeline.ingest(source, [pipeline.Incoming(external_id="1", text="Merci beaucoup !")])
    assert Post.objects.get(source=source).language == "fr"


@pytest.mark.django_db
def test_no_index_duplicates_the_unique_constraints_of_matches_and_posts():
    with connection.cursor() as cursor:
        for model, column in ((Match, "watch_id"), (Post, "source_id")):
            table = model._meta.db_table
            constraints = connection.introspection.get_constraints(cursor, table)
            alone = [
                name
                for name, c in constraints.items()
                if c["columns"] == [column] and (c["index"] or c["unique"])
            ]
            assert alone == [], (table, alone)
            assert any(c["unique"] and c["columns"][0] == column for c in constraints.values())
