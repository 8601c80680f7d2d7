"""Huiyin on Telegram against a bare echo bot, per framework, over the fake Bot API server.

    .venv/bin/python bench/telegram_bench.py [--citizens 300] [--frameworks aiogram,ptb]
                                             [--rounds 2]

For each framework: N citizens file complete unpaid-wages complaints (18 updates each: text,
button presses, a shared contact, a photo) through the bot running as its own process on
SQLite, each citizen waiting for the bot's answer before the next step; then a bare echo bot on
the same framework gets the same number of updates from N users, each waiting for its echo.
Prints updates/s for both and the ratio (Huiyin and the echo bot take turns, ``--rounds`` times,
each keeping its best), and per round the bot process's CPU time and Bot API calls per update.
Sending limits are off (a local server): the figure is
the bot's own throughput, not Telegram's 30 messages/s.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.citizen import WAGES, Citizen  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram  # noqa: E402

# ---------------------------------------------------------------- the bare echo bots

def echo_aiogram(token: str, base: str) -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    asyncio.run(dp.start_polling(bot, polling_timeout=2, handle_signals=True))


def echo_ptb(token: str, base: str) -> None:
    from telegram.ext import ApplicationBuilder, MessageHandler, filters

    async def echo(update, context) -> None:
        await update.message.reply_text(update.message.text or "?")

    # concurrent updates, as Huiyin handles different chats concurrently (PTB's default is
    # one update at a time, which would make the echo bot slower than it can be)
    app = (ApplicationBuilder().token(token).base_url(f"{base}/bot")
           .base_file_url(f"{base}/file/bot").concurrent_updates(True).build())
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.run_polling(poll_interval=0, timeout=2)


# ---------------------------------------------------------------- driving

async def spawn(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report_usage(label: str, tg, calls0: int, cpu0: float, pid: int, updates: int,
                 elapsed: float) -> None:
    """One round: updates/s, the bot process's CPU time and Bot API calls per update."""
    from collections import Counter
    cpu = cpu_seconds(pid) - cpu0
    own = cpu_seconds(os.getpid()) - tg.cpu0
    calls = Counter(method for method, _ in tg.calls[calls0:])
    per = ", ".join(f"{m} {n / updates:.2f}" for m, n in calls.most_common())
    print(f"    {label:14s} {updates / elapsed:7.1f} updates/s; "
          f"bot CPU {cpu / updates * 1000:.2f} ms/update (fake server + citizens "
          f"{own / updates * 1000:.2f}); API calls per update: {per}",
          flush=True)


async def stop(proc: asyncio.subprocess.Process) -> None:
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def bench_huiyin(framework: str, citizens: int, db: Path) -> tuple[int, float]:
    async with FakeTelegram() as tg:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
        env.update(HUIYIN_BOT_TOKEN=tg.token, HUIYIN_TELEGRAM_API_BASE=tg.base_url,
                   HUIYIN_DATABASE_URL=f"sqlite+aiosqlite:///{db}", HUIYIN_FRONTEND=framework,
                   HUIYIN_STAFF_CHAT_ID="-1001", HUIYIN_POLL_TIMEOUT="2",
                   HUIYIN_SEND_PER_SECOND="0", HUIYIN_SEND_PRIVATE_PER_SECOND="0",
                   HUIYIN_SEND_GROUP_PER_MINUTE="0")
        profile = os.environ.get("BENCH_PROFILE")  # a file: cProfile the bot process into it
        proc = await spawn((["-m", "cProfile", "-o", profile] if profile else [])
                           + ["-m", "tests.fakes.bot_process"], env)
        try:
            await tg.wait_until(lambda: tg.commands, 120, "the bot to start")
            # warm-up: one citizen, so the classifier is loaded before the clock starts
            await Citizen(tg, 1).file_wages_complaint(timeout=120)
            people = [Citizen(tg, 10_000 + i) for i in range(citizens)]
            calls0, cpu0 = len(tg.calls), cpu_seconds(proc.pid)
            tg.cpu0 = cpu_seconds(os.getpid())
            start = time.perf_counter()
            await asyncio.gather(*(c.file_wages_complaint(timeout=300) for c in people))
            elapsed = time.perf_counter() - start
            report_usage(f"{framework} Huiyin", tg, calls0, cpu0, proc.pid,
                         citizens * len(WAGES), elapsed)
            assert not tg.client_errors(), tg.client_errors()[:3]
        finally:
            await stop(proc)
    return citizens * len(WAGES), elapsed


async def bench_echo(framework: str, users: int, per_user: int) -> tuple[int, float]:
    async with FakeTelegram() as tg:
        proc = await spawn([str(Path(__file__).resolve()), "--echo", framework,
                            "--token", tg.token, "--base", tg.base_url], dict(os.environ))
        try:
            tg.user_text(1, "warm-up")
            await tg.wait_messages(1, 1, 60)

            async def user(uid: int) -> None:
                for i in range(per_user):
                    tg.user_text(uid, f"消息 {i}")
                    await tg.wait_messages(uid, i + 1, 120)

            calls0, cpu0 = len(tg.calls), cpu_seconds(proc.pid)
            tg.cpu0 = cpu_seconds(os.getpid())
            start = time.perf_counter()
            await asyncio.gather(*(user(10_000 + i) for i in range(users)))
            elapsed = time.perf_counter() - start
            report_usage(f"{framework} echo", tg, calls0, cpu0, proc.pid, users * per_user,
                         elapsed)
        finally:
            await stop(proc)
    return users * per_user, elapsed


async def main(citizens: int, frameworks: list[str], rounds: int) -> None:
    print(f"{citizens} citizens × {len(WAGES)} updates each, SQLite, fake Bot API on 127.0.0.1, "
          "Huiyin's sending limits switched off (HUIYIN_SEND_*=0)")
    for framework in frameworks:
        # Huiyin and the echo bot take turns, each keeping its best round: a machine busy for a
        # while then hurts both alike instead of whichever ran at the time
        huiyin = echo = 0.0
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                n, t = await bench_huiyin(framework, citizens, Path(tmp) / "bench.db")
            huiyin = max(huiyin, n / t)
            n2, t2 = await bench_echo(framework, citizens, len(WAGES))
            echo = max(echo, n2 / t2)
        print(f"{framework:8s} Huiyin {huiyin:7.1f} updates/s   echo bot {echo:7.1f} updates/s   "
              f"ratio {huiyin / echo:.0%}   (best of {rounds} rounds each)", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=300)
    parser.add_argument("--frameworks", default="aiogram,ptb")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--echo", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.echo:
        (echo_aiogram if a.echo == "aiogram" else echo_ptb)(a.token, a.base)
    else:
        asyncio.run(main(a.citizens, a.frameworks.split(","), a.rounds))
