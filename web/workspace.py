"""The staff workspace: the worklist, a case's page with its timeline and attachments, and the
lifecycle's actions as forms. Every step goes through ``staff.take_input`` and
``staff.carry_out`` — the chat's own checks, case service and notices — so a step done here is
checked, written and told exactly as one done in the chat.

Cases about one matter (``cases.matters``): the page shows the case's group (同一事项) and the
cases its 「可能相关」 events name, with forms to link, unlink, choose the main case and give the
main case's reply to the rest of the group (``staff.reply_to_group``, as the chat's button).
Linking needs a staff role on both cases, as ``/link`` in the chat; each change is an event on
the case, shown in the timeline."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.conversations import grouping, live, presenters, staff
from bot.conversations.flow import Scope
from bot.conversations.render import category_of, mask_phone
from cases import glance, matters
from cases.lifecycle import Action, CaseStatus, Role, TransitionRefused
from cases.service import Stale
from nlp.api import Flag
from storage import cases, repo
from storage.models import Attachment, Case, CaseEvent
from web import files
from web.deps import Staff, Web, current_staff, get_web
from web.forms import bound, csrf_ok, csrf_value
from web.query import FiltersDep, find

log = logging.getLogger(__name__)
FLAGS = (Flag.COLLECTIVE, Flag.ESCALATION, Flag.LITIGATION, Flag.OFFICIAL, Flag.UTILITY)
router = APIRouter(include_in_schema=False)

WebDep = Annotated[Web, Depends(get_web)]
StaffDep = Annotated[Staff, Depends(current_staff)]


def render(web: Web, request: Request, template: str, staff_: Staff | None, /, *,
           http_status: int = 200, **values) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    return web.templates.TemplateResponse(
        request, template, {"staff": staff_, "flash": flash, "csrf_value": csrf_value(request),
                        **values}, status_code=http_status)


# ---------------------------------------------------------------- the worklist

@router.get("/", response_class=HTMLResponse)
async def worklist(request: Request, web: WebDep, who: StaffDep, f: FiltersDep,
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1):
    rules, now, size = web.catalog.deadlines, web.clock(), web.settings.web_page_size
    async with web.reading() as session:
        found, total = await find(session, f, who, rules, now, page=page, size=size)
        running = await glance.running_of(session, [c.id for c in found])
    rows = []
    for case in found:
        nxt = glance.next_deadline(running[case.id], now, rules, for_citizen=False)
        rows.append({"case": case, "light": glance.light_of(case, now, rules),
                     "category": category_of(case),
                     "department": web.catalog.department_name(case.department),
                     "status": web.catalog.lifecycle.status_label(case.status),
                     "next": nxt, "next_label": rules.label(nxt.kind) if nxt else "",
                     "next_day": glance.last_day(nxt) if nxt else "",
                     "overdue": nxt is not None and nxt.due_at <= now})
    pages = max(1, -(-total // size))
    return render(web, request, "worklist.html", who, rows=rows, total=total, page=page,
                  pages=pages, f=f, options=options(web, who))


def options(web: Web, who: Staff) -> dict:
    catalog = web.catalog
    deps = {k: d.name for k, d in catalog.departments.items()
            if who.departments is None or k in who.departments}
    return {"departments": deps,
            "statuses": {s.value: catalog.lifecycle.status_label(s) for s in CaseStatus},
            "lights": {c: web.t[f"light_{c}"] for c in glance.LIGHT_ORDER},
            "categories": catalog.taxonomy.level1(),
            "flags": {f: catalog.flag_label(f) for f in FLAGS}}


# ---------------------------------------------------------------- a case

async def visible_case(web: Web, session, number: str, who: Staff) -> Case:
    case = await repo.case_by_number(session, number=number.upper())
    if case is None or not who.sees(case):
        raise HTTPException(status_code=404)   # another department's case does not exist here
    return case


def shows_full_phone(web: Web, roles: list[Role]) -> bool:
    wanted = set(web.catalog.web.get("full_phone_roles") or ())
    return any(r.value in wanted for r in roles)


def citizen_shown(web: Web, case: Case, roles: list[Role], missing: str) -> tuple[str, str]:
    """(name, phone) as these roles may see them: hidden for an anonymous or confidential
    case, the phone masked unless a role needs it whole; ``missing`` for a phone not given."""
    t = web.catalog.texts
    if web.catalog.hides_identity(case):
        return t.staff_hidden, t.staff_hidden
    if shows_full_phone(web, roles):
        return case.name or "", case.phone or missing
    return case.name or "", mask_phone(case.phone, missing or t.phone_not_given)


async def case_view(web: Web, scope: Scope, case: Case, who: Staff) -> dict:
    catalog, rules, now = web.catalog, web.catalog.deadlines, scope.now
    roles = scope.casework.access.roles_of(who.user_id, case)
    lifecycle = catalog.lifecycle
    name, phone = citizen_shown(web, case, roles, "")
    stored = await repo.events_of_case(scope.session, case_id=case.id)
    events = [event_view(web, ev) for ev in stored]
    running = await cases.running_deadlines(scope.session, case_id=case.id)
    attachments = await repo.attachments_of(scope.session, case_id=case.id)
    others = [c for c in await repo.other_cases_of_citizen(scope.session, case=case)
              if who.sees(c)]
    return {"case": case, "roles": [lifecycle.role_label(r) for r in roles],
            "category": category_of(case), "department": catalog.department_name(case.department),
            "status": lifecycle.status_label(case.status),
            "light": glance.light_of(case, now, rules),
            "citizen": name, "phone": phone,
            "flags": [catalog.flag_label(f) for f in case.flags],
            "answers": presenters.answers_of(catalog, case),
            "events": events, "attachments": attachments,
            "others": [{"number": c.number, "category": category_of(c), "filed": c.created_at,
                        "status": lifecycle.status_label(c.status)} for c in others],
            "limits": [{"label": rules.label(d.kind), "day": glance.last_day(d),
                        "paused": d.paused_at is not None, "overdue": d.due_at <= now}
                       for d in running],
            "forms": action_forms(scope, case, roles),
            "can_talk": bool(roles) and case.source == "chat" and case.status != "closed",
            **await matter_view(scope, case, who, roles, stored)}


def event_view(web: Web, ev: CaseEvent) -> dict:
    """One event of the timeline in words: a lifecycle step by its label, the events of cases
    about one matter by ``timeline_events`` (web.yaml), a system note by ``event_notes``."""
    lifecycle = web.catalog.lifecycle
    words = web.catalog.web.get("timeline_events") or {}
    field_words = {**lifecycle.field_labels, **(web.catalog.web.get("timeline_fields") or {})}
    if ev.action in lifecycle.labels["actions"]:
        action = lifecycle.action_label(ev.action)
    else:
        action = words.get(ev.action) or lifecycle.event_notes.get(ev.action, ev.action)
    return {"at": ev.at, "action": action,
            "role": lifecycle.role_label(ev.role) if ev.role else "",
            "note": ev.note if ev.note not in (ev.action, action) else "",
            "fields": [(field_words.get(k, k), lifecycle.field_words(k, v))
                       for k, v in (ev.fields or {}).items()],
            "status": lifecycle.status_label(ev.to_status) if ev.to_status else ""}


# ---------------------------------------------------------------- cases about one matter

async def matter_view(scope: Scope, case: Case, who: Staff, roles: list[Role],
                      events: list[CaseEvent]) -> dict:
    """The case's group (同一事项, the cases ``who`` may see, main case first), the cases its
    「可能相关」 events name (outside the group, visible), and what ``who`` may do with them."""
    session, lifecycle = scope.session, scope.catalog.lifecycle
    group = await matters.group_of(session, case)
    grouped = len(group) > 1
    members = [{"number": c.number, "main": i == 0 and grouped, "this": c.id == case.id,
                "category": category_of(c), "status": lifecycle.status_label(c.status)}
               for i, c in enumerate(group) if grouped and (c.id == case.id or who.sees(c))]
    in_group = {c.number for c in group}
    related, why = [], []
    for ev in events:
        if ev.action != "related":
            continue
        fields = ev.fields or {}
        if fields.get("why"):
            why.append(str(fields["why"]))
        for number in repo.CASE_NUMBER.findall(str(fields.get("cases") or "")):
            if number in in_group or any(r.number == number for r in related):
                continue
            other = await repo.case_by_number(session, number=number)
            if other is not None and who.sees(other):
                related.append(other)
    is_main = grouped and case.main_case_id is None
    rest = []
    if roles and is_main and await grouping.last_reply(scope, case) is not None:
        rest = await grouping.rest_to_reply(scope, case)
    return {"group": members, "grouped": grouped, "is_main": is_main,
            "related": [{"number": c.number, "category": category_of(c),
                         "status": lifecycle.status_label(c.status)} for c in related],
            "related_why": "；".join(dict.fromkeys(why)),
            "can_group": bool(roles), "group_reply_n": len(rest)}


def action_forms(scope: Scope, case: Case, roles: list[Role]) -> list[dict]:
    """One form per step these roles may take now: its inputs (those of every outcome too,
    asked only when the chosen outcome needs them) with their choices."""
    lifecycle = scope.catalog.lifecycle
    out = []
    for action in scope.casework.actions_for(case, roles):
        row = lifecycle.row(CaseStatus(case.status), action)
        names = list(row.requires) if row else []
        conditional = []
        if "outcome" in names:
            for outcome in lifecycle.outcomes.values():
                conditional += [n for n in outcome.requires if n not in names + conditional]
        inputs = []
        for name in names + conditional:
            choices = staff.choice_options(scope, case, name)
            inputs.append({"name": name, "label": lifecycle.field_labels[name],
                           "choices": choices, "optional": name in conditional,
                           "hint": scope.texts.get(f"staff_hint_{name}", "")})
        out.append({"action": action.value, "label": lifecycle.action_label(action),
                    "inputs": inputs})
    return out


async def show_case(request: Request, web: Web, who: Staff, number: str, *,
                    http_status: int = 200, problem: str | None = None) -> HTMLResponse:
    async with web.reading() as session:
        case = await visible_case(web, session, number, who)
        view = await case_view(web, web.app.engine.scope(session, web.clock()), case, who)
    return render(web, request, "case.html", who, http_status=http_status,
                  problems=[problem] if problem else [], **view)


@router.get("/cases/{number}", response_class=HTMLResponse)
async def case_page(request: Request, number: str, web: WebDep, who: StaffDep):
    return await show_case(request, web, who, number)


@router.post("/cases/{number}/act/{action}", response_class=HTMLResponse)
async def act(request: Request, number: str, action: str, web: WebDep, who: StaffDep):
    form = await bound(request)
    data = await request.form()
    if not csrf_ok(form):
        raise HTTPException(status_code=403)
    problem, status = None, 422        # an input missing or refused
    async with web.writing() as scope:
        case = await visible_case(web, scope.session, number, who)
        roles = scope.casework.access.roles_of(who.user_id, case)
        if not roles or action not in Action._value2member_map_:
            raise HTTPException(status_code=403)
        try:
            version = int(str(data.get("version", "")))
        except ValueError:
            raise HTTPException(status_code=400) from None
        step = {"case": case.id, "version": version, "action": action,
                "role": scope.casework.role_for(roles, case, Action(action)).value,
                "fields": {}}
        try:
            if version != case.version:
                raise scope.casework.stale(case)
            while problem is None and (name := staff.missing(scope, step, case)) is not None:
                value = str(data.get(name, "")).strip()
                label = scope.catalog.lifecycle.field_labels[name]
                problem = (web.t("input_missing", label=label) if not value
                           else staff.take_input(scope, case, step, name, value))
            if problem is None:
                await staff.carry_out(scope, case, step, user_id=who.user_id,
                                      who=web.t("actor", role=scope.catalog.lifecycle
                                                .role_label(step["role"])),
                                      here=None)
        except TransitionRefused as exc:   # a stale version too (Stale): nothing was written
            problem, status = str(exc), 409
    if problem is not None:
        return await show_case(request, web, who, number, http_status=status, problem=problem)
    request.session["flash"] = web.t("done", action=web.catalog.lifecycle.action_label(action),
                                     number=case.number)
    return RedirectResponse(f"/cases/{case.number}", status_code=303)


async def checked_form(request: Request):
    """A grouping form's data, its CSRF token checked (403)."""
    form = await bound(request)
    data = await request.form()
    if not csrf_ok(form):
        raise HTTPException(status_code=403)
    return data


