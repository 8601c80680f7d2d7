"""/progress for citizens: department, traffic light and next date in the list; the timeline in
plain words, staff-only events and reasons left out."""
from __future__ import annotations

from datetime import datetime

from cases.deadlines import SHANGHAI
from tests.conftest import Chat
from tests.conversations.test_staff import HOUSING, HOUSING_CHAT, Staff, people, reload, routed

T0 = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)


async def test_the_list_shows_department_light_and_next_date(world, clock):
    clock.now = T0
    intake, _, chat = people(world)
    case = await routed(world, intake, chat)
    await chat.send("/progress")
    line = next(x for x in chat.text.splitlines() if case.number in x)
    assert "已交办" in line and "人力资源和社会保障局" in line
    assert "🟢绿灯（0天未答复）" in line and "受理告知期限：2026-03-17前" in line
    clock.advance(days=20)
    await chat.send("/progress")
    assert "🟡黄灯（20天未答复）" in chat.text and "受理告知期限：2026-03-17前（已逾期）" in chat.text
    clock.advance(days=26)
    await chat.send("/progress")
    assert "🔴红灯（46天未答复）" in chat.text


async def test_the_timeline_is_in_plain_words_without_staff_only_notes(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await routed(world, intake, chat)
    await handler.send(f"/object {case.number} 该工程属住建部门监管，内部意见")
    await intake.send(f"/route {case.number}")
    await intake.press("住房和城乡建设局")
    housing = Staff(world, HOUSING_CHAT, HOUSING, "钱承办")
    await housing.send(f"/decline {case.number} 已进入劳动仲裁程序|向劳动人事争议仲裁委员会了解进展")
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    text = chat.text
    for expected in ("登记，已生成案件编号", "交办至人力资源和社会保障局（劳动保障监察）",
                     "交办至住房和城乡建设局",
                     "不予受理。理由：已进入劳动仲裁程序；建议途径：向劳动人事争议仲裁委员会了解进展"):
        assert expected in text, expected
    assert "内部意见" not in text and "异议" not in text
    assert "不予受理：不予受理" not in text and "交办：交办" not in text
    assert "办理部门：住房和城乡建设局" in text


async def test_a_case_opened_by_number_and_code_shows_the_same_without_buttons(world, clock):
    clock.now = T0
    intake, _, chat = people(world)
    case = await routed(world, intake, chat)
    case = await reload(world.app, case)
    other = Chat(world.app, chat_id=909)
    await other.send(f"/progress {case.number} {case.query_code}")
    assert "交办至人力资源和社会保障局" in other.text and "🟢绿灯" in other.text
    assert other.buttons() == []
    clock.advance(minutes=1)
    wrong = "000000" if case.query_code != "000000" else "111111"
    await other.send(f"/progress {case.number} {wrong}")
    assert "不正确" in other.text


async def test_a_paused_case_says_its_limit_is_paused(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await routed(world, intake, chat)
    await handler.press("受理", case.number)
    await handler.send(f"/ask {case.number} 请提供劳动合同")
    clock.advance(days=1, hours=1)
    await chat.send("/progress")
    assert "办理期限：暂停计算（等待补充材料）" in chat.text
    await chat.press(f"查看 {case.number}")
    assert "请您补充：请提供劳动合同" in chat.text
