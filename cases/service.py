"""The case service: filing a case and carrying out one step of its lifecycle, for staff,
citizens and the system alike, and who may do what. Knows no chat, button or text.

``act`` checks the step against the table (``lifecycle.plan_transition``) and applies the plan
inside the caller's transaction: the version-checked case update, the case event and the
deadline changes. It returns what happened (``Done``: the plan, with the citizen's message, and
the case); the caller tells people. When the case changed since the actor saw it, nothing is
written and ``Stale`` is raised; a step the table refuses raises ``TransitionRefused``. Either
way the caller's transaction holds no half-change.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from cases.deadlines import deadline_for, paused_days
from cases.lifecycle import (
    Action,
    CaseStatus,
    Lifecycle,
    Role,
    TransitionPlan,
    TransitionRefused,
    plan_transition,
)
from storage import cases, repo
from storage.models import Case, CaseDeadline, Citizen, Rating

# Limits that run from registration (no lifecycle row leads into "registered").
ON_REGISTRATION = ("routing",)
STAFF_ROLES = (Role.INTAKE, Role.HANDLER, Role.LEADER)


class Stale(TransitionRefused):
    """Someone else changed the case first."""


@dataclass(slots=True)
class Done:
    plan: TransitionPlan
    case: Case


@dataclass(frozen=True)
class Access:
    """Who holds which staff role: intake staff (信访部门) for every case, a department's
    handlers (承办单位) for the cases it has now, leaders (领导) for every case."""

    intake: frozenset[int] = frozenset()
    handlers: Mapping[str, frozenset[int]] = field(default_factory=dict)  # department → ids
    leaders: frozenset[int] = frozenset()

    def roles_of(self, user_id: int, case: Case | None = None) -> list[Role]:
        """The roles ``user_id`` holds for ``case`` (for any case when ``case`` is None)."""
        roles = []
        if user_id in self.intake:
            roles.append(Role.INTAKE)
        if case is None:
            if any(user_id in ids for ids in self.handlers.values()):
                roles.append(Role.HANDLER)
        elif user_id in self.handlers.get(case.department, ()):
            roles.append(Role.HANDLER)
        if user_id in self.leaders:
            roles.append(Role.LEADER)
        return roles

    def departments_seen(self, user_id: int, roles: Iterable[Role]) -> list[str] | None:
        """The departments whose cases these roles may see; None for all."""
        roles = set(roles)
        if Role.INTAKE in roles or Role.LEADER in roles:
            return None
        return [key for key, ids in self.handlers.items() if user_id in ids]


class CaseService:
    def __init__(self, lifecycle: Lifecycle, access: Access | None = None):
        self.lifecycle = lifecycle
        self.rules = lifecycle.rules
        self.access = access or Access()

    # ------------------------------------------------------------ filing

    async def file(self, session: AsyncSession, *, citizen: Citizen, at: datetime,
                   attachments: list[dict], **fields: Any) -> Case:
        """Register a case (number, query code, first event, attachments) and start the limits
        that run from registration."""
        case = await repo.create_case(session, citizen=citizen, attachments=attachments, at=at,
                                      note=self.lifecycle.event_notes.get("registered", ""),
                                      waiting_since=at, **fields)
        for kind in ON_REGISTRATION:
            self.start_deadline(session, case, kind, case.created_at)
        return case

    def start_deadline(self, session: AsyncSession, case: Case, kind: str, start) -> None:
        due = deadline_for(kind, start, rules=self.rules).due
        cases.start_deadline(session, case_id=case.id, kind=kind, started_at=start, due_at=due,
                             remind_at=self.rules.remind_time(kind, start, due))

    # ------------------------------------------------------------ steps

    def role_for(self, roles: list[Role], case: Case, action: Action) -> Role:
        """The first of ``roles`` the table allows for this step (else the first)."""
        row = self.lifecycle.row(CaseStatus(case.status), action)
        return next((r for r in roles if row and r in row.roles), roles[0])

    def actions_for(self, case: Case, roles: Iterable[Role]) -> list[Action]:
        """What these roles may do to the case now, in table order: for buttons and forms."""
        table = self.lifecycle
        status, paused = CaseStatus(case.status), case.paused_since is not None
        allowed = {a for r in roles for a in table.actions_for(status, r, paused=paused)}
        ordered = dict.fromkeys(row.action for (s, _), row in table.transitions.items()
                                if s == status)
        return [a for a in ordered if a in allowed]

    def stale(self, case: Case) -> Stale:
        return Stale(str(self.lifecycle.stale(case.status)))

    async def deadline_map(self, session: AsyncSession, case: Case) -> dict[str, Any]:
        return {d.kind: d.due_at for d in await cases.running_deadlines(session, case_id=case.id)}

    async def plan(self, session: AsyncSession, case: Case, action: Action | str,
                   role: Role | str, *, now: datetime,
                   fields: Mapping[str, Any] | None = None) -> TransitionPlan:
        """The plan for this step now, or ``TransitionRefused``: nothing is written."""
        return plan_transition(case.status, action, role, fields=fields,
                               paused=case.paused_since is not None, now=now,
                               deadlines=await self.deadline_map(session, case),
                               case_no=case.number, lifecycle=self.lifecycle)

    async def may(self, session: AsyncSession, case: Case, action: Action, role: Role, *,
                  now: datetime, fields: Mapping[str, Any] | None = None) -> bool:
        try:
            await self.plan(session, case, action, role, now=now, fields=fields)
        except TransitionRefused:
            return False
        return True

    async def act(self, session: AsyncSession, case: Case, action: Action | str,
                  role: Role | str, *, now: datetime, seen_version: int, actor: str,
                  fields: Mapping[str, Any] | None = None, department: str | None = None,
                  leader_id: int | None = None) -> Done:
        """Check and apply one step. ``fields`` are the row's inputs as shown to people (the
        department's and leader's names); ``department`` is the key a route step moves the
        case to, ``leader_id`` the user id of the leader who takes ownership."""
        if case.version != seen_version:
            raise self.stale(case)
        step = await self.plan(session, case, action, role, now=now, fields=fields)
        running = await cases.running_deadlines(session, case_id=case.id)
        self._check_extension(step, running)
        extra: dict[str, Any] = {}
        if step.begins_pause:
            extra["paused_since"] = now
        elif step.ends_pause:
            extra["paused_since"] = None
        if leader_id is not None:
            extra["leader_id"] = leader_id
        before = case.status
        if step.status in self.rules.waiting and before not in self.rules.waiting:
            extra["waiting_since"] = now   # the traffic light starts again
        elif step.status not in self.rules.waiting:
            extra["waiting_since"] = None  # it waits for nobody: no light
        moved = await cases.advance_case(session, case=case, seen_version=seen_version,
                                         status=step.status, at=now,
                                         department=department if step.action == Action.ROUTE
                                         else None, **extra)
        if not moved:
            await session.refresh(case)
            raise self.stale(case)
        cases.add_event(session, case_id=case.id, at=now, actor=actor, role=str(step.role),
                        action=str(step.action), from_status=before, to_status=step.status,
                        note=step.note, fields=jsonable(step.fields))
        self._change_deadlines(session, case, step, running, now)
        return Done(step, case)

    def _check_extension(self, step: TransitionPlan, running: list[CaseDeadline]) -> None:
        if not step.extends:
            return
        cap = self.rules.limit("extension").days
        already = sum(d.extension_days for d in running if d.kind == step.extends)
        if already + step.extension_days > cap:
            raise self.lifecycle.refused("extension_cap", cap=cap, already=already)

    def _change_deadlines(self, session: AsyncSession, case: Case, step: TransitionPlan,
                          running: list[CaseDeadline], now: datetime) -> None:
        rules = self.rules

        def recompute(row: CaseDeadline) -> None:
            """A new due date (extension, pause ended): the scheduler's jobs start over."""
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
                row.paused_days += paused_days(row.paused_at, now, rules.limit(row.kind).basis,
                                               rules.calendar)
                row.paused_at = None
                recompute(row)
            if row.kind == step.extends and row.stopped_at is None:
                row.extension_days += step.extension_days
                recompute(row)
            session.add(row)
        for kind in step.starts:
            self.start_deadline(session, case, kind, now)

    def note_event(self, session: AsyncSession, case: Case, action: str, now: datetime, *,
                   fields: dict[str, Any] | None = None) -> None:
        """A staff-only event the system adds (``event_notes`` in lifecycle.yaml)."""
        cases.add_event(session, case_id=case.id, at=now, actor="system", role="system",
                        action=action, from_status=case.status, to_status=case.status,
                        note=self.lifecycle.event_notes.get(action, action), fields=fields)

    # ------------------------------------------------------------ ratings

    @staticmethod
    async def rating_of(session: AsyncSession, case_id: int) -> Rating | None:
        return (await session.exec(select(Rating).where(Rating.case_id == case_id))).first()

    async def rate(self, session: AsyncSession, case: Case, key: str, *,
                   now: datetime) -> tuple[Done, Rating]:
        """The citizen's overall rating: the lifecycle step ``rate`` and the case's one
        ``Rating`` row. A rating that offers a review adds a return visit for the department."""
        done = await self.act(session, case, Action.RATE, Role.CITIZEN, now=now,
                              seen_version=case.version, actor="citizen",
                              fields={"rating": key})
        rating = Rating(case_id=case.id, overall=key, created_at=now)
        session.add(rating)
        if done.plan.offer_review:
            self.note_event(session, case, "return_visit", now)
        return done, rating


def jsonable(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
            for k, v in fields.items()}
