"""The Open311 GeoReport v2 API (web/open311.py) over HTTP, on a real database: every method
against the spec's shapes in JSON and XML, a request filed becoming a case with its staff alert
queued, classification when no service code is given, bad requests answered in the spec's
error format with nothing written, personal data kept in, and property-based tests of the
OpenAPI description (schemathesis) finding no server error."""
from __future__ import annotations

import asyncio
import hashlib
import html
import shutil
import socket
import threading
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
import yaml
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import func, select

from bot.app import build_app
from bot.conversations import staff
from bot.notify.outbox_hook import write_outbox
from cases.lifecycle import Action, Role
from config.catalog import Catalog
from config.settings import CONFIG_DIR
from storage.models import Attachment, Case, Citizen, OutboxMessage
from tests.fakes.telegram_server import parse_html
from tests.web.conftest import HRSS, HRSS_CHAT, Office, office_settings
from web import open311
from web.open311 import Masker, Open311
from web.server import create_web

KEY = "open311-test-key-0123456789"
CLIENT = "testclient"
V2 = "/open311/v2"
WAGES = ("华建劳务公司拖欠我们十二名工人三个月的工资，一共九万六千元，老板一直躲着不见，"
         "希望政府帮我们讨回工资。")


def with_open311(config_dir: Path, **changes) -> None:
    """The config folder's open311.yaml: ours with the test client's key (and ``changes``)."""
    raw = yaml.safe_load((CONFIG_DIR / "open311.yaml").read_text(encoding="utf-8"))
    raw["clients"] = [{"name": CLIENT, "key_sha256": hashlib.sha256(KEY.encode()).hexdigest()}]
    raw.update(changes)
    (config_dir / "open311.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True),
                                             encoding="utf-8")


@dataclass
class City(Office):
    """The office (departments with their staff chats) with the Open311 API and a client key."""

    async def post(self, fmt: str = "json", **fields) -> httpx.Response:
        data = {"api_key": KEY, **fields}
        async with self.client() as client:
            return await client.post(f"{V2}/requests.{fmt}", data=data)

    async def get(self, path: str, **params) -> httpx.Response:
        async with self.client() as client:
            return await client.get(path, params=params)

    async def count(self, table) -> int:
        async with self.app.engine.sessions() as session:
            return (await session.exec(select(func.count()).select_from(table))).one()


async def make_city(classifier, tmp_path, db_url: str) -> City:
    settings = office_settings(tmp_path, db_url)
    with_open311(settings.config_dir)
    app = await build_app(settings, classifier_loader=lambda: classifier,
                          on_outgoing=write_outbox)
    return City(app, create_web(app))


@pytest.fixture
async def city(classifier, tmp_path, sqlite_url):
    made = await make_city(classifier, tmp_path, sqlite_url)
    yield made
    await made.app.close()


def wage_request(**extra) -> dict:
    fields = {"service_code": "labour-unpaid-wages", "description": WAGES,
              "attribute[employer]": "华建劳务公司", "attribute[amount]": "9.6万",
              "attribute[inspection]": "还没有反映", "attribute[request]": "讨回拖欠的工资",
              "lat": "22.543096", "long": "114.057865", "address_string": "A市B区幸福路18号工地",
              "last_name": "王", "first_name": "小明", "phone": "13812345678",
              "email": "xiaoming@example.com", "media_url": "https://img.example.com/pay.jpg"}
    fields.update(extra)
    return {k: v for k, v in fields.items() if v is not None}


def xml_of(resp: httpx.Response) -> ET.Element:
    assert resp.headers["content-type"].startswith("text/xml"), resp.headers["content-type"]
    assert resp.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(resp.content)


def spec_error(resp: httpx.Response, status: int) -> str:
    """The spec's error answer with this status (JSON or XML): its description."""
    assert resp.status_code == status, resp.text
    if resp.headers["content-type"].startswith("text/xml"):
        root = xml_of(resp)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        assert root.findtext("error/code") == str(status)
        return root.findtext("error/description")
    body = resp.json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["code"] == status, body
    return body[0]["description"]


# ---------------------------------------------------------------- services

