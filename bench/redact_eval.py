"""Evaluate the blotter's redactor on the labelled de-identification cases in ../shared/data/pii.

    python bench/redact_eval.py [--data DIR] [--show N]

Reads (never copies) ``deduce_nl_regression_cases.jsonl`` (Dutch, Dutch conventions) and
``belgian_deduce_regression_cases.jsonl`` (Dutch, Belgian conventions). For each category it prints
character-level recall (how much of the annotated personal data was replaced) and precision (how
much of what was replaced was annotated), entity recall (an annotation counts as found when at
least 80 % of its characters were replaced), the share of negative cases left untouched, and the
throughput of ``redact`` in texts per second.

Annotations of locations and institutions are reported but expected to stay: the blotter keeps
place names (the public entry names its municipality) and street names (without the number).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "copps.settings")

import django  # noqa: E402

django.setup()

from copps.blotter.redact import redact, warm  # noqa: E402

FILES = ("deduce_nl_regression_cases.jsonl", "belgian_deduce_regression_cases.jsonl")
KEPT = {"locations", "institutions"}


def evaluate(path: Path, show: int) -> None:
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    misses: list[str] = []
    started = time.perf_counter()
    results = [redact(case["text"], case.get("lang")) for case in cases]
    elapsed = time.perf_counter() - started
    for case, result in zip(cases, results, strict=True):
        text = case["text"]
        category = case["category"]
        gone = {
            i
            for start, end, _label in result.spans
            for i in range(start, end)
            if not text[i].isspace()
        }
        gold: set[int] = set()
        for ann in case["annotations"]:
            span = {i for i in range(ann["start_char"], ann["end_char"]) if not text[i].isspace()}
            gold |= span
            s = stats[category]
            s["entities"] += 1
            if span and len(span & gone) >= 0.8 * len(span):
                s["entities_found"] += 1
            elif len(misses) < show and category not in KEPT:
                misses.append(f"  miss {case['id']}: {text!r} -> {result.text!r}")
        s = stats[category]
        s["gold"] += len(gold)
        s["hit"] += len(gold & gone)
        s["removed"] += len(gone)
        s["unsure"] += result.unsure
        s["cases"] += 1
        if not case["annotations"]:
            s["negatives"] += 1
            s["negatives_clean"] += not gone
            if gone and len(misses) < show:
                misses.append(f"  false {case['id']}: {text!r} -> {result.text!r}")
    print(f"\n{path.name}: {len(cases)} cases, {len(cases) / elapsed:.0f} texts/s")
    header = f"{'category':<16}{'cases':>6}{'recall':>8}{'prec.':>8}{'ent.rec':>9}{'neg.ok':>8}{'unsure':>8}"
    print(header)
    total: dict[str, float] = defaultdict(float)
    for category in sorted(stats):
        s = stats[category]
        for key, value in s.items():
            if category not in KEPT:
                total[key] += value
        print(_row(category + (" (kept)" if category in KEPT else ""), s))
    print(_row("all redacted", total))
    for line in misses:
        print(line)


def _row(name: str, s: dict[str, float]) -> str:
    def pct(a: float, b: float) -> str:
        return f"{100 * a / b:.0f}%" if b else "-"

    return (
        f"{name:<16}{int(s['cases']):>6}{pct(s['hit'], s['gold']):>8}{pct(s['hit'], s['removed']):>8}"
        f"{pct(s['entities_found'], s['entities']):>9}{pct(s['negatives_clean'], s['negatives']):>8}"
        f"{pct(s['unsure'], s['cases']):>8}"
    )


def conll(path: Path, limit: int) -> None:
    """PER recall on CoNLL-2002 Dutch (De Morgen, Belgian newspaper text; research use only)."""
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
            current = []
            continue
        current.append((parts[0], parts[-1]))
    if current:
        sentences.append(current)
    sentences = sentences[:limit]
    # tag -> [tokens, redacted, neither redacted nor in an unsure sentence (would go out)]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    unsure = 0
    started = time.perf_counter()
    for sentence in sentences:
        text, offsets = "", []
        for token, _tag in sentence:
            if text:
                text += " "
            offsets.append((len(text), len(text) + len(token)))
            text += token
        result = redact(text, "nl")
        unsure += result.unsure
        for (start, end), (_token, tag) in zip(offsets, sentence, strict=True):
            kind = tag.split("-")[-1]
            hit = any(s < end and e > start for s, e, _label in result.spans)
            counts[kind][0] += 1
            counts[kind][1] += hit
            counts[kind][2] += not hit and not result.unsure
    elapsed = time.perf_counter() - started
    print(f"\n{path.name}: {len(sentences)} sentences, {len(sentences) / elapsed:.0f} sentences/s")
    print(f"{'tag':<8}{'tokens':>8}{'redacted':>10}{'would go out':>14}")
    for kind in ("PER", "LOC", "ORG", "MISC", "O"):
        tokens, hit, out = counts[kind]
        print(
            f"{kind:<8}{tokens:>8}{100 * hit / max(tokens, 1):>9.1f}%{100 * out / max(tokens, 1):>13.1f}%"
        )
    print(f"unsure: {100 * unsure / max(len(sentences), 1):.0f}% of sentences")


def throughput(n: int) -> None:
    texts = [
        "Een 45-jarige man uit Antwerpen werd aangehouden in de Kerkstraat 12 na een diefstal.",
        "Fietsdiefstal aan het station van Leuven. Geen verdachten.",
        "M. Jean Dupont, âgé de 52 ans, a été interpellé rue de la Loi 16 à Namur.",
        "Inbraak in woning in de Dorpsstraat; de daders gingen aan de haal met juwelen.",
        "Un vol à l'étalage a été commis dans un supermarché de Charleroi vers 14 heures.",
    ]
    started = time.perf_counter()
    for i in range(n):
        redact(texts[i % len(texts)] + f" ({i % 7} getuigen)")
    elapsed = time.perf_counter() - started
    print(f"\nthroughput on blotter-like texts: {n / elapsed:.0f} texts/s ({n} texts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "pii"))
    parser.add_argument("--show", type=int, default=0, help="print up to N misses")
    parser.add_argument("--n", type=int, default=2000, help="texts for the throughput run")
    parser.add_argument(
        "--conll", type=int, default=0, help="also run on the first N CoNLL-2002 sentences"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if not warm():
        sys.exit("deduce could not be loaded")
    print(f"deduce loaded in {time.perf_counter() - started:.1f} s")
    for name in FILES:
        path = Path(args.data) / name
        if path.exists():
            evaluate(path, args.show)
        else:
            print(f"{path}: not found")
    if args.conll:
        path = Path(args.data) / "conll2002_nl" / "ned.dev.conll"
        if path.exists():
            conll(path, args.conll)
    throughput(args.n)


if __name__ == "__main__":
    main()
