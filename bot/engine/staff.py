"""The staff side: new-case alerts, and staff actions on cases in the staff chats.

Who may act (all in config):
- ``intake`` role (信访部门): user ids in ``HUIYIN_STAFF_USER_IDS``, for every case;
- ``handler`` role (承办单位): user ids in the ``staff`` list of the case's current department
  in ``config/departments.yaml``;
- ``leader`` role (领导): user ids in ``config/leaders.yaml``, for every case.
A person may hold several roles; a step is done in the first of their roles that the lifecycle
table allows. Anyone else is refused and nothing changes.

Buttons are built from the table (``Lifecycle.actions_for``) for the case's status. Callback data:
``s:<action>:<case id>:<version>`` starts an action (or does it, when it needs no input);
``s:v:<case id>:<version>:<choice>`` answers a pending choice (department, leader, outcome);
``s:x:<case id>:<version>`` cancels it. Inputs an action needs (the row's ``requires``) are asked
one by one in the staff chat; the pending input lives in the group's ``Conversation.data``
under ``forms[<user id>]``, so each staff member's next message there answers their own question.
Commands in a staff chat do the same: ``/accept <case number>``, ``/decline <number> 理由|途径``…
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from bot.engine import casework, caseinfo
from bot.engine.core import Context
from bot.engine.deadlines import local_date
from bot.engine.lifecycle import Action, CaseStatus, Role, TransitionRefused
from bot.engine.render import category_of, esc, local_time, mask_phone, shorten
from bot.engine.types import Button, Kind, Outgoing
from config.catalog import load_yaml
from nlp.api import Flag
from storage import cases, repo
from storage.models import Case

log = logging.getLogger(__name__)

STAFF_ROLES = (Role.INTAKE, Role.HANDLER, Role.LEADER)
CHOICE_FIELDS = ("department", "leader", "outcome")
COMMANDS = {
    "accept": Action.ACCEPT, "decline": Action.DECLINE, "route": Action.ROUTE,
    "object": Action.OBJECT, "leader": Action.ASSIGN_LEADER, "handle": Action.START_HANDLING,
    "extend": Action.EXTEND, "ask": Action.REQUEST_INFO, "received": Action.INFO_RECEIVED,
    "reply": Action.REPLY, "sendback": Action.SEND_BACK, "review": Action.START_REVIEW,
    "close": Action.CLOSE,
}


# ---------------------------------------------------------------- who may act

@dataclass(frozen=True, slots=True)
class Leader:
    user_id: int
    name: str


@cache
def _leaders(config_dir: Path) -> tuple[Leader, ...]:
    if not (config_dir / "leaders.yaml").exists():
        return ()
    raw = load_yaml("leaders.yaml", config_dir) or {}
    return tuple(Leader(int(row["user_id"]), str(row["name"])) for row in raw.get("leaders") or ())


def leaders(ctx: Context) -> tuple[Leader, ...]:
    return _leaders(Path(ctx.engine.catalog.config_dir))


def roles_of(ctx: Context, user_id: int, case: Case | None = None) -> list[Role]:
    """The roles ``user_id`` holds for ``case`` (for any case when ``case`` is None)."""
    roles = []
    if user_id in ctx.engine.settings.staff_user_ids:
        roles.append(Role.INTAKE)
    deps = ctx.engine.catalog.departments
    if case is None:
        if any(user_id in d.staff for d in deps.values()):
            roles.append(Role.HANDLER)
    elif case.department in deps and user_id in deps[case.department].staff:
        roles.append(Role.HANDLER)
    if any(leader.user_id == user_id for leader in leaders(ctx)):
        roles.append(Role.LEADER)
    return roles


def role_for(roles: list[Role], case: Case, action: Action) -> Role:
    row = casework.lifecycle().row(CaseStatus(case.status), action)
    return next((r for r in roles if row and r in row.roles), roles[0])


def chat_roles(ctx: Context, chat_id: int) -> tuple[Role, ...]:
    """Whose buttons a chat gets: the leaders' chat leaders' only, staff chats everyone's."""
    return (Role.LEADER,) if chat_id == ctx.engine.settings.leaders_chat_id else STAFF_ROLES


