"""The worklist's filters as one SQL query, paged in the database (fast with 100,000 cases):
department, status, traffic light, category, flag, date range and a search box (case number,
words of the complaint, the phone's last digits). Shared by the worklist and the exports."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query
from sqlalchemy import String, cast, func
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases import glance
from cases.deadlines import DeadlineRules, start_of_day
from storage.models import Case
from web.deps import Staff, current_staff

WAITING = "waiting"    # status filter: the cases waiting for the offices (the default)
OPEN = "open"          # every status but the final one
FINAL = "closed"
_NUMBER = re.compile(r"HY[\d-]+", re.I)
_DIGITS = re.compile(r"\d{4}")


@dataclass
class Filters:
    department: str = ""
    status: str = WAITING
    light: str = ""
    category: str = ""
    flag: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""

    def query_string(self, **change) -> str:
        values = {**asdict(self), **change}
        return urlencode({k: v for k, v in values.items()   # status "" (all) is kept
                          if k == "status" or v not in ("", None)})


def day(value: str) -> date | None:
    """A date typed in a filter (YYYY-MM-DD); an empty or unreadable one filters nothing."""
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def asked_filters(who: Annotated[Staff, Depends(current_staff)], department: str = "",
                  status: str = WAITING, light: str = "", category: str = "", flag: str = "",
                  since: str = "", until: str = "",
                  q: Annotated[str, Query(max_length=100)] = "") -> Filters:
    """The filters of a request (worklist, exports) as a browser sends the form, empty fields
    included; a handler asking for another department's cases is refused."""
    if department and who.departments is not None and department not in who.departments:
        raise HTTPException(status_code=403)
    return Filters(department, status, light, category, flag, day(since), day(until), q)


FiltersDep = Annotated[Filters, Depends(asked_filters)]


def conditions(f: Filters, staff: Staff, rules: DeadlineRules, now: datetime) -> list:
    where = []
    if staff.departments is not None:
        where.append(col(Case.department).in_(list(staff.departments)))
    if f.department:
        where.append(col(Case.department) == f.department)
    if f.status == WAITING:
        where.append(col(Case.waiting_since).is_not(None))
    elif f.status == OPEN:
        where.append(col(Case.status) != FINAL)
    elif f.status:
        where.append(col(Case.status) == f.status)
    if f.light in glance.LIGHT_ORDER:
        where.append(glance.light_filter(f.light, now, rules))
    if f.category:
        where.append(col(Case.level1) == f.category)
    if f.flag:
        where.append(cast(col(Case.flags), String).like(f'%"{_like(f.flag)}"%', escape="\\"))
    if f.since:
        where.append(col(Case.created_at) >= start_of_day(f.since))
    if f.until:
        where.append(col(Case.created_at) < start_of_day(f.until + timedelta(days=1)))
    q = f.q.strip()
    if q:
        if _NUMBER.fullmatch(q):
            where.append(col(Case.number).like(f"{_like(q.upper())}%", escape="\\"))
        elif _DIGITS.fullmatch(q):
            where.append(col(Case.phone).like(f"%{q}", escape="\\"))
        else:
            where.append(col(Case.description).like(f"%{_like(q)}%", escape="\\"))
    return where


# What a list row shows; the rest of a case (its text, answers …) is read when opened.
LISTED = (defer(Case.description), defer(Case.answers), defer(Case.evidence))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def ordering(f: Filters):
    """Waiting cases the longest waiting (reddest) first; any other list the newest first."""
    if f.status == WAITING:
        return (col(Case.waiting_since), col(Case.id))
    return (col(Case.id).desc(),)


async def find(session: AsyncSession, f: Filters, staff: Staff, rules: DeadlineRules,
               now: datetime, *, page: int = 1, size: int = 50) -> tuple[list[Case], int]:
    """One page of the matching cases, and how many match in all."""
    where = conditions(f, staff, rules, now)
    total = (await session.exec(select(func.count()).select_from(Case).where(*where))).one()
    stmt = (select(Case).where(*where).order_by(*ordering(f))
            .options(*LISTED).offset(max(0, page - 1) * size).limit(size))
    return list((await session.exec(stmt)).all()), int(total)


async def all_matching(session: AsyncSession, f: Filters, staff: Staff, rules: DeadlineRules,
                       now: datetime, limit: int = 100_000) -> list[Case]:
    stmt = select(Case).where(*conditions(f, staff, rules, now)).order_by(*ordering(f))
    return list((await session.exec(stmt.limit(limit))).all())
