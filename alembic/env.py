"""Alembic environment: the same metadata and DATABASE_URL as the service.

`payouts db upgrade` passes its own connection in `config.attributes["connection"]`
so migrations run with the engine's SQLite behaviour (foreign keys, BEGIN IMMEDIATE).
"""

from __future__ import annotations

from alembic import context

from payouts.db import engine_for
from payouts.schema import include_name, metadata
from payouts.settings import get_settings

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().database_url,
        target_metadata=metadata,
        include_name=include_name,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_for(get_settings().database_url)
    with engine.connect() as conn:
        _run(conn)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        include_name=include_name,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
