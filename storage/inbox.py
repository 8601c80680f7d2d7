"""Incoming Telegram updates, kept until handled. Keyword-only; never commits."""
from __future__ import annotations

import functools
from collections.abc import Collection, Iterable

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect_of, insert_for
from storage.models import InboxUpdate, utcnow

_TABLE = InboxUpdate.__table__       # plain (Core) statements: these run for every update


@functools.cache
def _add(dialect: str):
    """INSERT … ON CONFLICT (update_id) DO NOTHING RETURNING update_id, built once."""
    return (insert_for(dialect)(_TABLE)
            .on_conflict_do_nothing(index_elements=[_TABLE.c.update_id])
            .returning(_TABLE.c.update_id))


async def add_updates(session: AsyncSession, *,
                      updates: Iterable[tuple[int, int | None, dict]],
                      done: Collection[int] = ()) -> set[int]:
    """Store ``(update_id, chat_id, payload)`` rows and return the ids that were new: an
    update_id already stored is ignored (Telegram hands an update out again when the bot
    stopped before confirming it). Ids in ``done`` are stored as already handled (updates with
    nothing to do)."""
    now = utcnow()
    rows = [{"update_id": uid, "chat_id": chat_id, "payload": payload,
             "status": "done" if uid in done else "pending", "received_at": now,
             "processed_at": now if uid in done else None}
            for uid, chat_id, payload in updates]
    if not rows:
        return set()
    return set((await session.exec(_add(dialect_of(session)), params=rows)).scalars().all())


async def pending_updates(session: AsyncSession, *, limit: int = 1000) -> list[InboxUpdate]:
    """Pending updates in the order Telegram gave them."""
    stmt = (select(InboxUpdate).where(InboxUpdate.status == "pending")
            .order_by(col(InboxUpdate.update_id)).limit(limit))
    return list((await session.exec(stmt)).all())


async def mark_done(session: AsyncSession, *, update_id: int) -> bool:
    """Mark handled; False when it was not pending any more (so it must not count twice)."""
    table = InboxUpdate.__table__            # a plain statement: no ORM bookkeeping
    result = await session.exec(
        update(table).where(table.c.update_id == update_id, table.c.status == "pending")
        .values(status="done", processed_at=utcnow()))
    return result.rowcount == 1


async def mark_failed(session: AsyncSession, *, update_id: int, error: str) -> None:
    table = InboxUpdate.__table__
    await session.exec(
        update(table).where(table.c.update_id == update_id)
        .values(status="failed", processed_at=utcnow(), error=error[:2000]))
