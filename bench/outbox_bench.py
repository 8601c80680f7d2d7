"""The outbox drained against a fake Bot API server that enforces Telegram's sending limits.

    .venv/bin/python bench/outbox_bench.py [-n 10000] [--chats 2000] [--framework aiogram|ptb]
                                           [--feed scan|enqueue]

N notifications to C private chats (round-robin, so each chat gets N/C in order) are queued
directly in the outbox table (``storage.outbox.add_messages``, as the engine's transactions do);
then the real ``Delivery`` worker, with Telegram's default limits from ``Settings`` (30/s
overall, 1/s per private chat with bursts of 3, 20/min per group), sends them through the
framework's Bot API client to the fake server on 127.0.0.1. The server answers 429 with
``retry_after`` to any message over its model of Telegram's limits (``FloodLimits``: token
buckets, 30/s overall with a burst of 30, 1/s per private chat with a burst of 3).

``--feed scan`` (default): the worker finds the rows itself, as after a restart, 500 per scan;
``--feed enqueue``: the rows are handed to it as the runner does after its transaction.

Prints messages/s (target ≥ 28, the limit being 30), 429s received (target 0), lost and
duplicated (must be 0), elapsed. At 30/s the default 10,000 takes about 6 minutes.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import func, select  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.chat import Outgoing  # noqa: E402
from bot.frontends.runner import limits_from  # noqa: E402
from bot.frontends.telegram import make_api  # noqa: E402
from bot.notify.delivery import Delivery  # noqa: E402
from bot.notify.messages import to_payload  # noqa: E402
from config.settings import Settings  # noqa: E402
from storage import outbox  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram, FloodLimits  # noqa: E402


async def bench(n: int, chats: int, framework: str, feed: str, db: Path) -> None:
    async with FakeTelegram(limits=FloodLimits()) as tg:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", bot_token=tg.token,
                            telegram_api_base=tg.base_url, frontend=framework, _env_file=None)
        app = await build_app(settings, classifier_loader=lambda: None)
        limits = limits_from(settings)
        expected = [(10_000 + i % chats, f"通知 {i}：您的信访事项有新进展。") for i in range(n)]
        rows = []
        for at in range(0, n, 1000):
            async with app.engine.sessions() as s, s.begin():
                rows += await outbox.add_messages(s, messages=[
                    (chat, "citizen", to_payload(Outgoing(chat, text)))
                    for chat, text in expected[at:at + 1000]])
        api = make_api(settings)
        await api.start()
        delivery = Delivery(api, app.engine.sessions, limits=limits,
                            write_gate=app.engine.write_gate)
        print(f"{n} notifications to {chats} private chats, {framework}, feed={feed}, "
              f"limits {limits}; fake server: {FloodLimits()}", flush=True)

        def received() -> int:
            return sum(len(v) for v in tg.messages.values())

        start = time.perf_counter()
        await delivery.start()
        if feed == "enqueue":
            delivery.enqueue(rows)
        else:
            delivery.wake()
        last_report, timed_out = start, False
        deadline = start + n / 25 + 120
        while received() < n:
            left = deadline - time.perf_counter()
            if left <= 0:
                timed_out = True
                break
            try:
                await tg.wait_until(lambda: received() >= n, min(left, 30), "all messages")
            except TimeoutError:
                pass
            now = time.perf_counter()
            if now - last_report >= 30:
                last_report = now
                print(f"  {now - start:6.1f}s: {received()} received, "
                      f"{tg.flood_429} 429s", flush=True)
        elapsed = time.perf_counter() - start
        if not timed_out:
            await delivery.drain(60)
        await delivery.stop()
        await api.close()

        times = sorted(m.at for v in tg.messages.values() for m in v)
        got = Counter((chat, m.text) for chat, v in tg.messages.items() for m in v)
        want = Counter(expected)
        lost = sum((want - got).values())
        duplicated = sum((got - want).values())
        per_chat: dict[int, list[str]] = {}
        for chat, text in expected:
            per_chat.setdefault(chat, []).append(text)
        in_order = all([m.text for m in tg.messages.get(chat, [])] == texts
                       for chat, texts in per_chat.items())
        async with app.engine.sessions() as s:
            statuses = dict((await s.exec(select(OutboxMessage.status, func.count())
                                          .group_by(OutboxMessage.status))).all())
        await app.close()
        errors = Counter(code for _, code, _ in tg.errors)
        steady = ((len(times) - 1) / (times[-1] - times[0])) if len(times) > 1 else 0.0
        print(f"messages/s      {len(times) / elapsed:.2f} (first to last message: "
              f"{steady:.2f}/s)")
        print(f"429s received   {errors.get(429, 0)} (over the limit: {tg.flood_429})")
        print(f"lost            {lost}")
        print(f"duplicated      {duplicated}")
        print(f"elapsed         {elapsed:.1f}s for {len(times)} messages"
              + ("  (TIMED OUT)" if timed_out else ""))
        print(f"per-chat order  {'kept' if in_order else 'BROKEN'}; outbox rows {statuses}; "
              f"other errors {dict(errors - Counter({429: errors.get(429, 0)}))}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="notifications (10,000)")
    parser.add_argument("--chats", type=int, default=2_000, help="private chats (2,000)")
    parser.add_argument("--framework", default="aiogram", choices=["aiogram", "ptb"])
    parser.add_argument("--feed", default="scan", choices=["scan", "enqueue"])
    a = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench(a.n, a.chats, a.framework, a.feed, Path(tmp) / "outbox.db"))


if __name__ == "__main__":
    main()
