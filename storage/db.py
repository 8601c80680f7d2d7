"""The one async engine factory. Nothing is created at import."""
from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_PREFIX = "sqlite+aiosqlite:///"


def create_engine(url: str, *, reading: bool = False, **kwargs) -> AsyncEngine:
    """An async engine for ``url``. SQLite: folder created, WAL, foreign keys, write transactions
    that take the write lock up front (so concurrent chats queue instead of failing); with
    ``reading``, transactions that only read and never block the writers (WAL)."""
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX):].partition("?")[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **kwargs)
        _sqlite_pragmas(engine, "BEGIN" if reading else "BEGIN IMMEDIATE")
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(engine: AsyncEngine, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(begin)


def dialect_of(session: AsyncSession) -> str:
    """The session's database: "sqlite" or "postgresql"."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def insert_for(dialect: str):
    """The dialect's ``insert`` (the one with ON CONFLICT)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def write_gate(url: str) -> contextlib.AbstractAsyncContextManager:
    """SQLite has one writer at a time: queue this process's transactions on an asyncio lock
    (first come, first served) instead of letting them spin on the file lock. Other
    databases need no gate."""
    return asyncio.Lock() if url.startswith(SQLITE_PREFIX) else contextlib.nullcontext()
