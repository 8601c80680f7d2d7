"""Citizens adding information or attachments to one of their open cases (补充材料).

Entered from the case detail (``p:add:<number>``) or from a request for information. A text
message is sent at once, with the files sent before it; files alone wait for 「完成」. While the
case waits for the citizen's answer, the lifecycle takes this as ``info_received`` and the
paused limit runs again. The handler's staff chat is told. Buttons: ``a:done``, ``a:cancel``.
"""
from __future__ import annotations

from bot.engine import casework, staff
from bot.engine.core import Context
from bot.engine.lifecycle import Action, CaseStatus, Role, TransitionRefused
from bot.engine.render import esc
from bot.engine.types import Button, Kind
from storage import cases, repo


def can_add(case) -> bool:
    return casework.lifecycle().row(CaseStatus(case.status), Action.ADD_INFO) is not None


async def begin(ctx: Context, case) -> None:
    if ctx.conv.flow == "intake":
        ctx.say(ctx.texts.supplement_busy)
        return
    if not can_add(case):
        ctx.say(ctx.texts.supplement_closed)
        return
    ctx.set_flow("supplement", "info", {"case": case.number, "attachments": []})
    await prompt(ctx)


def step_label(ctx: Context) -> str:
    return "补充材料"


def buttons(ctx: Context) -> list[list[Button]]:
    t = ctx.texts
    return [[Button(t.button_done, "a:done"), Button(t.button_cancel, "a:cancel")]]


async def prompt(ctx: Context) -> None:
    ctx.say(ctx.texts("supplement_ask", number=esc(ctx.data.get("case", ""))), buttons(ctx))


async def back(ctx: Context) -> None:
    from bot.engine.menu import show_menu

    ctx.set_flow("", "", {})
    ctx.say(ctx.texts.cancelled)
    show_menu(ctx)


async def on_input(ctx: Context) -> None:
    ev, t = ctx.event, ctx.texts
    if ev.kind == Kind.ATTACHMENT:
        ctx.data.setdefault("attachments", []).append({"file_id": ev.file_id, "media": ev.media})
        ctx.say(t("supplement_got_file", n=len(ctx.data["attachments"])), buttons(ctx))
        return
    text = ev.text.strip() if ev.kind == Kind.TEXT else ""
    if text in ("完成", "好了"):
        await submit(ctx, "")
    elif not text:
        ctx.say(t.not_text if ev.kind != Kind.TEXT else t.empty)
        await prompt(ctx)
    elif len(text) > ctx.engine.settings.max_description_chars:
        ctx.say(t("too_long", got=len(text), max=ctx.engine.settings.max_description_chars))
    else:
        await submit(ctx, text)


async def on_button(ctx: Context, parts: list[str], _flows: dict) -> None:
    if ctx.conv.flow != "supplement":
        ctx.say(ctx.texts.stale_button)
    elif parts[0] == "done":
        await submit(ctx, "")
    elif parts[0] == "cancel":
        await back(ctx)
    else:
        ctx.say(ctx.texts.stale_button)


async def submit(ctx: Context, text: str) -> None:
    t = ctx.texts
    files = ctx.data.get("attachments") or []
    if not text and not files:
        ctx.say(t.supplement_empty, buttons(ctx))
        return
    case = await repo.case_owned_by(ctx.session, number=ctx.data.get("case", ""),
                                    chat_id=ctx.event.chat_id)
    if case is None:
        ctx.set_flow("", "", {})
        ctx.say(t.stale_button)
        return
    info = text or t("supplement_files_only", n=len(files))
    try:
        await casework.act(ctx, case, Action.ADD_INFO, Role.CITIZEN, seen_version=case.version,
                           actor="citizen", fields={"info": info})
    except TransitionRefused as exc:
        ctx.set_flow("", "", {})
        ctx.say(esc(exc))
        return
    cases.add_attachments(ctx.session, case_id=case.id, items=files, at=ctx.now)
    staff.tell_handler(ctx, case, info, len(files))
    ctx.set_flow("", "", {})
