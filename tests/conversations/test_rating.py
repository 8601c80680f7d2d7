"""Rating a concluded case, as the citizen does it: the request comes with the reply, then the
aspects and a comment; a 不满意 leads to a return visit, a review request, and a send-back."""
from __future__ import annotations

from sqlmodel import select

from bot.chat import Kind
from storage.models import Rating
from tests.conftest import Chat
from tests.conversations.test_staff import (
    HRSS_CHAT,
    STAFF_CHAT,
    Staff,
    World,
    accepted,
    buttons,
    citizen_text,
    events,
    people,
    reload,
)


def told(world: World, chat: Chat):
    """What the citizen got from the last event anywhere; their next press acts on it."""
    chat.last = [m for m in world.last if m.chat_id == chat.chat_id]
    return chat.last


async def replied(world: World, outcome: str = "solved"):
    intake, handler, chat = people(world)
    case = await accepted(world, intake, handler, chat)
    await handler.send(f"/reply {case.number} {outcome}|欠薪已由宏达公司全部支付。")
    told(world, chat)
    return intake, handler, chat, await reload(world.app, case)


async def rating_of(world: World, case) -> Rating | None:
    async with world.app.engine.sessions() as s:
        return (await s.exec(select(Rating).where(Rating.case_id == case.id))).first()


async def test_the_reply_asks_for_the_rating_in_the_same_message(world):
    _, _, chat, case = await replied(world)
    [message] = chat.mine
    assert "办理结果：已解决" in message.text and "欠薪已由宏达公司全部支付" in message.text
    assert "请您对办理情况作出评价" in message.text
    assert buttons(message) == ["满意", "基本满意", "不满意"]
    assert all(len(b.data.encode()) <= 64 for row in message.buttons for b in row)
    assert case.status == "replied"


async def test_overall_then_four_aspects_then_a_comment(world):
    _, _, chat, case = await replied(world)
    await chat.press("基本满意")
    assert "感谢您对信访事项" in chat.text and "基本满意" in chat.text
    assert "申请复查" not in chat.buttons()           # only a 不满意 offers it
    assert "「办理态度」打分" in chat.text and chat.buttons() == ["1", "2", "3", "4", "5"]
    for score, next_aspect in (("5", "方式方法"), ("4", "办理进度"), ("3", "结果反馈")):
        await chat.press(score)
        assert f"「{next_aspect}」" in chat.text
    await chat.press("5")
    assert "意见或建议" in chat.text
    await chat.send("办事效率还可以再快一点。")
    assert "感谢您的评价" in chat.text
    rating = await rating_of(world, case)
    assert (rating.overall, rating.attitude, rating.method, rating.speed, rating.result) == (
        "basically_satisfied", 5, 4, 3, 5)
    assert rating.comment == "办事效率还可以再快一点。"
    assert (await reload(world.app, case)).status == "rated"
    assert not [m for m in world.last if m.chat_id != chat.chat_id]  # staff not bothered
    await chat.send("这句话不再是评价意见")
    assert (await rating_of(world, case)).comment == "办事效率还可以再快一点。"


async def test_the_comment_is_optional(world):
    _, _, chat, case = await replied(world)
    await chat.press("满意")
    for _ in range(4):
        await chat.press("4")
    await chat.press("不用了")
    assert "感谢您的评价" in chat.text
    assert (await rating_of(world, case)).comment is None
    await chat.send("/start")
    assert "投诉/信访" in chat.buttons()             # no flow left behind


async def test_a_rating_cannot_be_changed(world):
    _, _, chat, case = await replied(world)
    first = list(chat.mine)
    await chat.press("满意")
    await chat.press("5")
    chat.last = first
    await chat.press("不满意")                          # the old message's button, again
    assert "已经评价过" in chat.text
    await chat.data(f"r:a:{case.id}:attitude:1")
    assert "已经打过分" in chat.text
    rating = await rating_of(world, case)
    assert (rating.overall, rating.attitude) == ("satisfied", 5)
    assert [e.action for e in await events(world.app, case)].count("rate") == 1


