"""The staff side: new-case alerts, and staff actions on cases in the staff chats.

Who may act (all in config):
- ``intake`` role (信访部门): user ids in ``HUIYIN_STAFF_USER_IDS``, for every case;
- ``handler`` role (承办单位): user ids in the ``staff`` list of the case's current department
  in ``departments.yaml``;
- ``leader`` role (领导): user ids in ``leaders.yaml``, for every case.
The case service (``CaseService.access``) answers who holds which role. A person may hold
several roles; a step is done in the first of their roles that the lifecycle table allows.
Anyone else is refused and nothing changes.

Buttons are built from the table for the case's status (``presenters.action_buttons``):
``StaffAction`` starts an action (or does it, when it needs no input); ``StaffChoice`` answers a
pending choice (department, leader, outcome); ``StaffCancel`` cancels it. Inputs an action
needs (the row's ``requires``) are asked one by one in the staff chat; the pending input lives
in the group's ``Conversation.data`` under ``forms[<user id>]``, so each staff member's next
message there answers their own question.
Commands in a staff chat do the same: ``/accept <case number>``, ``/decline <number> 理由|途径``…
"""
from __future__ import annotations

import logging
from typing import Any

from bot.chat import Button, Kind
from bot.conversations import grouping, live, presenters, report, websignin, worklist
from bot.conversations.buttons import (
    ButtonData,
    StaffAction,
    StaffCancel,
    StaffChoice,
    StaffGroupReply,
    StaffLink,
)
from bot.conversations.flow import Context, Scope
from bot.conversations.reception_days import COMMANDS as RECEPTION
from bot.conversations.reception_days import on_command as on_reception
from cases.lifecycle import Action, CaseStatus, Role, TransitionRefused
from cases.service import Done, Stale
from storage import cases, repo
from storage.models import Case

log = logging.getLogger(__name__)

CHOICE_FIELDS = ("department", "leader", "outcome")
COMMANDS = {
    "accept": Action.ACCEPT, "decline": Action.DECLINE, "route": Action.ROUTE,
    "object": Action.OBJECT, "leader": Action.ASSIGN_LEADER, "handle": Action.START_HANDLING,
    "extend": Action.EXTEND, "ask": Action.REQUEST_INFO, "received": Action.INFO_RECEIVED,
    "reply": Action.REPLY, "sendback": Action.SEND_BACK, "review": Action.START_REVIEW,
    "close": Action.CLOSE,
}
BUTTONS = (StaffAction, StaffChoice, StaffCancel, StaffLink, StaffGroupReply, *live.BUTTONS)


def roles_of(ctx: Context, user_id: int, case: Case | None = None) -> list[Role]:
    return ctx.casework.access.roles_of(user_id, case)


# ---------------------------------------------------------------- events in staff chats

async def on_staff_event(ctx: Context, button: ButtonData | None) -> None:
    """A staff chat: staff buttons, staff commands, and a staff member's pending answer.
    Everything else in a group is ignored."""
    ev = ctx.event
    if isinstance(button, live.BUTTONS):
        await live.on_staff_button(ctx, button)
    elif ev.kind == Kind.BUTTON and ev.data.startswith(f"{StaffAction.prefix}:"):
        await on_button(ctx, button)   # a staff button, or a forged one
    elif ev.kind == Kind.COMMAND:
        await on_command(ctx)
    elif (ev.kind in (Kind.TEXT, Kind.ATTACHMENT, Kind.OTHER) and ev.reply_to_text
          and await live.staff_reply(ctx)):
        return   # a handler answering a citizen in a live conversation
    elif ev.kind == Kind.TEXT and form_of(ctx) is not None:
        await on_answer(ctx, ev.text)


who = presenters.who


def refuse(ctx: Context, text: str) -> None:
    ctx.say(text, audience="staff")


def allowed_roles(ctx: Context, case: Case | None, missing: str) -> list[Role]:
    """The presser's roles on ``case``; refuses (``missing`` when there is no such case, else
    no permission) and returns [] when they may not act on it."""
    if case is None:
        refuse(ctx, missing)
        return []
    roles = roles_of(ctx, ctx.event.user_id, case)
    if not roles:
        refuse(ctx, ctx.texts.staff_forbidden)
    return roles


