"""Alembic environment: the URL comes from the caller (otklik db upgrade) or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import otklik.effects.models
import otklik.exchange.models
import otklik.identity.models
import otklik.improvement.models
import otklik.incidents.models
import otklik.indicators.models
import otklik.insights.models
import otklik.intake.models
import otklik.labs.models
import otklik.mszu.models
import otklik.outreach.models
import otklik.priorities.models
import otklik.registry.models
import otklik.reports.models
import otklik.roadmaps.models
import otklik.surveys.models  # noqa: F401 - register tables on the metadata
from otklik.config import get_settings
from otklik.db import resolve_database_url
from otklik.kit.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.attributes.get("url") or resolve_database_url(get_settings())
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
