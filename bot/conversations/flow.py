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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Button, Incoming, Outgoing
from bot.conversations.buttons import ButtonData
from cases.service import CaseService
from config.catalog import Catalog, Texts
from config.settings import Settings
from nlp.api import Classifier
from nlp.extract import Extractor
from storage.repo import ConversationState


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


@dataclass
class Scope:
    catalog: Catalog
    settings: Settings
    casework: CaseService
    session: AsyncSession
    now: datetime
    out: list[Outgoing] = field(default_factory=list)

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
