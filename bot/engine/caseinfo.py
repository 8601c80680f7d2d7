"""A case at a glance, for citizens and staff: its traffic light, its next date, and its
timeline in plain words. The rules are config: lights and the statuses that have one in
``config/deadlines.yaml`` (``traffic_lights``), which limits citizens see (``schedule``), the
citizen's words for each event in ``config/lifecycle.yaml`` (``timeline``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine.deadlines import DeadlineRules, days_elapsed, local_date, traffic_light
from bot.engine.lifecycle import Lifecycle, default_lifecycle
from bot.engine.render import esc, shorten
from storage.models import Case, CaseDeadline, CaseEvent

LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2}


@dataclass(frozen=True, slots=True)
class Light:
    colour: str     # "green", "yellow" or "red"
    days: int       # days without reply


def table() -> Lifecycle:
    return default_lifecycle()


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
                    rules: DeadlineRules | None = None) -> dict[int, Light | None]:
    rules = rules or table().rules
    since = await waiting_since(session, [c.id for c in cases if c.status in rules.waiting],
                                rules)
    return {c.id: light_of(c, since.get(c.id), now, rules) for c in cases}


def light_words(t, light: Light | None) -> str:
    if light is None:
        return ""
    return t("light", mark=t[f"light_{light.colour}"], days=light.days)


# ---------------------------------------------------------------- the next date

def last_day(row: CaseDeadline) -> str:
    """The last day on which the step is on time (``due_at`` is the midnight after it)."""
    return local_date(row.due_at - timedelta(seconds=1)).isoformat()


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


def deadline_words(t, row: CaseDeadline | None, now: datetime, rules: DeadlineRules) -> str:
    if row is None:
        return ""
    label = rules.limits[row.kind].label if row.kind in rules.limits else row.kind
    if row.paused_at is not None:
        return t("next_paused", label=label)
    key = "next_overdue" if row.due_at <= now else "next_date"
    return t(key, label=label, day=last_day(row))


async def running_of(session: AsyncSession, case_ids: Iterable[int]) -> dict[int, list]:
    ids = list(case_ids)
    found: dict[int, list[CaseDeadline]] = {i: [] for i in ids}
    if ids:
        stmt = select(CaseDeadline).where(col(CaseDeadline.case_id).in_(ids),
                                          col(CaseDeadline.stopped_at).is_(None))
        for row in (await session.exec(stmt)).all():
            found[row.case_id].append(row)
    return found


# ---------------------------------------------------------------- the citizen's timeline

class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def shown_to_citizen(action: str) -> bool:
    return action in table().timeline


def event_words(event: CaseEvent) -> str | None:
    """The event as the citizen reads it (HTML-escaped), or None when it is staff-only."""
    lifecycle = table()
    words = lifecycle.timeline.get(event.action)
    if words is None:
        return None
    values = _Blank()
    for key, value in (event.fields or {}).items():
        if key == "outcome" and value in lifecycle.outcomes:
            value = lifecycle.outcomes[value].label
        elif key == "rating" and value in lifecycle.ratings:
            value = lifecycle.ratings[value].label
        values[key] = esc(shorten(str(value), 300))
    return words.format_map(values)
