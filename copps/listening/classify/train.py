"""Train the shipped sentiment and emotion models (offline, a developer's tool; not run by copps).

    python -m copps.listening.classify.train [--data ../shared/data/sentiment] [--cv]

Reads the labelled development corpora (never copied into the repository), fits a multinomial
logistic regression over hashed word, word-bigram and character n-gram features with numpy
(full-batch Adam, L2), and writes `model/sentiment.npz` and `model/emotion.npz`. `--cv` first
prints 5-fold cross-validated accuracy and macro-F1 per language against the majority baseline.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from copps.listening.classify.features import FEATURES_VERSION, hashed

SENTIMENTS = ("negative", "neutral", "positive")
EMOTIONS = ("anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust")
XED_POLARITY = {
    "joy": "positive",
    "trust": "positive",
    "anger": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sadness": "negative",
}
MODEL_DIR = Path(__file__).resolve().parent / "model"
SEED = 20261129


@dataclass
class Example:
    text: str
    lang: str
    label: str
    source: str  # the corpus, for per-source evaluation
    group: str  # examples of one group share a fold (ABSA sentences of one review)
    weight: float = 1.0


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_sentiment(data: Path, aux_weight: float, absa_none: bool) -> list[Example]:
    out: list[Example] = []
    for lang in ("en", "fr", "de"):
        for r in _rows(data / f"tweets_{lang}_umsab.csv"):
            out.append(Example(r["text"], lang, r["label"], f"{lang}-tweets", f"{lang}{r['id']}"))
    for r in _rows(data / "tweets_nl_political_polarity.csv"):
        out.append(Example(r["text"], "nl", r["label"], "nl-tweets", "nl" + r["id"]))
    for r in _rows(data / "reviews_nl_restaurants_absa16_sentences.csv"):
        label = r["label"]
        if label == "none" and absa_none:
            label = "neutral"
        if label in SENTIMENTS:
            out.append(Example(r["text"], "nl", label, "nl-reviews", "r" + r["review_id"]))
    for r in _rows(data / "reviews_nl_restaurants_absa16_reviews.csv"):
        if r["label"] in SENTIMENTS:
            out.append(
                Example(r["text"], "nl", r["label"], "nl-reviews-whole", "r" + r["review_id"])
            )
    if aux_weight > 0:
        for lang in ("nl", "fr", "de"):
            for r in _rows(data / f"subtitles_{lang}_xed_emotions.csv"):
                polarities = {XED_POLARITY.get(e) for e in r["label"].split("|")}
                if len(polarities) == 1 and None not in polarities:
                    polarity = polarities.pop()
                    assert polarity is not None
                    out.append(
                        Example(r["text"], lang, polarity, f"{lang}-subtitles", r["id"], aux_weight)
                    )
    return out


def load_emotion(data: Path) -> list[Example]:
    out: list[Example] = []
    for lang in ("nl", "fr", "de"):
        for r in _rows(data / f"subtitles_{lang}_xed_emotions.csv"):
            labels = r["label"].split("|")
            # Multi-label rows count once per label, with a weight sharing one example's mass.
            for label in labels:
                if label in EMOTIONS:
                    out.append(
                        Example(
                            r["text"], lang, label, f"{lang}-subtitles", r["id"], 1 / len(labels)
                        )
                    )
    return out


class Matrix:
    """Rows of binary hashed features, L2-normalised, as flat (row, column, value) arrays."""

    def __init__(self, examples: list[Example], bits: int) -> None:
        rows, cols, vals = [], [], []
        for i, ex in enumerate(examples):
            idx = hashed(ex.text, ex.lang, bits)
            rows.extend([i] * len(idx))
            cols.extend(idx)
            vals.extend([1.0 / np.sqrt(len(idx))] * len(idx))
        self.n = len(examples)
        self.dim = 1 << bits
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.vals = np.asarray(vals, dtype=np.float64)

    def subset(self, keep: np.ndarray) -> Matrix:
        mask = keep[self.rows]
        new_index = np.cumsum(keep) - 1
        m = Matrix.__new__(Matrix)
        m.n, m.dim = int(keep.sum()), self.dim
        m.rows = new_index[self.rows[mask]]
        m.cols, m.vals = self.cols[mask], self.vals[mask]
        return m

    def dot(self, w: np.ndarray) -> np.ndarray:
        out = np.empty((self.n, w.shape[1]))
        for c in range(w.shape[1]):
            out[:, c] = np.bincount(
                self.rows, weights=w[self.cols, c] * self.vals, minlength=self.n
            )
        return out

    def tdot(self, g: np.ndarray) -> np.ndarray:
        out = np.empty((self.dim, g.shape[1]))
        for c in range(g.shape[1]):
            out[:, c] = np.bincount(
                self.cols, weights=g[self.rows, c] * self.vals, minlength=self.dim
            )
        return out


def fit(
    x: Matrix, y: np.ndarray, weight: np.ndarray, k: int, l2: float, steps: int = 250
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, full-batch Adam."""
    w = np.zeros((x.dim, k))
    b = np.zeros(k)
    onehot = np.eye(k)[y]
    weight = weight / weight.sum()
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros(k), np.zeros(k)
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        z = x.dot(w) + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * weight[:, None]
        gw = x.tdot(g) + l2 * w
        gb = g.sum(axis=0)
        mw = beta1 * mw + (1 - beta1) * gw
        vw = beta2 * vw + (1 - beta2) * gw * gw
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        corr = np.sqrt(1 - beta2**t) / (1 - beta1**t)
        w -= lr * corr * mw / (np.sqrt(vw) + eps)
        b -= lr * corr * mb / (np.sqrt(vb) + eps)
    return w, b


