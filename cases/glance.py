"""A case at a glance, for citizens and staff: its traffic light and its next date. The rules
are config: lights and the statuses that have one in ``deadlines.yaml`` (``traffic_lights``),
which limits citizens see (``schedule``)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases.deadlines import DeadlineRules, days_elapsed, last_day_of, traffic_light
from storage.models import Case, CaseDeadline, CaseEvent

LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2}


@dataclass(frozen=True, slots=True)
class Light:
    colour: str     # "green", "yellow" or "red"
    days: int       # days without reply


# ---------------------------------------------------------------- traffic lights

async def waiting_since(session: AsyncSession, case_ids: Iterable[int],
                        rules: DeadlineRules) -> dict[int, datetime]:
    """When each case last began waiting for the offices: the newest event that moved it into
    a waiting status from outside them (its registration, a send-back, a review request)."""
    ids, waiting = list(case_ids), list(rules.waiting)
    if not ids:
        return {}
    stmt = (select(CaseEvent.case_id, func.max(CaseEvent.at))
            .where(col(CaseEvent.case_id).in_(ids), col(CaseEvent.to_status).in_(waiting),
                   or_(col(CaseEvent.from_status).is_(None),
                       col(CaseEvent.from_status).not_in(waiting)))
            .group_by(CaseEvent.case_id))
    return {case_id: at for case_id, at in (await session.exec(stmt)).all()}


def light_of(case: Case, since: datetime | None, now: datetime,
             rules: DeadlineRules) -> Light | None:
    """The case's light now; None when it waits for nobody (replied, declined, closed …)."""
    if case.status not in rules.waiting:
        return None
    days = days_elapsed(since or case.created_at, now)
    return Light(traffic_light(days, rules), days)


async def lights_of(session: AsyncSession, cases: list[Case], now: datetime,
                    rules: DeadlineRules) -> dict[int, Light | None]:
    since = await waiting_since(session, [c.id for c in cases if c.status in rules.waiting],
                                rules)
    return {c.id: light_of(c, since.get(c.id), now, rules) for c in cases}


# ---------------------------------------------------------------- the next date

def last_day(row: CaseDeadline) -> str:
    """The last day on which the step is on time (``due_at`` is the midnight after it)."""
    return last_day_of(row.due_at).isoformat()


def next_deadline(rows: list[CaseDeadline], now: datetime, rules: DeadlineRules, *,
                  for_citizen: bool) -> CaseDeadline | None:
    """The running limit that comes next. Citizens see the limits marked ``citizen`` (a window
    of theirs that has passed is no longer shown); staff see those the scheduler watches."""
    def shown(row: CaseDeadline) -> bool:
        watch = rules.watch(row.kind)
        if row.stopped_at is not None:
            return False
        if for_citizen:
            return watch.citizen and (row.due_at > now or watch.escalate
                                      or row.paused_at is not None)
        return watch.remind is not None or watch.escalate

    candidates = [r for r in rows if shown(r)]
    return min(candidates, key=lambda r: r.due_at, default=None)


async def running_of(session: AsyncSession, case_ids: Iterable[int]) -> dict[int, list]:
    ids = list(case_ids)
    found: dict[int, list[CaseDeadline]] = {i: [] for i in ids}
    if ids:
        stmt = select(CaseDeadline).where(col(CaseDeadline.case_id).in_(ids),
                                          col(CaseDeadline.stopped_at).is_(None))
        for row in (await session.exec(stmt)).all():
            found[row.case_id].append(row)
    return found
