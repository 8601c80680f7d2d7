"""The numbers leaders watch, each with its n, over a period and optionally one department.

Definitions (DOMAIN.md; the period is whole Asia/Shanghai days, both ends included; a case
belongs to the department it is with now):
- 受理案件 received: cases registered in the period.
- 办结率 closure rate: of the accepted cases whose handling limit (its latest round, after any
  send-back) ends in the period, those concluded (replied) by now.
- 按期办结率 on-time rate: of the cases concluded in the period, those concluded before their
  handling limit (extensions and paused days included) ran out.
- 满意率 satisfaction rate: of those concluded in the period and rated, Σ weight × rating / n,
  weights in config/rating.yaml (满意 1, 基本满意 0.9, 不满意 0).
- 参评率 rating rate: of the cases concluded in the period, those rated.
- 类别分布 share by category: the received cases by first-level category.
- 超期 overdue: limits the scheduler escalates (``schedule`` with ``escalate``) that had passed
  and were still running at the end of the period (or now, if earlier), paused ones excepted.
The chart: cases received per week by category, and today's traffic lights per department.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine import caseinfo
from bot.engine.deadlines import SHANGHAI, end_of_day, local_date
from bot.engine.lifecycle import default_lifecycle
from config.catalog import Catalog, load_yaml
from storage.models import Case, CaseDeadline, Rating, utcnow

DEFAULT_DAYS = 30
WEEKS_SHOWN = 12


@dataclass(frozen=True, slots=True)
class Ratio:
    part: float
    n: int

    @property
    def value(self) -> float | None:
        return self.part / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class Overdue:
    number: str
    department: str
    kind: str
    last_day: date
    days_over: int


@dataclass
class Stats:
    start: date
    end: date
    department: str | None
    received: int = 0
    closure: Ratio = Ratio(0, 0)
    on_time: Ratio = Ratio(0, 0)
    satisfaction: Ratio = Ratio(0, 0)
    rating_rate: Ratio = Ratio(0, 0)
    ratings: dict[str, int] = field(default_factory=dict)
    categories: list[tuple[str, int]] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)
    weekly: dict[date, dict[str, int]] = field(default_factory=dict)
    lights: dict[str, dict[str, int]] = field(default_factory=dict)


@cache
def satisfaction_weights(config_dir: Path) -> dict[str, float]:
    raw = load_yaml("rating.yaml", config_dir) or {}
    return {k: float(v) for k, v in (raw.get("satisfaction_weights") or {}).items()}


def period(start: date | None, end: date | None, now: datetime) -> tuple[date, date]:
    end = end or local_date(now)
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


# ---------------------------------------------------------------- the numbers

async def compute(session: AsyncSession, *, start: date, end: date, now: datetime,
                  department: str | None = None, config_dir: Path | None = None) -> Stats:
    rules = default_lifecycle().rules
    lo, hi = day_start(start), end_of_day(end)
    as_of = min(now, hi)
    in_dep = [Case.department == department] if department else []
    st = Stats(start, end, department)

    received = (await session.exec(
        select(Case.level1, Case.created_at)
        .where(col(Case.created_at) >= lo, col(Case.created_at) < hi, *in_dep))).all()
    st.received = len(received)
    st.categories = Counter(level1 for level1, _ in received).most_common()
    weekly: dict[date, Counter] = defaultdict(Counter)
    for level1, at in received:
        day = local_date(at)
        weekly[day - timedelta(days=day.weekday())][level1] += 1
    st.weekly = {week: dict(weekly[week]) for week in sorted(weekly)}

    # the latest handling round of each case
    latest = (select(func.max(CaseDeadline.id).label("id"))
              .where(CaseDeadline.kind == "handling").group_by(CaseDeadline.case_id)).subquery()
    rounds = (select(CaseDeadline.due_at, CaseDeadline.stopped_at, Rating.overall)
              .join(latest, col(latest.c.id) == CaseDeadline.id)
              .join(Case, col(Case.id) == CaseDeadline.case_id)
              .outerjoin(Rating, col(Rating.case_id) == CaseDeadline.case_id)
              .where(*in_dep))
    due_rows = (await session.exec(rounds.where(col(CaseDeadline.due_at) > lo,
                                                col(CaseDeadline.due_at) <= hi))).all()
    st.closure = Ratio(sum(1 for _, stopped, _ in due_rows if stopped is not None), len(due_rows))
    done_rows = (await session.exec(rounds.where(col(CaseDeadline.stopped_at) >= lo,
                                                 col(CaseDeadline.stopped_at) < hi))).all()
    st.on_time = Ratio(sum(1 for due, stopped, _ in done_rows if stopped < due), len(done_rows))
    given = [overall for _, _, overall in done_rows if overall is not None]
    st.rating_rate = Ratio(len(given), len(done_rows))
    weights = satisfaction_weights(Path(config_dir) if config_dir else Catalog().config_dir)
    st.satisfaction = Ratio(sum(weights.get(r, 0.0) for r in given), len(given))
    st.ratings = {key: given.count(key) for key in default_lifecycle().ratings}

    escalated = [k for k, w in rules.schedule.items() if w.escalate]
    late = (await session.exec(
        select(Case.number, Case.department, CaseDeadline.kind, CaseDeadline.due_at)
        .join(Case, col(Case.id) == CaseDeadline.case_id)
        .where(col(CaseDeadline.kind).in_(escalated), col(CaseDeadline.due_at) <= as_of,
               or_(col(CaseDeadline.stopped_at).is_(None), col(CaseDeadline.stopped_at) > as_of),
               or_(col(CaseDeadline.paused_at).is_(None), col(CaseDeadline.paused_at) > as_of),
               *in_dep)
        .order_by(CaseDeadline.due_at, Case.number))).all()
    as_of_day = local_date(as_of - timedelta(seconds=1))   # the period's last day, or today
    st.overdue = [Overdue(number, dep, kind, local_date(due - timedelta(seconds=1)),
                          (as_of_day - local_date(due - timedelta(seconds=1))).days)
                  for number, dep, kind, due in late]

    open_cases = list((await session.exec(
        select(Case).where(col(Case.status).in_(list(rules.waiting)), *in_dep))).all())
    lights = await caseinfo.lights_of(session, open_cases, now, rules)
    per_dep: dict[str, Counter] = defaultdict(Counter)
    for case in open_cases:
        per_dep[case.department][lights[case.id].colour] += 1
    st.lights = {dep: dict(per_dep[dep]) for dep in sorted(per_dep)}
    return st


# ---------------------------------------------------------------- as text

def percent(r: Ratio) -> str:
    return "—" if r.value is None else f"{r.value * 100:.1f}%"


def format_stats(st: Stats, catalog: Catalog) -> str:
    t, rules = catalog.texts, default_lifecycle().rules
    ratings = default_lifecycle().ratings
    scope = catalog.department_name(st.department) if st.department else t.stats_all
    lines = [t("stats_title", start=st.start.isoformat(), end=st.end.isoformat(), scope=scope),
             t("stats_received", n=st.received),
             t("stats_closure", value=percent(st.closure), part=int(st.closure.part),
               n=st.closure.n),
             t("stats_on_time", value=percent(st.on_time), part=int(st.on_time.part),
               n=st.on_time.n),
             t("stats_satisfaction", value=percent(st.satisfaction), n=st.satisfaction.n,
               detail="、".join(f"{ratings[k].label}{v}件" for k, v in st.ratings.items())),
             t("stats_rating_rate", value=percent(st.rating_rate), part=int(st.rating_rate.part),
               n=st.rating_rate.n)]
    shares = "；".join(t("stats_share", category=name, count=count,
                         value=percent(Ratio(count, st.received)))
                       for name, count in st.categories)
    lines.append(t("stats_categories", n=st.received, shares=shares or "—"))
    lines.append(t("stats_overdue", n=len(st.overdue)))
    lines += [t("stats_overdue_item", number=o.number,
                department=catalog.department_name(o.department),
                label=rules.limits[o.kind].label, day=o.last_day.isoformat(), days=o.days_over)
              for o in st.overdue[:30]]
    return "\n".join(lines)


def plain(text: str) -> str:
    return re.sub(r"</?b>", "", text)


# ---------------------------------------------------------------- the chart

@cache
def _font() -> str:
    """Register the Simplified Chinese font that mplfonts ships; its family name."""
    import mplfonts
    from matplotlib import font_manager

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


LIGHT_COLOURS = {"green": "#2e9d4a", "yellow": "#e6b422", "red": "#d0352b"}


def render_chart(st: Stats, catalog: Catalog) -> bytes:
    """A PNG: cases received per week by category (stacked), lights per department."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    t = catalog.texts
    family = _font()
    with matplotlib.rc_context({"font.family": family, "axes.unicode_minus": False}):
        fig = Figure(figsize=(10, 8), dpi=100)
        weekly_ax, lights_ax = fig.subplots(2, 1)
        weeks = list(st.weekly)[-WEEKS_SHOWN:]
        categories = sorted({c for w in weeks for c in st.weekly[w]})
        bottom = [0] * len(weeks)
        labels = [f"{w.month}/{w.day}" for w in weeks]
        for category in categories:
            values = [st.weekly[w].get(category, 0) for w in weeks]
            weekly_ax.bar(labels, values, bottom=bottom, label=category)
            bottom = [b + v for b, v in zip(bottom, values)]
        weekly_ax.set_title(t("stats_chart_weekly", start=st.start.isoformat(),
                              end=st.end.isoformat(), n=st.received))
        weekly_ax.set_ylabel(t.stats_chart_cases)
        if categories:
            weekly_ax.legend(fontsize=8, loc="upper left")
        else:
            weekly_ax.text(0.5, 0.5, t.stats_chart_empty, ha="center", va="center",
                           transform=weekly_ax.transAxes)
        deps = list(st.lights)
        names = [catalog.department_name(d) for d in deps]
        left = [0] * len(deps)
        for colour, hex_colour in LIGHT_COLOURS.items():
            values = [st.lights[d].get(colour, 0) for d in deps]
            lights_ax.barh(names, values, left=left, color=hex_colour,
                           label=t[f"stats_chart_{colour}"])
            left = [a + v for a, v in zip(left, values)]
        lights_ax.set_title(t("stats_chart_lights", n=sum(left)))
        lights_ax.set_xlabel(t.stats_chart_cases)
        if deps:
            lights_ax.legend(fontsize=8, loc="lower right")
        else:
            lights_ax.text(0.5, 0.5, t.stats_chart_empty, ha="center", va="center",
                           transform=lights_ax.transAxes)
        weekly_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        lights_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


