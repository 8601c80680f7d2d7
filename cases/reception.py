"""Leaders' reception days (领导接访日, 预约接待): slots, bookings, the waiting list, and the
scheduler's reception jobs. Knows no chat, button or text: each function returns what happened
and the conversations (``bot.conversations.appointment`` for citizens, ``reception_days`` for
staff and the scheduler's messages) tell people.

- A **slot** (``ReceptionSlot``) is published by a leader or intake staff: when, where (or by
  video, with a link), for how many, about which topics. It can be cancelled; its bookings are
  cancelled with it.
- A **booking** (``ReceptionBooking``) is a citizen's place in a slot about one of their cases,
  with the matter in a sentence. A place is taken with one conditional update of the slot
  (``booked = booked + 1`` only where ``booked < capacity``): of two citizens asking for the
  last place at once, one gets it and the other is offered the next free slots or the waiting
  list (also with several processes on PostgreSQL, where the update locks the row and checks
  the condition again).
- The **waiting list** of a full slot, first come first served: when a booked citizen cancels,
  the first waiting citizen gets the place in the same transaction (``Cancelled.promoted``).
- Citizens cancel and reschedule until ``cutoff`` before the start; booking closes then too.
- **Jobs** (claimed once, like ``cases.jobs``): the reminders of a booking the day before
  (``reception_day``) and shortly before (``reception_soon``), and the day's list of a slot on
  the morning of its day (``reception_list``). Each is marked done by a conditional update in
  the transaction that queues its message, so it is sent once, also across restarts.
- The **outcome** a leader records after the reception is a lifecycle step (``reception``,
  through ``CaseService.act``), kept on the booking too.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases.deadlines import SHANGHAI, end_of_day, local_date, start_of_day
from cases.jobs import Job
from cases.lifecycle import Action, Role
from cases.service import CaseService, Done
from storage.models import Case, ReceptionBooking, ReceptionSlot

BOOKED, WAITING, CANCELLED = "booked", "waiting", "cancelled"
ACTIVE = (BOOKED, WAITING)
OWN = "own"            # the outcome that makes the leader the case's owner (包案)
ASSIGN = "assign"      # the outcome that hands the matter to the case's department (交办)


@dataclass(frozen=True, slots=True)
class ReceptionRules:
    """``config/reception.yaml``."""

    cutoff: timedelta = timedelta(hours=24)
    remind_day: timedelta = timedelta(hours=24)
    remind_soon: timedelta = timedelta(hours=2)
    list_hour: int = 8
    offer_next: int = 3
    shown: int = 8
    matter_chars: int = 200
    video_link: str = ""
    video_words: tuple[str, ...] = ()
    bring: str = ""

    @classmethod
    def parse(cls, raw: Mapping) -> ReceptionRules:
        rules = cls(cutoff=timedelta(hours=float(raw.get("cutoff_hours", 24))),
                    remind_day=timedelta(hours=float(raw.get("remind_day_hours", 24))),
                    remind_soon=timedelta(hours=float(raw.get("remind_soon_hours", 2))),
                    list_hour=int(raw.get("list_hour", 8)),
                    offer_next=int(raw.get("offer_next", 3)), shown=int(raw.get("shown", 8)),
                    matter_chars=int(raw.get("matter_chars", 200)),
                    video_link=str(raw.get("video_link") or ""),
                    video_words=tuple(str(w) for w in raw.get("video_words") or ()),
                    bring=str(raw.get("bring") or ""))
        if not 0 <= rules.list_hour <= 23 or rules.offer_next < 1 or rules.shown < 1:
            raise ValueError("reception.yaml: list_hour is 0-23, offer_next and shown at least 1")
        return rules

    def closes_at(self, slot: ReceptionSlot) -> datetime:
        """When booking, cancelling and rescheduling end for the slot."""
        return slot.starts_at - self.cutoff


# ---------------------------------------------------------------- what happened

@dataclass(slots=True)
class Booked:
    booking: ReceptionBooking
    slot: ReceptionSlot
    position: int = 0        # on the waiting list (1 = next); 0 for a place


@dataclass(slots=True)
class Full:
    slot: ReceptionSlot
    free: list[ReceptionSlot]     # the next slots with a free place


@dataclass(slots=True)
class Closed:
    """The slot is cancelled, gone or past its cut-off."""

    slot: ReceptionSlot | None


@dataclass(slots=True)
class Cancelled:
    booking: ReceptionBooking
    slot: ReceptionSlot
    promoted: ReceptionBooking | None = None   # the waiting citizen who got the place


@dataclass(slots=True)
class TooLate:
    booking: ReceptionBooking
    slot: ReceptionSlot


@dataclass(slots=True)
class Reminder:
    """A booked citizen to remind: ``which`` is "day" or "soon"."""

    booking: ReceptionBooking
    slot: ReceptionSlot
    case: Case
    which: str


@dataclass(slots=True)
class DayList:
    """A slot's citizens for the leader and staff on its day."""

    slot: ReceptionSlot
    entries: list[tuple[ReceptionBooking, Case]] = field(default_factory=list)
    waiting: list[tuple[ReceptionBooking, Case]] = field(default_factory=list)


