"""The scheduler: reminders before a limit passes, escalation when it has, and news for citizens
who have heard nothing for a while. Framework-free; the front ends run ``scheduler_loop``.

Nothing is kept in memory: every due time is in the database (``CaseDeadline.remind_at`` and
``due_at``, the case events), and what the scheduler does with each limit is the ``schedule``
table in config/deadlines.yaml. ``run_due`` finds the jobs due now and does each in its own
transaction, which
  1. claims the job with a conditional update (``reminded_at`` / ``escalated_at`` set only where
     still empty; a silence notice locks the case row and checks its timeline again),
  2. writes the job's messages through ``engine.on_outgoing`` (the outbox, on Telegram),
  3. commits both together.
A job is therefore queued exactly once: a crash before the commit leaves it unclaimed and it is
done on the next run; after the commit it is marked and never found again, across restarts, and
a second scheduler on the same database finds nothing left to claim.

Jobs:
- ``passed``: a running limit whose due time has come: the leaders' chat is told (``escalate``)
  and/or the system takes the lifecycle step ``expire`` names (archiving after the review
  window), through ``casework.act`` like any other step.
- ``remind``: a running limit at its reminder time (80 % by default): the department's chat, or
  the citizen (an unanswered rating request, with the rating buttons again). Not sent once the
  limit has passed: the ``passed`` job speaks then.
- ``silence``: a case waiting for the offices whose timeline has had nothing new for
  ``silence_days``: the citizen is told it is still being handled (a ``progress_notice`` event,
  which is itself news, so the next one comes ``silence_days`` later).
Paused limits (waiting for the citizen) and paused cases are left alone.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select

from bot.engine import casework, caseinfo, staff
from bot.engine.core import Context, Engine
from bot.engine.lifecycle import Action, CaseStatus, Role, TransitionRefused
from bot.engine.render import category_of, esc
from bot.engine.types import Incoming, Kind, Outgoing
from storage import cases
from storage.models import Case, CaseDeadline, CaseEvent
from storage.repo import ConversationState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    kind: str        # "passed", "remind" or "silence"
    id: int          # a CaseDeadline id, or a Case id for "silence"


def rules():
    return casework.lifecycle().rules


# ---------------------------------------------------------------- finding what is due

def _running():
    return (col(CaseDeadline.stopped_at).is_(None), col(CaseDeadline.paused_at).is_(None))


async def due_jobs(engine: Engine, now: datetime) -> list[Job]:
    """Everything due at ``now``, read without locks (each job checks again when it runs)."""
    r = rules()
    passing = [k for k, w in r.schedule.items() if w.escalate or w.expire]
    cutoff = now - timedelta(days=r.silence_days)
    async with engine.transaction() as s:   # short; queued with the writers on SQLite
        passed = (await s.exec(
            select(CaseDeadline.id).where(*_running(), col(CaseDeadline.escalated_at).is_(None),
                                          col(CaseDeadline.due_at) <= now,
                                          col(CaseDeadline.kind).in_(passing))
            .order_by(CaseDeadline.due_at))).all()
        remind = (await s.exec(
            select(CaseDeadline.id).where(*_running(), col(CaseDeadline.reminded_at).is_(None),
                                          col(CaseDeadline.remind_at) <= now)
            .order_by(CaseDeadline.remind_at))).all()
        quiet = (await s.exec(
            select(Case.id).join(CaseEvent, col(CaseEvent.case_id) == Case.id)
            .where(col(Case.status).in_(list(r.waiting)), col(Case.paused_since).is_(None),
                   col(CaseEvent.action).in_(list(casework.lifecycle().timeline)))
            .group_by(Case.id).having(func.max(CaseEvent.at) <= cutoff)
            .order_by(Case.id))).all()
    return ([Job("passed", i) for i in passed] + [Job("remind", i) for i in remind]
            + [Job("silence", i) for i in quiet])


# ---------------------------------------------------------------- running them

async def run_due(engine: Engine, now: datetime | None = None) -> list[Outgoing]:
    """Do every job due now, each in its own transaction; the messages they queued."""
    now = now or engine.clock()
    out: list[Outgoing] = []
    for job in await due_jobs(engine, now):
        try:
            out += await run_job(engine, job, now)
        except Exception:  # one bad job must not stop the others; it is tried again next run
            log.exception("scheduler: %s job %s failed", job.kind, job.id)
    return out


async def run_job(engine: Engine, job: Job, now: datetime) -> list[Outgoing]:
    async with engine.transaction() as session:
        event = Incoming(0, 0, Kind.OTHER, chat_type="system")
        ctx = Context(engine, event, session, ConversationState(0, 0), now)
        await JOBS[job.kind](ctx, job.id)
        if ctx.out and engine.on_outgoing is not None:
            await engine.on_outgoing(session, ctx.out)
    if ctx.out:
        log.info("scheduler: %s job %s queued %s messages", job.kind, job.id, len(ctx.out))
    return ctx.out


async def claim(ctx: Context, row_id: int, column, *condition) -> CaseDeadline | None:
    """Mark the job done on the deadline row, only if nobody did yet: the row, or None."""
    result = await ctx.session.exec(
        update(CaseDeadline)
        .where(col(CaseDeadline.id) == row_id, col(column).is_(None), *_running(), *condition)
        .values({column.key: ctx.now}).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    row = await ctx.session.get(CaseDeadline, row_id)
    await ctx.session.refresh(row)
    return row


async def describe(ctx: Context, case: Case, row: CaseDeadline) -> dict:
    t, r = ctx.texts, rules()
    light = (await caseinfo.lights_of(ctx.session, [case], ctx.now, r))[case.id]
    words = caseinfo.light_words(t, light)
    return dict(number=case.number, category=category_of(case),
                department=esc(ctx.engine.catalog.department_name(case.department)),
                label=r.limits[row.kind].label, day=caseinfo.last_day(row),
                status=CaseStatus(case.status).label, light=f" · {words}" if words else "")


async def passed(ctx: Context, row_id: int) -> None:
    row = await claim(ctx, row_id, CaseDeadline.escalated_at, col(CaseDeadline.due_at) <= ctx.now)
    if row is None:
        return
    watch = rules().watch(row.kind)
    case = await cases.case_by_id(ctx.session, case_id=row.case_id)
    if watch.escalate:
        settings = ctx.engine.settings
        chat_id = settings.leaders_chat_id or settings.staff_chat_id
        if chat_id is not None:
            ctx.send(chat_id, ctx.texts("leaders_overdue", **await describe(ctx, case, row)),
                     staff.action_buttons(case, staff.chat_roles(ctx, chat_id)),
                     audience="leaders" if chat_id == settings.leaders_chat_id else "staff")
    if watch.expire:
        try:
            await casework.act(ctx, case, Action(watch.expire), Role.SYSTEM,
                               seen_version=case.version, actor="system")
        except TransitionRefused:
            log.info("scheduler: case %s: %s not possible after %s", case.id, watch.expire,
                     row.kind)


async def remind(ctx: Context, row_id: int) -> None:
    row = await claim(ctx, row_id, CaseDeadline.reminded_at,
                      col(CaseDeadline.remind_at) <= ctx.now)
    if row is None or row.due_at <= ctx.now:
        return      # past due: the "passed" job speaks instead
    case = await cases.case_by_id(ctx.session, case_id=row.case_id)
    values = await describe(ctx, case, row)
    if rules().watch(row.kind).remind == "handler":
        chat_id = ctx.engine.staff_chat_for(case.department)
        if chat_id is not None:
            ctx.send(chat_id, ctx.texts("staff_reminder", **values),
                     staff.action_buttons(case, staff.chat_roles(ctx, chat_id)))
        return
    text = ctx.texts.get(f"citizen_reminder_{row.kind}")
    citizen = await cases.citizen_of(ctx.session, case=case)
    if text is None or citizen is None:
        return
    buttons = []
    if row.kind in CITIZEN_BUTTONS:
        buttons = await CITIZEN_BUTTONS[row.kind](ctx, case)
        if not buttons:
            return  # nothing left to answer (e.g. rated before, the case was sent back)
    ctx.out.append(Outgoing(chat_id=citizen.chat_id, text=text.format(**values),
                            buttons=buttons, audience="citizen"))


async def silence(ctx: Context, case_id: int) -> None:
    r = rules()
    case = (await ctx.session.exec(
        select(Case).where(Case.id == case_id).with_for_update())).first()
    if case is None or case.status not in r.waiting or case.paused_since is not None:
        return
    last = (await ctx.session.exec(
        select(func.max(CaseEvent.at)).where(
            CaseEvent.case_id == case_id,
            col(CaseEvent.action).in_(list(casework.lifecycle().timeline))))).one()
    if last is None or last > ctx.now - timedelta(days=r.silence_days):
        return      # someone told the citizen something meanwhile
    cases.add_event(ctx.session, case_id=case.id, at=ctx.now, actor="system", role="system",
                    action="progress_notice", from_status=case.status, to_status=case.status,
                    note="告知信访人仍在办理中")
    citizen = await cases.citizen_of(ctx.session, case=case)
    if citizen is None:
        return
    running = await cases.running_deadlines(ctx.session, case_id=case.id)
    nxt = caseinfo.next_deadline(running, ctx.now, r, for_citizen=True)
    words = caseinfo.deadline_words(ctx.texts, nxt, ctx.now, r)
    ctx.out.append(Outgoing(
        chat_id=citizen.chat_id, audience="citizen",
        text=ctx.texts("citizen_still_handling", number=case.number,
                       status=CaseStatus(case.status).label,
                       department=esc(ctx.engine.catalog.department_name(case.department)),
                       next=f"{words}。" if words else "")))


async def _rating_buttons(ctx: Context, case: Case):
    from bot.engine import rating

    return await rating.request_buttons(ctx, case)


JOBS: dict[str, Callable[[Context, int], Awaitable[None]]] = {
    "passed": passed, "remind": remind, "silence": silence}
CITIZEN_BUTTONS = {"rating": _rating_buttons}


# ---------------------------------------------------------------- the loop the front ends run

async def scheduler_loop(engine: Engine, interval: float = 60.0, *,
                         deliver: Callable[[list[Outgoing]], object] | None = None) -> None:
    """Run the due jobs every ``interval`` seconds until cancelled. With an outbox
    (``engine.on_outgoing``) the messages are already queued; ``deliver`` (optional, sync or
    async) gets them too, e.g. the console prints them."""
    while True:
        try:
            out = await run_due(engine)
            if out and deliver is not None:
                result = deliver(out)
                if inspect.isawaitable(result):
                    await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler: run failed")
        await asyncio.sleep(interval)
