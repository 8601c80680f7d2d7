"""/web: staff and leaders get a personal sign-in link in their private chat; nobody else
gets anything; the link works once, for ten minutes."""
from __future__ import annotations

import re

from bot.chat import Incoming
from storage import signin
from tests.conversations.test_staff import HRSS, HRSS_CHAT, LEADER, NOBODY, Staff

LINK = re.compile(r"/signin/([\w-]+)")


async def redeem(world, token: str, now) -> int | None:
    async with world.app.engine.transaction() as session:
        return await signin.redeem(session, token=token, now=now)


async def test_staff_get_the_link_privately_and_it_works_once(world, clock):
    handler = Staff(world, HRSS_CHAT, HRSS, "赵承办")
    await handler.send("/web")
    private = [m for m in world.last if m.chat_id == HRSS]
    group = [m for m in world.last if m.chat_id == HRSS_CHAT]
    assert len(private) == 1 and not LINK.search(group[0].text)   # never in the group
    assert "私信" in group[0].text
    token = LINK.search(private[0].text).group(1)
    assert "10分钟" in private[0].text
    assert await redeem(world, token, clock.now) == HRSS
    assert await redeem(world, token, clock.now) is None          # used once


async def test_the_link_expires_after_ten_minutes(world, clock):
    leader = await world.app.engine.handle(Incoming.from_text(LEADER, LEADER, "/web"))
    token = LINK.search(leader[0].text).group(1)
    clock.advance(minutes=11)
    assert await redeem(world, token, clock.now) is None


async def test_a_citizen_gets_no_link(world):
    out = await world.app.engine.handle(Incoming.from_text(NOBODY, NOBODY, "/web"))
    assert out and not any(LINK.search(m.text) for m in out)
    assert "没有这个命令" in out[0].text
    stranger = Staff(world, HRSS_CHAT, NOBODY, "路人")
    assert not await stranger.send("/web")
