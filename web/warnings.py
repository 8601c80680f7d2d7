"""Early warnings in the workspace (issue 12), for staff and leaders as ``/warnings`` in the chat.

``/warnings``: per rule of ``config/warnings.yaml``, the subjects (employer, project, estate …)
named in two or more cases within the rule's window (``cases.matters.subject_trends``), with the
count of the window before it and the trend; those at or over the rule's threshold are
highlighted; each lists its cases in the window, linked, those the viewer may see (the others
only counted). ``/warnings/chart.png`` (or ``.svg``): cases per week over the last 12 weeks of
the 5 subjects most complained about in them over all rules, drawn by matplotlib with the
chat's CJK font as the dashboard's charts are.
"""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.conversations.render import category_of, shorten
from cases import matters
from cases.deadlines import SHANGHAI, local_date
from cases.matters import Subject, SubjectTrend, WarningRule
from storage.models import Case
from web.dashboard import image
from web.deps import Staff, Web
from web.workspace import StaffDep, WebDep, render

router = APIRouter(include_in_schema=False)

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
WEEKS = 12               # the chart's weeks
TOP = 5                  # the chart's subjects
CASES_SHOWN = 30         # cases listed under one subject
LEGEND_CHARS = 16


def aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def subject_of(web: Web, rule: WarningRule, trend: SubjectTrend) -> Subject:
    """The trend's subject with its trade (华建 + 劳务), read again from its words as when the
    case was filed, so that 华建劳务's cases do not list 华建建筑's."""
    finder = web.app.engine.matters
    trade = ""
    if finder is not None:
        key = finder.make.subject_key(trend.value)
        trade = key.trade if key.core == trend.core else ""
    return Subject(rule.kinds[0], "", trend.value, trend.core, trade)


async def cases_of(session: AsyncSession, ids: list[int]) -> list[Case]:
    if not ids:
        return []
    rows = (await session.exec(select(Case).where(col(Case.id).in_(ids))
                               .order_by(col(Case.id).desc()))).all()
    return list(rows)


async def rule_view(web: Web, session: AsyncSession, rule: WarningRule, now: datetime,
                    who: Staff) -> dict | None:
    trends = await matters.subject_trends(session, rule, now)
    if not trends:
        return None
    t, lifecycle = web.t, web.catalog.lifecycle
    since = now - timedelta(days=rule.window_days)
    subjects = []
    for trend in trends:
        ids = await matters.subject_case_ids(session, subject_of(web, rule, trend), since=since,
                                             kinds=rule.kinds, category=rule.category)
        found = await cases_of(session, ids)
        shown = [c for c in found if who.sees(c)]
        trend_word = ("up" if trend.now > trend.before else
                      "down" if trend.now < trend.before else "same")
        subjects.append({
            "value": trend.value, "now": trend.now, "before": trend.before,
            "over": trend.now >= rule.threshold, "trend": trend_word,
            "trend_label": t[f"warnings_{trend_word}"],
            "cases": [{"number": c.number, "category": category_of(c),
                       "status": lifecycle.status_label(c.status)} for c in shown[:CASES_SHOWN]],
            "hidden": len(found) - len(shown)})
    return {"name": rule.name, "label": rule.label, "days": rule.window_days,
            "threshold": rule.threshold, "subjects": subjects}


@router.get("/warnings", response_class=HTMLResponse)
async def warnings_page(request: Request, web: WebDep, who: StaffDep):
    now = web.clock()
    async with web.reading() as session:
        rules = [view for rule in web.catalog.warnings
                 if (view := await rule_view(web, session, rule, now, who)) is not None]
    return render(web, request, "warnings.html", who, rules=rules, weeks=WEEKS)


# ---------------------------------------------------------------- the weekly chart

def weeks_until(now: datetime) -> list[date]:
    """The Mondays (Beijing) of the last ``WEEKS`` weeks, this one last."""
    this = local_date(now)
    this -= timedelta(days=this.weekday())
    return [this - timedelta(days=7 * i) for i in range(WEEKS - 1, -1, -1)]


async def top_subjects(web: Web, session: AsyncSession, now: datetime,
                       weeks: list[date]) -> list[tuple[str, list[int]]]:
    """The ``TOP`` subjects named in most cases since the first of ``weeks`` over all rules
    (one line each, a subject counted under the rule it has most cases in), with their cases
    per week."""
    start = datetime.combine(weeks[0], time(), SHANGHAI).astimezone(UTC)
    days = (now - start).days + 1
    best: dict[str, tuple[int, WarningRule, str]] = {}
    for rule in web.catalog.warnings:
        span = dataclasses.replace(rule, window_days=days)
        for trend in await matters.subject_trends(session, span, now, least=2, limit=TOP):
            if trend.core not in best or trend.now > best[trend.core][0]:
                best[trend.core] = (trend.now, rule, trend.value)
    chosen = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:TOP]
    series = []
    index = {week: i for i, week in enumerate(weeks)}
    for core, (_n, rule, value) in chosen:
        counts = [0] * len(weeks)
        for _core, at in set(await matters.weekly_counts(session, rule, [core], start)):
            day = local_date(aware(at))
            week = index.get(day - timedelta(days=day.weekday()))
            if week is not None:
                counts[week] += 1
        series.append((shorten(value, LEGEND_CHARS), counts))
    return series



def weekly_chart(web: Web, weeks: list[date], series: list[tuple[str, list[int]]],
                 fmt: str) -> bytes:
    t = web.t

    def draw(ax: Axes) -> None:
        for label, counts in series:
            ax.plot(range(len(weeks)), counts, marker="o", label=label)
        ax.set_title(t("warnings_chart", weeks=len(weeks)))
        ax.set_ylabel(t.warnings_chart_axis)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xticks(range(len(weeks)))
        ax.set_xticklabels([f"{w.month}/{w.day}" for w in weeks], fontsize=8)
        if series:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        else:
            ax.text(0.5, 0.5, t.warnings_chart_empty, ha="center", va="center",
                    transform=ax.transAxes)

    return image(fmt, draw)


@router.get("/warnings/chart.{fmt}")
async def warnings_chart(fmt: str, web: WebDep, who: StaffDep) -> Response:
    if fmt not in FORMATS:
        raise HTTPException(status_code=404)
    now = web.clock()
    weeks = weeks_until(now)
    async with web.reading() as session:
        series = await top_subjects(web, session, now, weeks)
    body = await asyncio.to_thread(weekly_chart, web, weeks, series, fmt)
    return Response(body, media_type=FORMATS[fmt],
                    headers={"Cache-Control": "private, max-age=300"})
