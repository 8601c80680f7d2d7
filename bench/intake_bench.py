"""Intake throughput: N simulated citizens each file a complete complaint through the engine
against a SQLite file. Prints cases/s, events/s and p50/p99 latency per event.

    .venv/bin/python bench/intake_bench.py [--citizens 1000] [--concurrency 50] [--db path]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_app  # noqa: E402
from bot.chat import Incoming, Kind  # noqa: E402
from config.settings import Settings  # noqa: E402

DESCRIPTIONS = [
    "我在{n}号工地干了三个月，老板一直拖欠我们的工资不给，十几个工人找了好几次都没人管。",
    "我们小区交房已经五年了，开发商一直不给办房产证，业主们问了多次都说手续不全，编号{n}。",
]
# (kind, value): "t" = type text, "b" = press the button whose label contains value
WAGES = [("b", "对，就是这类"), ("t", "宏达建筑劳务公司"), ("b", "跳过"), ("t", "35000"),
         ("t", "12"), ("b", "跳过"), ("b", "还没有反映"), ("t", "结清工资")]
PROPERTY = [("b", "对，就是这类"), ("t", "阳光花园"), ("b", "跳过"), ("t", "2018"), ("t", "2020"),
            ("b", "跳过"), ("t", "尽快办证")]
COMMON = [("t", "A市A3区幸福路18号"), ("b", "跳过"), ("t", "王小明"), ("t", "13812345678"),
          ("p", "photo"), ("b", "完成"), ("b", "提交")]


async def citizen(engine, chat_id: int, latencies: list[float]) -> bool:
    last = []

    async def handle(event: Incoming) -> None:
        nonlocal last
        t0 = time.perf_counter()
        last = await engine.handle(event)
        latencies.append(time.perf_counter() - t0)

    kind = chat_id % 2
    await handle(Incoming.from_text(chat_id, chat_id, "/start"))
    await handle(Incoming(chat_id, chat_id, Kind.BUTTON, data="m:file"))
    await handle(Incoming.from_text(chat_id, chat_id, DESCRIPTIONS[kind].format(n=chat_id)))
    for action, value in (WAGES if kind == 0 else PROPERTY) + COMMON:
        if action == "t":
            event = Incoming.from_text(chat_id, chat_id, value)
        elif action == "p":
            event = Incoming(chat_id, chat_id, Kind.ATTACHMENT, file_id=f"f{chat_id}", media=value)
        else:
            data = next((b.data for m in last for row in m.buttons for b in row
                         if value in b.text and m.chat_id == chat_id), None)
            if data is None:
                return False
            event = Incoming(chat_id, chat_id, Kind.BUTTON, data=data)
        await handle(event)
    return any("案件编号" in m.text for m in last)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="huiyin-bench-")
    db = args.db or Path(folder) / "bench.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", staff_chat_id=-1,
                        _env_file=None)
    app = await build_app(settings)
    await app.engine.classifier.get()  # warm-up is not part of the measurement

    latencies: list[float] = []
    queue = iter(range(1, args.citizens + 1))
    filed = 0

    async def worker() -> None:
        nonlocal filed
        for chat_id in queue:
            ok = await citizen(app.engine, 10_000 + chat_id, latencies)
            filed += ok

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - t0
    await app.close()

    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"citizens: {args.citizens}  concurrency: {args.concurrency}  database: SQLite (WAL)")
    print(f"cases filed: {filed}/{args.citizens} in {elapsed:.1f} s")
    print(f"cases/s: {filed / elapsed:.1f}")
    print(f"events/s: {len(latencies) / elapsed:.1f}  ({len(latencies)} events)")
    print(f"latency per event: p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, "
          f"mean {statistics.fmean(latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
