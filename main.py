"""Huiyin's composition root.

    python main.py              Telegram when HUIYIN_BOT_TOKEN is set, else the console
    python main.py console      the console chat
    python main.py telegram     the Telegram bot (long polling, or webhook when configured)
    python main.py migrate      upgrade the database schema
    python main.py stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--department KEY] [--chart PNG]
                                the leaders' numbers, each with its n
    python main.py nlp …        classifier commands (classify, eval, train, explain)
"""
from __future__ import annotations

import asyncio
import logging
import sys

from bot.conversations.report import cli_main as stats_main
from bot.frontends.console import run_console
from bot.frontends.telegram import run_telegram
from config.catalog import Catalog
from config.settings import Settings
from nlp.cli import main as nlp_main
from storage.migrate import upgrade_sync


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
        asyncio.run(run_console(settings))
        return 0
    if mode == "telegram":
        asyncio.run(run_telegram(settings))
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
