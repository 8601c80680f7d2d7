"""Assembles the framework-free application: settings → storage → nlp → engine.

Front ends get an ``App`` and only translate between their framework and ``Engine.handle``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.engine.core import ClassifierSource, Engine, OutgoingHook
from config.catalog import Catalog
from config.settings import Settings
from nlp.api import Classifier
from storage.db import create_engine, session_factory, write_gate
from storage.migrate import upgrade


@dataclass
class App:
    settings: Settings
    db: AsyncEngine
    engine: Engine

    async def close(self) -> None:
        await self.db.dispose()


def default_classifier_loader(settings: Settings) -> Callable[[], Classifier]:
    def load() -> Classifier:
        from nlp import load_classifier

        return load_classifier(settings.config_dir)

    return load


def default_router(settings: Settings) -> Callable[[str, str, str], str]:
    from nlp import route_category

    return lambda level1, level2, level3: route_category(level1, level2, level3,
                                                         config_dir=settings.config_dir)


async def build_app(settings: Settings, *, migrate: bool = True,
                    classifier_loader: Callable[[], Classifier] | None = None,
                    on_outgoing: OutgoingHook | None = None) -> App:
    """Upgrade the schema, open the database, start warming the classifier up (in a thread:
    the caller's event loop keeps answering meanwhile) and build the engine."""
    if migrate:
        await upgrade(settings.database_url)
    db = create_engine(settings.database_url)
    source = ClassifierSource(classifier_loader or default_classifier_loader(settings))
    source.warm_up()
    engine = Engine(sessions=session_factory(db), catalog=Catalog(settings.config_dir),
                    classifier=source, settings=settings, route=default_router(settings),
                    on_outgoing=on_outgoing, write_gate=write_gate(settings.database_url))
    return App(settings=settings, db=db, engine=engine)
