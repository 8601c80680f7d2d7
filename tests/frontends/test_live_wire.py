"""Live reception over the real Telegram wire protocol, on both front ends: a handler in the
staff group takes over a case's conversation with /talk, the citizen's text, photo and
document reach the group marked with the case number, the handler's replies (text and photo)
reach the citizen, the bot says nothing of its own meanwhile, and /end ends it for both. No
4xx from the fake Bot API."""
from __future__ import annotations

import pytest

from storage import repo
from storage.models import utcnow
from tests.fakes.citizen import Citizen, text_has
from tests.frontends.conftest import STAFF_CHAT, STAFF_USER

pytestmark = pytest.mark.parametrize("frontend", ["aiogram", "ptb"])
CITIZEN = 2101


async def test_a_handler_and_a_citizen_talk_through_the_bot(tg, start_bot, frontend):
    bot = await start_bot(tg, frontend)
    async with bot.app.engine.transaction() as s:
        owner = await repo.get_or_create_citizen(s, chat_id=CITIZEN)
        case = await bot.app.engine.casework.file(
            s, citizen=owner, at=utcnow(), attachments=[], level1="劳动和社会保障",
            department="hrss", description="公司拖欠工资三个月", phone="13812345678")
    citizen = Citizen(tg, CITIZEN)

    def in_group(fragment: str, media: str = ""):
        return lambda: next((m for m in tg.sent_to(STAFF_CHAT)
                             if fragment in m.text and (not media or m.media == media)), None)

    tg.user_text(STAFF_USER, f"/talk {case.number}", chat_id=STAFF_CHAT)
    await citizen.expect(text_has("暂停自动回复"))
    await tg.wait_until(in_group("已接入"), 20, "the handler told")

    tg.user_text(CITIZEN, "请问工资什么时候能发？")
    asked = await tg.wait_until(in_group("什么时候能发"), 20, "the citizen's text relayed")
    assert case.number in asked.text
    photo_id = tg.user_photo(CITIZEN)
    photo = await tg.wait_until(in_group(case.number, "photo"), 20, "the photo relayed")
    assert photo.file_id == photo_id
    doc_id = tg.user_document(CITIZEN)
    document = await tg.wait_until(in_group(case.number, "document"), 20, "the document")
    assert document.file_id == doc_id

    tg.user_text(STAFF_USER, "已督促公司，12月5日前发放。", chat_id=STAFF_CHAT, reply_to=asked)
    answer = await citizen.expect(text_has("12月5日前发放"))
    assert "人力资源和社会保障局" in answer.text
    tg.user_photo(STAFF_USER, chat_id=STAFF_CHAT, reply_to=asked)
    await citizen.expect(lambda m: m.media == "photo")
    # nothing of the bot's own reached the citizen meanwhile: only the notice and the answers
    said = [m.text for m in citizen.messages]
    assert not any("请选择" in t or "发生了什么事" in t for t in said), said

    tg.user_text(CITIZEN, "/end")
    await citizen.expect(text_has("已结束"))
    await tg.wait_until(in_group("在线对话已结束"), 20, "the handler told it ended")
    tg.user_text(CITIZEN, "/start")
    await citizen.expect(text_has("请选择"))
    await bot.runner.idle()
    assert tg.client_errors() == []
