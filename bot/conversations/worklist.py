"""/cases in a staff chat: the open cases, red lights first, with their next limit.

Intake staff and leaders see every department's cases; a department's handlers their own."""
from __future__ import annotations

from sqlmodel import col, select

from bot.conversations import presenters
from bot.conversations.flow import Context
from bot.conversations.render import esc
from cases import glance
from cases.lifecycle import Role
from storage.models import Case

MAX_LINES = 30


async def show(ctx: Context, roles: list[Role]) -> None:
    t, rules = ctx.texts, ctx.casework.rules
    stmt = select(Case).where(col(Case.status).in_(list(rules.waiting)))
    scope = ctx.casework.access.departments_seen(ctx.event.user_id, roles)
    if scope is not None:
        stmt = stmt.where(col(Case.department).in_(scope))
    open_cases = list((await ctx.session.exec(stmt)).all())
    lights = glance.lights_of(open_cases, ctx.now, rules)
    running = await glance.running_of(ctx.session, [c.id for c in open_cases])
    open_cases.sort(key=lambda c: (glance.LIGHT_ORDER[lights[c.id].colour], -lights[c.id].days,
                                   c.id))
    counts = {colour: sum(1 for c in open_cases if lights[c.id].colour == colour)
              for colour in glance.LIGHT_ORDER}
    lines = [t("staff_cases", n=len(open_cases), **counts)]
    for case in open_cases[:MAX_LINES]:
        nxt = glance.next_deadline(running[case.id], ctx.now, rules, for_citizen=False)
        lines.append(t("staff_cases_item", number=case.number,
                       light=presenters.light_words(t, lights[case.id]),
                       department=esc(ctx.catalog.department_name(case.department)),
                       status=presenters.status_label(ctx, case.status),
                       next=presenters.deadline_words(t, nxt, ctx.now, rules) or "—"))
    if len(open_cases) > MAX_LINES:
        lines.append(t("staff_cases_more", n=len(open_cases) - MAX_LINES))
    ctx.say("\n".join(lines), audience="staff")
