"""What a conversation sees and what it must provide.

A flow is a guided conversation whose state lives in ``Conversation`` (``flow``, ``step``,
``data``): filing a complaint, asking for a case by number, adding information, the rating
dialogue. Each is one module providing the ``Flow`` functions. While handling something, flows
and presenters see a ``Scope`` (configuration, case service, one database session, the clock)
or, for a chat event, a ``Context`` (also the event, the chat's conversation and the
registry); messages collect in ``out``. Buttons are dispatched by their typed data
(``buttons``), commands by name, through the ``Registry`` assembled once, in ``bot.app``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Button, Incoming, Outgoing
from bot.conversations.buttons import ButtonData
from cases import matters
from cases.matters import Subject
from cases.service import CaseService
from config.catalog import Catalog, Texts
from config.settings import Settings
from nlp.api import Classifier
from nlp.extract import Extractor
from nlp.normalize import Normalizer
from nlp.similar import SameMatterIndex, Signature, SimilarConfig
from storage.models import Case
from storage.repo import ConversationState

log = logging.getLogger(__name__)

SUBJECT_KINDS = ("org", "estate", "project")   # question types that name who or what


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


class SameMatter:
    """The same-matter detector (``nlp.similar``) over this deployment's open cases, one per
    process (see ``bot.conversations.linking``): built at start from the stored signatures,
    and brought up to date from the database before each check, so cases filed by another
    process (the web's open API) are found too."""

    def __init__(self, config_dir: Path, normalize=None):
        self.config = SimilarConfig.load(config_dir / "similar.yaml")
        self._index = SameMatterIndex(self.config, normalize or Normalizer())
        self.make = self._index.make
        self._loaded: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._mark = 0    # the highest case id read from the database

    def warm_up(self, sessions: async_sessionmaker) -> asyncio.Task:
        """Read the open cases' signatures (in a thread where text must be signed)."""
        if self._loaded is None:
            self._loaded = asyncio.get_running_loop().create_task(self._load(sessions))
        return self._loaded

    async def close(self) -> None:
        """Stop reading (at shutdown, before the database goes)."""
        if self._loaded is not None and not self._loaded.done():
            self._loaded.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loaded

    async def _load(self, sessions: async_sessionmaker) -> None:
        async with self._lock:
            try:
                async with sessions() as session:
                    rows = await self._new_rows(session)
                items = await asyncio.to_thread(self._signed, rows)
                await asyncio.to_thread(self._index.add_many, items)
                log.info("same-matter index: %d open cases", len(self._index))
            except Exception:   # checks go on with the cases read from now on
                log.exception("same-matter index: the open cases could not be read")

    async def _new_rows(self, session) -> list[tuple[int, bytes | None, str]]:
        rows = (await session.exec(
            select(Case.id, Case.signature, Case.description)
            .where(col(Case.id) > self._mark, Case.status != matters.FINAL)
            .order_by(col(Case.id)))).all()
        if rows:
            self._mark = max(self._mark, rows[-1][0])
        return [tuple(r) for r in rows]

    def _signed(self, rows) -> list[tuple[str, Signature]]:
        return [(str(case_id), self.stored(signature, description))
                for case_id, signature, description in rows if str(case_id) not in self._index]

    def stored(self, signature: bytes | None, description: str,
               subjects: Iterable[Subject] = ()) -> Signature:
        """A case's stored signature, or one made afresh where there is none (filed before
        signatures were kept) or it was made another way (``nlp.similar`` changed since)."""
        if signature:
            try:
                return Signature.from_bytes(signature)
            except ValueError:
                pass
        return self.signature(description, subjects)

    async def index(self, session: AsyncSession) -> SameMatterIndex:
        """The index, with the cases filed since it was last read."""
        if self._loaded is not None:
            await self._loaded
        async with self._lock:
            items = self._signed(await self._new_rows(session))
            for key, signature in items:
                self._index.add_signature(key, signature)
        return self._index

    def subjects(self, catalog: Catalog, level1: str, level2: str, level3: str,
                 answers: dict) -> list[Subject]:
        """The subjects named in the answers (questions of an org, estate or project type)."""
        found = []
        for q in catalog.rules_for(level1, level2, level3).questions:
            value = str(answers.get(q.key) or "").strip()
            if q.type in SUBJECT_KINDS and value:
                key = self.make.subject_key(value)
                if len(key.core) >= 2:
                    found.append(Subject(q.type, q.key, value, key.core, key.trade))
        return found

    def signature(self, description: str, subjects: Iterable[Subject]) -> Signature:
        return self.make(description, {s.field: s.value for s in subjects})


@dataclass
class Scope:
    catalog: Catalog
    settings: Settings
    casework: CaseService
    session: AsyncSession
    now: datetime
    out: list[Outgoing] = field(default_factory=list)
    matters: SameMatter | None = None     # the same-matter detector (None: not checked)

    @property
    def texts(self) -> Texts:
        return self.catalog.texts

    def send(self, chat_id: int, text: str, buttons: list[list[Button]] | None = None,
             audience: str = "staff", **kw: Any) -> Outgoing:
        msg = Outgoing(chat_id=chat_id, text=text, buttons=buttons or [], audience=audience,
                       **kw)
        self.out.append(msg)
        return msg

    def staff_chat_for(self, department: str) -> int | None:
        """The department's own staff chat, else the default staff chat."""
        dep = self.catalog.departments.get(department)
        return (dep.chat_id if dep and dep.chat_id else None) or self.settings.staff_chat_id


@dataclass
class Context(Scope):
    """One chat event being handled."""

    event: Incoming = None                 # type: ignore[assignment]
    conv: ConversationState = None         # type: ignore[assignment]
    registry: Registry = None              # type: ignore[assignment]
    classifier: ClassifierSource = None    # type: ignore[assignment]
    extractor: Extractor = None            # type: ignore[assignment]

    @property
    def data(self) -> dict:
        return self.conv.data

    @property
    def flow(self) -> Flow | None:
        """The chat's current flow, if any."""
        return self.registry.flows.get(self.conv.flow)

    def say(self, text: str, buttons: list[list[Button]] | None = None, **kw: Any) -> Outgoing:
        kw.setdefault("audience", "citizen")
        return self.send(self.event.chat_id, text, buttons, **kw)

    def set_flow(self, flow: str, step: str = "", data: dict | None = None) -> None:
        self.conv.flow, self.conv.step = flow, step
        if data is not None:
            self.conv.data = data


class Flow(Protocol):
    """A conversation with steps. The engine calls ``on_input`` for a message while the flow is
    the chat's current one; ``/back`` calls ``back``; reminders and resumes call ``prompt``."""

    async def prompt(self, ctx: Context) -> None:
        """Ask the current step's question again."""

    async def back(self, ctx: Context) -> None:
        """Go one step back (or leave the flow, where there is nothing before)."""

    async def on_input(self, ctx: Context) -> None:
        """A message (text, attachment, contact, anything else) for the current step."""

    def step_label(self, ctx: Context) -> str:
        """The current step in a few words, for 「您正在…」 reminders."""


Handler = Callable[[Context], Awaitable[None]]
ButtonHandler = Callable[[Context, ButtonData], Awaitable[None]]


@dataclass(frozen=True)
class Registry:
    """Every conversation, button kind and command the engine knows, assembled in one place."""

    flows: Mapping[str, Flow]                       # by ``Conversation.flow``
    buttons: Mapping[type[ButtonData], ButtonHandler]
    commands: Mapping[str, Handler]                 # private chats, by command name
    idle: Handler                                   # a message while no flow is active
    unknown_command: Handler
    stale_button: Handler                           # button data that is not (or no longer) ours
    staff: Callable[[Context, ButtonData | None], Awaitable[None]]  # staff chats
    staff_buttons: tuple[type[ButtonData], ...] = ()  # staff buttons, wherever pressed
    # Private-chat events go here before commands, buttons and flows; True: taken (a live
    # conversation with a person: the bot keeps quiet meanwhile).
    before: Callable[[Context], Awaitable[bool]] | None = None
