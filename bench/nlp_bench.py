"""Figures for issue 3 (the classifier), all measured in one run:
- 5-fold cross-validated macro-F1 of the whole classifier on complaints_dev.csv;
- top-3 first-level accuracy on short input: complaint_titles_dev.csv and the first 60
  characters of each text (every message judged by a model that never saw it);
- classification rate vs plain ``jieba.lcut`` on the same texts, same run: the jieba side is
  ``jieba.lcut(text)`` (global tokenizer, default HMM=True, raw text); the classifier side is
  ``clf.classify(text)``: normalisation (NFKC, OpenCC t2s, boilerplate), segmentation with a
  private jieba.Tokenizer's dictionary plus the domain dictionary (accurate mode, no HMM: the
  tokens of ``Tokenizer.lcut(text, HMM=False)``), features, the model's scores, keywords,
  flags, routing and the Classification; HMM=False jieba is shown too. Both sides run over
  the same chunks of texts right after each other, several rounds, and each chunk's best
  time on either side counts, so other work on the machine moves the figure little;
- model load time beyond jieba's own dictionary load.
Folds keep duplicates and reposts together; the full-text model of each fold is trained on
that fold's texts, its short-input model on those texts plus their titles and first 60
characters, so no message is judged by a model that saw any form of it.
Usage: .venv/bin/python bench/nlp_bench.py [--data-dir ../shared/data] [--folds 5] [--seed 0]
       [--skip speed|accuracy]"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="speed: times each chunk is timed")
    ap.add_argument("--chunk", type=int, default=100, help="speed: texts per timed chunk")
    ap.add_argument("--seed", type=int, default=0, help="how the folds are drawn")
    ap.add_argument("--skip", choices=["speed", "accuracy"], help="leave one part out")
    args = ap.parse_args()

    # --- start-up -------------------------------------------------------------------------
    import jieba

    from nlp import load_classifier
    from nlp.evaluate import read_rows

    jieba.setLogLevel(60)

    # the first load in this process (imports included); the time jieba's dictionary load
    # takes inside it is measured there, not guessed from another load
    initialize, in_jieba = jieba.Tokenizer.initialize, []

    def timed_initialize(self, *a, **kw):
        t = time.perf_counter()
        try:
            return initialize(self, *a, **kw)
        finally:
            in_jieba.append(time.perf_counter() - t)

    jieba.Tokenizer.initialize = timed_initialize
    t = time.perf_counter()
    clf = load_classifier()
    total_load = time.perf_counter() - t
    jieba.Tokenizer.initialize = initialize
    print(f"start-up: load_classifier {total_load:.2f}s, of which jieba's dictionary "
          f"{sum(in_jieba):.2f}s; beyond jieba {total_load - sum(in_jieba):.2f}s")

    rows = read_rows(args.data_dir / "complaints_dev.csv")
    if args.skip != "speed":
        speed(args, jieba, clf, rows)
    if args.skip != "accuracy":
        accuracy(args, clf, rows)
    return 0


def speed(args, jieba, clf, rows) -> None:
    """Speed: the same texts, the same run."""
    texts = [r.text for r in rows]
    jieba.initialize()
    jieba.lcut(texts[0])
    clf.classify(texts[0])

    def seconds(fn, items) -> float:
        t = time.perf_counter()
        for item in items:
            fn(item)
        return time.perf_counter() - t

    # The texts in chunks of --chunk; each chunk is timed with jieba and with the classifier
    # right after each other (the order alternating), --rounds times. Other work on the machine
    # slows both sides of a pair alike, and only some rounds: the figure is the ratio of the sums
    # of each chunk's best time on either side; the median of all paired ratios beside it.
    sides = {"jieba": jieba.lcut, "text": clf.classify,
             "jieba_nohmm": lambda x: jieba.lcut(x, HMM=False),
             "text_title": lambda r: clf.classify(r.text, r.title)}
    items = {"jieba": texts, "text": texts, "jieba_nohmm": texts, "text_title": rows}
    chunks = [slice(i, i + args.chunk) for i in range(0, len(texts), args.chunk)]
    times = {k: [[] for _ in chunks] for k in sides}     # side → chunk → seconds per round
    for n in range(args.rounds):
        for j, part in enumerate(chunks):
            for k in (list(sides) if (n + j) % 2 == 0 else list(reversed(sides))):
                times[k][j].append(seconds(sides[k], items[k][part]))
    best = {k: sum(min(t) for t in v) for k, v in times.items()}

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for ta, tb in zip(times[a], times[b], strict=False)
                                 for x, y in zip(ta, tb, strict=False))

    print(f"speed on {len(texts)} texts ({len(chunks)} chunks × {args.rounds} rounds, paired): "
          f"jieba.lcut {len(texts) / best['jieba']:.0f}/s (HMM=False "
          f"{len(texts) / best['jieba_nohmm']:.0f}/s); classify(text) "
          f"{len(texts) / best['text']:.0f}/s = {best['jieba'] / best['text']:.0%} of jieba.lcut "
          f"(median of paired ratios {paired('jieba', 'text'):.0%}), "
          f"{best['jieba_nohmm'] / best['text']:.0%} of HMM=False; classify(text, title) "
          f"{len(texts) / best['text_title']:.0f}/s = {best['jieba'] / best['text_title']:.0%}")


def accuracy(args, clf, rows) -> None:
    """k-fold CV; short input judged by the model of its fold."""
    from nlp.evaluate import (
        SHORT_CHARS,
        duplicate_groups,
        folds,
        metrics,
        read_rows,
        short_views,
        training_set,
    )
    from nlp.train import fit

    complaints = args.data_dir / "complaints_dev.csv"
    titles_file = args.data_dir / "complaint_titles_dev.csv"
    gold = [r.label for r in rows]
    docs = [clf.prepare(r.text, r.title) for r in rows]
    views = short_views(clf, rows)
    starts = [clf.prepare(r.text[:SHORT_CHARS]) for r in rows]
    trows = read_rows(titles_file)
    tdocs = [clf.prepare(r.text) for r in trows]
    fold_of_title: dict[str, int] = {}
    fold_of_id: dict[str, int] = {}
    splits = folds(gold, duplicate_groups(docs), args.folds, args.seed)
    for n, (_, te) in enumerate(splits):
        for i in te:
            fold_of_id[rows[i].id] = n
            fold_of_title[docs[i].title] = n
    full, start_dec, title_dec = [None] * len(rows), [None] * len(rows), [None] * len(trows)
    t = time.perf_counter()
    for n, (tr, te) in enumerate(splits):
        model = fit(*training_set(docs, None, gold, tr), calibrate=False, seed=args.seed,
                    short=training_set(docs, views, gold, tr))
        for i in te:
            full[i] = clf.decide(docs[i], model)
            start_dec[i] = clf.decide(starts[i], model)
        for j, r in enumerate(trows):
            # a title belongs to the fold of its message (same id or same title), else to any
            if fold_of_id.get(r.id, fold_of_title.get(tdocs[j].text, n)) == n \
                    and title_dec[j] is None:
                title_dec[j] = clf.decide(tdocs[j], model)
    m = metrics(gold, full)
    per_fold = [metrics([gold[i] for i in te], [full[i] for i in te])["macro_f1"]
                for _, te in splits]
    mean = sum(per_fold) / len(per_fold)
    spread = (sum((f - mean) ** 2 for f in per_fold) / len(per_fold)) ** 0.5
    ms = metrics(gold, start_dec)
    mt = metrics([r.label for r in trows], title_dec)
    print(f"{args.folds}-fold CV (seed {args.seed}) on {complaints.name} ({len(rows)} texts, "
          f"{time.perf_counter() - t:.0f}s): macro-F1 {m['macro_f1']:.4f}, accuracy "
          f"{m['accuracy']:.4f}, top-3 {m['top3_accuracy']:.4f}; per fold {mean:.4f} ± "
          f"{spread:.4f} ({' '.join(f'{f:.4f}' for f in per_fold)})")
    print(f"short input, top-3 first level: titles ({len(trows)}) {mt['top3_accuracy']:.4f} "
          f"(macro-F1 {mt['macro_f1']:.4f}); first {SHORT_CHARS} chars {ms['top3_accuracy']:.4f} "
          f"(macro-F1 {ms['macro_f1']:.4f})")


if __name__ == "__main__":
    sys.exit(main())