async def on_button(ctx: Context, button: ButtonData | None) -> None:
    ev, t = ctx.event, ctx.texts
    if not roles_of(ctx, ev.user_id):
        refuse(ctx, t.staff_forbidden)
        return
    if not isinstance(button, BUTTONS) or (isinstance(button, StaffAction)
                                           and button.action not in Action._value2member_map_):
        refuse(ctx, t.staff_bad_button)
        return
    case = await cases.case_by_id(ctx.session, case_id=button.case_id)
    roles = allowed_roles(ctx, case, t.staff_bad_button)
    if not roles:
        return
    if isinstance(button, StaffCancel):
        await cancel(ctx)
    elif isinstance(button, StaffLink):
        other = await cases.case_by_id(ctx.session, case_id=button.to_id)
        if allowed_roles(ctx, other, t.staff_bad_button):
            await grouping.link(ctx, case, other)
    elif isinstance(button, StaffGroupReply):
        await group_reply(ctx, case, button.version)
    elif isinstance(button, StaffChoice):
        await on_choice(ctx, case, button.version, button.choice)
    else:
        await begin(ctx, case, Action(button.action), roles, button.version,
                    message_id=ev.message_id)


async def begin(ctx: Context, case: Case, action: Action, roles: list[Role], version: int, *,
                message_id: int | None, given: list[str] = ()) -> None:
    """Start ``action`` on ``case`` as seen at ``version``: do it now when it needs no input,
    else ask for the first input."""
    if case.version != version:
        refuse(ctx, presenters.refusal(ctx.casework.stale(case)))
        await presenters.post_card(ctx, case, ctx.event.chat_id, edit_message_id=message_id)
        return
    role = ctx.casework.role_for(roles, case, action)
    row = ctx.catalog.lifecycle.row(CaseStatus(case.status), action)
    try:
        await ctx.casework.plan(ctx.session, case, action, role, now=ctx.now,
                                fields=probe(ctx, row))
    except TransitionRefused as exc:
        refuse(ctx, presenters.refusal(exc))
        return
    form = {"case": case.id, "version": version, "action": action.value, "role": role.value,
            "fields": {}, "message_id": message_id}
    forms(ctx)[str(ctx.event.user_id)] = form
    for value in given:
        if not await fill(ctx, case, form, value.strip()):
            return
    await proceed(ctx, case, form)


def probe(ctx: Context, row) -> dict[str, Any]:
    """Placeholder inputs, to ask the table whether a step is possible before any is typed."""
    table = ctx.catalog.lifecycle
    plain = next((k for k, c in table.outcomes.items() if not c.requires), "")
    sample = {"days": 1, "outcome": plain, "rating": next(iter(table.ratings), "")}
    return {name: sample.get(name, "…") for name in (row.requires if row else ())}


def forms(ctx: Context) -> dict:
    return ctx.data.setdefault("forms", {})


def form_of(ctx: Context) -> dict | None:
    return (ctx.data.get("forms") or {}).get(str(ctx.event.user_id))


def needed(ctx: Scope, form: dict, case: Case) -> list[str]:
    """The inputs the form's row needs, the chosen outcome's own inputs right after it."""
    table = ctx.catalog.lifecycle
    row = table.row(CaseStatus(case.status), Action(form["action"]))
    names = list(row.requires) if row else []
    outcome = table.outcomes.get(form["fields"].get("outcome", ""))
    if outcome and "outcome" in names:
        at = names.index("outcome") + 1
        names[at:at] = [n for n in outcome.requires if n not in names]
    return names


def missing(ctx: Scope, form: dict, case: Case) -> str | None:
    return next((n for n in needed(ctx, form, case) if n not in form["fields"]), None)


async def proceed(ctx: Context, case: Case, form: dict) -> None:
    name = missing(ctx, form, case)
    if name is None:
        await finish(ctx, case, form)
    else:
        ask(ctx, case, form, name)


