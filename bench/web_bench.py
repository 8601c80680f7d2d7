"""The web workspace with 100,000 cases: server time of its pages, and the bot's throughput
while the web is being used.

    .venv/bin/python bench/web_bench.py [--cases 100000] [--requests 200] [--citizens 100]
                                        [--db sqlite|postgresql|both]
                                        [--web-in-process | --web-apart]

1. Seeds a database with N cases (citizens, registration events, running limits, a spread of
   statuses, ages and departments; ratings for the concluded ones).
2. Starts the bot as ``make run`` does on Telegram (``main.py telegram``, aiogram, against the
   fake Bot API server, with ``HUIYIN_WEB_LISTEN``: the bot starts the web as its own child
   process) and signs a leader in.
3. Server time (the ``Server-Timing`` header the app sets) of ``--requests`` requests each to
   the worklist's first page, a filtered page (a department, red lights, a search word) and
   the dashboard (its numbers are kept a minute; also measured counted afresh, a new period
   each request): p50 and p95 (target p95 ≤ 150 ms).
4. Citizens file complete complaints over the fake Bot API: updates/s with the web idle, then
   while staff open the worklist and dashboard pages at ``--web-rate`` pages a second (default
   5, a busy office; 0: back to back) (target: ≥ 80 % of the idle figure).
   ``--web-in-process`` serves the web on the bot's own event loop instead
   (``HUIYIN_WEB_IN_PROCESS=true``, the console's way); ``--web-apart`` starts it by hand as
   a process of its own beside a bot without it (``main.py web``).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from storage import signin  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Case, CaseDeadline, CaseEvent, Citizen, Rating  # noqa: E402
from tests.fakes.citizen import WAGES  # noqa: E402
from tests.fakes.citizen import Citizen as FakeCitizen  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram  # noqa: E402

LEADER = 424242
PG_URL = "postgresql+asyncpg://127.0.0.1:5432/{name}"
DEPARTMENTS = ["hrss", "housing", "natural_resources", "ecology", "transport", "education",
               "health", "market", "civil_affairs", "agriculture"]
CATEGORIES = [("劳动和社会保障", "劳动保障", "工资发放"), ("城乡建设", "住房保障", ""),
              ("环境保护", "噪声污染", ""), ("交通运输", "出租车", ""), ("教育", "收费", ""),
              ("卫生健康", "医疗纠纷", ""), ("商贸旅游", "预付卡", "")]
WORDS = ["拖欠工资", "房产证", "噪音扰民", "出租车绕路", "学校乱收费", "医疗纠纷", "预付卡退费"]
WAITING = ("registered", "routed", "accepted", "in_handling")
STATUSES = [("registered", 10), ("routed", 10), ("accepted", 15), ("in_handling", 25),
            ("replied", 10), ("rated", 10), ("closed", 20)]


async def seed(url: str, n: int) -> str:
    """The database filled; returns a leader's sign-in token."""
    await upgrade(url)
    engine = create_engine(url)
    rng = random.Random(7)
    now = datetime.now(UTC)
    statuses = [s for s, w in STATUSES for _ in range(w)]
    batch = 5000
    async with engine.begin() as conn:
        citizens = [{"id": i + 1, "chat_id": 1_000_000 + i, "created_at": now}
                    for i in range(n // 3 + 1)]
        for i in range(0, len(citizens), batch):
            await conn.execute(insert(Citizen), citizens[i:i + batch])
        for start in range(0, n, batch):
            cases, events, limits, ratings = [], [], [], []
            for i in range(start, min(n, start + batch)):
                status = rng.choice(statuses)
                # a year of cases: those still waiting mostly recent, a few long overdue
                age = rng.randint(0, 90 if status in WAITING and rng.random() < 0.95 else 365)
                created = now - timedelta(days=age, minutes=rng.randint(0, 1440))
                l1, l2, l3 = rng.choice(CATEGORIES)
                case_id = i + 1
                cases.append({
                    "id": case_id, "number": f"HY{created:%Y%m%d}-{case_id:06d}",
                    "query_code": f"{rng.randrange(10**6):06d}", "citizen_id": i // 3 + 1,
                    "level1": l1, "level2": l2, "level3": l3,
                    "department": rng.choice(DEPARTMENTS), "status": status,
                    "description": f"{rng.choice(WORDS)}的问题已经很久了，编号{case_id}，请尽快处理。" * 4,
                    "location": "A市B区", "since": "", "name": "某某", "anonymous": False,
                    "phone": f"138{rng.randrange(10**8):08d}", "answers": {}, "flags": [],
                    "evidence": [], "created_at": created, "updated_at": created, "version": 1,
                    "waiting_since": created if status in WAITING else None,
                    "source": "chat"})
                events.append({"case_id": case_id, "at": created, "actor": "citizen",
                               "action": "registered", "to_status": "registered", "note": ""})
                if status in WAITING:   # told lately that it is being handled (no notice due)
                    events.append({"case_id": case_id, "at": now - timedelta(days=1),
                                   "actor": "system", "action": "progress_notice",
                                   "to_status": status, "note": ""})
                stopped = None if status in WAITING else created + timedelta(days=20)
                due = created + timedelta(days=60)
                # as the scheduler left them: passed limits already escalated, nothing due now
                limits.append({"case_id": case_id, "kind": "handling", "started_at": created,
                               "due_at": due, "stopped_at": stopped, "paused_days": 0,
                               "extension_days": 0, "remind_at": None,
                               "escalated_at": due if due < now else None})
                if status in ("rated", "closed"):
                    ratings.append({"case_id": case_id, "overall": rng.choice(
                        ["satisfied", "satisfied", "basically_satisfied", "dissatisfied"]),
                        "attitude": 5, "method": 4, "speed": 4, "result": 4,
                        "created_at": created + timedelta(days=21)})
            await conn.execute(insert(Case), cases)
            await conn.execute(insert(CaseEvent), events)
            await conn.execute(insert(CaseDeadline), limits)
            if ratings:
                await conn.execute(insert(Rating), ratings)
        if url.startswith("postgresql"):
            for table in ("case", "caseevent", "casedeadline", "rating", "citizen"):
                await conn.execute(text(f'SELECT setval(pg_get_serial_sequence(\'"{table}"\', '
                                        f'\'id\'), (SELECT max(id) FROM "{table}"))'))
    if url.startswith("postgresql"):   # as autovacuum leaves a table (index-only counts)
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    async with session_factory(engine)() as session, session.begin():
        token = signin.issue(session, user_id=LEADER, now=now, minutes=60)
    await engine.dispose()
    return token


def leaders_config(folder: Path) -> Path:
    import shutil
    target = folder / "config"
    shutil.copytree(ROOT / "config", target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (target / "leaders.yaml").write_text(f"leaders:\n  - {{user_id: {LEADER}, name: 局长}}\n",
                                         encoding="utf-8")
    return target


async def spawn(env: dict[str, str], mode: str = "telegram") -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "main.py", mode, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def signed_in(base: str, token: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post("/signin", data={"token": token}, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    return http


def counted_afresh(i: int) -> str:
    """The dashboard for a 30-day period not asked before (its numbers are kept a minute)."""
    end = datetime.now(UTC).date() - timedelta(days=i % 300)
    return f"/dashboard?from={end - timedelta(days=29)}&to={end}"


async def server_times(http: aiohttp.ClientSession, path, n: int) -> list[float] | None:
    times = []
    for i in range(n):
        async with http.get(path(i) if callable(path) else path) as resp:
            body = await resp.read()
            if resp.status == 404:
                return None
            assert resp.status == 200, (path, resp.status, body[:300])
            timing = resp.headers["Server-Timing"]
            times.append(float(timing.split("dur=")[1]))
    return times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def wait_http(base: str, deadline: float = 180) -> None:
    end = time.monotonic() + deadline
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > end:
                raise TimeoutError("the web did not start")
            await asyncio.sleep(0.2)


async def file_complaint(citizen: FakeCitizen, timeout: float = 600) -> None:
    """The complaint of ``tests.fakes.citizen.WAGES``, with the citizen's own phone: one phone
    is one person to the same-matter check, so a shared one would offer each citizen the
    others' cases as their own."""
    for (kind, arg), expect in WAGES:
        phone = f"139{citizen.user_id:08d}"
        await citizen.step((kind, phone if kind == "contact" else arg), expect, timeout)


async def citizens_round(tg: FakeTelegram, first: int, n: int) -> float:
    people = [FakeCitizen(tg, first + i) for i in range(n)]
    start = time.perf_counter()
    await asyncio.gather(*(file_complaint(c) for c in people))
    return n * len(WAGES) / (time.perf_counter() - start)


async def bench(db: str, n_cases: int, n_requests: int, n_citizens: int,
                web_rate: float, web: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="web_bench_"))
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        admin = None
    else:
        name = f"huiyin_bench_{uuid.uuid4().hex[:8]}"
        import asyncpg
        admin = await asyncpg.connect("postgresql://127.0.0.1:5432/test")
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_URL.format(name=name)
    t0 = time.perf_counter()
    token = await seed(url, n_cases)
    how = {"child": "the bot's child process (make run)", "in-process": "on the bot's loop",
           "apart": "started by hand"}[web]
    print(f"{db}: seeded {n_cases} cases in {time.perf_counter() - t0:.0f} s; the web: {how}",
          flush=True)
    port = 18080 + random.randrange(1000)
    base = f"http://127.0.0.1:{port}"
    try:
        async with FakeTelegram() as tg:
            env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYIN_")}
            env.update(HUIYIN_BOT_TOKEN=tg.token, HUIYIN_TELEGRAM_API_BASE=tg.base_url,
                       HUIYIN_DATABASE_URL=url, HUIYIN_FRONTEND="aiogram",
                       HUIYIN_STAFF_CHAT_ID="-1001", HUIYIN_POLL_TIMEOUT="2",
                       HUIYIN_SEND_PER_SECOND="0", HUIYIN_SEND_PRIVATE_PER_SECOND="0",
                       HUIYIN_SEND_GROUP_PER_MINUTE="0", HUIYIN_WEB_LISTEN=f"127.0.0.1:{port}",
                       HUIYIN_WEB_SECRET="bench", HUIYIN_CONFIG_DIR=str(leaders_config(tmp)))
            if web == "apart":        # started by hand (main.py web), the bot without it
                procs = [await spawn({**env, "HUIYIN_WEB_LISTEN": ""}),
                         await spawn(env, "web")]
            elif web == "in-process":   # on the bot's own event loop
                procs = [await spawn({**env, "HUIYIN_WEB_IN_PROCESS": "true"})]
            else:                       # as make run: the bot starts it as its child
                procs = [await spawn(env)]
            try:
                await wait_http(base)
                await tg.wait_until(lambda: tg.commands, 180, "the bot to start")
                await file_complaint(FakeCitizen(tg, 1), timeout=180)   # warm-up
                http = await signed_in(base, token)
                pages = {"worklist, first page": "/",
                         "worklist, filtered": "/?department=hrss&light=red",
                         "worklist, searched": "/?department=hrss&q=%E5%B7%A5%E8%B5%84",
                         "dashboard": "/dashboard",
                         "dashboard, counted afresh": counted_afresh}
                for label, path in list(pages.items()):
                    if await server_times(http, path, 3) is None:   # warm
                        print(f"  {label}: not served", flush=True)
                        del pages[label]
                        continue
                    times = await server_times(http, path, n_requests)
                    print(f"  {label:22s} p50 {pct(times, 50):6.1f} ms   p95 {pct(times, 95):6.1f} "
                          f"ms   ({n_requests} requests)", flush=True)
                alone = await citizens_round(tg, 20_000, n_citizens)
                stop = asyncio.Event()
                loaded = 0

                async def browse() -> None:
                    """Staff opening pages at ``web_rate`` a second (0: back to back)."""
                    nonlocal loaded
                    paths = [p for p in pages.values() if not callable(p)]
                    start = time.monotonic()
                    while not stop.is_set():
                        async with http.get(paths[loaded % len(paths)]) as resp:
                            await resp.read()
                        loaded += 1
                        if web_rate:
                            await asyncio.sleep(max(0.0, start + loaded / web_rate
                                                    - time.monotonic()))

                browser = asyncio.create_task(browse())
                t1 = time.perf_counter()
                busy = await citizens_round(tg, 30_000, n_citizens)
                rate = loaded / (time.perf_counter() - t1)
                stop.set()
                await browser
                await http.close()
                print(f"  bot alone {alone:.1f} updates/s; while the web served {rate:.1f} "
                      f"pages/s: {busy:.1f} updates/s = {busy / alone:.0%}", flush=True)
            finally:
                for proc in procs:
                    proc.terminate()
                    await proc.wait()
    finally:
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--citizens", type=int, default=100)
    p.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    p.add_argument("--web-rate", type=float, default=5.0,
                   help="pages a second staff open while citizens file (0: back to back)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--web-in-process", dest="web", action="store_const", const="in-process",
                     help="serve the web on the bot's event loop (HUIYIN_WEB_IN_PROCESS=true)")
    how.add_argument("--web-apart", dest="web", action="store_const", const="apart",
                     help="start the web by hand (main.py web) beside a bot without it")
    p.set_defaults(web="child")
    a = p.parse_args()
    for db in (["sqlite", "postgresql"] if a.db == "both" else [a.db]):
        await bench(db, a.cases, a.requests, a.citizens, a.web_rate, a.web)


if __name__ == "__main__":
    asyncio.run(main())
