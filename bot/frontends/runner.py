"""What both Telegram front ends share: receiving without loss, handling in order per chat,
and handing the results to the delivery worker.

Receiving. Each ``getUpdates`` batch (or webhook request) is written to the inbox in one
transaction before it is confirmed: with long polling the next call's offset is the
confirmation, so the offset only moves on after the commit; a webhook request is answered 200
only after the commit. An update Telegram hands out again is ignored by its ``update_id``.

Handling. The updates of a batch are handled in the very transaction that stores them, oldest
first: ``Engine.handle_many`` for the batch, its outbox rows (``on_outgoing``) and the inbox rows
written as done, all committed together (one write transaction per batch instead of two per
update). If anything in it fails, nothing of it is kept and the batch goes the careful way:
stored as pending, then each update handled on its own through ``Engine.handle`` in one
transaction that also writes the outbox rows and marks the inbox row done (if the row was no
longer pending, that transaction is rolled back), so one bad update costs only itself. That
way (per-chat queues, different chats concurrently, at most ``handle_concurrency`` at once) is
also taken by updates stored but not handled before a stop, by a chat that still has updates
queued (its order is kept) and by text arriving while the classifier warms up (which must not
hold the write lock meanwhile). Either way an update is handled at most once, and — since
pending rows are taken up again at start — at least once.

Group chats: button presses, commands addressed to us and text reach the engine (which serves
citizens in private chats only and, in groups, staff buttons, commands and the answers staff
type to its questions or send to a citizen); other attachments in groups are dropped here.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections import deque
from urllib.parse import urlsplit

from aiohttp import web

from bot.app import App
from bot.chat import Incoming, Kind, Outgoing
from bot.conversations.reminders import scheduler_loop
from bot.notify.api import BotApi, Received, RetryAfter, TelegramError, Translated
from bot.notify.delivery import Delivery, Limits
from bot.notify.messages import remove_buttons_payload, to_payload
from bot.notify.outbox_hook import collect_outbox, write_payloads
from config.settings import Settings
from storage import inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _unbutton(event: Incoming, answer: list[Outgoing]) -> list[tuple[int, str, dict]]:
    """A pressed button's message loses its buttons, unless the answer edits it anyway."""
    if (event.kind == Kind.BUTTON and event.chat_type == "private"
            and event.message_id is not None
            and not any(m.chat_id == event.chat_id and m.edit_message_id == event.message_id
                        for m in answer)):
        return [(event.chat_id, "citizen", remove_buttons_payload(event.message_id))]
    return []


class AlreadyHandled(Exception):
    """The inbox row was not pending any more: undo this second handling."""


def limits_from(settings: Settings) -> Limits:
    return Limits(per_second=settings.send_per_second,
                  private_per_second=settings.send_private_per_second,
                  private_burst=settings.send_private_burst,
                  group_per_minute=settings.send_group_per_minute)


