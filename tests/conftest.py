"""Shared fixtures: the real classifier (loaded once), databases, and a chat driver."""
from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from bot.app import App, build_app
from bot.chat import Incoming, Kind, Outgoing
from config.settings import Settings

PG_ADMIN_URL = os.environ.get("HUIYIN_TEST_PG", "postgresql://127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def classifier():
    """The real jieba classifier, loaded once for the whole session."""
    from nlp import load_classifier

    return load_classifier()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'huiyin.db'}"


def _pg_admin(sql: str, url: str = PG_ADMIN_URL) -> None:
    """Run one SQL statement with asyncpg, in its own thread and loop (fixtures here are sync)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def pg_server_url():
    """A fresh database on the local PostgreSQL for this test session, dropped afterwards."""
    name = f"huiyin_{uuid.uuid4().hex[:10]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except OSError as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is needed for the storage contract: {exc}")
    yield f"postgresql+asyncpg://127.0.0.1:5432/{name}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The same tests on SQLite and on PostgreSQL, each from an empty schema."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    url = request.getfixturevalue("pg_server_url")
    plain = url.replace("postgresql+asyncpg", "postgresql")
    _pg_admin("DROP SCHEMA public CASCADE; CREATE SCHEMA public;", plain)
    return url


@pytest.fixture
def settings(sqlite_url) -> Settings:
    return Settings(database_url=sqlite_url, staff_chat_id=-100, bot_token=None,
                    _env_file=None)


@pytest.fixture
async def make_app(classifier):
    """Build apps on given settings; all are closed after the test."""
    apps: list[App] = []

    async def make(settings: Settings) -> App:
        app = await build_app(settings, classifier_loader=lambda: classifier)
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.close()


@pytest.fixture
async def app(make_app, settings) -> App:
    return await make_app(settings)


@dataclass
class Chat:
    """Drives the engine like one citizen in a private chat."""

    app: App
    chat_id: int = 501
    inbox: list[Outgoing] = field(default_factory=list)   # everything the engine sent anywhere
    last: list[Outgoing] = field(default_factory=list)    # what the last event produced

    async def event(self, event: Incoming) -> list[Outgoing]:
        self.last = await self.app.engine.handle(event)
        self.inbox.extend(self.last)
        return self.last

    async def send(self, text: str) -> list[Outgoing]:
        return await self.event(Incoming.from_text(self.chat_id, self.chat_id, text))

    async def press(self, label: str) -> list[Outgoing]:
        """Press the button whose text contains ``label`` in the latest messages."""
        for msg in reversed(self.mine):
            for row in msg.buttons:
                for b in row:
                    if label in b.text:
                        return await self.event(Incoming(self.chat_id, self.chat_id,
                                                         Kind.BUTTON, data=b.data))
        raise AssertionError(f"no button {label!r} in {[m.text[:40] for m in self.mine]}")

    async def data(self, data: str) -> list[Outgoing]:
        return await self.event(Incoming(self.chat_id, self.chat_id, Kind.BUTTON, data=data))

    async def photo(self, file_id: str = "photo-1") -> list[Outgoing]:
        return await self.event(Incoming(self.chat_id, self.chat_id, Kind.ATTACHMENT,
                                         file_id=file_id, media="photo"))

    async def contact(self, phone: str) -> list[Outgoing]:
        return await self.event(Incoming(self.chat_id, self.chat_id, Kind.CONTACT, text=phone))

    async def sticker(self) -> list[Outgoing]:
        return await self.event(Incoming(self.chat_id, self.chat_id, Kind.OTHER,
                                         media="sticker"))

    @property
    def mine(self) -> list[Outgoing]:
        return [m for m in self.last if m.chat_id == self.chat_id]

    @property
    def text(self) -> str:
        """All text sent to this citizen by the last event."""
        return "\n".join(m.text for m in self.mine)

    def buttons(self) -> list[str]:
        return [b.text for m in self.mine for row in m.buttons for b in row]


@pytest.fixture
def chat(app) -> Chat:
    return Chat(app)


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll ``predicate`` (sync or async) until true or the deadline passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(interval)
