"""What every conversation shows: the main menu, 「您正在…」 reminders, the stale-button reply."""
from __future__ import annotations

from bot.chat import Button
from bot.conversations.buttons import Appoint, Menu
from bot.conversations.flow import Context
from config.catalog import Texts


def main_menu(ctx: Context) -> list[list[Button]]:
    t = ctx.texts
    return [[Button(t.menu_file, Menu("file").pack())],
            [Button(t.menu_progress, Menu("progress").pack()),
             Button(t.menu_human, Menu("human").pack())],
            [Button(t.menu_appointment, Appoint().pack()),
             Button(t.menu_help, Menu("help").pack())]]


def show_menu(ctx: Context) -> None:
    ctx.say(ctx.texts.menu_prompt, main_menu(ctx))


async def remind(ctx: Context) -> None:
    """Tell a citizen where they are: the current step again, or the menu."""
    if ctx.flow is None:
        show_menu(ctx)
        return
    ctx.say(ctx.texts("in_flow_hint", step=ctx.flow.step_label(ctx)))
    await ctx.flow.prompt(ctx)


async def stale_button(ctx: Context) -> None:
    """A button that is not (or no longer) one we can act on: say so, and where they are."""
    ctx.say(ctx.texts.stale_button)
    await remind(ctx)


def leave_flow(ctx: Context, text: str) -> None:
    """End the current flow with ``text`` and show the menu."""
    ctx.set_flow("", "", {})
    ctx.say(text)
    show_menu(ctx)


def media_word(t: Texts, media: str) -> str:
    return t.get(f"media_{media}") or t.media_other
