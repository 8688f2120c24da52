"""Shared fixtures: one migrated database per test session, each test isolated.

`DATABASE_URL` selects the backend: unset (or sqlite) runs on a fresh SQLite file;
a PostgreSQL URL runs on that database, which `.ci/run` creates fresh for the run.
Each test gets a session inside an outer transaction that is rolled back at the end
(services flush and use savepoints; they never commit), so tests never see each
other's rows. Tests that need real commits (the CLI, concurrency) use `fresh_url`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from payouts import migrations
from payouts.db import make_engine, normalise_url

BACKEND_URL = os.environ.get("DATABASE_URL", "").strip()
ON_POSTGRES = BACKEND_URL.startswith(("postgresql", "postgres://"))


def pytest_report_header() -> str:
    if ON_POSTGRES:
        safe = normalise_url(BACKEND_URL).render_as_string(hide_password=True)
        return f"database backend: PostgreSQL ({safe})"
    return "database backend: SQLite"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if ON_POSTGRES:
        return BACKEND_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'payouts.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrations.upgrade(database_url, engine=engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


def _server_url(url: str, database: str) -> str:
    return normalise_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture
def fresh_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty database of the active backend, named uniquely, dropped afterwards.

    DATABASE_URL is pointed at it for code that reads the settings (the CLI).
    """
    from payouts.settings import get_settings

    if ON_POSTGRES:
        name = f"pp_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_server_url(BACKEND_URL, "postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = _server_url(BACKEND_URL, name)
    else:
        name = ""
        admin = None
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield url
    finally:
        get_settings.cache_clear()
        if admin is not None:
            from payouts.db import engine_for

            engine_for.cache_clear()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