# ---------------------------------------------------------------- /stats in a staff chat

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


async def on_command(ctx, roles) -> None:
    """``/stats [from to]``: the numbers as text, then the chart as a photo. A department's
    handlers see their own department's numbers; intake staff and leaders everyone's."""
    from bot.engine import worklist
    from bot.engine.types import Outgoing

    t = ctx.texts
    args = ctx.event.args.split()
    if len(args) not in (0, 2) or not all(_DATE.match(a) for a in args):
        ctx.say(t.stats_usage, audience="staff")
        return
    try:
        start, end = period(*(date.fromisoformat(a) for a in args), ctx.now) if args \
            else period(None, None, ctx.now)
    except ValueError:
        ctx.say(t.stats_usage, audience="staff")
        return
    if start > end:
        ctx.say(t.stats_usage, audience="staff")
        return
    scope = worklist.departments_of(ctx, roles)
    department = scope[0] if scope else None
    st = await compute(ctx.session, start=start, end=end, now=ctx.now, department=department,
                       config_dir=ctx.engine.catalog.config_dir)
    catalog = ctx.engine.catalog
    ctx.say(format_stats(st, catalog), audience="staff")
    png = await asyncio.to_thread(render_chart, st, catalog)
    ctx.out.append(Outgoing(chat_id=ctx.event.chat_id, text=t("stats_chart_caption",
                                                               start=start, end=end),
                            audience="staff", photo=png))


