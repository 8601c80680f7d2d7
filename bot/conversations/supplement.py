"""Citizens adding information or attachments to one of their open cases (补充材料).

Entered from the case detail (``AddInfo``) or from a request for information. A text message is
sent at once, with the files sent before it; files alone wait for 「完成」. While the case waits
for the citizen's answer, the lifecycle takes this as ``info_received`` and the paused limit
runs again. The handler's staff chat is told.
"""
from __future__ import annotations

from bot.chat import Button, Kind
from bot.conversations import presenters, understanding
from bot.conversations.buttons import Supplement
from bot.conversations.common import leave_flow, stale_button
from bot.conversations.flow import Context
from bot.conversations.render import esc
from cases.lifecycle import Action, Role, TransitionRefused
from storage import cases, repo

NAME = "supplement"
BUSY_FLOWS = ("intake",)   # a complaint being filed is not interrupted


async def begin(ctx: Context, case) -> None:
    if ctx.conv.flow in BUSY_FLOWS:
        ctx.say(ctx.texts.supplement_busy)
        return
    if not presenters.can_add_info(ctx, case):
        ctx.say(ctx.texts.supplement_closed)
        return
    ctx.set_flow(NAME, "info", {"case": case.number, "attachments": []})
    await prompt(ctx)


def step_label(ctx: Context) -> str:
    return ctx.texts.step_supplement


def buttons(ctx: Context) -> list[list[Button]]:
    t = ctx.texts
    return [[Button(t.button_done, Supplement("done").pack()),
             Button(t.button_cancel, Supplement("cancel").pack())]]


async def prompt(ctx: Context) -> None:
    ctx.say(ctx.texts("supplement_ask", number=esc(ctx.data.get("case", ""))), buttons(ctx))


async def back(ctx: Context) -> None:
    leave_flow(ctx, ctx.texts.cancelled)


async def on_input(ctx: Context) -> None:
    ev, t = ctx.event, ctx.texts
    if ev.kind == Kind.ATTACHMENT:
        ctx.data.setdefault("attachments", []).append({"file_id": ev.file_id, "media": ev.media})
        ctx.say(t("supplement_got_file", n=len(ctx.data["attachments"])), buttons(ctx))
        return
    text = ev.text.strip() if ev.kind == Kind.TEXT else ""
    if text in t.done_words_supplement:
        await submit(ctx, "")
    elif not text:
        ctx.say(t.not_text if ev.kind != Kind.TEXT else t.empty)
        await prompt(ctx)
    elif len(text) > ctx.settings.max_description_chars:
        ctx.say(t("too_long", got=len(text), max=ctx.settings.max_description_chars))
    else:
        await submit(ctx, text)


async def on_button(ctx: Context, button: Supplement) -> None:
    if ctx.conv.flow != NAME:
        await stale_button(ctx)
    elif button.action == "done":
        await submit(ctx, "")
    elif button.action == "cancel":
        await back(ctx)
    else:
        await stale_button(ctx)


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
    if await add_to_case(ctx, case, text, files):
        ctx.set_flow("", "", {})


async def add_to_case(ctx: Context, case, text: str, files: list[dict]) -> bool:
    """Add the citizen's text and files to their case (here, or a repeat complaint the citizen
    said is the same matter): the lifecycle's ``add_info``, the fields the text states, the
    files, and the handler told. False, with the flow left and the reason said, when the case
    takes nothing now."""
    info = text or ctx.texts("supplement_files_only", n=len(files))
    try:
        done = await ctx.casework.act(ctx.session, case, Action.ADD_INFO, Role.CITIZEN,
                                      now=ctx.now, seen_version=case.version, actor="citizen",
                                      fields={"info": info})
    except TransitionRefused as exc:
        ctx.set_flow("", "", {})
        ctx.say(presenters.refusal(exc))
        return False
    await presenters.announce(ctx, done)
    if text:
        await understanding.read_into_case(ctx, case, text)
    cases.add_attachments(ctx.session, case_id=case.id, items=files, at=ctx.now)
    presenters.tell_handler(ctx, case, info, len(files))
    return True
