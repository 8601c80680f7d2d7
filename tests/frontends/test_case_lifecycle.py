"""One case from filing to review over the fake Bot API, on both front ends:
file → route → accept → extend → conclude → rate (不满意) → review.

What a person would notice is asserted at each step: the citizen's messages, the staff chat's
messages and buttons, and the case's status in the database. Every wait has a deadline (no
sleeps); the fake server must not have answered any 4xx."""
from __future__ import annotations

import shutil

import pytest
import yaml
from sqlmodel import select

from config.settings import CONFIG_DIR
from storage.models import Case, CaseEvent, OutboxMessage, Rating
from tests.fakes.citizen import RECEIPT, Citizen, button, text_has
from tests.fakes.telegram_server import FakeTelegram, Sent
from tests.frontends.conftest import STAFF_CHAT, STAFF_USER

pytestmark = pytest.mark.parametrize("frontend", ["aiogram", "ptb"])
HANDLER = 7101            # 人社局's 承办人 (in the department's ``staff`` list)
HRSS = "人力资源和社会保障局"


@pytest.fixture
def config_dir(tmp_path):
    """config/ with the handler in 人社局's staff list (its alerts go to the staff chat)."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    deps = yaml.safe_load((target / "departments.yaml").read_text(encoding="utf-8"))
    deps["hrss"].update(staff=[HANDLER])
    (target / "departments.yaml").write_text(yaml.safe_dump(deps, allow_unicode=True),
                                             encoding="utf-8")
    return target


class StaffChat:
    """The staff chat as its members see it."""

    def __init__(self, tg: FakeTelegram, number: str):
        self.tg, self.number = tg, number
        self.seen = 0

    @property
    def messages(self) -> list[Sent]:
        return self.tg.sent_to(STAFF_CHAT)

    def with_button(self, label: str) -> tuple[Sent, str] | None:
        """The newest message about the case with a button ``label`` (exact, else contained)."""
        for exact in (True, False):
            for m in reversed(self.messages):
                if self.number not in m.text:
                    continue
                for text, _ in m.buttons:
                    if text == label or (not exact and label in text):
                        return m, text
        return None

    async def press(self, user_id: int, label: str) -> Sent:
        message, text = await self.tg.wait_until(lambda: self.with_button(label),
                                                 what=f"staff button {label!r}")
        self.tg.press(user_id, message, text)
        return message

    def say(self, user_id: int, text: str) -> None:
        self.tg.user_text(user_id, text, chat_id=STAFF_CHAT)

    async def expect(self, fragment: str) -> Sent:
        def found():
            return next((m for m in self.messages[self.seen:] if fragment in m.text), None)
        msg = await self.tg.wait_until(found, 20, f"staff chat: {fragment!r}")
        self.seen = self.messages.index(msg) + 1
        return msg


async def case_now(bot) -> Case:
    async with bot.app.engine.sessions() as s:
        return (await s.exec(select(Case))).one()


async def all_rows(bot, model) -> list:
    async with bot.app.engine.sessions() as s:
        return list((await s.exec(select(model))).all())


async def settle(bot, status: str) -> Case:
    """Everything handled and sent; the case is in ``status``."""
    await bot.runner.idle()
    case = await case_now(bot)
    assert case.status == status
    return case


async def test_file_route_accept_extend_conclude_rate_review(tg, start_bot, frontend,
                                                             config_dir):
    bot = await start_bot(tg, frontend, config_dir=config_dir)
    citizen = Citizen(tg, 2001)

    # file ------------------------------------------------------------------------------
    receipt = await citizen.file_wages_complaint()
    number = RECEIPT.search(receipt).group(1)
    staff = StaffChat(tg, number)
    alert = await staff.expect(number)
    assert "138****5678" in alert.text and "交办" in [b for b, _ in alert.buttons]
    await settle(bot, "registered")

    # route: intake picks the department; the citizen is told where it went -----------------
    await staff.press(STAFF_USER, "交办")
    pick = await staff.expect("选择承办单位")
    assert any(HRSS in label for label, _ in pick.buttons)
    await staff.press(STAFF_USER, HRSS)
    await citizen.expect(text_has(f"已交办至{HRSS}"))
    await staff.expect("已「交办」")
    case = await settle(bot, "routed")
    assert case.department == "hrss"
    labels = [b for b, _ in alert.buttons]            # the alert was edited: the routed case's
    assert "受理" in labels and "提出交办异议" in labels  # buttons (objecting is new)

    # accept, start handling: the department's handler --------------------------------------
    await staff.press(HANDLER, "受理")
    accepted = await citizen.expect(text_has("已受理"))
    assert number in accepted.text and "60日内办结" in accepted.text
    await staff.expect("已「受理」")
    await settle(bot, "accepted")
    await staff.press(HANDLER, "开始办理")
    await citizen.expect(text_has("正在办理中"))
    await settle(bot, "in_handling")

    # extend, by command: the citizen is told the days and the reason -----------------------
    staff.say(HANDLER, f"/extend {number} 20|需要核对三十多名工人的考勤")
    extended = await citizen.expect(text_has("延长20日"))
    assert "延期理由：需要核对三十多名工人的考勤" in extended.text
    await staff.expect("已「延长办理期限」")
    await settle(bot, "extended")

    # conclude: outcome, plan and reply text asked one by one in the staff chat --------------
    await staff.press(HANDLER, "答复办结")
    await staff.expect("选择办理结果")
    await staff.press(HANDLER, "已制定解决方案")
    await staff.expect("解决方案")
    staff.say(HANDLER, "4月30日前分两期支付")
    await staff.expect("答复意见")
    staff.say(HANDLER, "经调查，城南建筑公司确有拖欠，已责令限期支付。")
    reply = await citizen.expect(text_has("已办结"))
    # the reply and the rating request are one message
    assert "办理结果：已制定解决方案" in reply.text
    assert "解决方案：4月30日前分两期支付" in reply.text
    assert "答复意见：经调查，城南建筑公司确有拖欠，已责令限期支付。" in reply.text
    assert [b for b, _ in reply.buttons] == ["满意", "基本满意", "不满意"]
    await staff.expect("已「答复办结」")
    await settle(bot, "replied")

    # rate 不满意: review offered, the department asked for a return visit -------------------
    rated = await citizen.step(("press", "不满意"), text_has("评价：不满意"))
    assert "30日内申请复查" in rated.text and button("申请复查")(rated)
    await staff.expect("请安排回访")
    await settle(bot, "rated")
    assert not reply.buttons                                  # the rating buttons are gone
    for score, next_question in (("2", "方式方法"), ("3", "办理进度"), ("1", "结果反馈"),
                                 ("2", "意见或建议")):
        await citizen.step(("press", score), text_has(next_question))
    await citizen.step(("press", "不用了"), text_has("感谢您的评价"))
    await settle(bot, "rated")
    [rating] = await all_rows(bot, Rating)
    assert (rating.overall, rating.attitude, rating.method, rating.speed, rating.result,
            rating.comment) == ("dissatisfied", 2, 3, 1, 2, None)

    # request review (复查) with a reason; intake staff start it ----------------------------
    await citizen.step(("press", "申请复查"), text_has("申请复查案件"))
    await citizen.step(("text", "第二期工资的支付时间没有保障。"), text_has("已收到您的复查申请"))
    requested = await staff.expect("第二期工资的支付时间没有保障")
    assert number in requested.text and "受理复查" in [b for b, _ in requested.buttons]
    await settle(bot, "review_requested")
    await staff.press(STAFF_USER, "受理复查")
    await citizen.expect(text_has("正在复查中"))
    await staff.expect("已「受理复查」")
    await settle(bot, "under_review")

    # the record, and Telegram's side -----------------------------------------------------
    events = [e.action for e in await all_rows(bot, CaseEvent)]
    assert events == ["registered", "route", "accept", "start_handling", "extend", "reply",
                      "rate", "return_visit", "request_review", "start_review"]
    assert {m.status for m in await all_rows(bot, OutboxMessage)} == {"sent"}
    assert [e for e in tg.errors if 400 <= e[1] < 500] == []     # not even "not modified"
    presses = sum(1 for method, _ in tg.calls if method == "answerCallbackQuery")
    assert presses == len(tg.callback_answers)                # every spinner stopped