async def test_services_list_every_category_with_questions_in_json_and_xml(city):
    resp = await city.get(f"{V2}/services.json")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    services = resp.json()
    by_code = {s["service_code"]: s for s in services}
    catalog = city.app.engine.catalog
    assert {s["service_name"] for s in services} >= set(catalog.taxonomy.level1())
    wages = by_code["labour-unpaid-wages"]
    assert wages == {"service_code": "labour-unpaid-wages", "service_name": "工资发放",
                     "description": "劳动和社会保障 › 工资福利 › 工资发放", "metadata": True,
                     "type": "realtime", "keywords": wages["keywords"], "group": "劳动和社会保障"}
    assert "拖欠工资" in wages["keywords"].split(",")
    assert "工资福利" in by_code["labour"]["keywords"].split(",")

    root = xml_of(await city.get(f"{V2}/services.xml"))
    assert root.tag == "services" and len(root) == len(services)
    first = root[0]
    assert first.tag == "service"
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata",
                                      "type", "keywords", "group"]
    assert first.findtext("service_code") == services[0]["service_code"]
    assert first.findtext("metadata") == "true"


def test_every_first_level_and_questioned_category_is_a_service():
    catalog = Catalog()
    config = Open311.load(catalog, b"k")
    paths = {"/".join(p for p in s.path if p) for s in config.services.values()}
    questioned = set(catalog._questions.get("categories") or {})
    assert set(catalog.taxonomy.level1()) <= paths
    assert questioned <= paths, sorted(questioned - paths)


def test_a_wrong_open311_yaml_stops_the_start_with_its_name(tmp_path):
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for change, word in [({"services": [{"code": "x", "path": "没有这个类别"}]}, "taxonomy"),
                         ({"closed_statuses": ["finished"]}, "closed_statuses"),
                         ({"expected_deadlines": ["never"]}, "expected_deadlines"),
                         ({"filing_limit": "often"}, "filing_limit"),
                         ({"clients": [{"name": "x", "key_sha256": "secret"}]}, "SHA-256")]:
        with_open311(target, **change)
        with pytest.raises(ValueError, match=word) as info:
            Open311.load(Catalog(target), b"k")
        assert "open311.yaml" in str(info.value)


