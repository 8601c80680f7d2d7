"""Filing a complaint: a guided conversation whose state lives in ``Conversation.data``.

Steps run in the order of ``steps()``; each step has a prompt and an answer handler. Buttons
carry their step (``buttons.Intake``) so a button from an earlier step can never act on a later
one. Submitting files the case through the case service and alerts the department.
"""
from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.chat import Button, Kind
from bot.conversations import linking, presenters, supplement, understanding, validate
from bot.conversations.buttons import Intake
from bot.conversations.common import leave_flow, media_word, remind, show_menu
from bot.conversations.flow import Context
from bot.conversations.render import esc, shorten
from config.catalog import CategoryRules, Question
from nlp.api import Flag
from storage import repo

NAME = "intake"
HEAD = ["description", "category", "understood"]
TAIL = ["location", "since", "name", "phone", "attachments", "summary"]
PICK_STEPS = ("pick1", "pick2", "pick3")
SAME = "same"   # before the summary: 「是不是就是您反映过的这件事？」 (bot/conversations/linking.py)
MIN_DESCRIPTION_WORDS = 10
WELCOME_BACK_AFTER = timedelta(hours=1)


# ---------------------------------------------------------------- state helpers

def category(ctx: Context) -> list[str]:
    return ctx.data.get("category") or ["", "", ""]


def rules(ctx: Context) -> CategoryRules:
    return ctx.catalog.rules_for(*category(ctx))


def question(ctx: Context, step: str) -> Question | None:
    key = step[2:] if step.startswith("q.") else None
    return next((q for q in rules(ctx).questions if q.key == key), None)


def steps(ctx: Context) -> list[str]:
    return HEAD + [f"q.{q.key}" for q in rules(ctx).questions] + TAIL


def category_text(ctx: Context, cat: list[str] | None = None) -> str:
    return " › ".join(esc(p) for p in (cat or category(ctx)) if p)


def first_missing(ctx: Context) -> str | None:
    """The first required question of the current category still without an answer."""
    answers = ctx.data.get("answers") or {}
    return next((f"q.{q.key}" for q in rules(ctx).questions
                 if q.required and not answers.get(q.key)), None)


def step_label(ctx: Context) -> str:
    return step_label_of(ctx, ctx.conv.step)


def step_label_of(ctx: Context, step: str) -> str:
    t = ctx.texts
    if step.startswith("q."):
        q = question(ctx, step)
        return q.label if q else step
    if step in PICK_STEPS:
        step = "category"
    return {"description": t.field_description, "category": t.field_category,
            "location": t.field_location, "since": t.field_since, "name": t.field_name,
            "phone": t.field_phone, "attachments": t.field_attachments,
            "summary": t.step_summary, "edit": t.step_edit, SAME: t.step_same_matter,
            "understood": t.step_understood}.get(step, step)


def btn(ctx: Context, label: str, action: str, step: str | None = None) -> Button:
    return Button(label, Intake(step or ctx.conv.step, action).pack())


def nav_row(ctx: Context, *, skip: bool = False) -> list[Button]:
    row = [btn(ctx, ctx.texts.button_skip, "skip")] if skip else []
    return row + [btn(ctx, ctx.texts.button_back, "back")]


def go(ctx: Context, step: str, *, remember: bool = True) -> None:
    history = ctx.data.setdefault("history", [])
    if remember and ctx.conv.step and ctx.conv.step not in PICK_STEPS + ("edit",):
        if not history or history[-1] != ctx.conv.step:
            history.append(ctx.conv.step)
    ctx.conv.step = step


def needed(ctx: Context, step: str) -> bool:
    """Whether to stop at a step going forward: not for what the citizen's text already said
    (nor the confirmation of it, when nothing was read or it was confirmed)."""
    understood = ctx.data.get("understood") or []
    if step == "understood":
        return bool(understood) and not ctx.data.get("understood_ok")
    key = step[2:] if step.startswith("q.") else step
    return not (key in understood and understanding.filled(ctx, key))


