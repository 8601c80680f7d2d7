"""One storage contract, run on SQLite and on the local PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import repo
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Case, CaseEvent

TABLES = {"citizen", "case", "caseevent", "attachment", "conversation", "queryattempt",
          "alembic_version"}


async def test_migrations_build_every_table_on_an_empty_database(db_url):
    await upgrade(db_url)
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        version = (await conn.execute(text("select version_num from alembic_version"))).scalar()
    await engine.dispose()
    assert TABLES <= names
    assert version is not None
    await upgrade(db_url)  # a second start upgrades nothing and does not fail


async def new_case(session, chat_id: int, **fields) -> Case:
    citizen = await repo.get_or_create_citizen(session, chat_id=chat_id)
    values = dict(level1="劳动和社会保障", level2="工资福利", level3="工资发放",
                  department="hrss", description="老板拖欠三个月工资", phone="13812345678",
                  answers={"employer": "某建筑公司", "amount": "35000"}, flags=["collective"])
    values.update(fields)
    return await repo.create_case(session, citizen=citizen, note="登记",
                                  attachments=[{"file_id": "f1", "media": "photo"}], **values)


async def test_a_case_gets_a_unique_number_code_event_and_attachments(sessions):
    async with sessions() as s, s.begin():
        first = await new_case(s, 1)
        second = await new_case(s, 2)
    assert first.number != second.number
    assert first.number.startswith("HY") and len(first.query_code) == 6
    assert first.query_code.isdigit()
    async with sessions() as s:
        loaded = await repo.case_by_number(s, number=first.number)
        assert loaded.answers == {"employer": "某建筑公司", "amount": "35000"}
        assert loaded.flags == ["collective"]
        assert loaded.created_at.tzinfo is not None
        events = await repo.events_of_case(s, case_id=loaded.id)
        assert [(e.action, e.to_status) for e in events] == [("registered", "registered")]
        assert await repo.count_attachments(s, case_id=loaded.id) == 1


async def test_citizens_see_only_their_own_cases(sessions):
    async with sessions() as s, s.begin():
        mine = await new_case(s, 10)
        await new_case(s, 11)
    async with sessions() as s:
        assert [c.number for c in await repo.cases_of_citizen(s, chat_id=10)] == [mine.number]
        assert await repo.case_owned_by(s, number=mine.number, chat_id=11) is None
        assert (await repo.case_owned_by(s, number=mine.number, chat_id=10)).id == mine.id


async def test_case_numbers_are_unique_in_the_database(sessions):
    async with sessions() as s, s.begin():
        case = await new_case(s, 20)
    with pytest.raises(IntegrityError):
        async with sessions() as s, s.begin():
            citizen = await repo.get_or_create_citizen(s, chat_id=21)
            s.add(Case(number=case.number, query_code="000000", citizen_id=citizen.id,
                       level1="x", department="hrss", description="重复编号"))


async def test_events_need_an_existing_case(sessions):
    with pytest.raises(IntegrityError):
        async with sessions() as s, s.begin():
            s.add(CaseEvent(case_id=999_999, actor="system", action="registered"))


async def test_conversation_state_survives_a_new_session(sessions):
    async with sessions() as s, s.begin():
        conv = repo.ConversationState(chat_id=7_000_000_001, user_id=7_000_000_001,
                                      flow="intake", step="location",
                                      data={"answers": {"employer": "张三"}, "h": [1]})
        await repo.save_conversations(s, conversations=[conv])
    async with sessions() as s, s.begin():
        conv = (await repo.get_conversations(s, chat_ids=[7_000_000_001]))[7_000_000_001]
        assert (conv.flow, conv.step) == ("intake", "location")
        conv.data["answers"]["amount"] = "100"  # edited in place, as flows do
        await repo.save_conversations(s, conversations=[conv])
    async with sessions() as s:
        conv = (await repo.get_conversations(s, chat_ids=[7_000_000_001]))[7_000_000_001]
        assert conv.data["answers"] == {"employer": "张三", "amount": "100"}


async def test_conversations_of_several_chats_load_and_save_together(sessions):
    """A batch of updates loads its chats' conversations in one go and writes them back in one
    go: new ones are created, existing ones updated, unknown chats missing from the answer."""
    first, second, unknown = 7_000_000_011, 7_000_000_012, 7_000_000_013
    async with sessions() as s, s.begin():
        await repo.save_conversations(s, conversations=[
            repo.ConversationState(first, first, "intake", "describe", {"n": 1})])
    async with sessions() as s, s.begin():
        convs = await repo.get_conversations(s, chat_ids=[first, second, unknown])
        assert set(convs) == {first}
        convs[first].step = "confirm"
        convs[second] = repo.ConversationState(second, second, "query", "number")
        await repo.save_conversations(s, conversations=convs.values())
    async with sessions() as s:
        convs = await repo.get_conversations(s, chat_ids=[first, second, unknown])
        assert {c: (v.flow, v.step, v.data) for c, v in convs.items()} == {
            first: ("intake", "confirm", {"n": 1}), second: ("query", "number", {})}


async def test_wrong_query_codes_are_counted_per_chat(sessions):
    from datetime import timedelta

    from storage.models import utcnow

    now = utcnow()
    async with sessions() as s, s.begin():
        for _ in range(3):
            await repo.record_query_failure(s, chat_id=30, at=now)
    an_hour_ago = now - timedelta(hours=1)
    async with sessions() as s:
        assert await repo.query_failures(s, chat_id=30, since=an_hour_ago) == 3
        assert await repo.query_failures(s, chat_id=31, since=an_hour_ago) == 0
        assert await repo.query_failures(s, chat_id=30, since=now) == 0   # the window slides


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    engine = create_engine(sqlite_url)
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    await engine.dispose()


def test_no_engine_is_created_at_import():
    from sqlalchemy.ext.asyncio import AsyncEngine

    import storage.db as db
    import storage.models as models

    assert not [v for v in vars(db).values() if isinstance(v, AsyncEngine)]
    assert not [v for v in vars(models).values() if isinstance(v, AsyncEngine)]


async def test_an_update_stored_twice_counts_once(sessions):
    """Telegram hands an update out again after a crash before confirming: storing the same
    batch again (one old id, one new) reports only the new one as new, and keeps one row each."""
    from storage import inbox

    base = 880_000_000
    async with sessions() as s, s.begin():
        new = await inbox.add_updates(s, updates=[(base + 1, 1, {"n": 1}), (base + 2, 2, {})],
                                      done={base + 2})
    assert new == {base + 1, base + 2}
    async with sessions() as s, s.begin():
        new = await inbox.add_updates(s, updates=[(base + 1, 1, {"n": "again"}),
                                                  (base + 3, 1, {"n": 3})])
    assert new == {base + 3}
    async with sessions() as s:
        pending = [(u.update_id, u.payload) for u in await inbox.pending_updates(s)
                   if u.update_id > base]
    assert pending == [(base + 1, {"n": 1}), (base + 3, {"n": 3})]


async def test_queued_messages_know_their_own_row(sessions):
    """Messages queued together in one statement come back each with its own row's id (the
    delivery worker marks rows sent by these ids)."""
    from sqlmodel import select

    from storage import outbox
    from storage.models import OutboxMessage

    items = [(8_800_000 + i % 3, "citizen", {"op": "send", "text": f"第{i}条"}) for i in range(7)]
    async with sessions() as s, s.begin():
        queued = await outbox.add_messages(s, messages=items)
    assert [(q.chat_id, q.audience, q.payload) for q in queued] == items
    async with sessions() as s:
        stored = {r.id: r for r in (await s.exec(
            select(OutboxMessage).where(OutboxMessage.id.in_([q.id for q in queued])))).all()}
    assert [(stored[q.id].chat_id, stored[q.id].payload) for q in queued] == \
        [(chat, payload) for chat, _, payload in items]
