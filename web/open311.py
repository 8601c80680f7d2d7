"""The Open311 GeoReport v2 API under ``/open311/v2/`` (https://wiki.open311.org/GeoReport_v2):
the services (categories) and their questions, filing a request, reading requests back, tokens,
and the service discovery file, in JSON and XML.

A request becomes a case through the chat's own rules and calls: the classifier and
``Catalog.route`` when no service code is given, the same checks of description and answers,
``CaseService.file`` and the staff alert of ``presenters.alert_new_case``, queued in the outbox
in the same transaction. Personal data never leaves: the API shows no name, phone or e-mail and
masks what looks like them in the texts it shows (see ``Masker``). What is offered and how it
reads is config/open311.yaml.

Errors answer in the spec's format (``[{"code": 400, "description": "..."}]`` or
``<errors><error>…``) with the HTTP status, never a bare 500: the route class turns errors of
these routes into it, and ``install`` adds a middleware that does the same for what no route of
ours answers (unknown path, method) and for errors the app's own handlers pass on.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from limits import parse as parse_limit
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as AsgiScope

from bot.conversations import linking, presenters, validate
from bot.conversations.flow import Scope
from bot.conversations.intake import MIN_DESCRIPTION_WORDS
from bot.conversations.render import BEIJING, esc, mask_phone
from cases import glance
from cases.lifecycle import CaseStatus
from config.catalog import Catalog, Question, Texts
from nlp.api import Flag
from nlp.rules import read_yaml
from storage.models import Attachment, Case, CaseEvent, Citizen
from web.deps import Web, get_web

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
NAME_MAX_CHARS = 30            # as the chat's name step
EMAIL_MAX_CHARS = 254
MEDIA_URL_MAX_CHARS = 2000
ID_MAX_CHARS = 64
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


class Format(StrEnum):
    json = "json"
    xml = "xml"


class Status(StrEnum):
    open = "open"
    closed = "closed"


# ---------------------------------------------------------------- configuration

@dataclass(frozen=True, slots=True)
class Service:
    code: str
    path: tuple[str, str, str]
    name: str
    group: str
    description: str
    keywords: str


@dataclass(frozen=True, slots=True)
class Client:
    name: str
    key_sha256: str


@dataclass(frozen=True, slots=True)
class AttributeType:
    datatype: str
    description: str


class Open311:
    """config/open311.yaml, read once when the app is built and checked against the catalog
    (categories, question types, lifecycle statuses, deadline kinds)."""

    def __init__(self, catalog: Catalog, raw: dict, source: FilePath, token_key: bytes):
        self.catalog = catalog
        self.source = source
        self.token_key = token_key
        self.texts = Texts(raw.get("texts") or {})
        self.jurisdiction_id: str | None = raw.get("jurisdiction_id") or None
        self.changeset = str(raw.get("changeset") or "")
        self.require_location = bool(raw.get("require_location", True))
        self.name_format = str(raw.get("name_format") or "{last_name}{first_name}")
        self.clients = tuple(Client(str(c["name"]), str(c["key_sha256"]).lower())
                             for c in raw.get("clients") or ())
        self.types = {key: AttributeType(str(row["datatype"]), str(row.get("description", "")))
                      for key, row in (raw.get("attribute_types") or {}).items()}
        self.closed = frozenset(raw.get("closed_statuses") or ())
        self.expected = tuple(raw.get("expected_deadlines") or ())
        self.visible_sources = tuple(raw.get("visible_sources") or ("open311:",))
        self.show_description = bool(raw.get("show_description", True))
        self.default_days = int(raw.get("default_days", 90))
        self.max_requests = int(raw.get("max_requests", 1000))
        self.filing_limit = str(raw.get("filing_limit") or "")
        keywords = read_yaml(catalog.config_dir / "keywords.yaml").get("categories") or {}
        per_service = int(raw.get("keywords_per_service", 8))
        self.services: dict[str, Service] = {}
        for row in raw.get("services") or ():
            service = self._service(row, keywords, per_service)
            if service.code in self.services:
                self._fail(f"service code {service.code!r} twice")
            self.services[service.code] = service
        self._by_path = {s.path: s for s in self.services.values()}
        self._check()

    @classmethod
    def load(cls, catalog: Catalog, token_key: bytes) -> Open311:
        path = catalog.config_dir / "open311.yaml"
        return cls(catalog, read_yaml(path), path, token_key)

    def _fail(self, problem: str):
        raise ValueError(f"{self.source}: {problem}")

    def _service(self, row: dict, keywords: dict, per_service: int) -> Service:
        code, parts = str(row["code"]), [p for p in str(row["path"]).split("/") if p]
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", code):
            self._fail(f"service code {code!r}: letters, digits, - and _ only")
        path = tuple((parts + ["", "", ""])[:3])
        if not parts or len(parts) > 3 or not self.catalog.taxonomy.contains(*path):
            self._fail(f"service {code}: {row['path']!r} is not a category of taxonomy.yaml")
        l1, l2, l3 = path
        tax = self.catalog.taxonomy
        if l3:
            node = keywords.get(l1, {}).get(l2, {}).get(l3) or []
            words = [w if isinstance(w, str) else next(iter(w)) for w in node]
            words = [w for w in words if "+" not in w]
        else:
            words = tax.level3(l1, l2) if l2 else tax.level2(l1)
        t = self.texts
        return Service(
            code=code, path=path, name=parts[-1], group=l1,
            description=str(row.get("description")
                            or t("service_description", path=t.path_separator.join(parts))),
            keywords=",".join(list(dict.fromkeys(words))[:per_service]))

    def _check(self) -> None:
        statuses = {s.value for s in CaseStatus}
        for status in self.closed - statuses:
            self._fail(f"closed_statuses: {status!r} is not a status of lifecycle.yaml")
        kinds = set(self.catalog.deadlines.limits)
        for kind in set(self.expected) - kinds:
            self._fail(f"expected_deadlines: {kind!r} is not a limit of deadlines.yaml")
        if self.filing_limit:
            try:
                parse_limit(self.filing_limit)
            except ValueError:
                self._fail(f"filing_limit: {self.filing_limit!r} (e.g. \"120/minute\")")
        names = [c.name for c in self.clients]
        for client in self.clients:
            if not re.fullmatch(r"[0-9a-f]{64}", client.key_sha256):
                self._fail(f"client {client.name}: key_sha256 is not a SHA-256 in hex")
            if names.count(client.name) > 1 or not re.fullmatch(r"[\w.-]{1,50}", client.name):
                self._fail(f"client name {client.name!r}: unique, letters, digits, . - _")
        for key, kind in self.types.items():
            if kind.datatype not in DATATYPES:
                self._fail(f"attribute_types.{key}: datatype {kind.datatype!r}")
        for service in self.services.values():
            for q in self.questions(service):
                if q.type not in self.types:
                    self._fail(f"attribute_types: question type {q.type!r} is not described")

    # ------------------------------------------------------------ look-ups

    def questions(self, service_or_path: Service | Iterable[str]) -> tuple[Question, ...]:
        path = (service_or_path.path if isinstance(service_or_path, Service)
                else tuple(service_or_path))
        return self.catalog.rules_for(*path).questions

    def service_of(self, case: Case) -> Service | None:
        """The most specific service above the case's category."""
        l1, l2, l3 = case.level1, case.level2, case.level3
        for path in ((l1, l2, l3), (l1, l2, ""), (l1, "", "")):
            if path in self._by_path:
                return self._by_path[path]
        return None

    def client_for(self, api_key: str | None) -> Client | None:
        if not api_key:
            return None
        digest = hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()
        found = None
        for client in self.clients:   # compare with every key: no timing hint which one
            if hmac.compare_digest(digest, client.key_sha256):
                found = client
        return found

    def is_closed(self, status: str) -> bool:
        return status in self.closed

    def token_for(self, number: str) -> str:
        sig = hmac.new(self.token_key, number.encode(), hashlib.sha256).digest()[:16]
        return f"{number}_{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"

    def number_of_token(self, token: str) -> str | None:
        number, _, _sig = token.partition("_")
        if number.isascii() and token.isascii() and hmac.compare_digest(
                self.token_for(number).encode(), token.encode()):
            return number
        return None


