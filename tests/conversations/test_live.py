"""Live reception (issue 13) as citizens and handlers meet it: a handler takes over a case's
conversation, everything relays both ways marked with the case number, the bot keeps quiet
meanwhile, either side ends it, silence ends it; 「人工服务」 requests in and out of working hours
(the queue shown once at opening, also across a restart), two handlers pressing at once."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.chat import Incoming, Kind
from bot.conversations import reminders
from storage.models import CaseEvent, LiveSession
from tests.conversations.test_staff import (
    HRSS,
    HRSS_CHAT,
    INTAKE,
    STAFF_CHAT,
    Staff,
    citizen_text,
    file_wages,
    people,
)

MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)      # Beijing 10:00 on a working day
SATURDAY_20 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)   # Beijing 20:00, a Saturday


@pytest.fixture
def monday(clock):
    clock.now = MONDAY_10
    return clock


async def sessions(app) -> list[LiveSession]:
    async with app.engine.sessions() as s:
        return list((await s.exec(select(LiveSession).order_by(LiveSession.id))).all())


async def timeline(app, case_id: int) -> list[CaseEvent]:
    async with app.engine.sessions() as s:
        return list((await s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.id))).all())


def last_in(world, chat_id: int):
    return [m for _, m in world.in_chat(chat_id)][-1]


async def reply(staff: Staff, to_text: str, text: str):
    return await staff.event(kind=Kind.TEXT, text=text, reply_to_text=to_text)


async def test_a_handler_talks_with_the_citizen_and_the_bot_keeps_quiet(world, monday):
    _, handler, chat = people(world)
    case = await file_wages(chat)
    await handler.press("与信访人对话", case.number)
    told = citizen_text(world, chat)
    assert "人力资源和社会保障局" in told and "暂停自动回复" in told and case.number in told
    assert "赵承办" not in told, "no personal name unless config says so"
    # the citizen writes: it reaches the handler's chat marked with the case number, and the
    # bot itself says nothing to the citizen
    await chat.send("我想问一下，老板说下周发工资，是真的吗？")
    assert chat.mine == []
    relay = last_in(world, HRSS_CHAT)
    assert case.number in relay.text and "老板说下周发工资" in relay.text
    await chat.photo("slip-7")
    photo = last_in(world, HRSS_CHAT)
    assert photo.file_id == "slip-7" and photo.file_media == "photo" and case.number in photo.text
    await chat.send("/start")   # a command is not answered with the menu meanwhile
    assert "/end" in chat.text and "请选择" not in chat.text
    # the handler answers by replying to the relayed message; a colleague's reply goes nowhere
    colleague = Staff(world, HRSS_CHAT, INTAKE, "李登记")
    await reply(colleague, relay.text, "我来回答")
    assert "不是由您接入" in colleague.text
    assert citizen_text(world, chat) == ""
    await reply(handler, relay.text, "已联系公司，承诺12月5日前发放，请放心。")
    told = citizen_text(world, chat)
    assert "12月5日前发放" in told and "人力资源和社会保障局" in told
    # the handler may write from their private chat with the bot too
    await world.app.engine.handle(Incoming.from_text(HRSS, HRSS, "如有变化我会再告诉您。",
                                                     user_name="赵承办"))
    assert "如有变化我会再告诉您" in citizen_text(world, chat)
    # everything is on the case's timeline
    actions = [e.action for e in await timeline(world.app, case.id)]
    assert actions.count("live_citizen") == 2 and actions.count("live_staff") == 2
    # the citizen ends it; both are told; the bot answers again
    await chat.send("/end")
    assert "已结束" in chat.text
    assert "已结束" in last_in(world, HRSS_CHAT).text
    await chat.send("/start")
    assert "请选择" in chat.text
    [session] = await sessions(world.app)
    assert session.status == "ended" and session.end_reason == "citizen"


async def test_a_request_in_working_hours_goes_to_the_department_and_the_first_press_wins(
        world, monday):
    intake, handler, chat = people(world)
    case = await file_wages(chat)
    await intake.press("交办", case.number)
    await intake.press("人力资源和社会保障局")
    await chat.press("人工服务")
    assert "已为您呼叫" in chat.text
    request = last_in(world, HRSS_CHAT)
    assert "请求人工服务" in request.text and case.number in request.text
    await chat.send("/human")
    assert "已在等候" in chat.text, "a second request is not queued twice"
    first = await handler.press("接入对话")
    second = await intake.press("接入对话")
    assert any("已接入" in m.text for m in first)
    assert any("其他工作人员接入" in m.text for m in second)
    [session] = await sessions(world.app)
    assert session.status == "active" and session.handler_id == HRSS
    assert any(m.chat_id == chat.chat_id and "暂停自动回复" in m.text for m in first)
    assert not any(m.chat_id == chat.chat_id for m in second), "the citizen is told once"


async def test_out_of_hours_requests_wait_and_are_shown_once_at_opening(world, office, clock):
    clock.now = SATURDAY_20
    _, _, chat = people(world)
    await chat.send("/start")
    await chat.press("人工服务")
    assert "非工作时间" in chat.text and "2026-11-30 09:00" in chat.text.replace("年", "-")
    assert not [m for _, m in world.in_chat(STAFF_CHAT) if "请求人工服务" in m.text]
    # the bot still answers while the request waits
    await chat.send("/start")
    assert "请选择" in chat.text
    await reminders.run_due(world.app.engine, SATURDAY_20)
    assert not [m for _, m in world.in_chat(STAFF_CHAT) if "请求人工服务" in m.text]
    opening = MONDAY_10.replace(hour=1, minute=5)   # 09:05 Beijing
    out = await reminders.run_due(world.app.engine, opening)
    assert [m for m in out if "请求人工服务" in m.text and m.chat_id == STAFF_CHAT]
    assert not [m for m in await reminders.run_due(world.app.engine, opening)
                if "请求人工服务" in m.text]
    again = await build_app(world.app.settings, classifier_loader=lambda: None)
    try:
        assert not [m for m in await reminders.run_due(again.engine, opening)
                    if "请求人工服务" in m.text]
    finally:
        await again.close()


async def test_silence_ends_a_conversation_with_a_notice_to_both(world, monday):
    _, handler, chat = people(world)
    case = await file_wages(chat)
    await handler.press("与信访人对话", case.number)
    monday.advance(minutes=5)
    await chat.send("还在吗？")
    monday.advance(minutes=10)
    assert not [m for m in await reminders.run_due(world.app.engine, monday.now)
                if "自动结束" in m.text], "15 minutes have not passed since the last message"
    monday.advance(minutes=6)
    out = await reminders.run_due(world.app.engine, monday.now)
    assert [m for m in out if m.chat_id == chat.chat_id and "自动结束" in m.text]
    assert [m for m in out if m.chat_id == HRSS_CHAT and "自动结束" in m.text]
    [session] = await sessions(world.app)
    assert session.status == "ended" and session.end_reason == "silence"
    assert not await reminders.run_due(world.app.engine, monday.now)


async def test_nobody_else_can_take_or_start_a_conversation(world, monday):
    _, _, chat = people(world)
    case = await file_wages(chat)
    nobody = Staff(world, HRSS_CHAT, 9999, "路人")
    await nobody.send(f"/talk {case.number}")
    assert "没有权限" in nobody.text or "无权" in nobody.text
    assert await sessions(world.app) == []
    await chat.send("/end")
    assert "没有进行中的在线对话" in chat.text
