"""The scheduler: reminders, escalations, expiries and news for citizens, each done once, also
across restarts (a second app on the same database) and after a failed transaction. The clock
is moved by hand; nothing sleeps."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlmodel import select

from bot.conversations import reminders as scheduler
from bot.notify.outbox_hook import write_outbox
from cases.deadlines import SHANGHAI
from storage.models import CaseDeadline, OutboxMessage
from tests.conversations.test_rating import replied, told
from tests.conversations.test_staff import (
    HRSS_CHAT,
    LEADERS_CHAT,
    accepted,
    buttons,
    deadlines,
    events,
    people,
    reload,
    routed,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)     # a Monday


def in_chat(out, chat_id: int):
    return [m for m in out if m.chat_id == chat_id]


async def run(app):
    return await scheduler.run_due(app.engine)


async def handling(app, case) -> CaseDeadline:
    return (await deadlines(app, case))["handling"]


async def restart(make_app, app, clock):
    """A second app on the same database and config, as after a restart."""
    again = await make_app(app.settings)
    again.engine.clock = clock
    return again


async def test_the_handler_is_reminded_once_at_80_percent_even_across_restarts(office, clock,
                                                                               make_app):
    clock.now = T0
    app, world = await office()
    app.engine.on_outgoing = write_outbox
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    row = await handling(app, case)
    remind_at = app.engine.catalog.deadlines.remind_time("handling", row.started_at, row.due_at)
    assert row.remind_at == remind_at == row.started_at + (row.due_at - row.started_at) * 0.8

    clock.now = remind_at - timedelta(minutes=1)
    assert in_chat(await run(app), HRSS_CHAT) == []
    clock.now = remind_at
    [reminder] = in_chat(await run(app), HRSS_CHAT)
    assert "到期提醒" in reminder.text and case.number in reminder.text
    assert "办理期限将于 2026-05-06 届满" in reminder.text     # 05-01 falls in 劳动节
    assert "红灯（52天未答复）" in reminder.text
    assert "答复办结" in buttons(reminder)
    assert in_chat(await run(app), HRSS_CHAT) == []

    again = await restart(make_app, app, clock)
    again.engine.on_outgoing = write_outbox
    assert in_chat(await run(again), HRSS_CHAT) == []
    async with app.engine.sessions() as s:
        queued = (await s.exec(select(OutboxMessage).where(
            OutboxMessage.chat_id == HRSS_CHAT))).all()
    assert [m.payload["text"] for m in queued].count(reminder.text) == 1
    assert (await handling(app, case)).reminded_at == remind_at


async def test_a_passed_limit_is_escalated_to_the_leaders_once_without_a_late_reminder(
        office, clock, make_app):
    clock.now = T0
    app, world = await office()
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    row = await handling(app, case)
    clock.now = row.due_at - timedelta(seconds=1)
    await run(app)                                     # reminded (and the citizen told news)
    clock.now = row.due_at + timedelta(days=2)         # the bot was down when it passed
    out = await run(app)
    [alert] = in_chat(out, LEADERS_CHAT)
    assert "超期" in alert.text and "办理期限已于" in alert.text and case.number in alert.text
    assert alert.audience == "leaders"
    assert in_chat(out, HRSS_CHAT) == []
    again = await restart(make_app, app, clock)
    assert in_chat(await run(again), LEADERS_CHAT) == []
    assert (await handling(app, case)).escalated_at == row.due_at + timedelta(days=2)


async def test_jumping_past_the_due_time_escalates_but_does_not_remind(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    clock.now = (await handling(world.app, case)).due_at + timedelta(hours=1)
    out = await run(world.app)
    assert len(in_chat(out, LEADERS_CHAT)) == 1 and in_chat(out, HRSS_CHAT) == []
    assert (await handling(world.app, case)).reminded_at is not None


async def test_a_job_whose_transaction_failed_is_done_on_the_next_run(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    clock.now = (await handling(world.app, case)).remind_at

    async def broken(session, messages):
        raise OSError("disk full")

    seen = []

    async def recording(session, messages):
        assert session.in_transaction()
        seen.extend(messages)

    world.app.engine.on_outgoing = broken
    assert in_chat(await run(world.app), HRSS_CHAT) == []
    assert (await handling(world.app, case)).reminded_at is None   # rolled back, not lost
    world.app.engine.on_outgoing = recording
    assert len(in_chat(await run(world.app), HRSS_CHAT)) == 1
    assert len(in_chat(seen, HRSS_CHAT)) == 1
    assert in_chat(await run(world.app), HRSS_CHAT) == []


async def test_two_runs_at_once_queue_each_reminder_once(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    clock.now = (await handling(world.app, case)).remind_at
    first, second = await asyncio.gather(run(world.app), run(world.app))
    assert len(in_chat(first + second, HRSS_CHAT)) == 1


async def test_an_extension_moves_the_reminder_and_it_comes_again(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    await handler.send(f"/handle {case.number}")
    clock.now = (await handling(world.app, case)).remind_at
    assert len(in_chat(await run(world.app), HRSS_CHAT)) == 1
    await handler.send(f"/extend {case.number} 30|需要调取多个工地的考勤记录")
    row = await handling(world.app, case)
    assert row.reminded_at is None and row.remind_at > clock.now
    assert in_chat(await run(world.app), HRSS_CHAT) == []
    clock.now = row.remind_at
    assert len(in_chat(await run(world.app), HRSS_CHAT)) == 1
    assert in_chat(await run(world.app), HRSS_CHAT) == []


async def test_a_paused_limit_is_neither_reminded_nor_escalated(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    due = (await handling(world.app, case)).due_at
    await handler.send(f"/ask {case.number} 请提供劳动合同")
    clock.now = due + timedelta(days=1)
    out = await run(world.app)
    assert out == []                                   # the citizen's silence is not news due
    row = await handling(world.app, case)
    assert (row.reminded_at, row.escalated_at) == (None, None)


# ---------------------------------------------------------------- the citizen's side

async def test_a_citizen_without_news_for_7_days_is_told_it_is_still_handled(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await routed(world, intake, chat)
    clock.now = T0 + timedelta(days=7) - timedelta(minutes=1)
    assert in_chat(await run(world.app), chat.chat_id) == []
    clock.now = T0 + timedelta(days=7)
    [news] = in_chat(await run(world.app), chat.chat_id)
    assert "仍在办理中" in news.text and case.number in news.text
    assert "人力资源和社会保障局" in news.text and "受理告知期限：2026-03-17前" in news.text
    assert in_chat(await run(world.app), chat.chat_id) == []
    clock.advance(days=7)
    assert len(in_chat(await run(world.app), chat.chat_id)) == 1
    await handler.press("受理", case.number)          # real news: the count starts again
    clock.advance(days=6)
    assert in_chat(await run(world.app), chat.chat_id) == []
    assert [e.action for e in await events(world.app, case)].count("progress_notice") == 2
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    assert chat.text.count("仍在办理中，已告知您") == 2


async def test_no_news_reminder_for_a_concluded_or_a_paused_case(world, clock):
    clock.now = T0
    intake, handler, chat, case = await replied(world)
    clock.advance(days=10)
    out = in_chat(await run(world.app), chat.chat_id)
    assert [m.text for m in out if "仍在办理中" in m.text] == []
    assert len(out) == 1 and "还没有收到您的评价" in out[0].text
    assert "progress_notice" not in [e.action for e in await events(world.app, case)]


async def test_an_unanswered_rating_request_is_reminded_once_after_3_days(world, clock):
    clock.now = T0
    _, _, chat, case = await replied(world)
    clock.advance(days=3)
    [reminder] = in_chat(await run(world.app), chat.chat_id)
    assert "还没有收到您的评价" in reminder.text and case.number in reminder.text
    assert buttons(reminder) == ["满意", "基本满意", "不满意"]
    assert in_chat(await run(world.app), chat.chat_id) == []
    chat.last = [reminder]
    await chat.press("满意")
    assert (await reload(world.app, case)).status == "rated"
    clock.advance(days=20)
    assert in_chat(await run(world.app), chat.chat_id) == []


async def test_a_rated_case_gets_no_rating_reminder(world, clock):
    clock.now = T0
    _, _, chat, case = await replied(world)
    await chat.press("满意")
    clock.advance(days=3)
    assert in_chat(await run(world.app), chat.chat_id) == []


async def test_after_the_review_window_the_system_archives_the_case(world, clock):
    clock.now = T0
    _, _, chat, case = await replied(world)
    await chat.press("基本满意")
    window = (await deadlines(world.app, case))["review_request"]
    clock.now = window.due_at - timedelta(minutes=1)
    await run(world.app)
    assert (await reload(world.app, case)).status == "rated"
    clock.now = window.due_at
    [done] = in_chat(await run(world.app), chat.chat_id)
    assert "已办结归档" in done.text
    after = await reload(world.app, case)
    assert after.status == "closed"
    last = (await events(world.app, case))[-1]
    assert (last.action, last.role, last.actor) == ("close", "system", "system")
    assert all(d.stopped_at is not None for d in (await deadlines(world.app, case)).values())
    assert await run(world.app) == []


async def test_the_loop_runs_the_jobs_and_hands_over_the_messages(world, clock):
    clock.now = T0
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    clock.now = (await handling(world.app, case)).remind_at
    got: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(scheduler.scheduler_loop(world.app.engine, 3600,
                                                        deliver=got.put_nowait))
    try:
        out = await asyncio.wait_for(got.get(), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert any("到期提醒" in m.text for m in out)
    told(world, chat)


async def test_no_rating_reminder_after_a_send_back_of_a_rated_case(world, clock):
    clock.now = T0
    intake, handler, chat, case = await replied(world)
    await chat.press("不满意")
    await intake.send(f"/sendback {case.number} 工资只付了一半")
    await handler.send(f"/reply {case.number} solved|剩余工资已付清。")
    clock.advance(days=3)
    assert in_chat(await run(world.app), chat.chat_id) == []
