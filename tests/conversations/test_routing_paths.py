"""A complaint goes to the same department whether the citizen confirms the proposed category
or picks the same one by hand: routing reads the complaint's text on every path (unpaid wages
on a construction site go to 住建局, other unpaid wages to 人社局)."""
from __future__ import annotations

import pytest

from tests.conftest import Chat
from tests.conversations.test_intake import WAGES, cases, wages_answers

PLAIN_WAGES = "公司老板拖欠我们三个月的工资一直不给，我们十几个员工找了好几次都没人管。"
WAGE_CATEGORY = ("劳动和社会保障", "工资福利", "工资发放")


async def press_exactly(chat: Chat, label: str) -> None:
    """Press the button labelled exactly ``label`` (``Chat.press`` matches a part of it)."""
    found = [b.data for m in reversed(chat.mine) for row in m.buttons for b in row
             if b.text == label]
    assert found, f"no button {label!r} in {chat.buttons()}"
    await chat.data(found[0])


async def describe(chat: Chat, description: str) -> None:
    t = chat.app.engine.catalog.texts
    await chat.send("/start")
    await press_exactly(chat, t.menu_file)
    await chat.send(description)
    assert WAGE_CATEGORY[-1] in chat.text, chat.text   # proposed: 工资发放


async def confirm_proposal(chat: Chat) -> None:
    await press_exactly(chat, chat.app.engine.catalog.texts.category_confirm)


async def pick_by_hand(chat: Chat) -> None:
    await press_exactly(chat, chat.app.engine.catalog.texts.category_change)
    for name in WAGE_CATEGORY:
        await press_exactly(chat, name)


async def finish(chat: Chat) -> None:
    t = chat.app.engine.catalog.texts
    await wages_answers(chat)
    await chat.send("A市A3区幸福路18号")
    await press_exactly(chat, t.button_skip)
    await chat.send("王小明")
    await chat.send(f"138{chat.chat_id:08d}")
    await press_exactly(chat, t.button_done)
    await press_exactly(chat, t.button_submit)
    assert "案件编号" in chat.text, chat.text


@pytest.mark.parametrize("description, department", [
    (WAGES, "housing"),          # 工地: 住建局 (with 人社局 told)
    (PLAIN_WAGES, "hrss"),       # no construction-site words: 人社局
])
async def test_confirmed_and_hand_picked_category_route_alike(app, description, department):
    name = app.engine.catalog.department_name(department)
    confirmer, picker = Chat(app, chat_id=601), Chat(app, chat_id=602)

    await describe(confirmer, description)
    assert name in confirmer.text                   # the proposal names the department
    await confirm_proposal(confirmer)
    assert name in confirmer.text                   # and so does the settled category
    await finish(confirmer)

    await describe(picker, description)
    await pick_by_hand(picker)
    assert name in picker.text, picker.text
    await finish(picker)

    filed = await cases(app)
    assert all((c.level1, c.level2, c.level3) == WAGE_CATEGORY for c in filed)
    # the phone tells the two citizens' cases apart
    assert {c.phone: c.department for c in filed} == {
        "13800000601": department,   # confirmed the proposal
        "13800000602": department,   # picked the same category by hand
    }
