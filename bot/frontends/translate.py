"""Framework update objects → ``Incoming``. aiogram's and python-telegram-bot's ``Update``
name their fields alike (``message.chat.id``, ``from_user``, ``photo[-1].file_id`` …), so one
function serves both front ends."""
from __future__ import annotations

from bot.chat import Incoming, Kind
from bot.notify.api import Translated

_OTHER_MEDIA = ("sticker", "voice", "video", "video_note", "audio", "animation", "location",
                "venue", "poll", "dice")


def chat_type_of(chat) -> str:
    return str(getattr(chat.type, "value", chat.type))


def translate_update(update) -> Translated:
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None or getattr(message, "chat", None) is None:
            return Translated(None, query.id)
        chat = message.chat
        event = Incoming(chat.id, query.from_user.id, Kind.BUTTON, data=query.data or "",
                         chat_type=chat_type_of(chat), user_name=query.from_user.full_name,
                         message_id=message.message_id)
        return Translated(event, query.id)
    message = update.message
    if message is None or message.from_user is None:
        return Translated(None)
    chat, user = message.chat, message.from_user
    common = {"chat_type": chat_type_of(chat), "user_name": user.full_name}
    replied = getattr(message, "reply_to_message", None)
    if replied is not None:
        common["reply_to_text"] = replied.text or replied.caption or ""
    if message.text is not None:
        return Translated(Incoming.from_text(chat.id, user.id, message.text, **common))
    if message.contact is not None:
        # the sender's own number (Telegram's 「发送手机号」 button), or a card of someone
        # else's: that is only a number given, as if typed
        own = message.contact.user_id == user.id
        return Translated(Incoming(chat.id, user.id, Kind.CONTACT if own else Kind.TEXT,
                                   text=message.contact.phone_number, **common))
    if message.photo:
        return Translated(Incoming(chat.id, user.id, Kind.ATTACHMENT, media="photo",
                                   file_id=message.photo[-1].file_id, **common))
    if message.document is not None:
        return Translated(Incoming(chat.id, user.id, Kind.ATTACHMENT, media="document",
                                   file_id=message.document.file_id, **common))
    media = next((name for name in _OTHER_MEDIA if getattr(message, name, None)), "other")
    file_id = getattr(getattr(message, media, None), "file_id", None) or ""
    return Translated(Incoming(chat.id, user.id, Kind.OTHER, media=media, file_id=file_id,
                               **common))
