"""Engines and sessions for the embedded SQLite default and for PostgreSQL.

SQLite is tuned so that it behaves like a small server: foreign keys on, WAL so
readers do not block the writer, a busy timeout, and every transaction opened with
BEGIN IMMEDIATE so two writers queue for the lock instead of failing half-way with
"database is locked" when one upgrades a read lock to a write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session

from payouts.errors import DatabaseUnavailable
from payouts.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 10,
    # psycopg prepares a statement run five times on a connection, and PostgreSQL may
    # then plan it once for any parameters. A lookup of ids prepared while a table is
    # small (early in a long import, whose rows no ANALYZE sees before the commit) kept
    # a sequential scan against a 5,000-value IN list as the table grew: importing
    # 120,000 invoices took 200 s instead of 22 s. Plan each execution for its values.
    "options": "-c plan_cache_mode=force_custom_plan",
}
READ_ONLY = "payouts_read_only"


def normalise_url(raw: str) -> URL:
    """Parse a DATABASE_URL, choosing the psycopg 3 driver for PostgreSQL.

    Raises DatabaseUnavailable with a one-line reason for anything unusable.
    """
    text = raw.strip()
    if not text:
        raise DatabaseUnavailable("DATABASE_URL is empty")
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    # The raw text is never repeated in a message: it may hold a password.
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise DatabaseUnavailable(
            "DATABASE_URL is not a database URL (e.g. postgresql://user@host:5432/db)"
        ) from None
    if "@" in (url.host or ""):
        # An unescaped '@' in a password: the rest of the password would be taken for
        # the host, and a connection error would print it.
        raise DatabaseUnavailable(
            "DATABASE_URL has more than one '@': percent-encode the password (%40 for '@')"
        )
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise DatabaseUnavailable("DATABASE_URL names no PostgreSQL database")
    elif backend == "sqlite":
        if url.database in (None, ""):
            raise DatabaseUnavailable("DATABASE_URL names no SQLite file")
    else:
        raise DatabaseUnavailable(
            f"unsupported database {backend!r} in DATABASE_URL (use sqlite or postgresql)"
        )
    return url


def is_sqlite(url: URL | str) -> bool:
    parsed = url if isinstance(url, URL) else normalise_url(url)
    return parsed.get_backend_name() == "sqlite"


def _install_sqlite_behaviour(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy: the driver must not emit its own
        # deferred BEGIN, so that the "begin" hook below decides how to start one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A read-only unit of work needs no write lock; everything else takes it up front.
        deferred = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def make_engine(raw_url: str) -> Engine:
    """A new engine for the URL, with the SQLite behaviour installed when relevant."""
    url = normalise_url(raw_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        except NoSuchModuleError as exc:  # pragma: no cover - sqlite3 is in the stdlib
            raise DatabaseUnavailable(str(exc)) from None
        _install_sqlite_behaviour(engine)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=POSTGRES_CONNECT_ARGS)
    except NoSuchModuleError as exc:
        raise DatabaseUnavailable(f"no driver for {url.drivername}: {exc}") from None


@lru_cache(maxsize=8)
def engine_for(raw_url: str) -> Engine:
    """The process-wide engine for a URL (one pool per database)."""
    return make_engine(raw_url)


def default_engine() -> Engine:
    return engine_for(get_settings().database_url)


@contextmanager
def unit_of_work(engine: Engine | None = None, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction at a command or request boundary: commit on success, else roll back.

    Services never commit; the edge that started the work does, here. A `read_only`
    unit is always rolled back and, on SQLite, does not take the write lock, so it
    never queues behind a writer.
    """
    # A plain Session, not a sessionmaker: building a sessionmaker makes a new Session
    # subclass (and its event dispatch) every time, which costs more than the unit of
    # work of a small request. The read-only flag reaches the "begin" hook through the
    # session's execution options, which are set on its connection before BEGIN.
    session = Session(
        bind=engine or default_engine(),
        expire_on_commit=False,
        execution_options={READ_ONLY: True} if read_only else {},
    )
    try:
        yield session
        if read_only:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_only_connection(engine: Engine | None = None) -> Iterator[Connection]:
    """A read-only transaction on a plain connection (no ORM), always rolled back.

    For the few Core queries of a request's edge, e.g. checking an API key on every
    request, where an ORM session would cost more than the query. Like a read-only
    `unit_of_work`, it never takes SQLite's write lock.
    """
    with (engine or default_engine()).connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        connection.begin()
        try:
            yield connection
        finally:
            connection.rollback()
