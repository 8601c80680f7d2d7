"""The console front end: the same engine and database as the Telegram bot, in a terminal.

Buttons are shown as numbered options; type the number or the button's text. Staff alerts are
printed in a box, apart from the citizen's chat. Extra console commands stand in for what a
phone does: ``/photo [name]``, ``/file [name]``, ``/contact <number>``, ``/quit``.
Staff buttons are numbered s1, s2 …: type ``s3`` to press one as the console's staff user (the
first of HUIYIN_STAFF_USER_IDS), and ``s <text or /command>`` to write in the staff chat.
"""
from __future__ import annotations

import asyncio
import html
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.app import Beside, build_app
from bot.chat import Incoming, Kind, Outgoing
from bot.conversations.reminders import scheduler_loop
from config.catalog import Texts
from config.settings import Settings

CITIZEN_CHAT = 10001
CONSOLE_STAFF_CHAT = -10001
CONSOLE_STAFF_USER = 10002
PHOTO_DIR = Path("data")
_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def plain(text: str) -> str:
    """Telegram HTML to terminal text."""
    return html.unescape(_TAG.sub("", text))


def save_photo(png: bytes, folder: Path = PHOTO_DIR) -> Path:
    """A picture the bot sent (the /stats chart), saved where the terminal user can open it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"chart-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
    path.write_bytes(png)
    return path.resolve()


class ConsoleChat:
    def __init__(self, out: TextIO, texts: Texts, staff_user: int | None = None):
        self.out = out
        self.t = texts
        self.choices: list[tuple[str, str]] = []  # (label, callback data) of the last buttons
        self.staff_user = staff_user
        self.staff_choices: list[tuple[int, str]] = []  # (chat id, callback data): s1, s2 …
        self.staff_chat: int | None = None

    def show(self, messages: list[Outgoing]) -> None:
        buttons: list[tuple[str, str]] = []
        if any(m.buttons for m in messages if m.chat_id != CITIZEN_CHAT):
            self.staff_choices = []
        for msg in messages:
            if msg.chat_id != CITIZEN_CHAT:
                self._show_staff(msg)
                continue
            body = plain(msg.text).replace("\n", "\n      ")
            self.out.write(f"\n{self.t.console_bot}> {body}\n")
            if msg.file_id:
                self.out.write(f"      {self.file_note(msg)}\n")
            for row in msg.buttons:
                for b in row:
                    buttons.append((plain(b.text), b.data))
                    self.out.write(f"      [{len(buttons)}] {plain(b.text)}\n")
            if msg.request_contact:
                self.out.write(f"      {self.t.console_contact_hint}\n")
        if buttons:
            self.choices = buttons
        self.out.flush()

    def file_note(self, msg: Outgoing) -> str:
        """A file sent on (the console has none to show): its kind and id."""
        media = self.t.get(f"media_{msg.file_media}") or self.t.media_other
        return self.t("console_file", media=media, file_id=msg.file_id)

    def _show_staff(self, msg: Outgoing) -> None:
        bar = "═" * 36
        self.out.write(f"\n╔{bar}\n║ {self.t('console_staff_chat', chat=msg.chat_id)}\n")
        for line in plain(msg.text).splitlines():
            self.out.write(f"║ {line}\n")
        if msg.photo:
            self.out.write(f"║ {self.t('console_photo_saved', path=save_photo(msg.photo))}\n")
        if msg.file_id:
            self.out.write(f"║ {self.file_note(msg)}\n")
        self.staff_chat = msg.chat_id
        for row in msg.buttons:
            labels = []
            for b in row:
                self.staff_choices.append((msg.chat_id, b.data))
                labels.append(f"〔s{len(self.staff_choices)} {plain(b.text)}〕")
            self.out.write("║ " + "  ".join(labels) + "\n")
        self.out.write(f"╚{bar}\n")

    def to_event(self, line: str) -> Incoming | None:
        text = line.rstrip("\r\n")
        stripped = text.strip()
        head, _, rest = stripped.partition(" ")
        if head in ("/photo", "/file"):
            media = "photo" if head == "/photo" else "document"
            return Incoming(CITIZEN_CHAT, CITIZEN_CHAT, Kind.ATTACHMENT, media=media,
                            file_id=f"console:{rest or media}")
        if head == "/contact":
            return Incoming(CITIZEN_CHAT, CITIZEN_CHAT, Kind.CONTACT, text=rest)
        staff = dict(chat_type="group", user_name=self.t.console_staff_name)
        if self.staff_user and re.fullmatch(r"s\d+", stripped):
            n = int(stripped[1:])
            if 1 <= n <= len(self.staff_choices):
                chat_id, data = self.staff_choices[n - 1]
                return Incoming(chat_id, self.staff_user, Kind.BUTTON, data=data, **staff)
        if self.staff_user and head == "s" and rest:
            return Incoming.from_text(self.staff_chat or CONSOLE_STAFF_CHAT, self.staff_user,
                                      rest, **staff)
        for i, (label, data) in enumerate(self.choices, 1):
            if stripped == str(i) or (stripped and stripped == label):
                return Incoming(CITIZEN_CHAT, CITIZEN_CHAT, Kind.BUTTON, data=data)
        return Incoming.from_text(CITIZEN_CHAT, CITIZEN_CHAT, text)


async def run_console(settings: Settings, *, stdin: TextIO = sys.stdin,
                      stdout: TextIO = sys.stdout, beside: Beside | None = None) -> None:
    """The console chat until /quit. ``beside`` (optional): what else to serve on the same
    app while it runs, e.g. the web workspace; it gets the app and how to deliver messages."""
    if settings.staff_chat_id is None:
        settings = settings.model_copy(update={"staff_chat_id": CONSOLE_STAFF_CHAT})
    if not settings.staff_user_ids:
        settings = settings.model_copy(update={"staff_user_ids": [CONSOLE_STAFF_USER]})
    app = await build_app(settings)
    texts = app.engine.catalog.texts
    chat = ConsoleChat(stdout, texts, settings.staff_user_ids[0])
    loop = asyncio.get_running_loop()
    # reminders, escalations and news for citizens, printed like any other message
    scheduler = asyncio.create_task(scheduler_loop(app.engine, settings.scheduler_interval,
                                                   deliver=chat.show))
    extra = asyncio.create_task(beside(app, chat.show)) if beside is not None else None
    try:
        chat.show(await app.engine.handle(Incoming.from_text(CITIZEN_CHAT, CITIZEN_CHAT, "/start")))
        while True:
            stdout.write(f"\n{texts.console_you}> ")
            stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line or line.strip() in ("/quit", "/exit"):
                stdout.write(f"\n{texts.console_bye}\n")
                break
            event = chat.to_event(line)
            chat.show(await app.engine.handle(event))
    finally:
        for task in (scheduler, extra):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (scheduler, extra) if t), return_exceptions=True)
        await app.close()
