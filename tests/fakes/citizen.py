"""A citizen on the fake Telegram server: does one thing at a time and waits (with a
deadline, no sleeps) for the bot's answer it expects. Used by the tests and the bench."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tests.fakes.telegram_server import FakeTelegram, Sent

Expect = Callable[[Sent], bool]
RECEIPT = re.compile(r"案件编号：(HY\d{8}-\d{5,})\s*查询码：(\d{6})")


def text_has(fragment: str) -> Expect:
    return lambda m: fragment in m.text


def button(label: str) -> Expect:
    return lambda m: any(label in t for t, _ in m.buttons)


def contact_keyboard(m: Sent) -> bool:
    rows = (m.reply_markup or {}).get("keyboard") or []
    return any(b.get("request_contact") for row in rows for b in row)


def receipt(m: Sent) -> bool:
    return RECEIPT.search(m.text) is not None


DESCRIPTION = ("我在城南建筑工地干了三个月，包工头拖欠我们工资两万多元一直不给，"
               "老板电话也打不通，请政府帮忙讨薪")

# One complete unpaid-wages complaint: (what the citizen does, what the bot answers).
WAGES = [
    (("text", "/start"), button("投诉/信访")),
    (("text", DESCRIPTION), button("反映这个问题")),
    (("press", "反映这个问题"), button("就是这类")),
    (("press", "就是这类"), text_has("拖欠工资的是哪家单位")),
    (("text", "城南建筑公司 包工头张三"), text_has("哪个项目或工地")),
    (("text", "城南花园二期工地"), text_has("被拖欠多少钱")),
    (("text", "23000"), text_has("多少名工人")),
    (("text", "12"), text_has("时间段")),
    (("text", "2026年3月至2026年6月"), button("还没有反映")),
    (("press", "还没有反映"), text_has("解决什么")),
    (("text", "督促老板结清工资"), text_has("什么地方")),
    (("text", "城南区建设路88号"), text_has("什么时候开始")),
    (("text", "2026年6月"), text_has("姓名")),
    (("text", "王小明"), contact_keyboard),
    (("contact", "13812345678"), button("完成")),
    (("photo", ""), text_has("已收到 1 份材料")),
    (("press", "完成"), button("提交")),
    (("press", "提交"), receipt),
]


@dataclass
class Citizen:
    tg: FakeTelegram
    user_id: int
    seen: int = 0            # messages of this chat already looked at

    @property
    def messages(self) -> list[Sent]:
        return self.tg.sent_to(self.user_id)

    def act(self, kind: str, arg: str = "") -> None:
        tg, uid = self.tg, self.user_id
        if kind == "text":
            tg.user_text(uid, arg)
        elif kind == "press":
            tg.press(uid, self.message_with_button(arg), arg)
        elif kind == "contact":
            tg.user_contact(uid, arg)
        elif kind == "photo":
            tg.user_photo(uid)
        elif kind == "document":
            tg.user_document(uid)
        else:
            raise ValueError(kind)

    def message_with_button(self, label: str) -> Sent:
        for m in reversed(self.messages):
            if any(label in t for t, _ in m.buttons):
                return m
        raise LookupError(f"chat {self.user_id}: no message with a button {label!r}")

    async def expect(self, expect: Expect, timeout: float = 20.0) -> Sent:
        def found():
            return next((m for m in self.messages[self.seen:] if expect(m)), None)
        msg = await self.tg.wait_until(found, timeout, f"answer in chat {self.user_id}")
        self.seen = self.messages.index(msg) + 1
        return msg

    async def step(self, action: tuple[str, str], expect: Expect,
                   timeout: float = 20.0) -> Sent:
        self.act(*action)
        return await self.expect(expect, timeout)

    async def file_wages_complaint(self, timeout: float = 20.0) -> str:
        """The whole complaint; returns the receipt's text."""
        msg = None
        for action, expect in WAGES:
            msg = await self.step(action, expect, timeout)
        return msg.text
