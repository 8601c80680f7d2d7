"""The numbers leaders watch, each with its n, over a period and optionally one department.

Definitions (DOMAIN.md; the period is whole Asia/Shanghai days, both ends included; a case
belongs to the department it is with now):
- 受理案件 received: cases registered in the period. ``linked``: those of them staff linked into
  another case's group (a repeat of a matter received already: counted once, the group's main
  case, when leaders choose so — ``Stats.matters``).
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

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, case, func, or_
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
    linked: int = 0          # of the received, those in another case's group (cases.matters)
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

    @property
    def matters(self) -> int:
        """The received cases with each group of linked cases counted once."""
        return self.received - self.linked

    def received_as(self, linked_once: bool) -> int:
        return self.matters if linked_once else self.received


def period(start: date | None, end: date | None, now: datetime) -> tuple[date, date]:
    end = end or local_date(now)
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


# ---------------------------------------------------------------- the numbers
#
# Counted in the database, and as ranges of indexes wherever the numbers allow: a count of an
# index range is a tight loop in the database (22,000 entries take it ~2 ms), while a row
# grouped or tested one by one costs ten to forty times that. So the cases received per
# category and week are one range count per category and week of ``ix_case_level1_created_at``
# (the categories themselves found by skipping from one to the next in that index: a few
# seeks), today's lights one range count per department and colour of
# ``ix_case_waiting_department``; the latest handling rounds are read from
# ``ix_casedeadline_latest_due`` / ``_latest_stopped`` (``superseded_at`` is kept by the
# database when a later round starts, so no round is compared with the others); the overdue
# limits are those still running (``ix_casedeadline_running``, in order of their due date) and
# those stopped only after the period (``ix_casedeadline_ended``).

def distinct_values(column, *where):
    """The distinct values of ``column`` (among the rows where ``where`` holds), as a recursive
    CTE (column ``value``, ending with one NULL) that skips from each value to the next in an
    index led by ``column``: one seek per value instead of reading every row."""
    first = select(func.min(column).label("value")).where(*where).cte(recursive=True)
    following = select(func.min(column)).where(*where, column > first.c.value)
    return first.union_all(select(following.scalar_subquery())
                           .where(first.c.value.is_not(None)))


def weeks_of(start: date, end: date) -> list[date]:
    """The Mondays of the weeks ``start``..``end`` touches."""
    week, last = week_of(start), week_of(end)
    out = []
    while week <= last:
        out.append(week)
        week += timedelta(days=7)
    return out


def week_bounds(start: date, end: date) -> list[tuple[date, datetime, datetime]]:
    """Each week of the period with the instants it covers (the first and the last week cut
    at the period's ends)."""
    weeks = weeks_of(start, end)
    cuts = [day_start(start), *[day_start(w) for w in weeks[1:]], end_of_day(end)]
    return [(week, cuts[i], cuts[i + 1]) for i, week in enumerate(weeks)]


def week_params(weeks: list[tuple[date, datetime, datetime]]) -> dict[str, datetime]:
    """The values of the ``since_<i>`` / ``until_<i>`` parameters of ``counted_by_week``."""
    return {f"{end}_{i}": at for i, (_, since, until) in enumerate(weeks)
            for end, at in (("since", since), ("until", until))}


@lru_cache(maxsize=64)
def counted_by_week(n_weeks: int, ratings: bool, of_department: bool):
    """Per distinct value (a case's first-level category, or a rating's ``overall``), its
    count in each of ``n_weeks`` weeks: one range count per value and week of an index led by
    (value, created_at). Built once per shape; the weeks (``week_params``) and the department
    (``department``) are parameters."""
    value, created = ((col(Rating.overall), col(Rating.created_at)) if ratings
                      else (col(Case.level1), col(Case.created_at)))
    department = bindparam("department")
    where = [Case.department == department] if of_department and not ratings else []
    values = distinct_values(value, *where)

    def counted(i: int):
        stmt = (select(func.count()).select_from(value.table)
                .where(value == values.c.value, created >= bindparam(f"since_{i}"),
                       created < bindparam(f"until_{i}"), *where))
        if of_department and ratings:
            stmt = stmt.join(Case, col(Case.id) == Rating.case_id).where(
                Case.department == department)
        return stmt.scalar_subquery()
    return (select(values.c.value, *[counted(i) for i in range(n_weeks)])
            .where(values.c.value.is_not(None)))


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

    # received, per category and week
    weeks = week_bounds(start, end)
    per_category: dict[str, int] = {}
    weekly: dict[date, dict[str, int]] = defaultdict(dict)
    for level1, *counts in (await session.exec(
            counted_by_week(len(weeks), False, bool(department)),
            params={**week_params(weeks), "department": department})).all():
        for (week, _, _), n in zip(weeks, counts, strict=True):
            if n:
                weekly[week][level1] = n
        if sum(counts):
            per_category[level1] = sum(counts)
    st.received = sum(per_category.values())
    # few cases are linked: found through the index of main_case_id, not by reading the period
    st.linked = (await session.exec(
        select(func.count()).select_from(Case)
        .where(col(Case.main_case_id).is_not(None), Case.created_at >= lo,
               Case.created_at < hi, *in_dep))).one()
    st.categories = sorted(per_category.items(), key=lambda item: (-item[1], item[0]))
    st.weekly = {week: weekly[week] for week, _, _ in weeks if week in weekly}

    # the latest handling round of each case (``superseded_at`` empty)
    def rounds(*columns):
        stmt = (select(*columns).select_from(CaseDeadline)
                .where(CaseDeadline.kind == "handling",
                       col(CaseDeadline.superseded_at).is_(None), *in_dep))
        return stmt.join(Case, col(Case.id) == CaseDeadline.case_id) if department else stmt

    due_n, concluded = (await session.exec(
        rounds(func.count(), func.count(CaseDeadline.stopped_at))
        .where(col(CaseDeadline.due_at) > lo, col(CaseDeadline.due_at) <= hi))).one()
    st.closure = Ratio(concluded, due_n)
    in_time = case((col(CaseDeadline.stopped_at) < col(CaseDeadline.due_at), 1), else_=0)
    done = (await session.exec(
        rounds(Rating.overall, func.count(), func.sum(in_time))
        .outerjoin(Rating, col(Rating.case_id) == CaseDeadline.case_id)
        .where(col(CaseDeadline.stopped_at) >= lo, col(CaseDeadline.stopped_at) < hi)
        .group_by(Rating.overall))).all()
    done_n = sum(n for _, n, _ in done)
    st.on_time = Ratio(sum(int(k or 0) for _, _, k in done), done_n)
    given = {overall: n for overall, n, _ in done if overall is not None}
    st.rating_rate = Ratio(sum(given.values()), done_n)
    st.satisfaction = Ratio(sum(weights.get(r, 0.0) * n for r, n in given.items()),
                            sum(given.values()))
    st.ratings = {key: given.get(key, 0) for key in lifecycle.ratings}

    # overdue: passed by ``as_of`` and neither stopped nor paused by then; those still running
    # and those stopped after ``as_of`` are two ranges of two indexes
    escalated = [k for k, w in rules.schedule.items() if w.escalate]
    passed = (col(CaseDeadline.due_at) <= as_of, col(CaseDeadline.kind).in_(escalated),
              or_(col(CaseDeadline.paused_at).is_(None), col(CaseDeadline.paused_at) > as_of),
              *in_dep)
    running = (col(CaseDeadline.stopped_at).is_(None), *passed)
    ended = (col(CaseDeadline.stopped_at) > as_of, *passed)

    def overdue(*columns):
        stmt = select(*columns).select_from(CaseDeadline)
        return stmt.join(Case, col(Case.id) == CaseDeadline.case_id) if department else stmt
    still, since = (await session.exec(select(
        overdue(func.count()).where(*running).scalar_subquery(),
        overdue(func.count()).where(*ended).scalar_subquery()))).one()
    st.overdue_n = still + since
    listed = select(Case.number, Case.department, CaseDeadline.kind, CaseDeadline.due_at).join(
        Case, col(Case.id) == CaseDeadline.case_id)
    late = []
    if still:
        late += (await session.exec(listed.where(*running).order_by(
            CaseDeadline.due_at, Case.number).limit(overdue_limit))).all()
    if since:   # few: no order asked, so that its own index is read
        late += (await session.exec(listed.where(*ended))).all()
        late.sort(key=lambda row: (row[3], row[0]))
    as_of_day = last_day_of(as_of)   # the period's last day, or today
    st.overdue = [Overdue(number, dep, kind, day, (as_of_day - day).days)
                  for number, dep, kind, due in late[:overdue_limit]
                  for day in (last_day_of(due),)]

    # today's lights: per department (the departments with waiting cases), each colour a range
    departments = distinct_values(col(Case.department), col(Case.waiting_since).is_not(None),
                                  *in_dep)

    def waiting(colour: str):
        return (select(func.count()).select_from(Case)
                .where(Case.department == departments.c.value,
                       glance.light_filter(colour, now, rules)).scalar_subquery())
    colours = ("green", "yellow", "red")
    lights: dict[str, dict[str, int]] = {}
    for dep, *counts in (await session.exec(
            select(departments.c.value, *[waiting(colour) for colour in colours])
            .where(departments.c.value.is_not(None)))).all():
        lights[dep] = {colour: n for colour, n in zip(colours, counts, strict=True) if n}
    st.lights = {dep: lights[dep] for dep in sorted(lights) if lights[dep]}
    return st


# ---------------------------------------------------------------- the ratings themselves

def week_of(day: date) -> date:
    """The Monday of ``day``'s week (weeks as in ``Stats.weekly``)."""
    return day - timedelta(days=day.weekday())


async def satisfaction_by_week(session: AsyncSession, *, start: date, end: date,
                               weights: dict[str, float],
                               department: str | None = None) -> dict[date, Ratio]:
    """满意率 per week (its Monday) of the ratings given in ``start``..``end``: of the cases
    rated that week, Σ weight × rating / n. Weeks without a rating are left out. Counted as
    ranges of ``ix_rating_overall_created_at``, one per rating and week."""
    weeks = week_bounds(start, end)
    per_week: dict[date, list[tuple[str, int]]] = defaultdict(list)
    for key, *counts in (await session.exec(
            counted_by_week(len(weeks), True, bool(department)),
            params={**week_params(weeks), "department": department})).all():
        for (week, _, _), n in zip(weeks, counts, strict=True):
            if n:
                per_week[week].append((key, n))
    return {week: Ratio(sum(weights.get(r, 0.0) * n for r, n in per_week[week]),
                        sum(n for _, n in per_week[week]))
            for week, _, _ in weeks if week in per_week}


async def aspect_averages(session: AsyncSession, *, start: date, end: date,
                          aspects: Iterable[str],
                          department: str | None = None) -> dict[str, Ratio]:
    """Each aspect's average score (``Ratio(sum, n)``, its value the average) over the ratings
    given in ``start``..``end``; ``aspects`` are columns of ``Rating`` (attitude, method …),
    n the ratings that scored that aspect."""
    names = list(aspects)
    if not names:
        return {}
    columns = [col(getattr(Rating, name)) for name in names]
    row = (await session.exec(_ratings_in(
        select(*[func.sum(c) for c in columns], *[func.count(c) for c in columns]),
        start, end, department))).one()
    return {name: Ratio(float(row[i] or 0), int(row[len(names) + i] or 0))
            for i, name in enumerate(names)}


def _ratings_in(stmt, start: date, end: date, department: str | None):
    """``stmt`` over the ratings given in ``start``..``end`` (of one department's cases)."""
    stmt = stmt.select_from(Rating).where(col(Rating.created_at) >= day_start(start),
                                          col(Rating.created_at) < end_of_day(end))
    if department:
        stmt = stmt.join(Case, col(Case.id) == Rating.case_id).where(
            Case.department == department)
    return stmt
