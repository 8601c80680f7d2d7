"""Staff grouping cases about one matter, and the leaders' view of early warnings.

Linking puts a case into another's group (``cases.matters``); the group's main case is the one
replied to for all (``staff.group_reply``). Who may do it: anyone with a staff role on both
cases (checked by ``staff`` before these are called). ``/warnings`` lists, per rule of
``config/warnings.yaml``, the subjects named in two or more cases in its window, with the count
of the window before.
"""
from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.conversations import presenters
from bot.conversations.flow import Context, Scope
from bot.conversations.render import esc
from cases import matters
from cases.lifecycle import Action, Role
from storage.models import Case, CaseEvent

REPLY_INPUTS = ("outcome",)   # a reply without these is no reply to copy


def actor(ctx: Context) -> str:
    return f"staff:{ctx.event.user_id}"


who = presenters.who


async def link(ctx: Context, case: Case, other: Case) -> None:
    t = ctx.texts
    main = await matters.link(ctx.session, case, other, now=ctx.now, actor=actor(ctx))
    if main is None:
        ctx.say(t("staff_already_linked", number=case.number), audience="staff")
        return
    group = await matters.group_of(ctx.session, main)
    ctx.say(t("staff_linked", number=case.number, main=main.number, who=who(ctx),
              n=len(group)), audience="staff")


async def unlink(ctx: Context, case: Case) -> None:
    t = ctx.texts
    if await matters.unlink(ctx.session, case, now=ctx.now, actor=actor(ctx)):
        ctx.say(t("staff_unlinked", number=case.number, who=who(ctx)), audience="staff")
    else:
        ctx.say(t("staff_not_linked", number=case.number), audience="staff")


async def make_main(ctx: Context, case: Case) -> None:
    t = ctx.texts
    if await matters.make_main(ctx.session, case, now=ctx.now, actor=actor(ctx)):
        ctx.say(t("staff_made_main", number=case.number, who=who(ctx)), audience="staff")
    else:
        ctx.say(t("staff_is_main", number=case.number), audience="staff")


async def rest_to_reply(scope: Scope, case: Case, *, everyone: bool = False) -> list[Case]:
    """The other open cases of the group ``case`` is the main case of ([] when it is not one):
    those a staff member may reply to now, or ``everyone``."""
    if case.main_case_id is not None:
        return []
    group = await matters.group_of(scope.session, case)
    rest = [c for c in group[1:] if c.status != matters.FINAL]
    if everyone:
        return rest
    staff = (Role.INTAKE, Role.HANDLER, Role.LEADER)
    return [c for c in rest if Action.REPLY in scope.casework.actions_for(c, staff)]


async def last_reply(scope: Scope, case: Case) -> dict[str, Any] | None:
    """The inputs of the case's last reply (outcome, the reply's words …)."""
    event = (await scope.session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id,
                                CaseEvent.action == Action.REPLY.value)
        .order_by(col(CaseEvent.id).desc()))).first()
    fields = dict(event.fields or {}) if event is not None else {}
    return fields if all(k in fields for k in REPLY_INPUTS) else None


async def group_line(scope: Scope, case: Case) -> str:
    """「同一事项：HY…、HY…（主案件 HY…）」 for a case in a group, else ''."""
    group = await matters.group_of(scope.session, case)
    if len(group) < 2:
        return ""
    return scope.texts("staff_group_line", cases="、".join(c.number for c in group),
                       main=group[0].number)


async def warning_lines(scope: Scope) -> list[str]:
    t = scope.texts
    lines = []
    for rule in scope.catalog.warnings:
        trends = await matters.subject_trends(scope.session, rule, scope.now)
        if not trends:
            continue
        lines.append(t("warnings_rule", label=esc(rule.label), days=rule.window_days,
                       threshold=rule.threshold))
        for trend in trends:
            mark = ("🔴" if trend.now >= rule.threshold else
                    "🟡" if trend.now > trend.before else "⚪")
            lines.append(t("warnings_item", mark=mark, subject=esc(trend.value), n=trend.now,
                           before=trend.before))
    return lines


async def show_warnings(ctx: Context, roles: list[Role]) -> None:
    lines = await warning_lines(ctx)
    t = ctx.texts
    ctx.say("\n".join([t.warnings_title, *lines]) if lines else t.warnings_none,
            audience="staff")
