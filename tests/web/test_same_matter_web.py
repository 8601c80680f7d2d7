"""Cases about one matter in the workspace (issue 12): the case page's group and 「可能相关」
cases, linking, unlinking and choosing the main case through its forms (and refused as every
form is), one reply for the whole group, and the early warnings page with its weekly chart."""
from __future__ import annotations

import io

from PIL import Image
from sqlmodel import select

from bot.conversations import linking
from storage.models import Case, CaseEvent
from tests.web.conftest import HOUSING, HRSS, INTAKE, csrf_of

WAGES = dict(level1="劳动和社会保障", level2="工资福利", level3="工资发放")


async def filed(office, *, chat_id: int, employer: str = "宏达建筑劳务有限公司",
                department: str = "hrss", phone: str = "13812345678",
                description: str = "宏达建筑劳务公司拖欠我们三十多名工人的工资三万五千元。",
                **fields) -> Case:
    """A wages case filed as the chat files it: its subjects read and stored, the open cases
    it may be about written on its timeline (「可能相关」), warnings checked."""
    category = {**WAGES, **fields.pop("category", {})}
    case = await office.file(chat_id=chat_id, department=department, phone=phone,
                             description=description, answers={"employer": employer},
                             **category, **fields)
    engine = office.app.engine
    async with engine.working(engine.clock()) as scope:
        case = await scope.session.get(Case, case.id)
        await linking.on_filed(scope, case)
    return await office.case(case.number)


async def actions(office, case: Case) -> list[str]:
    async with office.app.engine.sessions() as session:
        rows = (await session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                   .order_by(CaseEvent.id))).all()
    return [e.action for e in rows]


