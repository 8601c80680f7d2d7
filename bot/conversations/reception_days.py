"""Leaders' reception days (领导接访日), the staff side, and how slots and bookings are put in
words for everyone (``appointment`` uses these for citizens).

Commands in a staff chat, for leaders (``leaders.yaml``) and intake staff:
- ``/slot 日期 开始-结束 | 地点或「视频」 | 名额 | 主题,主题 [| 会议链接] [| 接访领导]`` publishes a
  slot (a leader publishing is its host; a video slot without a link takes the one in
  ``reception.yaml``);
- ``/slots`` lists the coming slots with their bookings; ``/slots 日期`` sends that day's lists;
- ``/cancelslot 编号 [原因]`` cancels a slot: its booked and waiting citizens are told;
- ``/outcome 案件编号 交办|包案|当场答复 领导意见`` records the reception's outcome on the case,
  through the lifecycle (``reception`` row): the timeline shows it, the citizen is told, 包案
  makes the leader the case's owner and 交办 sends the leader's instructions to the case's
  department chat.

The scheduler's reception jobs (``cases.reception``) are told here: the citizen's reminders and,
on the morning of a reception day, each slot's list (citizens, masked phones, case summaries)
to the leaders' chat and the staff chat.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, time

from bot.chat import Button
from bot.conversations import presenters
from bot.conversations.buttons import Appoint, CancelBooking, MoveBooking
from bot.conversations.flow import Context, Scope
from bot.conversations.render import category_of, esc, local_time, mask_phone, shorten
from cases import reception
from cases.deadlines import SHANGHAI
from cases.lifecycle import Action, Role, TransitionRefused
from storage import repo
from storage.models import Case, ReceptionBooking, ReceptionSlot

log = logging.getLogger(__name__)

COMMANDS = ("slot", "slots", "cancelslot", "outcome")
MAX_CAPACITY = 200
SUMMARY_CHARS = 120
_WHEN = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s+(\d{1,2})[:\uff1a](\d{2})\s*"
                   r"[-~\u2013\u2014\uff5e\u81f3]\s*(\d{1,2})[:\uff1a](\d{2})\s*$")
_DAY = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$")
_TOPICS = re.compile(r"[,\uff0c\u3001;\uff1b]+")


# ---------------------------------------------------------------- slots and bookings in words

def when_words(scope: Scope, slot: ReceptionSlot) -> str:
    start, end = slot.starts_at.astimezone(SHANGHAI), slot.ends_at.astimezone(SHANGHAI)
    return scope.texts("reception_when", month=start.month, day=start.day,
                       weekday=scope.texts.reception_weekdays[start.weekday()],
                       start=f"{start:%H:%M}", end=f"{end:%H:%M}")


def host_words(scope: Scope, slot: ReceptionSlot) -> str:
    return esc(slot.host_name or scope.texts.reception_host_default)


def where_words(scope: Scope, slot: ReceptionSlot) -> str:
    return scope.texts.appointment_video_word if slot.video else esc(slot.place)


def where_line(scope: Scope, slot: ReceptionSlot) -> str:
    t = scope.texts
    if slot.video:
        return t("appointment_video_line", link=esc(slot.link))
    return t("appointment_place_line", place=esc(slot.place))


def topics_words(slot: ReceptionSlot) -> str:
    return esc("\u3001".join(slot.topics))


def cutoff_words(scope: Scope, slot: ReceptionSlot) -> str:
    return local_time(scope.catalog.reception.closes_at(slot))


def details(scope: Scope, booking: ReceptionBooking, slot: ReceptionSlot, case: Case) -> str:
    return scope.texts("appointment_details", number=case.number, when=when_words(scope, slot),
                       host=host_words(scope, slot), where=where_line(scope, slot),
                       matter=esc(booking.matter), bring=esc(scope.catalog.reception.bring))


def booking_buttons(scope: Scope, booking: ReceptionBooking,
                    slot: ReceptionSlot) -> list[list[Button]]:
    """Reschedule and cancel, while the cut-off has not passed."""
    if scope.catalog.reception.closes_at(slot) <= scope.now:
        return []
    t = scope.texts
    return [[Button(t.appointment_move_button, MoveBooking(booking.id).pack()),
             Button(t.appointment_cancel_button, CancelBooking(booking.id).pack())]]


async def tell_promoted(scope: Scope, booking: ReceptionBooking, slot: ReceptionSlot) -> None:
    """The first waiting citizen got a place someone gave up."""
    case = await scope.session.get(Case, booking.case_id)
    scope.send(booking.citizen_chat_id,
               scope.texts("appointment_promoted", details=details(scope, booking, slot, case),
                           cutoff=cutoff_words(scope, slot)),
               booking_buttons(scope, booking, slot), audience="citizen")


# ---------------------------------------------------------------- the scheduler's jobs

async def tell(scope: Scope, happening: reception.Reminder | reception.DayList) -> None:
    if isinstance(happening, reception.DayList):
        post_day_list(scope, await day_list_text(scope, happening))
        return
    booking, slot, case = happening.booking, happening.slot, happening.case
    start = f"{slot.starts_at.astimezone(SHANGHAI):%H:%M}"
    scope.send(booking.citizen_chat_id,
               scope.texts(f"appointment_reminder_{happening.which}", start=start,
                           details=details(scope, booking, slot, case)),
               booking_buttons(scope, booking, slot), audience="citizen")


def post_day_list(scope: Scope, text: str) -> None:
    """To the leaders' chat and the staff chat (each once)."""
    settings = scope.settings
    chats = dict.fromkeys(c for c in (settings.leaders_chat_id, settings.staff_chat_id) if c)
    for chat_id in chats:
        scope.send(chat_id, text,
                   audience="leaders" if chat_id == settings.leaders_chat_id else "staff")


