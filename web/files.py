"""Citizens' files, fetched from the Bot API (``getFile``, then the file's own URL) for the
workspace: the bot's token stays on the server."""
from __future__ import annotations

import logging
import mimetypes
from pathlib import PurePosixPath

import aiohttp

from config.settings import Settings

log = logging.getLogger(__name__)
MAX_BYTES = 20 * 1024 * 1024     # the Bot API serves files up to 20 MB


async def fetch(settings: Settings, file_id: str) -> tuple[bytes, str, str] | None:
    """(content, content type, file name), or None when there is no bot or no such file."""
    if not settings.bot_token:
        return None
    base = settings.telegram_api_base.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.post(f"{base}/bot{settings.bot_token}/getFile",
                                 json={"file_id": file_id}) as resp:
                answer = await resp.json(content_type=None)
            path = (answer.get("result") or {}).get("file_path") if answer.get("ok") else None
            if not path:
                return None
            async with http.get(f"{base}/file/bot{settings.bot_token}/{path}") as resp:
                if resp.status != 200:
                    return None
                body = await resp.content.read(MAX_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("getFile failed: %s", type(exc).__name__)
        return None
    if len(body) > MAX_BYTES:
        return None
    name = PurePosixPath(path).name or "file"
    return body, mimetypes.guess_type(name)[0] or "application/octet-stream", name
