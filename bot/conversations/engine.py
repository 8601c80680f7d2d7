"""The framework-free engine: one ``Incoming`` event in, a list of ``Outgoing`` messages out.

Each event is handled in one database transaction, serialised per chat. The conversations live
in their own modules; this one only routes events to them through the ``Registry`` that
``bot.app`` assembles.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Incoming, Kind, Outgoing
from bot.conversations.buttons import unpack
from bot.conversations.flow import ClassifierSource, Context, Registry, SameMatter, Scope
from cases.service import CaseService
from config.catalog import Catalog
from config.settings import Settings
from nlp.extract import Extractor
from storage import repo
from storage.models import utcnow
from storage.repo import ConversationState

log = logging.getLogger(__name__)

OutgoingHook = Callable[[AsyncSession, list[Outgoing]], Awaitable[None]]


class ChatLocks:
    """One lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int):
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id], self._locks[chat_id]


class Engine:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], catalog: Catalog,
                 casework: CaseService, classifier: ClassifierSource, settings: Settings,
                 registry: Registry, extractor: Extractor,
                 clock: Callable[[], datetime] = utcnow,
                 on_outgoing: OutgoingHook | None = None,
                 write_gate: contextlib.AbstractAsyncContextManager | None = None,
                 matters: SameMatter | None = None):
        self.sessions = sessions
        self.catalog = catalog
        self.casework = casework
        self.classifier = classifier
        self.settings = settings
        self.registry = registry
        self.extractor = extractor
        self.clock = clock
        self.on_outgoing = on_outgoing
        self.matters = matters
        self._locks = ChatLocks()
        self._write_gate = write_gate or contextlib.nullcontext()

    @property
    def write_gate(self) -> contextlib.AbstractAsyncContextManager:
        """The lock that queues this process's write transactions (SQLite has one writer; a
        no-op elsewhere). Anything writing besides the engine takes it too."""
        return self._write_gate

    async def handle(self, event: Incoming, *,
                     in_transaction: Callable[[AsyncSession, list[Outgoing]], Awaitable[None]]
                     | None = None,
                     ) -> list[Outgoing]:
        """Handle one event in one transaction. ``in_transaction`` (optional) runs inside that
        transaction just before it commits, with the event's messages, e.g. to mark the stored
        update as handled."""
        if event.kind == Kind.TEXT and not self.classifier.ready:
            # Text may need the classifier: wait for its warm-up here, holding no lock, so
            # that commands such as /start from everyone keep being answered meanwhile.
            await self.classifier.get()
        async with self.transaction(chats=(event.chat_id,)) as session:
            [out] = await self.handle_many(session, [event])
            if in_transaction is not None:
                await in_transaction(session, out)
        return out

    async def handle_many(self, session: AsyncSession,
                          events: list[Incoming]) -> list[list[Outgoing]]:
        """Handle events one after the other inside the caller's transaction (from
        ``transaction(chats=...)`` holding their chats), e.g. a batch of updates: each event's
        messages, in order. The chats' conversations are read in one statement and written
        back in one, and all the messages go to ``on_outgoing`` at once. The caller keeps each
        chat's events in order and, for text, waits for the classifier first
        (``classifier.ready``)."""
        convs = await repo.get_conversations(session, chat_ids={e.chat_id for e in events})
        answers = []
        for event in events:
            conv = convs.get(event.chat_id)
            if conv is None:
                conv = convs[event.chat_id] = ConversationState(event.chat_id, event.user_id)
            ctx = Context(self.catalog, self.settings, self.casework, session, self.clock(),
                          matters=self.matters, event=event, conv=conv, registry=self.registry,
                          classifier=self.classifier, extractor=self.extractor)
            await dispatch(ctx)
            conv.updated_at = ctx.now
            answers.append(merge_adjacent(ctx.out))
        await repo.save_conversations(session, conversations=convs.values())
        if self.on_outgoing is not None:
            await self.on_outgoing(session, [msg for out in answers for msg in out])
        return answers

    @asynccontextmanager
    async def transaction(self, *, chats: Iterable[int] = ()):
        """A session in its own transaction, queued with the events' transactions (SQLite has
        one writer): for work that is not an event, such as the scheduler's jobs, and for
        handling events with ``handle_many`` (``chats``: the chats whose locks to hold)."""
        async with contextlib.AsyncExitStack() as stack:
            for chat_id in sorted(set(chats)):
                await stack.enter_async_context(self._locks.hold(chat_id))
            async with self._write_gate, self.sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def working(self, now: datetime | None = None):
        """A ``Scope`` in its own write transaction, for work that is not a chat event (the
        scheduler's jobs, the web): the messages it collects go to ``on_outgoing`` in that same
        transaction."""
        async with self.transaction() as session:
            scope = self.scope(session, now)
            yield scope
            if scope.out and self.on_outgoing is not None:
                await self.on_outgoing(session, scope.out)

    def scope(self, session: AsyncSession, now: datetime | None = None) -> Scope:
        """What presenters need outside a chat event (e.g. the scheduler's jobs)."""
        return Scope(self.catalog, self.settings, self.casework, session, now or self.clock(),
                     matters=self.matters)


MAX_MERGED_TEXT = 4096  # one Telegram message


def merge_adjacent(out: list[Outgoing]) -> list[Outgoing]:
    """Join consecutive plain messages to one chat into one message (one Bot API call instead
    of several; the citizen reads the same text): a message with no buttons, keyboard, edit or
    photo is put, followed by a blank line, in front of the next new text message to the same
    chat and audience, if the two fit in one Telegram message."""
    merged: list[Outgoing] = []
    for msg in out:
        prev = merged[-1] if merged else None
        if (prev is not None and prev.chat_id == msg.chat_id and prev.audience == msg.audience
                and not (prev.buttons or prev.request_contact or prev.remove_keyboard
                         or prev.edit_message_id or prev.photo or prev.file_id)
                and not (msg.edit_message_id or msg.photo or msg.file_id)
                and len(prev.text) + 2 + len(msg.text) <= MAX_MERGED_TEXT):
            merged[-1] = dataclasses.replace(msg, text=f"{prev.text}\n\n{msg.text}")
        else:
            merged.append(msg)
    return merged


async def dispatch(ctx: Context) -> None:
    registry, ev = ctx.registry, ctx.event
    button = unpack(ev.data) if ev.kind == Kind.BUTTON else None
    if ev.chat_type != "private" or isinstance(button, registry.staff_buttons):
        await registry.staff(ctx, button)   # groups: staff buttons and commands only
    elif registry.before is not None and await registry.before(ctx):
        return
    elif ev.kind == Kind.COMMAND:
        await registry.commands.get(ev.command, registry.unknown_command)(ctx)
    elif ev.kind == Kind.BUTTON:
        handler = registry.buttons.get(type(button))
        if handler is None:
            await registry.stale_button(ctx)
        else:
            await handler(ctx, button)
    elif ctx.flow is None:
        await registry.idle(ctx)
    else:
        await ctx.flow.on_input(ctx)
