"""Keyword-only data access. Functions take a session and never commit: the caller owns the
transaction (one per incoming event)."""
from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect_of, insert_for
from storage.models import Attachment, Case, CaseEvent, Citizen, Conversation, QueryAttempt, utcnow

BEIJING_OFFSET = timedelta(hours=8)


_CONVERSATION = Conversation.__table__
_CONVERSATIONS = (select(_CONVERSATION.c.chat_id, _CONVERSATION.c.user_id, _CONVERSATION.c.flow,
                         _CONVERSATION.c.step, _CONVERSATION.c.data,
                         _CONVERSATION.c.updated_at)
                  .where(_CONVERSATION.c.chat_id.in_(bindparam("chat_ids", expanding=True))))


@dataclass(slots=True)
class ConversationState:
    """Where a chat is in a flow: the ``conversation`` row as the engine edits it (a plain
    object, not kept by a session: every event loads it and it is written back afterwards)."""

    chat_id: int
    user_id: int
    flow: str = ""
    step: str = ""
    data: dict = field(default_factory=dict)
    updated_at: datetime = field(default_factory=utcnow)


@functools.cache
def _save_conversations(dialect: str):
    """INSERT … ON CONFLICT (chat_id) DO UPDATE, built once per dialect."""
    stmt = insert_for(dialect)(_CONVERSATION)
    return stmt.on_conflict_do_update(
        index_elements=[_CONVERSATION.c.chat_id],
        set_={name: stmt.excluded[name] for name in ("flow", "step", "data", "updated_at")})


async def get_conversations(session: AsyncSession, *,
                            chat_ids: Iterable[int]) -> dict[int, ConversationState]:
    """The stored conversations of these chats (one statement), by chat id; chats without one
    are missing from the answer."""
    rows = (await session.exec(_CONVERSATIONS, params={"chat_ids": list(chat_ids)})).all()
    return {r.chat_id: ConversationState(*r) for r in rows}


async def save_conversations(session: AsyncSession, *,
                             conversations: Iterable[ConversationState]) -> None:
    """Write the conversations (new or not) as they are now, in one statement; flows edit
    ``data`` in place. ``updated_at``: the time of the last event handled."""
    params = [{"chat_id": c.chat_id, "user_id": c.user_id, "flow": c.flow, "step": c.step,
               "data": c.data, "updated_at": c.updated_at} for c in conversations]
    if params:
        await session.exec(_save_conversations(dialect_of(session)), params=params)


async def get_or_create_citizen(session: AsyncSession, *, chat_id: int) -> Citizen:
    citizen = (await session.exec(select(Citizen).where(Citizen.chat_id == chat_id))).first()
    if citizen is None:
        citizen = Citizen(chat_id=chat_id)
        session.add(citizen)
        await session.flush()
    return citizen


async def create_case(session: AsyncSession, *, citizen: Citizen, note: str,
                      actor: str = "citizen", attachments: list[dict] = (),
                      at: datetime | None = None, **fields) -> Case:
    """Register a case: number and query code at once, its attachments, and the first event
    (with ``note``). ``at``: the registration time (the engine's clock), now by default."""
    now = at or utcnow()
    case = Case(citizen_id=citizen.id, number=f"pending-{secrets.token_hex(8)}",
                query_code=f"{secrets.randbelow(10**6):06d}", created_at=now, updated_at=now,
                **fields)
    session.add(case)
    await session.flush()
    case.number = case_number(case.id, now)
    for item in attachments:
        session.add(Attachment(case_id=case.id, file_id=item["file_id"],
                               media=item.get("media", "photo")))
    session.add(CaseEvent(case_id=case.id, at=now, actor=actor, action="registered",
                          to_status=case.status, note=note))
    await session.flush()
    return case


CASE_NUMBER = re.compile(r"HY\d{8}-\d{5,}")   # as case_number writes it


def case_number(case_id: int, at: datetime) -> str:
    """HY + the Beijing date + the database id: unique, readable, no counter to keep."""
    return f"HY{(at + BEIJING_OFFSET):%Y%m%d}-{case_id:05d}"


async def cases_of_citizen(session: AsyncSession, *, chat_id: int, limit: int = 20) -> list[Case]:
    stmt = (select(Case).join(Citizen, Citizen.id == Case.citizen_id)
            .where(Citizen.chat_id == chat_id)
            .order_by(col(Case.created_at).desc()).limit(limit))
    return list((await session.exec(stmt)).all())


async def other_cases_of_citizen(session: AsyncSession, *, case: Case,
                                 limit: int = 20) -> list[Case]:
    """The same citizen's other cases, newest first."""
    stmt = (select(Case).where(Case.citizen_id == case.citizen_id, col(Case.id) != case.id)
            .order_by(col(Case.id).desc()).limit(limit))
    return list((await session.exec(stmt)).all())


async def case_by_number(session: AsyncSession, *, number: str) -> Case | None:
    return (await session.exec(select(Case).where(Case.number == number))).first()


async def case_owned_by(session: AsyncSession, *, number: str, chat_id: int) -> Case | None:
    stmt = (select(Case).join(Citizen, Citizen.id == Case.citizen_id)
            .where(Case.number == number, Citizen.chat_id == chat_id))
    return (await session.exec(stmt)).first()


async def events_of_case(session: AsyncSession, *, case_id: int) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    return list((await session.exec(stmt)).all())


async def attachments_of(session: AsyncSession, *, case_id: int) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.case_id == case_id).order_by(col(Attachment.id))
    return list((await session.exec(stmt)).all())


async def count_attachments(session: AsyncSession, *, case_id: int) -> int:
    stmt = select(func.count()).select_from(Attachment).where(Attachment.case_id == case_id)
    return int((await session.exec(stmt)).one())


async def query_failures(session: AsyncSession, *, chat_id: int, since: datetime) -> int:
    """Wrong query codes this chat sent after ``since`` (a sliding window)."""
    stmt = select(func.coalesce(func.sum(QueryAttempt.failures), 0)).where(
        QueryAttempt.chat_id == chat_id, QueryAttempt.window_start > since)
    return int((await session.exec(stmt)).one())


async def record_query_failure(session: AsyncSession, *, chat_id: int, at: datetime) -> None:
    """One wrong query code, kept with its own time so the window slides with the clock."""
    stmt = select(QueryAttempt).where(QueryAttempt.chat_id == chat_id,
                                      QueryAttempt.window_start == at)
    row = (await session.exec(stmt)).first() or QueryAttempt(chat_id=chat_id, window_start=at)
    row.failures += 1
    session.add(row)
