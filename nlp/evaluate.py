"""Evaluation: accuracy, macro-F1, per-class P/R/F1, top-3, confusion matrix, throughput;
k-fold cross-validation with duplicates and reposts kept in the same fold."""
from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classifier import ComplaintClassifier, Decision, Document
from .train import fit

csv.field_size_limit(1 << 24)


@dataclass(slots=True)
class Row:
    id: str
    title: str
    text: str
    label: str


def read_rows(path: Path, need_label: bool = True) -> list[Row]:
    """CSV with id,text and optionally title,label. A file without text uses the title as text."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or [])
        if "text" not in cols and "title" not in cols:
            raise ValueError("输入文件需要 text 列（或 title 列）")
        if need_label and "label" not in cols:
            raise ValueError("评估数据需要 label 列")
        rows = []
        for i, r in enumerate(reader):
            title, text = r.get("title") or "", r.get("text")
            if text is None:
                title, text = "", title
            rows.append(Row(r.get("id") or str(i + 1), title, text or "", r.get("label") or ""))
        return rows


def duplicate_groups(docs: list[Document]) -> list[int]:
    """Documents sharing a title or the start of their text belong to one group."""
    parent = list(range(len(docs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    for i, d in enumerate(docs):
        keys = ["x" + d.text[:200]] + (["t" + d.title] if len(d.title) >= 6 else [])
        for key in keys:
            if key in seen:
                parent[find(i)] = find(seen[key])
            else:
                seen[key] = i
    return [find(i) for i in range(len(docs))]


def folds(labels: list[str], groups: list[int], k: int, seed: int = 0):
    from sklearn.model_selection import StratifiedGroupKFold  # training only: not at start-up

    return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed)
                .split(np.zeros(len(labels)), labels, groups))


SHORT_CHARS = 60


def short_views(clf: ComplaintClassifier, rows: list[Row]) -> list[list[Document | None]]:
    """Each message as a citizen might type it in a chat: its title alone, and the first 60
    characters of its text. With the full texts, the training data of the short-input model."""
    titles = [clf.prepare(r.title) if r.title else None for r in rows]
    starts = [clf.prepare(r.text[:SHORT_CHARS]) if len(r.text) > SHORT_CHARS else None
              for r in rows]
    return [titles, starts]


def training_set(docs, views, labels, idx):
    pairs, ys = [], []
    for source in [docs, *(views or [])]:
        for i in idx:
            if source[i] is not None:
                pairs.append((source[i].title_tokens, source[i].text_tokens))
                ys.append(labels[i])
    return pairs, ys


def cross_validate(clf: ComplaintClassifier, docs: list[Document], labels: list[str], k: int = 5,
                   calibrate: bool = True, seed: int = 0, views=None,
                   extra: list[list[Document]] | None = None,
                   progress=None) -> tuple[list[Decision], list[list[Decision]]]:
    """Out-of-fold decisions for ``docs``; also for each list in ``extra`` (the same messages
    in another form, e.g. their first 60 characters), decided by the model of their fold.
    ``views`` (see ``short_views``) of the training folds train the short-input model; without
    them the model has none."""
    out: list[Decision | None] = [None] * len(docs)
    out_extra = [[None] * len(docs) for _ in extra or []]
    for n, (tr, te) in enumerate(folds(labels, duplicate_groups(docs), k, seed)):
        model = fit(*training_set(docs, None, labels, tr), calibrate=calibrate, seed=seed,
                    short=training_set(docs, views, labels, tr) if views else None)
        for i in te:
            out[i] = clf.decide(docs[i], model)
            for j, other in enumerate(extra or []):
                out_extra[j][i] = clf.decide(other[i], model)
        if progress:
            progress(n + 1, k)
    return out, out_extra


def metrics(gold: list[str], decisions: list[Decision], seconds: float | None = None) -> dict:
    pred = [d.result.category.level1 for d in decisions]
    labels = sorted(set(gold))
    per_class = {}
    for c in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=False) if g == c and p == c)
        n_pred = sum(1 for p in pred if p == c)
        n_gold = sum(1 for g in gold if g == c)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[c] = {"precision": prec, "recall": rec, "f1": f1, "support": n_gold}
    top3 = sum(1 for g, d in zip(gold, decisions, strict=False) if g in [c for c, _ in d.result.top3])
    confusion = Counter(zip(gold, pred, strict=False))
    result = {
        "n": len(gold),
        "accuracy": sum(1 for g, p in zip(gold, pred, strict=False) if g == p) / len(gold),
        "macro_f1": sum(v["f1"] for v in per_class.values()) / len(per_class),
        "top3_accuracy": top3 / len(gold),
        "per_class": per_class,
        "confusion": {g: {p: n for (gg, p), n in confusion.items() if gg == g} for g in labels},
        "predicted_outside_labels": sum(1 for p in pred if p not in per_class),
    }
    if seconds:
        result["per_second"] = len(gold) / seconds
    return result


def format_report(m: dict, title: str) -> str:
    lines = [f"== {title} ==", f"样本数 {m['n']}",
             f"准确率 accuracy      {m['accuracy']:.4f}",
             f"宏平均F1 macro-F1    {m['macro_f1']:.4f}",
             f"前三命中 top-3       {m['top3_accuracy']:.4f}"]
    if "per_second" in m:
        lines.append(f"速度 throughput     {m['per_second']:.0f} 条/秒")
    if m["predicted_outside_labels"]:
        lines.append(f"判为标注以外类别的条数 {m['predicted_outside_labels']}")
    lines.append("")
    lines.append(f"{'类别':<10}\t精确率\t召回率\tF1\t样本")
    for c, v in m["per_class"].items():
        lines.append(f"{c:<10}\t{v['precision']:.3f}\t{v['recall']:.3f}\t{v['f1']:.3f}\t{v['support']}")
    labels = list(m["per_class"])
    cols = labels + sorted({p for row in m["confusion"].values() for p in row} - set(labels))
    lines.append("")
    lines.append("混淆矩阵（行：标注，列：预测）")
    lines.append("\t".join(["", *[c[:4] for c in cols]]))
    for g in labels:
        lines.append("\t".join([g[:4], *[str(m["confusion"][g].get(p, 0)) for p in cols]]))
    return "\n".join(lines)


def timed_decisions(clf: ComplaintClassifier, rows: list[Row], progress=None):
    start = time.perf_counter()
    decisions = []
    for r in rows:
        decisions.append(clf.decide(clf.prepare(r.text, r.title)))
        if progress:
            progress()
    return decisions, time.perf_counter() - start