def macro_f1(gold: list[int], pred: list[int], k: int) -> float:
    scores = []
    for c in range(k):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def folds(examples: list[Example], n: int) -> np.ndarray:
    groups = sorted({ex.group for ex in examples})
    random.Random(SEED).shuffle(groups)
    fold_of = {g: i % n for i, g in enumerate(groups)}
    return np.array([fold_of[ex.group] for ex in examples])


def cross_validate(
    examples: list[Example], labels: tuple[str, ...], bits: int, l2: float, n: int = 5
) -> dict[str, tuple[int, float, float, float, float]]:
    """Per evaluated source: (n, accuracy, macro-F1, majority accuracy, majority macro-F1)."""
    x = Matrix(examples, bits)
    y = np.array([labels.index(ex.label) for ex in examples])
    weight = np.array([ex.weight for ex in examples])
    fold = folds(examples, n)
    pred = np.zeros(len(examples), dtype=int)
    for f in range(n):
        train, test = fold != f, fold == f
        w, b = fit(x.subset(train), y[train], weight[train], len(labels), l2)
        pred[test] = (x.subset(test).dot(w) + b).argmax(axis=1)
    report = {}
    sources = sorted({ex.source for ex in examples if ex.weight == 1.0})
    for source in sources:
        idx = [i for i, ex in enumerate(examples) if ex.source == source]
        gold, got = [int(y[i]) for i in idx], [int(pred[i]) for i in idx]
        majority = Counter(gold).most_common(1)[0][0]
        base = [majority] * len(gold)
        report[source] = (
            len(idx),
            sum(g == p for g, p in zip(gold, got, strict=True)) / len(idx),
            macro_f1(gold, got, len(labels)),
            sum(g == p for g, p in zip(gold, base, strict=True)) / len(idx),
            macro_f1(gold, base, len(labels)),
        )
    return report


def save(
    path: Path, examples: list[Example], labels: tuple[str, ...], bits: int, l2: float
) -> None:
    x = Matrix(examples, bits)
    y = np.array([labels.index(ex.label) for ex in examples])
    weight = np.array([ex.weight for ex in examples])
    w, b = fit(x, y, weight, len(labels), l2)
    np.savez_compressed(
        path,
        weights=w.astype(np.float16),
        bias=b.astype(np.float32),
        labels=np.array(labels),
        bits=np.array(bits),
        features_version=np.array(FEATURES_VERSION),
    )
    print(f"wrote {path} ({path.stat().st_size // 1024} KB, {len(examples)} examples)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[4] / "shared" / "data" / "sentiment"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--cv", action="store_true", help="print 5-fold CV figures first")
    parser.add_argument("--bits", type=int, default=17)
    parser.add_argument("--l2", type=float, default=6e-5)
    parser.add_argument("--aux-weight", type=float, default=0.0)
    parser.add_argument(
        "--absa-opinion-only",
        dest="absa_none",
        action="store_false",
        help="leave out ABSA sentences without an opinion (by default they count as neutral)",
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data} (use --data)", file=sys.stderr)
        return 2
    examples = load_sentiment(args.data, args.aux_weight, args.absa_none)
    if args.cv:
        report = cross_validate(examples, SENTIMENTS, args.bits, args.l2)
        print("| source | n | accuracy | macro-F1 | majority acc. | majority macro-F1 |")
        print("|---|---|---|---|---|---|")
        for source, (n, acc, f1, bacc, bf1) in report.items():
            print(f"| {source} | {n} | {acc:.3f} | {f1:.3f} | {bacc:.3f} | {bf1:.3f} |")
        sys.stdout.flush()
    if not args.no_save:
        MODEL_DIR.mkdir(exist_ok=True)
        save(MODEL_DIR / "sentiment.npz", examples, SENTIMENTS, args.bits, args.l2)
        save(MODEL_DIR / "emotion.npz", load_emotion(args.data), EMOTIONS, 16, args.l2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
