"""Citizens booking a leader's reception (预约接访): ``/appointment`` or the main menu's
「预约接访」.

The flow ``appointment`` has three steps: ``slot`` (pick a slot with a button; a full one
offers the next free slots and its waiting list), ``case`` (which of the citizen's cases it is
about; skipped when they have one) and ``matter`` (the matter in a sentence). Then the place is
taken (``cases.reception.book``: one conditional update, so the last place goes to one
citizen only) and the confirmation says when, where (or the video link) and what to bring, with
「改约」 and 「取消预约」 until the cut-off. Data: ``{"slot", "wait", "case", "matter"}``, and
``"move"`` (a booking id) while rescheduling.

Buttons come from the chat and may be forged or pressed twice: a slot or case button acts only
at its step of this flow, cases and bookings are checked against the chat pressing them, and a
booking already cancelled is said to be so, nothing else.
"""
from __future__ import annotations

from bot.chat import Button, Kind
from bot.conversations import reception_days
from bot.conversations.buttons import (
    Appoint,
    CancelBooking,
    Menu,
    MoveBooking,
    PickCase,
    PickSlot,
    QuitAppointment,
    WaitForSlot,
)
from bot.conversations.common import leave_flow, show_menu, stale_button
from bot.conversations.flow import Context
from bot.conversations.render import category_of
from cases import reception
from storage import cases, repo
from storage.models import Case, ReceptionBooking, ReceptionSlot

NAME = "appointment"
BUSY_FLOWS = ("intake",)   # a complaint being filed is not interrupted
MAX_CASES = 8


# ---------------------------------------------------------------- entering

async def cmd_appointment(ctx: Context) -> None:
    await begin(ctx)


async def on_start(ctx: Context, _button: Appoint) -> None:
    await begin(ctx)


async def begin(ctx: Context) -> None:
    t = ctx.texts
    if ctx.conv.flow in BUSY_FLOWS:
        ctx.say(t.appointment_busy)
        return
    mine = await repo.cases_of_citizen(ctx.session, chat_id=ctx.event.chat_id, limit=MAX_CASES)
    if not mine:
        ctx.say(t.appointment_no_case, [[Button(t.menu_file, Menu("file").pack())]])
        return
    booked = [(c, await reception.active_booking(ctx.session, c.id, ctx.now)) for c in mine]
    if all(b is not None for _, b in booked):   # nothing left to book: show what they have
        for case, booking in booked:
            await show_booking(ctx, case, booking)
        return
    ctx.set_flow(NAME, "slot", {})
    await prompt(ctx)


# ---------------------------------------------------------------- the flow

def step_label(ctx: Context) -> str:
    return ctx.texts.step_appointment


async def prompt(ctx: Context) -> None:
    step = ctx.conv.step
    if step == "case":
        await ask_case(ctx)
    elif step == "matter":
        ask_matter(ctx)
    else:
        await show_slots(ctx)


async def back(ctx: Context) -> None:
    if ctx.conv.step == "matter" and not ctx.data.get("one_case"):
        ctx.data.pop("case", None)
        ctx.conv.step = "case"
    elif ctx.conv.step in ("matter", "case"):
        ctx.data.pop("case", None)
        ctx.data.pop("slot", None)
        ctx.conv.step = "slot"
    else:
        leave_flow(ctx, ctx.texts.appointment_quit)
        return
    await prompt(ctx)


async def on_input(ctx: Context) -> None:
    ev, t = ctx.event, ctx.texts
    if ctx.conv.step != "matter":
        ctx.say(t.appointment_pick_button)
        await prompt(ctx)
        return
    text = ev.text.strip() if ev.kind == Kind.TEXT else ""
    limit = ctx.catalog.reception.matter_chars
    if not text:
        ctx.say(t.not_text if ev.kind != Kind.TEXT else t.empty)
        ask_matter(ctx)
    elif len(text) > limit:
        ctx.say(t("appointment_matter_too_long", got=len(text), max=limit))
    else:
        ctx.data["matter"] = text
        await finish(ctx)


def quit_row(ctx: Context) -> list[Button]:
    return [Button(ctx.texts.appointment_quit_button, QuitAppointment().pack())]


