"""Huiyin on Telegram: ``run_telegram(settings)`` (called by ``main.py telegram``).

``HUIYIN_FRONTEND`` picks the framework (``aiogram``, the default, or ``ptb``);
``HUIYIN_TELEGRAM_API_BASE`` another Bot API server; ``HUIYIN_WEBHOOK_URL`` switches from long
polling to a webhook served on ``HUIYIN_WEBHOOK_LISTEN`` (secret: ``HUIYIN_WEBHOOK_SECRET``).
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Callable

from bot.app import Beside, build_app
from bot.frontends.runner import Runner
from bot.notify.api import BotApi
from bot.notify.outbox_hook import write_outbox
from config.settings import Settings
from nlp.api import Classifier

log = logging.getLogger(__name__)


# The framework behind each HUIYIN_FRONTEND: (module, class). Only the chosen one is imported:
# aiogram alone costs 5–7 s of CPU and ≈170 MB at start-up.
FRAMEWORKS = {"aiogram": ("bot.frontends.aiogram_front", "AiogramApi"),
              "ptb": ("bot.frontends.ptb_front", "PtbApi")}


def make_api(settings: Settings) -> BotApi:
    module, name = FRAMEWORKS[settings.frontend]
    return getattr(importlib.import_module(module), name)(settings)


async def run_telegram(settings: Settings, *,
                       classifier_loader: Callable[[], Classifier] | None = None,
                       stop: asyncio.Event | None = None,
                       beside: Beside | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set). ``beside``: what else to serve on the
    same app meanwhile (the web workspace)."""
    if not settings.bot_token:
        raise SystemExit("HUIYIN_BOT_TOKEN is not set")
    app = await build_app(settings, classifier_loader=classifier_loader,
                          on_outgoing=write_outbox)
    runner = Runner(app, make_api(settings))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await runner.start()
        receiving = asyncio.create_task(
            runner.serve_webhook() if settings.webhook_url else runner.poll())
        stopping = asyncio.create_task(stop.wait())
        tasks = {receiving, stopping}
        if beside is not None:
            tasks.add(asyncio.create_task(beside(app, lambda _out: runner.delivery.wake())))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if receiving in done and receiving.exception():
            raise receiving.exception()
        try:
            await runner.idle(timeout=10)
        except TimeoutError:
            log.warning("stopping with work left; it is in the database and resumes at start")
    finally:
        await runner.stop()
        await app.close()
