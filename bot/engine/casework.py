"""Carrying out one step of a case's lifecycle, for staff and citizens alike.

``act`` checks the step against the table (``lifecycle.plan_transition``) and applies the plan
inside the engine's one transaction: the version-checked case update, the case event, the
deadline changes, and the citizen's notification. When the case changed since the actor saw it,
nothing is written and ``Stale`` is raised; a step the table refuses raises
``TransitionRefused``. Either way the caller's transaction holds no half-change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from bot.engine.core import Context
from bot.engine.deadlines import deadline_for, paused_days
from bot.engine.lifecycle import (Action, CaseStatus, Role, TransitionPlan, TransitionRefused,
                                  default_lifecycle, plan_transition)
from bot.engine.render import esc
from bot.engine.types import Button, Outgoing
from storage import cases
from storage.models import Case, CaseDeadline

# Limits that run from registration (no lifecycle row leads into "registered").
ON_REGISTRATION = ("routing",)


class Stale(TransitionRefused):
    """Someone else changed the case first."""


@dataclass(slots=True)
class Done:
    plan: TransitionPlan
    case: Case


def lifecycle():
    return default_lifecycle()


async def deadline_map(ctx: Context, case: Case) -> dict[str, Any]:
    return {d.kind: d.due_at for d in await cases.running_deadlines(ctx.session, case_id=case.id)}


def start_deadline(ctx: Context, case: Case, kind: str, start) -> None:
    rules = lifecycle().rules
    due = deadline_for(kind, start, rules=rules).due
    cases.start_deadline(ctx.session, case_id=case.id, kind=kind, started_at=start, due_at=due,
                         remind_at=rules.remind_time(kind, start, due))


def start_registration_deadlines(ctx: Context, case: Case) -> None:
    for kind in ON_REGISTRATION:
        start_deadline(ctx, case, kind, case.created_at)


async def plan(ctx: Context, case: Case, action: Action | str, role: Role | str, *,
               fields: Mapping[str, Any] | None = None) -> TransitionPlan:
    """The plan for this step now, or ``TransitionRefused``: nothing is written."""
    return plan_transition(case.status, action, role, fields=fields,
                           paused=case.paused_since is not None, now=ctx.now,
                           deadlines=await deadline_map(ctx, case), case_no=case.number,
                           lifecycle=lifecycle())


async def act(ctx: Context, case: Case, action: Action | str, role: Role | str, *,
              seen_version: int, actor: str, fields: Mapping[str, Any] | None = None,
              department: str | None = None, leader_id: int | None = None) -> Done:
    """Check and apply one step. ``fields`` are the row's inputs as shown to people (the
    department's and leader's names); ``department`` is the key a route step moves the case to,
    ``leader_id`` the user id of the leader who takes ownership."""
    if case.version != seen_version:
        raise Stale(stale_message(case))
    step = await plan(ctx, case, action, role, fields=fields)
    running = await cases.running_deadlines(ctx.session, case_id=case.id)
    check_extension(step, running)
    extra: dict[str, Any] = {}
    if step.begins_pause:
        extra["paused_since"] = ctx.now
    elif step.ends_pause:
        extra["paused_since"] = None
    if leader_id is not None:
        extra["leader_id"] = leader_id
    before = case.status
    moved = await cases.advance_case(ctx.session, case=case, seen_version=seen_version,
                                     status=step.status, at=ctx.now,
                                     department=department if step.action == Action.ROUTE
                                     else None, **extra)
    if not moved:
        await ctx.session.refresh(case)
        raise Stale(stale_message(case))
    cases.add_event(ctx.session, case_id=case.id, at=ctx.now, actor=actor, role=str(step.role),
                    action=str(step.action), from_status=before, to_status=step.status,
                    note=step.note, fields=jsonable(step.fields))
    change_deadlines(ctx, case, step, running)
    await notify_citizen(ctx, case, step)
    return Done(step, case)


def check_extension(step: TransitionPlan, running: list[CaseDeadline]) -> None:
    if not step.extends:
        return
    cap = lifecycle().rules.limit("extension").days
    already = sum(d.extension_days for d in running if d.kind == step.extends)
    if already + step.extension_days > cap:
        raise TransitionRefused(f"办理期限累计延长不得超过{cap}日（已延长{already}日）。")


def change_deadlines(ctx: Context, case: Case, step: TransitionPlan,
                     running: list[CaseDeadline]) -> None:
    rules, now, s = lifecycle().rules, ctx.now, ctx.session

    def recompute(row: CaseDeadline) -> None:
        """A new due date (extension, pause ended): the scheduler's jobs for it start over."""
        row.due_at = deadline_for(row.kind, row.started_at, paused_days=row.paused_days,
                                  extension_days=row.extension_days, rules=rules).due
        row.remind_at = rules.remind_time(row.kind, row.started_at, row.due_at)
        if row.remind_at is not None and row.remind_at > now:
            row.reminded_at = None
        if row.due_at > now:
            row.escalated_at = None

    for row in running:
        if row.kind in step.stops:
            row.stopped_at = now
        elif row.kind in step.pauses and row.paused_at is None:
            row.paused_at = now
        elif row.paused_at is not None and (row.kind in step.resumes or step.ends_pause):
            row.paused_days += paused_days(row.paused_at, now, rules.limit(row.kind).basis)
            row.paused_at = None
            recompute(row)
        if row.kind == step.extends and row.stopped_at is None:
            row.extension_days += step.extension_days
            recompute(row)
        s.add(row)
    for kind in step.starts:
        start_deadline(ctx, case, kind, now)


async def notify_citizen(ctx: Context, case: Case, step: TransitionPlan) -> None:
    if not step.citizen_message:
        return
    citizen = await cases.citizen_of(ctx.session, case=case)
    if citizen is None:
        return
    ctx.out.append(Outgoing(chat_id=citizen.chat_id, text=esc(step.citizen_message),
                            buttons=await citizen_buttons(ctx, case, step), audience="citizen"))


async def citizen_buttons(ctx: Context, case: Case, step: TransitionPlan) -> list[list[Button]]:
    """What the citizen can answer a step with, in the same message: information asked for,
    the rating a reply asks for (a step that opens the rating window), a review offered."""
    from bot.engine import rating

    if step.begins_pause:  # the citizen answers with the same flow as adding information
        return [[Button(ctx.texts.supplement_button, f"p:add:{case.number}")]]
    if "rating" in step.starts:
        return await rating.request_buttons(ctx, case)
    if step.offer_review:
        return rating.review_buttons(ctx, case)
    return []


def stale_message(case: Case) -> str:
    try:
        label = CaseStatus(case.status).label
    except ValueError:
        label = case.status
    return f"该案件已被他人处理（现为「{label}」），这个操作没有执行。请按最新消息上的按钮操作。"


def jsonable(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
            for k, v in fields.items()}
