"""Migration 0004 (ratings, reminder times) on SQLite and on the local PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from storage.models import Rating, utcnow
from tests.storage.conftest import table_columns
from tests.storage.test_contract import new_case


async def test_migration_0004_adds_ratings_and_reminder_times(db_url):
    deadline_cols, rating_cols = await table_columns(db_url, "casedeadline", "rating")
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
