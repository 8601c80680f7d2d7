"""The framework-free engine: one ``Incoming`` event in, a list of ``Outgoing`` messages out.

Each event is handled in one database transaction, serialised per chat. Flows live in their
own modules (menu, intake, progress); this module only routes events to them.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
import contextlib
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine.types import Button, Incoming, Kind, Outgoing
from config.catalog import Catalog
from config.settings import Settings
from nlp.api import Classifier
from storage import repo
from storage.models import utcnow
from storage.repo import ConversationState

log = logging.getLogger(__name__)

OutgoingHook = Callable[[AsyncSession, list[Outgoing]], Awaitable[None]]


class ClassifierSource:
    """The classifier, loaded once in a worker thread so the event loop keeps answering."""

    def __init__(self, load: Callable[[], Classifier]):
        self._load = load
        self._task: asyncio.Task[Classifier] | None = None

    def warm_up(self) -> asyncio.Task[Classifier]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._load))
        return self._task

    @property
    def ready(self) -> bool:
        return self._task is not None and self._task.done()

    async def get(self) -> Classifier:
        return await self.warm_up()


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


@dataclass
class Context:
    """What a flow sees while handling one event."""

    engine: "Engine"
    event: Incoming
    session: AsyncSession
    conv: ConversationState
    now: datetime
    out: list[Outgoing] = field(default_factory=list)

    @property
    def texts(self):
        return self.engine.catalog.texts

    @property
    def data(self) -> dict:
        return self.conv.data

    def say(self, text: str, buttons: list[list[Button]] | None = None, **kw) -> Outgoing:
        msg = Outgoing(chat_id=self.event.chat_id, text=text, buttons=buttons or [], **kw)
        self.out.append(msg)
        return msg

    def send(self, chat_id: int, text: str, buttons: list[list[Button]] | None = None,
             audience: str = "staff") -> None:
        self.out.append(Outgoing(chat_id=chat_id, text=text, buttons=buttons or [],
                                 audience=audience))

    def set_flow(self, flow: str, step: str = "", data: dict | None = None) -> None:
        self.conv.flow, self.conv.step = flow, step
        if data is not None:
            self.conv.data = data


class Engine:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], catalog: Catalog,
                 classifier: ClassifierSource, settings: Settings,
                 route: Callable[[str, str, str], str],
                 clock: Callable[[], datetime] = utcnow,
                 on_outgoing: OutgoingHook | None = None,
                 write_gate: contextlib.AbstractAsyncContextManager | None = None):
        self.sessions = sessions
        self.catalog = catalog
        self.classifier = classifier
        self.settings = settings
        self.route = route
        self.clock = clock
        self.on_outgoing = on_outgoing
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
            out = await self.handle_in(session, event)
            if in_transaction is not None:
                await in_transaction(session, out)
        return out

    async def handle_in(self, session: AsyncSession, event: Incoming) -> list[Outgoing]:
        """Handle one event inside the caller's transaction (from ``transaction(chats=...)``
        holding the event's chat): what ``handle`` does between BEGIN and COMMIT."""
        [out] = await self.handle_many(session, [event])
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
            ctx = Context(self, event, session, conv, self.clock())
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
        handling events with ``handle_in`` (``chats``: the chats whose locks to hold)."""
        async with contextlib.AsyncExitStack() as stack:
            for chat_id in sorted(set(chats)):
                await stack.enter_async_context(self._locks.hold(chat_id))
            async with self._write_gate, self.sessions() as session, session.begin():
                yield session

    def staff_chat_for(self, department: str) -> int | None:
        dep = self.catalog.departments.get(department)
        return (dep.chat_id if dep and dep.chat_id else None) or self.settings.staff_chat_id


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
                         or prev.edit_message_id or prev.photo)
                and not (msg.edit_message_id or msg.photo)
                and len(prev.text) + 2 + len(msg.text) <= MAX_MERGED_TEXT):
            merged[-1] = dataclasses.replace(msg, text=f"{prev.text}\n\n{msg.text}")
        else:
            merged.append(msg)
    return merged


async def dispatch(ctx: Context) -> None:
    # Imported here so the flow modules can import Context from this module.
    from bot.engine import intake, menu, progress, rating, staff, supplement

    flows = {"intake": intake, "query": progress, "supplement": supplement, "rating": rating}
    ev = ctx.event
    if ev.chat_type != "private" or (ev.kind == Kind.BUTTON and ev.data.startswith("s:")):
        await staff.on_group_event(ctx)  # groups: staff buttons and commands only
        return
    if ev.kind == Kind.COMMAND:
        handler = menu.COMMANDS.get(ev.command)
        if handler is None:
            ctx.say(ctx.texts.unknown_command)
            await menu.remind(ctx, flows)
            return
        await handler(ctx, flows)
        return
    if ev.kind == Kind.BUTTON:
        prefix, _, rest = ev.data.partition(":")
        module = {"m": menu, "i": intake, "p": progress, "a": supplement,
                  "r": rating}.get(prefix)
        if module is None:
            ctx.say(ctx.texts.stale_button)
            await menu.remind(ctx, flows)
            return
        await module.on_button(ctx, rest.split(":"), flows)
        return
    flow = flows.get(ctx.conv.flow)
    if flow is None:
        await menu.idle_input(ctx)
    else:
        await flow.on_input(ctx)
