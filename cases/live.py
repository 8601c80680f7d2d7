"""Live reception (在线接待): a handler talking with a citizen in real time about a case.

A session is asked for by the citizen (``request``: it waits for a handler; outside working
hours it is ``queued`` and shown to staff when the office opens) or started by a handler
(``start``). One handler takes it (``take``: a conditional update, so of two handlers pressing
at once one wins). It ends when either side ends it or after ``silence_minutes`` without a
message (``silent``). Knows no chat: the conversations layer relays and tells people.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases.deadlines import SHANGHAI, WorkCalendar
from storage.models import LiveSession

REQUESTED, ACTIVE, ENDED = "requested", "active", "ended"
OPEN = (REQUESTED, ACTIVE)


@dataclass(frozen=True)
class LiveRules:
    """config/live.yaml: when the office answers, and how long a silent session lasts."""

    hours: tuple[tuple[time, time], ...]
    calendar: WorkCalendar
    silence_minutes: int = 15
    show_handler_name: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any], calendar: WorkCalendar) -> LiveRules:
        hours = []
        for span in raw.get("hours") or ("09:00-17:00",):
            start, _, end = str(span).partition("-")
            first, last = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
            if last <= first:
                raise ValueError(f"live.yaml: hours {span!r} end before they start")
            hours.append((first, last))
        return cls(tuple(sorted(hours)), calendar, int(raw.get("silence_minutes", 15)),
                   bool(raw.get("show_handler_name", False)))

    def open_at(self, now: datetime) -> bool:
        local = now.astimezone(SHANGHAI)
        return (self.calendar.is_working_day(local.date())
                and any(a <= local.time() < b for a, b in self.hours))

    def next_opening(self, now: datetime) -> datetime:
        """When the office next opens (``now`` itself when it is open)."""
        if self.open_at(now):
            return now
        local = now.astimezone(SHANGHAI)
        day: date = local.date()
        for _ in range(60):
            if self.calendar.is_working_day(day):
                for start, _end in self.hours:
                    moment = datetime.combine(day, start, tzinfo=SHANGHAI)
                    if moment > local:
                        return moment
            day += timedelta(days=1)
        return now   # a calendar with no working day for two months: say "now"

    def last_opening(self, now: datetime) -> datetime | None:
        """When the current opening began (None while the office is closed)."""
        local = now.astimezone(SHANGHAI)
        for start, end in self.hours:
            if self.open_at(now) and start <= local.time() < end:
                return datetime.combine(local.date(), start, tzinfo=SHANGHAI)
        return None


async def open_for_citizen(session: AsyncSession, chat_id: int) -> LiveSession | None:
    """The citizen's session waiting or running, if any (one at a time per citizen)."""
    return (await session.exec(
        select(LiveSession).where(LiveSession.citizen_chat_id == chat_id,
                                  col(LiveSession.status).in_(OPEN))
        .order_by(col(LiveSession.id).desc()))).first()


async def open_for_chat(session: AsyncSession, chat_id: int, user_id: int) -> list[LiveSession]:
    """The sessions a private chat is in: as the citizen (waiting or running), or as the
    handler of running ones."""
    return list((await session.exec(
        select(LiveSession).where(or_(
            (LiveSession.citizen_chat_id == chat_id) & col(LiveSession.status).in_(OPEN),
            (LiveSession.handler_id == user_id) & (LiveSession.status == ACTIVE)))
        .order_by(col(LiveSession.id)))).all())


async def active_for_handler(session: AsyncSession, user_id: int) -> list[LiveSession]:
    return list((await session.exec(
        select(LiveSession).where(LiveSession.handler_id == user_id,
                                  LiveSession.status == ACTIVE)
        .order_by(col(LiveSession.id)))).all())


async def open_for_case(session: AsyncSession, case_id: int) -> LiveSession | None:
    return (await session.exec(
        select(LiveSession).where(LiveSession.case_id == case_id,
                                  col(LiveSession.status).in_(OPEN)))).first()


async def request(session: AsyncSession, *, case_id: int | None, citizen_chat_id: int,
                  department: str, now: datetime, queued: bool) -> LiveSession:
    live = LiveSession(case_id=case_id, citizen_chat_id=citizen_chat_id, department=department,
                       status=REQUESTED, queued=queued, requested_at=now, last_activity_at=now)
    session.add(live)
    await session.flush()
    return live


async def start(session: AsyncSession, *, case_id: int, citizen_chat_id: int, department: str,
                handler_id: int, handler_chat_id: int, role: str, now: datetime) -> LiveSession:
    live = LiveSession(case_id=case_id, citizen_chat_id=citizen_chat_id, department=department,
                       status=ACTIVE, handler_id=handler_id, handler_chat_id=handler_chat_id,
                       handler_role=role, requested_at=now, started_at=now,
                       last_activity_at=now)
    session.add(live)
    await session.flush()
    return live


async def take(session: AsyncSession, live_id: int, *, handler_id: int, handler_chat_id: int,
               role: str, now: datetime) -> LiveSession | None:
    """Give a waiting session to this handler; None when someone else took it first (or it
    ended)."""
    result = await session.exec(
        update(LiveSession).where(LiveSession.id == live_id, LiveSession.status == REQUESTED)
        .values(status=ACTIVE, handler_id=handler_id, handler_chat_id=handler_chat_id,
                handler_role=role, started_at=now, last_activity_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    live = await session.get(LiveSession, live_id)
    await session.refresh(live)
    return live


async def end(session: AsyncSession, live: LiveSession, *, now: datetime, reason: str) -> bool:
    """End a waiting or running session; False when it had ended already."""
    result = await session.exec(
        update(LiveSession).where(LiveSession.id == live.id, col(LiveSession.status).in_(OPEN))
        .values(status=ENDED, ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        await session.refresh(live)
        return True
    return False


def touch(session: AsyncSession, live: LiveSession, now: datetime) -> None:
    live.last_activity_at = now
    session.add(live)


async def silent(session: AsyncSession, now: datetime, minutes: int) -> list[LiveSession]:
    """Running sessions with nothing said for ``minutes``."""
    return list((await session.exec(
        select(LiveSession).where(LiveSession.status == ACTIVE,
                                  LiveSession.last_activity_at <= now - timedelta(minutes=minutes))
        .order_by(col(LiveSession.id)))).all())


async def waiting(session: AsyncSession, department: str | None = None) -> list[LiveSession]:
    """Requests no handler has taken yet, longest waiting first."""
    query = select(LiveSession).where(LiveSession.status == REQUESTED)
    if department is not None:
        query = query.where(or_(LiveSession.department == department,
                                LiveSession.department == ""))
    return list((await session.exec(query.order_by(col(LiveSession.requested_at)))).all())


async def running(session: AsyncSession) -> list[LiveSession]:
    return list((await session.exec(select(LiveSession).where(LiveSession.status == ACTIVE)
                                    .order_by(col(LiveSession.started_at)))).all())


async def claim_announcement(session: AsyncSession, live: LiveSession, now: datetime) -> bool:
    """Mark a queued request as shown to staff at opening time (once, across restarts)."""
    result = await session.exec(
        update(LiveSession).where(LiveSession.id == live.id, LiveSession.status == REQUESTED,
                                  col(LiveSession.announced_at).is_(None))
        .values(announced_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1
