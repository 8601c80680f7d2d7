"""The staff workspace: the worklist, a case's page with its timeline and attachments, and the
lifecycle's actions as forms. Every step goes through ``staff.take_input`` and
``staff.carry_out`` — the chat's own checks, case service and notices — so a step done here is
checked, written and told exactly as one done in the chat."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.conversations import presenters, staff
from bot.conversations.flow import Scope
from bot.conversations.render import category_of, mask_phone
from cases import glance
from cases.lifecycle import Action, CaseStatus, Role, TransitionRefused
from nlp.api import Flag
from storage import cases, repo
from storage.models import Attachment, Case
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
    events = []
    for ev in await repo.events_of_case(scope.session, case_id=case.id):
        role = lifecycle.role_label(ev.role) if ev.role else ""
        events.append({"at": ev.at, "action": lifecycle.action_label(ev.action)
                       if ev.action in lifecycle.labels["actions"] else
                       catalog.lifecycle.event_notes.get(ev.action, ev.action),
                       "role": role, "note": ev.note,
                       "fields": [(lifecycle.field_labels.get(k, k),
                                   presenters.field_words(lifecycle, k, v))
                                  for k, v in (ev.fields or {}).items()],
                       "status": lifecycle.status_label(ev.to_status) if ev.to_status else ""})
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
            "forms": action_forms(scope, case, roles)}


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
