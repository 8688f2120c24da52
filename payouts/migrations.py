"""Creating and upgrading the schema, only ever through the Alembic migrations.

Migrations run as the schema owner. When the service connects as a role of its own
(PostgreSQL in production), the owner then grants that role its privileges
(`payouts.privileges`), in the same transaction: a schema is never left current but
unusable, or usable with more than the service needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from payouts import privileges
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


def upgrade(
    url: str,
    revision: str = "head",
    engine: Engine | None = None,
    *,
    service_url: str | None = None,
) -> SchemaState:
    """Migrate the database at `url` (the schema owner's) to `revision`, grant the role
    of `service_url` the service's privileges when it is another role, and return the
    resulting state."""
    own = engine is None
    engine = engine or make_engine(url)
    config = alembic_config()
    role = service_role(url, service_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if role is not None:
                privileges.grant(connection, role)
        return state(url, engine)
    except OperationalError as exc:
        raise DatabaseUnavailable(_describe(exc, url)) from None
    finally:
        if own:
            engine.dispose()  # the owner's connections do not outlive the migration


def service_role(owner_url: str, service_url: str | None) -> str | None:
    """The service's own PostgreSQL role, when it is not the owner's (else None)."""
    if service_url is None:
        return None
    owner, service = normalise_url(owner_url), normalise_url(service_url)
    if service.get_backend_name() != "postgresql" or not service.username:
        return None
    if service.username == owner.username:
        return None
    return service.username


def state(url: str, engine: Engine | None = None) -> SchemaState:
    """Which revision the database is at, against the newest shipped."""
    own = engine is None
    engine = engine or make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseUnavailable(_describe(exc, url)) from None
    finally:
        if own:
            engine.dispose()
    return SchemaState(current=current, head=head_revision())


def service_role_findings(url: str) -> list[str]:
    """What makes the role of `url` more than a least-privilege service role (PostgreSQL;
    nothing on SQLite, the single-user default)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.username:
        return []
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return privileges.findings(connection, parsed.username)
    except OperationalError as exc:
        raise DatabaseUnavailable(_describe(exc, url)) from None
    finally:
        engine.dispose()
