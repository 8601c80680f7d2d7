"""``python main.py nlp classify|eval|train|explain|keywords`` (also ``python -m nlp.cli``)."""
from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
from pathlib import Path

from tqdm import tqdm

from . import CONFIG_DIR, MODEL_PATH
from .classifier import build
from .evaluate import (
    cross_validate,
    format_report,
    metrics,
    read_rows,
    short_views,
    timed_decisions,
    training_set,
)
from .model import LinearModel
from .rules import read_yaml
from .train import fit

log = logging.getLogger("huiyin.nlp")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="main.py nlp", description="投诉文本分类：分类、评估、训练、解释")
    p.add_argument("--config", type=Path, default=CONFIG_DIR, help="配置目录（默认 config/）")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("classify", help="批量分类：输入 id,text[,title]，输出分类结果 CSV")
    c.add_argument("--input", type=Path, required=True)
    c.add_argument("--output", type=Path, required=True)
    c.add_argument("--model", type=Path, default=MODEL_PATH)

    e = sub.add_parser("eval", help="在标注数据上评估（--cv K 为 K 折交叉验证）")
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--cv", type=int, default=0, metavar="K")
    e.add_argument("--model", type=Path, default=MODEL_PATH)
    e.add_argument("--no-calibrate", action="store_true",
                   help="交叉验证时各折不校准置信度（更快，不影响准确率和F1）")

    t = sub.add_parser("train", help="用标注数据（id,title,text,label）重新训练模型")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)

    x = sub.add_parser("explain", help="显示一条投诉的完整分类过程")
    x.add_argument("text")
    x.add_argument("--title", default="")
    x.add_argument("--model", type=Path, default=MODEL_PATH)

    k = sub.add_parser("keywords", help="打印模型为每个一级类别学到的关键词")
    k.add_argument("-n", type=int, default=20)
    k.add_argument("--model", type=Path, default=MODEL_PATH)
    return p


def _bar(total: int, desc: str):
    # disable=None: a bar on a terminal, nothing when output is redirected
    return tqdm(total=total, desc=desc, unit="条", disable=None, file=sys.stderr)


def _classify(args) -> int:
    clf = build(args.config, args.model)
    rows = read_rows(args.input, need_label=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(args.output, "w", encoding="utf-8", newline="") as f, _bar(len(rows), "分类") as bar:
        w = csv.writer(f)
        w.writerow(["id", "level1", "level2", "level3", "confidence", "top3", "evidence",
                    "department", "flags"])
        for r in rows:
            c = clf.classify(r.text, r.title)
            w.writerow([r.id, c.category.level1, c.category.level2, c.category.level3,
                        "/".join(f"{v:.2f}" for v in c.confidence),
                        "|".join(f"{n}:{v:.2f}" for n, v in c.top3),
                        "|".join(c.evidence), c.department, "|".join(c.flags)])
            bar.update()
    secs = time.perf_counter() - start
    print(f"已分类 {len(rows)} 条，用时 {secs:.1f} 秒（{len(rows) / max(secs, 1e-9):.0f} 条/秒），"
          f"结果写入 {args.output}")
    return 0


def _eval(args) -> int:
    rows = read_rows(args.data)
    gold = [r.label for r in rows]
    if args.cv:
        clf = build(args.config, None)
        start = time.perf_counter()
        with _bar(len(rows), "分词") as bar:
            docs = []
            for r in rows:
                docs.append(clf.prepare(r.text, r.title))
                bar.update()
        seg_secs = time.perf_counter() - start
        views = short_views(clf, rows)
        with _bar(args.cv, "交叉验证") as bar:
            decisions, _ = cross_validate(clf, docs, gold, args.cv, views=views,
                                          calibrate=not args.no_calibrate,
                                          progress=lambda n, k: bar.update())
        m = metrics(gold, decisions)
        print(format_report(m, f"{args.cv} 折交叉验证：{args.data.name}"))
        print(f"\n分词 {len(rows) / seg_secs:.0f} 条/秒；交叉验证总用时 "
              f"{time.perf_counter() - start:.1f} 秒")
    else:
        clf = build(args.config, args.model)
        with _bar(len(rows), "评估") as bar:
            decisions, secs = timed_decisions(clf, rows, progress=bar.update)
        print(format_report(metrics(gold, decisions, secs), f"模型评估：{args.data.name}"))
    return 0


def _train(args) -> int:
    rows = read_rows(args.data)
    clf = build(args.config, None)
    with _bar(len(rows), "分词") as bar:
        docs = []
        for r in rows:
            docs.append(clf.prepare(r.text, r.title))
            bar.update()
    views = short_views(clf, rows)
    start = time.perf_counter()
    labels, everything = [r.label for r in rows], range(len(rows))
    model = fit(*training_set(docs, None, labels, everything),
                short=training_set(docs, views, labels, everything))
    model.save(args.out)
    print(f"训练完成：{len(rows)} 条，{len(model.classes)} 个类别，{len(model.words)} 个特征，"
          f"用时 {time.perf_counter() - start:.1f} 秒；模型写入 {args.out}"
          f"（{args.out.stat().st_size / 1024:.0f} KB）")
    return 0


def _explain(args) -> int:
    clf = build(args.config, args.model)
    departments = read_yaml(args.config / "departments.yaml")
    texts = read_yaml(args.config / "texts.yaml")
    labels = {k.removeprefix("flag_label_"): v for k, v in texts.items()
              if k.startswith("flag_label_")}
    print(clf.explain(args.text, args.title, departments, labels))
    return 0


def _keywords(args) -> int:
    model = LinearModel.load(args.model)
    for k, c in enumerate(model.classes):
        words = "、".join(w for w, _ in model.keywords(k, args.n))
        print(f"{c}：{words}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"classify": _classify, "eval": _eval, "train": _train, "explain": _explain,
               "keywords": _keywords}[args.command]
    try:
        return handler(args)
    except (OSError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
