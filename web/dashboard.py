"""The leaders' dashboard and the exports.

``/dashboard``: the numbers leaders watch, each with its n (``cases.stats``: received, 办结率,
按期办结率, 满意率, 参评率, the ratings, the categories, the ratings' four aspects), the
overdue cases with links to their pages, and charts drawn by matplotlib with the chat's CJK
font (``/dashboard/charts/{name}.png`` or ``.svg``, same query string). The period is
``from``..``to`` (whole Beijing days; default the last 30 days up to today) and one department
or all. Intake staff and leaders see any department or all; a department's handlers see only
their own department's numbers, as with /stats in the chat.

Exports: ``/export/cases.xlsx`` and ``/export/cases.csv`` take the worklist's query string and
hold the cases the worklist would list (every page), with what their case page shows and no
more (phones masked unless the role shows full phones; name and phone hidden for anonymous
and confidential cases); ``/export/stats.xlsx`` and ``/export/stats.csv`` take the dashboard's
query string and hold its numbers. Excel files are written with openpyxl, CSV files with the
csv module in UTF-8 with a BOM (so Excel opens them as UTF-8). Cells that a spreadsheet would
read as a formula are kept as text.
"""
from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from bot.conversations.render import local_time
from bot.conversations.report import LIGHT_COLOURS, chinese_charts, percent
from cases import glance, stats
from cases.deadlines import local_date
from cases.stats import Ratio
from web.deps import Staff, Web
from web.query import Filters, FiltersDep, all_matching, day
from web.workspace import StaffDep, WebDep, citizen_shown, render

router = APIRouter(include_in_schema=False)

CHARTS = ("weekly", "lights", "satisfaction", "aspects")
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
MAX_DAYS = 3660            # the longest period asked for: ten years
OVERDUE_SHOWN = 200        # overdue cases listed on the page (all of them in the exports)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA = re.compile(r"^[=+\-@\t\r]")



# ---------------------------------------------------------------- what is asked for

@dataclass(frozen=True)
class View:
    """A period and one department (None: all), as the signed-in person may see it."""

    start: date
    end: date
    department: str | None

    def query_string(self) -> str:
        values = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.department:
            values["department"] = self.department
        return urlencode(values)

    def cases_query_string(self) -> str:
        """The worklist's filters for the cases registered in the period, in any status."""
        values = {"status": "", "since": self.start.isoformat(),
                  "until": self.end.isoformat()}
        if self.department:
            values["department"] = self.department
        return urlencode(values)


def department_for(web: Web, who: Staff, department: str) -> str | None:
    """The department whose numbers ``who`` gets: the one asked for (or all) for intake staff
    and leaders; for a department's handlers, one of their own (the first by default)."""
    if department and department not in web.catalog.departments:
        raise HTTPException(status_code=400)
    if who.departments is None:
        return department or None
    if department and department not in who.departments:
        raise HTTPException(status_code=403)
    if not who.departments:
        raise HTTPException(status_code=403)
    return department or who.departments[0]


def asked_view(web: WebDep, who: StaffDep,
               start: Annotated[str, Query(alias="from", max_length=20)] = "",
               end: Annotated[str, Query(alias="to", max_length=20)] = "",
               department: Annotated[str, Query(max_length=64)] = "") -> View:
    first, last = stats.period(day(start), day(end), web.clock())
    if first > last or (last - first).days > MAX_DAYS:
        raise HTTPException(status_code=400)
    return View(first, last, department_for(web, who, department))


ViewDep = Annotated[View, Depends(asked_view)]


@dataclass
class Numbers:
    view: View
    st: stats.Stats
    trend: dict[date, Ratio]       # 满意率 per week of rating
    aspects: dict[str, Ratio]      # average score per aspect


async def numbers_of(web: Web, view: View, overdue_limit: int | None = None) -> Numbers:
    """The numbers; ``overdue_limit``: list that many overdue cases (None: all, for exports).
    The page and its four charts reuse them for ``web_numbers_seconds`` (five requests, one
    count: counting a period afresh takes the database tens of milliseconds with 100,000
    cases, ``cases.stats``); exports are always counted afresh."""
    if overdue_limit is None:
        return await count_numbers(web, view, None)
    key, now = ("numbers", view, overdue_limit), time.monotonic()
    kept = web.memo.get(key)
    if kept is None or kept[0] < now:
        kept = web.memo[key] = (now + web.settings.web_numbers_seconds,
                                await count_numbers(web, view, overdue_limit))
    return kept[1]


