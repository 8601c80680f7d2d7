"""Case events and case facts turned into messages and buttons: the staff's case card and its
action buttons, the citizen's notices after a step, rating requests, the timeline in plain
words, traffic lights and dates. Every word comes from the catalog (texts.yaml, lifecycle.yaml).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.chat import Button, Outgoing
from bot.conversations.buttons import (
    AddInfo,
    AskReview,
    LiveStart,
    RateOverall,
    StaffAction,
    StaffLink,
)
from bot.conversations.flow import Context, Scope
from bot.conversations.render import category_of, esc, local_time, mask_phone, shorten
from cases import glance
from cases.deadlines import DeadlineRules
from cases.glance import Light
from cases.lifecycle import Action, CaseStatus, Role
from cases.service import STAFF_ROLES, Done
from config.catalog import Catalog, Texts
from storage import cases, repo
from storage.models import Case, CaseDeadline, CaseEvent


@dataclass(frozen=True)
class Related:
    """Open cases a new one may be about the same matter as, and why, in one line."""

    cases: list[Case]
    line: str

    def __bool__(self) -> bool:
        return bool(self.cases)


def who(ctx: Context) -> str:
    """The staff member of a chat event, by their Telegram name."""
    return esc(ctx.event.user_name or ctx.texts.staff_someone)


def status_label(scope: Scope, status: str) -> str:
    return scope.catalog.lifecycle.status_label(status)


def refusal(exc: Exception) -> str:
    """A refusal (``TransitionRefused``: worded in lifecycle.yaml) as a chat message."""
    return esc(exc)


# ---------------------------------------------------------------- lights, dates, timeline

def light_words(t: Texts, light: Light | None) -> str:
    if light is None:
        return ""
    return t("light", mark=t[f"light_{light.colour}"], days=light.days)


def deadline_words(t: Texts, row: CaseDeadline | None, now: datetime,
                   rules: DeadlineRules) -> str:
    if row is None:
        return ""
    label = rules.label(row.kind)
    if row.paused_at is not None:
        return t("next_paused", label=label)
    key = "next_overdue" if row.due_at <= now else "next_date"
    return t(key, label=label, day=glance.last_day(row))


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def event_words(scope: Scope, event: CaseEvent) -> str | None:
    """The event as the citizen reads it (HTML-escaped), or None when it is staff-only."""
    lifecycle = scope.catalog.lifecycle
    words = lifecycle.timeline.get(event.action)
    if words is None:
        return None
    values = _Blank()
    for key, value in (event.fields or {}).items():
        values[key] = esc(shorten(lifecycle.field_words(key, value), 300))
    return words.format_map(values)


async def glance_words(scope: Scope, case: Case, *, for_citizen: bool) -> list[str]:
    """The case's light and next date in words (those that apply)."""
    t, rules = scope.texts, scope.casework.rules
    light = glance.light_of(case, scope.now, rules)
    running = (await glance.running_of(scope.session, [case.id]))[case.id]
    nxt = glance.next_deadline(running, scope.now, rules, for_citizen=for_citizen)
    return [w for w in (light_words(t, light), deadline_words(t, nxt, scope.now, rules)) if w]


# ---------------------------------------------------------------- staff: buttons and cards

def chat_roles(scope: Scope, chat_id: int) -> tuple[Role, ...]:
    """Whose buttons a chat gets: the leaders' chat leaders' only, staff chats everyone's."""
    return (Role.LEADER,) if chat_id == scope.settings.leaders_chat_id else STAFF_ROLES


def action_buttons(scope: Scope, case: Case, roles: tuple[Role, ...]) -> list[list[Button]]:
    label = scope.catalog.lifecycle.action_label
    buttons = [Button(label(a), StaffAction(a.value, case.id, case.version).pack())
               for a in scope.casework.actions_for(case, roles)]
    return [buttons[i:i + 3] for i in range(0, len(buttons), 3)]


def chat_buttons(scope: Scope, case: Case, chat_id: int) -> list[list[Button]]:
    """A case's buttons in a staff chat: the steps the table allows, then 「与信访人对话」
    (live reception) in a staff chat for a case filed in the chat and not archived."""
    roles = chat_roles(scope, chat_id)
    rows = action_buttons(scope, case, roles)
    if Role.HANDLER in roles and case.source == "chat" and case.status != CaseStatus.CLOSED:
        rows.append([Button(scope.texts.staff_live_start_button, LiveStart(case.id).pack())])
    return rows


