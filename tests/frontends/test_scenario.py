"""One end-to-end scenario over the fake Bot API server, on both front ends."""
from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import Attachment, Case, InboxUpdate, OutboxMessage
from tests.fakes.citizen import RECEIPT, WAGES, Citizen, contact_keyboard
from tests.frontends.conftest import STAFF_CHAT, STAFF_USER

pytestmark = pytest.mark.parametrize("frontend", ["aiogram", "ptb"])
OUTSIDER = 4242


async def rows(bot, model):
    async with bot.app.engine.sessions() as s:
        return list((await s.exec(select(model))).all())


async def test_citizen_files_staff_is_alerted(tg, start_bot, frontend):
    bot = await start_bot(tg, frontend)
    citizen = Citizen(tg, 1001)
    receipt = await citizen.file_wages_complaint()
    number, code = RECEIPT.search(receipt).groups()

    # Telegram conventions
    assert [c["command"] for c in tg.commands][:3] == ["start", "complain", "progress"]
    assert tg.client_errors() == []
    pressed = [m for m in citizen.messages if m.edits]
    assert pressed and all(not m.buttons for m in pressed)       # old buttons are gone
    presses = sum(1 for action, _ in WAGES if action[0] == "press")
    await tg.wait_until(lambda: len(tg.callback_answers) == presses, what="spinners stopped")
    shown = next(m for m in citizen.messages if contact_keyboard(m))
    after = citizen.messages[citizen.messages.index(shown) + 1:]
    assert any((m.reply_markup or {}).get("remove_keyboard") for m in after)

    # stored: the case, the photo's file id, every update done, every message sent
    case = (await rows(bot, Case))[0]
    assert case.number == number and case.phone == "13812345678"
    photos = await rows(bot, Attachment)
    assert [a.media for a in photos] == ["photo"] and photos[0].file_id.startswith("photo-1001")
    await bot.runner.idle()
    assert {u.status for u in await rows(bot, InboxUpdate)} == {"done"}
    assert {m.status for m in await rows(bot, OutboxMessage)} == {"sent"}

    # staff: the alert at once, phone masked, with buttons
    alert = (await tg.wait_messages(STAFF_CHAT, 1))[0]
    assert number in alert.text and "138****5678" in alert.text
    assert "13812345678" not in alert.text
    assert alert.buttons

    # deep link opens the case
    await citizen.step(("text", f"/start {number}_{code}"), lambda m: number in m.text)


def staff_button(tg, label: str, exclude: str = "不予"):
    """The newest staff-chat message with a button containing ``label``, and that label."""
    for m in reversed(tg.sent_to(STAFF_CHAT)):
        for text, _ in m.buttons:
            if label in text and exclude not in text:
                return m, text
    return None


async def test_outsider_refused_staff_accepts_citizen_told(tg, start_bot, frontend):
    bot = await start_bot(tg, frontend)
    citizen = Citizen(tg, 1002)
    receipt = await citizen.file_wages_complaint()
    number = RECEIPT.search(receipt).group(1)
    alert = (await tg.wait_messages(STAFF_CHAT, 1))[0]
    first_label = alert.buttons[0][0]

    # an outsider's press, and forged callback data, change nothing
    await bot.runner.idle()                                # the receipt's menu has gone out
    before, answered = len(citizen.messages), len(tg.callback_answers)
    tg.press(OUTSIDER, alert, first_label)
    tg.press(STAFF_USER, alert, data="s:accept:999999:0")
    await tg.wait_until(lambda: len(tg.callback_answers) >= answered + 2, what="presses answered")
    await bot.runner.idle()
    case = (await rows(bot, Case))[0]
    assert case.status == "registered"
    assert len(citizen.messages) == before
    assert alert.buttons                                   # still there for real staff

    # staff accepts straight from the alert; the citizen is told, the alert shows the next steps
    tg.press(STAFF_USER, alert, "受理")
    await citizen.expect(lambda m: number in m.text and "已受理" in m.text)
    await bot.runner.idle()
    assert (await rows(bot, Case))[0].status == "accepted"
    assert "开始办理" in [label for label, _ in alert.buttons]  # the alert was edited in place
    assert tg.client_errors() == []
