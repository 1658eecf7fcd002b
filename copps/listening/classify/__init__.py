"""Language, sentiment and emotion of a post, offline on the CPU.

    from copps.listening.classify import analyse
    analyse("Wat een fijne buurtagent!")  # Analysis(lang='nl', sentiment='positive', ...)

Language: py3langid (langid.py's model, shipped in the package) restricted to nl/fr/de/en.
Sentiment and emotion: linear models over hashed word and character n-grams, trained by
`train.py` from the development corpora and shipped in `model/` (see model/README.md).
The models are loaded once per process, on first use, under a lock; afterwards every function
is thread-safe and never raises on any str (empty, emoji only, huge, lone surrogates).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import numpy as np

from copps.listening.classify.features import FEATURES_VERSION, LETTER, checksums, normalise
from copps.listening.classify.langid_batch import BatchIdentifier

LANGUAGES = ("nl", "fr", "de", "en")
SENTIMENTS = ("negative", "neutral", "positive")
DEFAULT_LANGUAGE = "nl"
MODEL_DIR = Path(__file__).resolve().parent / "model"

# Below this share (among the emotions that fit the sentiment) the emotion is "".
EMOTION_THRESHOLD = 0.4
EMOTIONS_OF = {
    "positive": ("anticipation", "joy", "surprise", "trust"),
    "negative": ("anger", "disgust", "fear", "sadness", "surprise"),
}
EMOTION_LANGUAGES = ("nl", "fr", "de")


@dataclass(frozen=True)
class Analysis:
    lang: str
    sentiment: str
    emotion: str
    scores: dict[str, float] = field(default_factory=dict)


class _Linear:
    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            if int(data["features_version"]) != FEATURES_VERSION:
                raise RuntimeError(f"{path.name} was trained for other features; retrain it")
            self.weights = data["weights"].astype(np.float32)
            self.bias = data["bias"].astype(np.float32)
            self.labels = tuple(str(x) for x in data["labels"])
            self.bits = int(data["bits"])

        self.mask = np.uint32((1 << self.bits) - 1)

    def probabilities(self, crcs: np.ndarray) -> np.ndarray:
        """Class probabilities from the features' checksums (see features.checksums)."""
        # Two features rarely share a bucket; training counted such a bucket once, here it
        # counts twice: a negligible difference, cheaper than np.unique on every post.
        idx = crcs & self.mask
        z = self.weights.take(idx, axis=0).sum(axis=0) * np.float32(len(idx) ** -0.5) + self.bias
        z = np.exp(z - z.max())
        return z / z.sum()

    def probabilities_many(self, crcs: np.ndarray, bounds: list[int]) -> np.ndarray:
        """``probabilities`` of many texts at once, one row each: the checksums of all texts
        one after the other, text i's from ``bounds[i]`` to ``bounds[i + 1]``. The same bits as
        one text at a time: each row is summed by the same numpy call, the rest is elementwise
        (and sums along a row of a few classes are the same sums as over a lone vector)."""
        rows = self.weights.take(crcs & self.mask, axis=0)
        z = np.empty((len(bounds) - 1, len(self.labels)), dtype=np.float32)
        for i, (a, b) in enumerate(pairwise(bounds)):
            z[i] = rows[a:b].sum(axis=0)
        scale = np.array([(b - a) ** -0.5 for a, b in pairwise(bounds)], dtype=np.float32)
        z = z * scale[:, None] + self.bias
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


def _checksums(text: str, lang: str, norm: str | None = None) -> np.ndarray:
    return np.array(checksums(text, lang, norm), dtype=np.uint32)


class _Models:
    def __init__(self) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.langid = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.langid.set_languages(list(LANGUAGES))
        self.langid_batch = BatchIdentifier(self.langid)
        self.sentiment = _Linear(MODEL_DIR / "sentiment.npz")
        self.emotion = _Linear(MODEL_DIR / "emotion.npz")


_models: _Models | None = None
_lock = threading.Lock()


def _get() -> _Models:
    global _models
    if _models is None:
        with _lock:
            if _models is None:
                _models = _Models()
    return _models


def _default_language() -> str:
    try:
        from django.conf import settings

        lang = getattr(settings, "COPPS_LISTENING_DEFAULT_LANGUAGE", DEFAULT_LANGUAGE)
    except Exception:  # settings not configured (plain Python use)
        lang = DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _language(norm: str) -> tuple[str, float]:
    if not LETTER.search(norm):
        return _default_language(), 0.0
    lang, confidence = _get().langid.classify(norm)
    return str(lang), float(confidence)


def language(text: str) -> str:
    """ISO 639-1 code, one of nl/fr/de/en; the default language when there is nothing to go on."""
    return _language(normalise(_as_str(text)))[0]


def sentiment(text: str, lang: str | None = None) -> str:
    """negative, neutral or positive."""
    text = _as_str(text)
    if lang not in LANGUAGES:
        lang = language(text)
    probs = _get().sentiment.probabilities(_checksums(text, lang))
    return SENTIMENTS[int(probs.argmax())]


