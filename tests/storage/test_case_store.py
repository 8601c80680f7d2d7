"""The case-work store (storage/cases.py) on SQLite and on the local PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from storage import cases, repo
from storage.models import Case, utcnow
from tests.storage.conftest import table_columns
from tests.storage.test_contract import new_case


async def test_migration_0003_adds_version_pause_leader_event_fields_and_deadlines(db_url):
    case_cols, event_cols, deadline_cols = await table_columns(
        db_url, "case", "caseevent", "casedeadline")
    assert {"version", "paused_since", "leader_id"} <= case_cols
    assert {"role", "fields"} <= event_cols
    assert {"case_id", "kind", "started_at", "due_at", "paused_at", "paused_days",
            "extension_days", "stopped_at", "reminded_at", "escalated_at"} <= deadline_cols


async def test_a_transition_from_a_version_someone_else_changed_writes_nothing(sessions):
    async with sessions() as s, s.begin():
        case = await new_case(s, 40)
    assert case.version == 0
    async with sessions() as s:               # a second person saw version 0 too
        seen = await cases.case_by_id(s, case_id=case.id)
    now = utcnow()
    async with sessions() as s, s.begin():
        mine = await cases.case_by_id(s, case_id=case.id)
        assert await cases.advance_case(s, case=mine, seen_version=0, status="routed", at=now,
                                        department="housing")
        assert (mine.status, mine.version, mine.department) == ("routed", 1, "housing")
    async with sessions() as s, s.begin():
        theirs = await cases.case_by_id(s, case_id=seen.id)
        assert not await cases.advance_case(s, case=theirs, seen_version=seen.version,
                                            status="declined", at=now)
    async with sessions() as s:
        final = await s.get(Case, case.id)
        assert (final.status, final.version, final.department) == ("routed", 1, "housing")


async def test_pause_leader_events_and_deadlines_round_trip(sessions):
    now = utcnow()
    async with sessions() as s, s.begin():
        case = await new_case(s, 41)
        assert await cases.advance_case(s, case=case, seen_version=0, status="registered",
                                        at=now, paused_since=now, leader_id=8_000_000_001)
        cases.add_event(s, case_id=case.id, at=now, actor="staff:1", role="intake",
                        action="request_info", from_status="registered",
                        to_status="registered", note="请信访人补充材料",
                        fields={"question": "请提供劳动合同", "days": 3})
        cases.start_deadline(s, case_id=case.id, kind="routing", started_at=now,
                             due_at=now + timedelta(days=15))
        old = cases.start_deadline(s, case_id=case.id, kind="objection", started_at=now,
                                   due_at=now + timedelta(days=7))
        await s.flush()
        old.stopped_at = now
    async with sessions() as s:
        loaded = await s.get(Case, case.id)
        assert loaded.paused_since == now and loaded.leader_id == 8_000_000_001
        *_, event = await repo.events_of_case(s, case_id=case.id)
        assert event.role == "intake" and event.fields == {"question": "请提供劳动合同", "days": 3}
        running = await cases.running_deadlines(s, case_id=case.id)
        assert [(d.kind, d.due_at, d.paused_days) for d in running] == [
            ("routing", now + timedelta(days=15), 0)]
        assert len(await cases.deadlines_of_case(s, case_id=case.id)) == 2
