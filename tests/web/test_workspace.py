"""The workspace over HTTP: signing in, who sees which cases, acting on a case, refusals."""
from __future__ import annotations

from tests.web.conftest import HOUSING, HRSS, INTAKE, NOBODY, csrf_of


async def test_staff_sign_in_sees_the_worklist_and_acts(office):
    case = await office.file()
    client = await office.signed_in(INTAKE)
    page = await client.get("/")
    assert page.status_code == 200
    assert case.number in page.text
    detail = await client.get(f"/cases/{case.number}")
    assert detail.status_code == 200 and "13812345678" in detail.text  # intake: full phone
    token = csrf_of(detail.text)
    resp = await client.post(f"/cases/{case.number}/act/route",
                             data={"csrf_token": token, "version": case.version,
                                   "department": "hrss"})
    assert resp.status_code == 303, resp.text
    assert (await office.case(case.number)).status == "routed"
    # the citizen is told, as when staff act in the chat
    assert any("交办" in t for t in await office.outbox(501))


async def test_handler_sees_only_their_department(office):
    mine = await office.file(department="hrss")
    other = await office.file(chat_id=502, department="housing", level1="城乡建设",
                              level2="住房保障", level3="")
    client = await office.signed_in(HRSS)
    page = await client.get("/")
    assert mine.number in page.text and other.number not in page.text
    assert (await client.get(f"/cases/{other.number}")).status_code == 404
    detail = await client.get(f"/cases/{mine.number}")
    assert "13812345678" not in detail.text and "138****5678" in detail.text
    housing = await office.signed_in(HOUSING)
    assert other.number in (await housing.get("/")).text


async def test_nobody_and_forged_links_get_nothing(office):
    await office.file()
    client = office.client()
    assert (await client.get("/")).status_code == 401
    assert (await client.post("/signin", data={"token": "forged"})).status_code == 403
    token = await office.link(NOBODY)
    assert (await client.post("/signin", data={"token": token})).status_code == 403
    token = await office.link(INTAKE)
    assert (await client.post("/signin", data={"token": token})).status_code == 303
    other = office.client()
    assert (await other.post("/signin", data={"token": token})).status_code == 403  # used once


async def test_missing_csrf_or_stale_version_changes_nothing(office):
    case = await office.file()
    client = await office.signed_in(INTAKE)
    resp = await client.post(f"/cases/{case.number}/act/route",
                             data={"version": case.version, "department": "hrss"})
    assert resp.status_code == 403
    assert (await office.case(case.number)).status == "registered"
    token = csrf_of((await client.get(f"/cases/{case.number}")).text)
    resp = await client.post(f"/cases/{case.number}/act/route",
                             data={"csrf_token": token, "version": case.version + 5,
                                   "department": "hrss"})
    assert resp.status_code == 409
    assert (await office.case(case.number)).status == "registered"


async def test_the_case_page_shows_the_timeline_and_the_citizens_other_cases(office):
    first = await office.file()
    second = await office.file(description="公司还欠我们加班费没有发放，已经三个月了。")
    elsewhere = await office.file(department="housing", level1="城乡建设", level2="住房保障",
                                  level3="")
    client = await office.signed_in(HRSS)
    page = (await client.get(f"/cases/{second.number}")).text
    assert "已登记" in page and "同一信访人的其他案件" in page
    assert first.number in page and elsewhere.number not in page   # not their department


async def test_lights_filter_and_order_the_worklist(office):
    from datetime import timedelta

    from storage.models import utcnow

    filed = {}
    for colour, days in (("red", 50), ("yellow", 20), ("green", 1)):
        office.app.engine.clock = lambda d=days: utcnow() - timedelta(days=d)
        filed[colour] = (await office.file(chat_id=600 + days)).number
    office.app.engine.clock = utcnow
    client = await office.signed_in(INTAKE)
    page = (await client.get("/")).text
    assert page.index(filed["red"]) < page.index(filed["yellow"]) < page.index(filed["green"])
    for colour, number in filed.items():
        shown = (await client.get(f"/?light={colour}")).text
        assert number in shown and all(n not in shown for n in filed.values() if n != number)
