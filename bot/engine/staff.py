"""The staff side: alerts for new cases (and, next, staff actions on them)."""
from __future__ import annotations

from bot.engine.core import Context
from bot.engine.render import category_of, esc, local_time, mask_phone, shorten
from nlp.api import Flag


def alert_new_case(ctx: Context, case, answer_lines: list[str]) -> None:
    """Post the new case to its department's staff chat, phone masked."""
    chat_id = ctx.engine.staff_chat_for(case.department)
    if chat_id is None:
        return
    t = ctx.texts
    dep = ctx.engine.catalog.departments.get(case.department)
    hidden = case.anonymous or (dep is not None and dep.confidential)
    flags = "、".join(Flag.LABELS.get(f, f) for f in case.flags)
    ctx.send(chat_id, t("staff_new_case",
                        number=case.number, category=category_of(case),
                        department=esc(ctx.engine.catalog.department_name(case.department)),
                        flags=t("staff_flags", flags=flags) if flags else "",
                        date=local_time(case.created_at),
                        name="（保密）" if hidden else esc(case.name or t.not_given),
                        phone="（保密）" if hidden else mask_phone(case.phone),
                        location=esc(case.location or t.not_given),
                        since=esc(case.since or t.not_given),
                        answers="\n".join(answer_lines),
                        description=esc(shorten(case.description, 1500)),
                        attachments=len(ctx.data.get("attachments") or [])))
