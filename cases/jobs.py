"""The scheduler's jobs: reminders before a limit passes, escalation when it has, and news for
citizens who have heard nothing for a while. Knows no chat: each job returns what happened
(``LimitPassed``, ``Expired``, ``Reminder``, ``StillHandling``) and the conversations layer
(``bot.conversations.reminders``) tells people.

Nothing is kept in memory: every due time is in the database (``CaseDeadline.remind_at`` and
``due_at``, the case events), and what the scheduler does with each limit is the ``schedule``
table in deadlines.yaml. A job runs in its own transaction, which
  1. claims the job with a conditional update (``reminded_at`` / ``escalated_at`` set only where
     still empty; a silence notice locks the case row and checks its timeline again),
  2. has its messages queued by the caller (the outbox, on Telegram),
  3. commits both together.
A job is therefore queued exactly once: a crash before the commit leaves it unclaimed and it is
done on the next run; after the commit it is marked and never found again, across restarts, and
a second scheduler on the same database finds nothing left to claim.

Jobs:
- ``passed``: a running limit whose due time has come: ``LimitPassed`` (``escalate``: the leaders
  are told) and/or the system takes the lifecycle step ``expire`` names (``Expired``: archiving
  after the review window), through ``CaseService.act`` like any other step.
- ``remind``: a running limit at its reminder time (80 % by default): the department, or the
  citizen (an unanswered rating request). Not once the limit has passed: ``passed`` speaks then.
- ``silence``: a case waiting for the offices whose timeline has had nothing new for
  ``silence_days``: the citizen is told it is still being handled (a ``progress_notice`` event,
  which is itself news, so the next one comes ``silence_days`` later).
Paused limits (waiting for the citizen) and paused cases are left alone.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases import glance
from cases.lifecycle import Action, Role, TransitionRefused
from cases.service import CaseService, Done
from storage import cases
from storage.models import Case, CaseDeadline, CaseEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    kind: str        # "passed", "remind" or "silence"
    id: int          # a CaseDeadline id, or a Case id for "silence"


@dataclass(slots=True)
class LimitPassed:
    """A limit the scheduler escalates has passed: the leaders are to be told."""

    case: Case
    deadline: CaseDeadline


@dataclass(slots=True)
class Expired:
    """The system took the step a passed limit names (e.g. archiving)."""

    done: Done


@dataclass(slots=True)
class Reminder:
    """A limit at its reminder time; ``to`` is "handler" or "citizen"."""

    case: Case
    deadline: CaseDeadline
    to: str


@dataclass(slots=True)
class StillHandling:
    """A case nobody told the citizen about for ``silence_days``; its next date, if any."""

    case: Case
    next: CaseDeadline | None


Happening = LimitPassed | Expired | Reminder | StillHandling


# ---------------------------------------------------------------- finding what is due

def _running():
    return (col(CaseDeadline.stopped_at).is_(None), col(CaseDeadline.paused_at).is_(None))


async def due_jobs(service: CaseService, session: AsyncSession, now: datetime) -> list[Job]:
    """Everything due at ``now``, read without locks (each job checks again when it runs)."""
    r = service.rules
    passing = [k for k, w in r.schedule.items() if w.escalate or w.expire]
    cutoff = now - timedelta(days=r.silence_days)
    passed = (await session.exec(
        select(CaseDeadline.id).where(*_running(), col(CaseDeadline.escalated_at).is_(None),
                                      col(CaseDeadline.due_at) <= now,
                                      col(CaseDeadline.kind).in_(passing))
        .order_by(CaseDeadline.due_at))).all()
    remind = (await session.exec(
        select(CaseDeadline.id).where(*_running(), col(CaseDeadline.reminded_at).is_(None),
                                      col(CaseDeadline.remind_at) <= now)
        .order_by(CaseDeadline.remind_at))).all()
    quiet = (await session.exec(
        select(Case.id).join(CaseEvent, col(CaseEvent.case_id) == Case.id)
        .where(col(Case.status).in_(list(r.waiting)), col(Case.paused_since).is_(None),
               col(CaseEvent.action).in_(list(service.lifecycle.timeline)))
        .group_by(Case.id).having(func.max(CaseEvent.at) <= cutoff)
        .order_by(Case.id))).all()
    return ([Job("passed", i) for i in passed] + [Job("remind", i) for i in remind]
            + [Job("silence", i) for i in quiet])


# ---------------------------------------------------------------- running them

async def run_job(service: CaseService, session: AsyncSession, job: Job,
                  now: datetime) -> list[Happening]:
    """Do one job inside the caller's transaction: what happened (nothing if it was done)."""
    return await JOBS[job.kind](service, session, job.id, now)


async def claim(session: AsyncSession, row_id: int, now: datetime, column,
                *condition) -> CaseDeadline | None:
    """Mark the job done on the deadline row, only if nobody did yet: the row, or None."""
    result = await session.exec(
        update(CaseDeadline)
        .where(col(CaseDeadline.id) == row_id, col(column).is_(None), *_running(), *condition)
        .values({column.key: now}).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    row = await session.get(CaseDeadline, row_id)
    await session.refresh(row)
    return row


async def passed(service: CaseService, session: AsyncSession, row_id: int,
                 now: datetime) -> list[Happening]:
    row = await claim(session, row_id, now, CaseDeadline.escalated_at,
                      col(CaseDeadline.due_at) <= now)
    if row is None:
        return []
    watch = service.rules.watch(row.kind)
    case = await cases.case_by_id(session, case_id=row.case_id)
    happened: list[Happening] = []
    if watch.escalate:
        happened.append(LimitPassed(case, row))
    if watch.expire:
        try:
            happened.append(Expired(await service.act(
                session, case, Action(watch.expire), Role.SYSTEM, now=now,
                seen_version=case.version, actor="system")))
        except TransitionRefused:
            log.info("scheduler: case %s: %s not possible after %s", case.id, watch.expire,
                     row.kind)
    return happened


async def remind(service: CaseService, session: AsyncSession, row_id: int,
                 now: datetime) -> list[Happening]:
    row = await claim(session, row_id, now, CaseDeadline.reminded_at,
                      col(CaseDeadline.remind_at) <= now)
    if row is None or row.due_at <= now:
        return []      # past due: the "passed" job speaks instead
    case = await cases.case_by_id(session, case_id=row.case_id)
    return [Reminder(case, row, service.rules.watch(row.kind).remind or "handler")]


async def silence(service: CaseService, session: AsyncSession, case_id: int,
                  now: datetime) -> list[Happening]:
    r = service.rules
    case = (await session.exec(
        select(Case).where(Case.id == case_id).with_for_update())).first()
    if case is None or case.status not in r.waiting or case.paused_since is not None:
        return []
    last = (await session.exec(
        select(func.max(CaseEvent.at)).where(
            CaseEvent.case_id == case_id,
            col(CaseEvent.action).in_(list(service.lifecycle.timeline))))).one()
    if last is None or last > now - timedelta(days=r.silence_days):
        return []      # someone told the citizen something meanwhile
    service.note_event(session, case, "progress_notice", now)
    running = await cases.running_deadlines(session, case_id=case.id)
    return [StillHandling(case, glance.next_deadline(running, now, r, for_citizen=True))]


JOBS: dict[str, Callable[[CaseService, AsyncSession, int, datetime],
                         Awaitable[list[Happening]]]] = {
    "passed": passed, "remind": remind, "silence": silence}
