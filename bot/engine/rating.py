"""The citizen's rating of a concluded case (评价), and their request for review (复查).

The reply that concludes a case asks for the rating in the same message (the step opens the
``rating`` window, see ``casework.citizen_buttons``): the overall 满意 / 基本满意 / 不满意
(``ratings`` in lifecycle.yaml), then each aspect 1–5 (config/rating.yaml), then an optional
comment. The overall choice is the lifecycle step ``rate``, refused once the rating window has
passed; it writes the case's one ``Rating`` row (``case_id`` is unique). Aspects and the comment
are added to that row, each once. Only the citizen who filed the case can rate it: every button
is checked against the chat that presses it, and nobody else has a way to write a rating.

A rating that offers a review (不满意) creates a return-visit task for the department (a
``return_visit`` case event, staff-only, and a message in the department's chat with the case's
buttons, 退回重办 among them) and offers the citizen 「申请复查」 within the review window.

Callback data: ``r:o:<case id>:<rating>`` overall, ``r:a:<case id>:<aspect>:<score>`` an aspect,
``r:c:<case id>`` no comment, ``r:v:<case id>`` ask for review, ``r:x`` cancel that. The flow
``rating`` has two steps that wait for text, ``comment`` and ``review``; data ``{"case": id}``.
"""
from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from bot.engine import casework, staff
from bot.engine.core import Context
from bot.engine.lifecycle import Action, Role, TransitionRefused
from bot.engine.render import esc, shorten
from bot.engine.types import Button, Kind
from config.catalog import load_yaml
from storage import cases
from storage.models import Case, Rating
from sqlmodel import select

log = logging.getLogger(__name__)
STEPS = {"comment": "评价意见", "review": "申请复查"}


@cache
def _config(config_dir: Path) -> dict:
    raw = load_yaml("rating.yaml", config_dir) or {}
    aspects = dict(raw.get("aspects") or {})
    for key in aspects:
        if key not in Rating.model_fields or key in ("id", "case_id", "overall", "comment"):
            raise ValueError(f"rating.yaml: aspect {key!r} is not a column of Rating")
    return {"aspects": aspects, "scores": [int(s) for s in raw.get("scores") or (1, 2, 3, 4, 5)],
            "comment_max_chars": int(raw.get("comment_max_chars", 500))}


def config(ctx: Context) -> dict:
    return _config(Path(ctx.engine.catalog.config_dir))


async def rating_of(ctx: Context, case_id: int) -> Rating | None:
    stmt = select(Rating).where(Rating.case_id == case_id)
    return (await ctx.session.exec(stmt)).first()


# ---------------------------------------------------------------- buttons other modules show

def overall_buttons(case: Case) -> list[list[Button]]:
    table = casework.lifecycle()
    return [[Button(c.label, f"r:o:{case.id}:{key}") for key, c in table.ratings.items()]]


def review_buttons(ctx: Context, case: Case) -> list[list[Button]]:
    return [[Button(ctx.texts.rating_review_button, f"r:v:{case.id}")]]


async def request_buttons(ctx: Context, case: Case) -> list[list[Button]]:
    """The rating request that goes with a reply: none when the case was rated already."""
    return [] if await rating_of(ctx, case.id) is not None else overall_buttons(case)


async def allowed(ctx: Context, case: Case, action: Action, fields: dict) -> bool:
    try:
        await casework.plan(ctx, case, action, Role.CITIZEN, fields=fields)
    except TransitionRefused:
        return False
    return True


async def case_buttons(ctx: Context, case: Case) -> list[list[Button]]:
    """For the citizen's own case in /progress: rate it, ask for review, when they still may."""
    rows = []
    first = next(iter(casework.lifecycle().ratings), "")
    if (await rating_of(ctx, case.id) is None
            and await allowed(ctx, case, Action.RATE, {"rating": first})):
        rows += overall_buttons(case)
    if await allowed(ctx, case, Action.REQUEST_REVIEW, {"reason": "…"}):
        rows += review_buttons(ctx, case)
    return rows


