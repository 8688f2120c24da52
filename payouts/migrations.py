"""Creating and upgrading the schema, only ever through the Alembic migrations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from payouts.db import make_engine, normalise_url
from payouts.errors import DatabaseUnavailable

REPO_ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the repository always ships migrations
        raise DatabaseUnavailable("no migrations found")
    return head


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def _describe(exc: DBAPIError, url: str) -> str:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    safe = normalise_url(url).render_as_string(hide_password=True)
    return f"cannot reach the database {safe}: {reason}"


def upgrade(url: str, revision: str = "head", engine: Engine | None = None) -> SchemaState:
    """Migrate the database at `url` to `revision` and return the resulting state."""
    engine = engine or make_engine(url)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise DatabaseUnavailable(_describe(exc, url)) from None
    return state(url, engine)


def state(url: str, engine: Engine | None = None) -> SchemaState:
    """Which revision the database is at, against the newest shipped."""
    engine = engine or make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseUnavailable(_describe(exc, url)) from None
    return SchemaState(current=current, head=head_revision())
