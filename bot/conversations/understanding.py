"""What the citizen already said: fields read from their text (``nlp.extract``) become the
complaint's answers, so the intake asks only for what is still missing.

The description is read once its category is settled (the category decides which fields
there are); every later typed answer is read too, for the other fields still empty (an answer
that also gives a phone number fills both). Values read from text are kept apart in
``understood`` so the citizen sees them once, confirms or corrects them, and is never asked
for them again.
"""
from __future__ import annotations

import re

from bot.conversations.flow import Context
from bot.conversations.render import esc, mask_phone
from cases.deadlines import local_date
from config.catalog import CategoryRules
from storage.models import Case

COMMON = ("location", "since", "name", "phone")
SHARED = ("location",)   # the place of the complaint may well be a project's or estate's too


def rules(ctx: Context) -> CategoryRules:
    category = ctx.data.get("category") or ["", "", ""]
    return ctx.catalog.rules_for(*category)


def filled(ctx: Context, key: str) -> bool:
    """Whether the field has a value or was skipped on purpose."""
    if key in COMMON:
        return key in ctx.data
    return key in (ctx.data.get("answers") or {})


# What a typed answer is read for besides itself: contact details, which no answer to another
# question could be mistaken for (an answer about a project's site is no complaint address).
IN_ANSWERS = ("phone", "name", "plate")


async def tokens_of(ctx: Context, text: str) -> list[str]:
    """A later message's tokens, segmented as the classifier segments (a description's come
    with its classification)."""
    return (await ctx.classifier.get()).classify(text).tokens


def extract(ctx: Context, tokens: list[str], specs) -> dict[str, str]:
    return ctx.extractor.extract("".join(tokens), tokens, specs, local_date(ctx.now),
                                 shared=SHARED)


def read(ctx: Context, tokens: list[str], *, kinds: tuple[str, ...] = ()) -> list[str]:
    """Fill the empty fields the text states clearly (only those of ``kinds``, if given); the
    keys filled."""
    if not tokens:
        return []
    specs = [f for f in rules(ctx).fields if not filled(ctx, f.key)
             and (not kinds or f.type in kinds)]
    if ctx.data.get("anonymous"):
        specs = [f for f in specs if f.key != "name"]
    found = extract(ctx, tokens, specs)
    for key, value in found.items():
        if key in COMMON:
            ctx.data[key] = value
        else:
            ctx.data.setdefault("answers", {})[key] = value
    understood = ctx.data.setdefault("understood", [])
    understood += [key for key in found if key not in understood]
    return list(found)


def label(ctx: Context, key: str) -> str:
    t = ctx.texts
    common = {"location": t.field_location, "since": t.field_since, "name": t.field_name,
              "phone": t.field_phone}
    if key in common:
        return common[key]
    return next((q.label for q in rules(ctx).questions if q.key == key), key)


def shown(ctx: Context, key: str) -> str:
    """A field's value as the citizen reads it (dates in words, the phone masked)."""
    value = ctx.data.get(key) if key in COMMON else (ctx.data.get("answers") or {}).get(key)
    if value is None:
        return ctx.texts.not_given
    if key == "phone":
        return mask_phone(str(value), ctx.texts.phone_not_given)
    return esc(words_for_dates(ctx, str(value)))


_DAY = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def words_for_dates(ctx: Context, value: str) -> str:
    """2026-03 → 2026年3月, 2026-11-20 → 2026年11月20日, in any value (periods too)."""
    def word(m: re.Match) -> str:
        year, month, day = m.groups()
        key = "date_day" if day else "date_month"
        return ctx.texts(key, year=int(year), month=int(month), day=int(day or 0))
    return _DAY.sub(word, value)


def summary(ctx: Context) -> str:
    """「我从您的描述中读到：欠薪单位 华建劳务公司；金额 96000 …」"""
    keys = [k for k in ctx.data.get("understood") or [] if filled(ctx, k)]
    parts = [ctx.texts("understood_item", label=esc(label(ctx, k)), value=shown(ctx, k))
             for k in keys]
    return ctx.texts("understood", fields=ctx.texts.understood_sep.join(parts))


async def read_into_case(ctx: Context, case: Case, text: str) -> list[str]:
    """Text a citizen adds to a filed case: the case's empty fields it states clearly are
    filled (never one that has a value). The keys filled."""
    tokens = await tokens_of(ctx, text)
    rules_ = ctx.catalog.rules_for(case.level1, case.level2, case.level3)
    answers = dict(case.answers or {})
    present = {"location": case.location, "since": case.since, "phone": case.phone,
               "name": case.name or case.anonymous}
    specs = [f for f in rules_.fields
             if not (present[f.key] if f.key in present else answers.get(f.key))]
    found = extract(ctx, tokens, specs)
    for key, value in found.items():
        if key in COMMON:
            setattr(case, key, value)
        else:
            answers[key] = value
    if found:
        case.answers = answers
        ctx.session.add(case)
    return list(found)
