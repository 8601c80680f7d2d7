"""Live reception (在线接待): a handler and a citizen talking in real time about a case.

- **The citizen** asks for a person (「人工服务」 in the menu, ``/human``): in working hours
  (config/live.yaml, holidays.yaml) the request goes to their latest open case's department
  chat (else the intake staff's) with 「接入对话」, first press wins; outside them the citizen is
  told when someone will answer and the request waits; staff see the queue at opening time
  (``announce_queue``, a scheduler job) and with ``/live``.
- **A handler** starts a conversation from a case card (「与信访人对话」) or ``/talk 编号``.
- **While it runs** the citizen is told who is talking (department and role; the name only if
  config says so) and that the bot is silent: everything the citizen sends (text, photo,
  document, voice …) goes to the handler's chat marked with the case number, and the bot
  answers nothing else (``citizen_before``). The handler answers by replying to those messages
  in the group, or by writing in their private chat with the bot (when only one conversation is
  theirs). Every message is kept on the case's timeline. ``/end`` on either side ends it; so
  does ``silence_minutes`` without a message (``end_silent``), with a notice to both.

Messages go through the outbox like everything else (order kept, nothing lost).
"""
from __future__ import annotations

from datetime import datetime

from bot.chat import Button, Kind, Outgoing
from bot.conversations import presenters
from bot.conversations.buttons import LiveStart, LiveTake
from bot.conversations.common import media_word, show_menu
from bot.conversations.flow import Context, Scope
from bot.conversations.render import category_of, esc, local_time, shorten
from cases import live
from cases.lifecycle import Role
from storage import cases, repo
from storage.models import Case, LiveSession

BUTTONS = (LiveTake, LiveStart)
MAX_RELAYED = 3500   # characters of one relayed text (a Telegram message holds 4,096)


def take_button(scope: Scope, session: LiveSession) -> list[list[Button]]:
    return [[Button(scope.texts.staff_live_take_button, LiveTake(session.id).pack())]]


async def case_of(scope: Scope, session: LiveSession) -> Case | None:
    if session.case_id is None:
        return None
    return await cases.case_by_id(scope.session, case_id=session.case_id)


def case_words(scope: Scope, case: Case | None) -> str:
    return scope.texts("live_case_part", number=case.number) if case else ""


