"""Assembles the framework-free application: settings → storage → catalog → case service →
conversations (the registry of flows, buttons and commands) → engine.

Front ends get an ``App`` and only translate between their framework and ``Engine.handle``.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Outgoing
from bot.conversations import (
    appointment,
    buttons,
    intake,
    live,
    menu,
    progress,
    rating,
    staff,
    supplement,
    websignin,
)
from bot.conversations.common import stale_button
from bot.conversations.engine import Engine, OutgoingHook
from bot.conversations.flow import ClassifierSource, Registry, SameMatter
from cases.service import Access, CaseService
from config.catalog import Catalog
from config.settings import Settings
from nlp import load_classifier
from nlp.api import Classifier
from nlp.extract import Extractor
from storage.db import SQLITE_PREFIX, create_engine, session_factory, write_gate
from storage.migrate import upgrade

# Something served beside the chat on the same app (the web workspace): it gets the app and
# the front end's way of delivering messages (console: print them; Telegram: wake delivery).
Beside = Callable[["App", Callable[[list[Outgoing]], object]], Awaitable[None]]


@dataclass
class App:
    settings: Settings
    db: AsyncEngine
    engine: Engine
    # For pages and reports that only read: on SQLite their own connections, whose
    # transactions never take the write lock (the bot's writers are not held up).
    reader: AsyncEngine | None = None

    @cached_property
    def reads(self) -> async_sessionmaker[AsyncSession]:
        return session_factory(self.reader or self.db)

    async def close(self) -> None:
        if self.engine.matters is not None:
            await self.engine.matters.close()
        if self.reader is not None:
            await self.reader.dispose()
        await self.db.dispose()


def registry() -> Registry:
    """Every conversation, button and command of the chat, in one place."""
    return Registry(
        flows={intake.NAME: intake, progress.NAME: progress, supplement.NAME: supplement,
               rating.NAME: rating, appointment.NAME: appointment},
        buttons={
            buttons.Menu: menu.on_button, buttons.Intake: intake.on_button,
            buttons.AskQuery: progress.on_ask_query, buttons.OpenCase: progress.on_open_case,
            buttons.AddInfo: progress.on_add_info, buttons.Supplement: supplement.on_button,
            buttons.RateOverall: rating.on_overall, buttons.RateAspect: rating.on_aspect,
            buttons.NoComment: rating.on_no_comment, buttons.AskReview: rating.on_ask_review,
            buttons.CancelReview: rating.on_cancel_review,
            # reception days (预约接访)
            buttons.Appoint: appointment.on_start, buttons.PickSlot: appointment.on_pick_slot,
            buttons.WaitForSlot: appointment.on_wait, buttons.PickCase: appointment.on_pick_case,
            buttons.CancelBooking: appointment.on_cancel, buttons.MoveBooking: appointment.on_move,
            buttons.QuitAppointment: appointment.on_quit,
        },
        commands={**menu.COMMANDS, "web": websignin.cmd_web,
                  "appointment": appointment.cmd_appointment},
        idle=menu.idle_input,
        unknown_command=menu.unknown_command,
        stale_button=stale_button,
        staff=staff.on_staff_event,
        staff_buttons=staff.BUTTONS,
        before=live.citizen_before,
    )


def access(settings: Settings, catalog: Catalog) -> Access:
    """Who may act on cases, from the settings (intake staff) and the catalog (departments'
    handlers, leaders): the same for the chat and everything else."""
    return Access(intake=frozenset(settings.staff_user_ids),
                  handlers={key: frozenset(dep.staff) for key, dep in catalog.departments.items()},
                  leaders=frozenset(leader.user_id for leader in catalog.leaders))


async def build_app(settings: Settings, *, migrate: bool = True,
                    classifier_loader: Callable[[], Classifier] | None = None,
                    on_outgoing: OutgoingHook | None = None) -> App:
    """Upgrade the schema, open the database, start warming the classifier and the same-matter
    index up (in threads: the caller's event loop keeps answering meanwhile) and build the
    engine."""
    if migrate:
        await upgrade(settings.database_url)
    db = create_engine(settings.database_url)
    catalog = Catalog(settings.config_dir)
    source = ClassifierSource(classifier_loader
                              or (lambda: load_classifier(settings.config_dir)))
    source.warm_up()
    sessions = session_factory(db)
    reader = (create_engine(settings.database_url, reading=True)
              if settings.database_url.startswith(SQLITE_PREFIX) else None)
    matters = SameMatter(settings.config_dir)
    # read on the reader's connections: on SQLite the writers' begin with the write lock, and
    # an event's transaction (holding it) may be waiting for this very warm-up
    matters.warm_up(session_factory(reader or db))
    engine = Engine(sessions=sessions, catalog=catalog,
                    casework=CaseService(catalog.lifecycle, access(settings, catalog)),
                    classifier=source, settings=settings, registry=registry(),
                    extractor=Extractor(catalog.vocabulary),
                    on_outgoing=on_outgoing, write_gate=write_gate(settings.database_url),
                    matters=matters)
    return App(settings=settings, db=db, engine=engine, reader=reader)
