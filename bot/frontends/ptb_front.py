"""The python-telegram-bot front end: PTB's ``Bot`` and types, translated to and from the
engine's.

Receiving is the shared runner's own ``getUpdates`` loop: PTB's ``Updater`` confirms updates
as it queues them, before they are handled; the runner stores each batch first."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.error import RetryAfter as PtbRetryAfter
from telegram.error import TelegramError as PtbTelegramError
from telegram.request import HTTPXRequest

from bot.chat import Button
from bot.frontends.translate import translate_update
from bot.notify.api import (
    ALLOWED_UPDATES,
    CAPTIONLESS,
    Permanent,
    Received,
    ReplyKeyboard,
    RetryAfter,
    Transient,
    Translated,
    file_call,
)
from config.settings import Settings

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _inline(buttons: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data)
                                  for b in row] for row in buttons])


def _markup(buttons: list[list[Button]], keyboard: ReplyKeyboard | None):
    if keyboard is not None and keyboard.contact:
        return ReplyKeyboardMarkup([[KeyboardButton(keyboard.contact, request_contact=True)]],
                                   resize_keyboard=True, one_time_keyboard=True)
    if keyboard is not None:
        return ReplyKeyboardRemove()
    return _inline(buttons)


def _seconds(value) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _Errors:
    """PTB's exceptions → the delivery worker's."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            return False
        if isinstance(exc, PtbRetryAfter):
            raise RetryAfter(_seconds(exc._retry_after), exc.message) from exc
        if isinstance(exc, (BadRequest, Forbidden)):       # BadRequest is a NetworkError
            raise Permanent(exc.message) from exc
        if isinstance(exc, (NetworkError, asyncio.TimeoutError)):   # incl. 5xx, timeouts
            raise Transient(str(exc)) from exc
        if isinstance(exc, PtbTelegramError):
            raise Permanent(exc.message) from exc
        return False


class PtbApi:
    def __init__(self, settings: Settings):
        base = settings.telegram_api_base.rstrip("/")
        self.bot = Bot(settings.bot_token, base_url=f"{base}/bot",
                       base_file_url=f"{base}/file/bot",
                       request=HTTPXRequest(connection_pool_size=16),
                       get_updates_request=HTTPXRequest(read_timeout=10.0))

    async def start(self) -> str:
        with _Errors():
            await self.bot.initialize()
        return self.bot.username or ""

    async def close(self) -> None:
        await self.bot.shutdown()

    async def get_updates(self, offset: int | None, timeout: int) -> list[Received]:
        with _Errors():
            updates = await self.bot.get_updates(offset=offset, timeout=timeout,
                                                 allowed_updates=ALLOWED_UPDATES)
        return [Received(u.update_id, u.to_dict(), translate_update(u)) for u in updates]

    def translate(self, payload: dict) -> Translated:
        return translate_update(Update.de_json(payload, self.bot))

    async def send_message(self, chat_id: int, text: str, *, buttons: list[list[Button]],
                           keyboard: ReplyKeyboard | None = None) -> int:
        with _Errors():
            msg = await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                              link_preview_options=_NO_PREVIEW,
                                              reply_markup=_markup(buttons, keyboard))
        return msg.message_id

    async def send_photo(self, chat_id: int, photo: bytes, caption: str, *,
                         buttons: list[list[Button]]) -> int:
        with _Errors():
            msg = await self.bot.send_photo(chat_id, photo, caption=caption or None,
                                            parse_mode=ParseMode.HTML,
                                            reply_markup=_inline(buttons))
        return msg.message_id

    async def send_file(self, chat_id: int, media: str, file_id: str, caption: str, *,
                        buttons: list[list[Button]]) -> int:
        method, param = file_call(media)
        extra = ({} if param in CAPTIONLESS
                 else {"caption": caption or None, "parse_mode": ParseMode.HTML})
        with _Errors():
            msg = await getattr(self.bot, method)(chat_id, **{param: file_id}, **extra,
                                                  reply_markup=_inline(buttons))
        return msg.message_id

    async def edit_message_text(self, chat_id: int, message_id: int, text: str, *,
                                buttons: list[list[Button]]) -> None:
        with _Errors():
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                             parse_mode=ParseMode.HTML,
                                             link_preview_options=_NO_PREVIEW,
                                             reply_markup=_inline(buttons))

    async def edit_reply_markup(self, chat_id: int, message_id: int,
                                buttons: list[list[Button]]) -> None:
        with _Errors():
            await self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id,
                                                     reply_markup=_inline(buttons))

    async def answer_callback(self, callback_query_id: str, text: str = "") -> None:
        with _Errors():
            await self.bot.answer_callback_query(callback_query_id, text=text or None)

    async def set_commands(self, commands: list[tuple[str, str]]) -> None:
        with _Errors():
            await self.bot.set_my_commands([BotCommand(c, d) for c, d in commands])

    async def set_webhook(self, url: str, secret: str | None) -> None:
        with _Errors():
            await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def delete_webhook(self) -> None:
        with _Errors():
            await self.bot.delete_webhook(drop_pending_updates=False)
