"""The numbers leaders watch, each with its n, over a period and optionally one department.

Definitions (DOMAIN.md; the period is whole Asia/Shanghai days, both ends included; a case
belongs to the department it is with now):
- 受理案件 received: cases registered in the period.
- 办结率 closure rate: of the accepted cases whose handling limit (its latest round, after any
  send-back) ends in the period, those concluded (replied) by now.
- 按期办结率 on-time rate: of the cases concluded in the period, those concluded before their
  handling limit (extensions and paused days included) ran out.
- 满意率 satisfaction rate: of those concluded in the period and rated, Σ weight × rating / n,
  weights in rating.yaml (满意 1, 基本满意 0.9, 不满意 0).
- 参评率 rating rate: of the cases concluded in the period, those rated.
- 类别分布 share by category: the received cases by first-level category.
- 超期 overdue: limits the scheduler escalates (``schedule`` with ``escalate``) that had passed
  and were still running at the end of the period (or now, if earlier), paused ones excepted.
Also the cases received per week by category, and today's traffic lights per department, for
the chart. The numbers only: ``bot.conversations.report`` words and draws them.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases import glance
from cases.deadlines import SHANGHAI, end_of_day, last_day_of, local_date
from cases.lifecycle import Lifecycle
from storage.models import Case, CaseDeadline, Rating

DEFAULT_DAYS = 30



@dataclass(frozen=True, slots=True)
class Ratio:
    part: float
    n: int

    @property
    def value(self) -> float | None:
        return self.part / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class Overdue:
    number: str
    department: str
    kind: str
    last_day: date
    days_over: int


@dataclass
class Stats:
    start: date
    end: date
    department: str | None
    received: int = 0
    closure: Ratio = Ratio(0, 0)
    on_time: Ratio = Ratio(0, 0)
    satisfaction: Ratio = Ratio(0, 0)
    rating_rate: Ratio = Ratio(0, 0)
    ratings: dict[str, int] = field(default_factory=dict)
    categories: list[tuple[str, int]] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)   # the longest overdue first
    overdue_n: int = 0                                      # all of them (the list may stop)
    weekly: dict[date, dict[str, int]] = field(default_factory=dict)
    lights: dict[str, dict[str, int]] = field(default_factory=dict)


def period(start: date | None, end: date | None, now: datetime) -> tuple[date, date]:
    end = end or local_date(now)
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


# ---------------------------------------------------------------- the numbers

async def compute(session: AsyncSession, *, start: date, end: date, now: datetime,
                  lifecycle: Lifecycle, weights: dict[str, float],
                  department: str | None = None, overdue_limit: int | None = None) -> Stats:
    """The numbers for ``start``..``end``; ``weights``: each rating's weight in 满意率;
    ``overdue_limit``: list at most that many overdue limits (all are counted)."""
    rules = lifecycle.rules
    lo, hi = day_start(start), end_of_day(end)
    as_of = min(now, hi)
    in_dep = [Case.department == department] if department else []
    st = Stats(start, end, department)

    received = (await session.exec(
        select(Case.level1, Case.created_at)
        .where(col(Case.created_at) >= lo, col(Case.created_at) < hi, *in_dep))).all()
    st.received = len(received)
    st.categories = Counter(level1 for level1, _ in received).most_common()
    weekly: dict[date, Counter] = defaultdict(Counter)
    for level1, at in received:
        day = local_date(at)
        weekly[day - timedelta(days=day.weekday())][level1] += 1
    st.weekly = {week: dict(weekly[week]) for week in sorted(weekly)}

    # the latest handling round of each case (no later round of the same case), found from
    # the period's side so that only the period's rows are read
    later = aliased(CaseDeadline)
    newer_round = (select(later.id).where(later.case_id == CaseDeadline.case_id,
                                          later.kind == "handling", later.id > CaseDeadline.id)
                   .exists())
    def rounds(*columns):
        return (select(*columns).select_from(CaseDeadline)
                .join(Case, col(Case.id) == CaseDeadline.case_id)
                .outerjoin(Rating, col(Rating.case_id) == CaseDeadline.case_id)
                .where(CaseDeadline.kind == "handling", ~newer_round, *in_dep))

    # counted in the database: the period's rows may be tens of thousands
    due_n, concluded = (await session.exec(
        rounds(func.count(), func.count(CaseDeadline.stopped_at))
        .where(col(CaseDeadline.due_at) > lo, col(CaseDeadline.due_at) <= hi))).one()
    st.closure = Ratio(concluded, due_n)
    in_time = case((col(CaseDeadline.stopped_at) < col(CaseDeadline.due_at), 1), else_=0)
    done = (await session.exec(
        rounds(Rating.overall, func.count(), func.sum(in_time))
        .where(col(CaseDeadline.stopped_at) >= lo, col(CaseDeadline.stopped_at) < hi)
        .group_by(Rating.overall))).all()
    done_n = sum(n for _, n, _ in done)
    st.on_time = Ratio(sum(int(k or 0) for _, _, k in done), done_n)
    given = {overall: n for overall, n, _ in done if overall is not None}
    st.rating_rate = Ratio(sum(given.values()), done_n)
    st.satisfaction = Ratio(sum(weights.get(r, 0.0) * n for r, n in given.items()),
                            sum(given.values()))
    st.ratings = {key: given.get(key, 0) for key in lifecycle.ratings}

    escalated = [k for k, w in rules.schedule.items() if w.escalate]
    passed = (col(CaseDeadline.kind).in_(escalated), col(CaseDeadline.due_at) <= as_of,
              or_(col(CaseDeadline.stopped_at).is_(None), col(CaseDeadline.stopped_at) > as_of),
              or_(col(CaseDeadline.paused_at).is_(None), col(CaseDeadline.paused_at) > as_of),
              *in_dep)
    counted = select(func.count()).select_from(CaseDeadline)
    if department:
        counted = counted.join(Case, col(Case.id) == CaseDeadline.case_id)
    st.overdue_n = (await session.exec(counted.where(*passed))).one()
    late = (await session.exec(
        select(Case.number, Case.department, CaseDeadline.kind, CaseDeadline.due_at)
        .join(Case, col(Case.id) == CaseDeadline.case_id).where(*passed)
        .order_by(CaseDeadline.due_at, Case.number).limit(overdue_limit))).all()
    as_of_day = last_day_of(as_of)   # the period's last day, or today
    st.overdue = [Overdue(number, dep, kind, last_day_of(due), (as_of_day - last_day_of(due)).days)
                  for number, dep, kind, due in late]

    colour = glance.light_column(now, rules)
    per_dep: dict[str, dict[str, int]] = defaultdict(dict)
    for dep, light, n in (await session.exec(
            select(Case.department, colour, func.count())
            .where(col(Case.waiting_since).is_not(None), *in_dep)
            .group_by(Case.department, colour))).all():
        per_dep[dep][light] = n
    st.lights = {dep: per_dep[dep] for dep in sorted(per_dep)}
    return st


# ---------------------------------------------------------------- the ratings themselves

def week_of(day: date) -> date:
    """The Monday of ``day``'s week (weeks as in ``Stats.weekly``)."""
    return day - timedelta(days=day.weekday())


