"""The leaders' dashboard and the exports over HTTP, on the known set of cases of
tests/conversations/test_stats.py (period 2026-03-01 … 2026-03-31, the web's clock at
2026-04-10 12:00 Beijing time): the numbers with their n, the charts as real images, a
handler's own department only, the spreadsheets, and nobody without signing in.

Ratings in the set (given the day after the reply; every one scores attitude 5, method 4,
speed 3, result 4): C1 满意 on 03-11 (week of 03-09), C3 不满意 on 03-16 (week of 03-16),
C2 基本满意 on 03-29 (week of 03-23).
"""
from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from PIL import Image

from config.catalog import Catalog
from tests.conversations.test_stats import NOW, load_known_set
from tests.web.conftest import HOUSING, HRSS, INTAKE, LEADER, Office
from web.server import create_web

T = Catalog().web_texts
MARCH = "from=2026-03-01&to=2026-03-31"
MARCH_HTML = MARCH.replace("&", "&amp;")      # as written in the page
CARD = re.compile(r'data-measure="(\w+)" data-part="([\d.]+)" data-n="(\d+)"')


@pytest.fixture
async def known(office) -> Office:
    """The office with the known set in its database, its web's clock at ``NOW``."""
    await load_known_set(office.app.engine.sessions)
    return Office(office.app, create_web(office.app, clock=lambda: NOW))


def cards(html: str) -> dict[str, tuple[float, int]]:
    return {m: (float(part), int(n)) for m, part, n in CARD.findall(html)}


def numbers_of(case_numbers) -> list[int]:
    return sorted(int(str(n)[-5:]) for n in case_numbers)


async def test_a_leader_sees_the_numbers_with_their_n(known):
    client = await known.signed_in(LEADER)
    page = await client.get(f"/dashboard?{MARCH}")
    assert page.status_code == 200, page.text
    assert cards(page.text) == {"received": (7, 7), "closure": (5, 7), "on_time": (4, 5),
                                "satisfaction": (1.9, 3), "rating_rate": (3, 5)}
    for shown in ("71.4%", "80.0%", "63.3%", "60.0%", "5/7", "4/5", "3/5", "n=3"):
        assert shown in page.text
    # the overdue cases at the period's end, each linked to its page
    overdue = re.findall(r'<tr class="overdue-row" data-number="([^"]+)"><td><a href="/cases/\1">',
                         page.text)
    assert numbers_of(overdue) == [4, 11, 12]
    # the four aspects: average with its n
    aspects = re.findall(r'<li data-n="(\d+)">[^<]*?([\d.]+) ', page.text)
    assert aspects == [("3", "5.00"), ("3", "4.00"), ("3", "3.00"), ("3", "4.00")]
    # every chart of this period, and the exports, with the same query string
    for name in ("weekly", "lights", "satisfaction", "aspects"):
        assert f'/dashboard/charts/{name}.png?{MARCH_HTML}"' in page.text
    assert f'/export/stats.xlsx?{MARCH_HTML}"' in page.text
    assert '/export/cases.csv?status=&amp;since=2026-03-01&amp;until=2026-03-31"' in page.text
    # by default the last 30 days up to today
    default = await client.get("/dashboard")
    assert T("dashboard_period", start="2026-03-12", end="2026-04-10") in default.text
    assert cards(default.text)["received"] == (4, 4)      # C6, C7, C8 and C9
    assert (await client.get("/dashboard?from=2026-04-01&to=2026-03-01")).status_code == 400
    assert (await client.get(f"/dashboard?{MARCH}&department=nowhere")).status_code == 400


async def test_the_charts_are_real_images(known):
    client = await known.signed_in(LEADER)
    for name in ("weekly", "lights", "satisfaction", "aspects"):
        png = await client.get(f"/dashboard/charts/{name}.png?{MARCH}")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(png.content))
        image.verify()
        assert image.format == "PNG" and image.size[0] >= 600
    svg = await client.get(f"/dashboard/charts/satisfaction.svg?{MARCH}&department=hrss")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content[:500] and svg.content.rstrip().endswith(b"</svg>")
    assert (await client.get(f"/dashboard/charts/pie.png?{MARCH}")).status_code == 404
    assert (await client.get(f"/dashboard/charts/weekly.gif?{MARCH}")).status_code == 404


