"""The leaders' numbers on a known set of cases: exact values with their n, the chart, /stats
in a staff chat, and ``python main.py stats`` as a subprocess.

The set (period 2026-03-01 … 2026-03-31, report time 2026-04-10 12:00 Beijing time):

  case dep          category  registered  latest handling round      rating   status
  C1   hrss         劳动      03-02       last day 03-19, done 03-10  满意     rated
  C2   hrss         劳动      03-03       last day 03-24, done 03-28  基本满意 rated
  C3   housing      城乡建设  03-05       last day 03-29, done 03-15  不满意   rated
  C4   housing      城乡建设  03-10       last day 03-28, running     —        in_handling
  C5   hrss         劳动      02-10       last day 03-14, done 03-12  —        replied
  C6   ecology      环境保护  03-20       last day 05-19, done 03-25  —        replied
  C7   hrss         劳动      03-25       (routing: last day 04-09)   —        registered
  C8   housing      城乡建设  04-02       —                           —        registered
  C9   hrss         劳动      03-12       last day 03-30, paused      —        in_handling
  C10  housing      城乡建设  02-15       round 1 done 03-08; sent back 03-20, round 2 last day
                                          05-18, running                        in_handling
  C11  hrss         劳动      02-01       last day 03-19, done 04-05  —        replied
  C12  ecology      环境保护  02-01       (acceptance notice: last day 02-16, running)  routed

All departments: received 7 (劳动 4, 城乡建设 2, 环境保护 1); closure 5/7 (C1 C2 C3 C5 C11 of
C1 C2 C3 C4 C5 C9 C11); on time 4/5 (C2 late); rating rate 3/5; satisfaction (1 + 0.9 + 0)/3;
overdue at the period's end: C12, C11, C4. 人社局 alone: received 4, closure 4/5, on time 2/3,
rating rate 2/3, satisfaction 1.9/2, overdue C11.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.chat import Outgoing
from bot.conversations import report
from cases import stats
from cases.deadlines import SHANGHAI, end_of_day
from cases.lifecycle import Action, Role
from cases.service import CaseService
from config.catalog import Catalog
from config.settings import PROJECT_DIR
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Case, CaseDeadline, CaseEvent, Citizen, Rating
from tests.conversations.test_staff import INTAKE, LEADER, STAFF_CHAT, Staff

CATALOG = Catalog()
NUMBERS = dict(lifecycle=CATALOG.lifecycle, weights=CATALOG.rating.weights)

START, END = date(2026, 3, 1), date(2026, 3, 31)
NOW = datetime(2026, 4, 10, 12, tzinfo=SHANGHAI)
LABOUR, BUILDING, ENVIRONMENT = "劳动和社会保障", "城乡建设", "环境保护"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def due(month: int, day: int) -> datetime:
    """The due instant of a limit whose last day is 2026-month-day."""
    return end_of_day(date(2026, month, day))


# (n, department, category, registered, status, [(kind, started, due, stopped, paused)], rating)
CASES = [
    (1, "hrss", LABOUR, at(3, 2), "rated",
     [("handling", at(3, 3), due(3, 19), at(3, 10, 15), None)], "satisfied"),
    (2, "hrss", LABOUR, at(3, 3), "rated",
     [("handling", at(3, 4), due(3, 24), at(3, 28, 15), None)], "basically_satisfied"),
    (3, "housing", BUILDING, at(3, 5), "rated",
     [("handling", at(3, 6), due(3, 29), at(3, 15, 15), None)], "dissatisfied"),
    (4, "housing", BUILDING, at(3, 10), "in_handling",
     [("handling", at(3, 11), due(3, 28), None, None)], None),
    (5, "hrss", LABOUR, at(2, 10), "replied",
     [("handling", at(2, 11), due(3, 14), at(3, 12, 15), None)], None),
    (6, "ecology", ENVIRONMENT, at(3, 20), "replied",
     [("handling", at(3, 20), due(5, 19), at(3, 25, 15), None)], None),
    (7, "hrss", LABOUR, at(3, 25), "registered",
     [("routing", at(3, 25), due(4, 9), None, None)], None),
    (8, "housing", BUILDING, at(4, 2), "registered", [], None),
    (9, "hrss", LABOUR, at(3, 12), "in_handling",
     [("handling", at(3, 13), due(3, 30), None, at(3, 20))], None),
    (10, "housing", BUILDING, at(2, 15), "in_handling",
     [("handling", at(2, 16), due(3, 12), at(3, 8, 15), None),
      ("handling", at(3, 20), due(5, 18), None, None)], None),
    (11, "hrss", LABOUR, at(2, 1), "replied",
     [("handling", at(2, 2), due(3, 19), at(4, 5, 15), None)], None),
    (12, "ecology", ENVIRONMENT, at(2, 1), "routed",
     [("acceptance_notice", at(2, 1), due(2, 16), None, None)], None),
]


async def load_known_set(sessions) -> None:
    async with sessions() as s, s.begin():
        for n, dep, level1, created, status, limits, rating in CASES:
            citizen = Citizen(chat_id=80_000 + n)
            s.add(citizen)
            await s.flush()
            case = Case(number=f"HY{created:%Y%m%d}-{n:05d}", query_code="123456",
                        citizen_id=citizen.id, level1=level1, department=dep, status=status,
                        description="已知数据集", created_at=created, updated_at=created,
                        paused_since=next((p for *_, p in limits if p), None),
                        # waiting for the offices since (C10: sent back after its first
                        # reply); none for a case that waits for nobody
                        waiting_since=(at(3, 20) if n == 10 else created)
                        if status in CATALOG.deadlines.waiting else None)
            s.add(case)
            await s.flush()
            s.add(CaseEvent(case_id=case.id, at=created, actor="citizen", action="registered",
                            to_status="registered"))
            if n == 10:
                s.add(CaseEvent(case_id=case.id, at=at(3, 20), actor="staff:1",
                                action="send_back", from_status="replied",
                                to_status="in_handling"))
            for kind, started, due_at, stopped, paused in limits:
                s.add(CaseDeadline(case_id=case.id, kind=kind, started_at=started,
                                   due_at=due_at, stopped_at=stopped, paused_at=paused))
            if rating:
                stopped = limits[-1][3]
                s.add(Rating(case_id=case.id, overall=rating, created_at=stopped + timedelta(
                    days=1), attitude=5, method=4, speed=3, result=4))


@pytest.fixture
async def known(sqlite_url):
    await upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    await load_known_set(sessions)
    yield sessions
    await engine.dispose()


async def compute(sessions, department=None):
    async with sessions() as s:
        return await stats.compute(s, start=START, end=END, now=NOW, department=department,
                                   **NUMBERS)


async def test_the_numbers_on_the_known_set(known):
    st = await compute(known)
    assert st.received == 7
    assert st.categories == [(LABOUR, 4), (BUILDING, 2), (ENVIRONMENT, 1)]
    assert (st.closure.part, st.closure.n) == (5, 7)
    assert (st.on_time.part, st.on_time.n) == (4, 5)
    assert (st.rating_rate.part, st.rating_rate.n) == (3, 5)
    assert st.satisfaction.n == 3 and st.satisfaction.part == pytest.approx(1.9)
    assert st.ratings == {"satisfied": 1, "basically_satisfied": 1, "dissatisfied": 1}
    assert [(o.number[-2:], o.kind, o.last_day, o.days_over) for o in st.overdue] == [
        ("12", "acceptance_notice", date(2026, 2, 16), 43),
        ("11", "handling", date(2026, 3, 19), 12),
        ("04", "handling", date(2026, 3, 28), 3)]
    assert st.weekly == {date(2026, 3, 2): {LABOUR: 2, BUILDING: 1},
                         date(2026, 3, 9): {BUILDING: 1, LABOUR: 1},
                         date(2026, 3, 16): {ENVIRONMENT: 1},
                         date(2026, 3, 23): {LABOUR: 1}}
    # lights now (04-10): C10 counts from its send-back (21 days), not its registration (54)
    assert st.lights == {"ecology": {"red": 1}, "housing": {"yellow": 2, "green": 1},
                         "hrss": {"yellow": 2}}


async def test_the_numbers_for_one_department(known):
    st = await compute(known, "hrss")
    assert st.received == 4
    assert (st.closure.part, st.closure.n) == (4, 5)
    assert (st.on_time.part, st.on_time.n) == (2, 3)
    assert (st.rating_rate.part, st.rating_rate.n) == (2, 3)
    assert st.satisfaction.value == pytest.approx(0.95)
    assert [o.number[-2:] for o in st.overdue] == ["11"]
    assert list(st.lights) == ["hrss"]


async def test_a_case_replied_twice_is_counted_by_its_final_round(db_url):
    """Replied in March, sent back and replied again in April: concluded once, in April (its
    latest handling round), late or on time by that round's limit. The first round is marked
    superseded by the database when the second starts, on SQLite and on PostgreSQL."""
    await upgrade(db_url)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    service = CaseService(CATALOG.lifecycle)
    async with sessions() as s, s.begin():
        citizen = Citizen(chat_id=90_001)
        s.add(citizen)
        await s.flush()
        case = await service.file(s, citizen=citizen, at=at(3, 2), attachments=[],
                                  level1=LABOUR, department="hrss", description="拖欠工资")
    reply = {"outcome": "solved", "reply_text": "已责令公司支付。"}
    for action, role, when, fields in [(Action.ACCEPT, Role.INTAKE, at(3, 3), None),
                                       (Action.REPLY, Role.HANDLER, at(3, 10), reply),
                                       (Action.SEND_BACK, Role.INTAKE, at(3, 20),
                                        {"reason": "工资仍未到账"}),
                                       (Action.REPLY, Role.HANDLER, at(4, 2), reply)]:
        async with sessions() as s, s.begin():
            case = await s.get(Case, case.id)
            await service.act(s, case, action, role, now=when, seen_version=case.version,
                              actor="staff:1", fields=fields)
    async with sessions() as s:
        rounds = (await s.exec(select(CaseDeadline).where(CaseDeadline.kind == "handling")
                               .order_by(CaseDeadline.id))).all()
        assert [(r.stopped_at, r.superseded_at) for r in rounds] == [
            (at(3, 10), at(3, 20)), (at(4, 2), None)]
        march = await stats.compute(s, start=START, end=END, now=NOW, **NUMBERS)
        april = await stats.compute(s, start=date(2026, 4, 1), end=date(2026, 4, 30),
                                    now=NOW, **NUMBERS)
    await engine.dispose()
    assert (march.on_time.n, april.on_time.n) == (0, 1)
    assert (april.on_time.part, april.rating_rate.n) == (1, 1)


async def test_the_text_shows_each_number_with_its_n(known):
    text = report.format_stats(await compute(known), Catalog())
    for expected in ("受理案件：7 件", "办结率：71.4%（5/7", "按期办结率：80.0%（4/5",
                     "满意率：63.3%（n=3，满意1件、基本满意1件、不满意1件",
                     "参评率：60.0%（3/5", "劳动和社会保障 4件（57.1%）",
                     "城乡建设 2件（28.6%）", "环境保护 1件（14.3%）", "超期案件：3 件",
                     "已逾期43天", "2026-03-01 至 2026-03-31（全部单位）"):
        assert expected in text, expected


async def test_an_empty_period_says_so_instead_of_dividing_by_zero(known):
    async with known() as s:
        st = await stats.compute(s, start=date(2025, 1, 1), end=date(2025, 1, 31), now=NOW,
                                 **NUMBERS)
    assert st.received == 0 and st.closure.value is None
    text = report.format_stats(st, Catalog())
    assert "办结率：—（0/0" in text and "满意率：—（n=0" in text
    assert report.render_chart(st, Catalog()).startswith(b"\x89PNG")


async def test_the_chart_is_a_png_with_its_chinese_labels_rendered(known):
    st = await compute(known)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = report.render_chart(st, Catalog())
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message)
              or "missing from" in str(w.message)]
    assert glyphs == []
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 20_000 < len(png) < 400_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1000, 800)


# ---------------------------------------------------------------- /stats in a staff chat

async def test_stats_command_replies_with_the_numbers_and_a_chart(office, clock):
    app, world = await office()
    await load_known_set(app.engine.sessions)
    clock.now = NOW
    intake = Staff(world, STAFF_CHAT, INTAKE)
    out = await intake.send("/stats 2026-03-01 2026-03-31")
    text, photo = out
    assert "办结率：71.4%（5/7" in text.text and text.photo is None
    assert isinstance(photo, Outgoing) and photo.photo.startswith(b"\x89PNG")
    assert photo.chat_id == STAFF_CHAT and photo.audience == "staff"
    await intake.send("/stats 2026-03-31")
    assert "用法" in world.last[0].text
    leader = Staff(world, STAFF_CHAT, LEADER)
    assert "受理案件：7 件" in (await leader.send("/stats 2026-03-01 2026-03-31"))[0].text


async def test_a_departments_handler_sees_only_their_department(office, clock):
    from tests.conversations.test_staff import HRSS, HRSS_CHAT

    app, world = await office()
    await load_known_set(app.engine.sessions)
    clock.now = NOW
    out = await Staff(world, HRSS_CHAT, HRSS).send("/stats 2026-03-01 2026-03-31")
    assert "人力资源和社会保障局" in out[0].text and "受理案件：4 件" in out[0].text
    nobody = await Staff(world, HRSS_CHAT, 9999).send("/stats")
    assert "没有权限" in nobody[0].text and len(nobody) == 1


# ---------------------------------------------------------------- python main.py stats

def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
    env["HUIYIN_DATABASE_URL"] = db_url
    return subprocess.run([sys.executable, "main.py", "stats", *args], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=60)


async def test_the_cli_prints_the_numbers_and_saves_the_chart(known, sqlite_url, tmp_path):
    chart = tmp_path / "out" / "stats.png"
    done = run_cli(sqlite_url, "--from", "2026-03-01", "--to", "2026-03-31",
                   "--chart", str(chart))
    assert done.returncode == 0, done.stderr
    assert "办结率：71.4%（5/7" in done.stdout and "<b>" not in done.stdout
    assert "超期案件：3 件" in done.stdout
    assert chart.read_bytes().startswith(b"\x89PNG")
    one = run_cli(sqlite_url, "--from", "2026-03-01", "--to", "2026-03-31",
                  "--department", "hrss")
    assert one.returncode == 0 and "按期办结率：66.7%（2/3" in one.stdout
    bad = run_cli(sqlite_url, "--department", "nowhere")
    assert bad.returncode == 2 and "没有这个承办单位" in bad.stderr
