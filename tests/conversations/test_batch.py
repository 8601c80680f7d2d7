"""Several updates handled in one transaction, as the Telegram runner handles a getUpdates batch."""
from __future__ import annotations

from bot.chat import Incoming, Kind
from storage import repo
from tests.conversations.test_intake import WAGES


async def test_a_batch_keeps_each_chats_order_and_state(app):
    """Two updates of one chat in a row (the second sees the state the first left), another
    chat's update between them: each gets its own answer, and the state is stored once."""
    first, second = 9_100_001, 9_100_002
    await app.engine.classifier.get()
    events = [Incoming(first, first, Kind.BUTTON, data="m:file"),
              Incoming.from_text(second, second, "/start"),
              Incoming.from_text(first, first, WAGES)]
    async with app.engine.transaction(chats={first, second}) as session:
        answers = await app.engine.handle_many(session, events)
    assert "发生了什么事" in answers[0][-1].text
    assert "回音" in answers[1][0].text and {m.chat_id for m in answers[1]} == {second}
    assert "工资发放" in answers[2][-1].text      # the description went to the open complaint
    async with app.engine.sessions() as s:
        stored = await repo.get_conversations(s, chat_ids=[first, second])
    assert stored[first].flow == "intake" and stored[first].data["description"] == WAGES
    assert stored[second].flow == ""
