"""Business rules read from ``config/``: keywords per fine category, flag word lists, routing.

A keyword is a phrase found in the normalised text; ``a+b`` means every part must be present
(e.g. ``欠+工资`` matches 老板欠我们三个月工资). Nothing here is learned."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .pairs import PairTable, pair_codes

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when present: 10× faster


def read_yaml(path: Path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_LOADER) or {}


class PhraseMatcher:
    """Finds which of many phrases occur in a text, indexed by their first two characters."""

    def __init__(self, phrases):
        by_start: dict[str, list[str]] = {}
        self._single: list[str] = []   # one-character phrases, looked up directly
        for phrase in set(phrases):
            if len(phrase) == 1:
                self._single.append(phrase)
            elif phrase:
                by_start.setdefault(phrase[:2], []).append(phrase)
        self._starts = PairTable(list(by_start), range(len(by_start)))
        starts = list(by_start.values())
        self._phrases = [starts[i] for i in self._starts.values.tolist()]   # in table order

    def find(self, text: str, codes: np.ndarray | None = None) -> set[str]:
        """``codes``: the text's ``pair_codes`` (sorted: faster) when the caller has them."""
        if codes is None:
            codes = pair_codes(text)
        found = {p for p in self._single if p in text}
        for i in set(self._starts.positions(codes).tolist()):
            for phrase in self._phrases[i]:
                if len(phrase) == 2 or phrase in text:   # a pair that occurs needs no search
                    found.add(phrase)
        return found


@dataclass(frozen=True, slots=True)
class Keyword:
    text: str                      # as written in keywords.yaml, e.g. "欠+工资"
    parts: tuple[str, ...]
    path: tuple[str, str, str]     # level1, level2, level3 ("" when given at a coarser level)
    weight: float


class KeywordRules:
    """Hand-written keywords of ``config/keywords.yaml``: category tree → list of keywords.

    Under a level1 or level2 name, the key ``_`` holds keywords for that level itself."""

    def __init__(self, data: dict):
        self.boilerplate: list[str] = list(data.get("boilerplate") or [])
        self.not_evidence: frozenset[str] = frozenset(data.get("not_evidence") or [])
        self.keywords: list[Keyword] = []
        for level1, sub in (data.get("categories") or {}).items():
            self._add(sub, (level1,))
        # each keyword under its first part, with the parts it needs besides
        self._by_first: dict[str, list[tuple[Keyword, tuple[str, ...]]]] = {}
        for kw in self.keywords:
            self._by_first.setdefault(kw.parts[0], []).append((kw, kw.parts[1:]))
        self._matcher = PhraseMatcher({p for kw in self.keywords for p in kw.parts})

    def _add(self, node, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                self._add(child, path if key == "_" else (*path, key))
            return
        full = (*path, "", "")[:3]
        for item in node or []:
            weight = 1.0
            if isinstance(item, dict):  # {词: 权重}
                (item, weight), = item.items()
            parts = tuple(p for p in str(item).split("+") if p)
            self.keywords.append(Keyword(str(item), parts, full, float(weight)))

    def words(self) -> list[str]:
        """Every keyword part, for the jieba dictionary."""
        return sorted({p for kw in self.keywords for p in kw.parts})

    def match(self, text: str, codes: np.ndarray | None = None) -> list[Keyword]:
        present = self._matcher.find(text, codes)
        by_first = self._by_first
        hits = {kw for part in present if part in by_first for kw, rest in by_first[part]
                if all(map(present.__contains__, rest))}
        return sorted(hits, key=lambda k: (-k.weight, -len(k.text), k.text))


@dataclass(slots=True)
class FlagRule:
    name: str
    words: list[str]
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    unless: list[str] = field(default_factory=list)


class FlagRules:
    """``config/flags.yaml``: flag → words (phrases) and regular expressions."""

    def __init__(self, data: dict):
        self.rules = [
            FlagRule(name, list(spec.get("words") or []),
                     [re.compile(p) for p in spec.get("patterns") or []],
                     list(spec.get("unless") or []))
            for name, spec in data.items()
        ]
        self._matcher = PhraseMatcher(w for r in self.rules for w in r.words)

    def find(self, text: str, codes: np.ndarray | None = None) -> list[tuple[str, str]]:
        """(flag, the phrase that raised it) for each flag present, in the order of the file."""
        present = self._matcher.find(text, codes)
        out = []
        for rule in self.rules:
            if rule.unless and any(u in text for u in rule.unless):
                continue
            hit = None
            if present and not present.isdisjoint(rule.words):
                hit = next(w for w in rule.words if w in present)
            if hit is None:
                hit = next((m.group(0) for p in rule.patterns if (m := p.search(text))), None)
            if hit is not None:
                out.append((rule.name, hit))
        return out


@dataclass(frozen=True, slots=True)
class Route:
    department: str
    also: tuple[str, ...] = ()


class RoutingRules:
    """``config/routing.yaml``: the most specific matching rule wins (level3 > level2 > level1);
    a rule with ``words`` also needs one of them in the text and beats the same rule without."""

    def __init__(self, data: dict):
        self.default = str(data.get("default") or "")
        self.rules = list(data.get("rules") or [])
        self._candidates: dict[tuple[str, str, str], list[tuple[list[str], Route]]] = {}

    def route(self, level1: str, level2: str = "", level3: str = "", text: str = "") -> Route:
        for words, route in self._for(level1, level2, level3):
            if not words or any(w in text for w in words):
                return route
        return Route(self.default)

    def _for(self, level1: str, level2: str, level3: str) -> list[tuple[list[str], Route]]:
        """The rules that fit a category, most specific first (file order among equals)."""
        given = (level1, level2, level3)
        found = self._candidates.get(given)
        if found is None:
            ranked = []
            for n, rule in enumerate(self.rules):
                keys = (rule.get("level1"), rule.get("level2"), rule.get("level3"))
                if any(k and k != g for k, g in zip(keys, given, strict=False)):
                    continue
                words = list(rule.get("words") or [])
                rank = sum(1 for k in keys if k) * 2 + (1 if words else 0)
                ranked.append((-rank, n, words, Route(str(rule["department"]),
                                                      tuple(rule.get("also") or ()))))
            found = self._candidates[given] = [(w, r) for _, _, w, r in sorted(ranked)]
        return found
