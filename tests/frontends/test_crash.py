"""Nothing lost: the bot is killed with SIGKILL in the middle of a stream of citizens,
restarted, and every complaint exists exactly once and every citizen got exactly one receipt."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.fakes.citizen import RECEIPT, WAGES, Citizen, receipt
from tests.fakes.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
CITIZENS = 20
pytestmark = pytest.mark.slow


def bot_env(tg: FakeTelegram, db: Path, frontend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env.update(HUIYIN_BOT_TOKEN=tg.token, HUIYIN_TELEGRAM_API_BASE=tg.base_url,
               HUIYIN_DATABASE_URL=f"sqlite+aiosqlite:///{db}", HUIYIN_FRONTEND=frontend,
               HUIYIN_STAFF_CHAT_ID="-1001", HUIYIN_POLL_TIMEOUT="2",
               HUIYIN_SEND_PER_SECOND="0", HUIYIN_SEND_PRIVATE_PER_SECOND="0",
               HUIYIN_SEND_GROUP_PER_MINUTE="0")
    return env


async def start_bot(tg: FakeTelegram, env: dict[str, str]) -> asyncio.subprocess.Process:
    started = sum(1 for name, _ in tg.calls if name.lower() == "setmycommands")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.bot_process", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await tg.wait_until(lambda: sum(1 for n, _ in tg.calls if n.lower() == "setmycommands")
                        > started, 60, "the bot to start")
    return proc


@pytest.mark.parametrize("frontend", ["aiogram", "ptb"])
async def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(tmp_path, frontend):
    db = tmp_path / "crash.db"
    async with FakeTelegram() as tg:
        env = bot_env(tg, db, frontend)
        proc = await start_bot(tg, env)
        citizens = [Citizen(tg, 2000 + i) for i in range(CITIZENS)]
        filing = [asyncio.create_task(c.file_wages_complaint(timeout=60)) for c in citizens]

        # kill when about 40% of the stream has been handed out, wherever the bot is then
        total = CITIZENS * len(WAGES)
        await tg.wait_until(lambda: tg.served_updates >= total * 0.4, 60, "the stream")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        killed_at = tg.served_updates
        proc = await start_bot(tg, env)
        try:
            await asyncio.gather(*filing)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
        assert killed_at < total

        for c in citizens:
            receipts = [m for m in c.messages if receipt(m)]
            assert len(receipts) == 1, (c.user_id, [m.text for m in receipts])
        assert tg.client_errors() == []

    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        cases = conn.execute(text('select c.number, z.chat_id from "case" c '
                                  "join citizen z on z.id = c.citizen_id")).all()
        statuses = dict(conn.execute(text("select status, count(*) from inboxupdate "
                                          "group by status")).all())
    engine.dispose()
    assert sorted(chat for _, chat in cases) == [c.user_id for c in citizens]
    numbers = {RECEIPT.search(m.text).group(1) for c in citizens for m in c.messages
               if receipt(m)}
    assert numbers == {number for number, _ in cases}
    assert set(statuses) == {"done"}
