"""Messages waiting to be sent to Telegram. Keyword-only; never commits."""
from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, utcnow


async def add_messages(session: AsyncSession, *,
                       messages: Iterable[tuple[int, str, dict]]) -> list[OutboxMessage]:
    """Queue ``(chat_id, audience, payload)`` rows; returns them with their ids (in order)."""
    now = utcnow()
    rows = [OutboxMessage(chat_id=chat_id, audience=audience, payload=payload,
                          created_at=now, next_attempt_at=now)
            for chat_id, audience, payload in messages]
    if rows:
        session.add_all(rows)
        await session.flush()
    return rows


async def due_messages(session: AsyncSession, *, now: datetime | None = None,
                       exclude: Collection[int] = (), limit: int = 500) -> list[OutboxMessage]:
    """Pending messages whose time has come, oldest first."""
    stmt = (select(OutboxMessage)
            .where(OutboxMessage.status == "pending",
                   col(OutboxMessage.next_attempt_at) <= (now or utcnow()))
            .order_by(col(OutboxMessage.id)).limit(limit + len(exclude)))
    rows = [r for r in (await session.exec(stmt)).all() if r.id not in exclude]
    return rows[:limit]


async def mark_sent(session: AsyncSession, *, message_id: int, telegram_message_id: int | None,
                    parts_sent: int = 1) -> None:
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message_id)
        .values(status="sent", sent_at=utcnow(), message_id=telegram_message_id,
                parts_sent=parts_sent))


async def mark_progress(session: AsyncSession, *, message_id: int, parts_sent: int) -> None:
    """A long text split in parts: how many parts are out already (so a restart goes on)."""
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message_id)
        .values(parts_sent=parts_sent))


async def mark_retry(session: AsyncSession, *, message_id: int, attempts: int,
                     next_attempt_at: datetime, error: str) -> None:
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message_id)
        .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:2000]))


async def mark_failed(session: AsyncSession, *, message_id: int, attempts: int,
                      error: str) -> None:
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message_id)
        .values(status="failed", attempts=attempts, last_error=error[:2000]))