# ---------------------------------------------------------------- slots

def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=SHANGHAI)


def publish(session: AsyncSession, *, starts_at: datetime, ends_at: datetime, place: str,
            video: bool, link: str, capacity: int, topics: list[str], host_id: int | None,
            host_name: str, by: int, now: datetime) -> ReceptionSlot:
    slot = ReceptionSlot(starts_at=starts_at, ends_at=ends_at, place=place, video=video,
                         link=link, capacity=capacity, topics=topics, host_id=host_id,
                         host_name=host_name, created_by=by, created_at=now)
    session.add(slot)
    return slot


async def slot_by_id(session: AsyncSession, slot_id: int) -> ReceptionSlot | None:
    return await session.get(ReceptionSlot, slot_id)


async def upcoming(session: AsyncSession, now: datetime, limit: int = 50) -> list[ReceptionSlot]:
    """Slots not cancelled that have not ended, soonest first (for staff)."""
    return list((await session.exec(
        select(ReceptionSlot).where(col(ReceptionSlot.cancelled_at).is_(None),
                                    col(ReceptionSlot.ends_at) > now)
        .order_by(col(ReceptionSlot.starts_at), col(ReceptionSlot.id)).limit(limit))).all())


async def bookable(session: AsyncSession, now: datetime, rules: ReceptionRules, *,
                   limit: int | None = None, free_only: bool = False,
                   exclude: int | None = None) -> list[ReceptionSlot]:
    """Slots citizens may still book (not cancelled, before their cut-off), soonest first."""
    stmt = select(ReceptionSlot).where(col(ReceptionSlot.cancelled_at).is_(None),
                                       col(ReceptionSlot.starts_at) > now + rules.cutoff)
    if free_only:
        stmt = stmt.where(col(ReceptionSlot.booked) < col(ReceptionSlot.capacity))
    if exclude is not None:
        stmt = stmt.where(col(ReceptionSlot.id) != exclude)
    stmt = stmt.order_by(col(ReceptionSlot.starts_at), col(ReceptionSlot.id))
    return list((await session.exec(stmt.limit(limit or rules.shown))).all())


async def next_free(session: AsyncSession, slot: ReceptionSlot, now: datetime,
                    rules: ReceptionRules) -> list[ReceptionSlot]:
    """The free slots to offer instead of a full one: those after it first, then earlier ones."""
    free = await bookable(session, now, rules, free_only=True, exclude=slot.id, limit=50)
    free.sort(key=lambda s: (s.starts_at < slot.starts_at, s.starts_at, s.id))
    return free[:rules.offer_next]


async def waiting_count(session: AsyncSession, slot_ids: list[int]) -> dict[int, int]:
    if not slot_ids:
        return {}
    rows = (await session.exec(
        select(ReceptionBooking.slot_id, func.count()).where(
            col(ReceptionBooking.slot_id).in_(slot_ids), ReceptionBooking.status == WAITING)
        .group_by(ReceptionBooking.slot_id))).all()
    return dict(rows)