# ---------------------------------------------------------------- python main.py stats

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python main.py stats",
                                     description="统计数据：受理、办结率、按期办结率、满意率、参评率、类别分布、超期案件")
    parser.add_argument("--from", dest="start", type=date.fromisoformat,
                        help="起始日期 YYYY-MM-DD（默认截止日期前30天）")
    parser.add_argument("--to", dest="end", type=date.fromisoformat,
                        help="截止日期 YYYY-MM-DD，含当天（默认今天）")
    parser.add_argument("--department", help="承办单位代码，如 hrss（默认全部）")
    parser.add_argument("--chart", type=Path, help="把图表保存为 PNG 文件")
    return parser.parse_args(argv)


async def _cli(args: argparse.Namespace, settings) -> int:
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade

    catalog = Catalog(settings.config_dir)
    if args.department and args.department not in catalog.departments:
        known = "、".join(catalog.departments)
        print(f"没有这个承办单位：{args.department}（可选：{known}）", file=sys.stderr)
        return 2
    now = utcnow()
    start, end = period(args.start, args.end, now)
    if start > end:
        print("起始日期晚于截止日期。", file=sys.stderr)
        return 2
    await upgrade(settings.database_url)
    db = create_engine(settings.database_url)
    try:
        async with session_factory(db)() as session:
            st = await compute(session, start=start, end=end, now=now,
                               department=args.department, config_dir=settings.config_dir)
    finally:
        await db.dispose()
    print(plain(format_stats(st, catalog)))
    if args.chart:
        args.chart.parent.mkdir(parents=True, exist_ok=True)
        args.chart.write_bytes(render_chart(st, catalog))
        print(catalog.texts("stats_chart_saved", path=args.chart))
    return 0


def cli_main(argv: list[str], settings=None) -> int:
    if settings is None:
        from config.settings import Settings

        settings = Settings()
    return asyncio.run(_cli(parse_args(argv), settings))
