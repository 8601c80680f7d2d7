"""Cases about one matter: the subjects a case names, the groups staff link, early warnings.

- **Subjects** (``CaseSubject``): the employer, project, estate, merchant, school … a case's
  answers name, kept as core + trade (华建 + 劳务, read by ``nlp.similar``) so that 华建劳务有限公司,
  华建劳务公司 and 华建 are one subject and 华建建筑 another (``same_subject``).
- **Groups**: staff link a case to another; a group has one main case (``Case.main_case_id`` of
  the others points to it). Linking, unlinking and choosing the main case are events on the case.
- **Early warnings**: per rule of ``config/warnings.yaml``, the cases naming one subject within a
  rolling window; crossing the rule's threshold raises a warning once (``SubjectWarning``), again
  only when the count grows, or when the last one is older than the window.

Knows no chat, text or detector: subjects arrive already read.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import cases
from storage.models import Case, CaseSubject, SubjectWarning

FINAL = "closed"


@dataclass(frozen=True, slots=True)
class Subject:
    """A subject named in one answer of a case."""

    kind: str      # the question's type: org, estate, project
    field: str     # the question's key
    value: str     # as said
    core: str
    trade: str = ""


@dataclass(frozen=True, slots=True)
class WarningRule:
    """One line of ``config/warnings.yaml``."""

    name: str
    label: str                 # what the subject is, in words: 欠薪主体, 工地项目 …
    category: str              # a category path prefix: 劳动和社会保障/工资福利
    kinds: tuple[str, ...]     # the subject kinds counted: org, project, estate
    window_days: int
    threshold: int

    def covers(self, category: str, kind: str) -> bool:
        return kind in self.kinds and (category + "/").startswith(self.category.rstrip("/") + "/")

    @classmethod
    def parse(cls, raw: Mapping) -> WarningRule:
        rule = cls(name=str(raw["name"]), label=str(raw["label"]),
                   category=str(raw.get("category") or ""),
                   kinds=tuple(str(k) for k in raw.get("kinds") or ()),
                   window_days=int(raw["window_days"]), threshold=int(raw["threshold"]))
        if rule.threshold < 2 or rule.window_days < 1 or not rule.kinds:
            raise ValueError(f"warnings.yaml: rule {rule.name!r} needs kinds, a window of at "
                             "least a day and a threshold of at least 2")
        return rule


@dataclass(frozen=True, slots=True)
class Raised:
    """A warning to send: the rule, the subject as first named, the cases counted."""

    rule: WarningRule
    subject: Subject
    case_ids: tuple[int, ...]
    grew_from: int             # the count last raised at (0: the first time)


def category_of(case: Case) -> str:
    return "/".join(p for p in (case.level1, case.level2, case.level3) if p)


def same_subject(a_core: str, a_trade: str, b_core: str, b_trade: str) -> bool:
    """Two subjects as read by ``nlp.similar`` (core + trade) are one."""
    return a_core == b_core and same_trade(a_trade, b_trade)


def same_trade(a: str, b: str) -> bool:
    """Two trades of one core fit: equal, either unsaid, or one the other's start."""
    return not a or not b or a.startswith(b) or b.startswith(a)


def _same_trade(trade: str):
    """SQL: a stored subject's trade fits ``trade`` (equal, either unsaid, one the other's start)."""
    stored = col(CaseSubject.trade)
    if not trade:
        return literal(True)
    return or_(stored == "", stored == trade, stored.startswith(trade),
               literal(trade).startswith(stored))


def record_subjects(session: AsyncSession, case: Case, subjects: Iterable[Subject]) -> None:
    category = category_of(case)
    for s in subjects:
        session.add(CaseSubject(case_id=case.id, kind=s.kind, field=s.field, value=s.value[:200],
                                core=s.core[:64], trade=s.trade[:16], category=category,
                                created_at=case.created_at))


