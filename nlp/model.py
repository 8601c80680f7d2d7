"""The learned part: one weight per (feature, first-level category), stored as plain JSON.

Features are jieba words, the character pairs of the text (marked ``#`` in the file) — the
title's counted ``title_weight`` times — and the title's own words and pairs (marked ``@``).
A document becomes sublinear TF-IDF (1 + log tf) × idf, L2-normalised — each block on its own
(``norm: per_block``), as the blocks were trained as separate models whose scores are
averaged — and the score of a category is the dot product with its weights plus a bias
(plus ``title_bias`` when there is a title). Without a title, the title block's share
(``title_share``) is left out and the other blocks' scores are scaled back up to the whole,
as if the model had been trained without it. No scikit-learn at run time.

A model may carry a second, smaller model for short input (``short``): messages of at most
``short_chars`` characters — a chat message, a subject line — are scored by it instead."""
from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from itertools import chain
from operator import add
from pathlib import Path

import numpy as np

FORMAT = 2
_PAIR = "#"
_TITLE = "@"


def features(title_tokens: list[str], text_tokens: list[str], title_weight: int = 3) -> Counter:
    """The features of a document as training sees them: words (tokens made of letters and
    digits) and ``#``-marked character pairs of letters and digits, title counted
    ``title_weight`` times. ``LinearModel.counts`` computes the same at run time, faster."""
    counts = _words_and_pairs(text_tokens)
    for t, n in _words_and_pairs(title_tokens).items():
        counts[t] += n * title_weight
    return counts


def title_features(title_tokens: list[str]) -> Counter:
    """The title's own block: its words and pairs, marked ``@``, each counted once."""
    return Counter({_TITLE + k: n for k, n in _words_and_pairs(title_tokens).items()})


def _words_and_pairs(tokens: list[str]) -> Counter:
    words, pairs = _counts(tokens)
    counts = Counter({t: n for t, n in words.items() if t.isalnum()})  # punctuation is not a feature
    counts.update({_PAIR + p: n for p, n in pairs.items() if p.isalnum()})
    return counts


def _counts(tokens: list[str]) -> tuple[Counter, Counter]:
    """(token counts, character-pair counts) of one part: every token and pair, punctuation
    included — those are simply not in the vocabulary."""
    s = "".join(tokens)
    return Counter(tokens), Counter(map(add, s, s[1:]))


