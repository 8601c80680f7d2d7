"""Same matter: which open cases a new complaint is about again.

Two complaints are about the same matter when one handler would deal with them as one case: the
same concrete subject (employer, project, estate, school, village, named regulation …) and the
same problem, whoever wrote them (a repost, a follow-up, another worker of the same site). The
labelled definition is at the head of ``tests/nlp/same_matter.yaml``.

How a check works, without reading every open case:

1. The text is normalised as the project does (Traditional → Simplified, half-width, salutations
   removed: the caller's ``Normalizer``), links are dropped, and what is left of letters and
   digits is cut into character 3-grams, each hashed to 32 bits (stable across processes). The
   first sentence (a complaint's title-like opening) is kept apart as its character 2-grams.
2. Candidates come from two indexes: MinHash LSH over those 3-grams (MinHash values and the
   banding for the threshold from datasketch, the bands kept in sorted numpy arrays; finds texts
   with much in common, e.g. reposts) and an inverted index of *names* (盛恒炉料公司, 上田村, 月白公路
   …, read with the endings of ``config/similar.yaml``, in the whole text and apart in the first
   sentence, plus the subjects the caller extracted). A name found in more than
   ``rare_name_cases`` open cases names nothing in particular and is skipped.
3. Each candidate is judged on its signature alone by a small pair model, a logistic regression
   over ``PAIR_FEATURES``: Jaccard similarity estimated from the MinHash values, containment
   from it and the two 3-gram counts, the same two of the first sentences' 2-grams (exact), the
   rare names both share (and the longest), a subject the caller gave to both, a conflict
   (the two first sentences name places, companies … of one kind, or years, and none in
   common, not even two characters: 月白公路 and 双石公路 are two roads, 五一大桥 and 五一桥 one), a
   follow-up cue, the length ratio. Its weights and threshold are in
   ``config/similar.yaml`` (trained by ``bench/same_matter_eval.py --fit``). Two different
   subjects given by the caller for one field veto a match (``subject_conflict_jaccard``).

Everything needed for a check is in ``signature(text)``: stored beside a case, it rebuilds the
index at start without reading or normalising texts again. This module knows no database.

Measured on the 544 hand-labelled pairs (``bench/same_matter_eval.py --subjects``: trained on
one half, reported on the other): precision 0.963 / 0.952, recall 0.691 / 0.714; the shipped
model (trained on all) 0.961, 0.707. Issue 12 asks 0.95 and 0.8: other citizens' complaints
about one subject, 85 of the 317 same-matter pairs, share too few words to be told from the
same problem at another place (recall ≈ 0.37 there; reposts 1.0). The hand thresholds this
replaces: precision 0.92–0.93, recall 0.64 held out.

Measured (bench/linking_bench.py, 100,000 synthetic open cases, 2 cores shared with a busy
classifier job, load ≈ 9): a check p50 ≈ 1.9 ms, p95 ≈ 11 ms including normalisation (the
version before the pair model, same load: 1.1 ms, 10 ms); the index holds ≈ 168 MB (1.8 kB
per case; before 127 MB); rebuilt from stored signatures in ≈ 10 s; ≈ 1–2 ms per case to sign
a text. Most candidates are turned down on their text features in one numpy pass
(``_hopeless``) before any name is looked at.
"""
from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

from .rules import read_yaml

_URL = re.compile(r"https?://\S+|www\.\S+")
_NOT_WORD = re.compile(r"[^\w]+")
_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]?")
_LIST_BREAK = re.compile(r"[、，,；;和及与/]")
_PLACE = re.compile(r"(?:[A-Za-z]|\w{2,3}?)[省市区县](?!场|政|委|府|长|民)")
_PHASE = re.compile(r"[一二三四五六七八九十\d]{1,3}期$")
_MAGIC = b"SM2"   # SM2: the first sentence's 2-grams (``Signature.head``) added
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NAME_CORES = (2, 3, 4)   # a name's last characters kept besides the whole (see ``names``)
_SCHEME = "affine32"   # datasketch's MinHash scheme; part of what a stored signature means
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?=年|届|级)")
HEAD = "head:"   # the kinds of the names read in the first sentence begin so
PIECE = "piece"   # two characters of a name read in the first sentence (see ``names``)
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
HEAD_CHARS = 40   # the title-like first sentence is read up to this many letters and digits
PAIR_FEATURES = ("jaccard", "containment", "head_jaccard", "head_containment", "shared_name",
                 "shared_name_length", "shared_subject", "head_conflict", "follow_up",
                 "length_ratio")
