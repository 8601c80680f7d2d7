"""Greeting, menu, help, commands, and what to do with text when no flow is active."""
from __future__ import annotations

from bot.engine.core import Context
from bot.engine.types import Button, Kind
from bot.engine.validate import word_count


def main_menu(ctx: Context) -> list[list[Button]]:
    t = ctx.texts
    return [[Button(t.menu_file, "m:file")],
            [Button(t.menu_progress, "m:progress"), Button(t.menu_help, "m:help")]]


def show_menu(ctx: Context) -> None:
    ctx.say(ctx.texts.menu_prompt, main_menu(ctx))


async def remind(ctx: Context, flows: dict) -> None:
    """Tell a citizen where they are: the current step again, or the menu."""
    flow = flows.get(ctx.conv.flow)
    if flow is None:
        show_menu(ctx)
        return
    ctx.say(ctx.texts("in_flow_hint", step=flow.step_label(ctx)))
    await flow.prompt(ctx)


async def cmd_start(ctx: Context, flows: dict) -> None:
    from bot.engine import progress

    if ctx.event.args:  # deep link: /start <case number>_<query code>
        await progress.open_by_code(ctx, ctx.event.args.replace("_", " "))
    else:
        ctx.say(ctx.texts.greeting)
    flow = flows.get(ctx.conv.flow)
    if flow is not None:
        ctx.say(ctx.texts("resume", step=flow.step_label(ctx)))
        await flow.prompt(ctx)
    elif not ctx.event.args:
        show_menu(ctx)


async def cmd_help(ctx: Context, flows: dict) -> None:
    ctx.say(ctx.texts.help)
    await remind(ctx, flows)


async def cmd_cancel(ctx: Context, flows: dict) -> None:
    if ctx.conv.flow:
        ctx.set_flow("", "", {})
        ctx.say(ctx.texts.cancelled)
    else:
        ctx.say(ctx.texts.nothing_to_cancel)
    show_menu(ctx)


async def cmd_back(ctx: Context, flows: dict) -> None:
    flow = flows.get(ctx.conv.flow)
    if flow is None:
        show_menu(ctx)
    else:
        await flow.back(ctx)


async def cmd_progress(ctx: Context, flows: dict) -> None:
    from bot.engine import progress

    in_intake = ctx.conv.flow == "intake"
    await progress.show(ctx, ctx.event.args, keep_flow=in_intake)
    if in_intake:
        await remind(ctx, flows)


async def cmd_file(ctx: Context, flows: dict) -> None:
    from bot.engine import intake

    if ctx.conv.flow == "intake":
        await remind(ctx, flows)
    else:
        await intake.begin(ctx)


COMMANDS = {
    "start": cmd_start, "help": cmd_help, "cancel": cmd_cancel, "back": cmd_back,
    "progress": cmd_progress, "menu": cmd_start, "complain": cmd_file,
}


async def on_button(ctx: Context, parts: list[str], flows: dict) -> None:
    from bot.engine import intake, progress

    action = parts[0]
    if action == "file":
        await cmd_file(ctx, flows)
    elif action == "file_text" and ctx.data.get("pending"):
        pending = ctx.data
        await intake.begin(ctx, description=pending.get("pending", ""),
                           attachments=pending.get("pending_attachments", []))
    elif action == "progress":
        await cmd_progress(ctx, flows)
    elif action == "help":
        await cmd_help(ctx, flows)
    else:
        ctx.say(ctx.texts.stale_button)
        await remind(ctx, flows)


async def idle_input(ctx: Context) -> None:
    """No flow is active. Keep what was sent, and offer to file it as a complaint."""
    ev, t = ctx.event, ctx.texts
    data = dict(ctx.data)
    if ev.kind == Kind.ATTACHMENT:
        data.setdefault("pending_attachments", []).append({"file_id": ev.file_id,
                                                            "media": ev.media})
        ctx.conv.data = data
        ctx.say(t("attachment_saved", media=media_word(ev.media)),
                [[Button(t.menu_file, "m:file_text" if data.get("pending") else "m:file")]])
        return
    if ev.kind == Kind.TEXT and word_count(ev.text) >= 6:
        data["pending"] = ev.text
        ctx.conv.data = data
        ctx.say(t.idle_offer, [[Button(t.idle_offer_yes, "m:file_text")],
                               [Button(t.menu_progress, "m:progress"),
                                Button(t.menu_help, "m:help")]])
        return
    if ev.kind == Kind.OTHER:
        ctx.say(t.not_text)
    show_menu(ctx)


def media_word(media: str) -> str:
    return {"photo": "照片", "document": "文件", "video": "视频"}.get(media, "材料")