def analyse(text: str) -> Analysis:
    """Language, sentiment, emotion ("" when none is clear) and the models' probabilities."""
    text = _as_str(text)
    models = _get()
    norm = normalise(text)
    lang, confidence = _language(norm)
    crcs = _checksums(text, lang, norm)
    sent = models.sentiment.probabilities(crcs)
    label = SENTIMENTS[int(sent.argmax())]
    scores: dict[str, float] = {"lang": round(confidence, 4)}
    scores.update(zip(SENTIMENTS, sent.round(4).tolist(), strict=True))
    emotion = ""
    # The emotion model knows nl/fr/de subtitles only: no emotion for English or neutral posts.
    if label != "neutral" and lang in EMOTION_LANGUAGES:
        emo = models.emotion.probabilities(crcs)
        scores.update(zip(models.emotion.labels, emo.round(4).tolist(), strict=True))
        # Only an emotion that fits the sentiment (no "joy" in a negative post).
        fits = [i for i, e in enumerate(models.emotion.labels) if e in EMOTIONS_OF[label]]
        share = emo[fits] / emo[fits].sum()
        best = int(share.argmax())
        if share[best] >= EMOTION_THRESHOLD:
            emotion = models.emotion.labels[fits[best]]
    return Analysis(lang=lang, sentiment=label, emotion=emotion, scores=scores)


def analyse_many(texts: list[str], *, scores: bool = True) -> list[Analysis]:
    """``analyse`` of each text, computed for all of them at once: the same results (labels and
    probabilities, bit for bit), at a fraction of the cost per text. ``scores=False`` leaves the
    probabilities out (``Analysis.scores`` empty) for callers that only keep the labels."""
    texts = [_as_str(t) for t in texts]
    if not texts:
        return []
    models = _get()
    norms = [normalise(t) for t in texts]
    lettered = [i for i, norm in enumerate(norms) if LETTER.search(norm)]
    # Nothing to go on (no letters): the default language, as ``language`` gives it.
    langs = [_default_language() if len(lettered) < len(texts) else ""] * len(texts)
    confidence = [0.0] * len(texts)
    found = models.langid_batch.classify_many([norms[i] for i in lettered])
    for i, (lang, conf) in zip(lettered, found, strict=True):
        langs[i], confidence[i] = str(lang), float(conf)
    features = [checksums(t, lang, norm) for t, lang, norm in zip(texts, langs, norms, strict=True)]
    bounds = [0]
    for crcs in features:
        bounds.append(bounds[-1] + len(crcs))
    flat = np.fromiter(chain.from_iterable(features), dtype=np.uint32, count=bounds[-1])
    sent = models.sentiment.probabilities_many(flat, bounds)
    labels = [SENTIMENTS[k] for k in sent.argmax(axis=1).tolist()]
    emotions = [""] * len(texts)
    emo_rows: dict[int, list[float]] = {}
    emotion_labels = models.emotion.labels
    for label, fitting in EMOTIONS_OF.items():
        # The emotion model knows nl/fr/de subtitles only: no emotion for English or neutral.
        chosen = [
            i
            for i, (s, g) in enumerate(zip(labels, langs, strict=True))
            if s == label and g in EMOTION_LANGUAGES
        ]
        if not chosen:
            continue
        sub = np.fromiter(chain.from_iterable(features[i] for i in chosen), dtype=np.uint32)
        sub_bounds = [0]
        for i in chosen:
            sub_bounds.append(sub_bounds[-1] + len(features[i]))
        emo = models.emotion.probabilities_many(sub, sub_bounds)
        # Only an emotion that fits the sentiment (no "joy" in a negative post).
        fits = [k for k, e in enumerate(emotion_labels) if e in fitting]
        picked = emo[:, fits]
        share = picked / picked.sum(axis=1, keepdims=True)
        best = share.argmax(axis=1)
        ok = (share[np.arange(len(chosen)), best] >= EMOTION_THRESHOLD).tolist()
        for i, k, good in zip(chosen, best.tolist(), ok, strict=True):
            if good:
                emotions[i] = emotion_labels[fits[k]]
        if scores:
            emo_rows.update(zip(chosen, emo.round(4).tolist(), strict=True))
    if not scores:
        return [
            Analysis(lang=g, sentiment=s, emotion=e, scores={})
            for g, s, e in zip(langs, labels, emotions, strict=True)
        ]
    results = []
    for i, probs in enumerate(sent.round(4).tolist()):
        detail: dict[str, float] = {"lang": round(confidence[i], 4)}
        detail.update(zip(SENTIMENTS, probs, strict=True))
        if i in emo_rows:
            detail.update(zip(emotion_labels, emo_rows[i], strict=True))
        results.append(
            Analysis(lang=langs[i], sentiment=labels[i], emotion=emotions[i], scores=detail)
        )
    return results


def _as_str(text: Any) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return "" if text is None else str(text)
