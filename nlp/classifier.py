"""The complaint classifier: learned first-level weights + hand-written rules from ``config/``."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .api import Category, Classification
from .model import LinearModel
from .normalize import Normalizer
from .pairs import pair_codes
from .rules import FlagRules, Keyword, KeywordRules, RoutingRules, read_yaml
from .segment import Segmenter
from .taxonomy import Taxonomy

_NOT_A_WORD = re.compile(r"[A-Za-z0-9]|^\W*$")


@dataclass(slots=True)
class Document:
    title: str                # normalised
    text: str                 # normalised
    title_tokens: list[str]
    text_tokens: list[str]


@dataclass(slots=True)
class Decision:
    """Everything behind a classification, for ``explain`` and evaluation."""
    result: Classification
    level1_scores: list[tuple[str, float]]            # all first-level categories, best first
    model_probabilities: dict[str, float]
    word_weights: list[tuple[str, float]]             # learned words for the chosen category
    keyword_hits: list[Keyword]
    flag_hits: list[tuple[str, str]] = field(default_factory=list)


class ComplaintClassifier:
    def __init__(self, model: LinearModel | None, keywords: KeywordRules, flags: FlagRules,
                 routing: RoutingRules, taxonomy: Taxonomy, segmenter: Segmenter,
                 decision: dict | None = None):
        self.model = model
        self.keywords = keywords
        self.flags = flags
        self.routing = routing
        self.taxonomy = taxonomy
        self.segmenter = segmenter
        self.normalize = Normalizer(keywords.boilerplate)
        decision = decision or {}
        self.keyword_weight = float(decision.get("keyword_weight", 1.0))
        self.keyword_weight_learned = float(decision.get("keyword_weight_learned", 0.25))
        self.keyword_doubt = float(decision.get("keyword_doubt", 0.0))
        self.unsure_below = float(decision.get("unsure_below", 0.6))
        self.evidence_size = int(decision.get("evidence_size", 8))
        self._level1s = self.taxonomy.level1()
        self._blends: dict[tuple[str, ...], dict[str, tuple[float, float]]] = {}
        self._shown: dict[str, bool] = {}    # word → may be shown as evidence (bounded by vocab)

    def _blend(self, classes: list[str]) -> dict[str, tuple[float, float]]:
        """(β, doubt) per first-level category: a smaller β for those the model was trained
        on; for the others, ``keyword_doubt`` of their keyword weight does not count."""
        key = tuple(classes)
        blend = self._blends.get(key)
        if blend is None:
            blend = self._blends[key] = {
                c: (self.keyword_weight_learned, 0.0) if c in key else
                (self.keyword_weight, self.keyword_doubt) for c in self._level1s}
        return blend

    # --- the public interface --------------------------------------------------------------
    def classify(self, text: str, title: str = "") -> Classification:
        return self.decide(self.prepare(text, title)).result

    def prepare(self, text: str, title: str = "") -> Document:
        t, x = self.normalize(title), self.normalize(text)
        return Document(t, x, self.segmenter.cut(t) if t else [], self.segmenter.cut(x))

    def decide(self, doc: Document, model: LinearModel | None = None) -> Decision:
        whole = f"{doc.title}。{doc.text}" if doc.title else doc.text
        # a short message (a chat line, a subject line) is scored by the short-input model,
        # its probabilities mixed with the full-text model's (``short_mix`` of them)
        full = model or self.model
        model = full.for_length(len(whole))

        # the character pairs of title and text, as codes (see pairs.py): features of the
        # model, and (sorted: searched faster) they narrow the search for keywords and flags
        codes = pair_codes(whole)
        if doc.title:
            n = len(doc.title)
            title_pairs, text_pairs = codes[:n - 1], codes[n + 1:]   # not the pairs with "。"
        else:
            title_pairs, text_pairs = None, codes
        grams = np.sort(codes)

        # 1. learned weights: probabilities over the categories of the training data
        x = model.vector_of(doc.title_tokens, doc.text_tokens, text_pairs, title_pairs)
        probs = {}
        if len(x[0]):
            probs = dict(zip(model.classes, model.probabilities(model.scores(x)), strict=False))
        if model is not full and full.short_mix > 0 and doc.title_tokens:
            xf = full.vector_of(doc.title_tokens, doc.text_tokens, text_pairs, title_pairs)
            if len(xf[0]):
                m = full.short_mix if probs else 1.0
                pf = full.probabilities(full.scores(xf))
                probs = {c: (1 - m) * probs.get(c, 0.0) + m * p
                         for c, p in zip(full.classes, pf, strict=False)}
        # 2. hand-written keywords, for all fifteen categories and the fine levels
        hits = self.keywords.match(whole, grams)
        per_level1: dict[str, float] = {}
        for kw in hits:
            per_level1[kw.path[0]] = per_level1.get(kw.path[0], 0.0) + kw.weight
        # 3. blend: p + β·share, renormalised over all first-level categories. The share of a
        # category the model never learned starts after its doubt: one generic word alone
        # (农村, 银行 …) does not push a candidate of the model out of the top three
        blend = self._blend(model.classes)
        total_kw = sum(per_level1.values()) + 1.0
        boost = {}
        for c, w in per_level1.items():
            beta, doubt = blend[c]
            if w > doubt:
                boost[c] = beta * (w - doubt) / total_kw
        raw = {c: probs.get(c, 0.0) + boost.get(c, 0.0) for c in self._level1s}
        z = sum(raw.values())
        if z <= 0:  # nothing known: no learned word and no keyword
            ranked = [(c, 0.0) for c in self._level1s]
        else:
            ranked = sorted(((c, v / z) for c, v in raw.items()), key=lambda p: -p[1])
        level1, conf1 = ranked[0]

        # 4. fine levels from the keywords of the chosen first-level category
        level2, level3, conf2, conf3 = self._fine(level1, hits)

        # 5. evidence: learned words and keyword hits, heaviest first
        words: list[tuple[str, float]] = []
        if level1 in model.classes and len(x[0]):
            k = model.classes.index(level1)
            words = model.contributions(x, k, n=24, words_only=True)
            floor = max(0.01, 0.05 * words[0][1]) if words else 0.0
            words = [(w, v) for w, v in words if v >= floor and self._shows(w)]
        own_hits = [kw for kw in hits if kw.path[0] == level1]
        from_model = probs.get(level1, 0.0) >= boost.get(level1, 0.0)
        evidence = _merge([w for w, _ in words], [kw.text.replace("+", "…") for kw in own_hits], from_model)
        evidence = evidence[: self.evidence_size]

        flag_hits = self.flags.find(whole, grams)
        route = self.routing.route(level1, level2, level3, whole)
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        unsure = z <= 0 or conf1 < self.unsure_below or conf1 - runner_up < 0.15
        result = Classification(
            category=Category(level1, level2, level3),
            confidence=(round(conf1, 4), round(conf2, 4), round(conf3, 4)),
            top3=[(c, round(v, 4)) for c, v in ranked[:3]],
            evidence=evidence,
            department=route.department,
            flags=[name for name, _ in flag_hits],
            unsure=unsure,
            also_departments=list(route.also),
            tokens=doc.text_tokens,
        )
        return Decision(result, ranked, probs, words, hits, flag_hits)

    def _fine(self, level1: str, hits: list[Keyword]) -> tuple[str, str, float, float]:
        own = [kw for kw in hits if kw.path[0] == level1 and kw.path[1]]
        if not own:
            return "", "", 0.0, 0.0
        by2: dict[str, float] = {}
        by3: dict[tuple[str, str], float] = {}
        for kw in own:
            by2[kw.path[1]] = by2.get(kw.path[1], 0.0) + kw.weight
            if kw.path[2]:
                key = (kw.path[1], kw.path[2])
                by3[key] = by3.get(key, 0.0) + kw.weight
        total = sum(kw.weight for kw in own)
        level2 = max(by2, key=lambda k: by2[k])
        conf2 = by2[level2] / (total + 0.5)
        inside = {k: v for k, v in by3.items() if k[0] == level2}
        if not inside:
            return level2, "", conf2, 0.0
        key = max(inside, key=lambda k: inside[k])
        return level2, key[1], conf2, inside[key] / (total + 0.5)

    def _shows(self, word: str) -> bool:
        shows = self._shown.get(word)
        if shows is None:
            shows = self._shown[word] = len(word) >= 2 and word[0] not in "#@" and \
                word not in self.keywords.not_evidence and not _NOT_A_WORD.search(word)
        return shows

    # --- explanation ---------------------------------------------------------------------
    def explain(self, text: str, title: str = "", departments: dict | None = None,
                flag_labels: dict | None = None) -> str:
        d = self.decide(self.prepare(text, title))
        r = d.result
        names = {k: (v or {}).get("name", k) for k, v in (departments or {}).items()}
        lines = [f"分类：{r.category.path}",
                 "置信度：一级 {:.2f}，二级 {:.2f}，三级 {:.2f}".format(*r.confidence)]
        if not r.category.level2:
            lines.append("（没有命中细分类别的关键词，二、三级待人工确定）")
        lines.append("一级候选：" + "；".join(f"{c} {v:.2f}" for c, v in r.top3))
        if d.model_probabilities:
            probs = sorted(d.model_probabilities.items(), key=lambda p: -p[1])
            lines.append("模型概率：" + "；".join(f"{c} {v:.2f}" for c, v in probs[:4]))
        else:
            lines.append("模型概率：文中没有模型认识的词")
        if d.word_weights:
            lines.append("起决定作用的词（按权重）：" + "、".join(
                f"{w}({v:.3f})" for w, v in d.word_weights[:12]))
        if d.keyword_hits:
            lines.append("命中的关键词：" + "；".join(
                f"{kw.text} → {' › '.join(p for p in kw.path if p)}" for kw in d.keyword_hits[:12]))
        lines.append("依据：" + ("、".join(r.evidence) or "无"))
        dept = f"{names.get(r.department, r.department)}（{r.department}）"
        if r.also_departments:
            dept += "，同时告知：" + "、".join(names.get(a, a) for a in r.also_departments)
        lines.append(f"承办部门：{dept}")
        if d.flag_hits:
            lines.append("提醒：" + "；".join(
                f"{(flag_labels or {}).get(n, n)}（“{w}”）" for n, w in d.flag_hits))
        else:
            lines.append("提醒：无")
        lines.append("需请群众确认类别：" + ("是" if r.unsure else "否"))
        return "\n".join(lines)


def _merge(model_words: list[str], keyword_words: list[str], model_first: bool) -> list[str]:
    first, second = (model_words, keyword_words) if model_first else (keyword_words, model_words)
    out, seen = [], set()
    for w in [*first, *second]:
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def build(config_dir: Path, model_path: Path | None) -> ComplaintClassifier:
    """The classifier from ``config_dir``; without a model file only ``decide(doc, model)`` works
    (training and cross-validation)."""
    rules = read_yaml(config_dir / "keywords.yaml")
    keywords = KeywordRules(rules)
    segmenter = Segmenter(config_dir / "userdict.txt")
    return ComplaintClassifier(
        model=LinearModel.load(model_path) if model_path is not None else None,
        keywords=keywords,
        flags=FlagRules(read_yaml(config_dir / "flags.yaml")),
        routing=RoutingRules(read_yaml(config_dir / "routing.yaml")),
        taxonomy=Taxonomy.load(config_dir),
        segmenter=segmenter,
        decision=rules.get("decision"),
    )