# ---------------------------------------------------------------- cards and buttons

def data(*parts: object) -> str:
    value = ":".join(["s", *map(str, parts)])
    if len(value.encode()) > 64:   # Telegram's limit for callback data
        raise ValueError(f"callback data over 64 bytes: {value!r}")
    return value


def action_buttons(case: Case, roles: tuple[Role, ...]) -> list[list[Button]]:
    table = casework.lifecycle()
    status, paused = CaseStatus(case.status), case.paused_since is not None
    allowed = {a for r in roles for a in table.actions_for(status, r, paused=paused)}
    ordered = dict.fromkeys(row.action for (s, _), row in table.transitions.items() if s == status)
    buttons = [Button(a.label, data(a.value, case.id, case.version))
               for a in ordered if a in allowed]
    return [buttons[i:i + 3] for i in range(0, len(buttons), 3)]


def answer_lines(ctx: Context, case: Case) -> list[str]:
    rules = ctx.engine.catalog.rules_for(case.level1, case.level2, case.level3)
    return [f"{esc(q.label)}：{esc(case.answers[q.key])}" for q in rules.questions
            if case.answers.get(q.key)]


def card_values(ctx: Context, case: Case, lines: list[str], attachments: int) -> dict[str, Any]:
    t = ctx.texts
    dep = ctx.engine.catalog.departments.get(case.department)
    hidden = case.anonymous or (dep is not None and dep.confidential)
    flags = "、".join(Flag.LABELS.get(f, f) for f in case.flags)
    return dict(number=case.number, category=category_of(case),
                department=esc(ctx.engine.catalog.department_name(case.department)),
                flags=t("staff_flags", flags=flags) if flags else "",
                date=local_time(case.created_at),
                name="（保密）" if hidden else esc(case.name or t.not_given),
                phone="（保密）" if hidden else mask_phone(case.phone),
                location=esc(case.location or t.not_given),
                since=esc(case.since or t.not_given),
                answers="\n".join(lines),
                description=esc(shorten(case.description, 1500)),
                attachments=attachments)


async def case_card(ctx: Context, case: Case) -> str:
    """The case as staff see it now: status, running limits, and what was filed."""
    t, rules = ctx.texts, casework.lifecycle().rules
    attachments = await repo.count_attachments(ctx.session, case_id=case.id)
    limits = []
    for d in await cases.running_deadlines(ctx.session, case_id=case.id):
        label = rules.limits[d.kind].label if d.kind in rules.limits else d.kind
        if d.paused_at is not None:
            limits.append(t("staff_limit_paused", label=label))
        else:  # due_at is the midnight after the last day
            last_day = local_date(d.due_at - timedelta(seconds=1))
            limits.append(t("staff_limit", label=label, day=last_day.isoformat()))
    status = CaseStatus(case.status).label
    if case.paused_since is not None:
        status += t.staff_waiting_citizen
    light = caseinfo.light_words(t, (await caseinfo.lights_of(ctx.session, [case], ctx.now))[
        case.id])
    return t("staff_case_card", status=status, limits="".join(limits),
             light=f" · {light}" if light else "",
             **card_values(ctx, case, answer_lines(ctx, case), attachments))


async def post_card(ctx: Context, case: Case, chat_id: int, *, audience: str = "staff",
                    edit_message_id: int | None = None) -> None:
    ctx.out.append(Outgoing(chat_id=chat_id, text=await case_card(ctx, case),
                            buttons=action_buttons(case, chat_roles(ctx, chat_id)),
                            audience=audience, edit_message_id=edit_message_id))


# ---------------------------------------------------------------- new cases

