"""Fixtures for the Telegram front ends: a fake Bot API server and a bot running against it."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.app import App, build_app
from bot.frontends.runner import Runner
from bot.frontends.telegram import make_api
from bot.notify.outbox_hook import write_outbox
from config.settings import Settings
from tests.conftest import migrated_sqlite
from tests.fakes.telegram_server import FakeTelegram

STAFF_CHAT = -1001
LEADERS_CHAT = -1002
STAFF_USER = 777


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server


def bot_settings(tg: FakeTelegram, db_url: str, frontend: str, **extra) -> Settings:
    values = dict(database_url=db_url, bot_token=tg.token, telegram_api_base=tg.base_url,
                  frontend=frontend, staff_chat_id=STAFF_CHAT, leaders_chat_id=LEADERS_CHAT,
                  staff_user_ids=[STAFF_USER], poll_timeout=2, send_per_second=0,
                  send_private_per_second=0, send_group_per_minute=0, _env_file=None)
    values.update(extra)
    return Settings(**values)


@dataclass
class RunningBot:
    tg: FakeTelegram
    app: App
    runner: Runner
    polling: asyncio.Task

    async def stop(self) -> None:
        self.polling.cancel()
        await asyncio.gather(self.polling, return_exceptions=True)
        await self.runner.stop()
        await self.app.close()


@pytest.fixture
async def start_bot(classifier, tmp_path, sqlite_template):
    """``await start_bot(tg, frontend, **settings)``: the bot polling the fake server."""
    bots: list[RunningBot] = []

    async def start(tg: FakeTelegram, frontend: str, **extra) -> RunningBot:
        settings = bot_settings(tg, migrated_sqlite(sqlite_template, tmp_path / "bot.db"),
                                frontend, **extra)
        app = await build_app(settings, classifier_loader=lambda: classifier,
                              on_outgoing=write_outbox)
        runner = Runner(app, make_api(settings))
        await runner.start()
        bot = RunningBot(tg, app, runner, asyncio.create_task(runner.poll()))
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        await bot.stop()