def get_config(request: Request) -> Open311:
    return request.app.state.open311


WebDep = Annotated[Web, Depends(get_web)]
ConfigDep = Annotated[Open311, Depends(get_config)]


# ---------------------------------------------------------------- what the API says (schemas)

class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = Field(description="true: the service has attributes (GET services/{code})")
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class AttributeOut(BaseModel):
    variable: bool
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist",
                      "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[AttributeOut]


class RequestCreated(BaseModel):
    service_request_id: str
    token: str | None = None
    service_notice: str | None = None
    account_id: str | None = None


class ServiceRequestOut(BaseModel):
    service_request_id: str
    status: Status
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime | None
    expected_datetime: datetime | None
    address: str | None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None
    long: float | None
    media_url: str | None


class TokenOut(BaseModel):
    token: str
    service_request_id: str | None


class ErrorOut(BaseModel):
    code: int
    description: str


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


# ---------------------------------------------------------------- JSON and XML

XML_TYPE = "text/xml"
JSON_TYPE = "application/json"
# A list element's name in XML is its items' name (``<attributes><attribute>…``).
ITEM_NAMES = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
              "formats": "format"}
_NOT_XML = re.compile(r"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _xml_fill(element: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            for item in value:
                node = ET.SubElement(child, ITEM_NAMES.get(key, "item"))
                if isinstance(item, dict):
                    _xml_fill(node, item)
                else:
                    node.text = _xml_value(item)
        elif isinstance(value, dict):
            _xml_fill(child, value)
        else:
            child.text = _xml_value(value)


def to_xml(root: str, item: str | None, data: list[dict] | dict) -> str:
    element = ET.Element(root)
    if item is None:
        _xml_fill(element, data)  # type: ignore[arg-type]
    else:
        for row in data:
            _xml_fill(ET.SubElement(element, item), row)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")


def answer(fmt: Format, data: list[BaseModel] | BaseModel, root: str, item: str | None = None,
           status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``data`` as JSON (a list, or one object) or as XML under ``root`` (each row an
    ``item`` element)."""
    dumped = ([row.model_dump(mode="json") for row in data] if isinstance(data, list)
              else data.model_dump(mode="json"))
    if fmt == Format.xml:
        return Response(to_xml(root, item, dumped), status_code=status, media_type=XML_TYPE,
                        headers=headers)
    return JSONResponse(dumped, status_code=status, headers=headers)


# ---------------------------------------------------------------- errors

class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def format_of(path: str) -> Format:
    return Format.xml if path.endswith(".xml") else Format.json


def error_response(request: Request, exc: BaseException) -> Response:
    """Any error of an Open311 path in the spec's format, with its HTTP status."""
    config: Open311 | None = getattr(request.app.state, "open311", None)
    t = config.texts if config is not None else Texts()

    def words(key: str, fallback: str, **values) -> str:
        return t(key, **values) if key in t else fallback

    headers = None
    if isinstance(exc, Open311Error):
        status, description = exc.status, exc.description
    elif isinstance(exc, RequestValidationError):
        status, description = 400, describe_invalid(t, exc)
    elif isinstance(exc, StarletteHTTPException):
        status, headers = exc.status_code, exc.headers
        description = {404: words("error_not_found", "not found"),
                       405: words("error_method", "method not allowed"),
                       403: words("error_api_key", "forbidden")}.get(status, str(exc.detail))
    else:
        log.exception("Open311 %s %s failed", request.method, request.url.path, exc_info=exc)
        status, description = 500, words("error_server", "internal error")
    return answer(format_of(request.url.path), [ErrorOut(code=status, description=description)],
                  "errors", "error", status=status, headers=headers)


def describe_invalid(t: Texts, exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors()[:3]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "?"
        reason = str(err.get("msg", ""))
        problems.append(t("error_parameter", field=field, reason=reason)
                        if "error_parameter" in t else f"{field}: {reason}")
    return "; ".join(problems)


class Open311Route(APIRoute):
    """Errors raised while answering one of our routes (validation of parameters, our own
    refusals, anything unexpected) become the spec's error answer."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def answer_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:   # every error answers in the spec's format
                return error_response(request, exc)

        return answer_errors


class SpecErrors:
    """ASGI middleware: under ``/open311/``, an error that reaches it (no route matched, a
    method not allowed, an error the app's handlers pass on) is answered in the spec's format,
    unless the answer has begun."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/open311/"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            await error_response(Request(scope), exc)(scope, receive, send)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of the error answers (JSON and XML); "4XX" for the others
    (405 …) and instead of FastAPI's 422, which this API never answers."""
    return {code: {"model": list[ErrorOut], "description": "Open311 error",
                   "content": {XML_TYPE: {"schema": {"type": "string"}}}}
            for code in (*codes, "4XX")}


def ok_response(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description,
                  "content": {XML_TYPE: {"schema": {"type": "string"}}}}}


router = APIRouter(route_class=Open311Route, tags=["Open311 GeoReport v2"])
FormatPath = Annotated[Format, Path(description="json or xml")]
Jurisdiction = Annotated[str | None, Query(max_length=ID_MAX_CHARS)]


def check_jurisdiction(config: Open311, value: str | None) -> None:
    if value and config.jurisdiction_id and value != config.jurisdiction_id:
        raise Open311Error(404, config.texts("error_jurisdiction", value=value))


# ---------------------------------------------------------------- personal data

_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
# A date (kept as it is), or what may identify a person: a mobile or landline number (maybe
# grouped by spaces or hyphens), a bank card in groups of four, any other run of 7 or more digits
# (an ID card number, an account …).
_DIGITS = re.compile(
    r"(?<![\d-])(?:(?P<date>\d{4}-\d{1,2}-\d{1,2})"
    r"|(?P<run>(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}"
    r"|0\d{2,3}-\d{7,8}"
    r"|\d{4}(?: \d{4}){3,4}"
    r"|\d{7,}[Xx]?))(?![\d-])")


class Masker:
    """What the API shows of a text a person wrote: phone-like and ID-like digit runs masked as
    the staff card masks phones (138****5678, ****5678), e-mail addresses hidden but their
    domain, and the filer's own name starred where it appears."""

    def __init__(self, name: str | None = None):
        self.name = name if name and len(name) >= 2 else None

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        text = _EMAIL.sub(lambda m: f"***@{m.group(1)}", text)
        text = _DIGITS.sub(self._digits, text)
        if self.name:
            text = text.replace(self.name, self.name[0] + "*" * (len(self.name) - 1))
        return text

    @staticmethod
    def _digits(m: re.Match) -> str:
        run = m.group("run")
        if run is None:
            return m.group(0)
        digits = re.sub(r"[ -]", "", run).removeprefix("+86").removeprefix("86")
        mobile = len(digits) == 11 and digits.startswith("1")
        return mask_phone(digits if mobile else run, "")


# ---------------------------------------------------------------- services

def service_out(config: Open311, service: Service) -> ServiceOut:
    return ServiceOut(service_code=service.code, service_name=service.name,
                      description=service.description,
                      metadata=bool(config.questions(service)), keywords=service.keywords,
                      group=service.group)


def attribute_out(config: Open311, q: Question, order: int) -> AttributeOut:
    kind = config.types[q.type]
    return AttributeOut(variable=True, code=q.key, datatype=kind.datatype,  # type: ignore[arg-type]
                        required=q.required, datatype_description=kind.description or None,
                        order=order,
                        description=config.texts("attribute_description", label=q.label,
                                                 ask=q.ask),
                        values=[AttributeValue(key=c, name=c) for c in q.choices])


def service_named(config: Open311, code: str) -> Service:
    service = config.services.get(code)
    if service is None:
        raise Open311Error(404, config.texts("error_service_not_found", code=code))
    return service


@router.get("/open311/discovery.{format}", response_model=Discovery,
            responses={**ok_response("The service discovery file"), **error_responses(400)},
            summary="Service discovery")
async def discovery(format: FormatPath, web: WebDep, config: ConfigDep) -> Response:
    t = config.texts
    endpoint = Endpoint(specification=SPECIFICATION, url=web.settings.web_url + PREFIX,
                        changeset=config.changeset, type="production",
                        formats=[XML_TYPE, JSON_TYPE])
    return answer(format, Discovery(changeset=config.changeset, contact=t.discovery_contact,
                                    key_service=t.discovery_key_service, endpoints=[endpoint]),
                  "discovery")


@router.get(PREFIX + "/services.{format}", response_model=list[ServiceOut],
            responses={**ok_response("The services (categories)"), **error_responses(400, 404)},
            summary="GET Service List")
async def list_services(format: FormatPath, config: ConfigDep,
                        jurisdiction_id: Jurisdiction = None) -> Response:
    check_jurisdiction(config, jurisdiction_id)
    return answer(format, [service_out(config, s) for s in config.services.values()],
                  "services", "service")


@router.get(PREFIX + "/services/{service_code}.{format}", response_model=ServiceDefinition,
            responses={**ok_response("The service's attributes (questions)"),
                       **error_responses(400, 404)},
            summary="GET Service Definition")
async def service_definition(service_code: Annotated[str, Path(max_length=ID_MAX_CHARS)],
                             format: FormatPath, config: ConfigDep,
                             jurisdiction_id: Jurisdiction = None) -> Response:
    check_jurisdiction(config, jurisdiction_id)
    service = service_named(config, service_code)
    attributes = [attribute_out(config, q, i)
                  for i, q in enumerate(config.questions(service), start=1)]
    return answer(format, ServiceDefinition(service_code=service.code, attributes=attributes),
                  "service_definition")


# ---------------------------------------------------------------- filing a request

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_EMAIL_FULL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](?:\[\])?")


class RequestForm(BaseModel):
    """POST requests (application/x-www-form-urlencoded, as the spec says). Answers to the
    service's attributes come as ``attribute[<code>]=<value>`` (for a list: the value's key)."""

    api_key: str | None = Field(None, description="The client's key (required)")
    jurisdiction_id: str | None = Field(None, max_length=ID_MAX_CHARS)
    service_code: str | None = Field(
        None, max_length=ID_MAX_CHARS,
        description="Optional here: without it the description is classified and routed as "
                    "in the chat")
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    address_string: str | None = None
    address_id: str | None = Field(None, max_length=ID_MAX_CHARS)
    email: str | None = None
    device_id: str | None = Field(None, max_length=ID_MAX_CHARS)
    account_id: str | None = Field(None, max_length=ID_MAX_CHARS)
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None


@dataclass
class Filing:
    """A request checked and ready to become a case."""

    client: Client
    category: tuple[str, str, str]
    department: str
    description: str
    answers: dict[str, str]
    questions: tuple[Question, ...]
    name: str | None
    anonymous: bool
    phone: str | None
    email: str | None
    location: str
    lat: float | None
    lon: float | None
    media_url: str | None
    flags: list[str]
    evidence: list[str]


def clean(config: Open311, field: str, value: str | None) -> str | None:
    """Trimmed text, None when empty; control characters refused."""
    if value is None:
        return None
    if _CONTROL.search(value):
        raise Open311Error(400, config.texts("error_control_characters", field=field))
    return value.strip() or None


def attributes_of(config: Open311, form: Iterable[tuple[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in form:
        m = _ATTRIBUTE.fullmatch(key)
        if m and isinstance(value, str):
            text = clean(config, key, value)
            if text is not None:
                found[m.group(1)] = text
    return found


def check_answers(config: Open311, web: Web, service: Service | None,
                  questions: tuple[Question, ...], given: dict[str, str]) -> dict[str, str]:
    t, limit = config.texts, web.settings.max_answer_chars
    by_key = {q.key: q for q in questions}
    if service is not None:
        for code in given:
            if code not in by_key:
                raise Open311Error(400, t("error_attribute_unknown", service=service.code,
                                          code=code))
    answers = {}
    for q in questions:
        raw = given.get(q.key)
        if raw is None:
            # Only a client that chose the service could know its questions.
            if q.required and service is not None:
                raise Open311Error(400, t("error_attribute_missing", code=q.key, label=q.label))
            continue
        if len(raw) > limit:
            raise Open311Error(400, t("error_attribute_too_long", code=q.key, max=limit))
        value = validate.answer_value(q, raw, web.clock())
        if value is None:
            hint = "/".join(q.choices) if q.choices else config.types[q.type].description
            raise Open311Error(400, t("error_attribute_invalid", code=q.key, label=q.label,
                                      hint=hint))
        answers[q.key] = value
    return answers


def check_description(config: Open311, web: Web, text: str | None) -> str:
    t, limit = config.texts, web.settings.max_description_chars
    if not text:
        raise Open311Error(400, t.error_description_missing)
    if len(text) > limit:
        raise Open311Error(400, t("error_description_too_long", max=limit, got=len(text)))
    if not validate.has_words(text) or validate.word_count(text) < MIN_DESCRIPTION_WORDS:
        raise Open311Error(400, t("error_description_too_short", min=MIN_DESCRIPTION_WORDS))
    return text


def check_place(config: Open311, web: Web, form: RequestForm,
                address: str | None) -> tuple[str, float | None, float | None]:
    t = config.texts
    if (form.lat is None) != (form.long is None):
        raise Open311Error(400, t.error_lat_long)
    if config.require_location and form.lat is None and not address:
        raise Open311Error(400, t.error_location_missing)
    if address and len(address) > web.settings.max_answer_chars:
        raise Open311Error(400, t("error_address_too_long", max=web.settings.max_answer_chars))
    return address or "", form.lat, form.long


def check_media(config: Open311, url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url) if len(url) <= MEDIA_URL_MAX_CHARS else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise Open311Error(400, config.texts.error_media_url)
    return url


def check_person(config: Open311, form: dict[str, str | None], anonymous_allowed: bool
                 ) -> tuple[str | None, bool, str | None, str | None]:
    """Name, anonymity, phone and e-mail, by the chat's rules: a name unless the category
    allows anonymity (then leaving it out is being anonymous), and a phone unless anonymous."""
    t = config.texts
    name = config.name_format.format(last_name=form["last_name"] or "",
                                     first_name=form["first_name"] or "").strip() or None
    if name is None and not anonymous_allowed:
        raise Open311Error(400, t.error_name_missing)
    if name is not None and len(name) > NAME_MAX_CHARS:
        raise Open311Error(400, t("error_name_too_long", max=NAME_MAX_CHARS))
    if name is not None and not validate.has_words(name):
        raise Open311Error(400, t.error_name_invalid)
    anonymous = name is None
    phone = None
    if form["phone"]:
        phone = validate.parse_phone(form["phone"])
        if phone is None:
            raise Open311Error(400, t.error_phone_invalid)
    elif not anonymous:
        raise Open311Error(400, t.error_phone_missing)
    email = form["email"]
    if email is not None and (len(email) > EMAIL_MAX_CHARS or not _EMAIL_FULL.fullmatch(email)):
        raise Open311Error(400, t.error_email_invalid)
    return name, anonymous, phone, email


async def check_filing(config: Open311, web: Web, form: RequestForm,
                       given: dict[str, str]) -> Filing:
    """Everything checked before anything is written; ``Open311Error`` for the first problem."""
    client = config.client_for(form.api_key)
    if client is None:
        raise Open311Error(403, config.texts.error_api_key)
    if config.filing_limit and not await web.allow(config.filing_limit, "open311", client.name):
        raise Open311Error(429, config.texts("error_rate_limited", limit=config.filing_limit))
    check_jurisdiction(config, form.jurisdiction_id)
    text = {name: clean(config, name, getattr(form, name))
            for name in ("service_code", "address_string", "email", "first_name", "last_name",
                         "phone", "description", "media_url")}
    service = service_named(config, text["service_code"]) if text["service_code"] else None
    description = check_description(config, web, text["description"])
    location, lat, lon = check_place(config, web, form, text["address_string"])
    media_url = check_media(config, text["media_url"])
    classifier = await web.app.engine.classifier.get()
    result = classifier.classify(description)
    if service is not None:
        category = service.path
    else:   # as the chat proposes it
        category = (result.category.level1, result.category.level2, result.category.level3)
    catalog = config.catalog
    rules = catalog.rules_for(*category)
    answers = check_answers(config, web, service, rules.questions, given)
    name, anonymous, phone, email = check_person(config, text, rules.anonymous)
    return Filing(client=client, category=category,
                  department=catalog.route(category, description), description=description,
                  answers=answers, questions=rules.questions, name=name, anonymous=anonymous,
                  phone=phone, email=email, location=location, lat=lat, lon=lon,
                  media_url=media_url, flags=list(result.flags),
                  evidence=list(result.evidence[:6]))


def alert_lines(config: Open311, scope: Scope, filing: Filing) -> list[str]:
    """The staff alert's lines about what was filed: where it came from, the coordinates, and
    every question with its answer (as the chat's summary for staff)."""
    t = config.texts
    lines = [t("staff_source", client=esc(filing.client.name))]
    if filing.lat is not None:
        lines.append(t("staff_coordinates", lat=filing.lat, long=filing.lon))
    for q in filing.questions:
        value = filing.answers.get(q.key)
        lines.append(f"{esc(q.label)}：{esc(value) if value else scope.texts.not_given}")
    return lines


@router.post(PREFIX + "/requests.{format}", response_model=list[RequestCreated],
             responses={**ok_response("The new request's id (the case number)"),
                        **error_responses(400, 403, 404, 429)},
             summary="POST Service Request")
async def post_request(request: Request, format: FormatPath,
                       form: Annotated[RequestForm, Form()], web: WebDep,
                       config: ConfigDep) -> Response:
    given = attributes_of(config, (await request.form()).multi_items())
    filing = await check_filing(config, web, form, given)
    attachments = [{"file_id": filing.media_url, "media": "link"}] if filing.media_url else []
    level1, level2, level3 = filing.category
    async with web.writing() as scope:
        citizen = Citizen(chat_id=None, name=filing.name, phone=filing.phone,
                          email=filing.email, created_at=scope.now)
        scope.session.add(citizen)
        await scope.session.flush()
        case = await scope.casework.file(
            scope.session, citizen=citizen, attachments=attachments, at=scope.now,
            level1=level1, level2=level2, level3=level3, department=filing.department,
            description=filing.description, location=filing.location, since="",
            name=filing.name, anonymous=filing.anonymous, phone=filing.phone,
            answers=filing.answers, flags=filing.flags, evidence=filing.evidence,
            source=f"open311:{filing.client.name}", lat=filing.lat, lon=filing.lon)
        presenters.alert_new_case(scope, case, alert_lines(config, scope, filing),
                                  len(attachments), await linking.on_filed(scope, case))
    notice = config.texts("notice_filed", number=case.number, code=case.query_code,
                          department=config.catalog.department_name(case.department))
    if Flag.LITIGATION in filing.flags:
        notice += html.unescape(config.catalog.texts.flag_litigation)
    return answer(format, [RequestCreated(service_request_id=case.number,
                                          token=config.token_for(case.number),
                                          service_notice=notice, account_id=None)],
                  "service_requests", "request")


# ---------------------------------------------------------------- reading requests

def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def shown_time(at: datetime | None) -> datetime | None:
    return None if at is None else utc(at).astimezone(BEIJING)


def parse_list(config: Open311, field: str, value: str | None) -> list[str]:
    value = clean(config, field, value)
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


@dataclass
class RequestQuery:
    numbers: list[str]
    services: list[Service]
    start: datetime
    end: datetime
    statuses: set[Status]


def read_query(config: Open311, now: datetime, service_request_id: str | None,
               service_code: str | None, start_date: datetime | None,
               end_date: datetime | None, status: str | None) -> RequestQuery:
    t = config.texts
    numbers = parse_list(config, "service_request_id", service_request_id)
    services = [service_named(config, code)
                for code in parse_list(config, "service_code", service_code)]
    statuses = set()
    for value in parse_list(config, "status", status):
        if value not in Status.__members__:
            raise Open311Error(400, t("error_status", value=value))
        statuses.add(Status(value))
    span = timedelta(days=config.default_days)   # the spec's default span
    try:
        if start_date and not end_date:
            start = utc(start_date)
            end = start + span
        else:
            end = utc(end_date) if end_date else now
            start = utc(start_date) if start_date else end - span
    except (OverflowError, ValueError):
        raise Open311Error(400, t.error_dates) from None
    if start > end:
        raise Open311Error(400, t.error_dates)
    return RequestQuery(numbers, services, start, end, statuses)


def closed_condition(config: Open311, closed: bool):
    statuses = col(Case.status).in_(sorted(config.closed))
    return statuses if closed else ~statuses


async def find_cases(session: AsyncSession, config: Open311, query: RequestQuery) -> list[Case]:
    visible = or_(*[col(Case.source).startswith(p, autoescape=True)
                    for p in config.visible_sources])
    stmt = select(Case).where(visible)
    if query.numbers:   # the spec: a list of ids overrides every other filter
        stmt = stmt.where(col(Case.number).in_(query.numbers[:config.max_requests]))
    else:
        stmt = stmt.where(col(Case.created_at) >= query.start, col(Case.created_at) <= query.end)
        if query.services:
            stmt = stmt.where(or_(*[and_(*[getattr(Case, f"level{i}") == part
                                           for i, part in enumerate(s.path, start=1) if part])
                                    for s in query.services]))
        if len(query.statuses) == 1:
            stmt = stmt.where(closed_condition(config, Status.closed in query.statuses))
    stmt = stmt.order_by(col(Case.created_at).desc(), col(Case.id).desc())
    return list((await session.exec(stmt.limit(config.max_requests))).all())


async def describe_cases(web: Web, config: Open311, session: AsyncSession,
                         found: list[Case]) -> list[ServiceRequestOut]:
    """The cases as the spec's service requests, with what the citizen may read and nothing
    personal (``Masker``); anonymous and confidential cases without their text and place."""
    catalog, rules, now = config.catalog, web.catalog.deadlines, web.clock()
    ids = [c.id for c in found]
    running = await glance.running_of(session, ids)
    events: dict[int, CaseEvent] = {}
    notes: dict[int, str] = {}
    scope = web.app.engine.scope(session, now)
    if ids:
        timeline = list(catalog.lifecycle.timeline)
        rows = await session.exec(select(CaseEvent).where(col(CaseEvent.case_id).in_(ids),
                                                          col(CaseEvent.action).in_(timeline))
                                  .order_by(col(CaseEvent.id)))
        for event in rows.all():
            events[event.case_id] = event
        for case_id, event in events.items():
            words = presenters.event_words(scope, event)
            if words:
                notes[case_id] = html.unescape(words)
        links = await session.exec(select(Attachment).where(col(Attachment.case_id).in_(ids),
                                                            Attachment.media == "link")
                                   .order_by(col(Attachment.id)))
        media: dict[int, str] = {}
        for row in links.all():
            media.setdefault(row.case_id, row.file_id)
    else:
        media = {}
    out = []
    for case in found:
        hidden = catalog.hides_identity(case)
        mask = Masker(case.name)
        service = config.service_of(case)
        closed = config.is_closed(case.status)
        expected = None
        nxt = None
        if not closed:
            counting = {d.kind: d for d in running[case.id] if d.paused_at is None}
            due = next((counting[k] for k in config.expected if k in counting), None)
            expected = shown_time(due.due_at) if due else None
            nxt = glance.next_deadline(running[case.id], now, rules, for_citizen=True)
        notice = presenters.deadline_words(catalog.texts, nxt, now, rules) if nxt else ""
        out.append(ServiceRequestOut(
            service_request_id=case.number,
            status=Status.closed if closed else Status.open,
            status_notes=mask(notes.get(case.id)),
            service_name=service.name if service else None,
            service_code=service.code if service else None,
            description=(None if hidden or not config.show_description
                         else mask(case.description)),
            agency_responsible=catalog.department_name(case.department),
            service_notice=html.unescape(notice) or None,
            requested_datetime=shown_time(case.created_at),
            updated_datetime=shown_time(case.updated_at),
            expected_datetime=expected,
            address=None if hidden else (mask(case.location) or None),
            lat=None if hidden else case.lat, long=None if hidden else case.lon,
            media_url=None if hidden else media.get(case.id)))
    return out


@router.get(PREFIX + "/requests.{format}", response_model=list[ServiceRequestOut],
            responses={**ok_response("Service requests, newest first"),
                       **error_responses(400, 404)},
            summary="GET Service Requests")
async def list_requests(
        format: FormatPath, web: WebDep, config: ConfigDep,
        service_request_id: Annotated[str | None, Query(
            max_length=4000, description="Comma-separated ids; overrides the other filters")]
        = None,
        service_code: Annotated[str | None, Query(
            max_length=4000, description="Comma-separated service codes (a service covers its "
                                         "sub-categories)")] = None,
        start_date: Annotated[datetime | None, Query(description="ISO 8601")] = None,
        end_date: Annotated[datetime | None, Query(description="ISO 8601")] = None,
        status: Annotated[str | None, Query(max_length=20, description="open, closed or both")]
        = None,
        jurisdiction_id: Jurisdiction = None) -> Response:
    check_jurisdiction(config, jurisdiction_id)
    query = read_query(config, utc(web.clock()), service_request_id, service_code, start_date,
                       end_date, status)
    async with web.reading() as session:
        found = await find_cases(session, config, query)
        rows = await describe_cases(web, config, session, found)
    return answer(format, rows, "service_requests", "request")


async def visible_case(web: Web, config: Open311, number: str) -> list[ServiceRequestOut]:
    async with web.reading() as session:
        query = RequestQuery([number], [], datetime.min, datetime.max, set())
        return await describe_cases(web, config, session,
                                    await find_cases(session, config, query))


@router.get(PREFIX + "/requests/{service_request_id}.{format}",
            response_model=list[ServiceRequestOut],
            responses={**ok_response("The service request"), **error_responses(400, 404)},
            summary="GET Service Request")
async def get_request(service_request_id: Annotated[str, Path(max_length=ID_MAX_CHARS)],
                      format: FormatPath, web: WebDep, config: ConfigDep,
                      jurisdiction_id: Jurisdiction = None) -> Response:
    check_jurisdiction(config, jurisdiction_id)
    number = clean(config, "service_request_id", service_request_id) or ""
    rows = await visible_case(web, config, number)
    if not rows:
        raise Open311Error(404, config.texts("error_request_not_found", id=number))
    return answer(format, rows, "service_requests", "request")


@router.get(PREFIX + "/tokens/{token}.{format}", response_model=list[TokenOut],
            responses={**ok_response("The request a token stands for"),
                       **error_responses(400, 404)},
            summary="GET service_request_id from a token")
async def get_token(token: Annotated[str, Path(max_length=200)], format: FormatPath,
                    web: WebDep, config: ConfigDep,
                    jurisdiction_id: Jurisdiction = None) -> Response:
    """Requests get their id at once, so a token (from POST requests) always stands for one."""
    check_jurisdiction(config, jurisdiction_id)
    token = clean(config, "token", token) or ""
    number = config.number_of_token(token)
    if number is None or not await visible_case(web, config, number):
        raise Open311Error(404, config.texts("error_token_not_found", token=token))
    return answer(format, [TokenOut(token=token, service_request_id=number)],
                  "service_requests", "request")


# ---------------------------------------------------------------- wiring

def install(api: FastAPI) -> None:
    """Add the API to the web app (after ``api.state.web`` is set): read config/open311.yaml,
    include the routes and answer every error under /open311/ in the spec's format."""
    web: Web = api.state.web
    secret = getattr(api.state, "csrf_secret", None) or secrets.token_bytes(32)
    token_key = hmac.new(secret, b"open311-token", hashlib.sha256).digest()
    api.state.open311 = Open311.load(web.catalog, token_key)
    api.include_router(router)
    api.add_middleware(SpecErrors)