async def advance(ctx: Context) -> None:
    order = steps(ctx)
    current = "category" if ctx.conv.step in PICK_STEPS else ctx.conv.step
    if ctx.data.get("editing") == "understood":   # a correction of what was read: back to it
        go(ctx, "understood", remember=False)
    elif ctx.data.get("editing"):
        # After a change from the summary, ask only what the change left unanswered.
        pending = [s for s in order[order.index(current) + 1:-1]
                   if s.startswith("q.") and s[2:] not in ctx.data.get("answers", {})
                   and (question(ctx, s) or Question("", "", "")).required]
        go(ctx, pending[0] if pending else "summary", remember=False)
    else:
        rest = order[order.index(current) + 1:]
        go(ctx, next((s for s in rest if needed(ctx, s)), rest[-1]))
    if ctx.conv.step == "summary" and "same_as" not in ctx.data:
        # once, before the first summary: is it a case of this citizen's still open?
        same = await linking.offer_for(ctx)
        ctx.data["same_as"] = same.number if same else ""
        if same is not None:
            ctx.data["same_text"] = linking.offer_text(ctx, same)
            ctx.conv.step = SAME
    await prompt(ctx)


async def back(ctx: Context) -> None:
    editing = ctx.data.get("editing")
    target = "understood" if editing == "understood" else "summary"
    if editing and ctx.conv.step != target:
        go(ctx, target, remember=False)
    elif ctx.conv.step in PICK_STEPS:
        go(ctx, "category", remember=False)
    else:
        history = ctx.data.get("history") or []
        valid = set(steps(ctx))   # the current category's steps: not an old category's
        while history and history[-1] not in valid:
            history.pop()
        if not history:
            ctx.say(ctx.texts.back_at_start)
        else:
            ctx.conv.step = history.pop()
    await prompt(ctx)


# ---------------------------------------------------------------- entry points

async def begin(ctx: Context, description: str = "", attachments=()) -> None:
    ctx.set_flow(NAME, "description",
                 {"answers": {}, "attachments": list(attachments), "history": []})
    if description:
        await answer_description(ctx, description)
    else:
        await prompt(ctx)


async def on_input(ctx: Context) -> None:
    ev, t, step = ctx.event, ctx.texts, ctx.conv.step
    if ctx.now - ctx.conv.updated_at.replace(tzinfo=ctx.now.tzinfo) > WELCOME_BACK_AFTER:
        ctx.say(t.welcome_back)
    if ev.kind == Kind.ATTACHMENT:
        ctx.data.setdefault("attachments", []).append({"file_id": ev.file_id, "media": ev.media})
        if step == "attachments":
            ctx.say(t("attachments_count", n=len(ctx.data["attachments"])),
                    [[btn(ctx, t.button_done, "done")]])
        else:
            ctx.say(t("attachment_saved_ask_text", media=media_word(t, ev.media)))
            await prompt(ctx)
        return
    if ev.kind == Kind.CONTACT and step == "phone":
        await answer_phone(ctx, ev.text, shared=True)
        return
    if ev.kind != Kind.TEXT:
        ctx.say(t.not_text)
        await prompt(ctx)
        return
    text = ev.text.strip()
    if not text:
        ctx.say(t.empty)
        await prompt(ctx)
        return
    handler = ANSWERS.get("q" if step.startswith("q.") else step)
    if handler is None:  # a step answered with buttons only
        typed = match_button(ctx, text)
        if typed is None:
            ctx.say(t.invalid_choice)
            await prompt(ctx)
        else:
            await on_button(ctx, typed)
        return
    await handler(ctx, text)


def match_button(ctx: Context, text: str) -> Intake | None:
    """A citizen may type a button's label instead of pressing it."""
    probe = dataclasses.replace(ctx, out=[])
    PROMPTS[prompt_key(ctx.conv.step)](probe)
    for msg in probe.out:
        for row in msg.buttons:
            for b in row:
                if b.text.strip() == text:
                    return Intake(ctx.conv.step, b.data.rsplit(":", 1)[1])
    return None


