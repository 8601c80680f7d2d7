"""Keyword-only data access for case work: the version-checked transition, case events, the
statutory deadlines of a case. Functions take a session and never commit: the caller owns the
transaction (one per incoming event)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Attachment, Case, CaseDeadline, CaseEvent, Citizen

UNSET: Any = object()


async def case_by_id(session: AsyncSession, *, case_id: int) -> Case | None:
    return await session.get(Case, case_id)


async def citizen_of(session: AsyncSession, *, case: Case) -> Citizen | None:
    return await session.get(Citizen, case.citizen_id)


async def citizen_chat(session: AsyncSession, *, case: Case) -> int | None:
    """The chat where the case's citizen is told things; None when there is none (a case
    filed through the open API has no chat: nothing is pushed)."""
    citizen = await citizen_of(session, case=case)
    return citizen.chat_id if citizen is not None else None


async def advance_case(session: AsyncSession, *, case: Case, seen_version: int, status: str,
                       at: datetime, department: str | None = None,
                       paused_since: datetime | None = UNSET,
                       leader_id: int | None = UNSET,
                       waiting_since: datetime | None = UNSET) -> bool:
    """Write the case's new status (and what the step changes) only if nobody changed the case
    since ``seen_version``. False, and nothing written, when someone did."""
    values: dict[str, Any] = {"status": status, "version": Case.version + 1, "updated_at": at}
    if department is not None:
        values["department"] = department
    if paused_since is not UNSET:
        values["paused_since"] = paused_since
    if leader_id is not UNSET:
        values["leader_id"] = leader_id
    if waiting_since is not UNSET:
        values["waiting_since"] = waiting_since
    result = await session.exec(
        update(Case).where(col(Case.id) == case.id, col(Case.version) == seen_version)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    await session.refresh(case)
    return True


def add_event(session: AsyncSession, *, case_id: int, at: datetime, actor: str, role: str | None,
              action: str, from_status: str | None, to_status: str | None, note: str = "",
              fields: dict[str, Any] | None = None) -> CaseEvent:
    event = CaseEvent(case_id=case_id, at=at, actor=actor, role=role, action=action,
                      from_status=from_status, to_status=to_status, note=note, fields=fields)
    session.add(event)
    return event


def add_attachments(session: AsyncSession, *, case_id: int, items: list[dict],
                    at: datetime) -> None:
    for item in items:
        session.add(Attachment(case_id=case_id, file_id=item["file_id"],
                               media=item.get("media", "photo"), created_at=at))


def start_deadline(session: AsyncSession, *, case_id: int, kind: str, started_at: datetime,
                   due_at: datetime, remind_at: datetime | None = None) -> CaseDeadline:
    row = CaseDeadline(case_id=case_id, kind=kind, started_at=started_at, due_at=due_at,
                       remind_at=remind_at)
    session.add(row)
    return row


async def running_deadlines(session: AsyncSession, *, case_id: int) -> list[CaseDeadline]:
    """The limits of a case that have not been stopped, oldest first."""
    stmt = (select(CaseDeadline)
            .where(CaseDeadline.case_id == case_id, col(CaseDeadline.stopped_at).is_(None))
            .order_by(col(CaseDeadline.id)))
    return list((await session.exec(stmt)).all())


async def deadlines_of_case(session: AsyncSession, *, case_id: int) -> list[CaseDeadline]:
    stmt = (select(CaseDeadline).where(CaseDeadline.case_id == case_id)
            .order_by(col(CaseDeadline.id)))
    return list((await session.exec(stmt)).all())