async def satisfaction_by_week(session: AsyncSession, *, start: date, end: date,
                               weights: dict[str, float],
                               department: str | None = None) -> dict[date, Ratio]:
    """满意率 per week (its Monday) of the ratings given in ``start``..``end``: of the cases
    rated that week, Σ weight × rating / n. Weeks without a rating are left out."""
    in_dep = [Case.department == department] if department else []
    rows = (await session.exec(
        select(Rating.overall, Rating.created_at)
        .join(Case, col(Case.id) == Rating.case_id)
        .where(col(Rating.created_at) >= day_start(start),
               col(Rating.created_at) < end_of_day(end), *in_dep))).all()
    weeks: dict[date, list[str]] = defaultdict(list)
    for overall, at in rows:
        weeks[week_of(local_date(at))].append(overall)
    return {week: Ratio(sum(weights.get(r, 0.0) for r in weeks[week]), len(weeks[week]))
            for week in sorted(weeks)}


async def aspect_averages(session: AsyncSession, *, start: date, end: date,
                          aspects: Iterable[str],
                          department: str | None = None) -> dict[str, Ratio]:
    """Each aspect's average score (``Ratio(sum, n)``, its value the average) over the ratings
    given in ``start``..``end``; ``aspects`` are columns of ``Rating`` (attitude, method …),
    n the ratings that scored that aspect."""
    names = list(aspects)
    if not names:
        return {}
    in_dep = [Case.department == department] if department else []
    columns = [col(getattr(Rating, name)) for name in names]
    row = (await session.exec(
        select(*[func.sum(c) for c in columns], *[func.count(c) for c in columns])
        .join(Case, col(Case.id) == Rating.case_id)
        .where(col(Rating.created_at) >= day_start(start),
               col(Rating.created_at) < end_of_day(end), *in_dep))).one()
    return {name: Ratio(float(row[i] or 0), int(row[len(names) + i] or 0))
            for i, name in enumerate(names)}