"""What ``SameMatterIndex.pair_features`` measures of a pair, in order; the pair model of
``config/similar.yaml`` weighs them (see ``SimilarConfig.pair_weights``)."""
_TEXT_FEATURES = ("jaccard", "containment", "head_jaccard", "head_containment", "follow_up",
                  "length_ratio")   # those not about names (``SameMatterIndex._hopeless``)


@dataclass(frozen=True)
class SimilarConfig:
    """Thresholds (defaults documented here, the one place they are set), the words and the
    pair model of ``config/similar.yaml``."""

    num_perm: int = 128
    """MinHash values per text: the Jaccard estimate's standard error is about 0.04 at 0.5."""
    seed: int = 1
    """The MinHash permutations. Changing it (or ``num_perm``) invalidates stored signatures."""
    lsh_threshold: float = 0.3
    """Jaccard at which the LSH index returns a pair about half the time; below it, candidates
    come from shared names. 0.3 reaches 11 more labelled same-matter pairs than 0.5 did."""
    near_jaccard: float = 0.6
    """Reported as a near duplicate from this 3-gram overlap (and, without a pair model, the
    only way to be the same matter: a repost with small edits)."""
    near_containment: float = 0.8
    """Share of the shorter text's 3-grams found in the other: a shortened repost (as above)."""
    subject_conflict_jaccard: float = 0.3
    """Two different subjects given by the caller for one field (two employers) veto a match
    below this Jaccard: the caller's word against the text's."""
    rare_name_cases: int = 30
    """A name in more open cases than this is no evidence (and is not looked up)."""
    max_candidates: int = 500
    """At most this many candidates are checked per complaint."""
    max_name_chars: int = 6
    min_name_chars: int = 2
    same_probability: float = 0.5
    """The pair model's probability from which a pair is the same matter (``threshold`` of
    ``pair_model:``)."""
    pair_bias: float = 0.0
    pair_weights: Mapping[str, float] = field(default_factory=dict)
    """The pair model (``pair_model:`` of ``config/similar.yaml``): a logistic regression over
    ``PAIR_FEATURES`` trained on the labelled pairs by ``bench/same_matter_eval.py --fit``.
    Without it only near duplicates (``near_jaccard``, ``near_containment``) are found."""

    name_endings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    name_breaks: frozenset[str] = frozenset()
    not_names: frozenset[str] = frozenset()
    subject_suffixes: tuple[str, ...] = ()
    subject_trades: tuple[str, ...] = ()
    follow_up_cues: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, raw: Mapping) -> SimilarConfig:
        """From the contents of ``config/similar.yaml``; ``thresholds:`` overrides defaults."""
        known = {f.name for f in fields(cls)}
        overrides = {k: v for k, v in (raw.get("thresholds") or {}).items() if k in known}
        unknown = set(raw.get("thresholds") or {}) - known
        if unknown:
            raise ValueError(f"similar.yaml: unknown thresholds {sorted(unknown)}")
        model = raw.get("pair_model") or {}
        weights = {str(k): float(v) for k, v in (model.get("weights") or {}).items()}
        if set(weights) - set(PAIR_FEATURES):
            raise ValueError(f"similar.yaml: unknown pair features "
                             f"{sorted(set(weights) - set(PAIR_FEATURES))}")
        if "bias" in model:
            overrides.setdefault("pair_bias", float(model["bias"]))
        if "threshold" in model:
            overrides.setdefault("same_probability", float(model["threshold"]))
        return cls(
            pair_weights=weights,
            name_endings={str(k): tuple(str(e) for e in v)
                          for k, v in (raw.get("name_endings") or {}).items()},
            name_breaks=frozenset(str(raw.get("name_breaks") or "")),
            not_names=frozenset(str(w) for w in raw.get("not_names") or ()),
            subject_suffixes=tuple(str(w) for w in raw.get("subject_suffixes") or ()),
            subject_trades=tuple(str(w) for w in raw.get("subject_trades") or ()),
            follow_up_cues=tuple(str(w) for w in raw.get("follow_up_cues") or ()),
            **overrides)

    @classmethod
    def load(cls, path: Path) -> SimilarConfig:
        return cls.from_mapping(read_yaml(path))

    def with_thresholds(self, **values) -> SimilarConfig:
        return replace(self, **values)


_LAYOUT = "<3sBIHIH"   # magic, follow-up, 3-grams, MinHash values, names' bytes, head 2-grams


