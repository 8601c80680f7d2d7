"""Statutory time limits of a case: working days, holidays, pauses, reminders, traffic lights.

Pure functions over dates; the clock is always passed in. Day boundaries are those of
Asia/Shanghai. Limits and thresholds live in ``deadlines.yaml``, the holiday calendar in
``holidays.yaml`` (both under the configured folder, read by ``config.catalog.Catalog``).

Counting (see deadlines.yaml): the start day is not counted; a limit of N days started on day S
ends at the end of day S+N (calendar basis) or of the N-th working day after S (working basis).
A ``Deadline.due`` is the first instant past the limit: midnight after its last day.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

CALENDAR = "calendar"
WORKING = "working"

_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:\.\.\s*(\d{4}-\d{2}-\d{2}))?\s*$")


# --- the work calendar -----------------------------------------------------------------------

class WorkCalendar:
    """Which days are working days: Monday–Friday, minus public holidays, plus 调休 make-up days."""

    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = (),
                 years: Iterable[int] = ()):
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"days both holiday and workday: {sorted(both)}")
        self.years = frozenset(years) | {d.year for d in self.holidays | self.workdays}

    @classmethod
    def parse(cls, raw: dict, path: object = "holidays") -> WorkCalendar:
        """The calendar from the parsed ``holidays.yaml``; ``path`` names it in errors."""
        holidays: list[date] = []
        workdays: list[date] = []
        for year, entry in raw.items():
            year = int(year)
            entry = entry or {}
            days_off = [d for item in entry.get("holidays") or [] for d in _parse_days(item)]
            days_on = [d for item in entry.get("workdays") or [] for d in _parse_days(item)]
            for d in days_off + days_on:
                if d.year != year:
                    raise ValueError(f"{path}: {d} listed under {year}")
            for d in days_on:
                if d.weekday() < 5:
                    raise ValueError(f"{path}: make-up workday {d} is not a Saturday or Sunday")
            holidays += days_off
            workdays += days_on
        return cls(holidays, workdays, years=(int(y) for y in raw))

    def covers(self, day: date) -> bool:
        """Whether the holiday data includes ``day``'s year (else only weekends are known)."""
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def _parse_days(item: object) -> list[date]:
    if isinstance(item, date):
        return [item]
    match = _RANGE.match(str(item))
    if not match:
        raise ValueError(f"not a date or 'YYYY-MM-DD .. YYYY-MM-DD' range: {item!r}")
    first = date.fromisoformat(match.group(1))
    last = date.fromisoformat(match.group(2) or match.group(1))
    if last < first:
        raise ValueError(f"range ends before it starts: {item!r}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- day arithmetic --------------------------------------------------------------------------

def local_date(moment: datetime) -> date:
    """The Asia/Shanghai date of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (any zone)")
    return moment.astimezone(SHANGHAI).date()


def last_day_of(due: datetime) -> date:
    """The last day on which a step is on time: ``due`` is the first instant past it."""
    return local_date(due - timedelta(seconds=1))


def start_of_day(day: date) -> datetime:
    """Midnight before ``day`` in Asia/Shanghai."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def end_of_day(day: date) -> datetime:
    """Midnight after ``day`` in Asia/Shanghai: the first instant past it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def add_calendar_days(start: date, days: int) -> date:
    return start + timedelta(days=days)


def add_working_days(start: date, days: int, calendar: WorkCalendar) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    for _ in range(days):
        day = calendar.next_working_day(day + timedelta(days=1))
    return day


def working_days_between(first: date, last: date, calendar: WorkCalendar) -> int:
    """Working days in (first, last]: after ``first``, up to and including ``last``."""
    return sum(calendar.is_working_day(first + timedelta(days=i))
               for i in range(1, (last - first).days + 1))


# --- limits and deadlines --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Limit:
    kind: str
    days: int
    basis: str          # CALENDAR or WORKING
    label: str
    law: str = ""


@dataclass(frozen=True, slots=True)
class Watch:
    """What the scheduler does with one kind of limit (``schedule`` in deadlines.yaml)."""

    kind: str
    remind: str | None = None          # "handler" or "citizen"
    remind_after_days: int | None = None
    escalate: bool = False
    expire: str | None = None          # a lifecycle action the system takes when it passes
    citizen: bool = False              # shown to the citizen as the next date


@dataclass(frozen=True, slots=True)
class DeadlineRules:
    limits: Mapping[str, Limit]
    roll_to_working_day: bool = True
    reminder_fraction: float = 0.8
    yellow_from: int = 15
    red_after: int = 45
    waiting: tuple[str, ...] = ()               # statuses that have a traffic light
    schedule: Mapping[str, Watch] = field(default_factory=dict)
    silence_days: int = 7
    calendar: WorkCalendar = field(default_factory=WorkCalendar)

    def watch(self, kind: str) -> Watch:
        return self.schedule.get(kind) or Watch(kind)

    def remind_time(self, kind: str, start: datetime, due: datetime) -> datetime | None:
        """When the scheduler reminds about a limit started at ``start``; None: never."""
        watch = self.watch(kind)
        if watch.remind is None:
            return None
        if watch.remind_after_days is not None:
            return start + timedelta(days=watch.remind_after_days)
        return reminder_at(start, due, self.reminder_fraction)

    def label(self, kind: str) -> str:
        """A limit's name as people read it (the kind itself for one no longer configured)."""
        return self.limits[kind].label if kind in self.limits else kind

    def limit(self, kind: str) -> Limit:
        try:
            return self.limits[kind]
        except KeyError:
            known = sorted(self.limits)
            raise KeyError(f"unknown deadline kind {kind!r}; known: {known}") from None


def parse_rules(raw: dict, calendar: WorkCalendar, path: object = "deadlines") -> DeadlineRules:
    """The limits and the scheduler's table from the parsed ``deadlines.yaml``, counted on
    ``calendar``; ``path`` names the file in errors."""
    limits = {}
    for kind, row in (raw.get("limits") or {}).items():
        basis = row.get("basis", CALENDAR)
        if basis not in (CALENDAR, WORKING):
            raise ValueError(f"{path}: limit {kind}: basis must be calendar or working")
        days = int(row["days"])
        if days <= 0:
            raise ValueError(f"{path}: limit {kind}: days must be positive")
        limits[kind] = Limit(kind, days, basis, row.get("label", kind), row.get("law", ""))
    lights = raw.get("traffic_lights") or {}
    schedule = {}
    for kind, row in (raw.get("schedule") or {}).items():
        if kind not in limits:
            raise ValueError(f"{path}: schedule: unknown limit {kind!r}")
        unknown = set(row) - {"remind", "remind_after_days", "escalate", "expire", "citizen"}
        if unknown or row.get("remind") not in (None, "handler", "citizen"):
            raise ValueError(f"{path}: schedule: {kind}: bad keys or remind value")
        after = row.get("remind_after_days")
        schedule[kind] = Watch(kind, row.get("remind"), int(after) if after is not None else None,
                               bool(row.get("escalate")), row.get("expire"),
                               bool(row.get("citizen")))
    rules = DeadlineRules(
        limits=limits,
        roll_to_working_day=bool(raw.get("roll_to_working_day", True)),
        reminder_fraction=float(raw.get("reminder_fraction", 0.8)),
        yellow_from=int(lights.get("yellow_from", 15)),
        red_after=int(lights.get("red_after", 45)),
        waiting=tuple(lights.get("waiting") or ()),
        schedule=schedule,
        silence_days=int(raw.get("silence_days", 7)),
        calendar=calendar,
    )
    if not 0 < rules.reminder_fraction < 1:
        raise ValueError(f"{path}: reminder_fraction must be between 0 and 1")
    if not 0 < rules.yellow_from <= rules.red_after:
        raise ValueError(f"{path}: traffic_lights need 0 < yellow_from <= red_after")
    return rules


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str
    start: datetime
    last_day: date      # the last day on which the step is still on time
    due: datetime       # the first instant past the limit (midnight after last_day, Shanghai)
    basis: str
    days: int           # the limit counted, extension and paused days included


def deadline_for(kind: str, start: datetime, *, rules: DeadlineRules,
                 paused_days: int = 0, extension_days: int = 0) -> Deadline:
    """When the limit ``kind`` started at ``start`` runs out.

    ``paused_days`` are days of the limit's own basis that did not count (see ``paused_days``);
    ``extension_days`` an approved extension (calendar days, added to a calendar limit).
    """
    calendar = rules.calendar
    limit = rules.limit(kind)
    if paused_days < 0 or extension_days < 0:
        raise ValueError("paused_days and extension_days must not be negative")
    cap = rules.limits.get("extension")
    if extension_days and cap and extension_days > cap.days:
        raise ValueError(f"extension of {extension_days} days exceeds {cap.days}")
    days = limit.days + paused_days + extension_days
    first = local_date(start)
    if limit.basis == WORKING:
        last = add_working_days(first, days, calendar)
    else:
        last = add_calendar_days(first, days)
        if rules.roll_to_working_day:
            last = calendar.next_working_day(last)
    return Deadline(kind, start, last, end_of_day(last), limit.basis, days)


def paused_days(paused_at: datetime, resumed_at: datetime, basis: str = CALENDAR,
                calendar: WorkCalendar | None = None) -> int:
    """Days a pause takes out of a limit: the days after the pause began, up to and including
    the day it ended (so a pause begun and ended on the same day takes nothing). On a working
    basis only working days count."""
    first, last = local_date(paused_at), local_date(resumed_at)
    if last < first:
        raise ValueError("a pause cannot end before it begins")
    if basis == WORKING:
        if calendar is None:
            raise ValueError("a working-day pause needs the work calendar")
        return working_days_between(first, last, calendar)
    return (last - first).days


# --- reminders, lights, overdue ---------------------------------------------------------------

def reminder_at(start: datetime, due: datetime, fraction: float = 0.8) -> datetime:
    """When to remind the handler: once ``fraction`` of the time from start to due has passed."""
    if not 0 < fraction < 1:
        raise ValueError("fraction must be between 0 and 1")
    return start + (due - start) * fraction


def days_elapsed(since: datetime, now: datetime, paused: int = 0) -> int:
    """Whole Shanghai calendar days from ``since`` to ``now``, less ``paused`` days."""
    return max(0, (local_date(now) - local_date(since)).days - paused)


def traffic_light(days_without_reply: int, rules: DeadlineRules) -> str:
    """"green" under yellow_from days, "yellow" up to red_after days, "red" beyond."""
    if days_without_reply < rules.yellow_from:
        return "green"
    if days_without_reply <= rules.red_after:
        return "yellow"
    return "red"


def is_overdue(due: datetime | Deadline, now: datetime, *,
               extended: datetime | Deadline | None = None, paused: bool = False) -> bool:
    """Whether ``now`` is past ``due``. An approved extension replaces the original due date;
    a limit paused while waiting for the citizen is never overdue."""
    if paused:
        return False
    target = extended if extended is not None else due
    if isinstance(target, Deadline):
        target = target.due
    if now.tzinfo is None or target.tzinfo is None:
        raise ValueError("naive datetime: pass aware datetimes")
    return now >= target