async def count_numbers(web: Web, view: View, overdue_limit: int | None) -> Numbers:
    catalog = web.catalog
    period = dict(start=view.start, end=view.end, department=view.department)
    async with web.reading() as session:
        st = await stats.compute(session, now=web.clock(), lifecycle=catalog.lifecycle,
                                 weights=catalog.rating.weights, overdue_limit=overdue_limit,
                                 **period)
        trend = await stats.satisfaction_by_week(session, weights=catalog.rating.weights,
                                                 **period)
        aspects = await stats.aspect_averages(session, aspects=catalog.rating.aspects, **period)
    return Numbers(view, st, trend, aspects)


def weeks_of(view: View) -> list[date]:
    """The Mondays of the weeks the period touches."""
    return stats.weeks_of(view.start, view.end)


# ---------------------------------------------------------------- the page

def part_of(r: Ratio) -> int | float:
    return int(r.part) if float(r.part).is_integer() else round(r.part, 2)


def score(r: Ratio) -> str:
    return "—" if r.value is None else f"{r.value:.2f}"


def page_values(web: Web, who: Staff, nums: Numbers) -> dict:
    t, catalog, st, view = web.t, web.catalog, nums.st, nums.view
    rules = catalog.deadlines
    ratings = catalog.lifecycle.ratings
    once = catalog.count_linked_once
    received = st.received_as(once)
    cards = [{"key": "received", "label": t.dashboard_received,
              "hint": t.dashboard_received_once if once else t.dashboard_received_hint,
              "value": t("dashboard_cases", n=received), "part": received,
              "n": received, "detail": t("dashboard_n", n=received) + (
                  t("dashboard_linked", linked=st.linked, other=st.received_as(not once))
                  if st.linked else "")}]
    for key, ratio in (("closure", st.closure), ("on_time", st.on_time),
                       ("satisfaction", st.satisfaction), ("rating_rate", st.rating_rate)):
        detail = (t("dashboard_n", n=ratio.n) if key == "satisfaction"
                  else t("dashboard_fraction", part=part_of(ratio), n=ratio.n))
        cards.append({"key": key, "label": t[f"dashboard_{key}"],
                      "hint": t[f"dashboard_{key}_hint"], "value": percent(ratio),
                      "part": part_of(ratio), "n": ratio.n, "detail": detail})
    period = dict(start=view.start.isoformat(), end=view.end.isoformat())
    charts = [("weekly", t.chart_weekly), ("lights", t.chart_lights),
              ("satisfaction", t("chart_satisfaction", n=sum(r.n for r in nums.trend.values()),
                                 **period)),
              ("aspects", t("chart_aspects", n=max((r.n for r in nums.aspects.values()),
                                                   default=0), **period))]
    departments = {k: d.name for k, d in catalog.departments.items()
                   if who.departments is None or k in who.departments}
    qs = view.query_string()
    return {
        "view": view, "cards": cards, "departments": departments,
        "all_departments": who.departments is None,
        "scope": (catalog.department_name(view.department) if view.department
                  else t.dashboard_all),
        "ratings": [(ratings[k].label, n) for k, n in st.ratings.items() if k in ratings],
        "categories": [(name, count, percent(Ratio(count, st.received)))
                       for name, count in st.categories],
        "aspects": [(catalog.rating.aspects.get(k, k), score(r), r.n)
                    for k, r in nums.aspects.items()],
        "overdue": [{"number": o.number, "department": catalog.department_name(o.department),
                     "label": rules.label(o.kind), "day": o.last_day.isoformat(),
                     "days": o.days_over} for o in st.overdue],
        "overdue_n": st.overdue_n, "rated_n": st.satisfaction.n, "received_n": st.received,
        "charts": charts,
        "qs": qs, "cases_qs": view.cases_query_string(),
    }


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, web: WebDep, who: StaffDep, view: ViewDep):
    nums = await numbers_of(web, view, overdue_limit=OVERDUE_SHOWN)
    return render(web, request, "dashboard.html", who, **page_values(web, who, nums))


# ---------------------------------------------------------------- the charts

def image(fmt: str, draw: Callable[[Axes], None], height: float = 4.5) -> bytes:
    """A chart drawn by ``draw`` as PNG or SVG (Chinese fonts; SVG text as paths)."""
    with chinese_charts(**{"svg.fonttype": "path"}):
        fig = Figure(figsize=(9, height), dpi=100)
        draw(fig.subplots())
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt)
    return buffer.getvalue()


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def _week_ticks(ax: Axes, weeks: list[date]) -> None:
    step = max(1, math.ceil(len(weeks) / 16))
    ax.set_xticks(range(0, len(weeks), step))
    ax.set_xticklabels([f"{w.month}/{w.day}" for w in weeks[::step]], fontsize=8)


