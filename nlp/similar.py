"""Same matter: which open cases a new complaint is about again.

Two complaints are about the same matter when one handler would deal with them as one case: the
same concrete subject (employer, project, estate, school, village, named regulation …) and the
same problem, whoever wrote them (a repost, a follow-up, another worker of the same site). The
labelled definition is at the head of ``tests/nlp/same_matter.yaml``.

How a check works, without reading every open case:

1. The text is normalised as the project does (Traditional → Simplified, half-width, salutations
   removed: the caller's ``Normalizer``), links are dropped, and what is left of letters and
   digits is cut into character 3-grams, each hashed to 32 bits (stable across processes).
2. Candidates come from two indexes: MinHash LSH over those 3-grams (MinHash values and the
   banding for the threshold from datasketch, the bands kept in sorted numpy arrays; finds texts
   with much in common, e.g. reposts) and an inverted index of *names* (盛恒炉料公司, 上田村 …, read
   with the endings of ``config/similar.yaml``, plus the subjects the caller extracted). A name
   found in more than ``rare_name_cases`` open cases names nothing in particular and is skipped.
3. Each candidate is checked on its signature alone: Jaccard similarity estimated from the MinHash
   values, containment from it and the two 3-gram counts, the rare names both share, and
   conflicts (two different names of one kind, or two different subjects given for one field).

Everything needed for a check is in ``signature(text)``: stored beside a case, it rebuilds the
index at start without reading or normalising texts again. This module knows no database.

Measured (bench/linking_bench.py, 100,000 synthetic open cases, 2 shared cores): a check
p50 ≈ 1.2 ms, p95 ≈ 6.5 ms including normalisation; the index holds ≈ 127 MB (1.3 kB per case);
rebuilt from stored signatures in ≈ 4 s; ≈ 1 ms per case to sign a text.
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
_MAGIC = b"SM1"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NAME_CORES = (2, 3, 4)   # a name's last characters kept besides the whole (see ``names``)
_SCHEME = "affine32"   # datasketch's MinHash scheme; part of what a stored signature means


@dataclass(frozen=True)
class SimilarConfig:
    """Thresholds (defaults documented here, the one place they are set) and the words of
    ``config/similar.yaml``. The defaults of the five decision thresholds are the best setting
    of a grid on half A of the labelled pairs, checked on half B (``bench/same_matter_eval.py``:
    half A precision 0.95, recall 0.69; held-out half B 0.92, 0.63; reposts 1.0, other citizens'
    complaints about the same subject ≈ 0.3 unless the caller passes extracted ``subjects``)."""

    num_perm: int = 128
    """MinHash values per text: the Jaccard estimate's standard error is about 0.04 at 0.5."""
    seed: int = 1
    """The MinHash permutations. Changing it (or ``num_perm``) invalidates stored signatures."""
    lsh_threshold: float = 0.5
    """Jaccard at which the LSH index returns a pair about half the time; below it, candidates
    come from shared names."""
    near_jaccard: float = 0.6
    """This much 3-gram overlap alone is the same matter (a repost with small edits)."""
    near_containment: float = 0.8
    """Share of the shorter text's 3-grams found in the other: a shortened repost."""
    named_jaccard: float = 0.15
    """Overlap enough when both name the same rare subject (reworded, or another citizen)."""
    named_containment: float = 0.2
    """Containment enough when both name the same rare subject."""
    follow_up_jaccard: float = 0.05
    """Overlap enough when the new text reads as a follow-up and names the same rare subject."""
    given_subject_jaccard: float = 0.02
    """Overlap enough when both carry the same subject given by the caller (the extracted
    employer, project, estate …): that the caller read it is stronger than a name in the text.
    Not measured on the labelled pairs (they carry no extracted subjects)."""
    conflict_override: float = 0.3
    """Two different names of one kind (or subjects) veto a match below this Jaccard."""
    rare_name_cases: int = 30
    """A name in more open cases than this is no evidence (and is not looked up)."""
    max_candidates: int = 500
    """At most this many candidates are checked per complaint."""
    max_name_chars: int = 6
    min_name_chars: int = 2

    name_endings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    name_breaks: frozenset[str] = frozenset()
    not_names: frozenset[str] = frozenset()
    conflict_kinds: frozenset[str] = frozenset()
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
        return cls(
            name_endings={str(k): tuple(str(e) for e in v)
                          for k, v in (raw.get("name_endings") or {}).items()},
            name_breaks=frozenset(str(raw.get("name_breaks") or "")),
            not_names=frozenset(str(w) for w in raw.get("not_names") or ()),
            conflict_kinds=frozenset(str(w) for w in raw.get("conflict_kinds") or ()),
            subject_suffixes=tuple(str(w) for w in raw.get("subject_suffixes") or ()),
            subject_trades=tuple(str(w) for w in raw.get("subject_trades") or ()),
            follow_up_cues=tuple(str(w) for w in raw.get("follow_up_cues") or ()),
            **overrides)

    @classmethod
    def load(cls, path: Path) -> SimilarConfig:
        return cls.from_mapping(read_yaml(path))

    def with_thresholds(self, **values) -> SimilarConfig:
        return replace(self, **values)