def answers_of(catalog: Catalog, case: Case) -> list[tuple[str, Any]]:
    """(question, answer) of the case's category questions that were answered, in order."""
    rules = catalog.rules_for(case.level1, case.level2, case.level3)
    return [(q.label, case.answers[q.key]) for q in rules.questions if case.answers.get(q.key)]


def answer_lines(scope: Scope, case: Case) -> list[str]:
    return [f"{esc(label)}：{esc(value)}" for label, value in answers_of(scope.catalog, case)]


def card_values(scope: Scope, case: Case, lines: list[str], attachments: int) -> dict[str, Any]:
    t, catalog = scope.texts, scope.catalog
    hidden = catalog.hides_identity(case)
    flags = "、".join(catalog.flag_label(f) for f in case.flags)
    return dict(number=case.number, category=category_of(case),
                department=esc(catalog.department_name(case.department)),
                flags=t("staff_flags", flags=flags) if flags else "",
                date=local_time(case.created_at),
                name=t.staff_hidden if hidden else esc(case.name or t.not_given),
                phone=t.staff_hidden if hidden else mask_phone(case.phone, t.phone_not_given),
                location=esc(case.location or t.not_given),
                since=esc(case.since or t.not_given),
                answers="\n".join(lines),
                description=esc(shorten(case.description, 1500)),
                attachments=attachments)


async def case_card(scope: Scope, case: Case) -> str:
    """The case as staff see it now: status, running limits, and what was filed."""
    t, rules = scope.texts, scope.casework.rules
    attachments = await repo.count_attachments(scope.session, case_id=case.id)
    limits = []
    for d in await cases.running_deadlines(scope.session, case_id=case.id):
        label = rules.label(d.kind)
        if d.paused_at is not None:
            limits.append(t("staff_limit_paused", label=label))
        else:
            limits.append(t("staff_limit", label=label, day=glance.last_day(d)))
    status = status_label(scope, case.status)
    if case.paused_since is not None:
        status += t.staff_waiting_citizen
    light = light_words(t, glance.light_of(case, scope.now, rules))
    return t("staff_case_card", status=status, limits="".join(limits),
             light=f" · {light}" if light else "",
             **card_values(scope, case, answer_lines(scope, case), attachments))


async def post_card(scope: Scope, case: Case, chat_id: int, *, audience: str = "staff",
                    edit_message_id: int | None = None) -> None:
    scope.send(chat_id, await case_card(scope, case), chat_buttons(scope, case, chat_id),
               audience=audience, edit_message_id=edit_message_id)


def alert_new_case(scope: Scope, case: Case, lines: list[str], attachments: int,
                   related: Related | None = None) -> None:
    """Post the new case to its department's staff chat, phone masked, with the first actions
    (and, when it may be about the same matter as open cases, those cases and a button linking
    it to the first); flagged cases also to the leaders' chat."""
    if related:
        lines = [*lines, related.line]
    text = scope.texts("staff_new_case", **card_values(scope, case, lines, attachments))
    chat_id = scope.staff_chat_for(case.department)
    if chat_id is not None:
        link = ([[Button(scope.texts("related_link_button", number=related.cases[0].number),
                         StaffLink(case.id, related.cases[0].id).pack())]] if related else [])
        scope.send(chat_id, text, chat_buttons(scope, case, chat_id) + link)
    settings = scope.settings
    if settings.leaders_chat_id and set(case.flags) & set(settings.leader_flags):
        scope.send(settings.leaders_chat_id, text,
                   chat_buttons(scope, case, settings.leaders_chat_id), audience="leaders")


def tell_handler(scope: Scope, case: Case, info: str, attachments: int) -> None:
    """A citizen added information to a case: its department's staff chat is told."""
    chat_id = scope.staff_chat_for(case.department)
    if chat_id is None:
        return
    scope.send(chat_id, scope.texts("staff_citizen_added", number=case.number,
                                    info=esc(shorten(info, 1500)), attachments=attachments),
               chat_buttons(scope, case, chat_id))