async def day_list_text(scope: Scope, day: reception.DayList) -> str:
    t, slot = scope.texts, day.slot
    lines = [t("reception_day_title", id=slot.id, when=when_words(scope, slot),
               host=host_words(scope, slot), where=where_words(scope, slot),
               booked=len(day.entries), capacity=slot.capacity)]
    for i, (booking, case) in enumerate(day.entries, start=1):
        hidden = scope.catalog.hides_identity(case)
        lines.append(t("reception_day_item", i=i, number=case.number,
                       name=t.staff_hidden if hidden else esc(case.name or t.not_given),
                       phone=t.staff_hidden if hidden else mask_phone(case.phone,
                                                                      t.phone_not_given),
                       category=category_of(case),
                       status=presenters.status_label(scope, case.status),
                       matter=esc(booking.matter),
                       summary=esc(shorten(case.description, SUMMARY_CHARS))))
    if not day.entries:
        lines.append(t.reception_day_empty)
    if day.waiting:
        lines.append(t("reception_day_waiting",
                       items="\u3001".join(case.number for _, case in day.waiting)))
    lines.append(t.reception_day_footer)
    return "\n".join(lines)


# ---------------------------------------------------------------- staff commands

def may_run(ctx: Context) -> list[Role]:
    """The presser's reception roles: leaders and intake staff."""
    return [r for r in ctx.casework.access.roles_of(ctx.event.user_id)
            if r in (Role.LEADER, Role.INTAKE)]


def reply(ctx: Context, text: str) -> None:
    ctx.say(text, audience="staff")


async def on_command(ctx: Context) -> None:
    if not may_run(ctx):
        reply(ctx, ctx.texts.staff_forbidden)
        return
    command = ctx.event.command
    if command == "slot":
        await publish(ctx)
    elif command == "slots":
        await list_slots(ctx)
    elif command == "cancelslot":
        await cancel_slot(ctx)
    else:
        await record_outcome(ctx)


def parse_when(text: str) -> tuple[datetime, datetime] | None:
    m = _WHEN.match(text)
    if m is None:
        return None
    y, mo, d, h1, m1, h2, m2 = (int(g) for g in m.groups())
    try:
        day = date(y, mo, d)
        start = datetime.combine(day, time(h1, m1), tzinfo=SHANGHAI)
        end = datetime.combine(day, time(h2, m2), tzinfo=SHANGHAI)
    except ValueError:
        return None
    return (start, end) if end > start else None


def parse_day(text: str) -> date | None:
    m = _DAY.match(text)
    if m is None:
        return None
    try:
        return date(*(int(g) for g in m.groups()))
    except ValueError:
        return None


async def publish(ctx: Context) -> None:
    t, rules = ctx.texts, ctx.catalog.reception
    parts = [p.strip() for p in ctx.event.args.replace("\uff5c", "|").split("|")]
    if len(parts) < 3 or not parts[0]:
        reply(ctx, t.reception_usage_slot)
        return
    when = parse_when(parts[0])
    if when is None:
        reply(ctx, t.reception_bad_when)
        return
    if when[0] <= ctx.now:
        reply(ctx, t.reception_past)
        return
    place = parts[1]
    video = place.lower() in {w.lower() for w in rules.video_words}
    if not place:
        reply(ctx, t.reception_need_place)
        return
    if not (parts[2].isascii() and parts[2].isdigit()
            and 1 <= int(parts[2]) <= MAX_CAPACITY):
        reply(ctx, t("reception_bad_capacity", max=MAX_CAPACITY))
        return
    topics = [w.strip() for w in _TOPICS.split(parts[3]) if w.strip()] if len(parts) > 3 else []
    leaders = {leader.name: leader.user_id for leader in ctx.catalog.leaders}
    mine = next((leader.name for leader in ctx.catalog.leaders
                 if leader.user_id == ctx.event.user_id), "")
    link, host = "", mine
    for extra in (p for p in parts[4:] if p):
        if extra.lower().startswith(("http://", "https://")):
            link = extra
        else:
            host = extra
    if video and not link:
        link = rules.video_link
        if not link:
            reply(ctx, t.reception_need_link)
            return
    slot = reception.publish(ctx.session, starts_at=when[0], ends_at=when[1],
                             place="" if video else place, video=video, link=link,
                             capacity=int(parts[2]), topics=topics,
                             host_id=leaders.get(host), host_name=host, by=ctx.event.user_id,
                             now=ctx.now)
    await ctx.session.flush()
    log.info("reception slot %s published", slot.id)
    reply(ctx, t("reception_published", id=slot.id, when=when_words(ctx, slot),
                 host=host_words(ctx, slot), where=where_words(ctx, slot),
                 capacity=slot.capacity,
                 topics=t("reception_topics", topics=topics_words(slot)) if topics else ""))


