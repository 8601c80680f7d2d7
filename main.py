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


def main(argv: list[str]) -> int:
    if argv and argv[0] == "nlp":
        from nlp.cli import main as nlp_main

        return nlp_main(argv[1:])

    from config.settings import Settings

    settings = Settings()
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mode = argv[0] if argv else ("telegram" if settings.bot_token else "console")
    if mode == "console":
        if not settings.bot_token:
            print("提示：当前为控制台模式。设置环境变量 HUIYIN_BOT_TOKEN 后再运行 make run，"
                  "即可在 Telegram 上运行。", flush=True)
        from bot.frontends.console import run_console

        asyncio.run(run_console(settings))
        return 0
    if mode == "telegram":
        from bot.frontends.telegram import run_telegram

        asyncio.run(run_telegram(settings))
        return 0
    if mode == "stats":
        from bot.engine.stats import cli_main

        return cli_main(argv[1:], settings)
    if mode == "migrate":
        from storage.migrate import upgrade_sync

        upgrade_sync(settings.database_url)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