@dataclass(frozen=True, slots=True)
class Signature:
    """What the index keeps of a text: MinHash values, 3-gram count, names and subjects."""

    hashvalues: np.ndarray            # uint32, num_perm
    size: int                         # distinct 3-grams
    names: frozenset[tuple[str, str]]  # (kind, name)
    follow_up: bool = False
    head: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint32))
    """The first sentence's distinct character 2-grams, hashed (sorted uint32, at most
    ``HEAD_CHARS - 1``): a complaint's title-like opening, compared exactly."""

    def to_bytes(self) -> bytes:
        names = "\x1f".join(f"{k}\x1e{n}" for k, n in sorted(self.names)).encode("utf-8")
        start = struct.pack(_LAYOUT, _MAGIC, int(self.follow_up), self.size,
                            len(self.hashvalues), len(names), len(self.head))
        return (start + self.hashvalues.astype("<u4").tobytes()
                + self.head.astype("<u4").tobytes() + names)

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        if data[:3] != _MAGIC or len(data) < struct.calcsize(_LAYOUT):
            raise ValueError("not a same-matter signature (or one made another way)")
        _magic, follow_up, size, perms, n, h = struct.unpack_from(_LAYOUT, data)
        start = struct.calcsize(_LAYOUT)
        values = np.frombuffer(data, "<u4", perms, start).astype(np.uint32)
        start += 4 * perms
        head = np.frombuffer(data, "<u4", h, start).astype(np.uint32)
        start += 4 * h
        text = data[start:start + n].decode("utf-8")
        names = frozenset(tuple(item.split("\x1e", 1)) for item in text.split("\x1f") if item)
        return cls(values, size, names, bool(follow_up), head)


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """A subject (employer, project, estate …) as ``SignatureMaker.subject_key`` reads it."""

    core: str
    trade: str = ""

    def __str__(self) -> str:
        return self.core + self.trade


@dataclass(frozen=True, slots=True)
class Match:
    key: str
    score: float           # estimated 3-gram Jaccard similarity, 0..1
    reason: str            # near_duplicate | contained | follow_up | same_subject | similar_text
    shared: tuple[str, ...] = ()   # the rare names (or subjects) both have


