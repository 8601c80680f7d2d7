"""The aiogram 3 front end: aiogram's ``Bot`` and types, translated to and from the engine's.

Receiving is the shared runner's own ``getUpdates`` loop (aiogram's dispatcher confirms an
update before its handler finishes; the runner stores it first)."""
from __future__ import annotations

import asyncio
import functools

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    GetUpdates,
    Response,
    SendMessage,
    SetMyCommands,
    SetWebhook,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from aiohttp import BytesPayload

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

# aiogram parses every answer as ``Response[<the method's result type>]``. pydantic keeps such
# parametrised models only weakly, so each garbage collection drops them and the next call
# builds the model again (≈ 4 ms of schema building, measured): keep ours alive.
_RESPONSE_MODELS = [Response[m.__returning__]
                    for m in (SendMessage, EditMessageText, EditMessageReplyMarkup,
                              AnswerCallbackQuery, GetUpdates, GetMe, SetMyCommands, SetWebhook,
                              DeleteWebhook)]


def _inline(buttons: list[list[Button]]) -> InlineKeyboardMarkup | None:
    return _keyboard(tuple(map(tuple, buttons))) if buttons else None


@functools.lru_cache(maxsize=1024)
def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    """Built once per set of buttons (every citizen at a step gets the same ones): aiogram's
    models validate every field of every button as they are made."""
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row] for row in rows])


def _markup(buttons: list[list[Button]], keyboard: ReplyKeyboard | None):
    if keyboard is not None and keyboard.contact:
        return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=keyboard.contact,
                                                             request_contact=True)]],
                                   resize_keyboard=True, one_time_keyboard=True)
    if keyboard is not None:
        return ReplyKeyboardRemove()
    return _inline(buttons)


class JsonSession(AiohttpSession):
    """aiogram's aiohttp session sending each call as a JSON body (``application/json``, which
    the Bot API takes like a form) when it uploads no file: aiogram's default, a multipart
    form with every nested object JSON-encoded as a string, costs about as much CPU as the
    rest of the call. Calls with files (``sendPhoto``) go as aiogram builds them."""

    def build_form_data(self, bot: Bot, method):
        files: dict = {}
        # None means "not given" to aiogram too: leaving it out early spares the walk over
        # every unused field of every button
        body = self.prepare_value(method.model_dump(warnings=False, exclude_none=True), bot=bot,
                                  files=files, _dumps_json=False)
        if files:
            return super().build_form_data(bot, method)
        return BytesPayload(self.json_dumps(body).encode(), content_type="application/json")


class _Errors:
    """aiogram's exceptions → the delivery worker's."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            return False
        if isinstance(exc, TelegramRetryAfter):
            raise RetryAfter(exc.retry_after, exc.message) from exc
        if isinstance(exc, (TelegramServerError, TelegramNetworkError, asyncio.TimeoutError)):
            raise Transient(str(exc)) from exc
        if isinstance(exc, TelegramAPIError):
            raise Permanent(exc.message) from exc
        return False


class AiogramApi:
    def __init__(self, settings: Settings):
        server = TelegramAPIServer.from_base(settings.telegram_api_base)
        self.bot = Bot(settings.bot_token, session=JsonSession(api=server),
                       default=DefaultBotProperties(parse_mode="HTML",
                                                    link_preview_is_disabled=True))

    async def start(self) -> str:
        with _Errors():
            me = await self.bot.get_me()
        return me.username or ""

    async def close(self) -> None:
        await self.bot.session.close()

    async def get_updates(self, offset: int | None, timeout: int) -> list[Received]:
        with _Errors():
            updates = await self.bot.get_updates(offset=offset, timeout=timeout,
                                                 allowed_updates=ALLOWED_UPDATES,
                                                 request_timeout=timeout + 10)
        return [Received(u.update_id, u.model_dump(mode="json", exclude_none=True,
                                                   by_alias=True), translate_update(u))
                for u in updates]

    def translate(self, payload: dict) -> Translated:
        return translate_update(Update.model_validate(payload, context={"bot": self.bot}))

    async def send_message(self, chat_id: int, text: str, *, buttons: list[list[Button]],
                           keyboard: ReplyKeyboard | None = None) -> int:
        with _Errors():
            msg = await self.bot.send_message(chat_id, text,
                                              reply_markup=_markup(buttons, keyboard))
        return msg.message_id

    async def send_photo(self, chat_id: int, photo: bytes, caption: str, *,
                         buttons: list[list[Button]]) -> int:
        with _Errors():
            msg = await self.bot.send_photo(chat_id, BufferedInputFile(photo, "chart.png"),
                                            caption=caption or None,
                                            reply_markup=_inline(buttons))
        return msg.message_id

    async def send_file(self, chat_id: int, media: str, file_id: str, caption: str, *,
                        buttons: list[list[Button]]) -> int:
        method, param = file_call(media)
        extra = {} if param in CAPTIONLESS else {"caption": caption or None}
        with _Errors():
            msg = await getattr(self.bot, method)(chat_id, **{param: file_id}, **extra,
                                                  reply_markup=_inline(buttons))
        return msg.message_id

    async def edit_message_text(self, chat_id: int, message_id: int, text: str, *,
                                buttons: list[list[Button]]) -> None:
        with _Errors():
            await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id,
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
            await self.bot.set_my_commands([BotCommand(command=c, description=d)
                                            for c, d in commands])

    async def set_webhook(self, url: str, secret: str | None) -> None:
        with _Errors():
            await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                                       drop_pending_updates=False)

    async def delete_webhook(self) -> None:
        with _Errors():
            await self.bot.delete_webhook(drop_pending_updates=False)
