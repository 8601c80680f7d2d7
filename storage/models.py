"""SQLModel tables. Times are timezone-aware, stored as UTC; the bot shows them in Beijing time."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    insert_sentinel,
    text,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Citizen(SQLModel, table=True):
    """A person who talks to the bot, known by their chat. Name and phone are what they last gave."""

    id: int | None = Field(default=None, primary_key=True)
    # None for someone who filed through the open API (no chat: nothing is pushed to them)
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True,
                                                               nullable=True))
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Case(SQLModel, table=True):
    """One complaint (信访件)."""

    # the worklist: a department's waiting cases, longest waiting first
    __table_args__ = (Index("ix_case_waiting_since", "waiting_since", "id"),
                      Index("ix_case_department_waiting_since", "department", "waiting_since",
                            "id"),
                      # the leaders' numbers (cases/stats.py): received per category and week,
                      # today's lights per department, counted as ranges of these
                      Index("ix_case_level1_created_at", "level1", "created_at"),
                      Index("ix_case_department_level1", "department", "level1", "created_at"),
                      Index("ix_case_waiting_department", "department", "waiting_since",
                            sqlite_where=text("waiting_since IS NOT NULL"),
                            postgresql_where=text("waiting_since IS NOT NULL")))

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
    # Optimistic lock: every transition writes ``version + 1`` only where the version is still
    # the one the actor saw (storage.cases.advance_case); a stale button changes nothing.
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    paused_since: datetime | None = None   # waiting for the citizen's information (request_info)
    leader_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # Since when the case waits for the offices (the traffic light's clock): its registration,
    # a send-back, a review request; None while it waits for nobody.
    waiting_since: datetime | None = None
    # Where it came from: "chat", or "open311:<client>" for the open API
    source: str = Field(default="chat", max_length=64, sa_column_kwargs={"server_default": "chat"})
    lat: float | None = None
    lon: float | None = None
    # Same matter (cases/matters.py): the text's signature for the detector (nlp/similar.py),
    # and the main case of the group staff linked this one to (None: alone, or the main one).
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    main_case_id: int | None = Field(default=None, foreign_key="case.id", index=True)


class CaseSubject(SQLModel, table=True):
    """Who or what a case is about, as the citizen named it (the employer, project, estate,
    merchant, school … of its answers), kept as ``core`` + ``trade`` (华建 + 劳务) so that 华建劳务有限公司
    and 华建 are found as one subject. Read to link cases and to count cases per subject."""

    __table_args__ = (Index("ix_casesubject_core_created", "core", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=16)        # the question's type: org, estate, project
    field: str = Field(max_length=32)       # the question's key: employer, estate …
    value: str                              # as the citizen said it
    core: str = Field(max_length=64)
    trade: str = Field(default="", max_length=16)
    category: str                           # level1/level2/level3 of the case when filed
    created_at: datetime = Field(default_factory=utcnow)


class SubjectWarning(SQLModel, table=True):
    """An early warning raised for a subject under one rule (config/warnings.yaml): the count
    it was raised at, so it is raised again only when the count grows (also after a restart)."""

    __table_args__ = (UniqueConstraint("rule", "core", "trade"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=32)
    core: str = Field(max_length=64)
    trade: str = Field(default="", max_length=16)
    count: int = 0
    raised_at: datetime = Field(default_factory=utcnow)


class LiveSession(SQLModel, table=True):
    """A handler talking with a citizen in real time about a case (在线接待): asked for by the
    citizen (``requested``; ``queued`` outside working hours) or started by staff, taken by one
    handler (``active``), ended by either side or after a silence (``ended``). While it is
    active the bot relays both ways and says nothing of its own to the citizen."""

    __table_args__ = (Index("ix_livesession_citizen_status", "citizen_chat_id", "status"),
                      Index("ix_livesession_status_requested", "status", "requested_at"))
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    citizen_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    department: str = Field(default="", max_length=64)
    status: str = Field(default="requested", max_length=16)
    queued: bool = False                 # asked for outside working hours
    handler_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    handler_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger,
                                                                         nullable=True))
    handler_role: str = Field(default="", max_length=16)
    requested_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    last_activity_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    end_reason: str = Field(default="", max_length=16)   # citizen, staff, silence
    announced_at: datetime | None = None  # a queued request shown to staff at opening time


class Attachment(SQLModel, table=True):
    """A photo or document a citizen sent with a case (the file stays with Telegram), or a
    link to one (``media`` "link": the open API's ``media_url``)."""

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
    role: str | None = Field(default=None, max_length=16)   # lifecycle role of the actor
    fields: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


_LATEST_STOPPED = text("superseded_at IS NULL AND stopped_at IS NOT NULL")


class CaseDeadline(SQLModel, table=True):
    """One statutory time limit of a case (config/deadlines.yaml), started, paused, extended
    and stopped by the case's transitions. Running while ``stopped_at`` is empty."""

    # the leaders' numbers: limits passed (counted from the index alone), rounds ended
    __table_args__ = (Index("ix_casedeadline_passed", "due_at", "kind", "stopped_at",
                            "paused_at"),
                      Index("ix_casedeadline_stopped_at", "stopped_at",
                            sqlite_where=text("stopped_at IS NOT NULL"),
                            postgresql_where=text("stopped_at IS NOT NULL")),
                      # a case's rounds of one limit (the trigger of migration 0007 reads it)
                      Index("ix_casedeadline_case_kind", "case_id", "kind", "id"),
                      # the latest round of each limit: due in a period; concluded in one
                      Index("ix_casedeadline_latest_due", "kind", "due_at", "stopped_at",
                            "case_id", "superseded_at",
                            sqlite_where=text("superseded_at IS NULL"),
                            postgresql_where=text("superseded_at IS NULL")),
                      Index("ix_casedeadline_latest_stopped", "kind", "stopped_at", "due_at",
                            "case_id", "superseded_at", sqlite_where=_LATEST_STOPPED,
                            postgresql_where=_LATEST_STOPPED),
                      # overdue at a period's end: still running (by due date), or stopped since
                      Index("ix_casedeadline_running", "due_at", "kind", "paused_at",
                            "stopped_at", sqlite_where=text("stopped_at IS NULL"),
                            postgresql_where=text("stopped_at IS NULL")),
                      Index("ix_casedeadline_ended", "stopped_at", "kind", "due_at",
                            "paused_at", "case_id", sqlite_where=text("stopped_at IS NOT NULL"),
                            postgresql_where=text("stopped_at IS NOT NULL")))
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=32)
    started_at: datetime
    due_at: datetime = Field(index=True)
    paused_at: datetime | None = None
    paused_days: int = 0
    extension_days: int = 0
    stopped_at: datetime | None = None
    # The scheduler (cases/jobs.py): when to remind (None: this kind is not reminded),
    # and when each job was done. ``escalated_at`` marks that the scheduler acted on the limit's
    # passing (told the leaders, or closed the window); each is written once, in the transaction
    # that queues the message, so a restart never repeats a job.
    remind_at: datetime | None = Field(default=None, index=True)
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    # When a later round of the same limit of the case started (a case sent back is handled
    # again); None for the latest round. Written by the database itself (a trigger on insert,
    # migration 0007), whoever adds the later round.
    superseded_at: datetime | None = None


