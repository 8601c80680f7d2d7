"""Same matter: a new complaint checked against the open cases when it is filed.

- **The citizen** (``offer_for``): before the summary, an open case of the same citizen (same
  chat, or the same phone) about the same matter is offered, so the new text can be added to it
  instead of filing a second case (the intake asks; ``supplement.add_to_case`` adds).
- **Staff** (``on_filed``): open cases naming the same subject (employer, project, estate …,
  ``cases.matters``) or with near-identical text (the detector, ``nlp.similar``) are named in the
  alert and on the case's timeline as 「可能相关」; the case's subjects and signature are stored.
- **Leaders**: the early warnings that filing raises (``cases.matters.check_warnings``) go to
  the leaders' chat.

The detector's index of the open cases lives in the process (``flow.SameMatter``).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from sqlmodel import col, or_, select

from bot.conversations import presenters
from bot.conversations.flow import Context, Scope
from bot.conversations.render import esc
from cases import matters
from cases.deadlines import local_date
from cases.matters import Subject
from config.catalog import Catalog
from storage.models import Case, Citizen

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
SHOWN = 5                                      # related cases named in an alert


# ---------------------------------------------------------------- the citizen's offer

async def offer_for(ctx: Context) -> Case | None:
    """The citizen's open case about the same matter as the complaint being filed (the best
    match), among those information can still be added to."""
    finder = ctx.matters
    if finder is None:
        return None
    d = ctx.data
    mine = [c for c in (await ctx.session.exec(own_cases(ctx).limit(20))).all()
            if presenters.can_add_info(ctx, c)]
    if not mine:
        return None
    level1, level2, level3 = d.get("category") or ["", "", ""]
    subjects = finder.subjects(ctx.catalog, level1, level2, level3, d.get("answers") or {})
    query_sig = finder.signature(d.get("description", ""), subjects)
    index = await finder.index(ctx.session)
    best = None
    for case in mine:
        other = finder.stored(case.signature, case.description, finder.subjects(
            ctx.catalog, case.level1, case.level2, case.level3, case.answers))
        match = index.compare(query_sig, other, case.number)
        if match is not None and (best is None or match.score > best[0]):
            best = (match.score, case)
    return best[1] if best else None


def own_cases(ctx: Context):
    """The citizen's open cases, newest first: those filed from this chat, and those filed
    without a chat (the open API, a hotline) under the phone number this chat shared with
    Telegram's own 「发送手机号」 button. A case of another chat is never offered, and a number
    typed could be anyone's: it finds nothing."""
    phone = ctx.data.get("phone") if ctx.data.get("phone_shared") else None
    chatless = select(Citizen.id).where(col(Citizen.chat_id).is_(None))
    owners = select(Citizen.id).where(Citizen.chat_id == ctx.event.chat_id)
    by_phone = ([col(Case.citizen_id).in_(chatless) & (Case.phone == phone)] if phone else [])
    return (select(Case).where(Case.status != matters.FINAL,
                               or_(col(Case.citizen_id).in_(owners), *by_phone))
            .order_by(col(Case.id).desc()))


async def own_case(ctx: Context, number: str) -> Case | None:
    return (await ctx.session.exec(own_cases(ctx).where(Case.number == number))).first()


def offer_text(ctx: Context, case: Case) -> str:
    t = ctx.texts
    days = (ctx.now - case.created_at.replace(tzinfo=ctx.now.tzinfo)).days
    filed = local_date(case.created_at)
    return t("same_matter_offer", date=t("date_month_day", month=filed.month, day=filed.day),
             number=case.number, topic=esc(case.level3 or case.level2 or case.level1),
             department=esc(ctx.catalog.department_name(case.department)),
             status=presenters.status_label(ctx, case.status), days=days)


# ---------------------------------------------------------------- staff and leaders

