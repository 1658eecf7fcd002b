"""Language, sentiment and emotion of posts (copps.listening.classify) and the
`copps listening classify` command."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from copps.listening import classify
from copps.listening.classify import LANGUAGES, SENTIMENTS, analyse, language, sentiment
from copps.listening.classify.train import EMOTIONS

FIXTURES = Path(__file__).parent / "fixtures" / "listening_classify.jsonl"
EXAMPLES = [json.loads(line) for line in FIXTURES.read_text(encoding="utf-8").splitlines()]


def test_it_recognises_the_language_of_every_fixture_post():
    wrong = [ex["text"] for ex in EXAMPLES if language(ex["text"]) != ex["lang"]]
    assert wrong == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_it_gets_clear_positive_negative_and_neutral_posts_mostly_right_in_each_language(lang):
    examples = [ex for ex in EXAMPLES if ex["lang"] == lang]
    right = sum(sentiment(ex["text"], lang) == ex["sentiment"] for ex in examples)
    assert right >= len(examples) - 2, [
        (ex["text"], sentiment(ex["text"], lang)) for ex in examples
    ]


def test_it_tells_positive_from_negative_in_every_fixture_post():
    # The hard errors: a positive post called negative or the other way round.
    flipped = [
        ex["text"]
        for ex in EXAMPLES
        if {ex["sentiment"], sentiment(ex["text"], ex["lang"])} == {"positive", "negative"}
    ]
    assert flipped == []


def test_it_sees_negation():
    assert sentiment("This is good, I love it", "en") == "positive"
    assert sentiment("This is not good at all, I hate it", "en") == "negative"


def test_analyse_gives_language_sentiment_emotion_and_probabilities():
    result = analyse("Wat een schandalige en verschrikkelijke toestand, ik ben woedend!")
    assert result.lang == "nl"
    assert result.sentiment == "negative"
    assert result.emotion in ("", *EMOTIONS)
    assert result.scores["negative"] > result.scores["positive"]
    assert abs(sum(result.scores[s] for s in SENTIMENTS) - 1) < 0.01


def test_a_sentiment_without_a_known_language_detects_it_first():
    assert sentiment("Quelle horreur, c'est nul et dégoûtant", "xx") == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "🚓",
        "12345 !!!",
        "\ud800 broken \udfff surrogates",
        "x" * 100_000,
        "Bonjour la police " * 6000,
        "\x00\x01\x02",
        "#",
        "@user @user http://t.co/x",
    ],
)
def test_it_never_crashes_on_odd_text(text):
    result = analyse(text)
    assert result.lang in LANGUAGES
    assert result.sentiment in SENTIMENTS
    assert language(text) in LANGUAGES
    assert sentiment(text, None) in SENTIMENTS


def test_text_without_letters_gets_the_default_language(settings):
    settings.COPPS_LISTENING_DEFAULT_LANGUAGE = "fr"
    assert language("😀 123") == "fr"
    settings.COPPS_LISTENING_DEFAULT_LANGUAGE = "tlh"  # not one we know: the built-in default
    assert language("😀 123") == "nl"


def test_a_long_text_is_answered_quickly():
    import time

    started = time.perf_counter()
    analyse("Schandalig. " * 10_000)
    assert time.perf_counter() - started < 0.5


def test_it_loads_the_models_once_under_concurrent_first_use(monkeypatch):
    monkeypatch.setattr(classify, "_models", None)
    loads = []
    real = classify._Models

    def counting():
        loads.append(1)
        return real()

    monkeypatch.setattr(classify, "_Models", counting)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(analyse("Merci beaucoup !").lang))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [1]
    assert results == ["fr"] * 8


def _run(tmp_path, lines):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return src, dst


def test_the_command_classifies_json_lines_in_order_keeping_ids_of_any_type(tmp_path):
    ids = [7, "abc", 3.5, None, [1, "x"], {"k": 1}, True, -12345678901234567890]
    texts = [ex["text"] for ex in EXAMPLES[: len(ids)]]
    src, dst = _run(
        tmp_path, [json.dumps({"id": i, "text": t}) for i, t in zip(ids, texts, strict=True)]
    )
    call_command("listening", "classify", "--input", str(src), "--output", str(dst))
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == ids
    assert [set(o) for o in out] == [{"id", "lang", "sentiment"}] * len(ids)
    assert [o["lang"] for o in out] == [language(t) for t in texts]
    assert [o["sentiment"] for o in out] == [analyse(t).sentiment for t in texts]


def test_the_command_reports_bad_lines_with_their_number_writes_the_rest_and_fails(
    tmp_path, capsys
):
    src, dst = _run(
        tmp_path,
        [
            json.dumps({"id": 1, "text": "Thank you so much, you are amazing!"}),
            "{not json",
            json.dumps(["id", "text"]),
            "",
            json.dumps({"id": 5}),
            json.dumps({"text": "no id"}),
            json.dumps({"id": 7, "text": 42}),
            json.dumps({"id": 8, "text": "Quelle horreur, c'est nul et dégoûtant."}),
        ],
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("listening", "classify", "--input", str(src), "--output", str(dst))
    assert excinfo.value.returncode == 1
    err = capsys.readouterr().err
    for number in (2, 3, 5, 6, 7):
        assert f"line {number}:" in err
    assert "line 1:" not in err and "line 8:" not in err and "line 4:" not in err
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert out == [
        {"id": 1, "lang": "en", "sentiment": "positive"},
        {"id": 8, "lang": "fr", "sentiment": "negative"},
    ]


def test_the_command_survives_invalid_utf8_and_surrogate_escapes(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(
        b'{"id": 1, "text": "caf\xe9 \xff\xfe mauvais"}\n'
        b'{"id": 2, "text": "\\ud800\\udfff lone halves"}\n'
    )
    call_command("listening", "classify", "--input", str(src), "--output", str(dst))
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == [1, 2]
    assert all(o["lang"] in LANGUAGES and o["sentiment"] in SENTIMENTS for o in out)


def test_the_command_says_when_the_input_cannot_be_read(tmp_path):
    with pytest.raises(CommandError, match="cannot open"):
        call_command(
            "listening",
            "classify",
            "--input",
            str(tmp_path / "missing.jsonl"),
            "--output",
            str(tmp_path / "out.jsonl"),
        )


def test_the_shipped_models_are_small():
    sizes = [p.stat().st_size for p in classify.MODEL_DIR.glob("*.npz")]
    assert len(sizes) == 2
    assert sum(sizes) < 3 * 1024 * 1024


def test_an_emotion_fits_the_sentiment_and_only_comes_with_nl_fr_de_opinions():
    results = [analyse(ex["text"]) for ex in EXAMPLES]
    for result in results:
        if result.emotion:
            assert result.sentiment != "neutral"
            assert result.lang != "en"
            assert result.emotion in classify.EMOTIONS_OF[result.sentiment]
    assert sum(bool(r.emotion) for r in results) >= 6
    assert analyse("Was für ein wunderschöner Tag, ich freue mich so sehr").emotion == "joy"
