"""py3langid over a batch of texts at once, with exactly py3langid's results.

py3langid walks its byte automaton (a DFA) in pure Python, one byte after the other: two thirds
of its time on a short post. Here the automaton walks every text of a batch in step, one numpy
operation per byte position for all texts together (texts sorted longest first, so the rows
still walking are always a prefix). When fewer than ``MIN_ROWS`` texts are left (one long post
among short ones), the rest of the long ones is walked in Python like py3langid does, from the
state reached. The features seen are counted in the order py3langid's ``Counter`` keeps (first
occurrence), and each text is scored with py3langid's own expression (``log1p(counts) @
table[features] + prior``, the same numpy call on the same arrays: the same bits), then normalised
as py3langid normalises (``norm_probs``: the batch's arithmetic is elementwise, in float32, and
sums over a row of four are the same sums as over a lone vector).

Relies on py3langid 0.4's model attributes (``tk_nextmove``, ``_rowbase``, ``tk_output``,
``nb_ptc``, ``nb_pc``, ``nb_classes``, ``_alias_pairs``); ``tests/test_listening_classify.py``
compares this with ``LanguageIdentifier.classify`` text by text.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter

import numpy as np

# Below this many texts still walking, numpy's per-call cost exceeds Python's per-byte cost.
MIN_ROWS = 16


def encode(text: str) -> bytes:
    """What py3langid's ``_encode`` makes of a str."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


class BatchIdentifier:
    def __init__(self, identifier) -> None:
        self.identifier = identifier
        self.nextmove = np.frombuffer(identifier.tk_nextmove, dtype=np.uint32).astype(np.intp)
        self.rowbase = np.asarray(identifier._rowbase, dtype=np.intp)
        self.output = np.asarray(identifier.tk_output, dtype=np.intp)
        self.features = len(identifier.nb_ptc)

    def _walk_python(self, data: bytes, state: int, found: list[int]) -> None:
        nm, rowbase, out = (
            self.identifier.tk_nextmove,
            self.identifier._rowbase,
            self.identifier.tk_output,
        )
        append = found.append
        for letter in data:
            state = nm[rowbase[state] + letter]
            f = out[state]
            if f >= 0:
                append(f)

    def visits(self, encoded: list[bytes]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Per text: the features seen (first occurrence order) and their counts, as py3langid's
        ``visit_counts`` gives them (keys, values); None when there are none."""
        n = len(encoded)
        result: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n
        if n == 0:
            return result
        lengths = np.fromiter(map(len, encoded), dtype=np.intp, count=n)
        order = np.argsort(-lengths, kind="stable")
        lens = lengths[order]
        span = int(lens[MIN_ROWS - 1]) if n >= MIN_ROWS else 0
        states = np.zeros(n, dtype=np.intp)
        keys = counts = first = None
        if span:
            rows = [encoded[i][:span].ljust(span, b"\0") for i in order.tolist()]
            columns = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(n, span).T.copy()
            # Texts still walking at byte t: those longer than t (a prefix, longest first).
            ended = np.cumsum(np.bincount(np.minimum(lens, span), minlength=span + 1))
            walking = (n - ended[:span]).tolist()
            seen = np.zeros((span, n), dtype=np.intp)  # state 0 gives no feature
            nm, rowbase = self.nextmove, self.rowbase
            for t in range(span):
                k = walking[t]
                step = nm[rowbase[states[:k]] + columns[t, :k]]
                states[:k] = step
                seen[t, :k] = step
            feats = self.output[seen.T]  # (text, position): row-major, positions in order
            text_of, _pos = np.nonzero(feats >= 0)
            if len(text_of):
                flat = text_of * self.features + feats[feats >= 0]
                keys, first, counts = np.unique(flat, return_index=True, return_counts=True)
                by_first = np.argsort(first, kind="stable")
                keys, counts, first = keys[by_first], counts[by_first], text_of[first[by_first]]
        # Group the counted features by text (sorted position), in first-occurrence order.
        groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if keys is not None and first is not None and counts is not None:
            bounds = np.flatnonzero(np.diff(first)) + 1
            starts = [0, *bounds.tolist()]
            ends = [*bounds.tolist(), len(first)]
            for a, b in zip(starts, ends, strict=True):
                groups[int(first[a])] = (keys[a:b] % self.features, counts[a:b])
        order_list = order.tolist()
        for pos, index in enumerate(order_list):
            data = encoded[index]
            if len(data) > span:  # walk the rest in Python, from the state reached
                found: list[int] = []
                if span:
                    known = groups.get(pos)
                    if known is not None:  # replay the counts in order, then add the rest
                        for f, c in zip(known[0].tolist(), known[1].tolist(), strict=True):
                            found.extend([f] * c)
                self._walk_python(data[span:], int(states[pos]), found)
                if found:
                    tally = Counter(found)
                    result[index] = (
                        np.fromiter(tally.keys(), dtype=np.intp, count=len(tally)),
                        np.fromiter(tally.values(), dtype=np.intp, count=len(tally)),
                    )
            elif pos in groups:
                result[index] = groups[pos]
        return result

    def classify_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """``identifier.classify(text)`` for each text (a norm_probs identifier)."""
        ident = self.identifier
        encoded = [encode(t) for t in texts]
        n = len(encoded)
        classes = len(ident.nb_classes)
        scores = np.zeros((n, classes), dtype=np.float32)  # featureless: 0.0 under norm_probs
        table, prior = ident.nb_ptc, ident.nb_pc
        for i, seen in enumerate(self.visits(encoded)):
            if seen is not None:
                idx, counts = seen
                scores[i] = np.log1p(counts.astype(np.float32)) @ table[idx] + prior
        scale = np.array([1.0 / math.sqrt(len(e) or 1) for e in encoded], dtype=np.float32)
        scores *= scale[:, None]
        np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for i, j in ident._alias_pairs:
            scores[:, i] += scores[:, j]
            scores[:, j] = 0.0
        best = scores.argmax(axis=1)
        confidence = scores[np.arange(n), best].tolist()
        labels = ident.nb_classes
        return [(labels[b], c) for b, c in zip(best.tolist(), confidence, strict=True)]