def alert_new_case(ctx: Context, case, answer_lines: list[str]) -> None:
    """Post the new case to its department's staff chat, phone masked, with the first actions;
    flagged cases also to the leaders' chat. Starts the limits that run from registration."""
    casework.start_registration_deadlines(ctx, case)
    values = card_values(ctx, case, answer_lines, len(ctx.data.get("attachments") or []))
    text = ctx.texts("staff_new_case", **values)
    chat_id = ctx.engine.staff_chat_for(case.department)
    if chat_id is not None:
        ctx.send(chat_id, text, action_buttons(case, chat_roles(ctx, chat_id)))
    settings = ctx.engine.settings
    if settings.leaders_chat_id and set(case.flags) & set(settings.leader_flags):
        ctx.send(settings.leaders_chat_id, text,
                 action_buttons(case, chat_roles(ctx, settings.leaders_chat_id)),
                 audience="leaders")


def tell_handler(ctx: Context, case: Case, info: str, attachments: int) -> None:
    """A citizen added information to a case: its department's staff chat is told."""
    chat_id = ctx.engine.staff_chat_for(case.department)
    if chat_id is None:
        return
    ctx.send(chat_id, ctx.texts("staff_citizen_added", number=case.number,
                                info=esc(shorten(info, 1500)), attachments=attachments),
             action_buttons(case, chat_roles(ctx, chat_id)))


# ---------------------------------------------------------------- events in staff chats

async def on_group_event(ctx: Context) -> None:
    """A staff chat: staff buttons, staff commands, and a staff member's pending answer.
    Everything else in a group is ignored."""
    ev = ctx.event
    if ev.kind == Kind.BUTTON and ev.data.startswith("s:"):
        await on_button(ctx, ev.data.split(":")[1:], {})
    elif ev.kind == Kind.COMMAND:
        await on_command(ctx)
    elif ev.kind == Kind.TEXT and form_of(ctx) is not None:
        await on_answer(ctx, ev.text)


def who(ctx: Context) -> str:
    return esc(ctx.event.user_name or ctx.texts.staff_someone)


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


async def on_button(ctx: Context, parts: list[str], _flows: dict) -> None:
    ev, t = ctx.event, ctx.texts
    if not roles_of(ctx, ev.user_id):
        refuse(ctx, t.staff_forbidden)
        return
    head = parts[0] if parts else ""
    try:
        case_id, version = int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        refuse(ctx, t.staff_bad_button)
        return
    case = await cases.case_by_id(ctx.session, case_id=case_id)
    roles = allowed_roles(ctx, case, t.staff_bad_button)
    if not roles:
        return
    if head == "x" and len(parts) == 3:
        await cancel(ctx)
        return
    if head == "v" and len(parts) == 4:
        await on_choice(ctx, case, version, parts[3])
        return
    try:
        action = Action(head)
    except ValueError:
        refuse(ctx, t.staff_bad_button)
        return
    if len(parts) != 3:
        refuse(ctx, t.staff_bad_button)
        return
    await begin(ctx, case, action, roles, version, message_id=ev.message_id)


async def begin(ctx: Context, case: Case, action: Action, roles: list[Role], version: int, *,
                message_id: int | None, given: list[str] = ()) -> None:
    """Start ``action`` on ``case`` as seen at ``version``: do it now when it needs no input,
    else ask for the first input."""
    if case.version != version:
        refuse(ctx, casework.stale_message(case))
        await post_card(ctx, case, ctx.event.chat_id, edit_message_id=message_id)
        return
    role = role_for(roles, case, action)
    row = casework.lifecycle().row(CaseStatus(case.status), action)
    try:
        await casework.plan(ctx, case, action, role, fields=probe(row))
    except TransitionRefused as exc:
        refuse(ctx, esc(exc))
        return
    form = {"case": case.id, "version": version, "action": action.value, "role": role.value,
            "fields": {}, "message_id": message_id}
    forms(ctx)[str(ctx.event.user_id)] = form
    for value in given:
        if not await fill(ctx, case, form, value.strip()):
            return
    await proceed(ctx, case, form)


def probe(row) -> dict[str, Any]:
    """Placeholder inputs, to ask the table whether a step is possible before any is typed."""
    table = casework.lifecycle()
    plain = next((k for k, c in table.outcomes.items() if not c.requires), "")
    sample = {"days": 1, "outcome": plain, "rating": next(iter(table.ratings), "")}
    return {name: sample.get(name, "…") for name in (row.requires if row else ())}