def tell_return_visit(scope: Scope, case: Case, key: str) -> None:
    """A dissatisfied rating: the department is asked to visit the citizen again."""
    chat_id = scope.staff_chat_for(case.department)
    if chat_id is None:
        return
    label = scope.catalog.lifecycle.ratings[key].label
    scope.send(chat_id, scope.texts("staff_return_visit", number=case.number, rating=label,
                                    department=esc(scope.catalog.department_name(
                                        case.department))),
               chat_buttons(scope, case, chat_id))


def tell_review_requested(scope: Scope, case: Case, reason: str) -> None:
    chat_id = scope.settings.staff_chat_id or scope.staff_chat_for(case.department)
    if chat_id is not None:
        scope.send(chat_id, scope.texts(
            "staff_review_requested", number=case.number, reason=esc(shorten(reason, 1500)),
            department=esc(scope.catalog.department_name(case.department))),
            chat_buttons(scope, case, chat_id))


# ---------------------------------------------------------------- the citizen

def overall_buttons(scope: Scope, case: Case) -> list[list[Button]]:
    ratings = scope.catalog.lifecycle.ratings
    return [[Button(c.label, RateOverall(case.id, key).pack()) for key, c in ratings.items()]]


def review_buttons(scope: Scope, case: Case) -> list[list[Button]]:
    return [[Button(scope.texts.rating_review_button, AskReview(case.id).pack())]]


async def request_buttons(scope: Scope, case: Case) -> list[list[Button]]:
    """The rating request that goes with a reply: none when the case was rated already."""
    rated = await scope.casework.rating_of(scope.session, case.id) is not None
    return [] if rated else overall_buttons(scope, case)


async def case_buttons(scope: Scope, case: Case) -> list[list[Button]]:
    """For the citizen's own case in /progress: rate it, ask for review, when they still may."""
    service, s, now = scope.casework, scope.session, scope.now
    rows = []
    first = next(iter(service.lifecycle.ratings), "")
    if (await service.rating_of(s, case.id) is None
            and await service.may(s, case, Action.RATE, Role.CITIZEN, now=now,
                                  fields={"rating": first})):
        rows += overall_buttons(scope, case)
    if await service.may(s, case, Action.REQUEST_REVIEW, Role.CITIZEN, now=now,
                         fields={"reason": "…"}):
        rows += review_buttons(scope, case)
    return rows


def can_add_info(scope: Scope, case: Case) -> bool:
    return scope.catalog.lifecycle.row(CaseStatus(case.status), Action.ADD_INFO) is not None


async def show_case(ctx: Context, case: Case, *, owned: bool = False) -> None:
    """The case and its timeline in plain words; staff-only events are left out."""
    t = ctx.texts
    events = await repo.events_of_case(ctx.session, case_id=case.id)
    lines = [t("case_detail", number=case.number, category=category_of(case),
               department=esc(ctx.catalog.department_name(case.department)),
               status=status_label(ctx, case.status),
               date=local_time(case.created_at)),
             *await glance_words(ctx, case, for_citizen=True), "", t.case_timeline]
    for e in events:
        words = event_words(ctx, e)
        if words is not None:
            lines.append(f"{local_time(e.at)}  {words}")
    buttons = []
    if owned and can_add_info(ctx, case):
        buttons.append([Button(t.supplement_button, AddInfo(case.number).pack())])
    if owned:
        buttons += await case_buttons(ctx, case)
    ctx.say("\n".join(lines), buttons)


async def announce(scope: Scope, done: Done) -> bool:
    """Tell the citizen what a step did (the row's ``notify``), with what they can answer it
    with in the same message: information asked for, the rating a reply asks for, a review.
    Whether the citizen was told (not when the row says nothing, nor without a chat)."""
    step, case = done.plan, done.case
    if not step.citizen_message:
        return False
    chat_id = await cases.citizen_chat(scope.session, case=case)
    if chat_id is None:
        return False
    if step.begins_pause:  # the citizen answers with the same flow as adding information
        buttons = [[Button(scope.texts.supplement_button, AddInfo(case.number).pack())]]
    elif "rating" in step.starts:
        buttons = await request_buttons(scope, case)
    elif step.offer_review:
        buttons = review_buttons(scope, case)
    else:
        buttons = []
    scope.out.append(Outgoing(chat_id=chat_id, text=esc(step.citizen_message),
                              buttons=buttons, audience="citizen"))
    return True