def weekly_chart(nums: Numbers, texts, fmt: str) -> bytes:
    """Cases received per week, stacked by first-level category."""
    st, weeks = nums.st, weeks_of(nums.view)

    def draw(ax: Axes) -> None:
        totals: dict[str, int] = {}
        for counts in st.weekly.values():
            for category, n in counts.items():
                totals[category] = totals.get(category, 0) + n
        bottom = [0] * len(weeks)
        for category in sorted(totals, key=lambda c: (-totals[c], c)):
            values = [st.weekly.get(w, {}).get(category, 0) for w in weeks]
            ax.bar(range(len(weeks)), values, bottom=bottom, label=category)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(texts("stats_chart_weekly", start=st.start.isoformat(),
                           end=st.end.isoformat(), n=st.received))
        ax.set_ylabel(texts.stats_chart_cases)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _week_ticks(ax, weeks)
        if totals:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        else:
            _empty(ax, texts.stats_chart_empty)

    return image(fmt, draw)


def lights_chart(nums: Numbers, texts, fmt: str, name: Callable[[str], str]) -> bytes:
    """Today's traffic lights of the waiting cases, per department."""
    lights = nums.st.lights
    deps = sorted(lights, key=lambda d: (-lights[d].get("red", 0), -sum(lights[d].values()), d))
    deps.reverse()   # the reddest at the top

    def draw(ax: Axes) -> None:
        names = [name(d) for d in deps]
        left = [0] * len(deps)
        for colour, hex_colour in LIGHT_COLOURS.items():
            values = [lights[d].get(colour, 0) for d in deps]
            ax.barh(names, values, left=left, color=hex_colour,
                    label=texts[f"stats_chart_{colour}"])
            left = [a + v for a, v in zip(left, values, strict=True)]
        ax.set_title(texts("stats_chart_lights", n=sum(left)))
        ax.set_xlabel(texts.stats_chart_cases)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if deps:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        else:
            _empty(ax, texts.stats_chart_empty)

    return image(fmt, draw, height=max(3.0, 1.2 + 0.4 * len(deps)))