async def staff_case(web: Web, scope: Scope, number: str, who: Staff) -> Case:
    """The case, visible to ``who`` (else 404) and with a staff role of theirs on it (else 403),
    as the chat's ``staff.allowed_roles``."""
    case = await visible_case(web, scope.session, number, who)
    if not scope.casework.access.roles_of(who.user_id, case):
        raise HTTPException(status_code=403)
    return case


def actor_of(who: Staff) -> str:
    return f"staff:{who.user_id}"     # as the chat writes it (grouping.actor)


def done(request: Request, number: str, text: str) -> RedirectResponse:
    request.session["flash"] = text
    return RedirectResponse(f"/cases/{number}", status_code=303)


@router.post("/cases/{number}/link", response_class=HTMLResponse)
async def link_case(request: Request, number: str, web: WebDep, who: StaffDep):
    """Put this case into the group of the case numbered ``to`` (a staff role on both)."""
    data = await checked_form(request)
    to = str(data.get("to", "")).strip().upper()
    problem, status = None, 422
    async with web.writing() as scope:
        case = await staff_case(web, scope, number, who)
        other = await repo.case_by_number(scope.session, number=to) if to else None
        if not to:
            problem = web.t.link_missing
        elif (other is None or not who.sees(other)
              or not scope.casework.access.roles_of(who.user_id, other)):
            problem, status = web.t("link_no_case", number=to), 404
        else:
            main = await matters.link(scope.session, case, other, now=scope.now,
                                      actor=actor_of(who))
            if main is None:
                problem, status = web.t("already_linked", number=case.number,
                                        other=other.number), 409
            else:
                n = len(await matters.group_of(scope.session, main))
                text = web.t("linked", number=case.number, main=main.number, n=n)
    if problem is not None:
        return await show_case(request, web, who, number, http_status=status, problem=problem)
    return done(request, case.number, text)


