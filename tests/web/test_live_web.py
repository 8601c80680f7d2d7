"""Live reception started from the workspace (issue 13): 「与信访人对话」 on a case page tells the
citizen who is talking; the staff member then talks in their private chat with the bot."""
from __future__ import annotations

from bot.chat import Incoming
from tests.web.conftest import HOUSING, HRSS, csrf_of


async def test_a_handler_starts_a_conversation_from_the_case_page(office):
    case = await office.file(chat_id=501, department="hrss", phone="13812345678",
                             description="公司拖欠我们三个月工资，一直不给。",
                             level1="劳动和社会保障", level2="工资福利", level3="工资发放")
    other = await office.signed_in(HOUSING)
    assert (await other.get(f"/cases/{case.number}")).status_code == 404
    handler = await office.signed_in(HRSS)
    page = (await handler.get(f"/cases/{case.number}")).text
    assert 'data-action="talk"' in page
    assert (await handler.post(f"/cases/{case.number}/talk", data={})).status_code == 403
    resp = await handler.post(f"/cases/{case.number}/talk", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303, resp.text
    told = await office.outbox(501)
    assert any("暂停自动回复" in t and case.number in t for t in told), told
    # the handler writes in their private chat with the bot: it reaches the citizen
    await office.app.engine.handle(Incoming.from_text(HRSS, HRSS, "您好，我是承办人员。"))
    assert any("您好，我是承办人员。" in t for t in await office.outbox(501))
    # a second start while it runs is refused, and says why
    page = (await handler.get(f"/cases/{case.number}")).text
    resp = await handler.post(f"/cases/{case.number}/talk", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 409 and "已有在线对话" in resp.text
