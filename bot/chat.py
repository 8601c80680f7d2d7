"""The chat's vocabulary: what goes into the engine (``Incoming``) and what comes out of it
(``Outgoing`` with ``Button``s). No framework types here; front ends translate to and from these."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"      # text starting with "/", split into command + args
    BUTTON = "button"        # an inline button press: ``data`` holds its callback data
    CONTACT = "contact"      # a shared phone number: ``text`` holds the number
    ATTACHMENT = "attachment"  # a photo or document: ``file_id`` and ``media`` set
    OTHER = "other"          # sticker, voice, location …: anything we cannot use as text


@dataclass(frozen=True, slots=True)
class Incoming:
    """One event from one chat."""

    chat_id: int
    user_id: int
    kind: Kind
    text: str = ""
    data: str = ""            # button callback data
    command: str = ""         # without the slash, lower case: "start", "cancel" …
    args: str = ""            # what followed the command
    file_id: str = ""
    media: str = ""           # "photo", "document", "sticker", "voice" …
    chat_type: str = "private"
    user_name: str = ""       # display name, never logged
    message_id: int | None = None  # the message the button was on, for edits
    reply_to_text: str = ""   # the text (or caption) of the message this one answers

    @staticmethod
    def from_text(chat_id: int, user_id: int, text: str, **kw) -> Incoming:
        """A typed message; commands are recognised here so every front end agrees."""
        stripped = (text or "").strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, args = stripped[1:].partition(" ")
            command = head.split("@", 1)[0].lower()
            return Incoming(chat_id, user_id, Kind.COMMAND, text=stripped, command=command,
                            args=args.strip(), **kw)
        return Incoming(chat_id, user_id, Kind.TEXT, text=text or "", **kw)


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str  # callback data, at most 64 bytes


@dataclass(slots=True)
class Outgoing:
    """One message to send. ``text`` is Telegram HTML: user text in it is already escaped."""

    chat_id: int
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    request_contact: str = ""       # show a "share my phone number" button with this label
    remove_keyboard: bool = False   # remove a reply keyboard shown before
    keyboard_note: str = ""         # words for a second message that carries the reply keyboard
                                    # (when this one has inline buttons: one markup a message)
    edit_message_id: int | None = None  # edit this message instead of sending a new one
    audience: str = "citizen"       # "citizen", "staff" or "leaders": who reads it
    photo: bytes | None = None      # a PNG sent as a photo, ``text`` as its caption
    file_id: str = ""               # a file Telegram has (a citizen's photo, document, voice …)
    file_media: str = ""            # … and its kind, sent again with ``text`` as its caption
