"""Shared fixtures: the real classifier (loaded once), databases, and a chat driver.

``make test TEST_WORKERS=2`` runs the suite on two workers (pytest-xdist, ``--dist
loadfile``: a test file stays on one worker, its module fixtures made once). Each worker has
its own PostgreSQL database (``pg_server_url``), its own temporary directories and free ports
(the fake Telegram server, uvicorn and the browser tests bind port 0); Redis is not used by the
tests. The files with the longest tests are handed out first (``pytest_collection_modifyitems``),
so that they do not finish alone at the end.
"""
from __future__ import annotations

import asyncio
import functools
import os
import shutil
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

# Under xdist two workers share the two cores: numerical libraries (BLAS, OpenMP) get one
# thread each instead of spinning against the other worker. Set before numpy is imported
# (by bot.app below), and inherited by the subprocesses the tests start.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import pytest

from bot.app import App, build_app
from bot.chat import Incoming, Kind, Outgoing
from config.settings import Settings

PG_ADMIN_URL = os.environ.get("HUIYIN_TEST_PG", "postgresql://127.0.0.1:5432/test")

# The files whose tests take longest, longest first (measured: the cross-validation alone is a
# quarter of the suite's CPU time; then the SIGKILL streams, the property-based Open311 test, the
# subprocess CLIs, the browser). Under xdist they start first, each on a free worker, and the
# many short files fill the other worker around them. Files with a ``slow`` test not named
# here follow these; then all the others, in their usual order.
LONGEST_FIRST = (
    "tests/nlp/test_evaluation.py",
    "tests/frontends/test_crash.py",
    "tests/web/test_open311.py",
    "tests/nlp/test_cli.py",
    "tests/conversations/test_staff.py",
    "tests/web/test_browser.py",
    "tests/nlp/test_similar.py",
    "tests/frontends/test_case_lifecycle.py",
    "tests/frontends/test_console.py",
    "tests/conversations/test_stats.py",
)


def pytest_configure(config):
    _memoize_lsh_parameters()


def _memoize_lsh_parameters() -> None:
    """datasketch's ``MinHashLSH`` finds its bands by numerical integration (scipy's ``quad``,
    hundreds of calls) each time one is made: every app a test builds makes one (the "same
    matter" index), a tenth of a second of CPU each. The answer depends on its four numbers
    only, so the tests compute it once per set of numbers."""
    try:
        from datasketch import lsh
    except ImportError:   # pragma: no cover - datasketch is a dependency
        return
    optimal = getattr(lsh, "_optimal_param", None)
    if callable(optimal) and not hasattr(optimal, "cache_info"):
        lsh._optimal_param = functools.lru_cache(maxsize=None)(optimal)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """On xdist workers (which must all collect the same order): the files of ``LONGEST_FIRST``
    first, then the other files with a ``slow`` test, then the rest; each file's tests keep
    their order. A plain ``pytest`` run keeps the usual order."""
    if not hasattr(config, "workerinput"):
        return
    files: dict[str, int] = {}
    slow: set[str] = set()
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        files.setdefault(path, len(files))
        if item.get_closest_marker("slow") is not None:
            slow.add(path)

    def rank(item) -> tuple[int, int]:
        path = item.nodeid.split("::", 1)[0]
        if path in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(path))
        return (1 if path in slow else 2, files[path])

    items.sort(key=rank)   # stable: a file's tests keep their order


@pytest.fixture(scope="session")
def classifier():
    """The real jieba classifier, loaded once for the whole session."""
    from nlp import load_classifier

    return load_classifier()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite database migrated to the head once for the session: a test's database starts
    as a copy of it, so the app's own upgrade at start finds nothing to do (0.3 s of CPU saved
    per app). Migrating an empty database stays tested (tests/storage, the subprocess tests).
    The copy is in SQLite's default journal mode: the engine must turn WAL on by itself."""
    from storage.migrate import upgrade_sync

    path = tmp_path_factory.mktemp("template") / "huiyin.db"
    with ThreadPoolExecutor(1) as pool:   # Alembic runs its own event loop
        pool.submit(upgrade_sync, f"sqlite+aiosqlite:///{path}").result()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    return path


def migrated_sqlite(template: Path, path: Path) -> str:
    """``path`` (when it is not there yet) as a copy of the migrated template; its URL."""
    if not path.exists():
        shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    return migrated_sqlite(sqlite_template, tmp_path / "huiyin.db")


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
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")   # one database per xdist worker
    name = f"huiyin_{worker}_{uuid.uuid4().hex[:10]}"
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
