"""The Telegram bot as its own process, configured by HUIYIN_* environment variables (as
``main.py telegram`` would be), for the crash test and the bench."""
from __future__ import annotations

import asyncio
import logging
import sys


def main() -> int:
    from bot.frontends.telegram import run_telegram
    from config.settings import Settings

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_telegram(Settings(_env_file=None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