async def subject_case_ids(session: AsyncSession, subject: Subject, *,
                           since: datetime | None = None, kinds: Iterable[str] | None = None,
                           category: str = "", open_only: bool = False,
                           exclude: int | None = None, limit: int = 200) -> list[int]:
    """The cases naming ``subject`` (oldest first): filed since ``since``, with a subject of
    ``kinds`` in a category under ``category``, not closed when ``open_only``."""
    query = (select(CaseSubject.case_id).distinct()
             .where(CaseSubject.core == subject.core, _same_trade(subject.trade)))
    if since is not None:
        query = query.where(CaseSubject.created_at >= since)
    if kinds is not None:
        query = query.where(col(CaseSubject.kind).in_(list(kinds)))
    if category:
        prefix = category.rstrip("/")
        query = query.where(or_(CaseSubject.category == prefix,
                                col(CaseSubject.category).startswith(prefix + "/")))
    if open_only:
        query = query.join(Case, col(Case.id) == CaseSubject.case_id).where(Case.status != FINAL)
    if exclude is not None:
        query = query.where(CaseSubject.case_id != exclude)
    rows = (await session.exec(query.order_by(CaseSubject.case_id).limit(limit))).all()
    return list(rows)


async def subjects_of(session: AsyncSession, case_id: int) -> list[CaseSubject]:
    return list((await session.exec(select(CaseSubject).where(CaseSubject.case_id == case_id)
                                    .order_by(CaseSubject.id))).all())


async def open_cases(session: AsyncSession, ids: Iterable[int]) -> list[Case]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = (await session.exec(select(Case).where(col(Case.id).in_(ids),
                                                   Case.status != FINAL))).all()
    order = {case_id: i for i, case_id in enumerate(ids)}
    return sorted(found, key=lambda c: order[c.id])


# ---------------------------------------------------------------- groups

def main_id(case: Case) -> int:
    return case.main_case_id or case.id


async def group_of(session: AsyncSession, case: Case) -> list[Case]:
    """The case's group, main case first (just the case when it is alone)."""
    main = main_id(case)
    rows = (await session.exec(select(Case).where(or_(Case.id == main,
                                                      Case.main_case_id == main))
                               .order_by(col(Case.id)))).all()
    return sorted(rows, key=lambda c: (c.id != main, c.id)) or [case]


def _event(session: AsyncSession, case: Case, action: str, now: datetime, actor: str,
           fields: dict) -> None:
    cases.add_event(session, case_id=case.id, at=now, actor=actor, role=None, action=action,
                    from_status=case.status, to_status=case.status, note="", fields=fields)


async def link(session: AsyncSession, case: Case, to: Case, *, now: datetime,
               actor: str) -> Case | None:
    """Put ``case`` (with the group it heads, if any) into ``to``'s group; returns the group's
    main case, or None when they are one group already."""
    if main_id(case) == main_id(to):
        return None
    target = main_id(to)
    old = main_id(case)
    await session.exec(update(Case).where(or_(Case.id == old, Case.main_case_id == old))
                       .values(main_case_id=target))
    main = await cases.case_by_id(session, case_id=target)
    for member in (case, to):
        await session.refresh(member)
    _event(session, case, "linked", now, actor, {"main": main.number})
    _event(session, main, "linked", now, actor, {"main": main.number, "case": case.number})
    return main


async def unlink(session: AsyncSession, case: Case, *, now: datetime, actor: str) -> bool:
    """Take ``case`` out of its group (a main case hands its place to the oldest other one).
    False when it was alone."""
    group = await group_of(session, case)
    if len(group) < 2:
        return False
    main = group[0]
    if case.id == main.id:
        heir = group[1]
        await session.exec(update(Case).where(Case.main_case_id == main.id, Case.id != heir.id)
                           .values(main_case_id=heir.id))
        await session.exec(update(Case).where(Case.id == heir.id).values(main_case_id=None))
    await session.exec(update(Case).where(Case.id == case.id).values(main_case_id=None))
    await session.refresh(case)
    _event(session, case, "unlinked", now, actor, {"main": main.number})
    return True


async def make_main(session: AsyncSession, case: Case, *, now: datetime, actor: str) -> bool:
    """Make ``case`` its group's main case. False when it is the main case (or alone)."""
    old = case.main_case_id
    if old is None:
        return False
    await session.exec(update(Case).where(or_(Case.id == old, Case.main_case_id == old))
                       .values(main_case_id=case.id))
    await session.exec(update(Case).where(Case.id == case.id).values(main_case_id=None))
    await session.refresh(case)
    _event(session, case, "made_main", now, actor, {})
    return True


# ---------------------------------------------------------------- early warnings