def minutes_since(scope: Scope, moment: datetime) -> int:
    return max(0, int((scope.now - moment.replace(tzinfo=scope.now.tzinfo)).total_seconds()
                      // 60))


def who_talks(scope: Scope, session: LiveSession, name: str = "") -> str:
    """Who the citizen is talking with: the department and role (and the name, if config
    says so)."""
    t = scope.texts
    department = (scope.catalog.department_name(session.department) if session.department
                  else t.live_intake_office)
    role = scope.catalog.lifecycle.role_label(session.handler_role or Role.INTAKE.value)
    words = t("live_who", department=esc(department), role=esc(role))
    if scope.catalog.live.show_handler_name and name:
        words += t("live_who_name", name=esc(name))
    return words


def note(scope: Scope, session: LiveSession, action: str, text: str, *, actor: str,
         fields: dict | None = None) -> None:
    """Keep what was said on the case's timeline."""
    if session.case_id is not None:
        cases.add_event(scope.session, case_id=session.case_id, at=scope.now, actor=actor,
                        role=None, action=action, from_status=None, to_status=None,
                        note=text[:MAX_RELAYED], fields=fields)


# ---------------------------------------------------------------- the citizen asks

async def request_human(ctx: Context) -> None:
    """「人工服务」: to the department of the citizen's latest open case (or intake staff)."""
    t, rules = ctx.texts, ctx.catalog.live
    current = await live.open_for_citizen(ctx.session, ctx.event.chat_id)
    if current is not None:
        ctx.say(t.live_already_talking if current.status == live.ACTIVE
                else t.live_already_waiting)
        return
    mine = await repo.cases_of_citizen(ctx.session, chat_id=ctx.event.chat_id)
    case = next((c for c in mine if c.status != "closed"), None)
    department = case.department if case else ""
    queued = not rules.open_at(ctx.now)
    session = await live.request(ctx.session, case_id=case.id if case else None,
                                 citizen_chat_id=ctx.event.chat_id, department=department,
                                 now=ctx.now, queued=queued)
    note(ctx, session, "live_requested", t.live_requested_note, actor="citizen")
    office = (esc(ctx.catalog.department_name(department)) if department
              else t.live_intake_office)
    if queued:
        when = local_time(rules.next_opening(ctx.now))
        ctx.say(t("live_queued", when=when))
        return
    ctx.say(t("live_requested", department=office, case=case_words(ctx, case)))
    await post_request(ctx, session, case)


async def post_request(scope: Scope, session: LiveSession, case: Case | None) -> None:
    chat_id = (scope.staff_chat_for(session.department) if session.department
               else scope.settings.staff_chat_id)
    if chat_id is None:
        return
    t = scope.texts
    scope.send(chat_id, t("staff_live_request", case=case_words(scope, case),
                          category=category_of(case) if case else "—",
                          minutes=minutes_since(scope, session.requested_at)),
               take_button(scope, session))


async def citizen_before(ctx: Context) -> bool:
    """A private message, before any flow: taken (True) when it is about live reception — a
    request, /end, or anything while the chat is in a running conversation, as the citizen
    (relayed; the bot says nothing else) or as its handler. One query for the rest."""
    ev, t = ctx.event, ctx.texts
    if ev.kind == Kind.COMMAND and ev.command == "human":
        await request_human(ctx)
        return True
    if ev.kind == Kind.COMMAND and ev.command in ("talk", "live") and staff_roles(ctx):
        await staff_command(ctx)
        return True
    sessions = await live.open_for_chat(ctx.session, ev.chat_id, ev.user_id)
    mine = next((s for s in sessions if s.citizen_chat_id == ev.chat_id), None)
    handled = [s for s in sessions if s.handler_id == ev.user_id and s.status == live.ACTIVE
               and s.citizen_chat_id != ev.chat_id]
    if ev.kind == Kind.COMMAND and ev.command == "end":
        if mine is not None:
            await finish(ctx, mine, "citizen")
        elif handled:
            await staff_end(ctx, ev.args)
        else:
            ctx.say(t.live_nothing_to_end)
            show_menu(ctx)
        return True
    if mine is not None and mine.status == live.ACTIVE:
        if ev.kind in (Kind.BUTTON, Kind.COMMAND):
            ctx.say(t.live_button_blocked)
        else:
            await from_citizen(ctx, mine)
        return True
    if handled and ev.kind in (Kind.TEXT, Kind.ATTACHMENT, Kind.OTHER):
        await from_handler(ctx, handled)
        return True
    return False


def relayed(ctx: Context, chat_id: int, text: str, audience: str) -> Outgoing:
    """The event's words or file, sent on to ``chat_id`` under ``text``."""
    ev = ctx.event
    if ev.file_id:
        return ctx.send(chat_id, text, file_id=ev.file_id, file_media=ev.media,
                        audience=audience)
    return ctx.send(chat_id, text, audience=audience)


def said(ctx: Context) -> str:
    """What the event says, as text: its words, or the kind of file it is."""
    ev, t = ctx.event, ctx.texts
    if ev.kind == Kind.TEXT:
        return shorten(ev.text, MAX_RELAYED)
    if ev.kind == Kind.CONTACT:
        return ev.text
    return t("live_media", media=media_word(t, ev.media))


async def from_citizen(ctx: Context, session: LiveSession) -> None:
    case = await case_of(ctx, session)
    text = said(ctx)
    live.touch(ctx.session, session, ctx.now)
    note(ctx, session, "live_citizen", text, actor="citizen",
         fields={"media": ctx.event.media} if ctx.event.file_id else None)
    relayed(ctx, session.handler_chat_id, ctx.texts(
        "staff_live_from_citizen", number=case.number if case else ctx.texts.live_no_case,
        text=esc(text)), "staff")


async def from_handler(ctx: Context, mine: list[LiveSession]) -> None:
    """A handler's message in their private chat: to their one conversation, or to the one
    whose message they answer."""
    numbers = repo.CASE_NUMBER.findall(ctx.event.reply_to_text)
    chosen = [s for s in mine if s.handler_chat_id == ctx.event.chat_id] or mine
    if numbers:
        by_case = {c.id: c for c in [await case_of(ctx, s) for s in chosen] if c}
        chosen = [s for s in chosen if s.case_id in by_case
                  and by_case[s.case_id].number in numbers]
    if len(chosen) != 1:
        ctx.say(ctx.texts.staff_live_which, audience="staff")
        return
    await to_citizen(ctx, chosen[0])


async def to_citizen(ctx: Context, session: LiveSession) -> None:
    text = said(ctx)
    live.touch(ctx.session, session, ctx.now)
    note(ctx, session, "live_staff", text, actor=f"staff:{ctx.event.user_id}",
         fields={"media": ctx.event.media} if ctx.event.file_id else None)
    relayed(ctx, session.citizen_chat_id, ctx.texts(
        "live_from_staff", who=who_talks(ctx, session, ctx.event.user_name), text=esc(text)),
        "citizen")


async def staff_reply(ctx: Context) -> bool:
    """A message in a staff chat answering one of a running conversation's messages (its
    case number in the message answered) by the handler of that conversation: to the citizen.
    False when it is no such message."""
    numbers = repo.CASE_NUMBER.findall(ctx.event.reply_to_text)
    if not numbers:
        return False
    for session in await live.active_for_handler(ctx.session, ctx.event.user_id):
        case = await case_of(ctx, session)
        if case is not None and case.number in numbers:
            await to_citizen(ctx, session)
            return True
    case = await repo.case_by_number(ctx.session, number=numbers[0])
    session = await live.open_for_case(ctx.session, case.id) if case else None
    if session is not None and session.status == live.ACTIVE:
        ctx.say(ctx.texts.staff_live_not_yours, audience="staff")
        return True
    return False


# ---------------------------------------------------------------- staff start, take, end

def staff_roles(ctx: Context, case: Case | None = None) -> list[Role]:
    return ctx.casework.access.roles_of(ctx.event.user_id, case)


async def on_staff_button(ctx: Context, button) -> None:
    t = ctx.texts
    if isinstance(button, LiveTake):
        session = await ctx.session.get(LiveSession, button.live_id)
        case = await case_of(ctx, session) if session else None
        roles = staff_roles(ctx, case)
        if session is None or not roles:
            ctx.say(t.staff_forbidden if session else t.staff_bad_button, audience="staff")
            return
        taken = await live.take(ctx.session, session.id, handler_id=ctx.event.user_id,
                                handler_chat_id=ctx.event.chat_id, role=roles[0].value,
                                now=ctx.now)
        if taken is None:
            ctx.say(t.staff_live_taken_by_other, audience="staff")
            return
        begun(ctx, taken, case, user_id=ctx.event.user_id, name=ctx.event.user_name,
              who=presenters.who(ctx))
        return
    case = await cases.case_by_id(ctx.session, case_id=button.case_id)
    await start_on(ctx, case)


async def start_on(ctx: Context, case: Case | None) -> None:
    """A handler starts a conversation on ``case`` from a staff chat (button or /talk): they
    talk in that chat."""
    ev = ctx.event
    refused = await start_talk(ctx, case, user_id=ev.user_id, chat_id=ev.chat_id,
                               name=ev.user_name, who=presenters.who(ctx))
    if refused:
        ctx.say(refused, audience="staff")


async def start_talk(scope: Scope, case: Case | None, *, user_id: int, chat_id: int,
                     name: str, who: str) -> str:
    """Start a conversation on ``case`` for the handler ``user_id``, who talks in ``chat_id``
    (a staff chat, or their private chat with the bot when started from the web). The reason
    in words when it cannot be started ('' when it was)."""
    t = scope.texts
    roles = scope.casework.access.roles_of(user_id, case) if case else []
    if case is None or not roles:
        return t.staff_no_case if case is None else t.staff_forbidden
    citizen = await cases.citizen_chat(scope.session, case=case)
    if citizen is None:
        return t.live_no_chat
    if await live.open_for_case(scope.session, case.id) is not None:
        return t.live_busy_case
    other = await live.open_for_citizen(scope.session, citizen)
    if other is not None and other.status == live.ACTIVE:
        return t.live_busy_citizen
    if other is not None:   # a waiting request of that citizen: this answers it
        await live.end(scope.session, other, now=scope.now, reason="staff")
    session = await live.start(scope.session, case_id=case.id, citizen_chat_id=citizen,
                               department=case.department, handler_id=user_id,
                               handler_chat_id=chat_id, role=roles[0].value, now=scope.now)
    begun(scope, session, case, user_id=user_id, name=name, who=who)
    return ""


def begun(scope: Scope, session: LiveSession, case: Case | None, *, user_id: int, name: str,
          who: str) -> None:
    """Tell both sides who is talking now, and that the bot keeps quiet meanwhile."""
    t = scope.texts
    note(scope, session, "live_started", t.live_started_note, actor=f"staff:{user_id}")
    scope.send(session.citizen_chat_id, t("live_started_citizen",
                                          who=who_talks(scope, session, name),
                                          case=case_words(scope, case)), audience="citizen")
    scope.send(session.handler_chat_id, t("staff_live_taken", who=who,
                                          case=case_words(scope, case),
                                          number=case.number if case else ""), audience="staff")


async def finish(scope: Scope, session: LiveSession, reason: str) -> None:
    """End it and tell both sides (the citizen gets their menu back)."""
    if not await live.end(scope.session, session, now=scope.now, reason=reason):
        return
    t = scope.texts
    case = await case_of(scope, session)
    minutes = scope.catalog.live.silence_minutes
    why = t(f"live_end_reason_{reason}", minutes=minutes)
    note(scope, session, "live_ended", why, actor="system" if reason == "silence" else reason)
    citizen = (t("live_silence_citizen", minutes=minutes) if reason == "silence"
               else t.live_ended_citizen)
    scope.send(session.citizen_chat_id, citizen, audience="citizen")
    if session.handler_chat_id is not None:
        scope.send(session.handler_chat_id, t("staff_live_ended", case=case_words(scope, case),
                                              reason=why), audience="staff")


async def staff_end(ctx: Context, args: str) -> None:
    """/end [编号] from a handler: their conversation on that case (or their only one)."""
    mine = await live.active_for_handler(ctx.session, ctx.event.user_id)
    numbers = repo.CASE_NUMBER.findall(args.upper() + " " + ctx.event.reply_to_text)
    if numbers:
        cases_of = {s.id: await case_of(ctx, s) for s in mine}
        mine = [s for s in mine if cases_of[s.id] and cases_of[s.id].number in numbers]
    if len(mine) != 1:
        ctx.say(ctx.texts.staff_live_which_end if mine else ctx.texts.staff_live_none_yours,
                audience="staff")
        return
    await finish(ctx, mine[0], "staff")


async def staff_command(ctx: Context) -> None:
    """/talk 编号 (start), /live (what is waiting and running), /end [编号] in a staff chat."""
    ev = ctx.event
    if ev.command == "talk":
        number = ev.args.split()[0].upper() if ev.args.split() else ""
        case = await repo.case_by_number(ctx.session, number=number) if number else None
        await start_on(ctx, case)
    elif ev.command == "end":
        await staff_end(ctx, ev.args)
    else:
        await show_sessions(ctx)


async def show_sessions(ctx: Context) -> None:
    t = ctx.texts
    lines = []
    for session in await live.waiting(ctx.session):
        case = await case_of(ctx, session)
        lines.append(t("staff_live_waiting_item", case=case_words(ctx, case) or t.live_no_case,
                       minutes=minutes_since(ctx, session.requested_at)))
    for session in await live.running(ctx.session):
        case = await case_of(ctx, session)
        lines.append(t("staff_live_running_item", case=case_words(ctx, case) or t.live_no_case,
                       minutes=minutes_since(ctx, session.last_activity_at)))
    ctx.say("\n".join([t.staff_live_list, *lines]) if lines else t.staff_live_none,
            audience="staff")


# ---------------------------------------------------------------- the scheduler's part

async def end_silent(scope: Scope) -> int:
    """End the conversations silent for ``silence_minutes``; how many."""
    quiet = await live.silent(scope.session, scope.now, scope.catalog.live.silence_minutes)
    for session in quiet:
        await finish(scope, session, "silence")
    return len(quiet)


async def announce_queue(scope: Scope) -> int:
    """At opening time: the requests that waited out of hours, shown to staff once each."""
    if scope.catalog.live.last_opening(scope.now) is None:
        return 0
    shown = 0
    for session in await live.waiting(scope.session):
        if session.queued and await live.claim_announcement(scope.session, session, scope.now):
            case = await case_of(scope, session)
            await post_request(scope, session, case)
            shown += 1
    return shown