def slot_button(ctx: Context, slot: ReceptionSlot) -> Button:
    full = slot.booked >= slot.capacity
    return Button(ctx.texts("appointment_slot_button_full" if full else "appointment_slot_button",
                            when=reception_days.when_words(ctx, slot),
                            host=reception_days.host_words(ctx, slot)),
                  PickSlot(slot.id).pack())


def slot_line(ctx: Context, slot: ReceptionSlot) -> str:
    t = ctx.texts
    free = slot.capacity - slot.booked
    return t("appointment_slot_line", when=reception_days.when_words(ctx, slot),
             host=reception_days.host_words(ctx, slot),
             where=reception_days.where_words(ctx, slot),
             topics=t("appointment_topics", topics=reception_days.topics_words(slot))
             if slot.topics else "",
             places=t("appointment_places", n=free) if free > 0 else t.appointment_full_mark)


async def moving(ctx: Context) -> tuple[ReceptionBooking, ReceptionSlot] | None:
    """The booking being rescheduled, if it is still the chat's and active."""
    booking = await reception.booking_by_id(ctx.session, int(ctx.data.get("move") or 0))
    if (booking is None or booking.citizen_chat_id != ctx.event.chat_id
            or booking.status not in reception.ACTIVE):
        return None
    slot = await reception.slot_by_id(ctx.session, booking.slot_id)
    return (booking, slot) if slot is not None else None


async def show_slots(ctx: Context) -> None:
    t, rules = ctx.texts, ctx.catalog.reception
    moved = await moving(ctx) if ctx.data.get("move") else None
    if ctx.data.get("move") and moved is None:
        leave_flow(ctx, t.appointment_not_active)
        return
    slots = await reception.bookable(ctx.session, ctx.now, rules, free_only=moved is not None,
                                     exclude=moved[1].id if moved else None)
    if not slots:
        leave_flow(ctx, t("appointment_no_slots", hours=_hours(rules.cutoff)))
        return
    ctx.conv.step = "slot"
    lines = "\n".join(slot_line(ctx, s) for s in slots)
    text = (t("appointment_pick_new", slots=lines,
              when=reception_days.when_words(ctx, moved[1]))
            if moved else t("appointment_pick_slot", slots=lines))
    ctx.say(text, [[slot_button(ctx, s)] for s in slots] + [quit_row(ctx)])


