"""What a conversation must provide, and the registry the engine dispatches through.

A flow is a guided conversation whose state lives in ``Conversation`` (``flow``, ``step``,
``data``): filing a complaint, asking for a case by number, adding information, the rating
dialogue. Each is one module providing the ``Flow`` functions. Buttons are dispatched by their
typed data (``buttons``), commands by name; the registry is assembled once, in ``bot.app``.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.conversations.buttons import ButtonData

if TYPE_CHECKING:
    from bot.conversations.context import Context


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


Handler = Callable[["Context"], Awaitable[None]]
ButtonHandler = Callable[["Context", ButtonData], Awaitable[None]]


@dataclass(frozen=True)
class Registry:
    """Every conversation, button kind and command the engine knows, assembled in one place."""

    flows: Mapping[str, Flow]                       # by ``Conversation.flow``
    buttons: Mapping[type[ButtonData], ButtonHandler]
    commands: Mapping[str, Handler]                 # private chats, by command name
    idle: Handler                                   # a message while no flow is active
    unknown_command: Handler
    stale_button: Handler                           # button data that is not (or no longer) ours
    staff: Callable[["Context", ButtonData | None], Awaitable[None]]  # staff chats
    staff_buttons: tuple[type[ButtonData], ...] = ()  # staff buttons, wherever pressed
