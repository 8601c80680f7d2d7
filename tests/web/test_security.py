"""Every page and action of the workspace refuses whoever may not use it, and then nothing
changes: no session, a session of the wrong role or department, a forged or replayed sign-in
link, a missing CSRF token. Pages are found from the app's routes, so a new page is covered."""
from __future__ import annotations

import re

from fastapi.routing import APIRoute
from sqlmodel import select

from storage.models import CaseEvent
from tests.web.conftest import HOUSING, HRSS, INTAKE, csrf_of

PUBLIC = ("/signin", "/healthz", "/static", "/open311", "/openapi.json", "/api/docs")


def all_routes(routes) -> list[APIRoute]:
    """The app's routes, included routers opened up."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            prefix = getattr(route, "include_context", None)
            prefix = getattr(prefix, "prefix", "") or ""
            out += [(prefix, r) for _, r in all_routes(inner.routes)]
        elif isinstance(route, APIRoute):
            out.append(("", route))
    return out


def workspace_routes(api) -> list[tuple[str, str]]:
    out = []
    for prefix, route in all_routes(api.routes):
        path = prefix + route.path
        if not path.startswith(PUBLIC):
            out += [(method, path) for method in route.methods if method != "HEAD"]
    return sorted(out)


def fill(path: str, number: str) -> str:
    path = path.replace("{number}", number).replace("{action}", "route")
    return re.sub(r"\{[^}]+\}", "1", path)


async def snapshot(office, number: str) -> tuple:
    case = await office.case(number)
    async with office.app.engine.sessions() as s:
        n_events = len((await s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))).all())
    return case.status, case.version, case.department, n_events


async def test_nothing_without_a_session(office):
    case = await office.file()
    before = await snapshot(office, case.number)
    client = office.client()
    routes = workspace_routes(office.api)
    assert ("GET", "/") in routes and ("POST", "/cases/{number}/act/{action}") in routes
    assert {("POST", "/cases/{number}/link"), ("POST", "/cases/{number}/unlink"),
            ("POST", "/cases/{number}/main"), ("POST", "/cases/{number}/group-reply"),
            ("GET", "/warnings"), ("GET", "/warnings/chart.{fmt}")} <= set(routes)
    for method, path in routes:
        resp = await client.request(method, fill(path, case.number),
                                    data={"version": case.version, "department": "hrss"})
        assert resp.status_code == 401, (method, path, resp.status_code)
        assert "/web" in resp.text
    assert await snapshot(office, case.number) == before


async def test_another_departments_handler_sees_and_changes_nothing(office):
    case = await office.file(department="hrss")
    before = await snapshot(office, case.number)
    housing = await office.signed_in(HOUSING)
    own_token = csrf_of((await housing.get("/")).text)
    for method, path in workspace_routes(office.api):
        if "{number}" not in path:
            continue
        resp = await housing.request(method, fill(path, case.number),
                                     data={"csrf_token": own_token, "version": case.version,
                                           "department": "housing"})
        assert resp.status_code == 404, (method, path, resp.status_code)
    assert case.number not in (await housing.get("/?status=")).text
    assert await snapshot(office, case.number) == before


async def test_a_step_the_role_may_not_take_is_refused(office):
    case = await office.file(department="hrss")
    before = await snapshot(office, case.number)
    handler = await office.signed_in(HRSS)
    page = (await handler.get(f"/cases/{case.number}")).text
    assert 'data-action="route"' not in page          # not offered …
    resp = await handler.post(f"/cases/{case.number}/act/route",
                              data={"csrf_token": csrf_of(page), "version": case.version,
                                    "department": "housing"})
    assert resp.status_code == 409                      # … nor done when forged
    assert "只能由" in resp.text
    resp = await handler.post(f"/cases/{case.number}/act/no-such-step",
                              data={"csrf_token": csrf_of(page), "version": case.version})
    assert resp.status_code == 403
    assert await snapshot(office, case.number) == before


async def test_every_change_needs_the_csrf_token_of_the_session(office):
    case = await office.file()
    before = await snapshot(office, case.number)
    intake = await office.signed_in(INTAKE)
    other = await office.signed_in(INTAKE)
    foreign = csrf_of((await other.get("/")).text)      # a valid token, of another session
    changes = [fill(path, case.number) for method, path in workspace_routes(office.api)
               if method == "POST" and "{number}" in path]
    for token in (None, "", "forged", foreign):
        data = {"version": case.version, "department": "hrss"}
        if token is not None:
            data["csrf_token"] = token
        for path in changes:
            resp = await intake.post(path, data=data)
            assert resp.status_code == 403, (path, token)
        assert (await intake.post("/signout", data=data)).status_code == 403
    assert (await intake.get("/")).status_code == 200   # still signed in
    assert await snapshot(office, case.number) == before


async def test_signing_out_ends_the_session(office):
    intake = await office.signed_in(INTAKE)
    token = csrf_of((await intake.get("/")).text)
    assert (await intake.post("/signout", data={"csrf_token": token})).status_code == 200
    assert (await intake.get("/")).status_code == 401


async def test_sign_in_attempts_are_rate_limited(office):
    client = office.client()
    codes = [(await client.post("/signin", data={"token": f"guess-{i}"})).status_code
             for i in range(12)]
    assert codes[:10] == [403] * 10 and codes[10:] == [429, 429]
    token = await office.link(INTAKE)
    assert (await client.post("/signin", data={"token": token})).status_code == 429
