"""Huiyin's composition root.

    python main.py              Telegram when HUIYIN_BOT_TOKEN is set, else the console
    python main.py console      the console chat
    python main.py telegram     the Telegram bot (long polling, or webhook when configured)
                                (both serve the web workspace on HUIYIN_WEB_LISTEN: the console
                                in its own process, the bot as a process of its own that it
                                starts and stops, unless HUIYIN_WEB_IN_PROCESS is set)
    python main.py web          the web workspace and the open API alone
    python main.py migrate      upgrade the database schema
    python main.py stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--department KEY] [--chart PNG]
                                the leaders' numbers, each with its n
    python main.py nlp …        classifier commands (classify, eval, train, explain)
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from pydantic_settings import NoDecode

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

MAIN = Path(__file__).resolve()
WAKE = "--wake-fd"      # main.py web --wake-fd N: the web as the bot's child process

log = logging.getLogger("huiyin")


def web_beside(settings: Settings, *, in_process: bool):
    """How the chat serves the web workspace (None when HUIYIN_WEB_LISTEN is empty): in its own
    process, on its event loop (``in_process``), or as a child process of its own."""
    if not settings.web_listen:
        return None
    if not in_process:
        return web_apart(settings)

    async def serve(app: App, deliver) -> None:
        texts = app.engine.catalog.texts
        print(texts("web_listening", url=settings.web_url), flush=True)
        await serve_web(create_web(app, deliver=deliver), settings.web_listen)
    return serve


def web_apart(settings: Settings):
    """The web workspace as a child process (``main.py web``), so that staff opening pages never
    take the bot's event loop: started with the bot, stopped with it, started again if it ends
    on its own. It ends by itself when the bot is gone (its stdin, a pipe from the bot, reaches
    its end), even when the bot was killed. What staff do there goes to the outbox; the child
    says so through a pipe, and the bot's delivery worker looks into the outbox at once."""

    async def serve(app: App, deliver) -> None:
        texts = app.engine.catalog.texts
        loop = asyncio.get_running_loop()
        pause = 1.0
        while True:
            wake_read, wake_write = os.pipe()
            os.set_blocking(wake_read, False)
            try:
                child = await asyncio.create_subprocess_exec(
                    sys.executable, str(MAIN), "web", WAKE, str(wake_write),
                    stdin=asyncio.subprocess.PIPE, pass_fds=(wake_write,),
                    env=environment_of(settings), start_new_session=True)
            except BaseException:
                os.close(wake_read)
                raise
            finally:
                os.close(wake_write)
            loop.add_reader(wake_read, _woken, loop, wake_read, deliver)
            print(texts("web_apart", pid=child.pid), flush=True)
            started = time.monotonic()
            try:
                code = await child.wait()
            finally:
                loop.remove_reader(wake_read)
                os.close(wake_read)
                if child.returncode is None:       # cancelled: the bot is stopping
                    await _stop(child)
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 60.0)
            log.error("the web workspace's process ended (exit code %s); starting it again "
                      "in %.0f s", code, pause)
            await asyncio.sleep(pause)
    return serve


def _woken(loop: asyncio.AbstractEventLoop, fd: int, deliver) -> None:
    """The web process wrote to the outbox: the delivery worker looks into it now."""
    try:
        if os.read(fd, 4096):
            deliver([])
            return
    except BlockingIOError:
        return
    loop.remove_reader(fd)                          # the web process closed it: it ended


async def _stop(child: asyncio.subprocess.Process) -> None:
    """End the web process: its stdin closed (it stops serving and exits), else SIGTERM,
    else SIGKILL."""
    with contextlib.suppress(ProcessLookupError, OSError):
        child.stdin.close()
    for last_resort in (child.terminate, child.kill):
        try:
            await asyncio.wait_for(asyncio.shield(child.wait()), 8)
            return
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                last_resort()
    await child.wait()


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process these very settings (whatever the bot's
    came from: its environment, .env, or code)."""
    prefix = settings.model_config["env_prefix"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, list):    # a list written as the setting reads it
            value = (",".join(map(str, value)) if NoDecode in field.metadata
                     else json.dumps(value))
        env[f"{prefix}{name.upper()}"] = str(value)
    return env


async def run_web(settings: Settings, wake_fd: int | None = None) -> None:
    """The web alone: its messages go to the outbox, which the bot's process delivers. As the
    bot's child (``wake_fd``): each time it writes to the outbox it writes a byte to
    ``wake_fd``, and it stops when its stdin ends (the bot stopped or died)."""
    app = await build_app(settings, on_outgoing=write_outbox)
    loop = asyncio.get_running_loop()
    serving = asyncio.create_task(serve_web(create_web(app, deliver=_waker(wake_fd)),
                                            settings.web_listen))
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, serving.cancel)
    try:
        print(app.engine.catalog.texts("web_listening", url=settings.web_url), flush=True)
        if wake_fd is None:
            await serving
        else:
            bot = asyncio.create_task(_until_end_of(sys.stdin))
            await asyncio.wait({serving, bot}, return_when=asyncio.FIRST_COMPLETED)
            for task in (serving, bot):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
    except asyncio.CancelledError:
        pass
    finally:
        await app.close()


def _waker(fd: int | None):
    if fd is None:
        return None
    os.set_blocking(fd, False)

    def wake(_out) -> None:
        with contextlib.suppress(BlockingIOError, BrokenPipeError):  # full: a wake is pending
            os.write(fd, b"!")
    return wake


async def _until_end_of(stream) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
    while await reader.read(4096):
        pass


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
        asyncio.run(run_console(settings, beside=web_beside(settings, in_process=True)))
        return 0
    if mode == "telegram":
        asyncio.run(run_telegram(settings, beside=web_beside(
            settings, in_process=settings.web_in_process)))
        return 0
    if mode == "web":
        wake_fd = int(argv[2]) if argv[1:2] == [WAKE] and len(argv) > 2 else None
        asyncio.run(run_web(settings, wake_fd))
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
