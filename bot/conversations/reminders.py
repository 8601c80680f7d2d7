"""The scheduler's jobs (``cases.jobs``) run on a timer, and what they did told to people:
the leaders about a passed limit, the department or the citizen at a reminder, the citizen
when nothing happened for a while or when the system took a step. The front ends run
``scheduler_loop``."""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from datetime import datetime

from bot.chat import Outgoing
from bot.conversations import live, presenters
from bot.conversations.engine import Engine
from bot.conversations.flow import Scope
from bot.conversations.reception_days import tell as tell_reception
from bot.conversations.render import category_of, esc
from cases import glance, jobs, reception
from cases.jobs import Expired, Happening, Job, LimitPassed, Reminder, StillHandling
from storage import cases

log = logging.getLogger(__name__)


async def run_due(engine: Engine, now: datetime | None = None) -> list[Outgoing]:
    """Do every job due now, each in its own transaction; the messages they queued."""
    now = now or engine.clock()
    async with engine.transaction() as session:   # short; queued with the writers on SQLite
        due = await jobs.due_jobs(engine.casework, session, now)
        # leaders' reception days: citizens' reminders, the day's lists (cases/reception.py)
        due += await reception.due_jobs(session, now, engine.catalog.reception)
    out: list[Outgoing] = []
    for job in due:
        try:
            out += await run_job(engine, job, now)
        except Exception:  # one bad job must not stop the others; it is tried again next run
            log.exception("scheduler: %s job %s failed", job.kind, job.id)
    try:   # live reception: silent conversations end, the night's queue is shown at opening
        async with engine.working(now) as scope:
            await live.end_silent(scope)
            await live.announce_queue(scope)
        out += scope.out
    except Exception:
        log.exception("scheduler: live reception jobs failed")
    return out


async def run_job(engine: Engine, job: Job, now: datetime) -> list[Outgoing]:
    async with engine.working(now) as scope:
        if job.kind in reception.JOBS:
            for found in await reception.run_job(scope.session, job, now,
                                                 engine.catalog.reception):
                await tell_reception(scope, found)
        else:
            for happening in await jobs.run_job(engine.casework, scope.session, job, now):
                await tell(scope, happening)
    if scope.out:
        log.info("scheduler: %s job %s queued %s messages", job.kind, job.id, len(scope.out))
    return scope.out


async def tell(scope: Scope, happening: Happening) -> None:
    if isinstance(happening, Expired):
        await presenters.announce(scope, happening.done)
    elif isinstance(happening, LimitPassed):
        await tell_limit_passed(scope, happening)
    elif isinstance(happening, Reminder):
        await tell_reminder(scope, happening)
    elif isinstance(happening, StillHandling):
        await tell_still_handling(scope, happening)


async def describe(scope: Scope, case, row) -> dict:
    rules = scope.casework.rules
    light = glance.light_of(case, scope.now, rules)
    words = presenters.light_words(scope.texts, light)
    return dict(number=case.number, category=category_of(case),
                department=esc(scope.catalog.department_name(case.department)),
                label=rules.label(row.kind), day=glance.last_day(row),
                status=presenters.status_label(scope, case.status),
                light=f" · {words}" if words else "")


async def tell_limit_passed(scope: Scope, passed: LimitPassed) -> None:
    settings, case = scope.settings, passed.case
    chat_id = settings.leaders_chat_id or settings.staff_chat_id
    if chat_id is not None:
        scope.send(chat_id, scope.texts("leaders_overdue",
                                        **await describe(scope, case, passed.deadline)),
                   presenters.chat_buttons(scope, case, chat_id),
                   audience="leaders" if chat_id == settings.leaders_chat_id else "staff")


async def tell_reminder(scope: Scope, reminder: Reminder) -> None:
    case, row = reminder.case, reminder.deadline
    values = await describe(scope, case, row)
    if reminder.to == "handler":
        chat_id = scope.staff_chat_for(case.department)
        if chat_id is not None:
            scope.send(chat_id, scope.texts("staff_reminder", **values),
                       presenters.chat_buttons(scope, case, chat_id))
        return
    text = scope.texts.get(f"citizen_reminder_{row.kind}")
    chat_id = await cases.citizen_chat(scope.session, case=case)
    if text is None or chat_id is None:
        return
    buttons = []
    if row.kind in CITIZEN_BUTTONS:
        buttons = await CITIZEN_BUTTONS[row.kind](scope, case)
        if not buttons:
            return  # nothing left to answer (e.g. rated before, the case was sent back)
    scope.send(chat_id, text.format(**values), buttons, audience="citizen")


# What the citizen can answer a reminder about a limit with, in the same message.
CITIZEN_BUTTONS = {"rating": presenters.request_buttons}


async def tell_still_handling(scope: Scope, still: StillHandling) -> None:
    case = still.case
    chat_id = await cases.citizen_chat(scope.session, case=case)
    if chat_id is None:
        return
    words = presenters.deadline_words(scope.texts, still.next, scope.now, scope.casework.rules)
    scope.send(chat_id, scope.texts(
        "citizen_still_handling", number=case.number,
        status=presenters.status_label(scope, case.status),
        department=esc(scope.catalog.department_name(case.department)),
        next=f"{words}。" if words else ""), audience="citizen")


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
