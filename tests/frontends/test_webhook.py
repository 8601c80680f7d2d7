"""Webhook mode: Telegram's secret header is checked before anything is stored."""
from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from sqlmodel import select

from bot.app import build_app
from bot.frontends.runner import SECRET_HEADER, Runner
from bot.frontends.telegram import make_api
from bot.notify.outbox_hook import write_outbox
from storage.models import InboxUpdate
from tests.frontends.conftest import bot_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("frontend", ["aiogram", "ptb"])
async def test_webhook_refuses_requests_without_the_secret(tg, classifier, tmp_path, frontend):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = bot_settings(tg, f"sqlite+aiosqlite:///{tmp_path / 'wh.db'}", frontend,
                            webhook_url=url, webhook_secret="s3cret-token",
                            webhook_listen=f"127.0.0.1:{port}")
    app = await build_app(settings, classifier_loader=lambda: classifier,
                          on_outgoing=write_outbox)
    runner = Runner(app, make_api(settings))
    await runner.start()
    serving = asyncio.create_task(runner.serve_webhook())
    try:
        await tg.wait_until(lambda: tg.webhook, what="setWebhook")
        assert tg.webhook["url"] == url and tg.webhook["secret_token"] == "s3cret-token"
        update = {"update_id": 77, "message": {
            "message_id": 1, "date": 0, "text": "/start",
            "chat": {"id": 3001, "type": "private", "first_name": "A"},
            "from": {"id": 3001, "is_bot": False, "first_name": "A"}}}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as resp:
                assert resp.status == 403
            async with http.post(url, json=update, headers={SECRET_HEADER: "wrong"}) as resp:
                assert resp.status == 403
            async with app.engine.sessions() as s:
                assert (await s.exec(select(InboxUpdate))).all() == []
            async with http.post(url, json=update,
                                 headers={SECRET_HEADER: "s3cret-token"}) as resp:
                assert resp.status == 200
        await tg.wait_messages(3001, 1)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await runner.stop()
        await app.close()