class Runner:
    def __init__(self, app: App, api: BotApi, *, delivery: Delivery | None = None):
        self.app = app
        self.api = api
        self.settings = app.settings
        self.sessions = app.engine.sessions
        self.write_gate = app.engine.write_gate     # SQLite has one writer: share its gate
        self.delivery = delivery or Delivery(api, self.sessions,
                                             limits=limits_from(app.settings),
                                             write_gate=self.write_gate)
        self.username = ""
        self._queues: dict[int, deque[tuple[int, Incoming, str | None]]] = {}
        self._workers: dict[int, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(max(1, app.settings.handle_concurrency))

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        self.username = await self.api.start()
        texts = self.app.engine.catalog.texts
        await self.api.set_commands(list(texts.bot_commands.items()))
        await self.delivery.start()
        # Reminders, escalations and notices: due times live in the database, the messages go
        # to the outbox in the job's own transaction; waking delivery sends them at once.
        self._spawn(scheduler_loop(self.app.engine, self.app.settings.scheduler_interval,
                                   deliver=lambda _out: self.delivery.wake()))
        await self._resume()

    async def stop(self) -> None:
        workers = [*self._workers.values(), *self._tasks]
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await self.delivery.stop()
        await self.api.close()

    async def _resume(self) -> None:
        """Updates stored but not handled before a stop or crash."""
        async with self.write_gate, self.sessions() as session:
            rows = await inbox.pending_updates(session, limit=100_000)
        if rows:
            log.warning("resuming %s stored updates", len(rows))
        for row in rows:
            self._submit(row.update_id, self._relevant(self.api.translate(row.payload)))

    # ------------------------------------------------------------ receiving

    async def poll(self) -> None:
        """Long polling until cancelled."""
        await self.api.delete_webhook()
        offset: int | None = None
        delay = 0.5
        while True:
            try:
                batch = await self.api.get_updates(offset, self.settings.poll_timeout)
            except RetryAfter as exc:
                await asyncio.sleep(exc.seconds)
                continue
            except (TelegramError, OSError, TimeoutError) as exc:
                log.warning("getUpdates failed (%s); again in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 0.5
            if batch:
                await self.receive(batch)      # raises: offset stays, the batch comes again
                offset = batch[-1].update_id + 1

    async def receive(self, batch: list[Received]) -> None:
        """Store a batch in one transaction and handle what can be handled in it; hand the
        rest to the per-chat queues. Returns once the batch is committed (then it may be
        confirmed)."""
        relevant = {r.update_id: self._relevant(r.translated) for r in batch}
        idle = {uid for uid, tr in relevant.items() if tr.event is None}
        rows = [(r.update_id, tr.event.chat_id if tr.event else None, r.payload)
                for r in batch for tr in (relevant[r.update_id],)]
        now = self._handle_now(batch, relevant)
        if now:
            try:
                new = await self._store_and_handle(rows, idle, now, relevant)
            except Exception:  # noqa: BLE001 (nothing of it was kept; one by one instead)
                log.exception("handling a batch of %s updates failed; one by one", len(now))
            else:
                for r in batch:
                    if r.update_id not in new:
                        continue
                    tr = relevant[r.update_id]
                    if r.update_id in now:
                        if tr.callback_query_id:
                            self._spawn(self._answer(tr.callback_query_id))
                    else:
                        self._submit(r.update_id, tr)
                return
        async with self.write_gate, self.sessions() as session, session.begin():
            new = await inbox.add_updates(session, updates=rows, done=idle)
        for r in batch:
            if r.update_id in new:
                self._submit(r.update_id, relevant[r.update_id])

    def _handle_now(self, batch: list[Received], relevant: dict[int, Translated]) -> set[int]:
        """The updates to handle in the storing transaction: not those of a chat with updates
        still queued (and, to keep the order, none after one that waits), nor text while the
        classifier is not loaded yet."""
        waiting = set(self._queues)
        ready = self.app.engine.classifier.ready
        now: set[int] = set()
        for r in batch:
            ev = relevant[r.update_id].event
            if ev is None:
                continue
            if ev.chat_id in waiting or (ev.kind == Kind.TEXT and not ready):
                waiting.add(ev.chat_id)
            else:
                now.add(r.update_id)
        return now

    async def _store_and_handle(self, rows: list[tuple[int, int | None, dict]], idle: set[int],
                                now: set[int], relevant: dict[int, Translated]) -> set[int]:
        engine = self.app.engine
        chats = {relevant[uid].event.chat_id for uid in now}
        with collect_outbox() as written:
            async with engine.transaction(chats=chats) as session:
                new = await inbox.add_updates(session, updates=rows, done=idle | now)
                events = [relevant[uid].event for uid, _, _ in rows if uid in now and uid in new]
                answers = await engine.handle_many(session, events)
                await write_payloads(session, [
                    item for event, out in zip(events, answers, strict=True)
                    for item in _unbutton(event, out)])
            self.delivery.enqueue(written)
        return new

    def webhook_app(self, secret: str) -> web.Application:
        path = urlsplit(self.settings.webhook_url or "").path or "/"

        async def on_update(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=403, text="forbidden")
            try:
                payload = await request.json()
                update_id = int(payload["update_id"])
            except (ValueError, KeyError, TypeError):
                return web.Response(status=400, text="bad update")
            await self.receive([Received(update_id, payload, self.api.translate(payload))])
            return web.Response(text="ok")

        web_app = web.Application()
        web_app.router.add_post(path, on_update)
        return web_app

    async def serve_webhook(self) -> None:
        """Webhook mode until cancelled: set the webhook, listen on ``webhook_listen``."""
        secret = self.settings.webhook_secret or secrets.token_urlsafe(32)
        host, _, port = self.settings.webhook_listen.rpartition(":")
        web_runner = web.AppRunner(self.webhook_app(secret))
        await web_runner.setup()
        site = web.TCPSite(web_runner, host or "0.0.0.0", int(port))
        await site.start()
        try:
            await self.api.set_webhook(self.settings.webhook_url, secret)
            await asyncio.Event().wait()
        finally:
            await web_runner.cleanup()

    def _relevant(self, translated: Translated) -> Translated:
        """Drop what the engine need not see: in groups, media that answers none of the bot's
        messages (a handler's photo for a citizen answers one) and other bots' commands."""
        ev = translated.event
        if ev is None or ev.chat_type == "private":
            return translated
        if ev.kind in (Kind.BUTTON, Kind.TEXT):   # text: a staff member answering the bot
            return translated
        if ev.kind in (Kind.ATTACHMENT, Kind.OTHER) and ev.reply_to_text:
            return translated
        if ev.kind == Kind.COMMAND:
            head = ev.text.split(maxsplit=1)[0]
            _, at, name = head.partition("@")
            if not at or name.lower() == self.username.lower():
                return translated
        return Translated(None, translated.callback_query_id)

    # ------------------------------------------------------------ handling

    def _submit(self, update_id: int, translated: Translated) -> None:
        ev = translated.event
        if ev is None:
            if translated.callback_query_id:
                self._spawn(self._answer(translated.callback_query_id))
            return
        self._queues.setdefault(ev.chat_id, deque()).append(
            (update_id, ev, translated.callback_query_id))
        if ev.chat_id not in self._workers:
            self._workers[ev.chat_id] = asyncio.create_task(self._chat_worker(ev.chat_id))

    async def _chat_worker(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue:
                update_id, event, callback_id = queue[0]
                async with self._slots:
                    await self._handle(update_id, event)
                queue.popleft()
                if callback_id:
                    self._spawn(self._answer(callback_id))
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]
            if not queue:
                self._queues.pop(chat_id, None)

    async def _handle(self, update_id: int, event: Incoming) -> None:
        with collect_outbox() as rows:
            async def finish(session, answer: list[Outgoing]) -> None:
                if not await inbox.mark_done(session, update_id=update_id):
                    raise AlreadyHandled(update_id)
                await write_payloads(session, _unbutton(event, answer))

            try:
                await self.app.engine.handle(event, in_transaction=finish)
            except AlreadyHandled:
                rows.clear()
            except Exception as exc:  # noqa: BLE001 (one bad update must not stop the chat)
                rows.clear()
                log.exception("update %s failed", update_id)
                await self._fail(update_id, event, f"{type(exc).__name__}: {exc}")
            self.delivery.enqueue(rows)

    async def _fail(self, update_id: int, event: Incoming, error: str) -> None:
        async with self.write_gate, self.sessions() as session, session.begin():
            await inbox.mark_failed(session, update_id=update_id, error=error)
            if event.chat_type == "private":
                sorry = Outgoing(event.chat_id, self.app.engine.catalog.texts.sorry)
                await write_payloads(session, [(event.chat_id, "citizen", to_payload(sorry))])

    async def _answer(self, callback_query_id: str) -> None:
        try:
            await self.api.answer_callback(callback_query_id)
        except (TelegramError, OSError, TimeoutError) as exc:
            log.info("answerCallbackQuery failed: %s", exc)  # the spinner stops by itself

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until nothing is being handled or sent (tests, benches)."""
        async def wait() -> None:
            while self._workers or self.delivery._inflight:
                if self._workers:
                    await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
                await self.delivery.drain(timeout)
        await asyncio.wait_for(wait(), timeout)