def ask(ctx: Context, case: Case, form: dict, name: str) -> None:
    t, table = ctx.texts, ctx.catalog.lifecycle
    label = table.field_labels[name]
    cancel_row = [Button(t.staff_cancel_button, StaffCancel(case.id, form["version"]).pack())]
    choices = choice_options(ctx, case, name)
    if choices is not None:
        if not choices:
            forms(ctx).pop(str(ctx.event.user_id), None)
            refuse(ctx, t("staff_no_choices", label=label))
            return
        buttons = [Button(text, StaffChoice(case.id, form["version"], key).pack())
                   for key, text in choices]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        ctx.say(t("staff_pick", who=who(ctx), number=case.number, label=label),
                rows + [cancel_row], audience="staff")
        return
    hint = t.get(f"staff_hint_{name}", "")
    ctx.say(t("staff_ask", who=who(ctx), number=case.number, label=label, hint=hint),
            [cancel_row], audience="staff")


def choice_options(ctx: Scope, case: Case, name: str) -> list[tuple[str, str]] | None:
    """(key, button text) of a choice input; None when the input is typed."""
    if name == "department":  # first routing: the proposed department first; else another
        deps = ctx.catalog.departments
        if case.status == CaseStatus.REGISTERED and case.department in deps:
            proposed = ctx.texts("staff_proposed", name=deps[case.department].name)
            return [(case.department, proposed)] + [
                (key, dep.name) for key, dep in deps.items() if key != case.department]
        return [(key, dep.name) for key, dep in deps.items() if key != case.department]
    if name == "leader":
        return [(str(i), leader.name) for i, leader in enumerate(ctx.catalog.leaders)]
    if name == "outcome":
        return [(key, c.label) for key, c in ctx.catalog.lifecycle.outcomes.items()]
    return None


def choose(ctx: Scope, case: Case, form: dict, name: str, key: str) -> bool:
    """Store a choice (by key, or by its label when typed); False when it is not one."""
    for option, text in choice_options(ctx, case, name) or []:
        if name == "department":
            text = ctx.catalog.department_name(option)
        if key in (option, text):
            if name == "department":
                form["department"] = option
                form["fields"][name] = text
            elif name == "leader":
                form["leader_id"] = ctx.catalog.leaders[int(option)].user_id
                form["fields"][name] = text
            else:
                form["fields"][name] = option
            return True
    return False


async def fill(ctx: Context, case: Case, form: dict, value: str) -> bool:
    """One input typed (or given with a command). False when it was refused and asked again."""
    name = missing(ctx, form, case)
    if name is None:
        return True
    if not value:
        ask(ctx, case, form, name)
        return False
    problem = take_input(ctx, case, form, name, value)
    if problem is not None:
        refuse(ctx, problem)
        if name in CHOICE_FIELDS or name == "days":
            ask(ctx, case, form, name)
        return False
    return True


def take_input(scope: Scope, case: Case, form: dict, name: str, value: str) -> str | None:
    """Check one input of a step (the chat's and the web's) and store it in ``form``; the
    reason in words when it is refused."""
    t = scope.texts
    if name in CHOICE_FIELDS:
        return None if choose(scope, case, form, name, value) else t.staff_pick_a_button
    if len(value) > scope.settings.max_description_chars:
        return t("too_long", got=len(value), max=scope.settings.max_description_chars)
    if name == "days":
        digits = value.rstrip(t.staff_days_suffixes)
        if not digits.isdigit():
            return t.staff_days_number
        value = digits
    form["fields"][name] = value
    return None


async def on_answer(ctx: Context, text: str) -> None:
    form = form_of(ctx)
    case = await cases.case_by_id(ctx.session, case_id=form["case"])
    if case is None or not roles_of(ctx, ctx.event.user_id, case):
        forms(ctx).pop(str(ctx.event.user_id), None)
        refuse(ctx, ctx.texts.staff_forbidden)
        return
    if case.version != form["version"]:   # someone acted on the case meanwhile
        forms(ctx).pop(str(ctx.event.user_id), None)
        refuse(ctx, presenters.refusal(ctx.casework.stale(case)))
        await presenters.post_card(ctx, case, ctx.event.chat_id,
                                   edit_message_id=form.get("message_id"))
        return
    if await fill(ctx, case, form, text.strip()):
        await proceed(ctx, case, form)


