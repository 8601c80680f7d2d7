"""Reception days in the domain, on SQLite and PostgreSQL: the last place of a slot goes to one
of two citizens booking it at the same moment (two transactions, one conditional update), and
a cancelled place goes to the first on the waiting list."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import text

from cases import reception
from cases.deadlines import SHANGHAI
from cases.reception import ReceptionRules
from storage import repo
from storage.db import create_engine, dialect_of, session_factory
from storage.migrate import upgrade
from storage.models import ReceptionBooking, ReceptionSlot
from tests.conftest import wait_for

NOW = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
RULES = ReceptionRules()


async def prepare(sessions, citizens: int, capacity: int = 1):
    async with sessions() as s, s.begin():
        slot = reception.publish(s, starts_at=NOW + timedelta(days=3),
                                 ends_at=NOW + timedelta(days=3, hours=2), place="接待室",
                                 video=False, link="", capacity=capacity, topics=[],
                                 host_id=None, host_name="王局长", by=1, now=NOW)
        cases = []
        for chat_id in range(501, 501 + citizens):
            citizen = await repo.get_or_create_citizen(s, chat_id=chat_id)
            cases.append(await repo.create_case(s, citizen=citizen, note="", at=NOW,
                                                level1="劳动和社会保障", department="hrss",
                                                description="欠薪"))
        await s.flush()
        return slot.id, cases


async def test_two_citizens_booking_the_last_place_at_once_one_gets_it(db_url):
    await upgrade(db_url)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        slot_id, (first, second) = await prepare(sessions, 2)
        async with sessions() as s1, sessions() as watcher:
            await s1.begin()
            got_first = await reception.book(s1, slot_id=slot_id, case=first, chat_id=501,
                                             matter="我先到", now=NOW, rules=RULES)
            assert isinstance(got_first, reception.Booked)   # taken, not yet committed

            async def second_books():
                async with sessions() as s2, s2.begin():
                    return await reception.book(s2, slot_id=slot_id, case=second, chat_id=502,
                                                matter="我也要", now=NOW, rules=RULES)

            other = asyncio.create_task(second_books())
            if dialect_of(watcher) == "postgresql":   # the second waits on the slot's row
                async def blocked():
                    rows = await watcher.exec(text(
                        "select count(*) from pg_stat_activity "
                        "where wait_event_type = 'Lock' and datname = current_database()"))
                    return rows.scalar() >= 1
                await wait_for(blocked)
            await s1.commit()
            got_second = await other
        assert isinstance(got_second, reception.Full)
        async with sessions() as s:
            slot = await s.get(ReceptionSlot, slot_id)
            booked = (await s.exec(text(
                "select count(*) from receptionbooking where status = 'booked'"))).scalar()
        assert (slot.booked, booked) == (1, 1)
    finally:
        await engine.dispose()


async def test_a_cancelled_place_goes_to_the_first_waiting_citizen(db_url):
    await upgrade(db_url)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        slot_id, (first, second, third) = await prepare(sessions, 3)
        async with sessions() as s, s.begin():
            placed = await reception.book(s, slot_id=slot_id, case=first, chat_id=501,
                                          matter="一", now=NOW, rules=RULES)
            waits = [await reception.book(s, slot_id=slot_id, case=c, chat_id=chat, matter="候补",
                                          now=NOW, rules=RULES, waiting=True)
                     for c, chat in ((second, 502), (third, 503))]
            assert [w.position for w in waits] == [1, 2]
            done = await reception.cancel(s, placed.booking, now=NOW, rules=RULES)
            assert done.promoted.id == waits[0].booking.id
            assert await reception.cancel(s, placed.booking, now=NOW, rules=RULES) is None
        async with sessions() as s:
            states = [(b.case_id, b.status) for b in
                      (await s.exec(text("select * from receptionbooking order by id"))).all()]
            slot = await s.get(ReceptionSlot, slot_id)
            promoted = await s.get(ReceptionBooking, waits[0].booking.id)
        assert states == [(first.id, "cancelled"), (second.id, "booked"), (third.id, "waiting")]
        assert slot.booked == 1 and promoted.promoted_at is not None
    finally:
        await engine.dispose()