@router.post("/cases/{number}/unlink", response_class=HTMLResponse)
async def unlink_case(request: Request, number: str, web: WebDep, who: StaffDep):
    await checked_form(request)
    async with web.writing() as scope:
        case = await staff_case(web, scope, number, who)
        changed = await matters.unlink(scope.session, case, now=scope.now, actor=actor_of(who))
    if not changed:
        return await show_case(request, web, who, number, http_status=409,
                               problem=web.t("not_linked", number=case.number))
    return done(request, case.number, web.t("unlinked", number=case.number))


@router.post("/cases/{number}/main", response_class=HTMLResponse)
async def make_main(request: Request, number: str, web: WebDep, who: StaffDep):
    await checked_form(request)
    async with web.writing() as scope:
        case = await staff_case(web, scope, number, who)
        changed = await matters.make_main(scope.session, case, now=scope.now,
                                          actor=actor_of(who))
    if not changed:
        return await show_case(request, web, who, number, http_status=409,
                               problem=web.t("is_main", number=case.number))
    return done(request, case.number, web.t("made_main", number=case.number))


@router.post("/cases/{number}/group-reply", response_class=HTMLResponse)
async def group_reply(request: Request, number: str, web: WebDep, who: StaffDep):
    """The main case's last reply, given to the rest of its group: the chat's own
    ``staff.reply_to_group`` (each citizen told, and rating, on their own)."""
    data = await checked_form(request)
    try:
        version = int(str(data.get("version", "")))
    except ValueError:
        raise HTTPException(status_code=400) from None
    problem, status = None, 409
    async with web.writing() as scope:
        case = await staff_case(web, scope, number, who)
        roles = scope.casework.access.roles_of(who.user_id, case)
        role = scope.casework.role_for(roles, case, Action.REPLY)
        actor = web.t("actor", role=scope.catalog.lifecycle.role_label(role))
        try:
            sent, skipped = await staff.reply_to_group(scope, case, version,
                                                       user_id=who.user_id, who=actor,
                                                       here=None)
        except Stale as exc:
            problem = str(exc)
        else:
            if not sent:
                problem, status = web.t.group_nothing, 422
            elif (chat := scope.staff_chat_for(case.department)) is not None:
                t = scope.texts   # the department's chat is told, as when done there
                scope.send(chat, t("staff_group_replied", number=case.number, n=len(sent),
                                   who=actor, skipped=t("staff_group_skipped",
                                                        cases="、".join(skipped))
                                   if skipped else ""))
    if problem is not None:
        return await show_case(request, web, who, number, http_status=status, problem=problem)
    text = web.t("group_replied", number=case.number, n=len(sent))
    if skipped:
        text += web.t("group_skipped", cases="、".join(skipped))
    return done(request, case.number, text)


