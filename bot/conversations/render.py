"""Small text helpers shared by the flows: escaping, masking, dates."""
from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "CST")


def esc(text: object) -> str:
    """User text made safe for Telegram HTML."""
    return html.escape(str(text), quote=False)


def mask_phone(phone: str | None, missing: str) -> str:
    """138****5678 for mobiles, 010-****5678 for landlines: staff see enough to recognise it;
    ``missing`` when there is none."""
    if not phone:
        return missing
    digits = phone.replace("-", "")
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    head, _, tail = phone.partition("-")
    if tail:
        return f"{head}-****{tail[-4:]}"
    return f"****{phone[-4:]}"


def local_time(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def category_of(case) -> str:
    """A case's category path, escaped, its levels joined by ' › '."""
    return " › ".join(esc(p) for p in (case.level1, case.level2, case.level3) if p)