def satisfaction_chart(nums: Numbers, texts, t, fmt: str) -> bytes:
    """满意率 per week of the ratings given that week, each point with its n."""
    weeks, trend, view = weeks_of(nums.view), nums.trend, nums.view

    def draw(ax: Axes) -> None:
        values = [trend[w].value * 100 if w in trend else math.nan for w in weeks]
        ax.plot(range(len(weeks)), values, marker="o", color="#0b3d91")
        for i, w in enumerate(weeks):
            if w in trend:
                ax.annotate(t("dashboard_n", n=trend[w].n), (i, values[i]),
                            textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        ax.set_ylim(-8, 115)
        ax.set_xlim(-0.5, len(weeks) - 0.5)
        ax.set_yticks(range(0, 101, 20))
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_ylabel(t.chart_satisfaction_axis)
        ax.set_title(t("chart_satisfaction", start=view.start.isoformat(),
                       end=view.end.isoformat(), n=sum(r.n for r in trend.values())))
        _week_ticks(ax, weeks)
        if not trend:
            _empty(ax, texts.stats_chart_empty)

    return image(fmt, draw)


def aspects_chart(nums: Numbers, texts, t, fmt: str, labels: dict[str, str],
                  top: int) -> bytes:
    """The average score of each aspect of the ratings given in the period, with its n."""
    aspects, view = nums.aspects, nums.view
    keys = list(reversed(list(aspects)))   # the first aspect at the top

    def draw(ax: Axes) -> None:
        values = [aspects[k].value or 0 for k in keys]
        ax.barh([labels.get(k, k) for k in keys], values, color="#0b3d91")
        for i, k in enumerate(keys):
            if aspects[k].n:
                ax.text(values[i] + 0.05, i, f"{score(aspects[k])}  "
                        f"{t('dashboard_n', n=aspects[k].n)}", va="center", fontsize=9)
        ax.set_xlim(0, top + 0.8)
        ax.set_xlabel(t.chart_aspects_axis)
        ax.set_title(t("chart_aspects", start=view.start.isoformat(), end=view.end.isoformat(),
                       n=max((r.n for r in aspects.values()), default=0)))
        if not any(r.n for r in aspects.values()):
            _empty(ax, texts.stats_chart_empty)

    return image(fmt, draw, height=3.5)


def draw_chart(web: Web, nums: Numbers, name: str, fmt: str) -> bytes:
    catalog = web.catalog
    texts, t = catalog.texts, web.t
    if name == "weekly":
        return weekly_chart(nums, texts, fmt)
    if name == "lights":
        return lights_chart(nums, texts, fmt, catalog.department_name)
    if name == "satisfaction":
        return satisfaction_chart(nums, texts, t, fmt)
    return aspects_chart(nums, texts, t, fmt, catalog.rating.aspects,
                         max(catalog.rating.scores, default=5))


@router.get("/dashboard/charts/{chart}")
async def chart(chart: str, web: WebDep, view: ViewDep) -> Response:
    name, _, fmt = chart.rpartition(".")
    if name not in CHARTS or fmt not in FORMATS:
        raise HTTPException(status_code=404)
    nums = await numbers_of(web, view, overdue_limit=OVERDUE_SHOWN)
    body = await asyncio.to_thread(draw_chart, web, nums, name, fmt)
    return Response(body, media_type=FORMATS[fmt],
                    headers={"Cache-Control": "private, max-age=300"})


# ---------------------------------------------------------------- spreadsheets

RATIO, SCORE = "0.0%", "0.00"   # Excel number formats


@dataclass(frozen=True, slots=True)
class Num:
    """A ratio or an average: a number with its format in Excel, written out in CSV."""

    value: float | None
    fmt: str

    def __str__(self) -> str:
        if self.value is None:
            return ""
        return percent(Ratio(self.value, 1)) if self.fmt == RATIO else f"{self.value:.2f}"


@dataclass(frozen=True)
class Sheet:
    title: str
    header: list[str]
    rows: list[list]


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def xlsx_bytes(sheets: list[Sheet]) -> bytes:
    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        ws.append(sheet.header)
        for row in sheet.rows:
            cells = []
            for value in row:
                if isinstance(value, Num):
                    cell = WriteOnlyCell(ws, value=value.value)
                    cell.number_format = value.fmt
                elif isinstance(value, str):
                    cell = WriteOnlyCell(ws, value=_text(value))
                    cell.data_type = "s"          # text, never a formula
                else:
                    cell = WriteOnlyCell(ws, value=value)
                cells.append(cell)
            ws.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, Num):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value                        # text, never a formula
    return value