async def test_service_definition_has_the_category_questions_as_attributes(city):
    questions = city.app.engine.catalog.rules_for("劳动和社会保障", "工资福利", "工资发放").questions
    body = (await city.get(f"{V2}/services/labour-unpaid-wages.json")).json()
    assert body["service_code"] == "labour-unpaid-wages"
    attrs = body["attributes"]
    assert [a["code"] for a in attrs] == [q.key for q in questions]
    assert [a["order"] for a in attrs] == list(range(1, len(questions) + 1))
    by_code = {a["code"]: a for a in attrs}
    assert by_code["employer"]["required"] is True and by_code["employer"]["datatype"] == "string"
    assert by_code["amount"]["datatype"] == "number"
    assert by_code["amount"]["datatype_description"].startswith("金额")
    assert by_code["inspection"]["datatype"] == "singlevaluelist"
    assert by_code["inspection"]["values"] == [{"key": "已经反映过", "name": "已经反映过"},
                                               {"key": "还没有反映", "name": "还没有反映"}]
    assert by_code["request"]["datatype"] == "text" and by_code["request"]["variable"] is True
    assert by_code["employer"]["description"].startswith("欠薪单位或老板：")

    root = xml_of(await city.get(f"{V2}/services/labour-unpaid-wages.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "labour-unpaid-wages"
    xml_attrs = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in xml_attrs] == [q.key for q in questions]
    inspection = next(a for a in xml_attrs if a.findtext("code") == "inspection")
    assert [v.findtext("key") for v in inspection.findall("values/value")] == [
        "已经反映过", "还没有反映"]
    assert inspection.findtext("required") == "false"


async def test_unknown_service_is_404_in_the_spec_format(city):
    assert "nothing" in spec_error(await city.get(f"{V2}/services/nothing.json"), 404)
    assert "nothing" in spec_error(await city.get(f"{V2}/services/nothing.xml"), 404)


# ---------------------------------------------------------------- filing

async def outbox(city: City) -> list[OutboxMessage]:
    async with city.app.engine.sessions() as session:
        return list((await session.exec(select(OutboxMessage))).all())


async def test_a_request_becomes_a_case_and_its_staff_are_alerted(city):
    resp = await city.post(**wage_request())
    assert resp.status_code == 200, resp.text
    [created] = resp.json()
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    number = created["service_request_id"]
    case = await city.case(number)
    assert created["account_id"] is None
    assert number in created["service_notice"] and case.query_code in created["service_notice"]

    assert (case.level1, case.level2, case.level3) == ("劳动和社会保障", "工资福利", "工资发放")
    assert case.department == "hrss" and case.source == f"open311:{CLIENT}"
    assert (case.lat, case.lon) == (22.543096, 114.057865)
    assert case.location == "A市B区幸福路18号工地" and case.description == WAGES
    assert case.answers == {"employer": "华建劳务公司", "amount": "96000",
                            "inspection": "还没有反映", "request": "讨回拖欠的工资"}
    assert (case.name, case.phone, case.anonymous) == ("王小明", "13812345678", False)
    assert case.evidence and case.status == "registered"
    async with city.app.engine.sessions() as session:
        citizen = await session.get(Citizen, case.citizen_id)
        [attachment] = (await session.exec(select(Attachment))).all()
    assert (citizen.chat_id, citizen.email) == (None, "xiaoming@example.com")
    assert (attachment.case_id, attachment.media) == (case.id, "link")
    assert attachment.file_id == "https://img.example.com/pay.jpg"

    [alert] = [m for m in await outbox(city) if m.chat_id == HRSS_CHAT]
    assert alert.audience == "staff"
    text = alert.payload["text"]
    parse_html(text)   # Telegram would take it
    assert number in text and "来源：开放接口（testclient）" in text
    assert "138****5678" in text and "13812345678" not in text
    assert "被拖欠金额（元）：96000" in text and "附件：1 份" in text
    assert alert.payload.get("buttons")   # the first actions, as for a chat case


async def test_filing_in_xml(city):
    resp = await city.post("xml", **wage_request())
    root = xml_of(resp)
    assert resp.status_code == 200
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    number = root.findtext("request/service_request_id")
    assert (await city.case(number)).source == f"open311:{CLIENT}"
    assert root.find("request/account_id") is not None
    assert root.findtext("request/account_id") in (None, "")


async def test_without_a_service_code_the_description_is_classified_and_routed(city, classifier):
    text = "我家楼下的烧烤店每天晚上营业到凌晨两点，噪音非常大，油烟直接飘进我家，根本没法睡觉，希望有关部门管一管。"
    resp = await city.post(description=text, address_string="C区和平路6号", last_name="李",
                           first_name="华", phone="139 0000 1111")
    assert resp.status_code == 200, resp.text
    case = await city.case(resp.json()[0]["service_request_id"])
    result = classifier.classify(text)
    expected = [result.category.level1, result.category.level2, result.category.level3]
    catalog = city.app.engine.catalog
    assert [case.level1, case.level2, case.level3] == expected
    assert case.department == catalog.route(expected, text)
    assert case.flags == list(result.flags) and case.phone == "13900001111"


async def test_answers_to_the_classified_category_are_kept(city, classifier):
    result = classifier.classify(WAGES)
    assert result.category.level3 == "工资发放"
    resp = await city.post(**wage_request(service_code=None))
    case = await city.case(resp.json()[0]["service_request_id"])
    assert case.answers["employer"] == "华建劳务公司" and case.answers["amount"] == "96000"


async def test_anonymous_where_the_category_allows_it(city):
    text = "某局某科长利用职务便利多次收受他人财物，还安排亲属在下属单位挂名领取工资，请组织调查。"
    resp = await city.post(service_code="discipline-corruption", description=text,
                           address_string="某市某局", **{"attribute[official]": "某局某科长",
                                                        "attribute[request]": "调查处理"})
    assert resp.status_code == 200, resp.text
    case = await city.case(resp.json()[0]["service_request_id"])
    assert case.anonymous and case.name is None and case.department == "discipline"
    [listed] = (await city.get(f"{V2}/requests/{case.number}.json")).json()
    # reports on officials: not even the text and the place leave
    assert listed["description"] is None and listed["address"] is None


BAD_REQUESTS = [
    ("no key", {"api_key": None}, 403, "api_key"),
    ("wrong key", {"api_key": "guess"}, 403, "api_key"),
    ("unknown service", {"service_code": "potholes"}, 404, "potholes"),
    ("required attribute missing", {"attribute[employer]": None}, 400, "attribute[employer]"),
    ("unknown attribute", {"attribute[colour]": "红"}, 400, "attribute[colour]"),
    ("not one of the values", {"attribute[inspection]": "也许"}, 400, "attribute[inspection]"),
    ("not an amount", {"attribute[amount]": "很多钱"}, 400, "attribute[amount]"),
    ("answer too long", {"attribute[request]": "讨" * 201}, 400, "attribute[request]"),
    ("no description", {"description": None}, 400, "description"),
    ("description too short", {"description": "欠薪"}, 400, "description"),
    ("description too long", {"description": "欠" * 2001}, 400, "description"),
    ("no name", {"last_name": None, "first_name": None}, 400, "first_name"),
    ("not a name", {"last_name": "…", "first_name": "!"}, 400, ""),
    ("no phone", {"phone": None}, 400, "phone"),
    ("not a phone", {"phone": "12345"}, 400, "phone"),
    ("not an e-mail", {"email": "nobody"}, 400, "email"),
    ("lat without long", {"long": None}, 400, "lat"),
    ("no location", {"lat": None, "long": None, "address_string": None}, 400, "lat"),
    ("lat out of range", {"lat": "91"}, 400, "lat"),
    ("lat not a number", {"lat": "north"}, 400, "lat"),
    ("media not a web address", {"media_url": "file:///etc/passwd"}, 400, "media_url"),
    ("control characters", {"description": WAGES + "\x00"}, 400, "description"),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_bad_requests_get_the_spec_error_and_nothing_is_written(city, fmt):
    async with city.client() as client:
        for name, change, status, word in BAD_REQUESTS:
            data = wage_request(**change) | ({} if "api_key" in change else {"api_key": KEY})
            resp = await client.post(f"{V2}/requests.{fmt}", data=data)
            assert word in spec_error(resp, status), name
            assert await city.count(Case) == 0 and await city.count(Citizen) == 0, name
            assert await city.count(OutboxMessage) == 0, name


# ---------------------------------------------------------------- reading requests

async def file_three(city: City) -> tuple[str, str, Case]:
    """Two requests through the API (one with a phone and the name in its text) and one case
    filed in the chat."""
    first = (await city.post(**wage_request())).json()[0]["service_request_id"]
    text = "我是王小明，电话13812345678，身份证440301199001011234，邮箱xiaoming@example.com，" \
           "2026-03-15起小区门口的路灯一直不亮，晚上很危险，希望尽快修好。"
    second = (await city.post(service_code="urban-municipal", description=text,
                              address_string="幸福小区东门", last_name="王", first_name="小明",
                              phone="13812345678",
                              **{"attribute[request]": "修好路灯"})).json()[0]
    chat_case = await city.file()
    return first, second["service_request_id"], chat_case


def fields_of(row: ET.Element) -> dict[str, str | None]:
    return {child.tag: child.text for child in row}


async def test_requests_list_what_the_api_filed_with_no_personal_data(city):
    first, second, chat_case = await file_three(city)
    resp = await city.get(f"{V2}/requests.json")
    assert resp.status_code == 200
    rows = resp.json()
    assert [r["service_request_id"] for r in rows] == [second, first]   # newest first
    assert chat_case.number not in resp.text   # filed privately in the chat
    for secret in ("王小明", "13812345678", "xiaoming@", "440301199001011234"):
        assert secret not in resp.text
    row = rows[0]
    assert set(row) == {"service_request_id", "status", "status_notes", "service_name",
                        "service_code", "description", "agency_responsible", "service_notice",
                        "requested_datetime", "updated_datetime", "expected_datetime",
                        "address", "address_id", "zipcode", "lat", "long", "media_url"}
    catalog = city.app.engine.catalog
    assert row["status"] == "open" and row["service_code"] == "urban-municipal"
    assert row["status_notes"] == html.unescape(catalog.lifecycle.timeline["registered"])
    assert row["agency_responsible"] == catalog.department_name("housing")
    assert "138****5678" in row["description"] and "王**" in row["description"]
    assert "****1234" in row["description"] and "***@example.com" in row["description"]
    assert "2026-03-15" in row["description"]   # dates are not phone numbers
    assert row["requested_datetime"].endswith("+08:00")
    assert row["expected_datetime"] is None   # not accepted yet: no handling limit running
    assert row["service_notice"].startswith(catalog.deadlines.label("routing"))
    wages = rows[1]
    assert (wages["lat"], wages["long"]) == (22.543096, 114.057865)
    assert wages["media_url"] == "https://img.example.com/pay.jpg"
    assert wages["address"] == "A市B区幸福路18号工地"

    root = xml_of(await city.get(f"{V2}/requests.xml"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request", "request"]
    xml_row = fields_of(root[0])
    assert list(xml_row) == list(row)
    assert xml_row["service_request_id"] == second and xml_row["status"] == "open"
    assert xml_row["description"] == row["description"]
    assert xml_row["expected_datetime"] is None


async def test_status_and_expected_date_follow_the_lifecycle(city):
    first, second, _ = await file_three(city)
    engine = city.app.engine
    async with engine.transaction() as session:
        case = await city_case(session, first)
        done = await engine.casework.act(session, case, Action.ACCEPT, Role.INTAKE,
                                         now=engine.clock(), seen_version=case.version,
                                         actor="staff:1")
        due = (await engine.casework.deadline_map(session, done.case))["handling"]
    [row] = (await city.get(f"{V2}/requests/{first}.json")).json()
    assert row["status"] == "open"
    assert datetime.fromisoformat(row["expected_datetime"]) == due.replace(tzinfo=due.tzinfo
                                                                           or UTC)
    assert row["status_notes"] == engine.catalog.lifecycle.timeline["accept"]

    async with engine.transaction() as session:
        case = await city_case(session, first)
        await engine.casework.act(session, case, Action.REPLY, Role.HANDLER, now=engine.clock(),
                                  seen_version=case.version, actor="staff:1",
                                  fields={"outcome": "solved", "reply_text":
                                          "已责令公司支付，联系人电话13900001111。"})
    [row] = (await city.get(f"{V2}/requests/{first}.json")).json()
    assert row["status"] == "closed" and row["expected_datetime"] is None
    assert "139****1111" in row["status_notes"] and "13900001111" not in row["status_notes"]

    closed = (await city.get(f"{V2}/requests.json", status="closed")).json()
    opened = (await city.get(f"{V2}/requests.json", status="open")).json()
    both = (await city.get(f"{V2}/requests.json", status="open,closed")).json()
    assert [r["service_request_id"] for r in closed] == [first]
    assert [r["service_request_id"] for r in opened] == [second]
    assert len(both) == 2


async def city_case(session, number: str) -> Case:
    return (await session.exec(select(Case).where(Case.number == number))).one()


async def test_request_filters(city):
    first, second, _ = await file_three(city)
    ids = lambda resp: [r["service_request_id"] for r in resp.json()]  # noqa: E731
    assert ids(await city.get(f"{V2}/requests.json", service_code="labour")) == [first]
    assert ids(await city.get(f"{V2}/requests.json",
                              service_code="labour-unpaid-wages,urban")) == [second, first]
    # a list of ids overrides the other filters
    assert ids(await city.get(f"{V2}/requests.json", service_request_id=f"{first},{second}",
                              service_code="labour", status="closed")) == [second, first]
    now = datetime.now(UTC)
    assert ids(await city.get(f"{V2}/requests.json",
                              start_date=(now - timedelta(days=1)).isoformat(),
                              end_date=(now + timedelta(days=1)).isoformat())) == [second, first]
    assert ids(await city.get(f"{V2}/requests.json",
                              end_date=(now - timedelta(days=1)).isoformat())) == []
    assert ids(await city.get(f"{V2}/requests.json",
                              start_date=(now + timedelta(hours=1)).isoformat())) == []
    assert "status" in spec_error(await city.get(f"{V2}/requests.json", status="done"), 400)
    assert "start_date" in spec_error(await city.get(
        f"{V2}/requests.xml", start_date=now.isoformat(),
        end_date=(now - timedelta(days=1)).isoformat()), 400)
    spec_error(await city.get(f"{V2}/requests.json", service_code="potholes"), 404)
    spec_error(await city.get(f"{V2}/requests.json", start_date="yesterday"), 400)
    spec_error(await city.get(f"{V2}/requests.json", end_date="0001-01-01T00:00:00"), 400)


async def test_one_request_by_id_in_json_and_xml(city):
    first, _, chat_case = await file_three(city)
    [row] = (await city.get(f"{V2}/requests/{first}.json")).json()
    assert row["service_request_id"] == first and row["service_name"] == "工资发放"
    root = xml_of(await city.get(f"{V2}/requests/{first}.xml"))
    assert [r.tag for r in root] == ["request"] and root.findtext("request/status") == "open"
    assert "HY20990101-99999" in spec_error(
        await city.get(f"{V2}/requests/HY20990101-99999.json"), 404)
    # a chat case is not there for the API, whoever knows its number
    spec_error(await city.get(f"{V2}/requests/{chat_case.number}.xml"), 404)


async def test_tokens_stand_for_their_request(city):
    created = (await city.post(**wage_request())).json()[0]
    token, number = created["token"], created["service_request_id"]
    assert (await city.get(f"{V2}/tokens/{token}.json")).json() == [
        {"token": token, "service_request_id": number}]
    root = xml_of(await city.get(f"{V2}/tokens/{token}.xml"))
    assert root.findtext("request/service_request_id") == number
    assert root.findtext("request/token") == token
    forged = f"{number}_{'A' * 22}"
    spec_error(await city.get(f"{V2}/tokens/{forged}.json"), 404)
    spec_error(await city.get(f"{V2}/tokens/{number}.xml"), 404)


async def test_discovery_names_the_endpoint(city):
    body = (await city.get("/open311/discovery.json")).json()
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert xml_of(await city.get("/open311/discovery.xml")).tag == "discovery"


async def test_errors_outside_our_routes_are_in_the_spec_format_too(city):
    spec_error(await city.get(f"{V2}/nothing.json"), 404)
    spec_error(await city.get(f"{V2}/nothing.xml"), 404)
    spec_error(await city.get(f"{V2}/services.csv"), 400)
    async with city.client() as client:
        resp = await client.delete(f"{V2}/requests.json")
    spec_error(resp, 405)
    assert "POST" in resp.headers["allow"]
    # the workspace keeps its own pages
    async with city.client() as client:
        page = await client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


async def test_an_unexpected_failure_is_a_spec_error_without_details(city, monkeypatch, caplog):
    async def broken():
        raise RuntimeError("model file missing at /srv/secret/path")

    monkeypatch.setattr(city.app.engine.classifier, "get", broken)
    for fmt in ("json", "xml"):
        resp = await city.post(fmt, **wage_request())
        description = spec_error(resp, 500)
        assert description == city.api.state.open311.texts.error_server
        assert "secret" not in resp.text and "Traceback" not in resp.text
    assert "model file missing" in caplog.text   # but the log has it
    assert await city.count(Case) == 0


async def test_jurisdiction_and_filing_limit(classifier, tmp_path, sqlite_url):
    settings = office_settings(tmp_path, sqlite_url)
    with_open311(settings.config_dir, jurisdiction_id="a.example.gov.cn",
                 filing_limit="3/minute")
    app = await build_app(settings, classifier_loader=lambda: classifier)
    try:
        city = City(app, create_web(app))
        assert (await city.get(f"{V2}/services.json",
                               jurisdiction_id="a.example.gov.cn")).status_code == 200
        assert (await city.get(f"{V2}/services.json")).status_code == 200
        spec_error(await city.get(f"{V2}/services.json", jurisdiction_id="b"), 404)
        spec_error(await city.post(**wage_request(jurisdiction_id="b")), 404)
        assert await city.count(Case) == 0
        # every attempt of the client counts, refused ones too
        for _ in range(2):
            assert (await city.post(**wage_request())).status_code == 200
        assert "3/minute" in spec_error(await city.post("xml", **wage_request()), 429)
        assert await city.count(Case) == 2
    finally:
        await app.close()


async def test_staff_act_on_an_api_case_from_the_chat_tools(city):
    """A case filed through the API has a citizen without a chat: a step that tells the citizen
    must still work (nothing can be pushed to them)."""
    number = (await city.post(**wage_request())).json()[0]["service_request_id"]
    engine = city.app.engine
    async with engine.transaction() as session:
        case = await city_case(session, number)
        scope = engine.scope(session)
        await staff.carry_out(scope, case, {"action": "accept", "role": "handler",
                                            "version": case.version, "fields": {}},
                              user_id=HRSS, who="hrss", here=None)
        await engine.on_outgoing(session, scope.out)
    assert (await city.case(number)).status == "accepted"


def test_masking():
    mask = Masker("王小明")
    assert mask("王小明 13812345678 010-87654321 2026-03-15 35000元") == \
        "王** 138****5678 010-****4321 2026-03-15 35000元"
    assert mask("身份证44030119900101123X，卡号6222 0212 3456 7890") == \
        "身份证****123X，卡号****7890"
    assert mask(None) is None


async def test_the_api_is_in_the_openapi_description(city):
    spec = (await city.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in ("/open311/v2/services.{format}", "/open311/v2/services/{service_code}.{format}",
                 "/open311/v2/requests.{format}", "/open311/v2/requests/{service_request_id}"
                 ".{format}", "/open311/v2/tokens/{token}.{format}",
                 "/open311/discovery.{format}"):
        assert path in paths, sorted(paths)
    post = paths["/open311/v2/requests.{format}"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert {"200", "400", "403", "404"} <= set(post["responses"])
    assert {p: paths[p] for p in paths if p.startswith("/open311/")} == \
        open311_openapi()["paths"]   # what the property-based test reads
    listing = paths["/open311/v2/requests.{format}"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "format", "service_request_id", "service_code", "start_date", "end_date", "status"}


# ---------------------------------------------------------------- PostgreSQL too

async def test_filing_and_reading_on_both_databases(classifier, tmp_path, db_url):
    city = await make_city(classifier, tmp_path, db_url)
    try:
        number = (await city.post(**wage_request())).json()[0]["service_request_id"]
        [row] = (await city.get(f"{V2}/requests.json", service_code="labour")).json()
        assert row["service_request_id"] == number and row["lat"] == 22.543096
        assert HRSS_CHAT in {m.chat_id for m in await outbox(city)}
        assert (await city.post(**wage_request(phone=None))).status_code == 400
        assert await city.count(Case) == 1
    finally:
        await city.app.close()


# ---------------------------------------------------------------- property-based

class ServedCity:
    """The app served by uvicorn on a free port, in a thread with its own event loop (the
    schemathesis test calls it synchronously over real HTTP)."""

    def __init__(self, classifier, tmp_path: Path):
        self.classifier = classifier
        self.settings = office_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'st.db'}")
        with_open311(self.settings.config_dir)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self.serve(),), daemon=True)

    async def serve(self) -> None:
        app = await build_app(self.settings, classifier_loader=lambda: self.classifier,
                              on_outgoing=write_outbox)
        await app.engine.classifier.get()
        self.server = uvicorn.Server(uvicorn.Config(create_web(app), lifespan="off",
                                                    log_level="warning", access_log=False))
        self.ready.set()
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            await app.close()

    def __enter__(self) -> ServedCity:
        self.thread.start()
        assert self.ready.wait(60)
        deadline = datetime.now() + timedelta(seconds=30)
        while not (self.server and self.server.started):
            assert datetime.now() < deadline, "uvicorn did not start"
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@pytest.fixture(scope="module")
def served(classifier, tmp_path_factory) -> Iterator[ServedCity]:
    with ServedCity(classifier, tmp_path_factory.mktemp("served")) as city:
        yield city


def open311_openapi() -> dict:
    """The Open311 part of the OpenAPI description, as the web app serves it at /openapi.json
    (checked in ``test_the_api_is_in_the_openapi_description``), without building an app."""
    api = FastAPI()
    api.include_router(open311.router)
    return api.openapi()


schema = schemathesis.openapi.from_dict(open311_openapi())


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_on_any_input(case, served):
    """Whatever the OpenAPI description allows (and much it does not), the answer is the
    spec's: a declared status and media type, a body matching the declared schema, and never a
    server error. Half the filings carry the right key, so the whole filing path is exercised."""
    if case.method == "POST" and isinstance(case.body, dict) and zlib.crc32(
            repr(case.body).encode()) % 2:
        case.body["api_key"] = KEY
    case.call_and_validate(base_url=served.url, checks=[not_a_server_error, status_code_conformance,
                                   content_type_conformance, response_schema_conformance])
