"""The delivery worker: sends outbox rows in order per chat, within Telegram's limits.

- Order: one task per chat sends that chat's rows oldest first; chats go concurrently.
- Limits (``Limits``): ≈30 messages/s overall, ≈1/s per private chat (short bursts allowed),
  20/min per group. A 429 is waited out for its ``retry_after``; network errors and 5xx are
  retried with exponential back-off (the attempt and next time are stored, so a restart goes
  on where it stopped); other 4xx mark the row failed.
- Sent once: a row becomes "sent" together with Telegram's message id. Results are committed
  by one marker task that takes whatever results are waiting and commits them together (a group
  commit, no added delay), so the time between Telegram's answer and the commit stays at about
  one commit. A crash inside that window sends that message again on restart: Telegram has no
  idempotency key, so this is the only kind of duplicate left, and we prefer it to losing a
  message (the other choice, marking before sending, would lose it).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.notify.api import BotApi, Permanent, RetryAfter, TelegramError, Transient
from bot.notify.messages import Call, plan
from storage import outbox
from storage.models import utcnow
from storage.outbox import Queued

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    """Sending rates; 0 switches a limit off (tests, a local Bot API server)."""

    per_second: float = 30.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0


@dataclass(slots=True)
class Job:
    id: int
    chat_id: int
    payload: dict
    attempts: int = 0
    parts_sent: int = 0
    not_before: float = 0.0          # time.monotonic() before which it is not tried


@dataclass(slots=True)
class _ChatLimiter:
    limiter: AsyncLimiter
    last_used: float = field(default_factory=time.monotonic)


Mark = Callable[[AsyncSession], Awaitable[None]]


class Delivery:
    def __init__(self, api: BotApi, sessions: async_sessionmaker[AsyncSession], *,
                 limits: Limits = Limits(), max_attempts: int = 8, base_delay: float = 1.0,
                 max_delay: float = 600.0, scan_every: float = 5.0,
                 write_gate: contextlib.AbstractAsyncContextManager | None = None):
        self.api = api
        # SQLite: the engine's gate, so our commits queue with its transactions instead of
        # spinning on the database file's lock.
        self.write_gate = write_gate or contextlib.nullcontext()
        self.sessions = sessions
        self.limits = limits
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.scan_every = scan_every
        # Overall: bursts of a tenth of a second's worth, not a whole second's: at the limit a
        # full burst meets Telegram's window with no slack, and network jitter turns into 429s
        # (bench/outbox_bench.py saw them); kept small, Telegram's own burst allowance absorbs
        # the jitter, and the little one left here covers the timer's lag (still 30/s).
        burst = max(1.0, limits.per_second / 10)
        self._global = (AsyncLimiter(burst, burst / limits.per_second) if limits.per_second
                        else None)
        self._chat_limiters: dict[int, _ChatLimiter] = {}
        self._queues: dict[int, deque[Job]] = {}
        self._workers: dict[int, asyncio.Task] = {}
        self._inflight: set[int] = set()        # queued or being sent, not yet committed final
        self._finished_in_scan: set[int] | None = None
        self._marks: asyncio.Queue[tuple[Mark | _Sent, int | None]] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.sent_count = 0

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._marker(), name="outbox-marker"),
                       asyncio.create_task(self._scanner(), name="outbox-scanner")]

    async def stop(self) -> None:
        for task in [*self._workers.values(), *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._workers.values(), *self._tasks, return_exceptions=True)
        self._workers.clear()
        self._tasks = []
        await self._flush_marks()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until everything queued is sent and committed (for tests and shutdown)."""
        await asyncio.wait_for(self._wait_idle(), timeout)

    async def _wait_idle(self) -> None:
        while self._inflight:
            self._idle.clear()
            await self._idle.wait()

    # ------------------------------------------------------------ intake

    def enqueue(self, rows: list[Queued]) -> None:
        """Rows just committed by the caller's transaction."""
        for row in rows:
            self._add(Job(row.id, row.chat_id, row.payload))

    def wake(self) -> None:
        """Look into the table now (rows written by someone else)."""
        self._wake.set()

    def _add(self, job: Job) -> None:
        if job.id in self._inflight:
            return
        self._inflight.add(job.id)
        self._idle.clear()
        self._queues.setdefault(job.chat_id, deque()).append(job)
        if job.chat_id not in self._workers:
            self._workers[job.chat_id] = asyncio.create_task(self._chat_worker(job.chat_id))

    async def _scanner(self) -> None:
        while True:
            try:
                await self._scan()
            except Exception:  # noqa: BLE001 (the worker must survive a database hiccup)
                log.exception("outbox scan failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.scan_every)
            except TimeoutError:
                pass
            self._wake.clear()
            self._prune_limiters()

    async def _scan(self) -> None:
        self._finished_in_scan = set()
        try:
            async with self.write_gate, self.sessions() as session:
                rows = await outbox.due_messages(session, exclude=set(self._inflight))
            skip = self._inflight | self._finished_in_scan
        finally:
            self._finished_in_scan = None
        now_wall, now_mono = utcnow(), time.monotonic()
        for row in rows:
            if row.id in skip:
                continue
            wait = (row.next_attempt_at.replace(tzinfo=now_wall.tzinfo) - now_wall).total_seconds()
            self._add(Job(row.id, row.chat_id, row.payload, row.attempts, row.parts_sent,
                          not_before=now_mono + max(0.0, wait)))

    # ------------------------------------------------------------ sending

    async def _chat_worker(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue:
                job = queue[0]
                try:
                    await self._deliver(job)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 (a bug must not stop the chat)
                    log.exception("delivery of outbox row %s failed", job.id)
                    self._mark(job.id, _failed(job, f"{type(exc).__name__}: {exc}"))
                queue.popleft()
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]
            if not queue:
                self._queues.pop(chat_id, None)

    async def _deliver(self, job: Job) -> None:
        calls = plan(job.payload)
        message_id: int | None = None
        while job.parts_sent < len(calls):
            delay = job.not_before - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            call = calls[job.parts_sent]
            try:
                await self._limit(job.chat_id)
                message_id = await self._call(job.chat_id, call) or message_id
            except RetryAfter as exc:
                job.attempts += 1
                job.not_before = time.monotonic() + exc.seconds
                log.warning("429 for chat %s: retry after %ss", job.chat_id, exc.seconds)
                if job.attempts >= self.max_attempts * 3:
                    self._mark(job.id, _failed(job, str(exc)))
                    return
                continue
            except Permanent as exc:
                if call.op in ("edit", "markup") and (exc.not_modified or call.op == "markup"):
                    pass  # already as we want it, or the message is gone: nothing to do
                else:
                    log.error("Telegram refused outbox row %s: %s", job.id, exc)
                    self._mark(job.id, _failed(job, str(exc)))
                    return
            except (Transient, TelegramError, TimeoutError, OSError) as exc:
                job.attempts += 1
                if job.attempts >= self.max_attempts:
                    log.error("giving up on outbox row %s after %s attempts: %s",
                              job.id, job.attempts, exc)
                    self._mark(job.id, _failed(job, str(exc)))
                    return
                wait = min(self.max_delay, self.base_delay * 2 ** (job.attempts - 1))
                wait *= random.uniform(0.8, 1.2)
                job.not_before = time.monotonic() + wait
                self._mark(None, _retry(job, wait, str(exc)))
                continue
            job.parts_sent += 1
            if job.parts_sent < len(calls):
                self._mark(None, _progress(job))
        self._mark(job.id, _sent(job, message_id))
        self.sent_count += 1

    async def _call(self, chat_id: int, call: Call) -> int | None:
        if call.op == "send":
            return await self.api.send_message(chat_id, call.text, buttons=call.buttons,
                                               keyboard=call.keyboard)
        if call.op == "photo":
            return await self.api.send_photo(chat_id, call.photo, call.text, buttons=call.buttons)
        if call.op == "file":
            return await self.api.send_file(chat_id, call.media, call.file_id, call.text,
                                            buttons=call.buttons)
        if call.op == "edit":
            await self.api.edit_message_text(chat_id, call.message_id, call.text,
                                             buttons=call.buttons)
            return call.message_id
        await self.api.edit_reply_markup(chat_id, call.message_id, call.buttons)
        return None

    async def _limit(self, chat_id: int) -> None:
        entry = self._chat_limiters.get(chat_id)
        if entry is None:
            lim = self.limits
            if chat_id > 0 and lim.private_per_second:
                burst = max(1, lim.private_burst)
                # 5 % slower than the limit: sent right at it, the network's jitter alone
                # makes Telegram see two messages closer than a second now and then (a 429)
                limiter = AsyncLimiter(burst, burst / lim.private_per_second * 1.05)
            elif chat_id < 0 and lim.group_per_minute:
                limiter = AsyncLimiter(lim.group_per_minute, 60)
            else:
                limiter = None
            entry = self._chat_limiters[chat_id] = _ChatLimiter(limiter) if limiter else None
        # The overall limit first, the chat's last, right before the call: a wait for the
        # overall limit between the two would let the chat's messages bunch up past its limit.
        if self._global is not None:
            await self._global.acquire()
        if entry is not None:
            entry.last_used = time.monotonic()
            await entry.limiter.acquire()

    def _prune_limiters(self) -> None:
        old = time.monotonic() - 120
        for chat_id in [c for c, e in self._chat_limiters.items()
                        if e is None or (e.last_used < old and c not in self._workers)]:
            del self._chat_limiters[chat_id]

    # ------------------------------------------------------------ marking (group commit)

    def _mark(self, finished_id: int | None, mark: Mark | _Sent) -> None:
        self._marks.put_nowait((mark, finished_id))

    async def _marker(self) -> None:
        while True:
            first = await self._marks.get()
            batch = [first]
            while not self._marks.empty():
                batch.append(self._marks.get_nowait())
            await self._commit(batch)

    async def _flush_marks(self) -> None:
        batch = []
        while not self._marks.empty():
            batch.append(self._marks.get_nowait())
        if batch:
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[Mark | _Sent, int | None]]) -> None:
        delay = 0.05
        while True:
            try:
                async with self.write_gate, self.sessions() as session, session.begin():
                    sent = []
                    for mark, _ in batch:
                        if isinstance(mark, _Sent):
                            sent.append((mark.row_id, mark.telegram_message_id,
                                         mark.parts_sent))
                        else:
                            await mark(session)
                    # a row's "sent" is its last mark: all of them last, in one statement
                    await outbox.mark_sent_many(session, sent=sent)
                break
            except Exception:  # noqa: BLE001 (retried: losing a mark means a resend)
                log.exception("committing %s outbox results failed; retrying", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        for _, finished in batch:
            if finished is not None:
                self._inflight.discard(finished)
                if self._finished_in_scan is not None:
                    self._finished_in_scan.add(finished)
        if not self._inflight:
            self._idle.set()


@dataclass(frozen=True, slots=True)
class _Sent:
    """A row delivered: ``_commit`` writes all of them in one statement, after the others."""

    row_id: int
    telegram_message_id: int | None
    parts_sent: int


def _sent(job: Job, telegram_message_id: int | None) -> _Sent:
    return _Sent(job.id, telegram_message_id, job.parts_sent)


def _progress(job: Job) -> Mark:
    parts = job.parts_sent

    async def mark(session: AsyncSession) -> None:
        await outbox.mark_progress(session, row_id=job.id, parts_sent=parts)
    return mark


def _retry(job: Job, wait: float, error: str) -> Mark:
    attempts, at = job.attempts, utcnow() + timedelta(seconds=wait)

    async def mark(session: AsyncSession) -> None:
        await outbox.mark_retry(session, row_id=job.id, attempts=attempts,
                                next_attempt_at=at, error=error)
    return mark


def _failed(job: Job, error: str) -> Mark:
    attempts = job.attempts

    async def mark(session: AsyncSession) -> None:
        await outbox.mark_failed(session, row_id=job.id, attempts=attempts, error=error)
    return mark
