"""Greeting, menu, help, commands, and what to do with a message when no flow is active."""
from __future__ import annotations

from bot.chat import Button, Kind
from bot.conversations import intake, live, progress
from bot.conversations.buttons import Menu
from bot.conversations.common import media_word, remind, show_menu, stale_button
from bot.conversations.flow import Context
from bot.conversations.validate import word_count

MIN_OFFER_WORDS = 6   # a message this long, sent while no flow is open, is offered as a complaint


async def cmd_start(ctx: Context) -> None:
    if ctx.event.args:  # deep link: /start <case number>_<query code>
        await progress.open_by_code(ctx, ctx.event.args.replace("_", " "))
    else:
        ctx.say(ctx.texts.greeting)
    if ctx.flow is not None:
        ctx.say(ctx.texts("resume", step=ctx.flow.step_label(ctx)))
        await ctx.flow.prompt(ctx)
    elif not ctx.event.args:
        show_menu(ctx)


async def cmd_help(ctx: Context) -> None:
    ctx.say(ctx.texts.help)
    await remind(ctx)


async def cmd_cancel(ctx: Context) -> None:
    if ctx.conv.flow:
        ctx.set_flow("", "", {})
        ctx.say(ctx.texts.cancelled)
    else:
        ctx.say(ctx.texts.nothing_to_cancel)
    show_menu(ctx)


async def cmd_back(ctx: Context) -> None:
    if ctx.flow is None:
        show_menu(ctx)
    else:
        await ctx.flow.back(ctx)


async def cmd_progress(ctx: Context) -> None:
    in_intake = ctx.conv.flow == intake.NAME
    await progress.show(ctx, ctx.event.args)
    if in_intake:
        await remind(ctx)


async def cmd_file(ctx: Context) -> None:
    if ctx.conv.flow == intake.NAME:
        await remind(ctx)
    else:
        await intake.begin(ctx, attachments=pending_attachments(ctx))


COMMANDS = {
    "start": cmd_start, "help": cmd_help, "cancel": cmd_cancel, "back": cmd_back,
    "progress": cmd_progress, "menu": cmd_start, "complain": cmd_file,
}


async def unknown_command(ctx: Context) -> None:
    ctx.say(ctx.texts.unknown_command)
    await remind(ctx)


def pending_attachments(ctx: Context) -> list[dict]:
    """Files sent while no flow was open: promised to go with the next complaint."""
    return list(ctx.data.get("pending_attachments") or []) if not ctx.conv.flow else []


async def on_button(ctx: Context, button: Menu) -> None:
    if button.action == "file":
        await cmd_file(ctx)
    elif button.action == "file_text" and ctx.data.get("pending") and not ctx.conv.flow:
        await intake.begin(ctx, description=ctx.data.get("pending", ""),
                           attachments=pending_attachments(ctx))
    elif button.action == "progress":
        await cmd_progress(ctx)
    elif button.action == "help":
        await cmd_help(ctx)
    elif button.action == "human":
        await live.request_human(ctx)
    else:
        await stale_button(ctx)


async def idle_input(ctx: Context) -> None:
    """No flow is active. Keep what was sent, and offer to file it as a complaint."""
    ev, t = ctx.event, ctx.texts
    data = dict(ctx.data)
    if ev.kind == Kind.ATTACHMENT:
        data.setdefault("pending_attachments", []).append({"file_id": ev.file_id,
                                                            "media": ev.media})
        ctx.conv.data = data
        action = "file_text" if data.get("pending") else "file"
        ctx.say(t("attachment_saved", media=media_word(t, ev.media)),
                [[Button(t.menu_file, Menu(action).pack())]])
        return
    if ev.kind == Kind.TEXT and word_count(ev.text) >= MIN_OFFER_WORDS:
        data["pending"] = ev.text
        ctx.conv.data = data
        ctx.say(t.idle_offer, [[Button(t.idle_offer_yes, Menu("file_text").pack())],
                               [Button(t.menu_progress, Menu("progress").pack()),
                                Button(t.menu_help, Menu("help").pack())]])
        return
    if ev.kind == Kind.OTHER:
        ctx.say(t.not_text)
    show_menu(ctx)

