"""Repeat complaints and clusters (issue 12), as citizens, staff and leaders meet them: the
citizen offered their open case about the same matter, staff shown the cases about the same
subject and linking them, one reply for a group, and early warnings per subject."""
from __future__ import annotations

from sqlmodel import select

from bot.app import build_app
from bot.conversations import report
from cases import matters, stats
from storage.models import CaseEvent, CaseSubject, SubjectWarning
from tests.conftest import Chat
from tests.conversations.test_intake import PROPERTY, WAGES
from tests.conversations.test_staff import (
    HRSS_CHAT,
    LEADERS_CHAT,
    Staff,
    accepted,
    all_cases,
    buttons,
    citizen_text,
    events,
    file_wages,
    people,
    reload,
)

AGAIN = WAGES + "上个月已经反映过一次，到现在还没有处理，工资还是没有发。"


ANSWERS = [   # (words of the question, the answer): whatever the description did not say
    ("拖欠工资的是哪家单位", "{employer}"), ("项目或工地", "幸福里安置房项目，A3区幸福路18号"),
    ("多少钱", "3.5万"), ("多少名工人", "30多人"), ("时间段", "2025年3月至2025年8月"),
    ("解决什么", "请督促公司尽快结清工资"), ("什么地方", "A市A3区幸福路18号工地"),
    ("什么时候开始", "2025年9月"), ("姓名", "王小明"),
]


async def complain(chat: Chat, text: str, *, employer: str = "宏达建筑劳务公司",
                   phone: str = "13812345678") -> None:
    """A wages complaint, answering what is asked, up to the summary (or the offer before it)."""
    await chat.send("/start")
    await chat.press("投诉/信访")
    await chat.send(text)
    assert "工资发放" in chat.text, chat.text
    await chat.press("对，就是这类")
    for _ in range(20):
        asked, labels = chat.text, chat.buttons()
        if "是否就是这件事" in asked or "✅ 提交" in labels:
            return
        if "对，继续" in labels:
            await chat.press("对，继续")
        elif "还没有反映" in labels:
            await chat.press("还没有反映")
        elif "联系电话" in asked:
            await chat.contact(phone)
        elif "完成" in labels:
            await chat.press("完成")
        else:
            answer = next(a for words, a in ANSWERS if words in asked)
            await chat.send(answer.format(employer=employer))
    raise AssertionError(chat.text)


async def case_events(app, case) -> list[CaseEvent]:
    return [e for e in await events(app, case)]


# ---------------------------------------------------------------- the citizen

async def test_a_repeat_complaint_is_offered_the_open_case_and_added_to_it(world):
    _, _, chat = people(world)
    first = await file_wages(chat)
    await complain(chat, AGAIN)
    assert "是否就是这件事" in chat.text and first.number in chat.text
    assert "人力资源和社会保障局" in chat.text
    assert {"是，补充到原件", "不是，新的事项"} <= set(chat.buttons())
    await chat.press("是，补充到原件")
    assert len(await all_cases(world.app)) == 1, "nothing new is filed"
    told = chat.text
    assert first.number in told and "补充" in told
    assert "办理过程" in told or "登记" in told, "the citizen sees the case's progress"
    added = [e for e in await case_events(world.app, first) if e.action == "add_info"]
    assert len(added) == 1 and "到现在还没有处理" in added[0].fields["info"]
    handler_chat = "\n".join(m.text for _, m in world.in_chat(HRSS_CHAT))
    assert "到现在还没有处理" in handler_chat, "the handler is told"


async def test_a_different_matter_of_the_same_citizen_is_not_offered(world):
    _, _, chat = people(world)
    await file_wages(chat)
    await chat.send("/start")
    await chat.press("投诉/信访")
    await chat.send(PROPERTY)
    assert "房产证" in chat.text
    await chat.press("对，就是这类")
    for _ in range(30):   # answer whatever is asked until the summary
        if "请核对" in chat.text or "是否就是这件事" in chat.text:
            break
        labels = chat.buttons()
        if "完成" in labels:
            await chat.press("完成")
        elif "跳过" in labels:
            await chat.press("跳过")
        elif "对，继续" in labels:
            await chat.press("对，继续")
        elif any("手机号" in label for label in labels) or "电话" in chat.text:
            await chat.contact("13812345678")
        else:
            await chat.send("锦绣花园小区，A市B区幸福路1号")
    assert "是否就是这件事" not in chat.text
    assert "✅ 提交" in chat.buttons()