async def on_choice(ctx: Context, case: Case, version: int, key: str) -> None:
    form = form_of(ctx)
    if form is None or form["case"] != case.id or form["version"] != version:
        refuse(ctx, ctx.texts.staff_bad_button)
        return
    name = missing(ctx, form, case)
    if name not in CHOICE_FIELDS or not choose(ctx, case, form, name, key):
        refuse(ctx, ctx.texts.staff_bad_button)
        return
    await proceed(ctx, case, form)


async def cancel(ctx: Context) -> None:
    if forms(ctx).pop(str(ctx.event.user_id), None) is None:
        refuse(ctx, ctx.texts.staff_nothing_pending)
    else:
        ctx.say(ctx.texts("staff_cancelled", who=who(ctx)), audience="staff")


async def finish(ctx: Context, case: Case, form: dict) -> None:
    """All inputs are there: carry the step out, tell the chat, refresh the case's buttons."""
    ev = ctx.event
    forms(ctx).pop(str(ev.user_id), None)
    try:
        await carry_out(ctx, case, form, user_id=ev.user_id, who=who(ctx), here=ev.chat_id,
                        edit_message_id=form.get("message_id"))
    except Stale as exc:
        refuse(ctx, presenters.refusal(exc))
        await presenters.post_card(ctx, case, ev.chat_id, edit_message_id=form.get("message_id"))
    except TransitionRefused as exc:
        refuse(ctx, presenters.refusal(exc))


async def carry_out(scope: Scope, case: Case, form: dict, *, user_id: int, who: str,
                    here: int | None, edit_message_id: int | None = None,
                    quiet: bool = False) -> Done:
    """Carry out a staff step whose inputs are all in ``form`` (from the chat or the web) and
    tell people: the citizen as the lifecycle row says, the staff chat it was done in (done
    elsewhere: the case's department chat) with the refreshed card (not when ``quiet``: the
    caller tells it), and a new department's chat after routing. A reply to the main case of a
    group offers the same reply to the rest of the group. Raises ``Stale`` or
    ``TransitionRefused`` with nothing written."""
    action, role = Action(form["action"]), Role(form["role"])
    chat = here if here is not None else scope.staff_chat_for(case.department)
    done = await scope.casework.act(scope.session, case, action, role, now=scope.now,
                                    seen_version=form["version"], actor=f"staff:{user_id}",
                                    fields=form["fields"], department=form.get("department"),
                                    leader_id=form.get("leader_id"))
    told = await presenters.announce(scope, done)
    log.info("case %s: %s by %s", case.id, action.value, role.value)
    lifecycle = scope.catalog.lifecycle
    if chat is not None and not quiet:
        rest = await grouping.rest_to_reply(scope, done.case) if action == Action.REPLY else []
        offer = ([[Button(scope.texts("staff_group_reply_button", n=len(rest)),
                          StaffGroupReply(case.id, done.case.version).pack())]] if rest else [])
        scope.send(chat, scope.texts("staff_done", number=case.number,
                                     action=lifecycle.action_label(action), who=who,
                                     status=lifecycle.status_label(done.case.status),
                                     told=scope.texts.staff_done_told if told else ""), offer)
        await presenters.post_card(scope, case, chat, edit_message_id=edit_message_id)
    target = scope.staff_chat_for(case.department)
    if action == Action.ROUTE and target is not None and target != chat:
        await presenters.post_card(scope, case, target)
    return done


# ---------------------------------------------------------------- commands

# Commands that show something rather than act on one case: /cases (open cases by traffic
# light) and /stats (the leaders' numbers and chart).
VIEWS = {"cases": worklist.show, "stats": report.on_command, "warnings": grouping.show_warnings}
# Commands that group cases about one matter: /link 编号 主案件编号, /unlink 编号, /main 编号
GROUPING = ("link", "unlink", "main")
# Live reception: /talk 编号 (talk with the citizen), /live (waiting and running), /end [编号]
LIVE = ("talk", "live", "end")