async def on_filed(scope: Scope, case: Case) -> presenters.Related | None:
    """A case was just filed (chat or open API): store what the detector needs, find the open
    cases it may be about, raise the warnings it crosses. What the alert says of them."""
    finder = scope.matters
    if finder is None:
        return None
    session, t = scope.session, scope.texts
    subjects = finder.subjects(scope.catalog, case.level1, case.level2, case.level3,
                               case.answers)
    signature = finder.signature(case.description, subjects)
    case.signature = signature.to_bytes()
    session.add(case)
    matters.record_subjects(session, case, subjects)
    why, by_subject = "", []
    for subject in subjects:
        ids = await matters.subject_case_ids(session, subject, open_only=True, exclude=case.id)
        if ids and not by_subject:
            by_subject = ids
            why = t("related_same_subject", label=esc(subject_word(scope, case, subject)),
                    subject=esc(subject.value), n=len(ids) + 1)
    index = await finder.index(session)
    similar = [int(m.key) for m in index.find_signature(signature, k=SHOWN,
                                                        exclude=[str(case.id)])]
    index.add_signature(str(case.id), signature)
    related = await matters.open_cases(session, [*by_subject, *similar])
    related = [c for c in related if c.id != case.id]
    found = None
    if related:
        numbers = "、".join(c.number for c in related[:SHOWN])
        more = t("related_more", n=len(related)) if len(related) > SHOWN else ""
        why = why or t.related_similar_text
        found = presenters.Related(related, t("related_line", cases=numbers + more, why=why))
        scope.casework.note_event(session, case, "related", scope.now,
                                  fields={"cases": numbers + more, "why": why})
    for raised in await matters.check_warnings(session, scope.catalog.warnings, case, subjects,
                                               scope.now):
        await send_warning(scope, raised)
    return found


def subject_word(scope: Scope, case: Case, subject: Subject) -> str:
    """What the subject is, in words: the warning rule's (欠薪主体), else the question's label."""
    category = matters.category_of(case)
    rule = next((r for r in scope.catalog.warnings if r.covers(category, subject.kind)), None)
    if rule is not None:
        return rule.label
    rules = scope.catalog.rules_for(case.level1, case.level2, case.level3)
    return next((q.label for q in rules.questions if q.key == subject.field), subject.field)


async def send_warning(scope: Scope, raised: matters.Raised) -> None:
    """The early warning to the leaders' chat (else the staff chat): the cases, the amounts
    claimed and the people concerned."""
    chat_id = scope.settings.leaders_chat_id or scope.settings.staff_chat_id
    found = (await scope.session.exec(select(Case).where(col(Case.id).in_(raised.case_ids))
                                      .order_by(col(Case.id)))).all()
    amount, people = totals(scope.catalog, found)
    t, rule = scope.texts, raised.rule
    log.info("early warning %s raised at %d cases", rule.name, len(found))
    if chat_id is None:
        return
    text = t("warning_raised" if not raised.grew_from else "warning_grew",
             label=esc(rule.label), subject=esc(raised.subject.value), days=rule.window_days,
             n=len(found), before=raised.grew_from,
             amount=t("warning_amount", amount=f"{amount:,.0f}") if amount else "",
             people=t("warning_people", n=people),
             cases="、".join(c.number for c in found[-10:]))
    scope.send(chat_id, text, audience="leaders")


def totals(catalog: Catalog, found: Iterable[Case]) -> tuple[float, int]:
    """The amounts claimed (money answers, added up) and at least how many people are concerned
    (the largest number of people one case states, or the number of citizens if more) of some
    cases."""
    amount, largest, citizens = 0.0, 0, set()
    for case in found:
        citizens.add(case.citizen_id)
        for q in catalog.rules_for(case.level1, case.level2, case.level3).questions:
            value = str(case.answers.get(q.key) or "")
            number = _NUMBER.match(value)
            if number is None:
                continue
            if q.type == "money":
                amount += float(number.group())
            elif q.type == "count":
                largest = max(largest, int(float(number.group())))
    return amount, max(largest, len(citizens))