async def test_saying_it_is_a_new_matter_files_it_and_staff_see_it_may_be_related(world):
    _, _, chat = people(world)
    first = await file_wages(chat)
    await complain(chat, AGAIN)
    await chat.press("不是，新的事项")
    assert "✅ 提交" in chat.buttons()
    await chat.press("提交")
    first_again, second = await all_cases(world.app)
    assert first_again.id == first.id and second.id != first.id
    alert = world.in_chat(HRSS_CHAT)[-1][1]
    assert second.number in alert.text
    assert "可能相关" in alert.text and first.number in alert.text
    related = [e for e in await case_events(world.app, second) if e.action == "related"]
    assert related and first.number in related[0].fields["cases"]


async def test_a_case_of_another_chat_is_never_offered_even_with_the_same_phone(world):
    _, _, chat = people(world)
    first = await file_wages(chat)          # shared 13812345678 from chat 501
    other = Chat(world.app, chat_id=779)
    await complain(other, AGAIN, phone="13812345678")
    assert "是否就是这件事" not in other.text and first.number not in other.text
    assert "✅ 提交" in other.buttons()


# ---------------------------------------------------------------- staff

async def test_other_citizens_about_one_employer_are_shown_and_linked(world):
    intake, handler, chat = people(world)
    first = await file_wages(chat)
    other = Chat(world.app, chat_id=777)
    await complain(other, "我们在工地做木工，宏达建筑劳务公司的老板拖欠我们两个月工资一直不给。",
                   employer="宏达建筑劳务有限公司", phone="13912345678")
    assert "是否就是这件事" not in other.text, "another citizen is never offered a case"
    await other.press("提交")
    _, second = await all_cases(world.app)
    alert = world.in_chat(HRSS_CHAT)[-1][1]
    assert "可能相关" in alert.text and first.number in alert.text
    assert "同一欠薪主体" in alert.text and "共 2 件" in alert.text
    # the new case joins the first one's group with one tap
    await intake.press(f"与 {first.number} 关联", second.number)
    assert "关联到主案件" in intake.text and "本组共 2 件" in intake.text
    assert (await reload(world.app, second)).main_case_id == first.id
    # a stranger cannot link, unlink or choose the main case
    nobody = Staff(world, HRSS_CHAT, 9999, "路人")
    await nobody.send(f"/unlink {second.number}")
    assert "没有权限" in nobody.text or "无权" in nobody.text
    assert (await reload(world.app, second)).main_case_id == first.id
    # the main case can change, and a case can leave the group
    await intake.send(f"/main {second.number}")
    assert "主案件" in intake.text
    assert (await reload(world.app, first)).main_case_id == second.id
    assert (await reload(world.app, second)).main_case_id is None
    await intake.send(f"/unlink {first.number}")
    assert (await reload(world.app, first)).main_case_id is None
    await intake.send(f"/link {first.number} {second.number}")
    assert (await reload(world.app, first)).main_case_id == second.id
    assert [e.action for e in await case_events(world.app, first)].count("linked") == 2


async def test_one_reply_to_the_main_case_reaches_every_citizen_of_the_group(world):
    intake, handler, chat = people(world)
    first = await accepted(world, intake, handler, chat)
    other = Chat(world.app, chat_id=778)
    await complain(other, "宏达建筑劳务公司在幸福里安置房项目拖欠我们钢筋班组的工资，找了老板好几次都没结。",
                   phone="13912345678")
    await other.press("提交")
    _, second = await all_cases(world.app)
    await intake.send(f"/link {second.number} {first.number}")
    await intake.press("交办", second.number)
    await intake.press("人力资源和社会保障局")
    await handler.press("受理", second.number)
    await handler.press("答复办结", first.number)
    await handler.press("已解决")
    await handler.send("经调查，宏达公司已结清全部工资。")
    assert "同样答复同组其余 1 件" in " ".join(b for m in world.last for b in buttons(m))
    await handler.press("同样答复同组其余 1 件")
    assert "已把" in handler.text and "1 件" in handler.text
    assert (await reload(world.app, second)).status == "replied"
    told = citizen_text(world, other)
    assert "经调查，宏达公司已结清全部工资。" in told
    assert any("满意" in b for m in world.last if m.chat_id == other.chat_id for b in buttons(m)), \
        "each citizen rates their own case"
    # pressed again: nothing is replied twice
    await handler.press("同样答复同组其余 1 件")
    assert [e.action for e in await case_events(world.app, second)].count("reply") == 1


# ---------------------------------------------------------------- early warnings

