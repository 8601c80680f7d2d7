"""/web: a staff member or leader asks for a sign-in link to the web workspace.

The link is personal, valid for ``web_signin_minutes`` and usable once (``storage.signin``).
It is only ever sent in the person's private chat with the bot: asked for in a staff group,
the group is told to look there. Anyone without a staff role gets the same answer as for any
unknown command, so the command gives nothing away.
"""
from __future__ import annotations

from bot.conversations import menu
from bot.conversations.flow import Context
from storage import signin


async def cmd_web(ctx: Context) -> None:
    ev, t, settings = ctx.event, ctx.texts, ctx.settings
    if not ctx.casework.access.roles_of(ev.user_id):
        if ev.chat_type == "private":
            await menu.unknown_command(ctx)
        return
    token = signin.issue(ctx.session, user_id=ev.user_id, now=ctx.now,
                         minutes=settings.web_signin_minutes)
    url = f"{settings.web_url}/signin/{token}"
    ctx.send(ev.user_id, t("web_signin_link", url=url, minutes=round(settings.web_signin_minutes)),
             audience="staff")
    if ev.chat_type != "private":
        ctx.say(t.web_signin_sent_private, audience="staff")