class LinearModel:
    def __init__(self, classes: list[str], bias: list[float], vocab: dict[str, list[float]],
                 temperature: float = 1.0, title_weight: int = 3, meta: dict | None = None,
                 norm: str = "joint", short: "LinearModel | None" = None, short_chars: int = 0,
                 title_bias: list[float] | None = None, title_share: float = 0.0):
        self.classes = classes
        self.bias = bias
        self.vocab = vocab                 # feature → [idf, w_class0, w_class1, …]
        self.temperature = temperature     # softmax(score × temperature) gives probabilities
        self.title_weight = title_weight
        self.meta = meta or {}
        self.norm = norm                   # "joint": one L2 norm; "per_block": words, pairs apart
        self.short = short                 # the model for short input, or None
        self.short_chars = short_chars
        self.title_bias = title_bias
        self.title_share = title_share     # the title block's share of the score
        self._untitled_scale = 1.0 / (1.0 - title_share)
        self.words = list(vocab)
        marked = {_PAIR: [], _TITLE: []}
        self.index = {}
        for i, w in enumerate(self.words):
            if w[0] in marked:
                marked[w[0]].append(i)
            else:
                self.index[w] = i
        words = self.words
        self.pair_index = {words[i][1:]: i for i in marked[_PAIR]}
        self.title_index = {words[i][1:]: i for i in marked[_TITLE] if words[i][1] != _PAIR}
        self.title_pair_index = {words[i][2:]: i for i in marked[_TITLE] if words[i][1] == _PAIR}
        self._titled = bool(self.title_index or self.title_pair_index)
        self._title_bias = np.asarray(title_bias or np.zeros(len(classes)), dtype=np.float64)
        width = len(classes) + 1
        table = np.fromiter(chain.from_iterable(vocab.values()), dtype=np.float64,
                            count=len(vocab) * width).reshape(len(vocab), width)
        self._idf = table[:, 0] if len(vocab) else np.zeros(0)
        self._weights = table[:, 1:] if len(vocab) else np.zeros((0, len(classes)))
        self._bias = np.asarray(bias, dtype=np.float64)

    def for_length(self, n_chars: int) -> "LinearModel":
        """The model that scores a message of ``n_chars`` characters."""
        if self.short is not None and n_chars <= self.short_chars:
            return self.short
        return self

    # --- document → vector ---------------------------------------------------------------
    def counts(self, title_tokens: list[str], text_tokens: list[str]):
        """(word counts, pair counts, title counts | None): the first two over title and text,
        the title's counted ``title_weight`` times; the last the title's own (words, pairs)."""
        words, pairs = _counts(text_tokens)
        title = None
        if title_tokens:
            title = tw, tp = _counts(title_tokens)
            k = self.title_weight
            for t, n in tw.items():
                words[t] += n * k
            for t, n in tp.items():
                pairs[t] += n * k
        return words, pairs, title

    def vector_of(self, title_tokens: list[str], text_tokens: list[str]):
        return self.vector_from(*self.counts(title_tokens, text_tokens))

    def vector(self, counts: Counter):
        """The vector of ``features(…)`` + ``title_features(…)`` (marked keys)."""
        blocks: dict[str, dict] = {"": {}, _PAIR: {}, _TITLE: {}, _TITLE + _PAIR: {}}
        for k, n in counts.items():
            mark = k[:2] if k[:2] == _TITLE + _PAIR else k[0] if k[0] in (_PAIR, _TITLE) else ""
            blocks[mark][k[len(mark):]] = n
        title = (blocks[_TITLE], blocks[_TITLE + _PAIR]) if blocks[_TITLE] or \
            blocks[_TITLE + _PAIR] else None
        return self.vector_from(blocks[""], blocks[_PAIR], title)

    def vector_from(self, words: dict, pairs: dict, title: tuple[dict, dict] | None = None):
        """Sublinear TF-IDF, L2-normalised, over the known features: (rows, values, titled,
        number of word rows — they come first)."""
        wi, pi = self.index, self.pair_index
        kw = words.keys() & wi.keys()
        kp = pairs.keys() & pi.keys()
        rows = [*map(wi.__getitem__, kw), *map(pi.__getitem__, kp)]
        tf = [*map(words.__getitem__, kw), *map(pairs.__getitem__, kp)]
        cuts = [len(kw), len(rows)]
        titled = title is not None and self._titled
        if titled:
            tw, tp = title
            ti, tpi = self.title_index, self.title_pair_index
            ktw = tw.keys() & ti.keys()
            ktp = tp.keys() & tpi.keys()
            rows += [*map(ti.__getitem__, ktw), *map(tpi.__getitem__, ktp)]
            tf += [*map(tw.__getitem__, ktw), *map(tp.__getitem__, ktp)]
            cuts.append(len(rows))
        if not rows:
            return [], np.zeros(0), titled, 0
        rows = np.array(rows, dtype=np.int64)
        x = (1.0 + np.log(np.array(tf, dtype=np.float64))) * self._idf[rows]
        if self.norm == "per_block":
            start = 0
            for end in cuts:
                if end > start:
                    part = x[start:end]
                    part /= math.sqrt(part @ part)
                start = end
        else:
            x /= math.sqrt(x @ x)
        return rows, x, titled, cuts[0]

    # --- scores --------------------------------------------------------------------------
    def scores(self, x, titled: bool | None = None) -> list[float]:
        """x: a vector from ``vector_from``; the title's bias counts when it had a title."""
        rows, values = x[0], x[1]
        if x[2] if titled is None else titled:
            bias, scale = self._bias + self._title_bias, 1.0
        else:
            bias, scale = self._bias, self._untitled_scale
        if not len(rows):
            return (bias * scale).tolist()
        return ((values @ self._weights[rows] + bias) * scale).tolist()

    def probabilities(self, scores: list[float]) -> list[float]:
        t = self.temperature
        top = max(scores)
        e = [math.exp((s - top) * t) for s in scores]
        z = sum(e)
        return [v / z for v in e]

    def contributions(self, x, k: int, n: int = 40,
                      words_only: bool = False) -> list[tuple[str, float]]:
        """The n features (or words) that add most to category k's score, heaviest first."""
        rows, values = x[0], x[1]
        if words_only:
            rows, values = rows[:x[3]], values[:x[3]]
        if not len(rows):
            return []
        c = values * self._weights[rows, k]
        order = np.argsort(-c)[:n]
        words = self.words
        return [(words[r], v) for r, v in zip(rows[order].tolist(), c[order].tolist()) if v > 0]

    def keywords(self, k: int, n: int = 30, pairs: bool = False) -> list[tuple[str, float]]:
        """The words with the largest weight for category k: the category's learned keywords."""
        order = np.argsort(-self._weights[:, k])
        out = []
        for i in order:
            if pairs or self.words[i][0] not in (_PAIR, _TITLE):
                out.append((self.words[i], float(self._weights[i, k])))
                if len(out) == n:
                    break
        return out

    # --- file format ---------------------------------------------------------------------------
    def _data(self) -> dict:
        data = {
            "classes": self.classes, "bias": [round(b, 5) for b in self.bias],
            "temperature": round(self.temperature, 4), "title_weight": self.title_weight,
            "norm": self.norm, "meta": self.meta,
            **({"title_bias": [round(b, 5) for b in self.title_bias],
                "title_share": self.title_share} if self.title_bias else {}),
            "vocab": {w: [round(v, 3) for v in row] for w, row in sorted(self.vocab.items())},
        }
        if self.short is not None:
            data["short_chars"] = self.short_chars
            data["short"] = self.short._data()
        return data

    def save(self, path: Path) -> None:
        data = {"format": FORMAT, **self._data()}
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(gzip.compress(raw, compresslevel=9, mtime=0))

    @classmethod
    def _from(cls, data: dict) -> "LinearModel":
        short = cls._from(data["short"]) if data.get("short") else None
        return cls(data["classes"], data["bias"], data["vocab"], data["temperature"],
                   data["title_weight"], data.get("meta"), data.get("norm", "joint"), short,
                   int(data.get("short_chars", 0)), data.get("title_bias"),
                   float(data.get("title_share", 0.0)))

    @classmethod
    def load(cls, path: Path) -> "LinearModel":
        with gzip.open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        if data.get("format") not in (1, FORMAT):
            raise ValueError(f"模型文件格式不支持：{path}")
        return cls._from(data)
