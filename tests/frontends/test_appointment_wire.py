"""A leader's reception booked over the fake Bot API, on both front ends: the leader publishes
a slot in the leaders' chat, a citizen with a case books it from the main menu, a second press
of the slot's button is harmless, and the citizen cancels. No 4xx from the server."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import yaml
from sqlmodel import select

from cases.deadlines import SHANGHAI
from config.settings import CONFIG_DIR
from storage import repo
from storage.models import ReceptionBooking, utcnow
from tests.fakes.citizen import Citizen, button, text_has
from tests.frontends.conftest import LEADERS_CHAT

pytestmark = pytest.mark.parametrize("frontend", ["aiogram", "ptb"])
LEADER = 7301


@pytest.fixture
def config_dir(tmp_path):
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (target / "leaders.yaml").write_text(
        yaml.safe_dump({"leaders": [{"user_id": LEADER, "name": "王局长"}]}, allow_unicode=True),
        encoding="utf-8")
    return target


async def test_a_citizen_books_and_cancels_a_leaders_reception(tg, start_bot, frontend,
                                                               config_dir):
    bot = await start_bot(tg, frontend, config_dir=config_dir)
    day = (utcnow().astimezone(SHANGHAI) + timedelta(days=3)).date()
    tg.user_text(LEADER, f"/slot {day} 09:00-11:30 | 市信访局接待室 | 2 | 劳动保障",
                 chat_id=LEADERS_CHAT)
    await tg.wait_until(lambda: any("已发布接访场次" in m.text
                                    for m in tg.sent_to(LEADERS_CHAT)), 20, "slot published")
    async with bot.app.engine.transaction() as s:
        owner = await repo.get_or_create_citizen(s, chat_id=2001)
        case = await bot.app.engine.casework.file(
            s, citizen=owner, at=utcnow(), attachments=[], level1="劳动和社会保障",
            department="hrss", description="公司拖欠工资三个月", phone="13812345678")
    citizen = Citizen(tg, 2001)
    when = f"{day.month}月{day.day}日"
    await citizen.step(("text", "/start"), button("预约接访"))
    await citizen.step(("press", "预约接访"), button(when))
    slots = citizen.message_with_button(when)
    data = next(d for label, d in slots.buttons if when in label)
    await citizen.step(("press", when), text_has("一句话"))
    confirmed = await citizen.step(("text", "请领导督促公司结清工资"), text_has("预约成功"))
    assert case.number in confirmed.text and "市信访局接待室" in confirmed.text
    assert [label for label, _ in confirmed.buttons] == ["改约", "取消预约"]
    tg.press(2001, slots, data=data)                             # a second press: nothing
    await citizen.expect(text_has("失效"))
    await citizen.step(("press", "取消预约"), text_has("已取消您"))
    await bot.runner.idle()
    async with bot.app.engine.sessions() as s:
        [booking] = (await s.exec(select(ReceptionBooking))).all()
    assert booking.status == "cancelled"
    assert tg.client_errors() == []