def _hours(delta) -> int:
    return int(delta.total_seconds() // 3600)


async def ask_case(ctx: Context) -> None:
    t = ctx.texts
    mine = await repo.cases_of_citizen(ctx.session, chat_id=ctx.event.chat_id, limit=MAX_CASES)
    ctx.say(t.appointment_pick_case,
            [[Button(t("appointment_case_button", number=c.number, category=c.level1),
                     PickCase(c.id).pack())] for c in mine] + [quit_row(ctx)])


def ask_matter(ctx: Context) -> None:
    ctx.say(ctx.texts("appointment_ask_matter", max=ctx.catalog.reception.matter_chars),
            [quit_row(ctx)])


def at_step(ctx: Context, step: str) -> bool:
    return ctx.conv.flow == NAME and ctx.conv.step == step


async def next_step(ctx: Context) -> None:
    """Ask what is still missing (the case, the matter), else book."""
    if "case" not in ctx.data:
        mine = await repo.cases_of_citizen(ctx.session, chat_id=ctx.event.chat_id, limit=2)
        if len(mine) != 1:
            ctx.conv.step = "case"
            await ask_case(ctx)
            return
        if not await choose_case(ctx, mine[0]):
            return
        ctx.data["one_case"] = True
        ctx.say(ctx.texts("appointment_one_case", number=mine[0].number,
                          category=category_of(mine[0])))
    if not ctx.data.get("matter"):
        ctx.conv.step = "matter"
        ask_matter(ctx)
        return
    await finish(ctx)


async def choose_case(ctx: Context, case: Case) -> bool:
    """Take the case for this appointment; False (flow left, the booking shown) when it has
    one already."""
    booking = await reception.active_booking(ctx.session, case.id, ctx.now)
    if booking is not None:
        ctx.set_flow("", "", {})
        await show_booking(ctx, case, booking)
        return False
    ctx.data["case"] = case.id
    return True


async def show_booking(ctx: Context, case: Case, booking: ReceptionBooking) -> None:
    slot = await reception.slot_by_id(ctx.session, booking.slot_id)
    ctx.say(ctx.texts("appointment_already", number=case.number,
                      details=reception_days.details(ctx, booking, slot, case)),
            reception_days.booking_buttons(ctx, booking, slot))


async def finish(ctx: Context) -> None:
    t, rules = ctx.texts, ctx.catalog.reception
    case = await owned_case(ctx, int(ctx.data.get("case") or 0))
    if case is None:
        leave_flow(ctx, t.stale_button)
        return
    got = await reception.book(ctx.session, slot_id=int(ctx.data.get("slot") or 0), case=case,
                               chat_id=ctx.event.chat_id, matter=ctx.data.get("matter", ""),
                               now=ctx.now, rules=rules, waiting=bool(ctx.data.get("wait")))
    if isinstance(got, reception.Booked):
        ctx.set_flow("", "", {})
        confirm(ctx, got, case)
    elif isinstance(got, reception.Full):
        ctx.data.pop("slot", None)
        offer_instead(ctx, got.slot, got.free)
    else:
        ctx.data.pop("slot", None)
        ctx.say(t.appointment_slot_gone)
        await show_slots(ctx)


def confirm(ctx: Context, got: reception.Booked, case: Case) -> None:
    t, booking, slot = ctx.texts, got.booking, got.slot
    words = reception_days.details(ctx, booking, slot, case)
    if got.position:
        ctx.say(t("appointment_waiting", position=got.position, details=words),
                reception_days.booking_buttons(ctx, booking, slot))
    else:
        ctx.say(t("appointment_confirmed", details=words,
                  cutoff=reception_days.cutoff_words(ctx, slot)),
                reception_days.booking_buttons(ctx, booking, slot))


def offer_instead(ctx: Context, slot: ReceptionSlot, free: list[ReceptionSlot]) -> None:
    """A full slot: the next free ones, and its waiting list."""
    t = ctx.texts
    ctx.conv.step = "slot"
    rows = [[slot_button(ctx, s)] for s in free]
    rows.append([Button(t.appointment_wait_button, WaitForSlot(slot.id).pack())])
    ctx.say("\n".join([t("appointment_full", when=reception_days.when_words(ctx, slot)),
                       t.appointment_next_free if free else t.appointment_no_free,
                       *(slot_line(ctx, s) for s in free)]),
            rows + [quit_row(ctx)])


async def owned_case(ctx: Context, case_id: int) -> Case | None:
    case = await cases.case_by_id(ctx.session, case_id=case_id)
    if case is None or await cases.citizen_chat(ctx.session, case=case) != ctx.event.chat_id:
        return None
    return case


# ---------------------------------------------------------------- buttons

async def on_pick_slot(ctx: Context, button: PickSlot) -> None:
    if not at_step(ctx, "slot"):
        await stale_button(ctx)
        return
    rules = ctx.catalog.reception
    slot = await reception.slot_by_id(ctx.session, button.slot_id)
    if slot is None or slot.cancelled_at is not None or rules.closes_at(slot) <= ctx.now:
        ctx.say(ctx.texts.appointment_slot_gone)
        await show_slots(ctx)
        return
    if ctx.data.get("move"):
        await move_to(ctx, slot)
    elif slot.booked >= slot.capacity:
        offer_instead(ctx, slot, await reception.next_free(ctx.session, slot, ctx.now, rules))
    else:
        ctx.data["slot"], ctx.data["wait"] = slot.id, False
        await next_step(ctx)


async def on_wait(ctx: Context, button: WaitForSlot) -> None:
    if not at_step(ctx, "slot") or ctx.data.get("move"):
        await stale_button(ctx)
        return
    slot = await reception.slot_by_id(ctx.session, button.slot_id)
    if (slot is None or slot.cancelled_at is not None
            or ctx.catalog.reception.closes_at(slot) <= ctx.now):
        ctx.say(ctx.texts.appointment_slot_gone)
        await show_slots(ctx)
        return
    ctx.data["slot"], ctx.data["wait"] = slot.id, True
    await next_step(ctx)


async def on_pick_case(ctx: Context, button: PickCase) -> None:
    case = await owned_case(ctx, button.case_id) if at_step(ctx, "case") else None
    if case is None:
        await stale_button(ctx)
    elif await choose_case(ctx, case):
        await next_step(ctx)


async def on_quit(ctx: Context, _button: QuitAppointment) -> None:
    if ctx.conv.flow == NAME:
        leave_flow(ctx, ctx.texts.appointment_quit)
    else:
        await stale_button(ctx)


async def own_booking(ctx: Context, booking_id: int) -> ReceptionBooking | None:
    booking = await reception.booking_by_id(ctx.session, booking_id)
    return booking if booking is not None and booking.citizen_chat_id == ctx.event.chat_id \
        else None


async def on_cancel(ctx: Context, button: CancelBooking) -> None:
    t, rules = ctx.texts, ctx.catalog.reception
    booking = await own_booking(ctx, button.booking_id)
    if booking is None:
        await stale_button(ctx)
        return
    result = await reception.cancel(ctx.session, booking, now=ctx.now, rules=rules)
    if result is None:
        ctx.say(t.appointment_not_active)
    elif isinstance(result, reception.TooLate):
        ctx.say(t("appointment_too_late", hours=_hours(rules.cutoff)))
    else:
        if ctx.conv.flow == NAME and ctx.data.get("move") == booking.id:
            ctx.set_flow("", "", {})
        ctx.say(t("appointment_cancelled", when=reception_days.when_words(ctx, result.slot)))
        if result.promoted is not None:
            await reception_days.tell_promoted(ctx, result.promoted, result.slot)
        show_menu(ctx)


async def on_move(ctx: Context, button: MoveBooking) -> None:
    t, rules = ctx.texts, ctx.catalog.reception
    booking = await own_booking(ctx, button.booking_id)
    if booking is None:
        await stale_button(ctx)
        return
    slot = await reception.slot_by_id(ctx.session, booking.slot_id)
    if booking.status not in reception.ACTIVE or slot is None or slot.cancelled_at is not None:
        ctx.say(t.appointment_not_active)
    elif rules.closes_at(slot) <= ctx.now:
        ctx.say(t("appointment_too_late", hours=_hours(rules.cutoff)))
    elif ctx.conv.flow in BUSY_FLOWS:
        ctx.say(t.appointment_busy)
    else:
        ctx.set_flow(NAME, "slot", {"move": booking.id, "case": booking.case_id})
        await show_slots(ctx)


async def move_to(ctx: Context, slot: ReceptionSlot) -> None:
    t, rules = ctx.texts, ctx.catalog.reception
    moved = await moving(ctx)
    case = await owned_case(ctx, moved[0].case_id) if moved else None
    if moved is None or case is None:
        leave_flow(ctx, t.appointment_not_active)
        return
    got, cancelled = await reception.reschedule(ctx.session, moved[0], slot_id=slot.id,
                                                case=case, now=ctx.now, rules=rules)
    if isinstance(got, reception.Booked):
        ctx.set_flow("", "", {})
        ctx.say(t("appointment_moved", details=reception_days.details(ctx, got.booking, slot, case),
                  cutoff=reception_days.cutoff_words(ctx, slot)),
                reception_days.booking_buttons(ctx, got.booking, slot))
        if cancelled is not None and cancelled.promoted is not None:
            await reception_days.tell_promoted(ctx, cancelled.promoted, cancelled.slot)
    elif isinstance(got, reception.TooLate):
        leave_flow(ctx, t("appointment_too_late", hours=_hours(rules.cutoff)))
    elif got is None:
        leave_flow(ctx, t.appointment_not_active)
    else:   # full or gone meanwhile
        ctx.say(t("appointment_full", when=reception_days.when_words(ctx, slot))
                if isinstance(got, reception.Full) else t.appointment_slot_gone)
        await show_slots(ctx)

