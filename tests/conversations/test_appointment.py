"""Leaders' reception days (领导接访日): slots published by leaders and intake staff, citizens
booking them (/appointment and the menu's 「预约接访」), a full slot, the waiting list, the
cut-off, reminders and the day's list (each once, also across a restart), the outcome recorded
on the case through the lifecycle, and forged or repeated buttons. The clock is moved by hand;
nothing sleeps. Cases are filed straight through the case service (filing is tested elsewhere).
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlmodel import select

from bot.conversations import reminders as scheduler
from bot.notify.outbox_hook import write_outbox
from cases.deadlines import SHANGHAI
from storage import repo
from storage.models import Case, OutboxMessage, ReceptionBooking, ReceptionSlot
from tests.conftest import Chat
from tests.conversations.test_staff import (
    INTAKE,
    LEADER,
    LEADERS_CHAT,
    NOBODY,
    STAFF_CHAT,
    Staff,
    events,
    reload,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)            # a Monday
DAY = "2026-03-05"                                       # the Thursday after
SLOT = f"{DAY} 09:00-11:30 | 市信访局接待室 | 2 | 劳动保障,城乡建设"
START = datetime(2026, 3, 5, 9, tzinfo=SHANGHAI)


async def new_case(app, chat_id: int, clock, phone: str = "13812345678",
                   name: str = "王小明") -> Case:
    async with app.engine.transaction() as s:
        citizen = await repo.get_or_create_citizen(s, chat_id=chat_id)
        return await app.engine.casework.file(
            s, citizen=citizen, at=clock.now, attachments=[], level1="劳动和社会保障",
            level2="工资福利", level3="工资发放", department="hrss", name=name, phone=phone,
            description="宏达建筑劳务公司拖欠我们三十多人五个月工资共三万五千元，多次讨要未果。")


def leader(world) -> Staff:
    return Staff(world, LEADERS_CHAT, LEADER, "王局长")


def intake(world) -> Staff:
    return Staff(world, STAFF_CHAT, INTAKE, "李登记")


async def slots(app) -> list[ReceptionSlot]:
    async with app.engine.sessions() as s:
        return list((await s.exec(select(ReceptionSlot).order_by(ReceptionSlot.id))).all())


async def bookings(app) -> list[ReceptionBooking]:
    async with app.engine.sessions() as s:
        return list((await s.exec(select(ReceptionBooking).order_by(ReceptionBooking.id))).all())


async def book(chat: Chat, label: str, matter: str = "请领导督促宏达公司尽快结清工资") -> None:
    """/appointment, press the slot ``label``, state the matter (one case: picked by itself)."""
    await chat.send("/appointment")
    await chat.press(label)
    assert "一句话" in chat.text, chat.text
    await chat.send(matter)


async def setup(world, clock, capacity: int = 2) -> tuple[Staff, Chat, Case]:
    clock.now = T0
    host = leader(world)
    await host.send(f"/slot {DAY} 09:00-11:30 | 市信访局接待室 | {capacity} | 劳动保障,城乡建设")
    assert "已发布接访场次 #1" in host.text and "王局长" in host.text, host.text
    chat = Chat(world.app, chat_id=501)
    case = await new_case(world.app, chat.chat_id, clock)
    return host, chat, case


def run(app):
    return scheduler.run_due(app.engine)


def to(out, chat_id):
    return [m for m in out if m.chat_id == chat_id]


# ---------------------------------------------------------------- publishing

async def test_leaders_and_intake_staff_publish_slots_others_cannot_bad_input_is_explained(
        world, clock):
    clock.now = T0
    host, desk = leader(world), intake(world)
    await host.send("/slot")
    assert "用法" in host.text
    for bad, words in ((f"{DAY} 9点 | 接待室 | 6", "写法不对"),
                       (f"{DAY} 11:00-09:00 | 接待室 | 6", "结束须晚于开始"),
                       ("2026-02-30 09:00-10:00 | 接待室 | 6", "写法不对"),
                       ("2026-03-01 09:00-10:00 | 接待室 | 6", "已经过去"),
                       (f"{DAY} 09:00-10:00 | 接待室 | 六 | 劳动保障", "1 至 200"),
                       (f"{DAY} 09:00-10:00 |  | 6", "接访地点"),
                       (f"{DAY} 14:00-16:00 | 视频 | 4 | 城乡建设", "会议链接")):
        await host.send(f"/slot {bad}")
        assert words in host.text, (bad, host.text)
    assert await slots(world.app) == []
    await desk.send(f"/slot {DAY} 14:00-16:00 | 视频 | 4 | 城乡建设、住房 | https://meeting.example.cn/r/1"
                    " | 张副市长")
    assert "已发布接访场次 #1" in desk.text and "视频接访" in desk.text and "张副市长" in desk.text
    [video] = await slots(world.app)
    assert (video.video, video.link, video.capacity, video.topics, video.host_name) == (
        True, "https://meeting.example.cn/r/1", 4, ["城乡建设", "住房"], "张副市长")
    assert video.starts_at == datetime(2026, 3, 5, 14, tzinfo=SHANGHAI)
    for outsider in (Staff(world, STAFF_CHAT, NOBODY), Staff(world, STAFF_CHAT, 7101)):
        await outsider.send(f"/slot {SLOT}")
        assert "没有权限" in outsider.text
    assert len(await slots(world.app)) == 1
    await desk.send("/slots")
    assert "#1" in desk.text and "已约 0/4" in desk.text
    await desk.send("/help")
    assert "/slot 日期" in desk.text and "/outcome" in desk.text


# ---------------------------------------------------------------- booking

async def test_a_citizen_books_a_slot_and_is_told_when_where_and_what_to_bring(world, clock):
    _, chat, case = await setup(world, clock)
    await chat.send("/start")
    await chat.press("预约接访")
    assert "3月5日（周四）09:00–11:30" in chat.text and "余 2 个名额" in chat.text
    assert "主题：劳动保障、城乡建设" in chat.text
    await chat.press("3月5日")
    assert case.number in chat.text and "一句话" in chat.text
    await chat.send("")
    assert "一句话" in chat.text
    await chat.send("请领导督促宏达公司尽快结清工资" * 20)
    assert "请简短一些" in chat.text
    await chat.send("请领导督促宏达公司尽快结清工资 <b>")
    text = chat.text
    assert "预约成功" in text and case.number in text and "王局长" in text
    assert "地点：市信访局接待室" in text and "身份证" in text
    assert "&lt;b&gt;" in text and "2026-03-04 09:00 之前" in text
    assert chat.buttons() == ["改约", "取消预约"]
    [booking] = await bookings(world.app)
    assert (booking.status, booking.case_id, booking.matter) == (
        "booked", case.id, "请领导督促宏达公司尽快结清工资 <b>")
    assert (await slots(world.app))[0].booked == 1
    # the slot button pressed again (a second click) changes nothing
    await chat.data(f"ap:slot:{booking.slot_id}")
    assert "无效或已失效" in chat.text or "失效" in chat.text
    await chat.send("/appointment")
    assert "已经有预约了" in chat.text and chat.buttons() == ["改约", "取消预约"]
    assert len(await bookings(world.app)) == 1


async def test_a_citizen_with_several_cases_picks_one_and_without_a_case_is_told_to_file(
        world, clock):
    _, chat, first = await setup(world, clock)
    second = await new_case(world.app, chat.chat_id, clock)
    await chat.send("/appointment")
    await chat.press("3月5日")
    assert "哪一件事" in chat.text and {first.number, second.number} <= {
        b.split()[0] for b in chat.buttons() if b.startswith("HY")}
    await chat.send("随便写点")
    assert "请点击上面的按钮" in chat.text
    await chat.press(second.number)
    await chat.send("请领导关注")
    [booking] = await bookings(world.app)
    assert booking.case_id == second.id
    stranger = Chat(world.app, chat_id=777)
    await stranger.send("/appointment")
    assert "需要先有您反映过的事项" in stranger.text and "投诉/信访" in stranger.buttons()
    await stranger.data(f"ap:case:{first.id}")        # someone else's case, forged
    assert "失效" in stranger.text
    assert len(await bookings(world.app)) == 1


async def test_no_slot_open_to_booking_is_said_plainly(world, clock):
    clock.now = T0
    chat = Chat(world.app)
    await new_case(world.app, chat.chat_id, clock)
    await chat.send("/appointment")
    assert "目前没有可以预约的领导接访场次" in chat.text
    await leader(world).send("/slot 2026-03-03 09:00-10:00 | 接待室 | 2 | 劳动保障")  # within 24 h
    await chat.send("/appointment")
    assert "目前没有可以预约" in chat.text


# ---------------------------------------------------------------- full slots, waiting list

async def test_a_full_slot_offers_the_next_free_ones_and_its_waiting_list(world, clock):
    host, first, _ = await setup(world, clock, capacity=1)
    await host.send("/slot 2026-03-12 09:00-11:30 | 市信访局接待室 | 3 | 劳动保障")
    await book(first, "3月5日")
    second = Chat(world.app, chat_id=502)
    await new_case(world.app, second.chat_id, clock, phone="13900001111", name="李四")
    await second.send("/appointment")
    assert "已约满，可排队候补" in second.text
    await second.press("3月5日")
    assert "已经约满" in second.text and "以下场次还有名额" in second.text
    assert "3月12日" in " ".join(second.buttons()) and "排队候补原场次" in second.buttons()
    await second.press("排队候补")
    await second.send("希望领导当面听听我们的情况")
    assert "已为您排队候补" in second.text and "第 1 位" in second.text
    third = Chat(world.app, chat_id=503)
    await new_case(world.app, third.chat_id, clock)
    await third.send("/appointment")
    await third.press("3月5日")
    await third.press("3月12日")
    await third.send("欠薪问题")
    assert "预约成功" in third.text and "3月12日" in third.text
    states = [(b.slot_id, b.status) for b in await bookings(world.app)]
    assert states == [(1, "booked"), (1, "waiting"), (2, "booked")]
    await host.send("/slots")
    assert "已约 1/1，候补 1" in host.text and "已约 1/3" in host.text


async def test_the_waiting_list_moves_up_when_someone_cancels(world, clock):
    _, first, _ = await setup(world, clock, capacity=1)
    await book(first, "3月5日")
    waiting = []
    for chat_id in (502, 503):
        chat = Chat(world.app, chat_id=chat_id)
        await new_case(world.app, chat_id, clock)
        await chat.send("/appointment")
        await chat.press("3月5日")
        await chat.press("排队候补")
        await chat.send("请求接访")
        waiting.append(chat)
    assert "第 2 位" in waiting[1].text
    await first.send("/appointment")                     # shows the booking with its buttons
    assert "已经有预约了" in first.text
    await first.press("取消预约")
    assert "已取消您 3月5日（周四）09:00–11:30 的接访预约" in first.text
    [told] = [m for m in first.last if m.chat_id == waiting[0].chat_id]
    assert "候补成功" in told.text and "地点：市信访局接待室" in told.text
    assert not [m for m in first.last if m.chat_id == waiting[1].chat_id]
    states = [b.status for b in await bookings(world.app)]
    assert states == ["cancelled", "booked", "waiting"]
    assert (await bookings(world.app))[1].promoted_at == clock.now
    assert (await slots(world.app))[0].booked == 1
    # the cancel button pressed again, and someone else's booking forged: nothing changes
    [mine, promoted, _] = await bookings(world.app)
    await first.data(f"ap:x:{mine.id}")
    assert "已经取消" in first.text
    await first.data(f"ap:x:{promoted.id}")
    assert "失效" in first.text
    for forged in ("ap:x", "ap:x:abc", "ap:slot:99999999999", "ap:mv:-1", "ap:q:1:2"):
        await first.data(forged)
        assert "失效" in first.text, forged
    assert [b.status for b in await bookings(world.app)] == ["cancelled", "booked", "waiting"]


async def test_two_citizens_booking_the_last_place_at_once_one_gets_it(world, clock):
    _, first, _ = await setup(world, clock, capacity=1)
    second = Chat(world.app, chat_id=502)
    await new_case(world.app, second.chat_id, clock)
    for chat in (first, second):
        await chat.send("/appointment")
        await chat.press("3月5日")
    one, two = await asyncio.gather(first.send("我先到"), second.send("我也要"))
    texts = ["\n".join(m.text for m in out) for out in (one, two)]
    assert sum("预约成功" in t for t in texts) == 1
    assert sum("已经约满" in t for t in texts) == 1
    assert [b.status for b in await bookings(world.app)] == ["booked"]
    assert (await slots(world.app))[0].booked == 1


# ---------------------------------------------------------------- cut-off, rescheduling

async def test_cancel_and_reschedule_only_until_the_cut_off(world, clock):
    host, chat, _ = await setup(world, clock)
    await host.send("/slot 2026-03-12 09:00-11:30 | 视频 | 2 | 劳动保障 | https://meeting.example.cn/r/9")
    await book(chat, "3月5日")
    await chat.press("改约")
    assert "原预约：3月5日" in chat.text and "3月12日" in " ".join(chat.buttons())
    assert not [b for b in chat.buttons() if b.startswith("3月5日")]
    await chat.press("3月12日")
    assert "改约成功" in chat.text and "https://meeting.example.cn/r/9" in chat.text
    assert [(b.slot_id, b.status) for b in await bookings(world.app)] == [
        (1, "cancelled"), (2, "booked")]
    assert [s.booked for s in await slots(world.app)] == [0, 1]
    clock.now = datetime(2026, 3, 11, 9, 30, tzinfo=SHANGHAI)      # 23.5 h before
    await chat.press("取消预约")
    assert "不足 24 小时" in chat.text and "致电" in chat.text
    await chat.data("ap:mv:2")
    assert "不足 24 小时" in chat.text
    assert [b.status for b in await bookings(world.app)] == ["cancelled", "booked"]
    await chat.send("/appointment")
    assert "已经有预约了" in chat.text and chat.buttons() == []      # no more buttons


async def test_a_cancelled_slot_tells_its_booked_and_waiting_citizens(world, clock):
    host, first, _ = await setup(world, clock, capacity=1)
    await book(first, "3月5日")
    second = Chat(world.app, chat_id=502)
    await new_case(world.app, second.chat_id, clock)
    await second.send("/appointment")
    await second.press("3月5日")
    await second.press("排队候补")
    await second.send("请求接访")
    await host.send("/cancelslot 1 领导临时外出")
    assert "已通知 2 位信访人" in host.text
    told = {m.chat_id: m for m in host_out(host)}
    assert "因故取消（领导临时外出）" in told[first.chat_id].text
    assert "重新预约" in [b.text for row in told[second.chat_id].buttons for b in row]
    assert [b.status for b in await bookings(world.app)] == ["cancelled", "cancelled"]
    await host.send("/cancelslot 1")
    assert "没有找到这个场次" in host.text
    await host.send("/cancelslot abc")
    assert "用法" in host.text


def host_out(staff: Staff):
    return [m for m in staff.world.last if m.audience == "citizen"]


# ---------------------------------------------------------------- reminders and the day's list

async def test_reminders_come_once_each_also_after_a_restart(office, clock, make_app):
    clock.now = T0
    app, world = await office()
    app.engine.on_outgoing = write_outbox
    host = leader(world)
    await host.send(f"/slot {SLOT}")
    chat = Chat(app)
    await new_case(app, chat.chat_id, clock)
    await book(chat, "3月5日")
    clock.now = START - timedelta(hours=24, minutes=1)
    assert to(await run(app), chat.chat_id) == []
    clock.now = START - timedelta(hours=24)
    [day] = to(await run(app), chat.chat_id)
    assert "明天举行" in day.text and "地点：市信访局接待室" in day.text
    assert to(await run(app), chat.chat_id) == []
    again = await make_app(app.settings)                 # a restart on the same database
    again.engine.clock, again.engine.on_outgoing = clock, write_outbox
    assert to(await run(again), chat.chat_id) == []
    clock.now = START - timedelta(hours=2)
    [soon] = to(await run(again), chat.chat_id)
    assert "将于 09:00 开始" in soon.text and soon.buttons == []      # past the cut-off
    assert to(await run(again), chat.chat_id) == []
    assert to(await run(app), chat.chat_id) == []
    async with app.engine.sessions() as s:
        queued = (await s.exec(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat.chat_id))).all()
    texts = [m.payload["text"] for m in queued]
    assert texts.count(day.text) == 1 and texts.count(soon.text) == 1


async def test_a_place_had_late_gets_no_reminder_whose_time_has_passed(world, clock):
    _, first, _ = await setup(world, clock, capacity=1)
    await book(first, "3月5日")
    second = Chat(world.app, chat_id=502)
    await new_case(world.app, second.chat_id, clock)
    await second.send("/appointment")
    await second.press("3月5日")
    await second.press("排队候补")
    await second.send("请求接访")
    clock.now = START - timedelta(hours=25)               # the day-before reminder is near
    first.last = [m for m in first.inbox if m.chat_id == first.chat_id and m.buttons]
    await first.press("取消预约")
    clock.now = START - timedelta(hours=24)
    [day] = to(await run(world.app), second.chat_id)
    assert "明天举行" in day.text
    assert to(await run(world.app), first.chat_id) == []


async def test_the_days_list_goes_to_leaders_and_staff_once_on_the_morning(world, clock):
    host, chat, case = await setup(world, clock)
    await book(chat, "3月5日", "请求领导督办欠薪")
    clock.now = datetime(2026, 3, 5, 7, 59, tzinfo=SHANGHAI)
    out = await run(world.app)
    assert to(out, LEADERS_CHAT) == [] and to(out, STAFF_CHAT) == []
    clock.now = datetime(2026, 3, 5, 8, 0, tzinfo=SHANGHAI)
    out = await run(world.app)
    [listed] = to(out, LEADERS_CHAT)
    [staff_copy] = to(out, STAFF_CHAT)
    assert staff_copy.text == listed.text and listed.audience == "leaders"
    assert "领导接访名单" in listed.text and case.number in listed.text
    assert "王小明" in listed.text and "138****5678" in listed.text
    assert "13812345678" not in listed.text
    assert "请求领导督办欠薪" in listed.text and "宏达建筑劳务公司拖欠" in listed.text
    assert "已约 1/2" in listed.text and "/outcome" in listed.text
    assert to(await run(world.app), LEADERS_CHAT) == []
    await host.send(f"/slots {DAY}")
    assert case.number in host.text and "138****5678" in host.text
    await host.send("/slots 2026-03-06")
    assert "没有接访场次" in host.text
    await host.send("/slots 明天")
    assert "日期的写法不对" in host.text


# ---------------------------------------------------------------- the outcome on the case

async def test_the_leader_records_the_outcome_on_the_case_through_the_lifecycle(world, clock):
    host, chat, case = await setup(world, clock)
    await book(chat, "3月5日")
    await host.send(f"/outcome {case.number} 包案 由我包案督办")
    assert "没有已经开始、尚未记录结果的接访预约" in host.text   # not received yet
    clock.now = START + timedelta(minutes=30)
    await host.send(f"/outcome {case.number} 表扬 很好")
    assert "用法" in host.text and "交办|包案|当场答复" in host.text
    await host.send("/outcome HY19990101-00001 包案 由我督办")
    assert "没有找到" in host.text
    await Staff(world, LEADERS_CHAT, NOBODY).send(f"/outcome {case.number} 包案 由我督办")
    assert "没有权限" in world.last[0].text
    await host.send(f"/outcome {case.number} 包案 由我包案督办，月底前结清")
    assert "已记录接访结果「包案」" in host.text and "信访人已收到通知" in host.text
    told = [m for m in world.last if m.chat_id == chat.chat_id]
    assert "已记录接访结果：包案" in told[0].text and "月底前结清" in told[0].text
    after = await reload(world.app, case)
    assert (after.leader_id, after.status, after.version) == (LEADER, "registered", 1)
    last = (await events(world.app, case))[-1]
    assert (last.action, last.role, last.actor) == ("reception", "leader", f"staff:{LEADER}")
    assert last.fields == {"reception_outcome": "own", "reception_note": "由我包案督办，月底前结清"}
    [booking] = await bookings(world.app)
    assert booking.outcome == "own"
    await host.send(f"/outcome {case.number} 当场答复 再记一次")
    assert "没有已经开始、尚未记录结果" in host.text       # once per reception
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    assert "领导接访，接访结果：包案；领导意见：由我包案督办，月底前结清" in chat.text


async def test_an_assigned_outcome_goes_to_the_department_and_works_on_a_closed_case(
        world, clock):
    host, chat, case = await setup(world, clock)
    desk = intake(world)
    await desk.send(f"/decline {case.number} 不属于信访事项|向人民法院起诉")
    await desk.send(f"/close {case.number}")
    assert (await reload(world.app, case)).status == "closed"
    await book(chat, "3月5日")
    assert "预约成功" in chat.text
    clock.now = START + timedelta(hours=1)
    await desk.send(f"/outcome {case.number} 交办 请人社局重新核查欠薪金额")
    assert "已记录接访结果「交办」" in desk.text
    hrss = [m for m in world.last if m.chat_id == -200]
    assert hrss and "领导接访交办" in hrss[0].text and "重新核查欠薪金额" in hrss[0].text
    after = await reload(world.app, case)
    assert (after.status, after.leader_id) == ("closed", None)
    assert (await events(world.app, case))[-1].role == "intake"
    # never offered as a button on the case card
    await desk.send(f"/case {case.number}")
    assert "领导接访" not in [b.text for m in world.last for row in m.buttons for b in row]