async def test_nobody_but_the_citizen_can_rate(world):
    intake, _, chat, case = await replied(world)
    stranger = Chat(world.app, chat_id=777)
    await stranger.data(f"r:o:{case.id}:dissatisfied")
    assert "按钮已经失效" in stranger.text
    await stranger.data(f"r:v:{case.id}")
    assert "按钮已经失效" in stranger.text
    assert await intake.event(kind=Kind.BUTTON, data=f"r:o:{case.id}:satisfied") == []
    for forged in ("r:o", "r:o:x:satisfied", f"r:o:{case.id}:great", f"r:a:{case.id}:mood:5",
                   f"r:a:{case.id}:attitude:9"):
        await chat.data(forged)
    assert await rating_of(world, case) is None
    assert (await reload(world.app, case)).status == "replied"


async def test_after_the_rating_window_the_request_is_closed(world, clock):
    _, _, chat, case = await replied(world)
    clock.advance(days=16)
    await chat.press("满意")
    assert "已超过评价期限（15日）" in chat.text
    assert await rating_of(world, case) is None


async def test_dissatisfied_creates_a_return_visit_and_offers_a_review(world):
    intake, _, chat, case = await replied(world)
    await chat.press("不满意")
    ack = chat.mine[0]
    assert "不满意" in ack.text and "30日内申请复查" in ack.text
    assert buttons(ack) == ["申请复查"]
    [visit] = [m for m in world.last if m.chat_id == HRSS_CHAT]
    assert "请安排回访" in visit.text and case.number in visit.text
    assert "退回重办" in buttons(visit)
    log = await events(world.app, case)
    assert [e.action for e in log][-2:] == ["rate", "return_visit"]
    assert log[-1].role == "system"
    # the citizen's timeline shows the rating, not the staff-only task
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    assert "您的评价：不满意" in chat.text and "回访" not in chat.text
    # the comment on a 不满意 goes to the department too
    await chat.data(f"r:a:{case.id}:attitude:2")
    for _ in range(3):
        await chat.press("1")
    await chat.send("钱只给了一半。")
    assert any("钱只给了一半" in m.text for m in world.last if m.chat_id == HRSS_CHAT)


async def test_a_dissatisfied_citizen_asks_for_review_and_staff_start_it(world):
    intake, _, chat, case = await replied(world)
    await chat.press("不满意")
    await chat.press("申请复查")
    assert "申请复查案件" in chat.text and case.number in chat.text
    await chat.send("只支付了一半工资，另一半没有着落。")
    assert "已收到您的复查申请" in chat.text
    after = await reload(world.app, case)
    assert after.status == "review_requested"
    [note] = [m for m in world.last if m.chat_id == STAFF_CHAT]
    assert "申请复查" in note.text and "另一半没有着落" in note.text
    assert "受理复查" in buttons(note)
    await Staff(world, STAFF_CHAT, intake.user_id).press("受理复查", case.number)
    assert "正在复查中" in citizen_text(world, chat)
    assert (await reload(world.app, case)).status == "under_review"


async def test_a_review_request_can_be_cancelled(world):
    _, _, chat, case = await replied(world)
    await chat.press("不满意")
    await chat.press("申请复查")
    await chat.press("取消")
    assert "已取消复查申请" in chat.text
    assert (await reload(world.app, case)).status == "rated"


async def test_staff_send_a_dissatisfied_case_back_and_it_is_handled_again(world):
    intake, handler, chat, case = await replied(world)
    await chat.press("不满意")
    staff = Staff(world, HRSS_CHAT, intake.user_id, "李登记")
    await staff.press("退回重办", case.number)
    await staff.send("信访人反映工资只付了一半")
    assert "退回承办单位重新办理" in citizen_text(world, chat)
    after = await reload(world.app, case)
    assert after.status == "in_handling"
    # the second reply does not ask for a second rating: the case was rated once
    await handler.send(f"/reply {case.number} solved|剩余工资已于今日付清。")
    [again] = told(world, chat)
    assert "剩余工资已于今日付清" in again.text and buttons(again) == []


async def test_progress_offers_the_rating_and_the_review_on_the_citizens_own_case(world):
    _, _, chat, case = await replied(world)
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    assert {"满意", "基本满意", "不满意", "申请复查"} <= set(chat.buttons())
    await chat.press("满意")
    await chat.send("/progress")
    await chat.press(f"查看 {case.number}")
    assert "满意" not in chat.buttons() and "申请复查" in chat.buttons()
