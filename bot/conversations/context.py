"""What presenters and flows see while handling something: the configuration, the case
service, one database session and the clock (``Scope``), and for a chat event also the event,
the chat's conversation and the registry (``Context``). Messages collect in ``out``."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Button, Incoming, Outgoing
from cases.service import CaseService
from config.catalog import Catalog, Texts
from config.settings import Settings
from nlp.api import Classifier
from storage.repo import ConversationState

if TYPE_CHECKING:
    from bot.conversations.flow import Flow, Registry


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
