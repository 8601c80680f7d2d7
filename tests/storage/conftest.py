"""Fixtures of the storage contract: a migrated database on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from storage.db import create_engine, session_factory
from storage.migrate import upgrade


@pytest.fixture
async def sessions(db_url):
    await upgrade(db_url)
    engine = create_engine(db_url)
    yield session_factory(engine)
    await engine.dispose()


async def table_columns(db_url: str, *tables: str) -> list[set[str]]:
    """The column names of each table after upgrading the schema."""
    await upgrade(db_url)
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        def columns(c, table):
            return {col["name"] for col in inspect(c).get_columns(table)}
        found = [await conn.run_sync(columns, table) for table in tables]
    await engine.dispose()
    return found
