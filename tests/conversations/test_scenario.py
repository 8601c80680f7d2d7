"""One case from filing to review, through the engine, as citizen, staff and scheduler live it:
file → route → accept → extend → conclude → rate (不满意) → review, with the reminders on the
way. (The same scenario over the fake Bot API with each framework follows the front ends.)"""
from __future__ import annotations

from datetime import datetime

from bot.conversations import reminders as scheduler
from cases.deadlines import SHANGHAI
from tests.conversations.test_rating import told
from tests.conversations.test_staff import (
    HRSS_CHAT,
    LEADERS_CHAT,
    STAFF_CHAT,
    Staff,
    buttons,
    citizen_text,
    deadlines,
    events,
    file_wages,
    people,
    reload,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)


async def test_file_route_accept_extend_conclude_rate_review(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)

    case = await file_wages(chat)                                        # file
    assert case.created_at == T0
    await intake.press("交办", case.number)                              # route
    await intake.press("人力资源和社会保障局")
    assert "已交办至人力资源和社会保障局" in citizen_text(world, chat)
    clock.advance(hours=3)
    await handler.press("受理", case.number)                             # accept
    assert "60日内办结" in citizen_text(world, chat)
    await handler.press("开始办理", case.number)

    clock.advance(days=7, hours=1)                                      # a quiet week
    news = [m for m in await scheduler.run_due(world.app.engine) if m.chat_id == chat.chat_id]
    assert len(news) == 1 and "仍在办理中" in news[0].text

    due = (await deadlines(world.app, case))["handling"].due_at
    clock.now = (await deadlines(world.app, case))["handling"].remind_at   # 80 %
    out = await scheduler.run_due(world.app.engine)
    reminders = [m for m in out if m.chat_id == HRSS_CHAT]
    assert len(reminders) == 1 and "到期提醒" in reminders[0].text
    assert ["仍在办理中" in m.text for m in out if m.chat_id == chat.chat_id] == [True]

    await handler.send(f"/extend {case.number} 20|需要核对三十多名工人的考勤")   # extend
    assert "延长20日" in citizen_text(world, chat)
    # 60 + 20 days from 03-02: 05-21, a Thursday (the 60-day limit had rolled over 劳动节)
    assert (await deadlines(world.app, case))["handling"].due_at == datetime(
        2026, 5, 22, tzinfo=SHANGHAI)
    assert due == datetime(2026, 5, 7, tzinfo=SHANGHAI)
    out = await scheduler.run_due(world.app.engine)
    assert not [m for m in out if m.chat_id in (HRSS_CHAT, LEADERS_CHAT)]

    await handler.press("答复办结", case.number)                         # conclude
    await handler.press("已制定解决方案")
    await handler.send("4月30日前分两期支付")
    await handler.send("经调查，宏达公司确有拖欠，已责令限期支付。")
    [reply] = told(world, chat)
    assert "已制定解决方案" in reply.text and buttons(reply) == ["满意", "基本满意", "不满意"]

    await chat.press("不满意")                                           # rate
    assert "30日内申请复查" in chat.text
    assert any("请安排回访" in m.text for m in world.last if m.chat_id == HRSS_CHAT)
    for score in ("2", "3", "1", "2"):
        await chat.press(score)
    await chat.send("只收到第一期，第二期没有消息。")

    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    await chat.press("申请复查")                                         # review
    await chat.send("第二期工资逾期未付。")
    assert "已收到您的复查申请" in chat.text
    reviewer = Staff(world, STAFF_CHAT, intake.user_id, "李登记")
    await reviewer.press("受理复查", case.number)
    assert "正在复查中" in citizen_text(world, chat)

    after = await reload(world.app, case)
    assert after.status == "under_review"
    assert [e.action for e in await events(world.app, case)] == [
        "registered", "route", "accept", "start_handling", "progress_notice", "progress_notice",
        "extend",
        "reply", "rate", "return_visit", "request_review", "start_review"]
    limits = await deadlines(world.app, case)
    assert limits["review"].stopped_at is None and limits["rating"].stopped_at is not None
