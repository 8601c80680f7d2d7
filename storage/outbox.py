"""Messages waiting to be sent to Telegram. Keyword-only; never commits."""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, utcnow

# Plain (Core) statements on the table: these run for every message, and the ORM's unit of
# work and session bookkeeping cost several times the statement itself.
_TABLE = OutboxMessage.__table__
_INSERT = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)


_MARK_SENT = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
              .values(status="sent", sent_at=bindparam("at"), message_id=bindparam("tg_id"),
                      parts_sent=bindparam("parts")))


@dataclass(slots=True)
class Queued:
    """A row just queued: what the delivery worker needs to send it."""

    id: int
    chat_id: int
    audience: str
    payload: dict


async def add_messages(session: AsyncSession, *,
                       messages: Iterable[tuple[int, str, dict]]) -> list[Queued]:
    """Queue ``(chat_id, audience, payload)`` rows (one statement); returns them with their
    ids, in order."""
    now = utcnow()
    params = [{"chat_id": chat_id, "audience": audience, "payload": payload,
               "status": "pending", "attempts": 0, "parts_sent": 0,
               "next_attempt_at": now, "created_at": now}
              for chat_id, audience, payload in messages]
    if not params:
        return []
    ids = (await session.exec(_INSERT, params=params)).scalars().all()
    return [Queued(row_id, p["chat_id"], p["audience"], p["payload"])
            for p, row_id in zip(params, ids, strict=True)]


async def due_messages(session: AsyncSession, *, now: datetime | None = None,
                       exclude: Collection[int] = (), limit: int = 500) -> list[OutboxMessage]:
    """Pending messages whose time has come, oldest first."""
    stmt = (select(OutboxMessage)
            .where(OutboxMessage.status == "pending",
                   col(OutboxMessage.next_attempt_at) <= (now or utcnow()))
            .order_by(col(OutboxMessage.id)).limit(limit + len(exclude)))
    rows = [r for r in (await session.exec(stmt)).all() if r.id not in exclude]
    return rows[:limit]


async def mark_sent_many(session: AsyncSession, *,
                         sent: Iterable[tuple[int, int | None, int]]) -> None:
    """``(row id, Telegram's message id, parts sent)`` rows delivered: one statement."""
    now = utcnow()
    params = [{"row_id": row_id, "tg_id": tg_id, "parts": parts, "at": now}
              for row_id, tg_id, parts in sent]
    if params:
        await session.exec(_MARK_SENT, params=params)


async def mark_progress(session: AsyncSession, *, row_id: int, parts_sent: int) -> None:
    """A long text split in parts: how many parts are out already (so a restart goes on)."""
    await session.exec(update(_TABLE).where(_TABLE.c.id == row_id)
                       .values(parts_sent=parts_sent))


async def mark_retry(session: AsyncSession, *, row_id: int, attempts: int,
                     next_attempt_at: datetime, error: str) -> None:
    await session.exec(update(_TABLE).where(_TABLE.c.id == row_id)
                       .values(attempts=attempts, next_attempt_at=next_attempt_at,
                               last_error=error[:2000]))


async def mark_failed(session: AsyncSession, *, row_id: int, attempts: int,
                      error: str) -> None:
    await session.exec(update(_TABLE).where(_TABLE.c.id == row_id)
                       .values(status="failed", attempts=attempts, last_error=error[:2000]))