# ---------------------------------------------------------------- buttons pressed

async def owned_case(ctx: Context, raw_id: str) -> Case | None:
    """The case, if the chat pressing the button is the citizen who filed it."""
    try:
        case = await cases.case_by_id(ctx.session, case_id=int(raw_id))
    except ValueError:
        return None
    if case is None:
        return None
    citizen = await cases.citizen_of(ctx.session, case=case)
    return case if citizen is not None and citizen.chat_id == ctx.event.chat_id else None


async def on_button(ctx: Context, parts: list[str], _flows: dict) -> None:
    head = parts[0]
    if head == "x":
        await back(ctx)
        return
    case = await owned_case(ctx, parts[1]) if len(parts) >= 2 else None
    if case is None:
        ctx.say(ctx.texts.stale_button)
    elif head == "o" and len(parts) == 3:
        await rate(ctx, case, parts[2])
    elif head == "a" and len(parts) == 4:
        await score(ctx, case, parts[2], parts[3])
    elif head == "c" and len(parts) == 2:
        if ctx.conv.flow == "rating":
            ctx.set_flow("", "", {})
        ctx.say(ctx.texts.rating_thanks)
    elif head == "v" and len(parts) == 2:
        await begin_review(ctx, case)
    else:
        ctx.say(ctx.texts.stale_button)


async def rate(ctx: Context, case: Case, key: str) -> None:
    if await rating_of(ctx, case.id) is not None:
        ctx.say(ctx.texts.rating_already)
        return
    try:
        done = await casework.act(ctx, case, Action.RATE, Role.CITIZEN, seen_version=case.version,
                                  actor="citizen", fields={"rating": key})
    except TransitionRefused as exc:
        ctx.say(esc(exc))
        return
    rating = Rating(case_id=case.id, overall=key, created_at=ctx.now)
    ctx.session.add(rating)
    log.info("case %s rated", case.id)
    if done.plan.offer_review:
        return_visit(ctx, case, key)
    await ask_next(ctx, case, rating)


def return_visit(ctx: Context, case: Case, key: str) -> None:
    """A dissatisfied rating: the department is asked to visit the citizen again."""
    cases.add_event(ctx.session, case_id=case.id, at=ctx.now, actor="system", role="system",
                    action="return_visit", from_status=case.status, to_status=case.status,
                    note="信访人不满意，需回访")
    chat_id = ctx.engine.staff_chat_for(case.department)
    if chat_id is None:
        return
    label = casework.lifecycle().ratings[key].label
    ctx.send(chat_id, ctx.texts("staff_return_visit", number=case.number, rating=label,
                                department=esc(ctx.engine.catalog.department_name(
                                    case.department))),
             staff.action_buttons(case, staff.chat_roles(ctx, chat_id)))


async def score(ctx: Context, case: Case, aspect: str, value: str) -> None:
    conf = config(ctx)
    rating = await rating_of(ctx, case.id)
    if rating is None or aspect not in conf["aspects"] or not value.isdigit() \
            or int(value) not in conf["scores"]:
        ctx.say(ctx.texts.stale_button)
        return
    if getattr(rating, aspect) is not None:
        ctx.say(ctx.texts.rating_aspect_done)
    else:
        setattr(rating, aspect, int(value))
        ctx.session.add(rating)
    await ask_next(ctx, case, rating)


async def ask_next(ctx: Context, case: Case, rating: Rating) -> None:
    """The first aspect not scored yet, else the comment, else thanks."""
    t, conf = ctx.texts, config(ctx)
    aspect = next((a for a in conf["aspects"] if getattr(rating, a) is None), None)
    if aspect is not None:
        scores = conf["scores"]
        ctx.say(t("rating_ask_aspect", aspect=conf["aspects"][aspect], low=scores[0],
                  high=scores[-1]),
                [[Button(str(s), f"r:a:{case.id}:{aspect}:{s}") for s in scores]])
    elif rating.comment is None and ctx.conv.flow in ("", "rating"):
        ctx.set_flow("rating", "comment", {"case": case.id})
        ctx.say(t.rating_ask_comment, [[Button(t.rating_no_comment, f"r:c:{case.id}")]])
    else:
        ctx.say(t.rating_thanks)