async def check_warnings(session: AsyncSession, rules: Iterable[WarningRule], case: Case,
                         subjects: Iterable[Subject], now: datetime) -> list[Raised]:
    """After ``case`` was filed: the warnings its subjects raise (each written down in the
    caller's transaction, so a restart or another process does not raise it again)."""
    raised: list[Raised] = []
    category = category_of(case)
    seen: set[tuple[str, str]] = set()
    for subject in subjects:
        for rule in rules:
            if not rule.covers(category, subject.kind) or (rule.name, subject.core) in seen:
                continue
            seen.add((rule.name, subject.core))
            ids = await subject_case_ids(session, subject, kinds=rule.kinds, category=rule.category,
                                         since=now - timedelta(days=rule.window_days))
            if len(ids) < rule.threshold:
                continue
            before = await _claim(session, rule, subject, len(ids), now)
            if before is not None:
                raised.append(Raised(rule, subject, tuple(ids), before))
    return raised


async def _claim(session: AsyncSession, rule: WarningRule, subject: Subject, count: int,
                 now: datetime) -> int | None:
    """Write the warning down; the count it was last raised at (0: never), or None when it was
    raised at this count already (within the window)."""
    rows = (await session.exec(select(SubjectWarning).where(
        SubjectWarning.rule == rule.name, SubjectWarning.core == subject.core))).all()
    row = next((r for r in rows if same_trade(r.trade, subject.trade)), None)
    if row is None:
        try:
            async with session.begin_nested():
                session.add(SubjectWarning(rule=rule.name, core=subject.core,
                                           trade=subject.trade, count=count, raised_at=now))
        except IntegrityError:   # another process raised it at this moment
            return None
        return 0
    stale = row.raised_at.replace(tzinfo=now.tzinfo) < now - timedelta(days=rule.window_days)
    if count <= row.count and not stale:
        return None
    before = row.count
    result = await session.exec(update(SubjectWarning)
                                .where(SubjectWarning.id == row.id,
                                       SubjectWarning.count == before)
                                .values(count=count, raised_at=now))
    return (0 if stale else before) if result.rowcount == 1 else None


@dataclass(frozen=True, slots=True)
class SubjectTrend:
    core: str
    value: str         # as first named
    now: int           # cases in the window
    before: int        # cases in the window before it


async def subject_trends(session: AsyncSession, rule: WarningRule, now: datetime, *,
                         least: int = 2, limit: int = 20) -> list[SubjectTrend]:
    """The subjects named in at least ``least`` cases under ``rule`` in its window, most first,
    with the count of the window before (is it growing?)."""
    window = timedelta(days=rule.window_days)
    start, previous = now - window, now - 2 * window
    prefix = rule.category.rstrip("/")
    in_rule = (col(CaseSubject.kind).in_(list(rule.kinds)),
               or_(literal(prefix == ""), CaseSubject.category == prefix,
                   col(CaseSubject.category).startswith(prefix + "/")))
    recent = func.count(func.distinct(CaseSubject.case_id)).filter(
        CaseSubject.created_at >= start)
    earlier = func.count(func.distinct(CaseSubject.case_id)).filter(
        CaseSubject.created_at < start)
    rows = (await session.exec(
        select(CaseSubject.core, CaseSubject.trade, func.min(CaseSubject.value), recent, earlier)
        .where(*in_rule, CaseSubject.created_at >= previous)
        .group_by(CaseSubject.core, CaseSubject.trade))).all()
    merged: dict[tuple[str, str], list] = {}
    for core, trade, value, n, m in sorted(rows, key=lambda r: (r[0], -len(r[1]))):
        # a subject said without its trade (华建) joins the one trade said with it (华建劳务)
        home = [k for k in merged if k[0] == core and same_trade(k[1], trade)]
        key = home[0] if len(home) == 1 else (core, trade)
        totals = merged.setdefault(key, [value, 0, 0])
        totals[1] += n
        totals[2] += m
    trends = [SubjectTrend(core, value, n, m) for (core, _trade), (value, n, m) in merged.items()
              if n >= least]
    return sorted(trends, key=lambda t: (-t.now, t.core))[:limit]


async def weekly_counts(session: AsyncSession, rule: WarningRule, cores: list[str],
                        start: datetime) -> list[tuple[str, datetime]]:
    """(core, filed at) of the cases naming these subjects since ``start``: for a weekly chart."""
    if not cores:
        return []
    prefix = rule.category.rstrip("/")
    rows = (await session.exec(
        select(CaseSubject.core, CaseSubject.created_at)
        .where(col(CaseSubject.core).in_(cores), col(CaseSubject.kind).in_(list(rule.kinds)),
               CaseSubject.created_at >= start,
               or_(literal(prefix == ""), CaseSubject.category == prefix,
                   col(CaseSubject.category).startswith(prefix + "/"))))).all()
    return list(rows)