async def on_button(ctx: Context, button: Intake) -> None:
    t = ctx.texts
    if ctx.conv.flow != NAME or button.step != ctx.conv.step:
        ctx.say(t.stale_button)
        await remind(ctx)
        return
    step, action = button.step, button.action
    if action == "back":
        await back(ctx)
    elif action == "skip" and can_skip(ctx, step):
        store(ctx, step, None)
        await advance(ctx)
    elif step == "description" and action == "keep" and ctx.data.get("overflow"):
        full = ctx.data.pop("overflow")
        ctx.data.setdefault("answers", {})["full_text"] = full
        await answer_description(ctx, full[: ctx.settings.max_description_chars])
    elif step in ("category",) + PICK_STEPS:
        await category_button(ctx, step, action)
    elif step.startswith("q.") and action.startswith("c") and action[1:].isdigit():
        q = question(ctx, step)
        if q and int(action[1:]) < len(q.choices):
            store(ctx, step, q.choices[int(action[1:])])
            await advance(ctx)
        else:
            ctx.say(t.stale_button)
            await prompt(ctx)
    elif step == "name" and action == "anon" and rules(ctx).anonymous:
        ctx.data["name"], ctx.data["anonymous"] = None, True
        await advance(ctx)
    elif step == "attachments" and action == "done":
        await advance(ctx)
    elif step == "understood" and action == "ok":
        ctx.data["understood_ok"] = True
        await advance(ctx)
    elif step == "understood" and action == "edit":
        ctx.data["editing"] = "understood"
        go(ctx, "edit", remember=False)
        await prompt(ctx)
    elif step == SAME and action in ("yes", "no"):
        await same_matter(ctx, action == "yes")
    elif step == "summary" and action == "submit":
        await submit(ctx)
    elif step == "summary" and action == "edit":
        go(ctx, "edit", remember=False)
        await prompt(ctx)
    elif action == "cancel":
        leave_flow(ctx, t.cancelled)
    elif step == "edit" and action.startswith("f."):
        target = action[2:]
        editing = "understood" if ctx.data.get("editing") == "understood" else True
        if target == "category":
            ctx.data["editing"] = editing
            go(ctx, "pick1", remember=False)
        elif target in steps(ctx):
            ctx.data["editing"] = editing
            go(ctx, target, remember=False)
        else:
            ctx.say(t.stale_button)
        await prompt(ctx)
    else:
        ctx.say(t.stale_button)
        await prompt(ctx)


def can_skip(ctx: Context, step: str) -> bool:
    if step.startswith("q."):
        q = question(ctx, step)
        return q is not None and not q.required
    return step == "since" or (step == "phone" and ctx.data.get("anonymous"))


def store(ctx: Context, step: str, value) -> None:
    if step.startswith("q."):
        ctx.data.setdefault("answers", {})[step[2:]] = value
    else:
        ctx.data[step] = value
    ctx.data.pop("unsent", None)


def too_long(ctx: Context, text: str, limit: int) -> bool:
    if len(text) <= limit:
        return False
    ctx.data["unsent"] = text  # kept, so nothing the citizen typed is lost
    ctx.say(ctx.texts("too_long", got=len(text), max=limit))
    return True


# ---------------------------------------------------------------- answers

async def answer_description(ctx: Context, text: str) -> None:
    t, limit = ctx.texts, ctx.settings.max_description_chars
    if len(text) > limit:
        ctx.data["overflow"] = text
        ctx.say(t("too_long_description", got=len(text), max=limit),
                [[btn(ctx, t("keep_first", max=limit), "keep")]])
        return
    if not validate.has_words(text):
        ctx.say(t.no_words)
        await prompt(ctx)
        return
    if validate.word_count(text) < MIN_DESCRIPTION_WORDS:
        ctx.say(t("description_too_short", min=MIN_DESCRIPTION_WORDS))
        return
    ctx.data.pop("overflow", None)
    store(ctx, "description", text)
    await classify(ctx, text)
    if ctx.data.get("editing"):
        target = "understood" if ctx.data["editing"] == "understood" else "summary"
        go(ctx, target, remember=False)
        await prompt(ctx)
    else:
        go(ctx, "category")
        await prompt(ctx)


