"""Sign-in links of the web workspace: a random token sent by the bot, valid for minutes and
usable once. Only the token's SHA-256 is stored, so the table leaks no usable link."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import WebSignIn


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: AsyncSession, *, user_id: int, now: datetime, minutes: float) -> str:
    """A new sign-in token for ``user_id`` (the caller commits)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSignIn(token_hash=_digest(token), user_id=user_id, created_at=now,
                          expires_at=now + timedelta(minutes=minutes)))
    return token


async def redeem(session: AsyncSession, *, token: str, now: datetime) -> int | None:
    """The user id of a valid, unused token, which is used up by this call; None for a
    forged, expired or already used one (two requests racing: one wins)."""
    if not token or len(token) > 100:
        return None
    digest = _digest(token)
    result = await session.exec(
        update(WebSignIn)
        .where(col(WebSignIn.token_hash) == digest, col(WebSignIn.used_at).is_(None),
               col(WebSignIn.expires_at) > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    row = (await session.exec(select(WebSignIn).where(WebSignIn.token_hash == digest))).one()
    return row.user_id
