"""The citizen's rating of a concluded case (评价), and their request for review (复查).

The reply that concludes a case asks for the rating in the same message (the step opens the
``rating`` window, see ``presenters.announce``): the overall 满意 / 基本满意 / 不满意
(``ratings`` in lifecycle.yaml), then each aspect 1–5 (rating.yaml), then an optional
comment. The overall choice is the lifecycle step ``rate``, refused once the rating window has
passed; it writes the case's one ``Rating`` row (``case_id`` is unique). Aspects and the comment
are added to that row, each once. Only the citizen who filed the case can rate it: every button
is checked against the chat that presses it, and nobody else has a way to write a rating.

A rating that offers a review (不满意) creates a return-visit task for the department (a
``return_visit`` case event, staff-only, and a message in the department's chat with the case's
buttons, 退回重办 among them) and offers the citizen 「申请复查」 within the review window.

Buttons (``buttons``): ``RateOverall``, ``RateAspect``, ``NoComment``, ``AskReview``,
``CancelReview``. The flow ``rating`` has two steps that wait for text, ``comment`` and
``review``; data ``{"case": id}``.
"""
from __future__ import annotations

import logging

from bot.chat import Button, Kind
from bot.conversations import presenters
from bot.conversations.buttons import AskReview, CancelReview, NoComment, RateAspect, RateOverall
from bot.conversations.common import leave_flow, show_menu, stale_button
from bot.conversations.flow import Context
from bot.conversations.render import esc, shorten
from cases.lifecycle import Action, Role, TransitionRefused
from storage import cases
from storage.models import Case, Rating

log = logging.getLogger(__name__)
NAME = "rating"
BUSY_FLOWS = ("intake",)   # a complaint being filed is not interrupted by a review request


async def owned_case(ctx: Context, case_id: int) -> Case | None:
    """The case, if the chat pressing the button is the citizen who filed it."""
    case = await cases.case_by_id(ctx.session, case_id=case_id)
    if case is None:
        return None
    citizen = await cases.citizen_of(ctx.session, case=case)
    return case if citizen is not None and citizen.chat_id == ctx.event.chat_id else None


# ---------------------------------------------------------------- buttons pressed

async def on_overall(ctx: Context, button: RateOverall) -> None:
    case = await owned_case(ctx, button.case_id)
    if case is None:
        await stale_button(ctx)
        return
    t = ctx.texts
    if await ctx.casework.rating_of(ctx.session, case.id) is not None:
        ctx.say(t.rating_already)
        return
    try:
        done, rating = await ctx.casework.rate(ctx.session, case, button.rating, now=ctx.now)
    except TransitionRefused as exc:
        ctx.say(presenters.refusal(exc))
        return
    await presenters.announce(ctx, done)
    log.info("case %s rated", case.id)
    if done.plan.offer_review:
        presenters.tell_return_visit(ctx, case, button.rating)
    await ask_next(ctx, case, rating)


async def on_aspect(ctx: Context, button: RateAspect) -> None:
    case = await owned_case(ctx, button.case_id)
    conf = ctx.catalog.rating
    rating = await ctx.casework.rating_of(ctx.session, case.id) if case else None
    if rating is None or button.aspect not in conf.aspects or button.score not in conf.scores:
        await stale_button(ctx)
        return
    if getattr(rating, button.aspect) is not None:
        ctx.say(ctx.texts.rating_aspect_done)
    else:
        setattr(rating, button.aspect, button.score)
        ctx.session.add(rating)
    await ask_next(ctx, case, rating)


async def on_no_comment(ctx: Context, button: NoComment) -> None:
    if await owned_case(ctx, button.case_id) is None:
        await stale_button(ctx)
        return
    if ctx.conv.flow == NAME:
        ctx.set_flow("", "", {})
    ctx.say(ctx.texts.rating_thanks)


async def on_ask_review(ctx: Context, button: AskReview) -> None:
    case = await owned_case(ctx, button.case_id)
    if case is None:
        await stale_button(ctx)
    else:
        await begin_review(ctx, case)


async def on_cancel_review(ctx: Context, _button: CancelReview) -> None:
    if ctx.conv.flow == NAME and ctx.conv.step == "review":
        leave_flow(ctx, ctx.texts.rating_review_cancelled)
    else:   # nothing to cancel: say where they are instead of claiming a cancel
        await stale_button(ctx)