def forms(ctx: Context) -> dict:
    return ctx.data.setdefault("forms", {})


def form_of(ctx: Context) -> dict | None:
    return (ctx.data.get("forms") or {}).get(str(ctx.event.user_id))


def needed(form: dict, case: Case) -> list[str]:
    """The inputs the form's row needs, the chosen outcome's own inputs right after it."""
    table = casework.lifecycle()
    row = table.row(CaseStatus(case.status), Action(form["action"]))
    names = list(row.requires) if row else []
    outcome = table.outcomes.get(form["fields"].get("outcome", ""))
    if outcome and "outcome" in names:
        at = names.index("outcome") + 1
        names[at:at] = [n for n in outcome.requires if n not in names]
    return names


def missing(form: dict, case: Case) -> str | None:
    return next((n for n in needed(form, case) if n not in form["fields"]), None)


async def proceed(ctx: Context, case: Case, form: dict) -> None:
    name = missing(form, case)
    if name is None:
        await finish(ctx, case, form)
    else:
        ask(ctx, case, form, name)


def ask(ctx: Context, case: Case, form: dict, name: str) -> None:
    t, table = ctx.texts, casework.lifecycle()
    label = table.field_labels[name]
    cancel_row = [Button(t.staff_cancel_button, data("x", case.id, form["version"]))]
    choices = choice_options(ctx, case, name)
    if choices is not None:
        if not choices:
            forms(ctx).pop(str(ctx.event.user_id), None)
            refuse(ctx, t("staff_no_choices", label=label))
            return
        buttons = [Button(text, data("v", case.id, form["version"], key)) for key, text in choices]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        ctx.say(t("staff_pick", who=who(ctx), number=case.number, label=label),
                rows + [cancel_row], audience="staff")
        return
    hint = t.get(f"staff_hint_{name}", "")
    ctx.say(t("staff_ask", who=who(ctx), number=case.number, label=label, hint=hint),
            [cancel_row], audience="staff")


def choice_options(ctx: Context, case: Case, name: str) -> list[tuple[str, str]] | None:
    """(key, button text) of a choice input; None when the input is typed."""
    if name == "department":  # first routing: the proposed department first; else another
        deps = ctx.engine.catalog.departments
        if case.status == CaseStatus.REGISTERED and case.department in deps:
            proposed = ctx.texts("staff_proposed", name=deps[case.department].name)
            return [(case.department, proposed)] + [
                (key, dep.name) for key, dep in deps.items() if key != case.department]
        return [(key, dep.name) for key, dep in deps.items() if key != case.department]
    if name == "leader":
        return [(str(i), leader.name) for i, leader in enumerate(leaders(ctx))]
    if name == "outcome":
        return [(key, c.label) for key, c in casework.lifecycle().outcomes.items()]
    return None


def choose(ctx: Context, case: Case, form: dict, name: str, key: str) -> bool:
    """Store a choice (by key, or by its label when typed); False when it is not one."""
    for option, text in choice_options(ctx, case, name) or []:
        if name == "department":
            text = ctx.engine.catalog.department_name(option)
        if key in (option, text):
            if name == "department":
                form["department"] = option
                form["fields"][name] = text
            elif name == "leader":
                form["leader_id"] = leaders(ctx)[int(option)].user_id
                form["fields"][name] = text
            else:
                form["fields"][name] = option
            return True
    return False


async def fill(ctx: Context, case: Case, form: dict, value: str) -> bool:
    """One input typed (or given with a command). False when it was refused and asked again."""
    t = ctx.texts
    name = missing(form, case)
    if name is None:
        return True
    if not value:
        ask(ctx, case, form, name)
        return False
    if name in CHOICE_FIELDS:
        if not choose(ctx, case, form, name, value):
            refuse(ctx, t.staff_pick_a_button)
            ask(ctx, case, form, name)
            return False
        return True
    if len(value) > ctx.engine.settings.max_description_chars:
        refuse(ctx, t("too_long", got=len(value), max=ctx.engine.settings.max_description_chars))
        return False
    if name == "days":
        digits = value.rstrip("日天 ")
        if not digits.isdigit():
            refuse(ctx, t.staff_days_number)
            ask(ctx, case, form, name)
            return False
        value = digits
    form["fields"][name] = value
    return True


