"""What every web handler gets: the ``Web`` (the bot's App, catalog, templates, limiter, the
clock and the delivery hook), database sessions, and the signed-in staff member.

Who a person is comes from the session cookie (a user id, set by a sign-in link); what they
may do is worked out on every request from the same config as in the chat
(``CaseService.access``): removing someone from the config takes effect at once.
"""
from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from limits import parse as parse_limit
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from bot.chat import Outgoing
from bot.conversations.flow import Scope
from cases.lifecycle import Role
from config.catalog import Catalog, Texts
from storage.models import Case, utcnow

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

Deliver = Callable[[list[Outgoing]], object]


@dataclass
class Web:
    app: App
    templates: Jinja2Templates
    deliver: Deliver | None = None
    clock: Callable[[], datetime] = utcnow
    limiter: MovingWindowRateLimiter = field(
        default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))
    memo: dict = field(default_factory=dict)     # results kept briefly (the leaders' numbers)

    @property
    def catalog(self) -> Catalog:
        return self.app.engine.catalog

    @property
    def t(self) -> Texts:
        return self.catalog.web_texts

    @property
    def settings(self):
        return self.app.settings

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reading (no write lock taken)."""
        async with self.app.reads() as session:
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Scope]:
        """One write transaction, queued with the bot's (SQLite has one writer), with a
        ``Scope`` for presenters; the messages it collects are queued in the outbox in the
        same transaction and handed to the delivery hook after commit."""
        async with self.app.engine.working(self.clock()) as scope:
            yield scope
        if scope.out and self.deliver is not None:
            result = self.deliver(scope.out)
            if inspect.isawaitable(result):
                await result

    async def allow(self, limit: str, *keys: str) -> bool:
        """Whether one more hit of ``keys`` fits ``limit`` (e.g. "10/minute")."""
        return await self.limiter.hit(parse_limit(limit), *keys)


def get_web(request: Request) -> Web:
    return request.app.state.web


@dataclass(frozen=True)
class Staff:
    """The signed-in person and what they hold (any case)."""

    user_id: int
    roles: tuple[Role, ...]
    departments: tuple[str, ...] | None     # whose cases they see; None: all

    def sees(self, case: Case) -> bool:
        return self.departments is None or case.department in self.departments


class NotSignedIn(Exception):
    """Raised by ``current_staff``; the app answers with the sign-in page (401)."""


def staff_of(web: Web, user_id: int | None) -> Staff | None:
    if user_id is None:
        return None
    access = web.app.engine.casework.access
    roles = access.roles_of(user_id)
    if not roles:
        return None
    seen = access.departments_seen(user_id, roles)
    return Staff(user_id, tuple(roles), None if seen is None else tuple(seen))


def current_staff(request: Request, web: Web = Depends(get_web)) -> Staff:
    """The signed-in staff member; 401 (sign-in page) without a valid session."""
    staff = staff_of(web, request.session.get("uid"))
    if staff is None:
        request.session.clear()
        raise NotSignedIn()
    return staff
