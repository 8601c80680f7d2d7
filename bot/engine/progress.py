"""Progress for citizens: their own cases, and any case by number and query code."""
from __future__ import annotations

import re
from datetime import timedelta

from bot.engine import caseinfo
from bot.engine.core import Context
from bot.engine.lifecycle import CaseStatus
from bot.engine.render import category_of, esc, local_time
from bot.engine.types import Button
from bot.engine import validate
from storage import repo

MAX_FAILURES_PER_HOUR = 5
_QUERY = re.compile(r"^\s*(HY\d{8}-\d{5,})\s+(\d{6})\s*$", re.IGNORECASE)


def status_label(status: str) -> str:
    try:
        return CaseStatus(status).label
    except ValueError:
        return status


async def show(ctx: Context, args: str = "", *, keep_flow: bool = False) -> None:
    if args.strip():
        await open_by_code(ctx, args)
        return
    t = ctx.texts
    cases = await repo.cases_of_citizen(ctx.session, chat_id=ctx.event.chat_id)
    query_row = [Button(t.progress_query_button, "p:query")]
    if not cases:
        ctx.say(t.progress_empty, [[Button(t.menu_file, "m:file")], query_row])
        return
    rules = caseinfo.table().rules
    lights = await caseinfo.lights_of(ctx.session, cases, ctx.now, rules)
    running = await caseinfo.running_of(ctx.session, [c.id for c in cases])
    lines = [t("progress_list", n=len(cases))]
    for c in cases:
        nxt = caseinfo.next_deadline(running[c.id], ctx.now, rules, for_citizen=True)
        extra = [caseinfo.light_words(t, lights[c.id]),
                 caseinfo.deadline_words(t, nxt, ctx.now, rules)]
        lines.append(t("progress_item", number=c.number, category=category_of(c),
                       status=status_label(c.status), date=local_time(c.created_at)[:10],
                       department=esc(ctx.engine.catalog.department_name(c.department)),
                       extra="".join(f" · {x}" for x in extra if x)))
    rows = [[Button(t("progress_open", number=c.number), f"p:case:{c.number}")]
            for c in cases[:8]]
    ctx.say("\n".join(lines), rows + [query_row])


async def show_case(ctx: Context, case, *, owned: bool = False) -> None:
    """The case and its timeline in plain words; staff-only events are left out."""
    from bot.engine import rating, supplement

    t, rules = ctx.texts, caseinfo.table().rules
    events = await repo.events_of_case(ctx.session, case_id=case.id)
    light = (await caseinfo.lights_of(ctx.session, [case], ctx.now, rules))[case.id]
    running = (await caseinfo.running_of(ctx.session, [case.id]))[case.id]
    nxt = caseinfo.next_deadline(running, ctx.now, rules, for_citizen=True)
    glance = [caseinfo.light_words(t, light), caseinfo.deadline_words(t, nxt, ctx.now, rules)]
    lines = [t("case_detail", number=case.number, category=category_of(case),
               department=esc(ctx.engine.catalog.department_name(case.department)),
               status=status_label(case.status), date=local_time(case.created_at)),
             *[x for x in glance if x], "", t.case_timeline]
    for e in events:
        words = caseinfo.event_words(e)
        if words is not None:
            lines.append(f"{local_time(e.at)}  {words}")
    buttons = []
    if owned and supplement.can_add(case):
        buttons.append([Button(t.supplement_button, f"p:add:{case.number}")])
    if owned:
        buttons += await rating.case_buttons(ctx, case)
    ctx.say("\n".join(lines), buttons)


async def open_by_code(ctx: Context, text: str) -> bool:
    t, s = ctx.texts, ctx.session
    since = ctx.now - timedelta(hours=1)
    if await repo.query_failures(s, chat_id=ctx.event.chat_id, since=since) >= MAX_FAILURES_PER_HOUR:
        ctx.say(t("progress_locked", minutes=60))
        return False
    m = _QUERY.match(validate.normalize(text))
    if not m:
        ctx.say(t.progress_query_format)
        return False
    case = await repo.case_by_number(s, number=m.group(1).upper())
    if case is None or case.query_code != m.group(2):
        window = ctx.now.replace(minute=0, second=0, microsecond=0)
        await repo.record_query_failure(s, chat_id=ctx.event.chat_id, window_start=window)
        ctx.say(t.progress_bad_query)
        return False
    await show_case(ctx, case)
    return True


# ------------------------------------------------- the "query" flow: waiting for number + code

def step_label(ctx: Context) -> str:
    return "按编号查询"


async def prompt(ctx: Context) -> None:
    ctx.say(ctx.texts.progress_ask_query)


async def back(ctx: Context) -> None:
    from bot.engine.menu import show_menu

    ctx.set_flow("", "", {})
    show_menu(ctx)


async def on_input(ctx: Context) -> None:
    if not ctx.event.text.strip():
        ctx.say(ctx.texts.empty)
        await prompt(ctx)
        return
    if await open_by_code(ctx, ctx.event.text):
        ctx.set_flow("", "", {})


async def on_button(ctx: Context, parts: list[str], flows: dict) -> None:
    t = ctx.texts
    if parts[0] == "query":
        if ctx.conv.flow == "intake":  # keep the unfinished complaint; /progress N C works
            ctx.say(t.progress_ask_query.replace("请发送", "请发送 /progress "))
            return
        ctx.set_flow("query", "code", {})
        await prompt(ctx)
        return
    if parts[0] == "case" and len(parts) == 2:
        case = await repo.case_owned_by(ctx.session, number=parts[1], chat_id=ctx.event.chat_id)
        if case is not None:
            await show_case(ctx, case, owned=True)
            return
    if parts[0] == "add" and len(parts) == 2:
        from bot.engine import supplement

        case = await repo.case_owned_by(ctx.session, number=parts[1], chat_id=ctx.event.chat_id)
        if case is not None:
            await supplement.begin(ctx, case)
            return
    ctx.say(t.stale_button)