class SignatureMaker:
    """Text → ``Signature``: normalisation, 3-grams, MinHash, names. Stateless after start."""

    def __init__(self, config: SimilarConfig, normalize: Callable[[str], str] | None = None):
        self.config = config
        self.normalize = normalize or (lambda text: text)
        endings = sorted(((e, kind) for kind, es in config.name_endings.items() for e in es),
                         key=lambda item: -len(item[0]))
        self._kind = dict(endings)
        self._endings = (re.compile("|".join(re.escape(e) for e, _ in endings))
                         if endings else None)
        self._cues = (re.compile("|".join(re.escape(c) for c in config.follow_up_cues))
                      if config.follow_up_cues else None)
        self._suffixes = tuple(sorted(config.subject_suffixes, key=len, reverse=True))
        self._org_endings = frozenset(config.subject_suffixes)
        self._trades = tuple(sorted(config.subject_trades, key=len, reverse=True))
        self._words = frozenset(self._kind) | frozenset(config.subject_trades)
        self._template = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=_as_is,
                                 scheme=_SCHEME)

    def __call__(self, text: str, subjects: Mapping[str, str] | None = None) -> Signature:
        text = _URL.sub(" ", self.normalize(text or ""))
        grams = gram_hashes(_NOT_WORD.sub("", text))
        minhash = self._template.copy()
        if len(grams):
            minhash.update_batch(grams.tolist())
        first = first_sentence(text)
        names = (self.names(text) | self.subject_names(subjects)
                 | {(HEAD + kind, name) for kind, name in self.names(first, pieces=True)}
                 | {(HEAD + "year", y) for y in _YEAR.findall(first)})
        follow_up = bool(self._cues and self._cues.search(text))
        head = gram_hashes(_NOT_WORD.sub("", first)[:HEAD_CHARS], 2).astype(np.uint32)
        return Signature(minhash.hashvalues.astype(np.uint32), len(grams), frozenset(names),
                         follow_up, head)

    def names(self, text: str, pieces: bool = False) -> set[tuple[str, str]]:
        """Names in ``text``: (kind, name). Where a name starts is a guess (承包方华建劳务公司), so
        the name is kept with its last 2, 3 and 4 characters before the ending as well as
        whole, except where those characters are an ending or a trade themselves (劳务, 项目);
        a company's name is kept without its ending (华建劳务有限公司 = 华建劳务公司). With
        ``pieces`` the two-character pieces of each name before its ending are kept too, of kind
        ``piece`` (五一大桥 and 五一桥 share 五一: not two bridges)."""
        found: set[tuple[str, str]] = set()
        if self._endings is None:
            return found
        cfg = self.config
        for m in self._endings.finditer(text):
            start = m.start()
            while (start > 0 and m.start() - start < cfg.max_name_chars
                   and text[start - 1].isalnum() and text[start - 1] not in cfg.name_breaks):
                start -= 1
            core = text[start:m.start()]
            if len(core) < cfg.min_name_chars or core.isdigit():
                continue
            kind = self._kind[m.group()]
            ending = "" if m.group() in self._org_endings else m.group()
            if core + m.group() in cfg.not_names:
                continue
            for length in {len(core), *(n for n in _NAME_CORES if n < len(core))}:
                if core[-length:] not in self._words:   # 劳务 of 华建劳务, 项目 of 幸福里项目工地
                    found.add((kind, core[-length:] + ending))
            if pieces:
                found.update((PIECE, core[i:i + 2]) for i in range(len(core) - 1)
                             if not core[i:i + 2].isdigit())
        return found

    def subject(self, value: str) -> str:
        """A subject as compared: normalised, spaces and a company ending dropped."""
        value = _NOT_WORD.sub("", self.normalize(value or ""))
        for suffix in self._suffixes:
            if value.endswith(suffix) and len(value) > len(suffix) + 1:
                return value[:-len(suffix)]
        return value

    def subject_key(self, value: str) -> SubjectKey:
        """A subject as counted and linked: its core and its trade (华建劳务有限公司, 华建劳务公司,
        华建劳务 → 华建 + 劳务; 华建 → 华建 + nothing). Two keys are one subject when the cores are
        equal and the trades fit (``cases.matters.same_subject``): 华建 is 华建劳务, 华建劳务 is not
        华建建筑. What is in brackets (包工头王某) and a leading place (A市B区) are
        left out; so is a phase of an estate (二期), which counts as its trade."""
        value = _BRACKETS.sub("", self.normalize(value or ""))
        value = _NOT_WORD.sub("", _LIST_BREAK.split(value, 1)[0])
        for suffix in self._suffixes:
            if value.endswith(suffix) and len(value) > len(suffix) + 1:
                value = value[:-len(suffix)]
                break
        for _ in range(2):
            place = _PLACE.match(value)
            if place and len(value) - place.end() >= 2:
                value = value[place.end():]
        trade = ""
        phase = _PHASE.search(value)
        if phase and phase.start() >= 2:
            value, trade = value[:phase.start()], phase.group()
        else:
            for word in self._trades:
                if value.endswith(word) and len(value) - len(word) >= 2:
                    value, trade = value[:-len(word)], word
                    break
        return SubjectKey(value, trade)

    def subject_names(self, subjects: Mapping[str, str] | None) -> set[tuple[str, str]]:
        return {(f"subject:{k}", s) for k, v in (subjects or {}).items()
                if v and (s := self.subject(str(v)))}


def first_sentence(text: str) -> str:
    """The title-like first sentence: up to the first full stop (question mark, semicolon,
    line break) that ends something with letters or digits in it."""
    for part in _SENTENCE_END.split(text):
        if _NOT_WORD.sub("", part):
            return part
    return ""


def head_text(text: str) -> str:
    """The first sentence's letters and digits, at most ``HEAD_CHARS``."""
    return _NOT_WORD.sub("", first_sentence(text))[:HEAD_CHARS]


def _as_is(value: int) -> int:
    """The 3-grams arrive hashed already (``gram_hashes``)."""
    return value


def gram_hashes(text: str, n: int = 3) -> np.ndarray:
    """The distinct character ``n``-grams of ``text`` as 32-bit hashes (sorted uint64 array).
    A gram's code is its code points side by side (21 bits each), mixed by a multiplicative
    hash: the same in every process, unlike ``hash()``."""
    if len(text) < n:
        text = text.ljust(n, "\0") if text else ""
    if not text:
        return np.empty(0, np.uint64)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4").astype(np.uint64)
    codes = points[:len(points) - n + 1].copy()
    for i in range(1, n):
        codes |= points[i:len(points) - n + 1 + i] << np.uint64(21 * i)
    with np.errstate(over="ignore"):
        mixed = (codes * _GOLDEN) >> np.uint64(32)
    return np.unique(mixed)


