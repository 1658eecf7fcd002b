"""Throughput of copps.listening.classify.analyse() on short posts, one core.

    python bench/listening_classify.py [--n 20000] [--data DIR]

Posts are the test fixtures' texts with a varying suffix (so no two are the same). With
--data (../shared/data/sentiment by default, if present) it also prints the language detector's
accuracy per corpus of the development data. Last line: `posts_per_s=<analyse() per wall-clock second> posts_per_cpu_s=<per CPU second>`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "copps.settings")

import django  # noqa: E402

django.setup()

from copps.listening.classify import analyse, language  # noqa: E402

CORPORA = {
    "en": "tweets_en_umsab.csv",
    "fr": "tweets_fr_umsab.csv",
    "de": "tweets_de_umsab.csv",
    "nl": "tweets_nl_political_polarity.csv",
    "nl ": "reviews_nl_restaurants_absa16_sentences.csv",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    args = parser.parse_args()
    if args.data.is_dir():
        for lang, name in CORPORA.items():
            with (args.data / name).open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
            right = sum(language(r["text"]) == lang.strip() for r in rows)
            print(f"language {name}: {right / len(rows):.3f} of {len(rows)}")
    fixtures = ROOT / "tests" / "fixtures" / "listening_classify.jsonl"
    texts = [json.loads(line)["text"] for line in fixtures.read_text(encoding="utf-8").splitlines()]
    posts = [f"{texts[i % len(texts)]} #{i}" for i in range(args.n)]
    analyse("warm up")
    started, cpu = time.perf_counter(), time.process_time()
    for post in posts:
        analyse(post)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"mean length {sum(map(len, posts)) / len(posts):.0f} characters")
    # CPU time as well: on a busy machine wall-clock time says little about one core.
    print(f"posts_per_s={len(posts) / elapsed:.0f} posts_per_cpu_s={len(posts) / cpu:.0f}")


if __name__ == "__main__":
    main()
