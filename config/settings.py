"""All settings of Huiyin in one place (env prefix ``HUIYIN_``, ``.env`` supported)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent
PROJECT_DIR = CONFIG_DIR.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUIYIN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///data/huiyin.db"
    bot_token: str | None = None
    telegram_api_base: str = "https://api.telegram.org"
    frontend: str = Field(default="aiogram", pattern="^(aiogram|ptb)$")
    staff_chat_id: int | None = None
    leaders_chat_id: int | None = None
    staff_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1:8081"
    config_dir: Path = CONFIG_DIR
    # Longest complaint description we accept, in characters.
    max_description_chars: int = 2000
    # Longest answer to any other question, in characters.
    max_answer_chars: int = 200

    @field_validator("staff_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    # Telegram front ends (issue 4). Long-polling timeout in seconds.
    poll_timeout: int = 25
    # Sending limits of the delivery worker (Telegram's: ≈30/s overall, ≈1/s per private chat
    # with short bursts, 20/min per group); 0 switches one off (a local test server, benches).
    send_per_second: float = 30.0
    send_private_per_second: float = 1.0
    send_private_burst: int = 3
    send_group_per_minute: float = 20.0
    # How many chats' updates are handled at the same time (each holds a database connection).
    handle_concurrency: int = 8

    # Staff side (issue 4/5). Cases with any of these flags are also posted to leaders_chat_id.
    # Leaders (领导) themselves are listed in config/leaders.yaml; intake staff are
    # staff_user_ids; each department's handlers are its ``staff`` in config/departments.yaml.
    leader_flags: list[str] = Field(default_factory=lambda: ["collective", "escalation"])
    # How often the scheduler looks for due reminders, escalations and notices, in seconds.
    scheduler_interval: float = 60.0

    # The web workspace for staff and leaders and the open API (issue 11), served by ``make run``
    # too; ``python main.py web`` serves it alone. Empty: not served.
    web_listen: str = "127.0.0.1:8080"
    # With the bot on Telegram the web is a process of its own that the bot starts and stops
    # (pages never hold up the chat); true: on the bot's own event loop instead. The console
    # always serves it on its own loop.
    web_in_process: bool = False
    # The address people open (sign-in links); default: http://<web_listen>
    web_base_url: str | None = None
    # Signs the session cookies; empty: a random one kept in data/web_secret
    web_secret: str | None = None
    web_session_hours: float = 10.0          # a working day
    web_signin_minutes: float = 10.0         # a sign-in link's life (usable once)
    web_signin_attempts: str = "10/minute"   # sign-in attempts per address (``limits`` notation)
    web_page_size: int = 50
    web_numbers_seconds: float = 60.0        # the dashboard's numbers are reused this long

    @property
    def web_url(self) -> str:
        return (self.web_base_url or f"http://{self.web_listen}").rstrip("/")
