"""Fixtures for the web workspace: an office (departments with their chats and handlers, a
leader, intake staff) on a real database, the web app over HTTP, and signing people in with
the link the bot would send."""
from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from bot.app import App, build_app
from bot.notify.outbox_hook import write_outbox
from config.settings import Settings
from storage import repo, signin
from storage.models import Case, OutboxMessage
from tests.conversations.test_staff import (
    HOUSING,
    HOUSING_CHAT,
    HRSS,
    HRSS_CHAT,
    INTAKE,
    LEADER,
    LEADERS_CHAT,
    NOBODY,
    STAFF_CHAT,
    config_dir,
)
from web.server import create_web

__all__ = ["HOUSING", "HOUSING_CHAT", "HRSS", "HRSS_CHAT", "INTAKE", "LEADER", "LEADERS_CHAT",
           "NOBODY", "STAFF_CHAT"]


def office_settings(tmp_path, db_url: str, **extra) -> Settings:
    values = dict(database_url=db_url, staff_chat_id=STAFF_CHAT, leaders_chat_id=LEADERS_CHAT,
                  staff_user_ids=[INTAKE], config_dir=config_dir(tmp_path), bot_token=None,
                  web_secret="test-secret", web_listen="127.0.0.1:0", _env_file=None)
    values.update(extra)
    return Settings(**values)


@dataclass
class Office:
    app: App
    api: FastAPI

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.api),
                                 base_url="http://testserver", follow_redirects=False)

    async def link(self, user_id: int) -> str:
        """The token of a sign-in link, as /web would issue it."""
        async with self.app.engine.transaction() as session:
            return signin.issue(session, user_id=user_id, now=self.app.engine.clock(),
                                minutes=self.app.settings.web_signin_minutes)

    async def signed_in(self, user_id: int) -> httpx.AsyncClient:
        client = self.client()
        token = await self.link(user_id)
        resp = await client.post("/signin", data={"token": token})
        assert resp.status_code == 303, resp.text
        return client

    async def file(self, *, chat_id: int = 501, department: str = "hrss", level1: str = "劳动和社会保障",
                   level2: str = "劳动保障", level3: str = "工资发放", phone: str = "13812345678",
                   description: str = "宏达建筑劳务公司拖欠我们三十多名工人的工资三万五千元。",
                   **fields) -> Case:
        engine = self.app.engine
        async with engine.transaction() as session:
            citizen = await repo.get_or_create_citizen(session, chat_id=chat_id)
            case = await engine.casework.file(
                session, citizen=citizen, attachments=fields.pop("attachments", []),
                at=engine.clock(), level1=level1, level2=level2, level3=level3,
                department=department, description=description, phone=phone, name="王小明",
                **fields)
        return case

    async def outbox(self, chat_id: int) -> list[str]:
        async with self.app.engine.sessions() as session:
            rows = (await session.exec(select(OutboxMessage)
                                       .where(OutboxMessage.chat_id == chat_id)
                                       .order_by(OutboxMessage.id))).all()
        return [r.payload.get("text", "") for r in rows]

    async def case(self, number: str) -> Case:
        async with self.app.engine.sessions() as session:
            return await repo.case_by_number(session, number=number)


@pytest.fixture
async def office(classifier, tmp_path, sqlite_url):
    settings = office_settings(tmp_path, sqlite_url)
    app = await build_app(settings, classifier_loader=lambda: classifier,
                          on_outgoing=write_outbox)
    yield Office(app, create_web(app))
    await app.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)
