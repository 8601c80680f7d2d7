"""What the delivery worker and the runner need from a Telegram client. Each front end
(aiogram, python-telegram-bot) implements ``BotApi`` with its own framework and translates its
framework's errors into the three below."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.chat import Button, Incoming

# The updates the bot asks Telegram for (long polling and webhook alike).
ALLOWED_UPDATES = ["message", "callback_query"]

# A file Telegram has, sent again by its id (``BotApi.send_file``): the Bot API method (as both
# frameworks name it) and its parameter, by the kind of file; some kinds take no caption.
FILE_METHODS = {"photo": "send_photo", "document": "send_document", "voice": "send_voice",
                "video": "send_video", "audio": "send_audio", "animation": "send_animation",
                "sticker": "send_sticker", "video_note": "send_video_note"}
CAPTIONLESS = frozenset({"sticker", "video_note"})


def file_call(media: str) -> tuple[str, str]:
    """(method name, parameter) sending a file of this kind; unknown kinds as a document."""
    media = media if media in FILE_METHODS else "document"
    return FILE_METHODS[media], media


@dataclass(frozen=True, slots=True)
class ReplyKeyboard:
    """The one reply keyboard we show: a button that shares the phone number (``contact``: its
    label), or, with no label, the keyboard taken away."""

    contact: str = ""


class TelegramError(Exception):
    """A failed Bot API call."""


class RetryAfter(TelegramError):
    """429 Too Many Requests: wait ``seconds`` before trying again."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds}s")
        self.seconds = float(seconds)


class Transient(TelegramError):
    """Network trouble or a 5xx: worth trying again later."""


class Permanent(TelegramError):
    """A 4xx that will not change by retrying (bad request, bot blocked, chat not found)."""

    @property
    def not_modified(self) -> bool:
        return "not modified" in str(self).lower()


@dataclass(frozen=True, slots=True)
class Translated:
    """What the engine should see of an update (``event`` None: nothing for the engine), and
    the callback query to answer, if it was a button press."""

    event: Incoming | None
    callback_query_id: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """An update as fetched: its raw JSON (stored in the inbox) and its translation."""

    update_id: int
    payload: dict
    translated: Translated


class BotApi(Protocol):
    async def start(self) -> str:
        """Open the client; return the bot's username."""

    async def close(self) -> None: ...

    async def get_updates(self, offset: int | None, timeout: int) -> list[Received]: ...

    def translate(self, payload: dict) -> Translated: ...

    async def send_message(self, chat_id: int, text: str, *, buttons: list[list[Button]],
                           keyboard: ReplyKeyboard | None = None) -> int:
        """Send HTML text; return Telegram's message id."""

    async def send_photo(self, chat_id: int, photo: bytes, caption: str, *,
                         buttons: list[list[Button]]) -> int:
        """Send a PNG with an HTML caption; return Telegram's message id."""

    async def send_file(self, chat_id: int, media: str, file_id: str, caption: str, *,
                        buttons: list[list[Button]]) -> int:
        """Send again a file Telegram has (``file_call``), with an HTML caption where the kind
        takes one; return Telegram's message id."""

    async def edit_message_text(self, chat_id: int, message_id: int, text: str, *,
                                buttons: list[list[Button]]) -> None: ...

    async def edit_reply_markup(self, chat_id: int, message_id: int,
                                buttons: list[list[Button]]) -> None: ...

    async def answer_callback(self, callback_query_id: str, text: str = "") -> None: ...

    async def set_commands(self, commands: list[tuple[str, str]]) -> None: ...

    async def set_webhook(self, url: str, secret: str | None) -> None: ...

    async def delete_webhook(self) -> None: ...