class Rating(SQLModel, table=True):
    """The citizen's rating of a concluded case: at most one per case, given once, by the
    citizen only (bot/conversations/rating.py). Each aspect is 1–5, set once; the comment is optional."""

    # 满意率 per week (cases/stats.py)
    __table_args__ = (Index("ix_rating_overall_created_at", "overall", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    overall: str = Field(max_length=32)      # a key of ``ratings`` in config/lifecycle.yaml
    attitude: int | None = None
    method: int | None = None
    speed: int | None = None
    result: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class WebSignIn(SQLModel, table=True):
    """A sign-in link for the web workspace, sent by the bot: valid until ``expires_at`` and
    usable once (``used_at``). Only the token's SHA-256 is kept."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


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


class InboxUpdate(SQLModel, table=True):
    """A Telegram update as received, written before it is confirmed to Telegram.

    ``status``: "pending" until handled, then "done" (in the same transaction as what handling
    changed) or "failed" (kept with the error, never retried on its own).
    """

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True, max_length=16)
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None
    error: str | None = None


class OutboxMessage(SQLModel, table=True):
    """A message (or edit) to send, written in the same transaction as the change that caused
    it; the delivery worker sends it and marks it "sent" with Telegram's message id."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audience: str = Field(default="citizen", max_length=16)
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    parts_sent: int = 0                 # of a text split into several messages
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_error: str | None = None


# Lets SQLAlchemy insert a batch of rows in one statement and still tell which new id is whose
# (its "insertmanyvalues" sentinel; SQLite alone has no other way): filled only by such inserts.
OutboxMessage.__table__.append_column(insert_sentinel("insert_sentinel"))


class ReceptionSlot(SQLModel, table=True):
    """A leader's reception slot (领导接访日, cases/reception.py): when, where (a place, or video
    with a meeting link), for how many citizens, about which topics. ``booked`` counts the
    confirmed bookings: a place is taken with one conditional update (``booked < capacity``),
    so two citizens asking for the last place at once cannot both get it. ``listed_at``: the
    day's list was sent to the leaders and staff (once)."""

    __table_args__ = (Index("ix_receptionslot_starts", "starts_at", "cancelled_at"),)
    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime
    ends_at: datetime
    place: str = ""                     # empty for a video reception
    video: bool = False
    link: str = ""                      # the meeting link of a video reception
    capacity: int = 1
    booked: int = 0
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    host_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    host_name: str = ""                 # the receiving leader, as citizens are told
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    listed_at: datetime | None = None


class ReceptionBooking(SQLModel, table=True):
    """A citizen's appointment in a reception slot about one of their cases: ``booked`` (a
    place), ``waiting`` (the waiting list, first come first served) or ``cancelled``. Each
    reminder is marked once in the transaction that queues it; ``outcome`` is what the leader
    recorded on the case after the reception (the lifecycle's ``reception`` step)."""

    __table_args__ = (Index("ix_receptionbooking_slot_status", "slot_id", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="receptionslot.id")
    case_id: int = Field(foreign_key="case.id", index=True)
    citizen_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    matter: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="booked", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    promoted_at: datetime | None = None     # moved up from the waiting list
    cancelled_at: datetime | None = None
    cancelled_by: str = Field(default="", max_length=16)   # citizen, reschedule, slot
    reminded_day_at: datetime | None = None
    reminded_soon_at: datetime | None = None
    outcome: str = Field(default="", max_length=16)
    outcome_at: datetime | None = None