async def classify(ctx: Context, text: str) -> None:
    classifier = await ctx.classifier.get()
    result = classifier.classify(text)
    cat = [result.category.level1, result.category.level2, result.category.level3]
    ctx.data["proposal"] = {
        "category": cat,
        "department": ctx.catalog.route(cat, text),
        "evidence": list(result.evidence[:6]),
        "top3": [name for name, _ in result.top3],
        "unsure": bool(result.unsure),
    }
    ctx.data["flags"] = list(result.flags)
    ctx.data["tokens"] = list(result.tokens)   # read for fields once the category is settled
    t = ctx.texts
    if Flag.LITIGATION in result.flags:
        ctx.say(t.flag_litigation)
    if Flag.ESCALATION in result.flags:
        ctx.say(t.flag_escalation)


async def answer_question(ctx: Context, text: str) -> None:
    q = question(ctx, ctx.conv.step)
    t = ctx.texts
    if q is None:
        await prompt(ctx)
        return
    if too_long(ctx, text, ctx.settings.max_answer_chars):
        return
    value = validate.answer_value(q, text, ctx.now)
    if value is None:
        ctx.say({"choice": t.invalid_choice, "money": t.invalid_money, "count": t.invalid_count,
                 "year": t.invalid_year}.get(q.type, t.no_words))
        await prompt(ctx)
        return
    store(ctx, ctx.conv.step, value)
    await read_answer(ctx, text)
    await advance(ctx)


async def read_answer(ctx: Context, text: str) -> None:
    """An answer may say more than was asked (a phone number with the name …): fill those too."""
    understanding.read(ctx, await understanding.tokens_of(ctx, text),
                       kinds=understanding.IN_ANSWERS)


async def answer_text_field(ctx: Context, text: str) -> None:
    limit = 30 if ctx.conv.step == "name" else ctx.settings.max_answer_chars
    if too_long(ctx, text, limit):
        return
    if not validate.has_words(text):
        ctx.say(ctx.texts.no_words)
        await prompt(ctx)
        return
    if ctx.conv.step == "name":
        ctx.data["anonymous"] = False
    store(ctx, ctx.conv.step, text)
    await read_answer(ctx, text)
    await advance(ctx)


async def answer_phone(ctx: Context, text: str, *, shared: bool = False) -> None:
    phone = validate.parse_phone(text)
    if phone is None:
        ctx.say(ctx.texts.invalid_phone)
        await prompt(ctx)
        return
    store(ctx, "phone", phone)
    ctx.data["phone_shared"] = shared   # Telegram's own button: the chat's own number
    ctx.say(ctx.texts.phone_noted, remove_keyboard=True, keyboard_note=ctx.texts.keyboard_closed)
    await advance(ctx)


async def answer_attachments_text(ctx: Context, text: str) -> None:
    if text in ctx.texts.done_words_attachments:
        await advance(ctx)
    else:
        ctx.say(ctx.texts.ask_attachments, [[btn(ctx, ctx.texts.button_done, "done")]])


async def answer_summary_text(ctx: Context, text: str) -> None:
    typed = match_button(ctx, text)
    if typed is not None:
        await on_button(ctx, typed)
    else:
        ctx.say(ctx.texts.invalid_choice)
        await prompt(ctx)


ANSWERS = {
    "description": answer_description, "q": answer_question, "location": answer_text_field,
    "since": answer_text_field, "name": answer_text_field, "phone": answer_phone,
    "attachments": answer_attachments_text, "summary": answer_summary_text,
    "edit": answer_summary_text, SAME: answer_summary_text,
}


# ---------------------------------------------------------------- category