# ---------------------------------------------------------------- attachments

@router.get("/files/{attachment_id}")
async def attachment(attachment_id: int, web: WebDep, who: StaffDep) -> Response:
    """A citizen's photo or document, fetched from the Bot API (getFile) and passed on: the
    bot's token never reaches the browser."""
    async with web.reading() as session:
        row = await session.get(Attachment, attachment_id)
        case = await session.get(Case, row.case_id) if row is not None else None
    if row is None or case is None or not who.sees(case) or row.media == "link":
        raise HTTPException(status_code=404)
    got = await files.fetch(web.settings, row.file_id)
    if got is None:
        raise HTTPException(status_code=404)
    body, content_type, name = got
    disposition = "inline" if row.media == "photo" else f'attachment; filename="{name}"'
    return Response(body, media_type=content_type,
                    headers={"Content-Disposition": disposition,
                             "Cache-Control": "private, max-age=3600"})


@router.post("/cases/{number}/talk", response_class=HTMLResponse)
async def talk(request: Request, number: str, web: WebDep, who: StaffDep):
    """「与信访人对话」 from the web: the chat's own ``live.start_talk``; the staff member talks
    in their private chat with the bot."""
    await checked_form(request)
    async with web.writing() as scope:
        case = await staff_case(web, scope, number, who)
        role = scope.casework.access.roles_of(who.user_id, case)[0]
        refused = await live.start_talk(
            scope, case, user_id=who.user_id, chat_id=who.user_id, name="",
            who=web.t("actor", role=scope.catalog.lifecycle.role_label(role.value)))
    if refused:
        return await show_case(request, web, who, number, http_status=409, problem=refused)
    return done(request, case.number, web.t("talk_started", number=case.number))