async def test_a_handler_sees_and_exports_only_their_department(known):
    client = await known.signed_in(HRSS)
    page = await client.get(f"/dashboard?{MARCH}")
    assert page.status_code == 200
    assert cards(page.text) == {"received": (4, 4), "closure": (4, 5), "on_time": (2, 3),
                                "satisfaction": (1.9, 2), "rating_rate": (2, 3)}
    assert numbers_of(re.findall(r'data-number="([^"]+)"', page.text)) == [11]
    assert 'value="housing"' not in page.text
    for url in (f"/dashboard?{MARCH}&department=housing",
                f"/dashboard/charts/weekly.png?{MARCH}&department=housing",
                f"/export/stats.csv?{MARCH}&department=housing",
                "/export/cases.xlsx?status=&department=housing",
                "/export/cases.csv?status=&department=housing"):
        assert (await client.get(url)).status_code == 403, url
    # without a department: their own cases only (every status)
    got = await client.get("/export/cases.csv?status=")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert numbers_of(r[0] for r in rows[1:]) == [1, 2, 5, 7, 9, 11]
    housing = await known.signed_in(HOUSING)
    assert cards((await housing.get(f"/dashboard?{MARCH}")).text)["received"] == (2, 2)


async def test_the_exports_open_and_hold_the_filtered_cases(known):
    client = await known.signed_in(LEADER)
    query = "status=&since=2026-03-01&until=2026-03-31&department=hrss"
    got = await client.get(f"/export/cases.xlsx?{query}")
    assert got.status_code == 200
    assert got.headers["content-disposition"].startswith("attachment;")
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == (T.col_number, T.field_filed)
    assert numbers_of(r[0] for r in rows[1:]) == [1, 2, 7, 9]    # registered in March
    got = await client.get(f"/export/cases.csv?{query}")
    assert got.content.startswith(b"\xef\xbb\xbf")               # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][0] == T.col_number and numbers_of(r[0] for r in rows[1:]) == [1, 2, 7, 9]
    # the worklist's default: the cases waiting for the offices; "open": not yet closed
    rows = list(csv.reader(io.StringIO(
        (await client.get("/export/cases.csv")).content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 6
    rows = list(csv.reader(io.StringIO(
        (await client.get("/export/cases.csv?status=open")).content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 12

    book = openpyxl.load_workbook(io.BytesIO((await client.get(f"/export/stats.xlsx?{MARCH}"))
                                             .content))
    numbers = {r[0]: r[1:] for r in book[T.export_sheet_numbers].iter_rows(values_only=True)}
    assert numbers[T.dashboard_closure] == (pytest.approx(5 / 7), 5, 7)
    assert numbers[T.dashboard_satisfaction] == (pytest.approx(1.9 / 3), 1.9, 3)
    assert numbers[T.dashboard_received] == (7, None, 7)
    weekly = {r[0]: r[-2:] for r in book[T.export_sheet_weekly].iter_rows(values_only=True)}
    assert weekly["2026-03-09"] == (1.0, 1) and weekly["2026-03-16"] == (0.0, 1)
    assert weekly["2026-03-23"] == (pytest.approx(0.9), 1) and weekly["2026-03-02"] == (None, 0)
    overdue = list(book[T.export_sheet_overdue].iter_rows(values_only=True))[1:]
    assert numbers_of(r[0] for r in overdue) == [4, 11, 12]
    got = await client.get(f"/export/stats.csv?{MARCH}&department=hrss")
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(got.content.decode("utf-8-sig")))}
    assert rows[T.dashboard_on_time] == ["66.7%", "2", "3"]
    assert rows[T.dashboard_received] == ["4", "", "4"]


async def test_phones_in_the_export_as_on_the_case_page(office):
    case = await office.file(description="=HYPERLINK(\"http://x\")", phone="13812345678")
    hidden = await office.file(chat_id=502, anonymous=True, phone="13900001111")
    for user, phone in ((INTAKE, "13812345678"), (LEADER, "138****5678")):
        client = await office.signed_in(user)
        got = await client.get("/export/cases.csv")
        rows = {r[0]: r for r in csv.reader(io.StringIO(got.content.decode("utf-8-sig")))}
        assert rows[case.number][11] == phone
        assert rows[case.number][13].startswith("'=")          # text, never a formula
        assert "1111" not in rows[hidden.number][11]
        book = openpyxl.load_workbook(io.BytesIO(
            (await client.get("/export/cases.xlsx")).content))
        cells = {r[0].value: r for r in book.active.iter_rows()}
        assert cells[case.number][11].value == phone
        assert cells[case.number][13].data_type == "s"


async def test_nobody_signed_in_gets_401(office):
    client = office.client()
    for url in ("/dashboard", "/dashboard/charts/weekly.png", "/export/cases.xlsx",
                "/export/cases.csv", "/export/stats.xlsx", "/export/stats.csv"):
        assert (await client.get(url)).status_code == 401, url