# ---------------------------------------------------------------- the review request

async def begin_review(ctx: Context, case: Case) -> None:
    t = ctx.texts
    if ctx.conv.flow == "intake":
        ctx.say(t.rating_review_busy)
        return
    try:
        await casework.plan(ctx, case, Action.REQUEST_REVIEW, Role.CITIZEN,
                            fields={"reason": "…"})
    except TransitionRefused as exc:
        ctx.say(esc(exc))
        return
    ctx.set_flow("rating", "review", {"case": case.id})
    await prompt(ctx)


async def request_review(ctx: Context, case: Case, reason: str) -> None:
    try:
        await casework.act(ctx, case, Action.REQUEST_REVIEW, Role.CITIZEN,
                           seen_version=case.version, actor="citizen", fields={"reason": reason})
    except TransitionRefused as exc:
        ctx.say(esc(exc))
        return
    chat_id = ctx.engine.settings.staff_chat_id or ctx.engine.staff_chat_for(case.department)
    if chat_id is not None:
        ctx.send(chat_id, ctx.texts(
            "staff_review_requested", number=case.number, reason=esc(shorten(reason, 1500)),
            department=esc(ctx.engine.catalog.department_name(case.department))),
            staff.action_buttons(case, staff.chat_roles(ctx, chat_id)))


# ---------------------------------------------------------------- the "rating" flow

def step_label(ctx: Context) -> str:
    return STEPS.get(ctx.conv.step, "评价")


async def prompt(ctx: Context) -> None:
    t = ctx.texts
    case = await cases.case_by_id(ctx.session, case_id=int(ctx.data.get("case", 0)))
    if case is None:
        ctx.set_flow("", "", {})
        return
    if ctx.conv.step == "review":
        ctx.say(t("rating_review_ask", number=case.number),
                [[Button(t.button_cancel, "r:x")]])
    else:
        ctx.say(t.rating_ask_comment, [[Button(t.rating_no_comment, f"r:c:{case.id}")]])


async def back(ctx: Context) -> None:
    from bot.engine.menu import show_menu

    review = ctx.conv.flow == "rating" and ctx.conv.step == "review"
    if ctx.conv.flow == "rating":
        ctx.set_flow("", "", {})
    ctx.say(ctx.texts.rating_review_cancelled if review else ctx.texts.cancelled)
    show_menu(ctx)


async def on_input(ctx: Context) -> None:
    ev, t = ctx.event, ctx.texts
    text = ev.text.strip() if ev.kind == Kind.TEXT else ""
    if not text:
        ctx.say(t.not_text if ev.kind != Kind.TEXT else t.empty)
        await prompt(ctx)
        return
    step, case_id = ctx.conv.step, int(ctx.data.get("case", 0))
    case = await owned_case(ctx, str(case_id))
    ctx.set_flow("", "", {})
    if case is None:
        ctx.say(t.stale_button)
    elif step == "review":
        if len(text) > ctx.engine.settings.max_description_chars:
            ctx.set_flow("rating", "review", {"case": case_id})
            ctx.say(t("too_long", got=len(text), max=ctx.engine.settings.max_description_chars))
            return
        await request_review(ctx, case, text)
    else:
        await comment(ctx, case, text)


async def comment(ctx: Context, case: Case, text: str) -> None:
    t = ctx.texts
    rating = await rating_of(ctx, case.id)
    if rating is None or rating.comment is not None:
        ctx.say(t.rating_already)
        return
    rating.comment = shorten(text, config(ctx)["comment_max_chars"])
    ctx.session.add(rating)
    ctx.say(t.rating_thanks)
    if casework.lifecycle().ratings[rating.overall].offers_review:
        chat_id = ctx.engine.staff_chat_for(case.department)
        if chat_id is not None:
            ctx.send(chat_id, t("staff_rating_comment", number=case.number,
                                comment=esc(rating.comment)))