async def category_button(ctx: Context, step: str, action: str) -> None:
    tax, proposal = ctx.catalog.taxonomy, ctx.data.get("proposal") or {}
    if step == "category" and action == "ok" and proposal.get("category"):
        await choose_category(ctx, proposal["category"])
        return
    if step == "category" and action in ("change", "more"):
        go(ctx, "pick1", remember=False)
        await prompt(ctx)
        return
    if step == "category" and action.startswith("t") and action[1:].isdigit():
        top = proposal.get("top3") or []
        if int(action[1:]) < len(top):
            ctx.data["pick"] = [top[int(action[1:])]]
            go(ctx, "pick2", remember=False)
            await prompt(ctx)
            return
    pick = ctx.data.get("pick") or []
    options = pick_options(tax, step, pick)
    if action == "coarse" and step in ("pick2", "pick3") and pick:
        await choose_category(ctx, pick + [""] * (3 - len(pick)))
        return
    if action.startswith("p") and action[1:].isdigit() and int(action[1:]) < len(options):
        chosen = options[int(action[1:])]
        pick = ([] if step == "pick1" else pick[: PICK_STEPS.index(step)]) + [chosen]
        ctx.data["pick"] = pick
        if len(pick) == 3 or not pick_options(tax, PICK_STEPS[len(pick)], pick):
            await choose_category(ctx, pick + [""] * (3 - len(pick)))
        else:
            go(ctx, PICK_STEPS[len(pick)], remember=False)
            await prompt(ctx)
        return
    ctx.say(ctx.texts.stale_button)
    await prompt(ctx)


def pick_options(tax, step: str, pick: list[str]) -> list[str]:
    if step == "pick1":
        return tax.level1()
    if step == "pick2" and pick:
        return tax.level2(pick[0])
    if step == "pick3" and len(pick) >= 2:
        return tax.level3(pick[0], pick[1])
    return []


async def choose_category(ctx: Context, cat: list[str]) -> None:
    """The category is settled, whether proposed or picked: the department follows from it and
    the complaint's text, the same way on every path."""
    changed = cat != ctx.data.get("category")
    ctx.data["category"] = cat
    ctx.data["department"] = ctx.catalog.route(cat, ctx.data.get("description", ""))
    ctx.data.pop("pick", None)
    if changed:  # answers to the old category's questions no longer apply
        keep = {q.key for q in rules(ctx).questions} | {"full_text"}
        ctx.data["answers"] = {k: v for k, v in ctx.data.get("answers", {}).items() if k in keep}
        ctx.data["understood"] = [k for k in ctx.data.get("understood") or []
                                  if k in keep or k in understanding.COMMON]
        ctx.data.pop("understood_ok", None)
    if understanding.read(ctx, ctx.data.get("tokens") or []):
        ctx.data.pop("understood_ok", None)   # something new to confirm
    ctx.say(ctx.texts("category_chosen", category=category_text(ctx),
                      department=esc(ctx.catalog.department_name(ctx.data["department"]))))
    ctx.conv.step = "category"
    await advance(ctx)


# ---------------------------------------------------------------- prompts

def prompt_key(step: str) -> str:
    return "q" if step.startswith("q.") else step


async def prompt(ctx: Context) -> None:
    step = ctx.conv.step
    if step not in steps(ctx) and step not in PICK_STEPS + ("edit", SAME):
        # not a step of this category (any more): start again from where the category is asked
        ctx.conv.step = "category" if ctx.data.get("description") else "description"
    PROMPTS[prompt_key(ctx.conv.step)](ctx)


def prompt_description(ctx: Context) -> None:
    t = ctx.texts
    ctx.say(t("ask_description", max=ctx.settings.max_description_chars),
            [[btn(ctx, t.button_cancel, "cancel")]])


def prompt_category(ctx: Context) -> None:
    t, p = ctx.texts, ctx.data.get("proposal") or {}
    if p.get("unsure") or not p.get("category"):
        rows = [[btn(ctx, name, f"t{i}")] for i, name in enumerate(p.get("top3") or [])]
        ctx.say(t.category_proposal_unsure,
                rows + [[btn(ctx, t.category_more, "more")], nav_row(ctx)])
        return
    evidence = "、".join(esc(w) for w in p.get("evidence") or []) or "—"
    ctx.say(t("category_proposal", category=category_text(ctx, p["category"]),
              department=esc(ctx.catalog.department_name(p.get("department", ""))),
              evidence=evidence),
            [[btn(ctx, t.category_confirm, "ok")], [btn(ctx, t.category_change, "change")],
             nav_row(ctx)])


