"""The leaders' numbers in words and as a chart: /stats in a staff chat, and
``python main.py stats``. The numbers themselves are ``cases.stats``."""
from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import threading
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path

import mplfonts
from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.conversations.flow import Context
from cases.lifecycle import Role
from cases.stats import Ratio, Stats, compute, period
from config.catalog import Catalog, Texts
from config.settings import Settings
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import utcnow

WEEKS_SHOWN = 12   # weeks in the chart


# ---------------------------------------------------------------- as text

def percent(r: Ratio) -> str:
    return "—" if r.value is None else f"{r.value * 100:.1f}%"


def received_words(t, st: Stats, linked_once: bool) -> str:
    """受理案件 by the convention leaders chose for linked cases, saying which."""
    if linked_once:
        return t("stats_received_once", n=st.matters, cases=st.received)
    return t("stats_received", n=st.received) + (
        t("stats_received_linked", linked=st.linked, matters=st.matters) if st.linked else "")


def format_stats(st: Stats, catalog: Catalog) -> str:
    t, rules = catalog.texts, catalog.lifecycle.rules
    ratings = catalog.lifecycle.ratings
    scope = catalog.department_name(st.department) if st.department else t.stats_all
    lines = [t("stats_title", start=st.start.isoformat(), end=st.end.isoformat(), scope=scope),
             received_words(t, st, catalog.count_linked_once),
             t("stats_closure", value=percent(st.closure), part=int(st.closure.part),
               n=st.closure.n),
             t("stats_on_time", value=percent(st.on_time), part=int(st.on_time.part),
               n=st.on_time.n),
             t("stats_satisfaction", value=percent(st.satisfaction), n=st.satisfaction.n,
               detail="、".join(t("stats_rating_count", label=ratings[k].label, n=v)
                             for k, v in st.ratings.items())),
             t("stats_rating_rate", value=percent(st.rating_rate), part=int(st.rating_rate.part),
               n=st.rating_rate.n)]
    shares = "；".join(t("stats_share", category=name, count=count,
                         value=percent(Ratio(count, st.received)))
                       for name, count in st.categories)
    lines.append(t("stats_categories", n=st.received, shares=shares or "—"))
    lines.append(t("stats_overdue", n=st.overdue_n))
    lines += [t("stats_overdue_item", number=o.number,
                department=catalog.department_name(o.department),
                label=rules.label(o.kind), day=o.last_day.isoformat(), days=o.days_over)
              for o in st.overdue[:OVERDUE_LISTED]]
    return "\n".join(lines)


def plain(text: str) -> str:
    return re.sub(r"</?b>", "", text)


# ---------------------------------------------------------------- the chart

@cache
def _font() -> str:
    """Register the Simplified Chinese font that mplfonts ships; its family name."""
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


OVERDUE_LISTED = 30    # overdue cases listed in the chat (all are counted)
LIGHT_COLOURS = {"green": "#2e9d4a", "yellow": "#e6b422", "red": "#d0352b"}
_DRAWING = threading.Lock()


@contextmanager
def chinese_charts(**rc):
    """matplotlib with the Simplified Chinese font (and ``rc``), one chart at a time: its rc
    settings are process-wide, and charts are drawn in worker threads."""
    with _DRAWING, rc_context({"font.family": _font(), "axes.unicode_minus": False, **rc}):
        yield


def render_chart(st: Stats, catalog: Catalog) -> bytes:
    """A PNG: cases received per week by category (stacked), lights per department."""
    t = catalog.texts
    with chinese_charts():
        fig = Figure(figsize=(10, 8), dpi=100)
        weekly_ax, lights_ax = fig.subplots(2, 1)
        weeks = list(st.weekly)[-WEEKS_SHOWN:]
        categories = sorted({c for w in weeks for c in st.weekly[w]})
        bottom = [0] * len(weeks)
        labels = [f"{w.month}/{w.day}" for w in weeks]
        for category in categories:
            values = [st.weekly[w].get(category, 0) for w in weeks]
            weekly_ax.bar(labels, values, bottom=bottom, label=category)
            bottom = [b + v for b, v in zip(bottom, values, strict=False)]
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
            left = [a + v for a, v in zip(left, values, strict=False)]
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


async def on_command(ctx: Context, roles: list[Role]) -> None:
    """``/stats [from to]``: the numbers as text, then the chart as a photo. A department's
    handlers see their own department's numbers; intake staff and leaders everyone's."""
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
    scope = ctx.casework.access.departments_seen(ctx.event.user_id, roles)
    department = scope[0] if scope else None
    catalog = ctx.catalog
    st = await compute(ctx.session, start=start, end=end, now=ctx.now, department=department,
                       lifecycle=catalog.lifecycle, weights=catalog.rating.weights,
                       overdue_limit=OVERDUE_LISTED)
    ctx.say(format_stats(st, catalog), audience="staff")
    png = await asyncio.to_thread(render_chart, st, catalog)
    ctx.say(t("stats_chart_caption", start=start, end=end), audience="staff", photo=png)


# ---------------------------------------------------------------- python main.py stats

def parse_args(argv: list[str], t: Texts) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python main.py stats", description=t.stats_cli)
    parser.add_argument("--from", dest="start", type=date.fromisoformat, help=t.stats_cli_from)
    parser.add_argument("--to", dest="end", type=date.fromisoformat, help=t.stats_cli_to)
    parser.add_argument("--department", help=t.stats_cli_department)
    parser.add_argument("--chart", type=Path, help=t.stats_cli_chart)
    return parser.parse_args(argv)


async def _cli(args: argparse.Namespace, settings: Settings, catalog: Catalog) -> int:
    t = catalog.texts
    if args.department and args.department not in catalog.departments:
        print(t("stats_cli_no_department", key=args.department,
                known="、".join(catalog.departments)), file=sys.stderr)
        return 2
    now = utcnow()
    start, end = period(args.start, args.end, now)
    if start > end:
        print(t.stats_cli_bad_period, file=sys.stderr)
        return 2
    await upgrade(settings.database_url)
    db = create_engine(settings.database_url)
    try:
        async with session_factory(db)() as session:
            st = await compute(session, start=start, end=end, now=now,
                               department=args.department, lifecycle=catalog.lifecycle,
                               weights=catalog.rating.weights)
    finally:
        await db.dispose()
    print(plain(format_stats(st, catalog)))
    if args.chart:
        args.chart.parent.mkdir(parents=True, exist_ok=True)
        args.chart.write_bytes(render_chart(st, catalog))
        print(catalog.texts("stats_chart_saved", path=args.chart))
    return 0


def cli_main(argv: list[str], settings: Settings | None = None) -> int:
    settings = settings or Settings()
    catalog = Catalog(settings.config_dir)
    return asyncio.run(_cli(parse_args(argv, catalog.texts), settings, catalog))
