"""Time to check a new complaint against 100,000 open cases (nlp/similar.py), and the memory.

    .venv/bin/python bench/linking_bench.py [--cases 100000] [--checks 2000]

The open cases are synthetic but realistic: each is 2–7 sentences of the labelled data set's
complaints of one category, recombined in memory (nothing is written to disk), with a title
made the same way. The checks are new complaints of three kinds in equal parts: fresh
recombinations, reposts of an open case with a few sentences changed, and short follow-ups
naming an open case's subject. Prints the build time, the rebuild time from stored signatures,
p50/p95/p99 per check and the memory the index holds (RSS growth and Python allocations).
"""
from __future__ import annotations

import argparse
import csv
import gc
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.normalize import Normalizer  # noqa: E402
from nlp.rules import read_yaml  # noqa: E402
from nlp.similar import SameMatterIndex, SimilarConfig  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "complaints_dev.csv"
SENTENCE = re.compile(r"[^。！？!?；;]+[。！？!?；;]?")
FOLLOW_UP = ["我上个月反映的{}问题至今没有处理，请问进展如何？", "关于{}的事情我已经反映过多次，到现在还没有答复。",
             "再次反映{}的问题，希望尽快解决。"]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def sentences_by_category(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found[row["label"]] += [s for s in SENTENCE.findall(row["text"]) if len(s) >= 8]
    return found


def synthetic(rng: random.Random, pool: dict[str, list[str]]) -> str:
    category = rng.choice(list(pool))
    parts = pool[category]
    title = rng.choice(parts)[:24]
    return title + "。" + "".join(rng.choice(parts) for _ in range(rng.randint(2, 7)))


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=2_000)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    rng = random.Random(12)
    pool = sentences_by_category(args.data)
    texts = [synthetic(rng, pool) for _ in range(args.cases)]
    lengths = sorted(len(t) for t in texts)
    print(f"{args.cases} synthetic open cases, median {lengths[len(lengths) // 2]} characters")

    boilerplate = read_yaml(ROOT / "config" / "keywords.yaml").get("boilerplate")
    config = SimilarConfig.load(ROOT / "config" / "similar.yaml")
    normalize = Normalizer(boilerplate)

    gc.collect()
    before = rss_mb()
    index = SameMatterIndex(config, normalize)
    started = time.perf_counter()
    stored = []
    for i, text in enumerate(texts):
        signature = index.make(text)
        stored.append(signature.to_bytes())
        index.add_signature(f"HY{i:06d}", signature)
    index.add_many(())   # the pending band entries into the sorted arrays, as at start
    build = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    size = sum(map(len, stored))
    print(f"build from texts: {build:.1f} s ({1000 * build / args.cases:.2f} ms per case: "
          f"normalise, 3-grams, MinHash, names, insert); RSS +{after - before:.0f} MB "
          f"(index and {size / 2**20:.0f} MB of stored signatures, ≈ {size / len(stored):.0f} B "
          f"each)")

    gc.collect()
    started = time.perf_counter()
    rebuilt = SameMatterIndex(config, normalize)
    rebuilt.add_many((f"HY{i:06d}", data) for i, data in enumerate(stored))
    print(f"rebuild from stored signatures (as at start): {time.perf_counter() - started:.1f} s")
    del rebuilt
    gc.collect()
    tracemalloc.start()
    rebuilt = SameMatterIndex(config, normalize)
    rebuilt.add_many((f"HY{i:06d}", data) for i, data in enumerate(stored))
    traced, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory the index holds (tracemalloc, the same rebuild again): "
          f"{traced / 2**20:.0f} MB, {traced / args.cases:.0f} B per open case")
    del rebuilt
    gc.collect()

    queries: list[tuple[str, str | None]] = []
    for n in range(args.checks):
        kind = n % 3
        if kind == 0:
            queries.append(("new", synthetic(rng, pool)))
        else:
            i = rng.randrange(args.cases)
            parts = SENTENCE.findall(texts[i])
            if kind == 1:
                j = rng.randrange(len(parts))
                parts[j] = rng.choice(pool[rng.choice(list(pool))])
                queries.append(("repost", "".join(parts)))
            else:
                subject = parts[0][:12]
                queries.append(("follow-up", rng.choice(FOLLOW_UP).format(subject)))
    timings: dict[str, list[float]] = defaultdict(list)
    found = defaultdict(int)
    for kind, text in queries:
        started = time.perf_counter()
        matches = index.find(text, k=5)
        timings[kind].append((time.perf_counter() - started) * 1000)
        found[kind] += bool(matches)
    every = [t for ts in timings.values() for t in ts]
    print(f"check against {len(index)} open cases, {len(every)} checks: "
          f"p50 {statistics.median(every):.2f} ms, p95 {percentile(every, 0.95):.2f} ms, "
          f"p99 {percentile(every, 0.99):.2f} ms, max {max(every):.1f} ms "
          f"(target p95 <= 20 ms)")
    for kind, ts in timings.items():
        print(f"  {kind:9}: p50 {statistics.median(ts):.2f} ms, p95 {percentile(ts, 0.95):.2f} ms;"
              f" with a match {found[kind]}/{len(ts)}")


if __name__ == "__main__":
    main()
