"""A fake Telegram Bot API server: aiohttp on 127.0.0.1, the real HTTP interface.

Speaks ``/bot<token>/<method>`` with JSON, form or multipart bodies, as aiogram and
python-telegram-bot send them. Checks what Telegram checks and answers as Telegram does:
HTML that does not parse (400 "can't parse entities"), text over 4,096 characters, callback
data over 64 bytes, an edit that changes nothing ("message is not modified"). Failures can be
injected (429 with ``retry_after``, 5xx, a dropped connection), and Telegram's sending limits
enforced (``limits=FloodLimits()``: 429 with ``retry_after`` beyond them; see ``FloodLimits``).

Test helpers: ``user_text`` / ``user_photo`` / ``user_document`` / ``user_contact`` /
``press`` push updates as a user would; ``wait_messages(chat_id, n)`` waits (with a deadline,
no sleeps) until the bot has sent ``n`` messages there; ``fail(method, status, ...)`` and
``drop(method, ...)`` inject failures.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from aiohttp import web

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "tg-spoiler", "span", "blockquote", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]*))?)*)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "from_chat_id",
               "cache_time", "max_connections"}
_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "link_preview_options",
                "scope", "entities", "reply_parameters"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def parse_html(text: str) -> str:
    """The plain text Telegram would show, or ``ApiError`` 400 as Telegram answers."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    raw = text.encode("utf-8")

    def offset(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if not m:
                raise ApiError(400, "Bad Request: can't parse entities: Unexpected character "
                                    f"'<' at byte offset {offset(i)}")
            closing, name = m.group(1), m.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise ApiError(400, "Bad Request: can't parse entities: Unsupported start tag "
                                    f"\"{name}\" at byte offset {offset(i)}")
            if closing:
                if not stack or stack[-1] != name:
                    expected = stack[-1] if stack else ""
                    raise ApiError(400, "Bad Request: can't parse entities: Unmatched end tag "
                                        f"at byte offset {offset(i)}, expected \"</{expected}>\", "
                                        f"found \"</{name}>\"")
                stack.pop()
            else:
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise ApiError(400, "Bad Request: can't parse entities: Character '&' is "
                                    f"reserved and must be escaped at byte offset {offset(i)}")
            out.append(unescape(m.group(0)))
            i = m.end()
        elif ch == ">":
            raise ApiError(400, "Bad Request: can't parse entities: Character '>' is reserved "
                                f"and must be escaped at byte offset {offset(i)}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag "
                            f"corresponding to start tag \"{stack[-1]}\"")
    del raw
    return "".join(out)


@dataclass
class Injected:
    method: str
    status: int              # 0: drop the connection instead of answering
    times: int
    retry_after: int | None = None
    chat_id: int | None = None


class Dropped(Exception):
    """An injected failure: the connection is closed without an answer."""


@dataclass
class FloodLimits:
    """Telegram's sending limits, as the fake server enforces them (``limits=``).

    Telegram does not publish its algorithm; it documents "about 30 messages per second"
    overall, "no more than one message per second" in a private chat ("short bursts that go
    over this limit are allowed, but eventually you'll begin receiving 429 errors") and 20
    messages per minute in a group. Modelled as token buckets, one per limit, counting every
    sending call (sendMessage, sendPhoto; edits are not counted): a bucket holds ``burst``
    tokens and refills at ``rate`` per second; a call that finds a bucket empty is answered 429
    with ``retry_after`` = the whole seconds until a token is back (at least 1), sends nothing,
    and takes no token. Overall: 30/s, burst 30 (one second's worth); private chat: 1/s, burst
    3; group: 20/min, burst 20.
    """

    per_second: float = 30.0
    burst: float = 30.0
    private_per_second: float = 1.0
    private_burst: float = 3.0
    group_per_minute: float = 20.0
    group_burst: float = 20.0


@dataclass
class _Bucket:
    rate: float
    size: float
    tokens: float
    at: float

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: there is one now)."""
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class Sent:
    """A message the bot sent (its current state: edits change it)."""

    chat_id: int
    message_id: int
    html: str
    text: str
    reply_markup: dict | None
    at: float
    edits: int = 0
    media: str = ""
    photo: bytes = b""  # an uploaded picture's bytes
    file_id: str = ""   # a file sent again by its id (sendPhoto, sendDocument, sendVoice …)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def data_for(self, label: str) -> str:
        """The data of the button labelled ``label``, else of the first whose label contains it."""
        for exact in (True, False):
            for text, data in self.buttons:
                if text == label or (not exact and label in text):
                    return data
        raise LookupError(f"no button {label!r} on message {self.message_id}: {self.buttons}")


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token"
    bot_id: int = 123456
    username: str = "huiyin_test_bot"
    host: str = "127.0.0.1"
    port: int = 0
    updates: list[dict] = field(default_factory=list)       # not yet confirmed
    messages: dict[int, list[Sent]] = field(default_factory=dict)  # chat → sent, in order
    calls: list[tuple[str, dict]] = field(default_factory=list)
    errors: list[tuple[str, int, str]] = field(default_factory=list)  # 4xx/5xx we answered
    callback_answers: list[dict] = field(default_factory=list)
    commands: list[dict] = field(default_factory=list)
    webhook: dict | None = None
    served_updates: int = 0                                  # handed out by getUpdates
    limits: FloodLimits | None = None                        # enforce Telegram's limits
    dropped: int = 0                                         # connections dropped (injected)
    # what /file/bot<token>/<path> serves for these file ids (getFile's path); others get a
    # few placeholder bytes
    file_bodies: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._user_message_ids = itertools.count(1)
        self._files: dict[str, dict] = {}
        self._inject: list[Injected] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.by_id: dict[tuple[int, int], Sent] = {}
        self._buckets: dict[int | None, _Bucket] = {}
        self.flood_429: dict[str, int] = {"overall": 0, "chat": 0}  # 429s over ``limits``
        self._closing = False    # stop(): long polls answer at once instead of at their timeout

    # ------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> FakeTelegram:
        self._closing = False
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._endpoint)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        # A getUpdates still held open (its client may be gone) would keep the server's
        # shutdown waiting for its whole timeout: end it now.
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.stop()

    async def _read(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.read()
            return json.loads(body) if body else {}
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else value
        for key, value in list(params.items()):
            if not isinstance(value, str):
                continue
            if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
                params[key] = int(value)
            elif key in _JSON_FIELDS or value in ("true", "false"):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass
        return params

    async def _endpoint(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(method, ApiError(401, "Unauthorized"))
        try:
            params = await self._read(request)
        except ValueError:
            return self._error(method, ApiError(400, "Bad Request: invalid request body"))
        self.calls.append((method, params))
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return self._error(method, ApiError(404, "Not Found: method not found"))
        try:
            self._maybe_fail(method, params)
            self._flood_check(method, params)
            result = await handler(params)
        except Dropped:
            self.dropped += 1
            if request.transport is not None:
                request.transport.abort()       # a reset connection: no answer at all
            raise asyncio.CancelledError from None
        except ApiError as exc:
            await self._notify()
            return self._error(method, exc)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, exc: ApiError) -> web.Response:
        self.errors.append((method, exc.code, exc.description))
        body: dict[str, Any] = {"ok": False, "error_code": exc.code,
                                "description": exc.description}
        if exc.retry_after is not None:
            body["parameters"] = {"retry_after": exc.retry_after}
        return web.json_response(body, status=exc.code)

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for file_id, body in self.file_bodies.items():   # a real picture, when a test set one
            if path == self._file_path(file_id):
                return web.Response(body=body, content_type="application/octet-stream")
        return web.Response(body=b"\x89PNG fake", content_type="application/octet-stream")

    def _maybe_fail(self, method: str, params: dict) -> None:
        for inj in self._inject:
            if inj.method.lower() != method.lower() or inj.times <= 0:
                continue
            if inj.chat_id is not None and params.get("chat_id") != inj.chat_id:
                continue
            inj.times -= 1
            if inj.status == 0:
                raise Dropped(method)
            if inj.status == 429:
                raise ApiError(429, f"Too Many Requests: retry after {inj.retry_after or 1}",
                               inj.retry_after or 1)
            raise ApiError(inj.status, {500: "Internal Server Error", 502: "Bad Gateway"}
                           .get(inj.status, "Server Error"))

    def _flood_check(self, method: str, params: dict) -> None:
        if self.limits is None or method.lower() not in ("sendmessage", "sendphoto"):
            return
        lim, now = self.limits, time.monotonic()
        chat_id = params.get("chat_id")
        buckets = [self._bucket(None, lim.per_second, lim.burst, now)]
        if isinstance(chat_id, int) and chat_id > 0:
            buckets.append(self._bucket(chat_id, lim.private_per_second, lim.private_burst, now))
        elif isinstance(chat_id, int):
            buckets.append(self._bucket(chat_id, lim.group_per_minute / 60, lim.group_burst,
                                        now))
        waits = [b.wait(now) for b in buckets]
        wait = max(waits)
        if wait > 0:
            self.flood_429["overall" if waits[0] > 0 else "chat"] += 1
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        for b in buckets:
            b.tokens -= 1

    def _bucket(self, key: int | None, rate: float, size: float, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, size, size, now)
        return bucket

    # ------------------------------------------------------------ Bot API methods

    def _me(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "回音", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_getme(self, p: dict) -> dict:
        return self._me()

    async def _m_getupdates(self, p: dict) -> list[dict]:
        offset = p.get("offset")
        if offset is not None:
            self.updates = [u for u in self.updates if u["update_id"] >= int(offset)]
        deadline = time.monotonic() + float(p.get("timeout") or 0)
        async with self._changed:
            while not self.updates and not self._closing and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        batch = self.updates[: int(p.get("limit") or 100)]
        self.served_updates = max(self.served_updates,
                                  batch[-1]["update_id"] if batch else self.served_updates)
        return batch

    async def _m_deletewebhook(self, p: dict) -> bool:
        self.webhook = None
        return True

    async def _m_setwebhook(self, p: dict) -> bool:
        self.webhook = p
        return True

    async def _m_getwebhookinfo(self, p: dict) -> dict:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    async def _m_setmycommands(self, p: dict) -> bool:
        self.commands = list(p.get("commands") or [])
        return True

    async def _m_answercallbackquery(self, p: dict) -> bool:
        if not p.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        self.callback_answers.append(p)
        await self._notify()
        return True

    def _check_markup(self, markup: Any) -> dict | None:
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for b in row:
                data = b.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not b.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the "
                                        "inline keyboard")
        return markup

    def _chat(self, chat_id: int) -> dict:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": f"Group{chat_id}"}

    def _check_text(self, p: dict, key: str = "text") -> tuple[str, str]:
        html = p.get(key)
        if not isinstance(html, str):
            raise ApiError(400, "Bad Request: message text is empty")
        text = parse_html(html) if p.get("parse_mode", "").upper() == "HTML" else html
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return html, text

    def _message(self, sent: Sent) -> dict:
        msg = {"message_id": sent.message_id, "date": int(time.time()),
               "chat": self._chat(sent.chat_id), "from": self._me()}
        if sent.media == "photo":
            msg["photo"] = [{"file_id": sent.file_id or "sent-photo", "file_unique_id": "sp",
                             "width": 1, "height": 1}]
            if sent.text:
                msg["caption"] = sent.text
        elif sent.media:
            msg[sent.media] = {"file_id": sent.file_id, "file_unique_id": "sf"}
            if sent.media == "voice":
                msg["voice"]["duration"] = 1
            if sent.text:
                msg["caption"] = sent.text
        else:
            msg["text"] = sent.text
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            msg["reply_markup"] = sent.reply_markup
        return msg

    async def _m_sendmessage(self, p: dict) -> dict:
        chat_id = p.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        html, text = self._check_text(p)
        markup = self._check_markup(p.get("reply_markup"))
        sent = Sent(chat_id, next(self._message_ids), html, text, markup, time.monotonic())
        self.messages.setdefault(chat_id, []).append(sent)
        self.by_id[(chat_id, sent.message_id)] = sent
        await self._notify()
        return self._message(sent)

    async def _send_file(self, p: dict, media: str) -> dict:
        """sendDocument, sendVoice … (and sendPhoto) with a file id Telegram knows."""
        chat_id, file_id = p.get("chat_id"), p.get(media)
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if not isinstance(file_id, str) or not file_id:
            raise ApiError(400, f"Bad Request: there is no {media} in the request")
        html, text = ("", "")
        if p.get("caption"):
            html, text = self._check_text(p, "caption")
            if len(text) > 1024:
                raise ApiError(400, "Bad Request: message caption is too long")
        sent = Sent(chat_id, next(self._message_ids), html, text,
                    self._check_markup(p.get("reply_markup")), time.monotonic(), media=media,
                    file_id=file_id)
        self.messages.setdefault(chat_id, []).append(sent)
        self.by_id[(chat_id, sent.message_id)] = sent
        await self._notify()
        return self._message(sent)

    async def _m_senddocument(self, p: dict) -> dict:
        return await self._send_file(p, "document")

    async def _m_sendvoice(self, p: dict) -> dict:
        return await self._send_file(p, "voice")

    async def _m_sendvideo(self, p: dict) -> dict:
        return await self._send_file(p, "video")

    async def _m_sendphoto(self, p: dict) -> dict:
        chat_id = p.get("chat_id")
        photo = p.get("photo")
        if isinstance(photo, str) and not photo.startswith("attach://") and photo:
            return await self._send_file(p, "photo")   # a photo Telegram has, by its file id
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = p.get(photo[len("attach://"):])  # the upload in its own multipart field
        if photo is None or photo == "":
            raise ApiError(400, "Bad Request: there is no photo in the request")
        data = photo.file.read() if hasattr(photo, "file") else b""
        if hasattr(photo, "file") and not data.startswith(b"\x89PNG"):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        html, text = ("", "")
        if p.get("caption"):
            html, text = self._check_text(p, "caption")
            if len(text) > 1024:
                raise ApiError(400, "Bad Request: message caption is too long")
        sent = Sent(chat_id, next(self._message_ids), html, text,
                    self._check_markup(p.get("reply_markup")), time.monotonic(), media="photo",
                    photo=data)
        self.messages.setdefault(chat_id, []).append(sent)
        self.by_id[(chat_id, sent.message_id)] = sent
        await self._notify()
        return self._message(sent)

    def _find(self, p: dict) -> Sent:
        sent = self.by_id.get((p.get("chat_id"), p.get("message_id")))
        if sent is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return sent

    async def _m_editmessagetext(self, p: dict) -> dict:
        sent = self._find(p)
        html, text = self._check_text(p)
        markup = self._check_markup(p.get("reply_markup"))
        if html == sent.html and markup == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        sent.html, sent.text, sent.reply_markup = html, text, markup
        sent.edits += 1
        await self._notify()
        return self._message(sent)

    async def _m_editmessagereplymarkup(self, p: dict) -> dict:
        sent = self._find(p)
        markup = self._check_markup(p.get("reply_markup"))
        if markup == sent.reply_markup or (not markup and not sent.buttons):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        sent.reply_markup = markup
        sent.edits += 1
        await self._notify()
        return self._message(sent)

    async def _m_getfile(self, p: dict) -> dict:
        file_id = p.get("file_id", "")
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        size = len(self.file_bodies.get(file_id, b"")) or 10
        return {"file_id": file_id, "file_unique_id": self._files[file_id]["file_unique_id"],
                "file_size": size, "file_path": self._file_path(file_id)}

    @staticmethod
    def _file_path(file_id: str) -> str:
        return f"photos/{file_id}.jpg"

    # ------------------------------------------------------------ pushing updates

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _push(self, update: dict) -> int:
        update_id = next(self._ids)
        update["update_id"] = update_id
        self.updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def _user(self, user_id: int) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": f"居民{user_id}",
                "language_code": "zh-hans"}

    def _user_message(self, user_id: int, chat_id: int | None, **content) -> dict:
        chat_id = user_id if chat_id is None else chat_id
        return {"message_id": next(self._user_message_ids), "date": int(time.time()),
                "chat": self._chat(chat_id), "from": self._user(user_id), **content}

    def user_text(self, user_id: int, text: str, *, chat_id: int | None = None,
                  reply_to: Sent | None = None) -> int:
        """A user writes ``text`` (in a group: ``chat_id``), answering ``reply_to`` if given."""
        content: dict[str, Any] = {"text": text}
        if reply_to is not None:
            content["reply_to_message"] = self._message(reply_to)
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return self._push({"message": self._user_message(user_id, chat_id, **content)})

    def user_photo(self, user_id: int, *, chat_id: int | None = None,
                   caption: str | None = None, reply_to: Sent | None = None) -> str:
        file_id = f"photo-{user_id}-{len(self._files)}"
        self._files[file_id] = {"file_unique_id": f"u{len(self._files)}"}
        sizes = [{"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90,
                  "height": 90},
                 {"file_id": file_id, "file_unique_id": self._files[file_id]["file_unique_id"],
                  "width": 1280, "height": 960, "file_size": 10}]
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        if reply_to is not None:
            extra["reply_to_message"] = self._message(reply_to)
        self._push({"message": self._user_message(user_id, chat_id, photo=sizes, **extra)})
        return file_id

    def user_document(self, user_id: int, *, name: str = "合同.pdf") -> str:
        file_id = f"doc-{user_id}-{len(self._files)}"
        self._files[file_id] = {"file_unique_id": f"d{len(self._files)}"}
        doc = {"file_id": file_id, "file_unique_id": self._files[file_id]["file_unique_id"],
               "file_name": name, "mime_type": "application/pdf"}
        self._push({"message": self._user_message(user_id, None, document=doc)})
        return file_id

    def user_contact(self, user_id: int, phone: str) -> int:
        contact = {"phone_number": phone, "first_name": f"居民{user_id}", "user_id": user_id}
        return self._push({"message": self._user_message(user_id, None, contact=contact)})

    def press(self, user_id: int, message: Sent, label: str | None = None, *,
              data: str | None = None) -> int:
        """A user presses a button on ``message`` (by label), or sends ``data`` as if it were a
        button's (a forged or stale press)."""
        if data is None:
            if label is None:
                raise ValueError("label or data")
            data = message.data_for(label)
        query = {"id": f"cq{next(self._ids)}", "from": self._user(user_id),
                 "chat_instance": f"ci{message.chat_id}", "data": data,
                 "message": self._message(message)}
        return self._push({"callback_query": query})

    # ------------------------------------------------------------ waiting

    async def wait_until(self, predicate, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for {what}")
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except TimeoutError:
                    pass

    async def wait_messages(self, chat_id: int, n: int, timeout: float = 10.0) -> list[Sent]:
        """Wait until the bot has sent at least ``n`` messages to ``chat_id``."""
        await self.wait_until(lambda: len(self.messages.get(chat_id, [])) >= n, timeout,
                              f"{n} messages to chat {chat_id} "
                              f"(got {len(self.messages.get(chat_id, []))})")
        return self.messages[chat_id]

    def sent_to(self, chat_id: int) -> list[Sent]:
        return list(self.messages.get(chat_id, []))

    def fail(self, method: str, status: int, *, times: int = 1, retry_after: int | None = None,
             chat_id: int | None = None) -> None:
        self._inject.append(Injected(method, status, times, retry_after, chat_id))

    def drop(self, method: str, *, times: int = 1, chat_id: int | None = None) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id``) have their connection reset
        before the server does anything: nothing is sent, the client gets no answer."""
        self._inject.append(Injected(method, 0, times, None, chat_id))

    def client_errors(self) -> list[tuple[str, int, str]]:
        """4xx answers other than "not modified" and injected ones: bugs in the bot."""
        return [e for e in self.errors if 400 <= e[1] < 500 and e[1] != 429
                and "not modified" not in e[2]]
