"""The learned part: one weight per (feature, first-level category).

Features are jieba words, the character pairs of the text (marked ``#`` in the file) — the
title's counted ``title_weight`` times — and the title's own words and pairs (marked ``@``).
A document becomes sublinear TF-IDF (1 + log tf) × idf, L2-normalised — each block on its own
(``norm: per_block``), as the blocks were trained as separate models whose scores are
averaged — and the score of a category is the dot product with its weights plus a bias
(plus ``title_bias`` when there is a title). Without a title, the title block's share
(``title_share``) is left out and the other blocks' scores are scaled back up to the whole,
as if the model had been trained without it. No scikit-learn at run time.

A model may carry a second, smaller model for short input (``short``): messages of at most
``short_chars`` characters — a chat message, a subject line — are scored by it instead.

The file is a gzipped tar: ``model.json`` (classes, biases, settings, what it was trained on),
``words.txt`` (the features, one a line) and ``weights.npy`` (float32, one row per feature:
its idf, then its weight for each class), the short-input model's under ``short/``: loading
it is a few array reads. ``python main.py nlp keywords`` prints each category's top words."""
from __future__ import annotations

import gzip
import io
import json
import math
import tarfile
from bisect import bisect_left
from collections import Counter
from itertools import chain
from operator import add
from pathlib import Path

import numpy as np

from .pairs import PairTable, pair_codes

FORMAT = 3
_PAIR = "#"
_TITLE = "@"


def features(title_tokens: list[str], text_tokens: list[str], title_weight: int = 3) -> Counter:
    """The features of a document as training sees them: words (tokens made of letters and
    digits) and ``#``-marked character pairs of letters and digits, title counted
    ``title_weight`` times. ``LinearModel.vector_of`` finds the same at run time, faster."""
    counts = _words_and_pairs(text_tokens)
    for t, n in _words_and_pairs(title_tokens).items():
        counts[t] += n * title_weight
    return counts


def title_features(title_tokens: list[str]) -> Counter:
    """The title's own block: its words and pairs, marked ``@``, each counted once."""
    return Counter({_TITLE + k: n for k, n in _words_and_pairs(title_tokens).items()})


def _words_and_pairs(tokens: list[str]) -> Counter:
    s = "".join(tokens)
    counts = Counter(t for t in tokens if t.isalnum())   # punctuation is not a feature
    counts.update(_PAIR + p for p in map(add, s, s[1:]) if p.isalnum())
    return counts