async def test_link_make_main_and_unlink_through_the_case_page(office):
    first = await filed(office, chat_id=501)
    second = await filed(office, chat_id=502, employer="宏达建筑劳务公司", phone="13912345678",
                         description="我们在工地做木工，宏达建筑劳务的老板拖欠我们两个月工资一直不给。")
    intake = await office.signed_in(INTAKE)
    page = (await intake.get(f"/cases/{second.number}")).text
    assert "同一事项" in page and "本件没有与其他案件关联" in page
    assert "可能相关" in page and f'href="/cases/{first.number}"' in page     # from its event
    assert "同一欠薪主体" in page                                               # … and why
    assert 'data-action="link-related"' in page and 'data-action="unlink"' not in page
    # one button links it to the 「可能相关」 case: it joins that case's group
    resp = await intake.post(f"/cases/{second.number}/link",
                             data={"csrf_token": csrf_of(page), "to": first.number})
    assert resp.status_code == 303 and resp.headers["location"] == f"/cases/{second.number}"
    assert (await office.case(second.number)).main_case_id == first.id
    page = (await intake.get(f"/cases/{second.number}")).text
    assert "本组共 2 件" in page                                                  # the flash
    group = section(resp := await intake.get(f"/cases/{second.number}"), "group")
    assert first.number in group and second.number in group and "主案件" in group
    assert group.index(first.number) < group.index("主案件") < group.index(second.number)
    assert "关联为同一事项" in page and f"主案件：{first.number}" in page      # the timeline
    assert 'data-action="link-related"' not in page   # in the group now: no longer offered
    # the second case becomes the main case, then the first leaves the group
    resp = await intake.post(f"/cases/{second.number}/main", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303
    assert (await office.case(first.number)).main_case_id == second.id
    assert (await office.case(second.number)).main_case_id is None
    page = (await intake.get(f"/cases/{first.number}")).text
    assert "设为本组主案件" in page
    resp = await intake.post(f"/cases/{first.number}/unlink", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303
    assert (await office.case(first.number)).main_case_id is None
    page = (await intake.get(f"/cases/{first.number}")).text
    assert "取消关联" in page and "本件没有与其他案件关联" in page
    # doing it again changes nothing and says so
    resp = await intake.post(f"/cases/{first.number}/unlink", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 409 and "没有关联其他案件" in resp.text
    # a number typed by hand links too (lower case and spaces forgiven)
    resp = await intake.post(f"/cases/{first.number}/link",
                             data={"csrf_token": csrf_of(page), "to": f" {second.number.lower()} "})
    assert resp.status_code == 303
    assert (await office.case(first.number)).main_case_id == second.id
    assert (await actions(office, first)).count("linked") == 2
    assert "related" in await actions(office, second)


async def test_grouping_is_refused_without_csrf_session_or_rights_and_nothing_changes(office):
    first = await filed(office, chat_id=501)
    second = await filed(office, chat_id=502, phone="13912345678")
    housing_case = await filed(office, chat_id=503, department="housing", phone="13712345678",
                               category=dict(level1="城乡建设", level2="住房保障", level3=""))
    before = {c.number: await actions(office, c) for c in (first, second, housing_case)}

    async def unchanged() -> None:
        for c in (first, second, housing_case):
            again = await office.case(c.number)
            assert again.main_case_id is None and await actions(office, c) == before[c.number]

    intake = await office.signed_in(INTAKE)
    for token in (None, "", "forged"):
        data = {"to": first.number} if token is None else {"to": first.number,
                                                            "csrf_token": token}
        for step in ("link", "unlink", "main", "group-reply"):
            resp = await intake.post(f"/cases/{second.number}/{step}", data=data)
            assert resp.status_code == 403, (step, token)
    # without a session: the sign-in page
    nobody = office.client()
    token = csrf_of((await intake.get("/")).text)
    for step in ("link", "unlink", "main"):
        resp = await nobody.post(f"/cases/{second.number}/{step}",
                                 data={"csrf_token": token, "to": first.number})
        assert resp.status_code == 401
    # another department's handler: the case does not exist for them
    housing = await office.signed_in(HOUSING)
    token = csrf_of((await housing.get("/")).text)
    for step in ("link", "unlink", "main", "group-reply"):
        resp = await housing.post(f"/cases/{second.number}/{step}",
                                  data={"csrf_token": token, "to": housing_case.number,
                                        "version": second.version})
        assert resp.status_code == 404, step
    # nor can they pull one of its cases into their own: a staff role on both is needed
    resp = await housing.post(f"/cases/{housing_case.number}/link",
                              data={"csrf_token": token, "to": first.number})
    assert resp.status_code == 404 and f"没有找到案件 {first.number}" in resp.text
    # the department's own handler cannot link to a case of another department either
    handler = await office.signed_in(HRSS)
    token = csrf_of((await handler.get(f"/cases/{second.number}")).text)
    resp = await handler.post(f"/cases/{second.number}/link",
                              data={"csrf_token": token, "to": housing_case.number})
    assert resp.status_code == 404
    resp = await handler.post(f"/cases/{second.number}/link", data={"csrf_token": token})
    assert resp.status_code == 422 and "请填写要关联的案件编号" in resp.text
    await unchanged()
    # … and within their department they may
    resp = await handler.post(f"/cases/{second.number}/link",
                              data={"csrf_token": token, "to": first.number})
    assert resp.status_code == 303
    assert (await office.case(second.number)).main_case_id == first.id


async def test_a_handler_sees_only_the_group_cases_of_their_department(office):
    first = await filed(office, chat_id=501)
    second = await filed(office, chat_id=502, phone="13912345678")
    elsewhere = await filed(office, chat_id=503, department="housing", phone="13712345678")
    intake = await office.signed_in(INTAKE)
    for case in (second, elsewhere):
        page = (await intake.get(f"/cases/{case.number}")).text
        resp = await intake.post(f"/cases/{case.number}/link",
                                 data={"csrf_token": csrf_of(page), "to": first.number})
        assert resp.status_code == 303
    assert "related" in await actions(office, elsewhere)
    handler = await office.signed_in(HRSS)
    group = section(await handler.get(f"/cases/{second.number}"), "group")
    assert first.number in group and second.number in group and elsewhere.number not in group
    housing = await office.signed_in(HOUSING)
    resp = await housing.get(f"/cases/{elsewhere.number}")
    group = section(resp, "group")
    assert elsewhere.number in group and first.number not in group and second.number not in group
    assert 'class="related"' not in resp.text          # its 「可能相关」 cases are not theirs
    assert f'href="/cases/{first.number}"' not in resp.text


def section(resp, name: str) -> str:
    """The ``<ul class="{name}">`` list of a page."""
    text = resp.text
    start = text.index(f'<ul class="{name}">')
    return text[start:text.index("</ul>", start)]


async def test_a_reply_to_the_main_case_reaches_the_rest_of_the_group_from_the_web(office):
    first = await filed(office, chat_id=501)
    second = await filed(office, chat_id=502, phone="13912345678")
    intake = await office.signed_in(INTAKE)
    page = (await intake.get(f"/cases/{second.number}")).text
    assert (await intake.post(f"/cases/{second.number}/link",
                              data={"csrf_token": csrf_of(page), "to": first.number})
            ).status_code == 303
    handler = await office.signed_in(HRSS)
    for case in (first, second):
        case = await office.case(case.number)
        page = (await handler.get(f"/cases/{case.number}")).text
        resp = await handler.post(f"/cases/{case.number}/act/accept",
                                  data={"csrf_token": csrf_of(page), "version": case.version})
        assert resp.status_code == 303, resp.text
    main = await office.case(first.number)
    page = (await handler.get(f"/cases/{main.number}")).text
    assert "同样答复同组其余" not in page            # nothing replied yet
    words = "经调查，宏达公司已结清全部工资。"
    resp = await handler.post(f"/cases/{main.number}/act/reply",
                              data={"csrf_token": csrf_of(page), "version": main.version,
                                    "outcome": "solved", "reply_text": words})
    assert resp.status_code == 303, resp.text
    main = await office.case(main.number)
    page = (await handler.get(f"/cases/{main.number}")).text
    assert "同样答复同组其余 1 件" in page
    assert not any(words in t for t in await office.outbox(502))
    # a form of a version since changed is refused (someone acted meanwhile)
    resp = await handler.post(f"/cases/{main.number}/group-reply",
                              data={"csrf_token": csrf_of(page), "version": main.version - 1})
    assert resp.status_code == 409
    assert (await office.case(second.number)).status == "accepted"
    resp = await handler.post(f"/cases/{main.number}/group-reply",
                              data={"csrf_token": csrf_of(page), "version": main.version})
    assert resp.status_code == 303, resp.text
    assert (await office.case(second.number)).status == "replied"
    told = await office.outbox(502)
    assert any(words in t for t in told), told                     # the second citizen
    page = (await handler.get(f"/cases/{main.number}")).text
    assert "已把" in page and "1 件" in page and "同样答复同组其余" not in page
    # pressed again: nothing is replied twice
    resp = await handler.post(f"/cases/{main.number}/group-reply",
                              data={"csrf_token": csrf_of(page), "version": main.version})
    assert resp.status_code == 422
    assert (await actions(office, second)).count("reply") == 1
    assert len([t for t in await office.outbox(502) if words in t]) == 1


async def test_the_warnings_page_lists_a_subject_of_several_cases_and_draws_the_chart(office):
    filed_ = []
    for i, name in enumerate(("华建劳务有限公司", "华建劳务公司", "华建劳务")):
        filed_.append(await filed(office, chat_id=610 + i, employer=name,
                                  phone=f"1391234{5670 + i}",
                                  description=f"华建劳务的包工头拖欠我们{i + 3}个工友的工资。"))
    elsewhere = await filed(office, chat_id=620, employer="华建劳务公司", department="housing",
                            phone="13912349999")
    handler = await office.signed_in(HRSS)
    page = await handler.get("/warnings")
    assert page.status_code == 200
    text = page.text
    assert 'href="/warnings"' in text                              # in the nav
    rule = text[text.index('data-rule="wages_employer"'):]
    rule = rule[:rule.index("</section>")]
    assert "欠薪主体" in rule and "华建劳务" in rule and "4 件" in rule
    assert all(f'href="/cases/{c.number}"' in rule for c in filed_)
    assert elsewhere.number not in rule and "另有 1 件" in rule      # not their department
    assert 'class="subject"' in rule                               # 4 < 5: not highlighted
    assert 'src="/warnings/chart.png"' in text
    await filed(office, chat_id=630, employer="华建劳务", phone="13912340000")
    rule = (await handler.get("/warnings")).text
    rule = rule[rule.index('data-rule="wages_employer"'):]
    assert 'class="subject over"' in rule[:rule.index("</section>")] and "已达预警" in rule
    png = await handler.get("/warnings/chart.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size[0] > 300
    svg = await handler.get("/warnings/chart.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert (await handler.get("/warnings/chart.gif")).status_code == 404
    assert (await office.client().get("/warnings")).status_code == 401
    assert (await office.client().get("/warnings/chart.png")).status_code == 401
