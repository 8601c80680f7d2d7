"""Migration 0004 (ratings, reminder times) on SQLite and on the local PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Rating, utcnow
from tests.storage.test_contract import new_case


@pytest.fixture
async def sessions(db_url):
    await upgrade(db_url)
    engine = create_engine(db_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_migration_0004_adds_ratings_and_reminder_times(db_url):
    await upgrade(db_url)
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        def columns(c, table):
            return {col["name"] for col in inspect(c).get_columns(table)}
        deadline_cols = await conn.run_sync(columns, "casedeadline")
        rating_cols = await conn.run_sync(columns, "rating")
    await engine.dispose()
    assert "remind_at" in deadline_cols
    assert {"case_id", "overall", "attitude", "method", "speed", "result", "comment",
            "created_at"} <= rating_cols


async def test_a_case_is_rated_at_most_once(sessions):
    async with sessions() as s, s.begin():
        case = await new_case(s, 60)
        s.add(Rating(case_id=case.id, overall="satisfied", attitude=5, created_at=utcnow()))
    with pytest.raises(IntegrityError):
        async with sessions() as s, s.begin():
            s.add(Rating(case_id=case.id, overall="dissatisfied", created_at=utcnow()))
    async with sessions() as s:
        rating = await s.get(Rating, 1)
        assert (rating.overall, rating.attitude, rating.comment) == ("satisfied", 5, None)
