"""Helpers for the browser tests: finding a Chromium to drive, serving the web app on a free
port of 127.0.0.1 on the test's own loop, and signing in through the link's page.

Playwright drives the system's Chromium (Debian's ``chromium``; ``HUIYIN_CHROMIUM`` names
another binary); its own browser downloads are not used (``make test`` installs Debian's when it
can). Without any browser the tests are skipped, saying why.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import struct
import zlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from web.server import serve_web

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_BROWSER = ("no Chromium to drive: install Debian's (as root: apt-get install chromium; "
              "`make test` does it) or set HUIYIN_CHROMIUM to a Chromium binary")


def chromium_path() -> str | None:
    """The Chromium binary to launch: ``HUIYIN_CHROMIUM``, else the first found on PATH."""
    named = os.environ.get("HUIYIN_CHROMIUM")
    if named:
        return named if os.path.exists(named) else shutil.which(named)
    return next((p for p in map(shutil.which, BINARIES) if p), None)


async def launch(playwright):
    """A headless Chromium: the system's, else one Playwright installed itself; a
    ``LookupError`` saying what is missing when neither starts."""
    path = chromium_path()
    try:
        if path:
            return await playwright.chromium.launch(executable_path=path, headless=True)
        return await playwright.chromium.launch(headless=True)
    except Exception as exc:   # Playwright's Error: no executable, or it would not start
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"{path} would not start" if path else NO_BROWSER
        raise LookupError(f"{where} ({first})") from exc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def served(api: FastAPI, port: int | None = None,
                 timeout: float = 10.0) -> AsyncIterator[str]:
    """Serve ``api`` with ``serve_web`` (uvicorn) on 127.0.0.1 in a task on this loop; yields
    its base URL once it answers ``/healthz``; stops it on leaving."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    task = asyncio.create_task(serve_web(api, f"127.0.0.1:{port}"))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            while True:
                if task.done():
                    task.result()                    # uvicorn failed: say why
                    raise RuntimeError("the web server stopped before answering")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if loop.time() > deadline:
                    raise TimeoutError(f"the web server did not answer at {base}")
                await asyncio.sleep(0.02)
        yield base
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def sign_in(page, link: str) -> None:
    """Open a sign-in link, press its one button, and land on the worklist."""
    await page.goto(link)
    async with page.expect_navigation():
        await page.click("#signin")
    assert urlsplit(page.url).path == "/", page.url
    await page.wait_for_selector("table.cases")


async def case_numbers(page) -> list[str]:
    """The case numbers on the worklist page shown."""
    return await page.eval_on_selector_all("tr.case-row", "rows => rows.map(r => r.dataset.number)")


async def image_loaded(page, selector: str, timeout: float = 10_000) -> int:
    """Wait until the image ``selector`` has loaded; its natural width (0: broken)."""
    img = await page.wait_for_selector(selector)
    await img.scroll_into_view_if_needed()   # loading="lazy" images load only when in view
    await page.wait_for_function("img => img.complete", arg=img, timeout=timeout)
    return await img.evaluate("img => img.naturalWidth")


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (grey) PNG picture, for a citizen's photo the browser is to show."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                             0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