def prompt_pick(ctx: Context) -> None:
    t, step = ctx.texts, ctx.conv.step
    pick = ctx.data.get("pick") or []
    options = pick_options(ctx.catalog.taxonomy, step, pick)
    rows, row = [], []
    for i, name in enumerate(options):
        row.append(btn(ctx, name, f"p{i}"))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    if step == "pick1":
        text = t.category_pick1
    else:
        parent = esc(pick[PICK_STEPS.index(step) - 1])
        text = t(step.replace("pick", "category_pick"), parent=parent)
        rows.append([btn(ctx, t("pick_coarse", parent=parent), "coarse")])
    ctx.say(text, rows + [nav_row(ctx)])


def prompt_question(ctx: Context) -> None:
    q = question(ctx, ctx.conv.step)
    if q is None:
        return
    rows = [[btn(ctx, c, f"c{i}") for i, c in enumerate(q.choices)]] if q.choices else []
    ctx.say(esc(q.ask), rows + [nav_row(ctx, skip=not q.required)])


def prompt_simple(ctx: Context) -> None:
    t, step = ctx.texts, ctx.conv.step
    text = {"location": t.ask_location, "since": t.ask_since}[step]
    ctx.say(text, [nav_row(ctx, skip=can_skip(ctx, step))])


def prompt_name(ctx: Context) -> None:
    t = ctx.texts
    if rules(ctx).anonymous:
        ctx.say(t.ask_name_anonymous, [[btn(ctx, t.button_anonymous, "anon")], nav_row(ctx)])
    else:
        ctx.say(t.ask_name, [nav_row(ctx)])


def prompt_phone(ctx: Context) -> None:
    t = ctx.texts
    anonymous = bool(ctx.data.get("anonymous"))
    ctx.say(t.ask_phone_anonymous if anonymous else t.ask_phone,
            [nav_row(ctx, skip=anonymous)], request_contact=t.contact_button,
            keyboard_note=t.contact_hint)


def prompt_attachments(ctx: Context) -> None:
    t = ctx.texts
    n = len(ctx.data.get("attachments") or [])
    text = t.ask_attachments + (f"\n{t('attachments_count', n=n)}" if n else "")
    ctx.say(text, [[btn(ctx, t.button_done, "done")], nav_row(ctx)])


def summary_lines(ctx: Context, *, for_staff: bool = False) -> list[str]:
    t, d = ctx.texts, ctx.data
    answers = d.get("answers") or {}
    lines = [f"{t.field_category}：{category_text(ctx)}"]
    def shown(value) -> str:   # dates read from text (2026-03) in words (2026年3月)
        return esc(understanding.words_for_dates(ctx, str(value))) if value else t.not_given

    for q in rules(ctx).questions:
        lines.append(f"{esc(q.label)}：{shown(answers.get(q.key))}")
    lines += [
        f"{t.field_location}：{shown(d.get('location'))}",
        f"{t.field_since}：{shown(d.get('since'))}",
    ]
    if not for_staff:
        name = t.anonymous_name if d.get("anonymous") else esc(d.get("name") or t.not_given)
        lines += [f"{t.field_name}：{name}",
                  f"{t.field_phone}：{esc(d.get('phone') or t.not_given)}",
                  f"{t.field_attachments}：{t('attachments_n', n=len(d.get('attachments') or []))}"]
    return lines


def prompt_understood(ctx: Context) -> None:
    t = ctx.texts
    ctx.data.pop("editing", None)
    ctx.say(understanding.summary(ctx), [[btn(ctx, t.understood_ok, "ok"),
                                          btn(ctx, t.understood_edit, "edit")]])


def prompt_same(ctx: Context) -> None:
    t = ctx.texts
    case_number = ctx.data.get("same_as")
    if not case_number:   # nothing to offer (any more)
        ctx.conv.step = "summary"
        prompt_summary(ctx)
        return
    ctx.say(ctx.data.get("same_text") or t.step_same_matter,
            [[btn(ctx, t.same_matter_yes, "yes")], [btn(ctx, t.same_matter_no, "no")]])