async def cancel_slot(session: AsyncSession, slot_id: int, *, reason: str,
                      now: datetime) -> tuple[ReceptionSlot | None, list[ReceptionBooking]]:
    """Cancel a slot that has not started and every booking in it (booked and waiting): the
    slot and the bookings to tell; (None, []) when it is gone, started or cancelled already."""
    result = await session.exec(
        update(ReceptionSlot).where(col(ReceptionSlot.id) == slot_id,
                                    col(ReceptionSlot.cancelled_at).is_(None),
                                    col(ReceptionSlot.starts_at) > now)
        .values(cancelled_at=now, cancel_reason=reason, booked=0)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None, []
    slot = await session.get(ReceptionSlot, slot_id)
    await session.refresh(slot)
    bookings = list((await session.exec(
        select(ReceptionBooking).where(ReceptionBooking.slot_id == slot_id,
                                       col(ReceptionBooking.status).in_(ACTIVE))
        .order_by(col(ReceptionBooking.id)))).all())
    for booking in bookings:
        booking.status, booking.cancelled_at, booking.cancelled_by = CANCELLED, now, "slot"
        session.add(booking)
    return slot, bookings


# ---------------------------------------------------------------- bookings

async def booking_by_id(session: AsyncSession, booking_id: int) -> ReceptionBooking | None:
    return await session.get(ReceptionBooking, booking_id)


async def active_booking(session: AsyncSession, case_id: int,
                         now: datetime) -> ReceptionBooking | None:
    """The case's booked or waiting appointment in a slot that has not ended."""
    return (await session.exec(
        select(ReceptionBooking).join(ReceptionSlot,
                                      col(ReceptionSlot.id) == ReceptionBooking.slot_id)
        .where(ReceptionBooking.case_id == case_id, col(ReceptionBooking.status).in_(ACTIVE),
               col(ReceptionSlot.ends_at) > now)
        .order_by(col(ReceptionBooking.id).desc()))).first()


def _mark_passed_reminders(booking: ReceptionBooking, slot: ReceptionSlot, now: datetime,
                           rules: ReceptionRules) -> None:
    """A reminder whose time came before the place was had is not sent (the confirmation, or
    the message giving the place, says it all)."""
    if slot.starts_at - rules.remind_day <= now:
        booking.reminded_day_at = now
    if slot.starts_at - rules.remind_soon <= now:
        booking.reminded_soon_at = now


async def _take_place(session: AsyncSession, slot_id: int, now: datetime,
                      rules: ReceptionRules) -> bool:
    """One place of the slot, if one is free and it may still be booked (one statement)."""
    result = await session.exec(
        update(ReceptionSlot).where(col(ReceptionSlot.id) == slot_id,
                                    col(ReceptionSlot.cancelled_at).is_(None),
                                    col(ReceptionSlot.starts_at) > now + rules.cutoff,
                                    col(ReceptionSlot.booked) < col(ReceptionSlot.capacity))
        .values(booked=ReceptionSlot.booked + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def book(session: AsyncSession, *, slot_id: int, case: Case, chat_id: int, matter: str,
               now: datetime, rules: ReceptionRules,
               waiting: bool = False) -> Booked | Full | Closed:
    """A place in the slot for the case; with ``waiting``, a place on its waiting list when it
    is full (a place when one is free after all)."""
    slot = await session.get(ReceptionSlot, slot_id)
    if slot is None or slot.cancelled_at is not None or rules.closes_at(slot) <= now:
        return Closed(slot)
    if await _take_place(session, slot_id, now, rules):
        booking = ReceptionBooking(slot_id=slot_id, case_id=case.id, citizen_chat_id=chat_id,
                                   matter=matter, status=BOOKED, created_at=now)
        _mark_passed_reminders(booking, slot, now, rules)
        session.add(booking)
        await session.flush()
        await session.refresh(slot)
        return Booked(booking, slot)
    await session.refresh(slot)
    if slot.cancelled_at is not None or rules.closes_at(slot) <= now:
        return Closed(slot)
    if not waiting:
        return Full(slot, await next_free(session, slot, now, rules))
    booking = ReceptionBooking(slot_id=slot_id, case_id=case.id, citizen_chat_id=chat_id,
                               matter=matter, status=WAITING, created_at=now)
    session.add(booking)
    await session.flush()
    return Booked(booking, slot, await position(session, booking))


async def position(session: AsyncSession, booking: ReceptionBooking) -> int:
    """A waiting booking's place in its slot's waiting list (1 = next)."""
    return (await session.exec(
        select(func.count()).where(ReceptionBooking.slot_id == booking.slot_id,
                                   ReceptionBooking.status == WAITING,
                                   col(ReceptionBooking.id) <= booking.id))).one()


async def _release(session: AsyncSession, slot: ReceptionSlot, now: datetime,
                   rules: ReceptionRules) -> ReceptionBooking | None:
    """A booked place was given up: the first waiting citizen gets it, else it is free again."""
    while True:
        first = (await session.exec(
            select(ReceptionBooking).where(ReceptionBooking.slot_id == slot.id,
                                           ReceptionBooking.status == WAITING)
            .order_by(col(ReceptionBooking.id)).limit(1))).first()
        if first is None:
            await session.exec(
                update(ReceptionSlot).where(col(ReceptionSlot.id) == slot.id,
                                            col(ReceptionSlot.booked) > 0)
                .values(booked=ReceptionSlot.booked - 1)
                .execution_options(synchronize_session=False))
            await session.refresh(slot)
            return None
        moved = await session.exec(
            update(ReceptionBooking).where(col(ReceptionBooking.id) == first.id,
                                           ReceptionBooking.status == WAITING)
            .values(status=BOOKED, promoted_at=now)
            .execution_options(synchronize_session=False))
        if moved.rowcount == 1:
            await session.refresh(first)
            _mark_passed_reminders(first, slot, now, rules)
            session.add(first)
            return first


async def cancel(session: AsyncSession, booking: ReceptionBooking, *, now: datetime,
                 rules: ReceptionRules, by: str = "citizen") -> Cancelled | TooLate | None:
    """The citizen gives up their booking (or waiting place) before the cut-off; None when it
    is no longer active (a second press)."""
    slot = await session.get(ReceptionSlot, booking.slot_id)
    if booking.status not in ACTIVE or slot is None or slot.cancelled_at is not None:
        return None
    if rules.closes_at(slot) <= now:
        return TooLate(booking, slot)
    was = booking.status
    result = await session.exec(
        update(ReceptionBooking).where(col(ReceptionBooking.id) == booking.id,
                                       ReceptionBooking.status == was)
        .values(status=CANCELLED, cancelled_at=now, cancelled_by=by)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    await session.refresh(booking)
    promoted = await _release(session, slot, now, rules) if was == BOOKED else None
    return Cancelled(booking, slot, promoted)


async def reschedule(session: AsyncSession, booking: ReceptionBooking, *, slot_id: int,
                     case: Case, now: datetime,
                     rules: ReceptionRules) -> tuple[Booked | Full | Closed | TooLate | None,
                                                     Cancelled | None]:
    """Move a booking to another slot before the cut-off: the new place (or why not) and the
    old booking's cancellation (with the waiting citizen it promoted)."""
    slot = await session.get(ReceptionSlot, booking.slot_id)
    if booking.status not in ACTIVE or slot is None or slot.cancelled_at is not None:
        return None, None
    if rules.closes_at(slot) <= now:
        return TooLate(booking, slot), None
    if slot_id == booking.slot_id:
        return Closed(slot), None
    got = await book(session, slot_id=slot_id, case=case, chat_id=booking.citizen_chat_id,
                     matter=booking.matter, now=now, rules=rules)
    if not isinstance(got, Booked):
        return got, None
    return got, await cancel(session, booking, now=now, rules=rules, by="reschedule")


# ---------------------------------------------------------------- the day's list, outcomes

async def day_list(session: AsyncSession, slot: ReceptionSlot) -> DayList:
    rows = (await session.exec(
        select(ReceptionBooking, Case).join(Case, col(Case.id) == ReceptionBooking.case_id)
        .where(ReceptionBooking.slot_id == slot.id, col(ReceptionBooking.status).in_(ACTIVE))
        .order_by(col(ReceptionBooking.id)))).all()
    return DayList(slot, [(b, c) for b, c in rows if b.status == BOOKED],
                   [(b, c) for b, c in rows if b.status == WAITING])


async def slots_of_day(session: AsyncSession, day: date) -> list[ReceptionSlot]:
    return list((await session.exec(
        select(ReceptionSlot).where(col(ReceptionSlot.cancelled_at).is_(None),
                                    col(ReceptionSlot.starts_at) >= start_of_day(day),
                                    col(ReceptionSlot.starts_at) < end_of_day(day))
        .order_by(col(ReceptionSlot.starts_at), col(ReceptionSlot.id)))).all())


async def awaiting_outcome(session: AsyncSession, case_id: int,
                           now: datetime) -> tuple[ReceptionBooking, ReceptionSlot] | None:
    """The case's latest booking whose reception has begun and has no outcome yet."""
    row = (await session.exec(
        select(ReceptionBooking, ReceptionSlot)
        .join(ReceptionSlot, col(ReceptionSlot.id) == ReceptionBooking.slot_id)
        .where(ReceptionBooking.case_id == case_id, ReceptionBooking.status == BOOKED,
               ReceptionBooking.outcome == "", col(ReceptionSlot.cancelled_at).is_(None),
               col(ReceptionSlot.starts_at) <= now)
        .order_by(col(ReceptionSlot.starts_at).desc()))).first()
    return (row[0], row[1]) if row else None


async def record_outcome(service: CaseService, session: AsyncSession, *, case: Case,
                         booking: ReceptionBooking, outcome: str, note: str, role: Role,
                         actor: str, now: datetime, leader_id: int | None = None) -> Done:
    """The leader's outcome of a reception on the case: the lifecycle step ``reception``
    (version-checked, the event on the timeline, the citizen's message), ``leader_id`` the
    owner when the outcome is 包案, and the booking marked. Raises what ``act`` raises."""
    done = await service.act(session, case, Action.RECEPTION, role, now=now,
                             seen_version=case.version, actor=actor,
                             fields={"reception_outcome": outcome, "reception_note": note},
                             leader_id=leader_id if outcome == OWN else None)
    booking.outcome, booking.outcome_at = outcome, now
    session.add(booking)
    return done


# ---------------------------------------------------------------- the scheduler's jobs

REMINDERS = {"reception_day": ("reminded_day_at", "day"),
             "reception_soon": ("reminded_soon_at", "soon")}


async def due_jobs(session: AsyncSession, now: datetime, rules: ReceptionRules) -> list[Job]:
    """Reminders and day's lists due at ``now``, read without locks."""
    jobs: list[Job] = []
    for kind, (column, which) in REMINDERS.items():
        ahead = rules.remind_day if which == "day" else rules.remind_soon
        ids = (await session.exec(
            select(ReceptionBooking.id)
            .join(ReceptionSlot, col(ReceptionSlot.id) == ReceptionBooking.slot_id)
            .where(ReceptionBooking.status == BOOKED,
                   col(getattr(ReceptionBooking, column)).is_(None),
                   col(ReceptionSlot.cancelled_at).is_(None),
                   col(ReceptionSlot.starts_at) > now,
                   col(ReceptionSlot.starts_at) <= now + ahead)
            .order_by(col(ReceptionBooking.id)))).all()
        jobs += [Job(kind, i) for i in ids]
    today = local_date(now)
    if now >= local(today, time(rules.list_hour)):
        ids = (await session.exec(
            select(ReceptionSlot.id).where(col(ReceptionSlot.cancelled_at).is_(None),
                                           col(ReceptionSlot.listed_at).is_(None),
                                           col(ReceptionSlot.starts_at) >= start_of_day(today),
                                           col(ReceptionSlot.starts_at) < end_of_day(today))
            .order_by(col(ReceptionSlot.starts_at)))).all()
        jobs += [Job("reception_list", i) for i in ids]
    return jobs


async def remind(session: AsyncSession, job: Job, now: datetime,
                 rules: ReceptionRules) -> list[Reminder | DayList]:
    column, which = REMINDERS[job.kind]
    result = await session.exec(
        update(ReceptionBooking).where(col(ReceptionBooking.id) == job.id,
                                       ReceptionBooking.status == BOOKED,
                                       col(getattr(ReceptionBooking, column)).is_(None))
        .values({column: now}).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return []
    booking = await session.get(ReceptionBooking, job.id)
    await session.refresh(booking)
    slot = await session.get(ReceptionSlot, booking.slot_id)
    if slot is None or slot.cancelled_at is not None or slot.starts_at <= now:
        return []
    return [Reminder(booking, slot, await session.get(Case, booking.case_id), which)]


async def list_day(session: AsyncSession, job: Job, now: datetime,
                   rules: ReceptionRules) -> list[Reminder | DayList]:
    result = await session.exec(
        update(ReceptionSlot).where(col(ReceptionSlot.id) == job.id,
                                    col(ReceptionSlot.listed_at).is_(None),
                                    col(ReceptionSlot.cancelled_at).is_(None))
        .values(listed_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return []
    slot = await session.get(ReceptionSlot, job.id)
    await session.refresh(slot)
    return [await day_list(session, slot)]


JOBS = {"reception_day": remind, "reception_soon": remind, "reception_list": list_day}


async def run_job(session: AsyncSession, job: Job, now: datetime,
                  rules: ReceptionRules) -> list[Reminder | DayList]:
    """Do one reception job inside the caller's transaction: what happened (nothing if done)."""
    return await JOBS[job.kind](session, job, now, rules)
