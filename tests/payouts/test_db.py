"""The database layer: migrations, schema agreement and SQLite behaviour."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts import audit, migrations
from payouts.db import make_engine, normalise_url
from payouts.errors import DatabaseUnavailable
from payouts.schema import metadata
from tests.conftest import ON_POSTGRES, migrate


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrade_gives_the_same_tables_on_every_backend(engine: Engine, tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'reference.db'}"
    migrations.upgrade(sqlite_url)
    sqlite_tables = set(inspect(make_engine(sqlite_url)).get_table_names())
    active_tables = set(inspect(engine).get_table_names())
    assert active_tables == sqlite_tables
    assert {"partners", "reps", "customers", "audit_log", "alembic_version"} <= sqlite_tables


def test_upgrade_reports_the_schema_current(database_url: str, engine: Engine) -> None:
    state = migrations.state(database_url, engine)
    assert state.is_current
    assert state.current == migrations.head_revision()


def test_fresh_database_is_not_current_until_upgraded(fresh_url: str) -> None:
    before = migrations.state(fresh_url)
    assert before.current is None
    assert not before.is_current
    after = migrate(fresh_url)
    assert after.is_current


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("nonsense", "not a database URL"),
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("postgresql://postgres@127.0.0.1:1/none", "cannot reach the database"),
    ],
)
def test_unusable_database_url_names_the_problem(url: str, reason: str) -> None:
    with pytest.raises(DatabaseUnavailable, match=reason):
        migrations.upgrade(url)


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


@pytest.mark.as_owner
def test_audit_log_refuses_update_and_delete_even_in_raw_sql(session: Session) -> None:
    entry = audit.record(
        session,
        actor="alice",
        action="partner.create",
        subject_type="partner",
        subject_id="P-1",
        after={"name": "Acme"},
    )
    for statement in (
        "UPDATE audit_log SET actor = 'mallory' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ):
        savepoint = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement), {"id": entry.id})
        savepoint.rollback()
    assert [e.actor for e in audit.history(session, "partner", "P-1")] == ["alice"]


def test_an_appended_audit_entry_reads_back_like_a_recorded_one(session: Session) -> None:
    fields = {"actor": "key:k1:billing", "subject_type": "facts", "subject_id": "invoices"}
    audit.record(session, action="one", after={"inserted": 1}, **fields)
    audit.append(session, action="two", after={"inserted": 1}, **fields)
    audit.append(session, action="three", before={"status": "pending"}, **fields)
    one, two, three = audit.history(session, "facts", "invoices")
    assert [e.action for e in (one, two, three)] == ["one", "two", "three"]
    assert (two.actor, two.before, two.after) == (one.actor, one.before, one.after)
    assert (three.before, three.after) == ({"status": "pending"}, None)
    assert one.at <= two.at <= three.at
    assert two.at.tzinfo is not None
    raw = "SELECT before IS NULL FROM audit_log WHERE action IN ('one', 'two') ORDER BY id"
    assert len({row[0] for row in session.execute(text(raw))}) == 1


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite connection behaviour")
def test_sqlite_connections_enforce_foreign_keys_and_use_wal(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite write locking")
def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    """Two read-then-write transactions at once: with deferred BEGIN the second one
    fails with "database is locked" on upgrade; with BEGIN IMMEDIATE it waits."""
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def increment() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with engine.begin() as conn:
                    n = conn.exec_driver_sql("SELECT n FROM counter").scalar_one()
                    conn.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 50


@pytest.mark.parametrize("text", ["0000-01", "2026-13", "2026-1", "26-01", " "])
def test_a_period_outside_the_calendar_is_refused(text: str) -> None:
    from payouts.periods import InvalidPeriod, Month

    with pytest.raises(InvalidPeriod):
        Month.parse(text)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite write locking")
def test_a_read_only_unit_of_work_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    import time

    from payouts.db import read_only_connection, unit_of_work

    url = f"sqlite:///{tmp_path / 'reader.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with engine.connect() as writer:
        writer.begin()
        writer.exec_driver_sql("INSERT INTO t VALUES (2)")  # holds the write lock
        started = time.perf_counter()
        with unit_of_work(engine, read_only=True) as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
        with read_only_connection(engine) as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
        assert time.perf_counter() - started < 1.0
        writer.rollback()
    with read_only_connection(engine) as connection:  # and it is never committed
        connection.exec_driver_sql("INSERT INTO t VALUES (3)")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's plan cache")
def test_every_execution_is_planned_for_its_own_values(engine: Engine) -> None:
    """A generic plan made while a table was small kept a sequential scan against a
    5,000-id IN list through a long import (200 s instead of 22 s for 120,000 rows)."""
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == ("force_custom_plan")