@dataclass(frozen=True, slots=True)
class Signature:
    """What the index keeps of a text: MinHash values, 3-gram count, names and subjects."""

    hashvalues: np.ndarray            # uint32, num_perm
    size: int                         # distinct 3-grams
    names: frozenset[tuple[str, str]]  # (kind, name)
    follow_up: bool = False

    def to_bytes(self) -> bytes:
        names = "\x1f".join(f"{k}\x1e{n}" for k, n in sorted(self.names)).encode("utf-8")
        head = struct.pack("<3sBIHI", _MAGIC, int(self.follow_up), self.size,
                           len(self.hashvalues), len(names))
        return head + self.hashvalues.astype("<u4").tobytes() + names

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        magic, follow_up, size, perms, n = struct.unpack_from("<3sBIHI", data)
        if magic != _MAGIC:
            raise ValueError("not a same-matter signature")
        start = struct.calcsize("<3sBIHI")
        values = np.frombuffer(data, "<u4", perms, start).astype(np.uint32)
        text = data[start + 4 * perms:start + 4 * perms + n].decode("utf-8")
        names = frozenset(tuple(item.split("\x1e", 1)) for item in text.split("\x1f") if item)
        return cls(values, size, names, bool(follow_up))


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
    reason: str            # near_duplicate | contained | same_subject | follow_up
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
        self._template = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=_as_is,
                                 scheme=_SCHEME)

    def __call__(self, text: str, subjects: Mapping[str, str] | None = None) -> Signature:
        text = _URL.sub(" ", self.normalize(text or ""))
        grams = gram_hashes(_NOT_WORD.sub("", text))
        minhash = self._template.copy()
        if len(grams):
            minhash.update_batch(grams.tolist())
        names = self.names(text) | self.subject_names(subjects)
        follow_up = bool(self._cues and self._cues.search(text))
        return Signature(minhash.hashvalues.astype(np.uint32), len(grams), frozenset(names),
                         follow_up)

    def names(self, text: str) -> set[tuple[str, str]]:
        """Names in ``text``: (kind, name). Where a name starts is a guess (承包方华建劳务公司), so
        the name is kept with its last 2, 3 and 4 characters before the ending as well as
        whole; a company's name is kept without its ending (华建劳务有限公司 = 华建劳务公司)."""
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
                found.add((kind, core[-length:] + ending))
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
    case: the MinHash values (0.5 kB), their band hashes in the LSH arrays (0.4 kB) and the
    names as 8-byte codes with their postings (≈ 1.3 kB in all); no text is kept.

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
        self._keys: list[str | None] = []
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._name_codes: dict[int, np.ndarray] = {}
        self._kinds: dict[str, int] = {}
        self._bands = [_Postings() for _ in range(params.b)]
        self._names = _Postings()

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
        jaccards = (self._values[index] == query.hashvalues).mean(axis=1).tolist()
        matches = []
        for slot, jaccard in zip(slots, jaccards, strict=True):
            other = self._name_codes.get(slot, _NO_CODES)
            match = self._decide(query, codes, rare, int(self._sizes[slot]), other,
                                 self._keys[slot] or "", jaccard)
            if match is not None:
                matches.append(match)
        matches.sort(key=lambda m: (-m.score, m.key))
        return matches[:k]

    def compare(self, query: Signature, other: Signature, key: str = "") -> Match | None:
        """The precise check of one pair, names judged rare or not by this index."""
        jaccard = float(np.mean(query.hashvalues == other.hashvalues))
        codes = self._codes(query.names)
        other_codes = np.array(sorted(self._codes(other.names)), np.int64)
        return self._decide(query, codes, self._rare_codes(codes), other.size, other_codes,
                            key, jaccard)

    def candidates(self, query: Signature) -> set[str]:
        """The keys a check of ``query`` looks at (for measuring candidate generation)."""
        rare = self._rare_codes(self._codes(query.names))
        return {key for slot in self._candidate_slots(query, rare)
                if (key := self._keys[slot]) is not None}

    # ---------------------------------------------------------------- inside

    def _decide(self, query: Signature, codes: dict[int, tuple[str, str]], rare: set[int],
                size: int, other: np.ndarray, key: str, jaccard: float) -> Match | None:
        cfg = self.config
        smaller = min(query.size, size)
        common = jaccard / (1 + jaccard) * (query.size + size)
        containment = min(common / smaller, 1.0) if smaller else 0.0
        both = set(other.tolist()) & codes.keys() if len(other) and codes else set()
        if jaccard < cfg.conflict_override and self._conflict(codes.keys(), other, both):
            return None
        shared = sorted(codes[c] for c in both if c in rare)
        plain = tuple(name for _kind, name in shared)
        if jaccard >= cfg.near_jaccard:
            return Match(key, jaccard, "near_duplicate", plain)
        if containment >= cfg.near_containment:
            return Match(key, jaccard, "contained", plain)
        if shared:
            if jaccard >= cfg.named_jaccard or containment >= cfg.named_containment:
                return Match(key, jaccard, "same_subject", plain)
            if query.follow_up and jaccard >= cfg.follow_up_jaccard:
                return Match(key, jaccard, "follow_up", plain)
            if (jaccard >= cfg.given_subject_jaccard
                    and any(kind.startswith("subject:") for kind, _name in shared)):
                return Match(key, jaccard, "same_subject", plain)
        return None

    def _conflict(self, codes: Iterable[int], other: np.ndarray, both: set[int]) -> bool:
        """A kind named on both sides (names of ``conflict_kinds``, or a subject the caller
        gave) with no name in common, not even the last characters: two subjects."""
        if not len(other):
            return False
        mine = {c & 0xFF for c in codes}
        theirs = {c & 0xFF for c in other.tolist()}
        common = {c & 0xFF for c in both}
        return any(kind in self._conflicting for kind in (mine & theirs) - common)

    @property
    def _conflicting(self) -> set[int]:
        return {i for kind, i in self._kinds.items()
                if kind in self.config.conflict_kinds or kind.startswith("subject:")}

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
        limit = self.config.rare_name_cases
        rare = set()
        for code in codes:
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
        codes = self._codes(signature.names)
        if codes:
            self._name_codes[slot] = np.array(sorted(codes), np.int64)
        return slot, codes

    def _grow(self, needed: int) -> None:
        if needed <= len(self._sizes):
            return
        capacity = max(needed, 2 * len(self._sizes))
        for name in ("_values", "_sizes"):
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
