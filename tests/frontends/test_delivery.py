"""The delivery worker against the fake server: 429, 5xx and dropped connections retried, sent
once and in order; long texts split; limits."""
from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.chat import Button, Outgoing
from bot.frontends.telegram import make_api
from bot.notify.delivery import Delivery, Limits
from bot.notify.messages import split_html, to_payload
from storage import outbox
from storage.models import OutboxMessage
from tests.fakes.telegram_server import FloodLimits
from tests.frontends.conftest import bot_settings


@pytest.fixture(params=["aiogram", "ptb"])
async def delivery(request, tg, classifier, tmp_path):
    settings = bot_settings(tg, f"sqlite+aiosqlite:///{tmp_path / 'd.db'}", request.param)
    app = await build_app(settings, classifier_loader=lambda: classifier)
    api = make_api(settings)
    await api.start()
    made = []

    async def make(limits: Limits | None = None) -> Delivery:
        d = Delivery(api, app.engine.sessions, limits=limits or Limits(0, 0, 1, 0),
                     base_delay=0.05)
        await d.start()
        made.append(d)
        return d

    async def queue(*messages: Outgoing) -> list[OutboxMessage]:
        async with app.engine.sessions() as s, s.begin():
            rows = await outbox.add_messages(
                s, messages=[(m.chat_id, m.audience, to_payload(m)) for m in messages])
        return rows

    make.queue, make.app = queue, app
    yield make
    for d in made:
        await d.stop()
    await api.close()
    await app.close()


async def statuses(app) -> list[str]:
    async with app.engine.sessions() as s:
        return [m.status for m in (await s.exec(select(OutboxMessage))).all()]


async def test_429_and_5xx_are_retried_and_sent_once(tg, delivery):
    d = await delivery()
    tg.fail("sendMessage", 429, retry_after=1, chat_id=5)
    tg.fail("sendMessage", 502, times=2, chat_id=5)
    started = time.monotonic()
    d.enqueue(await delivery.queue(Outgoing(5, "你好 &lt;script&gt;",
                                            [[Button("好", "x:1")]])))
    await d.drain()
    assert time.monotonic() - started >= 1.0           # retry_after honoured
    assert [m.text for m in tg.sent_to(5)] == ["你好 <script>"]
    assert await statuses(delivery.app) == ["sent"]


async def test_long_text_is_split_buttons_on_the_last_part(tg, delivery):
    d = await delivery()
    text = "<b>标题</b>\n" + ("一二三四五六七八九十" * 30 + "\n") * 30
    d.enqueue(await delivery.queue(Outgoing(6, text, [[Button("完成", "i:done")]])))
    await d.drain()
    parts = tg.sent_to(6)
    assert len(parts) == len(split_html(text)) > 1
    assert all(len(p.text) <= 4096 for p in parts)
    assert not parts[0].buttons and parts[-1].buttons
    assert "".join(p.text for p in parts) == text.replace("<b>", "").replace("</b>", "")
    assert tg.client_errors() == []


async def test_unescaped_html_is_refused_like_telegram(tg, delivery):
    d = await delivery()
    d.enqueue(await delivery.queue(Outgoing(7, "用户写的 <script>")))
    await d.drain()
    assert tg.sent_to(7) == []
    assert "can't parse entities" in tg.client_errors()[0][2]
    assert await statuses(delivery.app) == ["failed"]


async def test_private_chat_limit_spaces_messages(tg, delivery):
    d = await delivery(Limits(per_second=0, private_per_second=5, private_burst=1))
    d.enqueue(await delivery.queue(*[Outgoing(8, f"第{i}条") for i in range(4)]))
    await d.drain()
    sent = tg.sent_to(8)
    assert [m.text for m in sent] == [f"第{i}条" for i in range(4)]   # in order
    assert sent[-1].at - sent[0].at >= 0.45                          # ≈ 3 intervals of 0.2 s


async def test_a_chart_goes_out_as_a_photo_with_its_caption(tg, delivery):
    import io

    from matplotlib.figure import Figure

    buf = io.BytesIO()
    Figure(figsize=(2, 1)).savefig(buf, format="png")
    png = buf.getvalue()
    d = await delivery()
    d.enqueue(await delivery.queue(Outgoing(-100, "<b>统计图</b>", photo=png)))
    await d.drain()
    [sent] = tg.sent_to(-100)
    assert sent.media == "photo" and sent.photo == png and sent.text == "统计图"
    assert await statuses(delivery.app) == ["sent"] and tg.client_errors() == []