async def list_slots(ctx: Context) -> None:
    t, arg = ctx.texts, ctx.event.args.strip()
    if arg:
        day = parse_day(arg)
        if day is None:
            reply(ctx, t.reception_bad_date)
            return
        slots = await reception.slots_of_day(ctx.session, day)
        if not slots:
            reply(ctx, t("reception_day_none", date=day.isoformat()))
        for slot in slots:
            reply(ctx, await day_list_text(ctx, await reception.day_list(ctx.session, slot)))
        return
    slots = await reception.upcoming(ctx.session, ctx.now)
    if not slots:
        reply(ctx, t.reception_slots_none)
        return
    waiting = await reception.waiting_count(ctx.session, [s.id for s in slots])
    lines = [t.reception_slots_title]
    for slot in slots:
        n = waiting.get(slot.id, 0)
        lines.append(t("reception_slots_item", id=slot.id, when=when_words(ctx, slot),
                       host=host_words(ctx, slot), where=where_words(ctx, slot),
                       booked=slot.booked, capacity=slot.capacity,
                       waiting=t("reception_slots_waiting", n=n) if n else ""))
    reply(ctx, "\n".join(lines))


async def cancel_slot(ctx: Context) -> None:
    t = ctx.texts
    number, _, reason = ctx.event.args.strip().partition(" ")
    if not (number.isascii() and number.isdigit()) or len(number) > 9:
        reply(ctx, t.reception_cancel_usage)
        return
    slot, bookings = await reception.cancel_slot(ctx.session, int(number),
                                                 reason=reason.strip(), now=ctx.now)
    if slot is None:
        reply(ctx, t.reception_no_slot)
        return
    words = (t("appointment_slot_cancelled_reason", reason=esc(reason.strip()))
             if reason.strip() else "")
    for booking in bookings:
        ctx.send(booking.citizen_chat_id,
                 t("appointment_slot_cancelled", when=when_words(ctx, slot), reason=words),
                 [[Button(t.appointment_rebook_button, Appoint().pack())]], audience="citizen")
    reply(ctx, t("reception_slot_cancelled", id=slot.id, when=when_words(ctx, slot),
                 n=len(bookings)))


def outcome_key(ctx: Context, word: str) -> str | None:
    for key, choice in ctx.catalog.lifecycle.reception_outcomes.items():
        if word in (key, choice.label):
            return key
    return None


async def record_outcome(ctx: Context) -> None:
    t, lifecycle = ctx.texts, ctx.catalog.lifecycle
    parts = ctx.event.args.split(maxsplit=2)
    usage = t("reception_outcome_usage", choices="|".join(
        c.label for c in lifecycle.reception_outcomes.values()))
    key = outcome_key(ctx, parts[1]) if len(parts) == 3 else None
    if key is None:
        reply(ctx, usage)
        return
    case = await repo.case_by_number(ctx.session, number=parts[0].upper())
    if case is None:
        reply(ctx, t.staff_no_case)
        return
    roles = [r for r in ctx.casework.access.roles_of(ctx.event.user_id, case)
             if r in (Role.LEADER, Role.INTAKE)]
    pending = await reception.awaiting_outcome(ctx.session, case.id, ctx.now)
    if pending is None:
        reply(ctx, t("reception_no_booking", number=case.number))
        return
    booking, slot = pending
    leaders = ctx.casework.access.leaders
    owner = (slot.host_id if slot.host_id in leaders
             else ctx.event.user_id if ctx.event.user_id in leaders else None)
    note = parts[2].strip()
    if len(note) > ctx.settings.max_description_chars:
        reply(ctx, t("too_long", got=len(note), max=ctx.settings.max_description_chars))
        return
    try:
        done = await reception.record_outcome(
            ctx.casework, ctx.session, case=case, booking=booking, outcome=key, note=note,
            role=ctx.casework.role_for(roles, case, Action.RECEPTION),
            actor=f"staff:{ctx.event.user_id}", now=ctx.now, leader_id=owner)
    except TransitionRefused as exc:
        reply(ctx, presenters.refusal(exc))
        return
    told = await presenters.announce(ctx, done)
    reply(ctx, t("reception_outcome_done", number=case.number, who=presenters.who(ctx),
                 outcome=lifecycle.reception_outcomes[key].label,
                 told=t.staff_done_told if told else ""))
    target = ctx.staff_chat_for(case.department)
    if key == reception.ASSIGN and target is not None:
        ctx.send(target, t("reception_assigned", number=case.number, note=esc(note)),
                 presenters.chat_buttons(ctx, case, target))