class _Postings:
    """Integer keys → the slots of the cases that have them, compact: sorted numpy arrays
    (searched, not scanned) rebuilt now and then, recent additions in a dict meanwhile. Freed
    slots stay until the next rebuild; callers skip them."""

    def __init__(self) -> None:
        self._codes = np.empty(0, np.int64)
        self._slots = np.empty(0, np.int32)
        self._recent: dict[int, list[int]] = {}
        self.pending = 0

    def add(self, slot: int, codes: Iterable[int]) -> None:
        for code in codes:
            self._recent.setdefault(code, []).append(slot)
        self.pending += 1

    def rebuild(self, codes: np.ndarray, slots: np.ndarray) -> None:
        order = np.argsort(codes, kind="stable")
        self._codes, self._slots = codes[order], slots[order].astype(np.int32)
        self._recent = {}
        self.pending = 0

    def get(self, code: int, limit: int) -> list[int] | None:
        """The slots with ``code``, or None when there are more than ``limit`` (freed included)."""
        lo = int(self._codes.searchsorted(code, "left"))
        hi = int(self._codes.searchsorted(code, "right"))
        recent = self._recent.get(code, ())
        if hi - lo + len(recent) > limit:
            return None
        return [*self._slots[lo:hi].tolist(), *recent]


class SameMatterIndex:
    """Open cases by key; ``find`` returns those about the same matter as a new text.

    Not thread-safe: one writer (or a lock) around ``add``/``remove``/``find``. Kept per open
    case: the MinHash values (0.5 kB), their band hashes in the LSH arrays (37 bands at the 0.3
    threshold: 0.4 kB), the first sentence's 2-grams (0.16 kB) and the names as 8-byte codes
    with their postings (≈ 1.8 kB in all); no text is kept.

    datasketch's own ``MinHashLSH`` keeps Python bytes and a set per bucket: the first version
    of this index, built on it, held ≈ 10 kB per case (tracemalloc), ≈ 1 GB for 100,000 open
    cases. Only datasketch's MinHash and its choice of bands and rows for the threshold are used."""

    def __init__(self, config: SimilarConfig, normalize: Callable[[str], str] | None = None):
        self.config = config
        self.make = SignatureMaker(config, normalize)
        params = MinHashLSH(threshold=config.lsh_threshold, num_perm=config.num_perm)
        self._bands_rows = (params.b, params.r)
        rng = np.random.default_rng(config.seed)
        self._mix = rng.integers(1, 2**63, size=(params.b, params.r), dtype=np.uint64)
        self._values = np.zeros((1024, config.num_perm), np.uint32)
        self._sizes = np.zeros(1024, np.int32)
        self._heads = np.zeros((1024, HEAD_CHARS), np.uint32)
        self._head_sizes = np.zeros(1024, np.int8)
        self._keys: list[str | None] = []
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._name_codes: dict[int, np.ndarray] = {}
        self._kinds: dict[str, int] = {}
        self._bands = [_Postings() for _ in range(params.b)]
        self._names = _Postings()
        self._cache_for: tuple[SimilarConfig, int] | None = None
        self._cache: tuple[set[int], set[int], np.ndarray | None, float] = (set(), set(), None,
                                                                          0.0)

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, key: str) -> bool:
        return key in self._slot

    # ---------------------------------------------------------------- building

    def signature(self, text: str, subjects: Mapping[str, str] | None = None) -> bytes:
        """The bytes to store beside a case (≈ 0.5 kB + its names)."""
        return self.make(text, subjects).to_bytes()

    def add(self, key: str, text: str, subjects: Mapping[str, str] | None = None) -> None:
        self.add_signature(key, self.make(text, subjects))

    def add_signature(self, key: str, signature: Signature | bytes) -> None:
        """Add (or replace) a case from a stored signature: no text needed."""
        slot, codes = self._place(key, signature)
        for band, code in enumerate(self._band_codes(self._values[slot:slot + 1])[0].tolist()):
            self._bands[band].add(slot, (code,))
        if codes:
            self._names.add(slot, codes)
        if self._names.pending + self._bands[0].pending > max(4096, len(self._slot) // 4):
            self._rebuild()

    def add_many(self, items: Iterable[tuple[str, Signature | bytes]]) -> None:
        """Add many cases at once (at start, from stored signatures): the lookup arrays are
        built once at the end."""
        for key, signature in items:
            self._place(key, signature)
        self._rebuild()

    def remove(self, key: str) -> None:
        """Forget a case (closed, merged). Unknown keys are ignored."""
        slot = self._slot.pop(key, None)
        if slot is None:
            return
        self._keys[slot] = None
        self._name_codes.pop(slot, None)
        self._free.append(slot)

    # ---------------------------------------------------------------- checking

    def find(self, text: str, subjects: Mapping[str, str] | None = None, k: int = 5,
             exclude: Iterable[str] = ()) -> list[Match]:
        """The open cases about the same matter as ``text``, best first, at most ``k``."""
        return self.find_signature(self.make(text, subjects), k, exclude)

    def find_signature(self, query: Signature, k: int = 5,
                       exclude: Iterable[str] = ()) -> list[Match]:
        excluded = {self._slot[key] for key in exclude if key in self._slot}
        codes = self._codes(query.names)
        rare = self._rare_codes(codes)
        slots = [slot for slot in self._candidate_slots(query, rare) if slot not in excluded]
        if not slots:
            return []
        index = np.array(slots, np.int64)
        jaccards = (self._values[index] == query.hashvalues).mean(axis=1)
        heads = self._head_common(query.head, index)
        hopeless = self._hopeless(query, index, jaccards, heads)
        matches = []
        for slot, jaccard, head, skip in zip(slots, jaccards.tolist(), heads.tolist(),
                                             hopeless.tolist(), strict=True):
            if skip:
                continue
            other = self._name_codes.get(slot, _NO_CODES)
            match = self._decide(query, codes, rare, int(self._sizes[slot]),
                                 int(self._head_sizes[slot]), other, jaccard, head,
                                 self._keys[slot] or "")
            if match is not None:
                matches.append(match)
        matches.sort(key=lambda m: (-m.score, m.key))
        return matches[:k]

    def compare(self, query: Signature, other: Signature, key: str = "") -> Match | None:
        """The precise check of one pair, names judged rare or not by this index."""
        return self._decide(*self._pair(query, other), key=key)

    def pair_features(self, query: Signature, other: Signature) -> np.ndarray:
        """``PAIR_FEATURES`` of a pair (for training the pair model)."""
        query, codes, rare, size, head_size, other_codes, jaccard, head = self._pair(query, other)
        return self._features(query, codes, rare, size, head_size, other_codes, jaccard,
                              head)[0]

    def candidates(self, query: Signature) -> set[str]:
        """The keys a check of ``query`` looks at (for measuring candidate generation)."""
        rare = self._rare_codes(self._codes(query.names))
        return {key for slot in self._candidate_slots(query, rare)
                if (key := self._keys[slot]) is not None}

    # ---------------------------------------------------------------- inside

    def _pair(self, query: Signature, other: Signature) -> tuple:
        jaccard = float(np.mean(query.hashvalues == other.hashvalues))
        codes = self._codes(query.names)
        other_codes = np.array(sorted(self._codes(other.names)), np.int64)
        head = len(np.intersect1d(query.head, other.head, assume_unique=True))
        return (query, codes, self._rare_codes(codes), other.size, len(other.head), other_codes,
                jaccard, head)

    def _features(self, query: Signature, codes: dict[int, tuple[str, str]], rare: set[int],
                  size: int, head_size: int, other: np.ndarray, jaccard: float,
                  head: int) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """The pair's ``PAIR_FEATURES`` and the rare names both have."""
        smaller = min(query.size, size)
        common = jaccard / (1 + jaccard) * (query.size + size)
        containment = min(common / smaller, 1.0) if smaller else 0.0
        union = len(query.head) + head_size - head
        head_smaller = min(len(query.head), head_size)
        both = set(other.tolist()) & codes.keys() if len(other) and codes else set()
        shared = sorted(codes[c] for c in both if c in rare)
        in_text = [name for kind, name in shared if not kind.startswith(("subject:", HEAD))]
        head_conflict = self._head_conflict(codes.keys(), other, both)
        values = (
            jaccard, containment,
            head / union if union else 0.0,
            head / head_smaller if head_smaller else 0.0,
            float(bool(in_text)),
            min(max(map(len, in_text), default=0), 8) / 8,
            float(any(kind.startswith("subject:") for kind, _name in shared)),
            float(head_conflict),
            float(query.follow_up),
            min(query.size, size) / max(query.size, size, 1),
        )
        return np.array(values), shared

    def _decide(self, query: Signature, codes: dict[int, tuple[str, str]], rare: set[int],
                size: int, head_size: int, other: np.ndarray, jaccard: float, head: int,
                key: str = "") -> Match | None:
        cfg = self.config
        values, shared = self._features(query, codes, rare, size, head_size, other, jaccard,
                                        head)
        plain = tuple(name for _kind, name in shared)
        jaccard, containment = values[0], values[1]
        if (jaccard < cfg.subject_conflict_jaccard
                and self._subject_conflict(codes.keys(), other)):
            return None
        if self._weights is not None:
            if float(values @ self._weights) + cfg.pair_bias < self._logit:
                return None
        elif not (jaccard >= cfg.near_jaccard or containment >= cfg.near_containment):
            return None
        if jaccard >= cfg.near_jaccard:
            reason = "near_duplicate"
        elif containment >= cfg.near_containment:
            reason = "contained"
        elif query.follow_up and shared:
            reason = "follow_up"
        elif shared:
            reason = "same_subject"
        else:
            reason = "similar_text"
        return Match(key, float(jaccard), reason, plain)

    def _head_conflict(self, codes: Iterable[int], other: np.ndarray, both: set[int]) -> bool:
        """The two first sentences name things of one kind (villages, roads, years …) and no
        name in common, not even the last characters or two characters of one: two
        subjects."""
        if not len(other):
            return False
        kinds = self._head_kinds
        piece = self._kinds.get(HEAD + PIECE)
        if any(c & 0xFF in kinds or c & 0xFF == piece for c in both):
            return False
        mine = {c & 0xFF for c in codes}
        theirs = {c & 0xFF for c in other.tolist()}
        return bool(mine & theirs & kinds)

    def _hopeless(self, query: Signature, index: np.ndarray, jaccards: np.ndarray,
                  heads: np.ndarray) -> np.ndarray:
        """The candidates the pair model turns down whatever names they share: their text
        features (as ``_features`` computes them, for all candidates at once) and the most the
        name features could add stay below the threshold. Saves the names' check of most."""
        weights = self._weights
        if weights is None:
            return np.zeros(len(index), bool)
        sizes = self._sizes[index].astype(float)
        smaller = np.minimum(sizes, query.size)
        common = jaccards / (1 + jaccards) * (sizes + query.size)
        containment = np.minimum(np.divide(common, smaller, out=np.zeros_like(common),
                                           where=smaller > 0), 1.0)
        head_sizes = self._head_sizes[index].astype(float)
        union = head_sizes + len(query.head) - heads
        head_smaller = np.minimum(head_sizes, len(query.head))
        text = np.column_stack([
            jaccards, containment,
            np.divide(heads, union, out=np.zeros_like(union), where=union > 0),
            np.divide(heads, head_smaller, out=np.zeros_like(head_smaller),
                      where=head_smaller > 0),
            np.full(len(index), float(query.follow_up)),
            np.minimum(sizes, query.size) / np.maximum(np.maximum(sizes, query.size), 1)])
        at = [PAIR_FEATURES.index(name) for name in _TEXT_FEATURES]
        names = [i for i, name in enumerate(PAIR_FEATURES) if name not in _TEXT_FEATURES]
        most = float(np.clip(weights[names], 0, None).sum())
        return text @ weights[at] + self.config.pair_bias + most < self._logit - 1e-9

    def _subject_conflict(self, codes: Iterable[int], other: np.ndarray) -> bool:
        """A field the caller gave a subject for on both sides, with two different subjects."""
        if not len(other):
            return False
        given = self._given
        mine = {c for c in codes if c & 0xFF in given}
        if not mine:
            return False
        theirs = {c for c in other.tolist() if c & 0xFF in given}
        return bool({c & 0xFF for c in mine} & {c & 0xFF for c in theirs}
                    - {c & 0xFF for c in mine & theirs})

    @property
    def _given(self) -> set[int]:
        return self._derived()[0]

    @property
    def _head_kinds(self) -> set[int]:
        return self._derived()[1]

    @property
    def _weights(self) -> np.ndarray | None:
        return self._derived()[2]

    @property
    def _logit(self) -> float:
        return self._derived()[3]

    def _derived(self) -> tuple[set[int], set[int], np.ndarray | None, float]:
        """What every check reads of the config and the kinds of names: made again only when
        either changed (the config may be replaced, as the evaluation does)."""
        cfg = self.config
        if (self._cache_for is None or self._cache_for[0] is not cfg
                or self._cache_for[1] != len(self._kinds)):
            head = {HEAD + kind for kind in (*cfg.name_endings, "year")}
            weights = (np.array([float(cfg.pair_weights.get(name, 0.0))
                                 for name in PAIR_FEATURES]) if cfg.pair_weights else None)
            p = min(max(cfg.same_probability, 1e-6), 1 - 1e-6)
            self._cache = ({i for kind, i in self._kinds.items() if kind.startswith("subject:")},
                           {i for kind, i in self._kinds.items() if kind in head},
                           weights, float(np.log(p / (1 - p))))
            self._cache_for = (cfg, len(self._kinds))
        return self._cache

    def _head_common(self, head: np.ndarray, index: np.ndarray) -> np.ndarray:
        """How many of ``head``'s 2-grams each case of ``index`` has in its own head."""
        if not len(head):
            return np.zeros(len(index), np.int64)
        rows = self._heads[index]
        filled = np.arange(rows.shape[1]) < self._head_sizes[index][:, None]
        return (np.isin(rows, head) & filled).sum(axis=1)

    def _codes(self, names: Iterable[tuple[str, str]]) -> dict[int, tuple[str, str]]:
        """Names as 8-byte codes: a hash of the name (this process's, never stored) with the
        kind's number in the low byte."""
        out = {}
        for kind, name in names:
            kind_id = self._kinds.setdefault(kind, len(self._kinds) + 1)
            if kind_id > 0xFF:
                raise ValueError("more than 255 kinds of names")
            out[(hash((kind, name)) & ~0xFF) | kind_id] = (kind, name)
        return out

    def _rare_codes(self, codes: Iterable[int]) -> set[int]:
        """The names found in at most ``rare_name_cases`` open cases (pieces never count)."""
        limit = self.config.rare_name_cases
        piece = self._kinds.get(HEAD + PIECE)
        rare = set()
        for code in codes:
            if code & 0xFF == piece:
                continue
            slots = self._names.get(code, 4 * limit)
            if slots is not None and sum(self._live(s) for s in slots) <= limit:
                rare.add(code)
        return rare

    def _live(self, slot: int) -> bool:
        return self._keys[slot] is not None and (
            slot in self._name_codes)

    def _candidate_slots(self, query: Signature, rare: set[int]) -> set[int]:
        found: set[int] = set()
        for band, code in enumerate(self._band_codes(query.hashvalues[None, :])[0].tolist()):
            found.update(self._bands[band].get(code, 1 << 30) or ())
        limit = self.config.rare_name_cases
        for code in rare:
            found.update(self._names.get(code, 4 * limit) or ())
        found = {slot for slot in found if self._keys[slot] is not None}
        if len(found) > self.config.max_candidates:
            found = set(sorted(found)[:self.config.max_candidates])
        return found

    def _band_codes(self, values: np.ndarray) -> np.ndarray:
        """(n, num_perm) MinHash values → (n, bands) band hashes as int64."""
        bands, rows = self._bands_rows
        parts = values[:, :bands * rows].astype(np.uint64).reshape(len(values), bands, rows)
        with np.errstate(over="ignore"):
            return (parts * self._mix).sum(axis=2, dtype=np.uint64).view(np.int64)

    def _place(self, key: str, signature: Signature | bytes) -> tuple[int, dict]:
        """Store a case's values and names in a slot; the lookup arrays are not touched."""
        if isinstance(signature, bytes | bytearray | memoryview):
            signature = Signature.from_bytes(bytes(signature))
        if len(signature.hashvalues) != self.config.num_perm:
            raise ValueError("signature made with another num_perm")
        if key in self._slot:
            self.remove(key)
        slot = self._free.pop() if self._free else len(self._keys)
        if slot == len(self._keys):
            self._keys.append(None)
            self._grow(slot + 1)
        self._keys[slot] = key
        self._slot[key] = slot
        self._values[slot] = signature.hashvalues
        self._sizes[slot] = signature.size
        head = signature.head[:HEAD_CHARS]
        self._heads[slot, :len(head)] = head
        self._head_sizes[slot] = len(head)
        codes = self._codes(signature.names)
        if codes:
            self._name_codes[slot] = np.array(sorted(codes), np.int64)
        return slot, codes

    def _grow(self, needed: int) -> None:
        if needed <= len(self._sizes):
            return
        capacity = max(needed, 2 * len(self._sizes))
        for name in ("_values", "_sizes", "_heads", "_head_sizes"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), old.dtype)
            new[:len(old)] = old
            setattr(self, name, new)

    def _rebuild(self) -> None:
        """The sorted arrays again from the live cases (freed slots dropped)."""
        slots = np.fromiter(self._slot.values(), np.int64, len(self._slot))
        band_codes = self._band_codes(self._values[slots])
        for band, postings in enumerate(self._bands):
            postings.rebuild(band_codes[:, band].copy(), slots)
        named = [s for s in slots.tolist() if s in self._name_codes]
        arrays = [self._name_codes[s] for s in named]
        codes = np.concatenate(arrays) if arrays else np.empty(0, np.int64)
        owners = np.repeat(np.array(named, np.int64), [len(a) for a in arrays])
        self._names.rebuild(codes, owners)


_NO_CODES = np.empty(0, np.int64)


def load_index(config_dir: Path, normalize: Callable[[str], str] | None = None,
               **thresholds) -> SameMatterIndex:
    """An empty index with the words of ``config_dir/similar.yaml`` (and any thresholds)."""
    config = SimilarConfig.load(config_dir / "similar.yaml")
    if thresholds:
        config = config.with_thresholds(**thresholds)
    return SameMatterIndex(config, normalize)