async def ask_next(ctx: Context, case: Case, rating: Rating) -> None:
    """The first aspect not scored yet, else the comment, else thanks."""
    t, conf = ctx.texts, ctx.catalog.rating
    aspect = next((a for a in conf.aspects if getattr(rating, a) is None), None)
    if aspect is not None:
        scores = conf.scores
        ctx.say(t("rating_ask_aspect", aspect=conf.aspects[aspect], low=scores[0],
                  high=scores[-1]),
                [[Button(str(s), RateAspect(case.id, aspect, s).pack()) for s in scores]])
    elif rating.comment is None and ctx.conv.flow in ("", NAME):
        ctx.set_flow(NAME, "comment", {"case": case.id})
        ctx.say(t.rating_ask_comment, [[Button(t.rating_no_comment, NoComment(case.id).pack())]])
    else:
        ctx.say(t.rating_thanks)


# ---------------------------------------------------------------- the review request

async def begin_review(ctx: Context, case: Case) -> None:
    t = ctx.texts
    if ctx.conv.flow in BUSY_FLOWS:
        ctx.say(t.rating_review_busy)
        return
    try:
        await ctx.casework.plan(ctx.session, case, Action.REQUEST_REVIEW, Role.CITIZEN,
                                now=ctx.now, fields={"reason": "…"})
    except TransitionRefused as exc:
        ctx.say(presenters.refusal(exc))
        return
    ctx.set_flow(NAME, "review", {"case": case.id})
    await prompt(ctx)


async def request_review(ctx: Context, case: Case, reason: str) -> None:
    try:
        done = await ctx.casework.act(ctx.session, case, Action.REQUEST_REVIEW, Role.CITIZEN,
                                      now=ctx.now, seen_version=case.version, actor="citizen",
                                      fields={"reason": reason})
    except TransitionRefused as exc:
        ctx.say(presenters.refusal(exc))
        return
    await presenters.announce(ctx, done)
    presenters.tell_review_requested(ctx, case, reason)


# ---------------------------------------------------------------- the "rating" flow

def step_label(ctx: Context) -> str:
    t = ctx.texts
    return {"comment": t.step_rating_comment, "review": t.step_rating_review}.get(
        ctx.conv.step, t.step_rating)


async def prompt(ctx: Context) -> None:
    t = ctx.texts
    case = await cases.case_by_id(ctx.session, case_id=int(ctx.data.get("case", 0)))
    if case is None:
        ctx.set_flow("", "", {})
        show_menu(ctx)
        return
    if ctx.conv.step == "review":
        ctx.say(t("rating_review_ask", number=case.number),
                [[Button(t.button_cancel, CancelReview().pack())]])
    else:
        ctx.say(t.rating_ask_comment, [[Button(t.rating_no_comment, NoComment(case.id).pack())]])


async def back(ctx: Context) -> None:
    review = ctx.conv.step == "review"
    leave_flow(ctx, ctx.texts.rating_review_cancelled if review else ctx.texts.cancelled)


async def on_input(ctx: Context) -> None:
    ev, t = ctx.event, ctx.texts
    text = ev.text.strip() if ev.kind == Kind.TEXT else ""
    if not text:
        ctx.say(t.not_text if ev.kind != Kind.TEXT else t.empty)
        await prompt(ctx)
        return
    step, case_id = ctx.conv.step, int(ctx.data.get("case", 0))
    case = await owned_case(ctx, case_id)
    ctx.set_flow("", "", {})
    if case is None:
        ctx.say(t.stale_button)
    elif step == "review":
        if len(text) > ctx.settings.max_description_chars:
            ctx.set_flow(NAME, "review", {"case": case_id})
            ctx.say(t("too_long", got=len(text), max=ctx.settings.max_description_chars))
            return
        await request_review(ctx, case, text)
    else:
        await comment(ctx, case, text)


async def comment(ctx: Context, case: Case, text: str) -> None:
    t = ctx.texts
    rating = await ctx.casework.rating_of(ctx.session, case.id)
    if rating is None or rating.comment is not None:
        ctx.say(t.rating_already)
        return
    rating.comment = shorten(text, ctx.catalog.rating.comment_max_chars)
    ctx.session.add(rating)
    ctx.say(t.rating_thanks)
    if ctx.catalog.lifecycle.ratings[rating.overall].offers_review:
        chat_id = ctx.staff_chat_for(case.department)
        if chat_id is not None:
            ctx.send(chat_id, t("staff_rating_comment", number=case.number,
                                comment=esc(rating.comment)))
