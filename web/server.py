"""The web application, assembled in one place, and serving it on the bot's event loop.

Why FastAPI: the workspace's pages and the Open311 API share one app, its dependencies
(session, signed-in staff) and its OpenAPI description (served at ``/openapi.json``, which the
API's property-based tests read); it runs on the bot's own asyncio loop under uvicorn, so the
web calls the very same ``CaseService``, presenters and outbox as the chat. Pages are rendered
on the server (Jinja2); sessions are Starlette's signed cookies; forms and CSRF are WTForms';
sign-in attempts are rate-limited with ``limits``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from bot.app import App
from bot.conversations.render import local_time
from config.settings import PROJECT_DIR, Settings
from storage.models import utcnow
from web import auth, dashboard, open311, warnings, workspace
from web.deps import STATIC, TEMPLATES, Deliver, NotSignedIn, Web

log = logging.getLogger(__name__)

SESSION_COOKIE = "huiyin_session"


def session_secret(settings: Settings, folder: Path = PROJECT_DIR / "data") -> str:
    """``HUIYIN_WEB_SECRET``, else a random secret kept in ``data/web_secret`` (created once)."""
    if settings.web_secret:
        return settings.web_secret
    path = folder / "web_secret"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_web(app: App, *, deliver: Deliver | None = None,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = app.settings
    catalog = app.engine.catalog
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(t=catalog.web_texts, local_time=local_time)
    web = Web(app=app, templates=templates, deliver=deliver, clock=clock)
    t = catalog.web_texts

    api = FastAPI(title=t.api_title, description=t.api_description, version="1.0",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/openapi.json")
    secret = session_secret(settings)
    api.state.web = web
    api.state.csrf_secret = ("csrf:" + secret).encode()
    api.add_middleware(SessionMiddleware, secret_key=secret,
                       session_cookie=SESSION_COOKIE,
                       max_age=int(settings.web_session_hours * 3600), same_site="lax",
                       https_only=settings.web_url.startswith("https://"))
    api.add_middleware(ServerTiming)
    api.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    api.include_router(auth.router)
    api.include_router(workspace.router)
    api.include_router(dashboard.router)
    api.include_router(warnings.router)
    open311.install(api)   # the Open311 GeoReport v2 API, its errors in the spec's format

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    def page(request: Request, status: int, message: str) -> HTMLResponse:
        return templates.TemplateResponse(request, "message.html",
                                          {"message": message, "staff": None}, status_code=status)

    @api.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn) -> HTMLResponse:
        return page(request, 401, t.not_signed_in)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/open311/"):
            raise exc   # the API answers in its own format (web/open311.py)
        words = {403: t.forbidden, 404: t.not_found, 405: t.bad_request}
        return page(request, exc.status_code, words.get(exc.status_code, t.bad_request))

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/open311/"):
            raise exc
        return page(request, 400, t.bad_request)

    return api


class ServerTiming:
    """How long the server took until the response began, in the standard ``Server-Timing``
    header (benches and browsers' developer tools read it). Plain ASGI: no extra task per
    request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                took = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", took.encode())]}
            await send(message)

        await self.app(scope, receive, timed)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the bot's runner owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def serve_web(api: FastAPI, listen: str) -> None:
    """Serve ``api`` on ``listen`` (host:port) until cancelled."""
    host, _, port = listen.rpartition(":")
    server = _Server(uvicorn.Config(api, host=host or "127.0.0.1", port=int(port),
                                    log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        raise