async def same_matter(ctx: Context, same: bool) -> None:
    """The citizen's answer to the offer: add to that case (and file nothing), or go on."""
    case = await linking.own_case(ctx, ctx.data.get("same_as") or "")
    if not same or case is None:
        ctx.data["same_as"] = ""
        go(ctx, "summary")
        await prompt(ctx)
        return
    d = ctx.data
    text = d.get("answers", {}).get("full_text") or d.get("description", "")
    if await supplement.add_to_case(ctx, case, text, d.get("attachments") or []):
        ctx.set_flow("", "", {})
        ctx.say(ctx.texts("same_matter_added", number=case.number))
        await presenters.show_case(ctx, case, owned=True)


def prompt_summary(ctx: Context) -> None:
    t, d = ctx.texts, ctx.data
    ctx.data.pop("editing", None)
    text = "\n".join([t.summary_title,
                      f"{t.field_description}：{esc(shorten(d.get('description', ''), 600))}",
                      *summary_lines(ctx), "", t.summary_footer])
    ctx.say(text, [[btn(ctx, t.button_submit, "submit")],
                   [btn(ctx, t.button_edit, "edit"), btn(ctx, t.button_cancel_filing, "cancel")]])


def prompt_edit(ctx: Context) -> None:
    t = ctx.texts
    fields = [("description", t.field_description), ("category", t.field_category)]
    fields += [(f"q.{q.key}", q.label) for q in rules(ctx).questions]
    fields += [("location", t.field_location), ("since", t.field_since),
               ("name", t.field_name), ("phone", t.field_phone),
               ("attachments", t.field_attachments)]
    rows = [[btn(ctx, esc(label), f"f.{key}")] for key, label in fields]
    ctx.say(t.edit_pick, rows + [[Button(t.button_back, "i:edit:back")]])


PROMPTS = {
    "description": prompt_description, "category": prompt_category, "pick1": prompt_pick,
    "pick2": prompt_pick, "pick3": prompt_pick, "q": prompt_question,
    "location": prompt_simple, "since": prompt_simple, "name": prompt_name,
    "phone": prompt_phone, "attachments": prompt_attachments, "summary": prompt_summary,
    "edit": prompt_edit, "understood": prompt_understood, SAME: prompt_same,
}


# ---------------------------------------------------------------- submit

async def submit(ctx: Context) -> None:
    t, d, s = ctx.texts, ctx.data, ctx.session
    gap = first_missing(ctx)
    if gap is not None:   # e.g. the category changed and its required question was skipped
        ctx.say(t("summary_missing", field=esc(step_label_of(ctx, gap))))
        d["editing"] = True
        go(ctx, gap, remember=False)
        await prompt(ctx)
        return
    citizen = await repo.get_or_create_citizen(s, chat_id=ctx.event.chat_id)
    if not d.get("anonymous"):
        citizen.name = d.get("name")
    citizen.phone = d.get("phone") or citizen.phone
    s.add(citizen)
    level1, level2, level3 = category(ctx)
    proposal = d.get("proposal") or {}
    attachments = d.get("attachments") or []
    case = await ctx.casework.file(
        s, citizen=citizen, attachments=attachments, at=ctx.now,
        level1=level1, level2=level2, level3=level3, department=d["department"],
        description=d["description"], location=d.get("location") or "",
        since=d.get("since") or "", name=None if d.get("anonymous") else d.get("name"),
        anonymous=bool(d.get("anonymous")), phone=d.get("phone"),
        answers=d.get("answers") or {}, flags=d.get("flags") or [],
        evidence=proposal.get("evidence") or [],
    )
    related = await linking.on_filed(ctx, case)
    presenters.alert_new_case(ctx, case, summary_lines(ctx, for_staff=True)[1:-2],
                              len(attachments), related)
    ctx.set_flow("", "", {})
    ctx.say(t("submitted", number=case.number, code=case.query_code))
    show_menu(ctx)
