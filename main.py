"""Huiyin's composition root.

    python main.py              Telegram when HUIYIN_BOT_TOKEN is set, else the console
    python main.py console      the console chat
    python main.py telegram     the Telegram bot (long polling, or webhook when configured)
                                (both serve the web workspace beside them on HUIYIN_WEB_LISTEN)
    python main.py web          the web workspace and the open API alone
    python main.py migrate      upgrade the database schema
    python main.py stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--department KEY] [--chart PNG]
                                the leaders' numbers, each with its n
    python main.py nlp …        classifier commands (classify, eval, train, explain)
"""
from __future__ import annotations

import asyncio
import logging
import sys

from bot.app import App, build_app
from bot.conversations.report import cli_main as stats_main
from bot.frontends.console import run_console
from bot.frontends.telegram import run_telegram
from bot.notify.outbox_hook import write_outbox
from config.catalog import Catalog
from config.settings import Settings
from nlp.cli import main as nlp_main
from storage.migrate import upgrade_sync
from web.server import create_web, serve_web


def web_beside(settings: Settings):
    """The web workspace served beside the chat (None when HUIYIN_WEB_LISTEN is empty)."""
    if not settings.web_listen:
        return None

    async def serve(app: App, deliver) -> None:
        texts = app.engine.catalog.texts
        print(texts("web_listening", url=settings.web_url), flush=True)
        await serve_web(create_web(app, deliver=deliver), settings.web_listen)
    return serve


async def run_web(settings: Settings) -> None:
    """The web alone: its messages go to the outbox, which the bot's process delivers."""
    app = await build_app(settings, on_outgoing=write_outbox)
    try:
        print(app.engine.catalog.texts("web_listening", url=settings.web_url), flush=True)
        await serve_web(create_web(app), settings.web_listen)
    finally:
        await app.close()


def main(argv: list[str]) -> int:
    if argv and argv[0] == "nlp":
        return nlp_main(argv[1:])
    settings = Settings()
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mode = argv[0] if argv else ("telegram" if settings.bot_token else "console")
    if mode == "console":
        if not settings.bot_token:
            print(Catalog(settings.config_dir).texts.console_mode_hint, flush=True)
        asyncio.run(run_console(settings, beside=web_beside(settings)))
        return 0
    if mode == "telegram":
        asyncio.run(run_telegram(settings, beside=web_beside(settings)))
        return 0
    if mode == "web":
        try:
            asyncio.run(run_web(settings))
        except KeyboardInterrupt:
            pass
        return 0
    if mode == "stats":
        return stats_main(argv[1:], settings)
    if mode == "migrate":
        upgrade_sync(settings.database_url)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
