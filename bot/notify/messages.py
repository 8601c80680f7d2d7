"""Outgoing messages as stored in the outbox, and the Bot API calls that deliver them.

A stored payload is plain JSON. Delivering one may take several calls: a text over 4,096
characters goes out in parts (HTML tags closed and reopened at each cut, buttons on the last
part), and a message that needs both inline buttons and a reply keyboard (Telegram allows one
markup per message) gets a short second message carrying the keyboard.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from bot.chat import Button, Outgoing
from bot.notify.api import CAPTIONLESS, ReplyKeyboard

MAX_TEXT = 4096
MAX_CAPTION = 1024
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|[^<&]|[<&]")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z-]+)")


def to_payload(msg: Outgoing) -> dict:
    payload: dict = {"op": "edit" if msg.edit_message_id else "send", "text": msg.text}
    if msg.buttons:
        payload["buttons"] = [[[b.text, b.data] for b in row] for row in msg.buttons]
    if msg.request_contact:
        payload["request_contact"] = msg.request_contact
    if msg.remove_keyboard:
        payload["remove_keyboard"] = True
    if msg.keyboard_note:
        payload["keyboard_note"] = msg.keyboard_note
    if msg.edit_message_id:
        payload["message_id"] = msg.edit_message_id
    if msg.photo:
        payload["op"] = "photo"
        payload["photo"] = base64.b64encode(msg.photo).decode("ascii")
    elif msg.file_id:
        payload.update(op="file", file_id=msg.file_id, media=msg.file_media)
    return payload


def remove_buttons_payload(message_id: int) -> dict:
    """Take the inline buttons off a message whose button was pressed."""
    return {"op": "markup", "message_id": message_id}


def buttons_of(payload: dict) -> list[list[Button]]:
    return [[Button(text, data) for text, data in row] for row in payload.get("buttons") or []]


@dataclass(frozen=True, slots=True)
class Call:
    """One Bot API call: "send" (sendMessage), "edit" (editMessageText), "markup"
    (editMessageReplyMarkup), "photo" (sendPhoto, ``text`` as its caption) or "file" (a file
    Telegram has, sent again by its id: sendPhoto, sendDocument, sendVoice …)."""

    op: str
    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    keyboard: ReplyKeyboard | None = None
    message_id: int | None = None
    photo: bytes | None = None
    file_id: str = ""
    media: str = ""


def plan(payload: dict) -> list[Call]:
    op, buttons = payload.get("op", "send"), buttons_of(payload)
    if op == "markup":
        return [Call("markup", buttons=buttons, message_id=payload["message_id"])]
    if op == "photo":  # the text is the caption, or follows the picture when too long for one
        photo, text = base64.b64decode(payload["photo"]), payload.get("text", "")
        if len(text) <= MAX_CAPTION:
            return [Call("photo", text, buttons, photo=photo)]
        return [Call("photo", photo=photo)] + plan({**payload, "op": "send", "photo": None})
    if op == "file":   # as a photo's: the caption, or the text after the file
        file_id, media, text = payload["file_id"], payload.get("media", ""), payload.get("text", "")
        if len(text) <= MAX_CAPTION and media not in CAPTIONLESS:
            return [Call("file", text, buttons, file_id=file_id, media=media)]
        return [Call("file", file_id=file_id, media=media)] + plan(
            {**payload, "op": "send", "file_id": ""})
    parts = split_html(payload.get("text", ""))
    if op == "edit":
        calls = [Call("edit", parts[0], buttons if len(parts) == 1 else [],
                      message_id=payload["message_id"])]
        rest = parts[1:]
        calls += [Call("send", p, buttons if i == len(rest) - 1 else [])
                  for i, p in enumerate(rest)]
        return calls
    keyboard = None
    if payload.get("request_contact"):
        keyboard = ReplyKeyboard(contact=str(payload["request_contact"]))
    elif payload.get("remove_keyboard"):
        keyboard = ReplyKeyboard()
    calls = [Call("send", p) for p in parts]
    last = calls[-1]
    if keyboard and buttons:
        calls[-1] = Call("send", last.text, buttons)
        calls.append(Call("send", payload.get("keyboard_note") or "…", keyboard=keyboard))
    else:
        calls[-1] = Call("send", last.text, buttons, keyboard)
    return calls


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut Telegram HTML into parts of at most ``limit`` characters, at a line break when one is
    near, never inside a tag or an entity; tags open at a cut are closed and reopened."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    cur: list[str] = []
    size = 0
    stack: list[tuple[str, str]] = []          # (name, opening tag) of open tags
    brk: tuple[int, list[tuple[str, str]]] | None = None  # after the last "\n": index, stack

    def closing(tags) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(tags))

    for atom in _TOKEN.findall(text):
        if size + len(atom) + len(closing(stack)) > limit and cur:
            if brk is not None and brk[0] > len(cur) // 2:
                cut, open_then = brk
            else:
                cut, open_then = len(cur), list(stack)
            head, tail = cur[:cut], cur[cut:]
            parts.append("".join(head) + closing(open_then))
            cur = [tag for _, tag in open_then] + tail
            size = sum(map(len, cur))
            brk = None
        cur.append(atom)
        size += len(atom)
        if atom.startswith("<") and len(atom) > 1 and atom.endswith(">"):
            m = _TAG_NAME.match(atom)
            if m:
                name = m.group(1).lower()
                if atom.startswith("</"):
                    for i in range(len(stack) - 1, -1, -1):
                        if stack[i][0] == name:
                            del stack[i]
                            break
                else:
                    stack.append((name, atom))
        elif atom == "\n":
            brk = (len(cur), list(stack))
    if cur:
        parts.append("".join(cur))
    return [p for p in parts if re.sub(r"<[^>]*>", "", p).strip()]
