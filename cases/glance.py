"""A case at a glance, for citizens and staff: its traffic light and its next date. The rules
are config: lights and the statuses that have one in ``deadlines.yaml`` (``traffic_lights``),
which limits citizens see (``schedule``)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases.deadlines import (
    DeadlineRules,
    days_elapsed,
    last_day_of,
    local_date,
    start_of_day,
    traffic_light,
)
from storage.models import Case, CaseDeadline

LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2}


@dataclass(frozen=True, slots=True)
class Light:
    colour: str     # "green", "yellow" or "red"
    days: int       # days without reply


# ---------------------------------------------------------------- traffic lights

def light_of(case: Case, now: datetime, rules: DeadlineRules) -> Light | None:
    """The case's light now, counted from when it last began waiting for the offices
    (``Case.waiting_since``); None when it waits for nobody (replied, declined, closed …)."""
    if case.status not in rules.waiting:
        return None
    days = days_elapsed(case.waiting_since or case.created_at, now)
    return Light(traffic_light(days, rules), days)


def lights_of(cases: Iterable[Case], now: datetime,
              rules: DeadlineRules) -> dict[int, Light | None]:
    return {c.id: light_of(c, now, rules) for c in cases}


def _bounds(now: datetime, rules: DeadlineRules) -> tuple[datetime, datetime]:
    """Waiting since ``green_from`` or later: green (days < yellow_from); before
    ``red_before``: red (days > red_after); between: yellow."""
    today = local_date(now)
    return (start_of_day(today - timedelta(days=rules.yellow_from - 1)),
            start_of_day(today - timedelta(days=rules.red_after)))


def light_filter(colour: str, now: datetime, rules: DeadlineRules) -> ColumnElement[bool]:
    """``light_of(case) == colour`` as an SQL condition on the case table: a range of
    ``waiting_since``, which the case service sets only while a case is in a waiting status,
    so lists of any size are filtered, counted and paged by its index alone."""
    green_from, red_before = _bounds(now, rules)
    since = col(Case.waiting_since)
    bounds = {"green": since >= green_from,
              "yellow": and_(since < green_from, since >= red_before),
              "red": since < red_before}
    return bounds[colour]   # NULL (waits for nobody) is in no range


def light_column(now: datetime, rules: DeadlineRules) -> ColumnElement[str]:
    """Each waiting case's light as an SQL expression (to count lights in the database)."""
    green_from, red_before = _bounds(now, rules)
    since = col(Case.waiting_since)
    return case((since >= green_from, "green"), (since >= red_before, "yellow"), else_="red")


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