async def test_dropped_connection_is_retried_and_sent_once(tg, delivery):
    d = await delivery()
    tg.drop("sendMessage", times=2, chat_id=9)
    d.enqueue(await delivery.queue(Outgoing(9, "断线之后")))
    await d.drain()
    assert tg.dropped == 2
    assert [m.text for m in tg.sent_to(9)] == ["断线之后"]
    assert await statuses(delivery.app) == ["sent"] and tg.client_errors() == []


async def test_many_notifications_under_mixed_faults_arrive_exactly_once(tg, delivery):
    """200 notifications to 40 chats (private and group) while the server answers 429 with
    retry_after, 500/502 and drops connections: once it recovers, each has arrived exactly
    once, each chat's in the order queued, and every outbox row is "sent"."""
    chats = [100 + i for i in range(30)] + [-200 - i for i in range(10)]
    tg.drop("sendMessage", times=15)                   # the first calls, whatever their chat
    tg.fail("sendMessage", 502, times=10)
    tg.fail("sendMessage", 500, times=5)
    for chat in chats[::8]:                            # five chats told to wait
        tg.fail("sendMessage", 429, retry_after=1, chat_id=chat)
    tg.drop("sendMessage", times=3, chat_id=chats[3])  # one chat with a bad line
    d = await delivery()
    expected = [(chat, f"第{n}条通知（{chat}）") for n in range(5) for chat in chats]
    d.enqueue(await delivery.queue(*[Outgoing(chat, text) for chat, text in expected]))
    await d.drain(timeout=30)

    got = Counter((chat, m.text) for chat, sent in tg.messages.items() for m in sent)
    assert sum(got.values()) == 200 and set(got) == set(expected)
    assert max(got.values()) == 1                                     # none twice
    for chat in chats:                                                # in order per chat
        assert [m.text for m in tg.sent_to(chat)] == [f"第{n}条通知（{chat}）" for n in range(5)]
    assert tg.dropped == 18                                           # every fault was met
    assert Counter(code for _, code, _ in tg.errors) == {502: 10, 500: 5, 429: 5}
    assert tg.client_errors() == []
    assert Counter(await statuses(delivery.app)) == {"sent": 200}
    assert d.sent_count == 200


async def test_telegram_limits_kept_no_429(tg, delivery):
    """The fake server enforcing Telegram's limits answers a burst over them with 429; the
    worker with the default limits (30/s, 1/s per private chat, bursts of 3) gets none."""
    import aiohttp

    tg.limits = FloodLimits()
    async with aiohttp.ClientSession() as http:
        codes = []
        for i in range(4):
            async with http.post(f"{tg.base_url}/bot{tg.token}/sendMessage",
                                 json={"chat_id": 1, "text": f"{i}"}) as r:
                codes.append(r.status)
    assert codes == [200, 200, 200, 429] and tg.flood_429 == {"overall": 0, "chat": 1}
    tg.errors.clear()

    # a backlog of 60 to other chats ahead of 4 to one chat: that chat's first waits behind
    # the backlog for the overall limit, the next three not; they must still not bunch up
    d = await delivery(Limits())
    expected = [(chat, f"通知（{chat}）") for chat in range(100, 160)]
    expected += [(10, f"第{n}条") for n in range(4)]
    started = time.monotonic()
    d.enqueue(await delivery.queue(*[Outgoing(chat, text) for chat, text in expected]))
    await d.drain()
    assert time.monotonic() - started >= 2.0                # 30/s overall
    sent = tg.sent_to(10)
    assert [m.text for m in sent] == [f"第{n}条" for n in range(4)]
    assert sent[3].at - sent[0].at >= 1.0                   # 1/s per chat after a burst of 3
    assert Counter((c, m.text) for c, ms in tg.messages.items() for m in ms if c >= 10) \
        == Counter(expected)
    assert (tg.errors, tg.flood_429) == ([], {"overall": 0, "chat": 1})
