"""The web workspace as the bot's own child process: ``main.py telegram`` with
HUIYIN_WEB_LISTEN set (what ``make run`` does on Telegram) starts ``main.py web`` beside it and
says so; a staff action taken there reaches the citizen within a second or two (the web process
wakes the bot's delivery worker through a pipe); and the web process ends with the bot, also
when the bot is killed outright.

Real processes, the fake Bot API server over HTTP, a real SQLite file.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import httpx

from cases.service import CaseService
from config.catalog import Catalog
from config.settings import PROJECT_DIR
from storage import repo, signin
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import utcnow
from tests.conversations.test_staff import INTAKE, STAFF_CHAT, config_dir
from tests.fakes.telegram_server import FakeTelegram
from tests.web.conftest import csrf_of

CITIZEN = 50_501
T = Catalog().texts


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def until(predicate, timeout: float, what: str):
    """Poll ``predicate`` until it holds, with a deadline."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def a_filed_case(url: str, config: Path) -> tuple[str, str]:
    """A registered case of CITIZEN's, and a sign-in token for intake staff."""
    await upgrade(url)
    engine = create_engine(url)
    service = CaseService(Catalog(config).lifecycle)
    async with session_factory(engine)() as session, session.begin():
        citizen = await repo.get_or_create_citizen(session, chat_id=CITIZEN)
        case = await service.file(session, citizen=citizen, at=utcnow(), attachments=[],
                                  level1="劳动和社会保障", level2="劳动保障", level3="工资发放",
                                  department="hrss", description="拖欠工资三万五千元。",
                                  phone="13812345678", name="王小明")
        token = signin.issue(session, user_id=INTAKE, now=utcnow(), minutes=10)
    await engine.dispose()
    return case.number, token


async def test_the_web_runs_as_the_bots_child_and_its_actions_reach_the_citizen(
        tmp_path, sqlite_url):
    config = config_dir(tmp_path)
    number, token = await a_filed_case(sqlite_url, config)
    port = free_port()
    async with FakeTelegram() as tg:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
        env.update(HUIYIN_BOT_TOKEN=tg.token, HUIYIN_TELEGRAM_API_BASE=tg.base_url,
                   HUIYIN_DATABASE_URL=sqlite_url, HUIYIN_STAFF_CHAT_ID=str(STAFF_CHAT),
                   HUIYIN_STAFF_USER_IDS=str(INTAKE), HUIYIN_CONFIG_DIR=str(config),
                   HUIYIN_WEB_LISTEN=f"127.0.0.1:{port}", HUIYIN_WEB_SECRET="test",
                   HUIYIN_POLL_TIMEOUT="1", HUIYIN_SEND_PER_SECOND="0",
                   HUIYIN_SEND_PRIVATE_PER_SECOND="0", HUIYIN_SEND_GROUP_PER_MINUTE="0")
        bot = await asyncio.create_subprocess_exec(
            sys.executable, str(PROJECT_DIR / "main.py"), "telegram", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        said: list[str] = []

        async def read() -> None:
            while line := await bot.stdout.readline():
                said.append(line.decode(errors="replace"))
        reading = asyncio.create_task(read())
        apart = re.compile(re.escape(T.web_apart).replace(re.escape("{pid}"), r"(\d+)"))
        web = 0
        try:
            # the bot says the web is a process of its own, and which
            found = await until(lambda: next((m for line in said if (m := apart.search(line))),
                                             None), 120, "the bot to start the web")
            web = int(found.group(1))
            assert web != bot.pid and alive(web)
            assert b"web" in Path(f"/proc/{web}/cmdline").read_bytes()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                async def healthy() -> bool:
                    try:
                        return (await client.get("/healthz")).status_code == 200
                    except httpx.TransportError:
                        return False
                deadline = time.monotonic() + 120
                while not await healthy():
                    assert time.monotonic() < deadline, "the web did not start"
                    await asyncio.sleep(0.1)
                await tg.wait_until(lambda: tg.commands, 120, "the bot to start")

                assert (await client.post("/signin", data={"token": token})).status_code == 303
                page = await client.get(f"/cases/{number}")
                acted = await client.post(f"/cases/{number}/act/route",
                                          data={"csrf_token": csrf_of(page.text),
                                                "version": 0, "department": "hrss"})
                assert acted.status_code == 303, acted.text
                started = time.monotonic()
                # the row the web process wrote is sent by the bot's process at once
                [told] = await tg.wait_messages(CITIZEN, 1, timeout=10)
                assert number in told.text
                assert time.monotonic() - started < 2.0

            # killed outright, the bot cannot stop it: the web process ends by itself
            bot.kill()
            await bot.wait()
            await until(lambda: not alive(web), 20, "the web process to end with the bot")
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
            reading.cancel()
            if web and alive(web):
                os.kill(web, signal.SIGKILL)
