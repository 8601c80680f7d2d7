"""Progress for citizens: their own cases, and any case by number and query code (the
``query`` flow waits for them). Wrong codes are counted in a sliding window shared by every way
in (/progress, the query flow, the /start deep link)."""
from __future__ import annotations

import re
from datetime import timedelta

from bot.chat import Button
from bot.conversations import intake, presenters, supplement, validate
from bot.conversations.buttons import AddInfo, AskQuery, Menu, OpenCase
from bot.conversations.common import show_menu, stale_button
from bot.conversations.flow import Context
from bot.conversations.render import category_of, esc, local_time
from cases import glance
from storage import repo

NAME = "query"
MAX_FAILURES = 5                 # wrong codes …
FAILURE_WINDOW = timedelta(minutes=60)   # … within this long lock further tries
_QUERY = re.compile(r"^\s*(HY\d{8}-\d{5,})\s+(\d{6})\s*$", re.IGNORECASE)


async def show(ctx: Context, args: str = "") -> None:
    if args.strip():
        await open_by_code(ctx, args)
        return
    t, rules = ctx.texts, ctx.casework.rules
    cases = await repo.cases_of_citizen(ctx.session, chat_id=ctx.event.chat_id)
    query_row = [Button(t.progress_query_button, AskQuery().pack())]
    if not cases:
        ctx.say(t.progress_empty, [[Button(t.menu_file, Menu("file").pack())], query_row])
        return
    lights = glance.lights_of(cases, ctx.now, rules)
    running = await glance.running_of(ctx.session, [c.id for c in cases])
    lines = [t("progress_list", n=len(cases))]
    for c in cases:
        nxt = glance.next_deadline(running[c.id], ctx.now, rules, for_citizen=True)
        extra = [presenters.light_words(t, lights[c.id]),
                 presenters.deadline_words(t, nxt, ctx.now, rules)]
        lines.append(t("progress_item", number=c.number, category=category_of(c),
                       status=presenters.status_label(ctx, c.status),
                       date=local_time(c.created_at)[:10],
                       department=esc(ctx.catalog.department_name(c.department)),
                       extra="".join(f" · {x}" for x in extra if x)))
    rows = [[Button(t("progress_open", number=c.number), OpenCase(c.number).pack())]
            for c in cases[:8]]
    ctx.say("\n".join(lines), rows + [query_row])


show_case = presenters.show_case   # the case and its timeline, as the citizen reads it


async def open_by_code(ctx: Context, text: str) -> bool:
    t, s = ctx.texts, ctx.session
    since = ctx.now - FAILURE_WINDOW
    if await repo.query_failures(s, chat_id=ctx.event.chat_id, since=since) >= MAX_FAILURES:
        ctx.say(t("progress_locked", minutes=int(FAILURE_WINDOW.total_seconds() // 60)))
        return False
    m = _QUERY.match(validate.normalize(text))
    if not m:
        ctx.say(t.progress_query_format)
        return False
    case = await repo.case_by_number(s, number=m.group(1).upper())
    if case is None or case.query_code != m.group(2):
        await repo.record_query_failure(s, chat_id=ctx.event.chat_id, at=ctx.now)
        ctx.say(t.progress_bad_query)
        return False
    await show_case(ctx, case)
    return True


# ------------------------------------------------- the "query" flow: waiting for number + code

def step_label(ctx: Context) -> str:
    return ctx.texts.step_query


async def prompt(ctx: Context) -> None:
    ctx.say(ctx.texts.progress_ask_query)


async def back(ctx: Context) -> None:
    ctx.set_flow("", "", {})
    show_menu(ctx)


async def on_input(ctx: Context) -> None:
    if not ctx.event.text.strip():
        ctx.say(ctx.texts.empty)
        await prompt(ctx)
        return
    if await open_by_code(ctx, ctx.event.text):
        ctx.set_flow("", "", {})


async def on_ask_query(ctx: Context, _button: AskQuery) -> None:
    if ctx.conv.flow == intake.NAME:  # keep the unfinished complaint; /progress N C works
        ctx.say(ctx.texts.progress_ask_query_in_intake)
        return
    ctx.set_flow(NAME, "code", {})
    await prompt(ctx)


async def on_open_case(ctx: Context, button: OpenCase) -> None:
    case = await repo.case_owned_by(ctx.session, number=button.number, chat_id=ctx.event.chat_id)
    if case is None:
        await stale_button(ctx)
    else:
        await show_case(ctx, case, owned=True)


async def on_add_info(ctx: Context, button: AddInfo) -> None:
    case = await repo.case_owned_by(ctx.session, number=button.number, chat_id=ctx.event.chat_id)
    if case is None:
        await stale_button(ctx)
    else:
        await supplement.begin(ctx, case)
