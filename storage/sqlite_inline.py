"""aiosqlite without its thread: each call runs at once on the event loop's thread.

aiosqlite hands every call (cursor, execute, fetch, close: three or four per statement) to a
worker thread and back; each hand-back waits for a turn of the event loop, which under load
(hundreds of chats, HTTP to Telegram) costs about a millisecond, and a transaction is a dozen
such turns while it holds the one write lock. A local SQLite file in WAL mode with
``synchronous=NORMAL`` answers these statements in microseconds, so running them where they
are awaited is both cheaper and quicker.

The one wait SQLite can have is for another process's write lock; that wait is not spent
blocking the loop: the connection's own busy timeout is kept short and a "database is locked"
is retried here with ``asyncio.sleep`` until ``busy_timeout`` has passed (what SQLite's busy
handler would do, one level up: the failed call changed nothing).
"""
from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import aiosqlite

# How long a statement may block the loop waiting for another process's lock before it
# gives the loop back and retries.
SPIN_MS = 5


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs the call and settles its future."""

    __slots__ = ()

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 (handed to the awaiting caller)
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` that never starts its thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], *,
                 busy_timeout: float = 30.0, iter_chunk_size: int = 64):
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()                   # type: ignore[assignment]
        self._busy_timeout = busy_timeout

    def __await__(self):
        return self._connect().__await__()     # no thread to start

    async def _execute(self, fn, *args, **kwargs):
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        deadline = None
        delay = 0.001
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self._busy_timeout
                if now >= deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)


def inline_creator(database: str, *, busy_timeout: float = 30.0,
                   **connect_kwargs: Any) -> Callable[[], InlineConnection]:
    """An ``async_creator`` for ``create_async_engine``."""

    def connector() -> sqlite3.Connection:
        conn = sqlite3.connect(database, timeout=SPIN_MS / 1000, **connect_kwargs)
        return conn

    def create() -> InlineConnection:
        return InlineConnection(connector, busy_timeout=busy_timeout)

    return create
