"""The engine's ``on_outgoing`` hook: every Outgoing becomes an outbox row in the engine's own
transaction. The rows written during one ``Engine.handle`` call are also collected (in a context
variable set by the caller) so they can be handed to the delivery worker right after commit."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Outgoing
from bot.notify.messages import to_payload
from storage import outbox
from storage.outbox import Queued

_written: ContextVar[list[Queued] | None] = ContextVar("outbox_written", default=None)


async def write_outbox(session: AsyncSession, messages: list[Outgoing]) -> None:
    rows = await outbox.add_messages(
        session, messages=[(m.chat_id, m.audience, to_payload(m)) for m in messages])
    collected = _written.get()
    if collected is not None:
        collected.extend(rows)


async def write_payloads(session: AsyncSession, items: list[tuple[int, str, dict]]) -> None:
    """Queue raw payloads (e.g. removing a pressed message's buttons) the same way."""
    rows = await outbox.add_messages(session, messages=items)
    collected = _written.get()
    if collected is not None:
        collected.extend(rows)


@contextmanager
def collect_outbox():
    """``with collect_outbox() as rows:`` — the outbox rows written inside."""
    rows: list[Queued] = []
    token = _written.set(rows)
    try:
        yield rows
    finally:
        _written.reset(token)