class LinearModel:
    def __init__(self, classes: list[str], bias: list[float], words: list[str], table,
                 temperature: float = 1.0, title_weight: int = 3, meta: dict | None = None,
                 norm: str = "joint", short: LinearModel | None = None, short_chars: int = 0,
                 title_bias: list[float] | None = None, title_share: float = 0.0,
                 short_mix: float = 0.0):
        """``words``: the features; ``table``: one row per feature, [idf, w_class0, w_class1, …]."""
        words = list(words)
        table = np.asarray(table, dtype=np.float64).reshape(len(words), len(classes) + 1)
        if not all(map(str.__le__, words, words[1:])):  # kept sorted: each block is one range
            order = sorted(range(len(words)), key=words.__getitem__)
            words, table = [words[i] for i in order], table[order]
        self.classes = list(classes)
        self.bias = list(bias)
        self.words = words
        self.temperature = temperature     # softmax(score × temperature) gives probabilities
        self.title_weight = title_weight
        self.meta = meta or {}
        self.norm = norm                   # "joint": one L2 norm; "per_block": each block apart
        self.short = short                 # the model for short input, or None
        self.short_chars = short_chars
        self.short_mix = short_mix         # this model's share of a short titled message's score
        self.title_bias = title_bias
        self.title_share = title_share     # the title block's share of the score
        self._untitled_scale = 1.0 / (1.0 - title_share)
        self._idf, self._weights = table[:, 0], table[:, 1:]
        self._bias = np.asarray(bias, dtype=np.float64)
        self._title_bias = np.asarray(title_bias or np.zeros(len(classes)), dtype=np.float64)
        # feature → row: words in dicts, pairs in tables searched by code (see pairs.py). In
        # sorted order the marked blocks are ranges: "#…" the pairs, "@#…" and "@…" the title's;
        # features are letters and digits, so nothing else sorts among them
        def span(prefix: str) -> tuple[int, int]:
            after = prefix[:-1] + chr(ord(prefix[-1]) + 1)    # the first string past the prefix
            return bisect_left(words, prefix), bisect_left(words, after)

        (p0, p1), (t0, t1), (tp0, tp1) = span(_PAIR), span(_TITLE), span(_TITLE + _PAIR)
        self.index = {}
        for a, b in ((0, p0), (p1, t0), (t1, len(words))):
            self.index.update(zip(words[a:b], range(a, b), strict=False))
        self.title_index = {words[i][1:]: i for i in chain(range(t0, tp0), range(tp1, t1))}
        self.pairs = PairTable([w[1:] for w in words[p0:p1]], np.arange(p0, p1))
        self.title_pairs = PairTable([w[2:] for w in words[tp0:tp1]], np.arange(tp0, tp1))
        self._titled = t1 > t0

    def for_length(self, n_chars: int) -> LinearModel:
        """The model that scores a message of ``n_chars`` characters."""
        if self.short is not None and n_chars <= self.short_chars:
            return self.short
        return self

    # --- document → vector ---------------------------------------------------------------
    def vector_of(self, title_tokens: list[str], text_tokens: list[str],
                  text_pairs: np.ndarray | None = None, title_pairs: np.ndarray | None = None):
        """Sublinear TF-IDF, L2-normalised, over the known features: (rows, values, titled,
        number of word rows — they come first, the rows' weights). ``text_pairs`` and
        ``title_pairs``: the ``pair_codes`` of the joined tokens, when the caller has them."""
        if text_pairs is None:
            text_pairs = pair_codes("".join(text_tokens))
        words, pairs = Counter(text_tokens), text_pairs
        titled = bool(title_tokens) and self._titled
        if title_tokens:
            if title_pairs is None:
                title_pairs = pair_codes("".join(title_tokens))
            title_words = Counter(title_tokens)
            k = self.title_weight
            for t, n in title_words.items():
                words[t] += n * k
            pairs = np.concatenate([text_pairs, *[title_pairs] * k])
        # (rows, counts) of words, pairs and — one block — the title's own words and pairs
        parts = [self._word_rows(words, self.index), self.pairs.count(pairs)]
        if titled:
            parts += [self._word_rows(title_words, self.title_index),
                      self.title_pairs.count(title_pairs)]
        rows = np.concatenate([r for r, _ in parts]).astype(np.int64)
        n_words = len(parts[0][0])
        if not len(rows):
            return rows, np.zeros(0), titled, 0, self._weights[:0]
        tf = np.concatenate([n for _, n in parts]).astype(np.float64)
        x = (1.0 + np.log(tf)) * self._idf[rows]
        if self.norm == "per_block":
            start = 0
            for end in (n_words, n_words + len(parts[1][0]), len(rows)):
                if end > start:
                    part = x[start:end]
                    part /= math.sqrt(part @ part)
                start = end
        else:
            x /= math.sqrt(x @ x)
        return rows, x, titled, n_words, self._weights[rows]

    @staticmethod
    def _word_rows(counts: Counter, index: dict) -> tuple[list[int], list[int]]:
        known = counts.keys() & index.keys()
        return [*map(index.__getitem__, known)], [*map(counts.__getitem__, known)]

    # --- scores --------------------------------------------------------------------------
    def scores(self, x, titled: bool | None = None) -> list[float]:
        """x: a vector from ``vector_of``; the title's bias counts when it had a title."""
        rows, values = x[0], x[1]
        if x[2] if titled is None else titled:
            bias, scale = self._bias + self._title_bias, 1.0
        else:
            bias, scale = self._bias, self._untitled_scale
        if not len(rows):
            return (bias * scale).tolist()
        return ((values @ x[4] + bias) * scale).tolist()

    def probabilities(self, scores: list[float]) -> list[float]:
        t = self.temperature
        top = max(scores)
        e = [math.exp((s - top) * t) for s in scores]
        z = sum(e)
        return [v / z for v in e]

    def contributions(self, x, k: int, n: int = 40,
                      words_only: bool = False) -> list[tuple[str, float]]:
        """The n features (or words) that add most to category k's score, heaviest first."""
        rows, values, weights = x[0], x[1], x[4][:, k]
        if words_only:
            rows, values, weights = rows[:x[3]], values[:x[3]], weights[:x[3]]
        if not len(rows):
            return []
        c = values * weights
        order = np.argsort(-c)[:n]
        words = self.words
        return [(words[r], v) for r, v in zip(rows[order].tolist(), c[order].tolist(), strict=False) if v > 0]

    def keywords(self, k: int, n: int = 30, pairs: bool = False) -> list[tuple[str, float]]:
        """The words with the largest weight for category k: the category's learned keywords."""
        order = np.argsort(-self._weights[:, k], kind="stable")
        out = []
        for i in order:
            if pairs or self.words[i][0] not in (_PAIR, _TITLE):
                out.append((self.words[i], float(self._weights[i, k])))
                if len(out) == n:
                    break
        return out

    # --- file format ---------------------------------------------------------------------------
    def _header(self) -> dict:
        data = {"classes": self.classes, "bias": self.bias, "temperature": self.temperature,
                "title_weight": self.title_weight, "norm": self.norm, "meta": self.meta}
        if self.title_bias:
            data.update(title_bias=self.title_bias, title_share=self.title_share)
        return data

    def _files(self, prefix: str = "") -> dict[str, bytes]:
        weights = io.BytesIO()
        np.save(weights, np.column_stack([self._idf, self._weights]).astype(np.float32))
        return {prefix + "words.txt": "\n".join(self.words).encode("utf-8"),
                prefix + "weights.npy": weights.getvalue()}

    def save(self, path: Path) -> None:
        header = {"format": FORMAT, **self._header()}
        files = self._files()
        if self.short is not None:
            header.update(short_chars=self.short_chars, short_mix=self.short_mix,
                          short=self.short._header())
            files.update(self.short._files("short/"))
        files = {"model.json": json.dumps(header, ensure_ascii=False, indent=1).encode("utf-8"),
                 **files}
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(raw.getvalue(), compresslevel=9, mtime=0))

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        raw = gzip.decompress(Path(path).read_bytes())
        if raw[:1] == b"{":
            return cls._from_json(json.loads(raw.decode("utf-8")), path)
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
        header = json.loads(files["model.json"])
        if header.get("format") != FORMAT:
            raise ValueError(f"模型文件格式不支持：{path}")

        def part(data: dict, prefix: str = "") -> LinearModel:
            text = files[prefix + "words.txt"].decode("utf-8")
            words = text.split("\n") if text else []
            return cls._from(data, words, np.load(io.BytesIO(files[prefix + "weights.npy"])))

        model = part(header)
        if header.get("short"):
            model.short, model.short_chars = part(header["short"], "short/"), header["short_chars"]
            model.short_mix = float(header.get("short_mix", 0.0))
        return model

    @classmethod
    def _from(cls, data: dict, words: list[str], table) -> LinearModel:
        return cls(data["classes"], data["bias"], words, table, data["temperature"],
                   data["title_weight"], data.get("meta"), data.get("norm", "joint"),
                   title_bias=data.get("title_bias"),
                   title_share=float(data.get("title_share", 0.0)))

    @classmethod
    def _from_json(cls, data: dict, path: Path) -> LinearModel:
        """A model of the earlier format: gzipped JSON with a ``vocab`` of feature → row."""
        if data.get("format") not in (1, 2):
            raise ValueError(f"模型文件格式不支持：{path}")

        def part(d: dict) -> LinearModel:
            return cls._from(d, list(d["vocab"]), list(d["vocab"].values()))

        model = part(data)
        if data.get("short"):
            model.short, model.short_chars = part(data["short"]), int(data["short_chars"])
        return model