async def on_command(ctx: Context) -> None:
    ev, t = ctx.event, ctx.texts
    known = (ev.command in COMMANDS or ev.command in VIEWS or ev.command in GROUPING
             or ev.command in LIVE or ev.command in ("case", "help", "cancel"))
    if ev.command == "web":
        await websignin.cmd_web(ctx)
        return
    if ev.command in RECEPTION:   # leaders' reception days: /slot /slots /cancelslot /outcome
        await on_reception(ctx)
        return
    if not known:
        return  # not ours: groups hear many bots' commands
    if not roles_of(ctx, ev.user_id):
        refuse(ctx, t.staff_forbidden)
        return
    if ev.command == "help":
        ctx.say(f"{t.staff_help}\n\n{t.reception_staff_help}", audience="staff")
        return
    if ev.command == "cancel":
        await cancel(ctx)
        return
    if ev.command in VIEWS:
        await VIEWS[ev.command](ctx, roles_of(ctx, ev.user_id))
        return
    if ev.command in LIVE:
        await live.staff_command(ctx)
        return
    number, _, rest = ev.args.partition(" ")
    case = await repo.case_by_number(ctx.session, number=number.strip().upper()) if number else None
    roles = allowed_roles(ctx, case, t.staff_no_case)
    if not roles:
        return
    if ev.command == "case":
        await presenters.post_card(ctx, case, ev.chat_id)
        return
    if ev.command in GROUPING:
        await grouping_command(ctx, case, rest.strip())
        return
    given = [v for v in rest.replace("｜", "|").split("|") if v.strip()] if rest.strip() else []
    await begin(ctx, case, COMMANDS[ev.command], roles, case.version, message_id=None,
                given=given)


# ---------------------------------------------------------------- cases about one matter

async def grouping_command(ctx: Context, case: Case, rest: str) -> None:
    """/link 编号 主案件编号, /unlink 编号, /main 编号 (the case is checked already)."""
    t, command = ctx.texts, ctx.event.command
    if command == "unlink":
        await grouping.unlink(ctx, case)
    elif command == "main":
        await grouping.make_main(ctx, case)
    elif not rest:
        refuse(ctx, t.staff_link_usage)
    else:
        other = await repo.case_by_number(ctx.session, number=rest.split()[0].upper())
        if allowed_roles(ctx, other, t.staff_no_case):
            await grouping.link(ctx, case, other)


async def group_reply(ctx: Context, case: Case, version: int) -> None:
    """The chat's 「同样答复同组其余 N 件」 button (``reply_to_group``, told in the chat)."""
    ev, t = ctx.event, ctx.texts
    try:
        sent, skipped = await reply_to_group(ctx, case, version, user_id=ev.user_id,
                                             who=who(ctx), here=ev.chat_id)
    except Stale as exc:
        refuse(ctx, presenters.refusal(exc))
        return
    if not sent:
        refuse(ctx, t.staff_group_nothing)
        return
    ctx.say(t("staff_group_replied", number=case.number, n=len(sent), who=who(ctx),
              skipped=t("staff_group_skipped", cases="、".join(skipped)) if skipped else ""),
            audience="staff")


async def reply_to_group(scope: Scope, case: Case, version: int, *, user_id: int, who: str,
                         here: int | None) -> tuple[list[str], list[str]]:
    """The reply given to the main case (as seen at ``version``), given to each other case of
    its group that ``user_id`` may reply to now (each citizen is told, and rates, on their
    own): the numbers replied to and those skipped. The chat's button and the web's form both
    call it. Raises ``Stale`` (nothing written) when the case changed or has no reply."""
    reply = await grouping.last_reply(scope, case)
    if case.version != version or reply is None:
        raise scope.casework.stale(case)
    sent, skipped = [], []
    for member in await grouping.rest_to_reply(scope, case, everyone=True):
        roles = scope.casework.access.roles_of(user_id, member)
        if not roles or Action.REPLY not in scope.casework.actions_for(member, roles):
            skipped.append(member.number)
            continue
        form = {"action": Action.REPLY.value, "version": member.version,
                "role": scope.casework.role_for(roles, member, Action.REPLY).value,
                "fields": dict(reply)}
        try:
            await carry_out(scope, member, form, user_id=user_id, who=who, here=here,
                            quiet=True)
            sent.append(member.number)
        except TransitionRefused:
            skipped.append(member.number)
    return sent, skipped
