"""The learned part: one weight per (word, first-level category), stored as plain JSON.

Features are jieba words; the title's words count ``title_weight`` times. A document becomes
sublinear TF-IDF (1 + log tf) × idf, L2-normalised, and the score of a category is the dot
product with its weights plus a bias — no scikit-learn needed at run time."""
from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

from itertools import chain, repeat
from operator import add

import numpy as np

FORMAT = 1


def features(title_tokens: list[str], text_tokens: list[str], title_weight: int = 3) -> Counter:
    """jieba words, plus character pairs (marked ``#``) of the words joined: they catch
    compounds jieba splits differently and help most on short messages."""
    counts = _words_and_pairs(text_tokens)
    for t, n in _words_and_pairs(title_tokens).items():
        counts[t] += n * title_weight
    return counts


def _words_and_pairs(tokens: list[str]) -> Counter:
    words = [t if t.isalnum() else " " for t in tokens]  # punctuation is not a feature
    counts = Counter(words)
    counts.pop(" ", None)
    joined = "".join(words)
    counts.update(["#" + joined[i:i + 2] for i in range(len(joined) - 1)])
    for key in [k for k in counts if k[0] == "#" and " " in k]:
        del counts[key]
    return counts


_NON_WORD = re.compile(r"[\W_]+")


def _split_counts(tokens: list[str]) -> tuple[Counter, Counter]:
    words = [t if t.isalnum() else " " for t in tokens]
    joined = "".join(words)
    return Counter(words), Counter(map(add, joined, joined[1:]))


class LinearModel:
    def __init__(self, classes: list[str], bias: list[float], vocab: dict[str, list[float]],
                 temperature: float = 1.0, title_weight: int = 3, meta: dict | None = None):
        self.classes = classes
        self.bias = bias
        self.vocab = vocab                 # word → [idf, w_class0, w_class1, …]
        self.temperature = temperature     # softmax(score × temperature) gives probabilities
        self.title_weight = title_weight
        self.meta = meta or {}
        self.words = list(vocab)
        self.index = {w: i for i, w in enumerate(self.words) if w[0] != "#"}
        self.pair_index = {w[1:]: i for i, w in enumerate(self.words) if w[0] == "#"}
        table = np.asarray(list(vocab.values()), dtype=np.float64).reshape(len(vocab), -1)
        self._idf = table[:, 0] if len(vocab) else np.zeros(0)
        self._weights = table[:, 1:] if len(vocab) else np.zeros((0, len(classes)))
        self._bias = np.asarray(bias, dtype=np.float64)

    def vector(self, counts: Counter) -> tuple[np.ndarray, np.ndarray]:
        """Sublinear TF-IDF, L2-normalised, over the known features: (rows, values)."""
        get, get_pair = self.index.get, self.pair_index.get
        idx = np.fromiter([get_pair(k[1:], -1) if k[0] == "#" else get(k, -1) for k in counts],
                          dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return self._normalised(idx, tf)

    def vector_of(self, title_tokens: list[str], text_tokens: list[str]):
        """``vector(features(title_tokens, text_tokens))``, computed faster."""
        words, pairs = _split_counts(text_tokens)
        if title_tokens:
            tw, tp = _split_counts(title_tokens)
            for k, n in tw.items():
                words[k] += n * self.title_weight
            for k, n in tp.items():
                pairs[k] += n * self.title_weight
        n = len(words) + len(pairs)
        idx = np.fromiter(chain(map(self.index.get, words, repeat(-1)),
                                map(self.pair_index.get, pairs, repeat(-1))),
                          dtype=np.int64, count=n)
        tf = np.fromiter([*words.values(), *pairs.values()], dtype=np.float64, count=len(idx))
        return self._normalised(idx, tf)

    def _normalised(self, idx: np.ndarray, tf: np.ndarray):
        known = idx >= 0
        if not known.any():
            return [], np.zeros(0)
        rows = idx[known]
        x = (1.0 + np.log(tf[known])) * self._idf[rows]
        return rows, x / np.sqrt(x @ x)

    def scores(self, x: tuple[np.ndarray, np.ndarray]) -> list[float]:
        rows, values = x
        if not len(rows):
            return self._bias.tolist()
        return (values @ self._weights[rows] + self._bias).tolist()

    def probabilities(self, scores: list[float]) -> list[float]:
        z = np.asarray(scores) * self.temperature
        e = np.exp(z - z.max())
        return (e / e.sum()).tolist()

    def contributions(self, x: tuple[np.ndarray, np.ndarray], k: int,
                      n: int = 40) -> list[tuple[str, float]]:
        """The n features that add most to category k's score, heaviest first."""
        rows, values = x
        if not len(rows):
            return []
        c = values * self._weights[rows, k]
        order = np.argsort(-c)[:n]
        return [(self.words[rows[i]], float(c[i])) for i in order if c[i] > 0]

    def keywords(self, k: int, n: int = 30, pairs: bool = False) -> list[tuple[str, float]]:
        """The words with the largest weight for category k: the category's learned keywords."""
        order = np.argsort(-self._weights[:, k])
        out = []
        for i in order:
            if pairs or self.words[i][0] != "#":
                out.append((self.words[i], float(self._weights[i, k])))
                if len(out) == n:
                    break
        return out

    # --- file format ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        data = {
            "format": FORMAT, "classes": self.classes, "bias": [round(b, 5) for b in self.bias],
            "temperature": round(self.temperature, 4), "title_weight": self.title_weight,
            "meta": self.meta,
            "vocab": {w: [round(v, 5) for v in row] for w, row in sorted(self.vocab.items())},
        }
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(gzip.compress(raw, compresslevel=9, mtime=0))

    @classmethod
    def load(cls, path: Path) -> "LinearModel":
        with gzip.open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"模型文件格式不支持：{path}")
        return cls(data["classes"], data["bias"], data["vocab"], data["temperature"],
                   data["title_weight"], data.get("meta"))