def employer_warnings(world) -> list[str]:
    return [m.text for _, m in world.in_chat(LEADERS_CHAT) if "欠薪主体" in m.text]


async def test_a_warning_fires_once_at_the_threshold_and_again_only_when_it_grows(
        world, office, clock):
    filed = []
    for i in range(6):
        chat = Chat(world.app, chat_id=800 + i)
        await complain(chat, f"{i + 2}号楼的工友们反映：华建劳务的包工头拖欠我们的工资，已经几个月没有发了，"
                             "找了很多次都说没钱。", employer=("华建劳务有限公司", "华建劳务公司", "华建")[i % 3],
                       phone=f"1391234{5670 + i}")
        if "是否就是这件事" in chat.text:
            await chat.press("不是，新的事项")
        await chat.press("提交")
        filed.append(chat)
        if i < 4:
            assert not employer_warnings(world), f"none below the threshold ({i + 1} cases)"
    # one site, three cases in a week: that rule (3 in 7 days) fired at the third
    [site] = [m.text for _, m in world.in_chat(LEADERS_CHAT) if "欠薪工地项目" in m.text][:1]
    assert "幸福里安置房" in site and "3 件" in site
    warnings = employer_warnings(world)
    assert len(warnings) == 2, warnings
    assert "欠薪主体" in warnings[0] and "5 件" in warnings[0]
    assert "35,000" in warnings[0] or "175,000" in warnings[0]
    assert "涉及至少" in warnings[0]
    assert "从 5 件增加到 6 件" in warnings[1]
    # after a restart the same count raises nothing again
    app2 = await build_app(world.app.settings, classifier_loader=lambda: None)
    try:
        async with app2.engine.working(clock()) as scope:
            [case] = [c for c in await all_cases(app2)][-1:]
            subjects = (await scope.session.exec(
                select(CaseSubject).where(CaseSubject.case_id == case.id))).all()
            again = await matters.check_warnings(
                scope.session, scope.catalog.warnings, case,
                [matters.Subject(s.kind, s.field, s.value, s.core, s.trade) for s in subjects],
                scope.now)
            assert again == []
            [row] = (await scope.session.exec(select(SubjectWarning).where(
                SubjectWarning.rule == "wages_employer"))).all()
            assert row.count == 6
    finally:
        await app2.close()
    # outside the window the count starts afresh
    clock.advance(days=31)
    chat = Chat(world.app, chat_id=900)
    await complain(chat, "华建劳务又开始拖欠工资了，这次是新来的一批工人，已经两个月没有发钱。",
                   employer="华建劳务公司", phone="13912349999")
    await chat.press("提交")
    assert len(employer_warnings(world)) == 2


async def test_warnings_list_subjects_with_their_trend(world):
    intake, _, _ = people(world)
    for i in range(3):
        chat = Chat(world.app, chat_id=850 + i)
        await complain(chat, f"我们{i + 3}个人在恒通建设的工地上干活，恒通建设拖欠我们的工资快半年了，一直不给结算。",
                       employer="恒通建设工程有限公司", phone=f"1371234{5670 + i}")
        if "是否就是这件事" in chat.text:
            await chat.press("不是，新的事项")
        await chat.press("提交")
    await intake.send("/warnings")
    assert "欠薪主体" in intake.text and "恒通建设" in intake.text and "3 件" in intake.text


async def test_linked_cases_count_once_where_leaders_choose_so(world, clock):
    intake, _, chat = people(world)
    first = await file_wages(chat)
    other = Chat(world.app, chat_id=781)
    await complain(other, "宏达建筑劳务公司拖欠我们钢筋班组的工资，找了老板好几次都没结。", phone="13912345670")
    await other.press("提交")
    _, second = await all_cases(world.app)
    await intake.send(f"/link {second.number} {first.number}")
    catalog = world.app.engine.catalog
    start, end = stats.period(None, None, clock())
    async with world.app.engine.sessions() as s:
        st = await stats.compute(s, start=start, end=end, now=clock(),
                                 lifecycle=catalog.lifecycle, weights=catalog.rating.weights)
    assert (st.received, st.linked, st.matters) == (2, 1, 1)
    assert "受理案件：2 件" in report.format_stats(st, catalog)
    assert "其中 1 件已关联为同一事项，合并计为 1 件" in report.format_stats(st, catalog)
    catalog.count_linked_once = True
    assert "受理案件：1 件（同一事项的关联件合并计 1 件；逐件计 2 件）" in report.format_stats(st, catalog)
