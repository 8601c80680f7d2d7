"""/cases in a staff chat: the open cases, red lights first, with their next limit.

Intake staff and leaders see every department's cases; a department's handlers their own."""
from __future__ import annotations

from sqlmodel import col, select

from bot.engine import caseinfo
from bot.engine.core import Context
from bot.engine.lifecycle import CaseStatus, Role
from bot.engine.render import esc
from storage.models import Case

MAX_LINES = 30


def departments_of(ctx: Context, roles: list[Role]) -> list[str] | None:
    """The departments whose cases these roles may see; None for all."""
    if Role.INTAKE in roles or Role.LEADER in roles:
        return None
    return [key for key, dep in ctx.engine.catalog.departments.items()
            if ctx.event.user_id in dep.staff]


async def show(ctx: Context, roles: list[Role]) -> None:
    t, rules = ctx.texts, caseinfo.table().rules
    stmt = select(Case).where(col(Case.status).in_(list(rules.waiting)))
    scope = departments_of(ctx, roles)
    if scope is not None:
        stmt = stmt.where(col(Case.department).in_(scope))
    open_cases = list((await ctx.session.exec(stmt)).all())
    lights = await caseinfo.lights_of(ctx.session, open_cases, ctx.now, rules)
    running = await caseinfo.running_of(ctx.session, [c.id for c in open_cases])
    open_cases.sort(key=lambda c: (caseinfo.LIGHT_ORDER[lights[c.id].colour], -lights[c.id].days,
                                   c.id))
    counts = {colour: sum(1 for c in open_cases if lights[c.id].colour == colour)
              for colour in caseinfo.LIGHT_ORDER}
    lines = [t("staff_cases", n=len(open_cases), **counts)]
    for case in open_cases[:MAX_LINES]:
        nxt = caseinfo.next_deadline(running[case.id], ctx.now, rules, for_citizen=False)
        lines.append(t("staff_cases_item", number=case.number,
                       light=caseinfo.light_words(t, lights[case.id]),
                       department=esc(ctx.engine.catalog.department_name(case.department)),
                       status=CaseStatus(case.status).label,
                       next=caseinfo.deadline_words(t, nxt, ctx.now, rules) or "—"))
    if len(open_cases) > MAX_LINES:
        lines.append(t("staff_cases_more", n=len(open_cases) - MAX_LINES))
    ctx.say("\n".join(lines), audience="staff")