def csv_bytes(sheet: Sheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(sheet.header)
    writer.writerows([_csv_cell(v) for v in row] for row in sheet.rows)
    return buffer.getvalue().encode("utf-8-sig")


def download(body: bytes, name: str, media_type: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


# ---------------------------------------------------------------- the cases

async def case_sheet(web: Web, who: Staff, f: Filters) -> Sheet:
    """The matching cases (all of them, in the worklist's order) with what their case page
    shows."""
    t, catalog = web.t, web.catalog
    rules, now = catalog.deadlines, web.clock()
    async with web.reading() as session:
        found = await all_matching(session, f, who, rules, now)
        running: dict[int, list] = {}
        ids = [c.id for c in found]
        for i in range(0, len(ids), 500):
            running.update(await glance.running_of(session, ids[i:i + 500]))
    no_phone = catalog.texts.phone_not_given
    rows = []
    for case in found:
        light = glance.light_of(case, now, rules)
        nxt = glance.next_deadline(running.get(case.id, []), now, rules, for_citizen=False)
        name, phone = citizen_shown(web, case, list(who.roles), no_phone)
        rows.append([
            case.number, local_time(case.created_at),
            " › ".join(p for p in (case.level1, case.level2, case.level3) if p),
            catalog.department_name(case.department),
            catalog.lifecycle.status_label(case.status),
            t[f"light_{light.colour}"] if light else "", light.days if light else None,
            f"{rules.label(nxt.kind)} {glance.last_day(nxt)}" if nxt else "",
            case.location, case.since,
            name, phone,
            ", ".join(catalog.flag_label(x) for x in case.flags),
            case.description])
    header = [t.col_number, t.field_filed, t.col_category, t.col_department, t.col_status,
              t.col_light, t.col_days, t.col_next, t.field_location, t.field_since,
              t.field_name, t.field_phone, t.field_flags, t.field_description]
    return Sheet(t.export_sheet_cases, header, rows)




@router.get("/export/cases.xlsx")
async def export_cases_xlsx(web: WebDep, who: StaffDep, f: FiltersDep) -> Response:
    sheet = await case_sheet(web, who, f)
    body = await asyncio.to_thread(xlsx_bytes, [sheet])
    return download(body, f"cases-{local_date(web.clock()):%Y%m%d}.xlsx", XLSX)


@router.get("/export/cases.csv")
async def export_cases_csv(web: WebDep, who: StaffDep, f: FiltersDep) -> Response:
    sheet = await case_sheet(web, who, f)
    body = await asyncio.to_thread(csv_bytes, sheet)
    return download(body, f"cases-{local_date(web.clock()):%Y%m%d}.csv",
                    "text/csv; charset=utf-8")


# ---------------------------------------------------------------- the numbers

def numbers_sheet(web: Web, nums: Numbers) -> Sheet:
    """Each measure with its value, its numerator and its n."""
    t, catalog, st, view = web.t, web.catalog, nums.st, nums.view
    ratings = catalog.lifecycle.ratings
    rows: list[list] = [
        [t.export_period, t("dashboard_period", start=view.start.isoformat(),
                            end=view.end.isoformat()), None, None],
        [t.export_scope, catalog.department_name(view.department) if view.department
         else t.dashboard_all, None, None],
        [t.dashboard_received, st.received_as(catalog.count_linked_once), None,
         st.received_as(catalog.count_linked_once)],
        [t.dashboard_received_once if catalog.count_linked_once else t.dashboard_received_hint,
         None, None, None]]
    for key, r in (("closure", st.closure), ("on_time", st.on_time),
                   ("satisfaction", st.satisfaction), ("rating_rate", st.rating_rate)):
        rows.append([t[f"dashboard_{key}"], Num(r.value, RATIO), round(r.part, 4), r.n])
    for key, count in st.ratings.items():
        label = ratings[key].label if key in ratings else key
        rows.append([t("export_rating", label=label),
                     Num(Ratio(count, st.satisfaction.n).value, RATIO), count,
                     st.satisfaction.n])
    for name, count in st.categories:
        rows.append([t("export_category", name=name),
                     Num(Ratio(count, st.received).value, RATIO), count, st.received])
    for key, r in nums.aspects.items():
        rows.append([t("export_aspect", name=catalog.rating.aspects.get(key, key)),
                     Num(r.value, SCORE), r.part, r.n])
    rows.append([t.export_overdue, st.overdue_n, None, None])
    return Sheet(t.export_sheet_numbers,
                 [t.export_col_measure, t.export_col_value, t.export_col_part, t.export_col_n],
                 rows)


def stats_sheets(web: Web, nums: Numbers) -> list[Sheet]:
    """The numbers; the weeks (received by category, 满意率 of the ratings given); the
    overdue cases."""
    t, catalog, st = web.t, web.catalog, nums.st
    categories = [name for name, _ in st.categories]
    weekly = []
    for week in weeks_of(nums.view):
        counts = st.weekly.get(week, {})
        rated = nums.trend.get(week)
        weekly.append([week.isoformat(), *[counts.get(c, 0) for c in categories],
                       sum(counts.values()), Num(rated.value if rated else None, RATIO),
                       rated.n if rated else 0])
    return [numbers_sheet(web, nums),
            Sheet(t.export_sheet_weekly,
                  [t.export_week, *categories, t.dashboard_received,
                   t.export_satisfaction_week, t.export_satisfaction_week_n], weekly),
            Sheet(t.export_sheet_overdue,
                  [t.col_number, t.col_department, t.col_limit, t.col_last_day,
                   t.col_days_over],
                  [[o.number, catalog.department_name(o.department),
                    catalog.deadlines.label(o.kind), o.last_day.isoformat(), o.days_over]
                   for o in st.overdue])]


@router.get("/export/stats.xlsx")
async def export_stats_xlsx(web: WebDep, view: ViewDep) -> Response:
    nums = await numbers_of(web, view)
    body = await asyncio.to_thread(xlsx_bytes, stats_sheets(web, nums))
    return download(body, f"stats-{view.start:%Y%m%d}-{view.end:%Y%m%d}.xlsx", XLSX)


@router.get("/export/stats.csv")
async def export_stats_csv(web: WebDep, view: ViewDep) -> Response:
    nums = await numbers_of(web, view)
    body = await asyncio.to_thread(csv_bytes, numbers_sheet(web, nums))
    return download(body, f"stats-{view.start:%Y%m%d}-{view.end:%Y%m%d}.csv",
                    "text/csv; charset=utf-8")
