"""SQLModel tables. Times are timezone-aware, stored as UTC; the bot shows them in Beijing time."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Citizen(SQLModel, table=True):
    """A person who talks to the bot, known by their chat. Name and phone are what they last gave."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    name: str | None = None
    phone: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Case(SQLModel, table=True):
    """One complaint (信访件)."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True, max_length=32)
    query_code: str = Field(max_length=12)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    level1: str
    level2: str = ""
    level3: str = ""
    department: str = Field(index=True)
    status: str = Field(default="registered", index=True, max_length=32)
    description: str = Field(sa_column=Column(Text, nullable=False))
    location: str = ""
    since: str = ""
    name: str | None = None          # None when anonymous
    anonymous: bool = False
    phone: str | None = None
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    """A photo or document a citizen sent with a case (the file stays with Telegram)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    file_id: str
    media: str = "photo"
    created_at: datetime = Field(default_factory=utcnow)


class CaseEvent(SQLModel, table=True):
    """Append-only log of everything that happened to a case: who, when, what."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str                         # "citizen", "staff:<user id>", "system"
    action: str                        # "registered", "accept", …
    from_status: str | None = None
    to_status: str | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Conversation(SQLModel, table=True):
    """Where a chat is in a flow, so a restart or a pause of hours loses nothing."""

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    flow: str = ""                     # "" when idle, else "intake", "query" …
    step: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class QueryAttempt(SQLModel, table=True):
    """Wrong case-number/query-code attempts, to stop guessing."""

    __table_args__ = (UniqueConstraint("chat_id", "window_start"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    window_start: datetime
    failures: int = 0