async def on_answer(ctx: Context, text: str) -> None:
    form = form_of(ctx)
    case = await cases.case_by_id(ctx.session, case_id=form["case"])
    if case is None or not roles_of(ctx, ctx.event.user_id, case):
        forms(ctx).pop(str(ctx.event.user_id), None)
        refuse(ctx, ctx.texts.staff_forbidden)
        return
    if case.version != form["version"]:   # someone acted on the case meanwhile
        forms(ctx).pop(str(ctx.event.user_id), None)
        refuse(ctx, casework.stale_message(case))
        await post_card(ctx, case, ctx.event.chat_id, edit_message_id=form.get("message_id"))
        return
    if await fill(ctx, case, form, text.strip()):
        await proceed(ctx, case, form)


async def on_choice(ctx: Context, case: Case, version: int, key: str) -> None:
    form = form_of(ctx)
    if form is None or form["case"] != case.id or form["version"] != version:
        refuse(ctx, ctx.texts.staff_bad_button)
        return
    name = missing(form, case)
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
    t, ev = ctx.texts, ctx.event
    forms(ctx).pop(str(ev.user_id), None)
    action, role = Action(form["action"]), Role(form["role"])
    try:
        done = await casework.act(ctx, case, action, role, seen_version=form["version"],
                                  actor=f"staff:{ev.user_id}", fields=form["fields"],
                                  department=form.get("department"),
                                  leader_id=form.get("leader_id"))
    except casework.Stale as exc:
        refuse(ctx, esc(exc))
        await post_card(ctx, case, ev.chat_id, edit_message_id=form.get("message_id"))
        return
    except TransitionRefused as exc:
        refuse(ctx, esc(exc))
        return
    log.info("case %s: %s by %s", case.id, action.value, role.value)
    ctx.say(t("staff_done", number=case.number, action=action.label, who=who(ctx),
              status=CaseStatus(done.case.status).label), audience="staff")
    await post_card(ctx, case, ev.chat_id, edit_message_id=form.get("message_id"))
    target = ctx.engine.staff_chat_for(case.department)
    if action == Action.ROUTE and target is not None and target != ev.chat_id:
        await post_card(ctx, case, target)


# ---------------------------------------------------------------- commands

async def show_worklist(ctx: Context, roles: list[Role]) -> None:
    from bot.engine import worklist

    await worklist.show(ctx, roles)


async def show_stats(ctx: Context, roles: list[Role]) -> None:
    from bot.engine import stats

    await stats.on_command(ctx, roles)


# Commands that show something rather than act on one case: /cases (open cases by traffic
# light) and /stats (the leaders' numbers and chart).
VIEWS = {"cases": show_worklist, "stats": show_stats}


async def on_command(ctx: Context) -> None:
    ev, t = ctx.event, ctx.texts
    known = ev.command in COMMANDS or ev.command in VIEWS or ev.command in ("case", "help",
                                                                            "cancel")
    if not known:
        return  # not ours: groups hear many bots' commands
    if not roles_of(ctx, ev.user_id):
        refuse(ctx, t.staff_forbidden)
        return
    if ev.command == "help":
        ctx.say(t.staff_help, audience="staff")
        return
    if ev.command == "cancel":
        await cancel(ctx)
        return
    if ev.command in VIEWS:
        await VIEWS[ev.command](ctx, roles_of(ctx, ev.user_id))
        return
    number, _, rest = ev.args.partition(" ")
    case = await repo.case_by_number(ctx.session, number=number.strip().upper()) if number else None
    roles = allowed_roles(ctx, case, t.staff_no_case)
    if not roles:
        return
    if ev.command == "case":
        await post_card(ctx, case, ev.chat_id)
        return
    given = [v for v in rest.replace("｜", "|").split("|") if v.strip()] if rest.strip() else []
    await begin(ctx, case, COMMANDS[ev.command], roles, case.version, message_id=None,
                given=given)
