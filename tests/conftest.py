"""Shared fixtures: one migrated database per test session, each test isolated.

`DATABASE_URL` selects the backend: unset (or sqlite) runs on a fresh SQLite file;
a PostgreSQL URL runs on that database, which `.ci/run` creates fresh for the run.
With `DATABASE_OWNER_URL` too (as `.ci/run` sets it), the tests run as production
does: migrations as the schema owner, everything else as the service's own role,
which owns nothing (`payouts.privileges`).
Each test gets a session inside an outer transaction that is rolled back at the end
(services flush and use savepoints; they never commit), so tests never see each
other's rows. Tests that need real commits (the CLI, concurrency) use `fresh_url` (an
empty database) or `migrated_url` (one at the newest schema, copied from a database
migrated once a session: `copy_of`).

Under pytest-xdist (`-n 2`) each worker process runs its tests on a PostgreSQL
database of its own, named after the run's (`<database>_gw0`, ...), which the worker
creates and drops; every database a test makes is named after it too (`scratch_name`).
"""

from __future__ import annotations

import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from payouts import migrations
from payouts.db import make_engine, normalise_url
from payouts.errors import DatabaseUnavailable

os.environ.setdefault("SECOND_FACTOR_KEYS", Fernet.generate_key().decode())
"""The tests' own key for second-factor secrets (a new one each session), as the demo
writes its own: set before anything reads the settings, and inherited by every command
a test starts."""

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
"""pytest-xdist's name for this process (gw0, gw1, ...); empty in a run of one process."""


def _for_this_worker(variable: str) -> str:
    """The URL in `variable`, pointed at this worker's own database under pytest-xdist
    (and the variable set so, for code that reads the settings)."""
    url = os.environ.get(variable, "").strip()
    if not WORKER or not url.startswith(("postgresql", "postgres://")):
        return url
    parsed = make_url(url)
    url = parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)
    os.environ[variable] = url
    return url


BACKEND_URL = _for_this_worker("DATABASE_URL")
ON_POSTGRES = BACKEND_URL.startswith(("postgresql", "postgres://"))
OWNER_URL = _for_this_worker("DATABASE_OWNER_URL") or BACKEND_URL
SERVICE_ROLE = migrations.service_role(OWNER_URL, BACKEND_URL) if ON_POSTGRES else None
"""The service's own role when the tests run with two roles, else None."""


def owner_url_for(url: str) -> str:
    """The schema owner's URL for a database the tests use (the same URL with one role)."""
    if SERVICE_ROLE is None or not url.startswith("postgresql"):
        return url
    try:
        parsed = normalise_url(url)
    except DatabaseUnavailable:  # a test of a malformed URL: nothing to swap
        return url
    owner = normalise_url(OWNER_URL)
    return parsed.set(username=owner.username, password=owner.password).render_as_string(
        hide_password=False
    )


def migrate(url: str) -> migrations.SchemaState:
    """Migrate as the schema owner and grant the service role, as `payouts db upgrade`."""
    return migrations.upgrade(owner_url_for(url), service_url=url)


def scratch_name(kind: str) -> str:
    """A new name for a database a test makes: the run's database, `kind`, a random part.

    Named after the run's, so that `.ci/pgdb.py drop` finds those a killed run left
    (on SQLite, a file name in the test's own directory)."""
    run = normalise_url(BACKEND_URL).database if ON_POSTGRES else "pp"
    return f"{run}_{kind}_{uuid.uuid4().hex[:12]}"


def create_database(kind: str, template: str | None = None) -> tuple[str, str]:
    """A new PostgreSQL database owned by the schema owner: (name, service URL); empty,
    or a copy of the database `template` (which nobody may be connected to)."""
    name = scratch_name(kind)
    _create(name, template)
    return name, _server_url(BACKEND_URL, name)


def _create(name: str, template: str | None = None) -> None:
    statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    # Autovacuum may be visiting the template for a moment: try again then.
    for attempt in range(100):
        try:
            _as_administrator(statement)
            return
        except OperationalError as exc:
            if "being accessed by other users" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.1)


def drop_database(name: str) -> None:
    _as_administrator(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Janitor:
    """Drops the databases the tests are done with, in a thread of its own.

    Every DROP DATABASE makes PostgreSQL checkpoint and waits for it (dbcommands.c,
    `dropdb`): the writing out of every other database's dirty pages, which the test
    that made the database need not wait for. Each is dropped alone, as soon as it is
    handed over: a DROP discards its own database's dirty pages unwritten, but its
    checkpoint writes out those of the others, those waiting to be dropped included.
    """

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []

    def discard(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="janitor", daemon=True)
            self._thread.start()
        self._names.put(name)

    def _work(self) -> None:
        while (name := self._names.get()) is not None:
            try:
                drop_database(name)
            except Exception as exc:  # reported by `finish`, at the session's end
                self.failures.append(f"{name}: {str(exc).splitlines()[0]}")

    def finish(self) -> list[str]:
        """Wait for the last drop; the databases that could not be dropped, and why."""
        if self._thread is not None:
            self._names.put(None)
            self._thread.join()
            self._thread = None
        return self.failures


JANITOR = Janitor()


def discard_database(name: str) -> None:
    """Drop the database `name` without waiting (`Janitor`); the session waits at its end."""
    JANITOR.discard(name)


@pytest.fixture(scope="session", autouse=True)
def _databases_dropped() -> Iterator[None]:
    """Every database handed to the janitor is gone by the session's end (a database
    left behind is an error of the session, not a silent leftover)."""
    yield
    assert not JANITOR.finish(), f"databases not dropped: {JANITOR.failures}"


def _as_administrator(statement: str) -> None:
    admin = create_engine(_server_url(OWNER_URL, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


class Templates:
    """Databases built once a session and copied for each test that asks for one.

    A migration takes seconds and a demo program many; a copy takes a fraction of a
    second (PostgreSQL: `CREATE DATABASE ... TEMPLATE`; SQLite: the backup API, which
    copies what is committed, WAL included). A template is closed to connections once
    built, so that no test can change what the next one copies.
    """

    def __init__(self) -> None:
        self.built: dict[str, str] = {}
        """What was built -> the template: its database name, or its SQLite file."""
        self._directory: Path | None = None

    def copy(self, kind: str, build: Callable[[str], object], directory: Path) -> tuple[str, str]:
        """A new database holding what `build(url)` made in an empty one: (PostgreSQL
        name or "", URL). `directory` holds a SQLite copy."""
        if kind not in self.built:
            self.built[kind] = self._build(kind, build)
        template = self.built[kind]
        if ON_POSTGRES:
            return create_database(kind, template)
        path = directory / f"{kind}-{uuid.uuid4().hex[:8]}.db"
        with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)
        return "", f"sqlite:///{path}"

    def _build(self, kind: str, build: Callable[[str], object]) -> str:
        if not ON_POSTGRES:
            self._directory = self._directory or Path(tempfile.mkdtemp(prefix="pp-templates-"))
            path = self._directory / f"{kind}.db"
            build(f"sqlite:///{path}")
            return str(path)
        name = f"{normalise_url(BACKEND_URL).database}_template_{kind}"
        drop_database(name)  # left by a run that was killed
        _create(name)
        build(_server_url(BACKEND_URL, name))
        _as_administrator(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        _as_administrator(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        return name

    def drop(self) -> None:
        if ON_POSTGRES:
            for name in self.built.values():
                drop_database(name)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self.built.clear()


TEMPLATES = Templates()


@contextmanager
def copy_of(kind: str, build: Callable[[str], object], directory: Path) -> Iterator[str]:
    """A new database holding what `build(url)` makes in an empty one, built once a
    session (`Templates`); dropped afterwards. `directory` holds a SQLite copy."""
    name, url = TEMPLATES.copy(kind, build, directory)
    try:
        yield url
    finally:
        if name:
            discard_database(name)


def migrated_copy(directory: Path) -> AbstractContextManager[str]:
    """A new database at the newest schema, the service role granted (as `migrate`)."""
    return copy_of("migrated", migrate, directory)


def pytest_sessionfinish() -> None:
    TEMPLATES.drop()


def pytest_report_header() -> str:
    if ON_POSTGRES:
        safe = normalise_url(BACKEND_URL).render_as_string(hide_password=True)
        roles = (
            f", service role {SERVICE_ROLE}, schema owner {normalise_url(OWNER_URL).username}"
            if SERVICE_ROLE
            else ", one role"
        )
        return f"database backend: PostgreSQL ({safe}{roles})"
    return "database backend: SQLite"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip)
    if WORKER:
        _share_out(items)


def _share_out(items: list[pytest.Item]) -> None:
    """How pytest-xdist's workers share the tests (`--dist loadgroup`): a module's tests
    stay together on one worker, so that its module fixtures are built once; the `slow`
    tests, which start processes of their own and time them, run one after another on
    one worker, and first, while the other workers take the rest."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            group = "slow" if "slow" in item.keywords else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: "slow" not in item.keywords)  # stable: the rest in order


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'payouts.db'}"
        return
    if not WORKER:
        yield BACKEND_URL
        return
    name = normalise_url(BACKEND_URL).database or ""
    drop_database(name)  # left by a run that was killed
    _create(name)
    try:
        yield BACKEND_URL
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def owner_engine(database_url: str, engine: Engine) -> Iterator[Engine]:
    """The same database as the schema owner (the same engine with one role)."""
    if owner_url_for(database_url) == database_url:
        yield engine
        return
    owner = make_engine(owner_url_for(database_url))
    yield owner
    owner.dispose()


@pytest.fixture
def session(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Session]:
    """A session in a transaction rolled back after the test, as the service's role;
    as the schema owner for a test marked `as_owner` (one that tampers with the
    database to prove a trigger refuses even the owner, or to fake a corruption)."""
    if request.node.get_closest_marker("as_owner") is not None:
        engine = request.getfixturevalue("owner_engine")
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

    DATABASE_URL (and DATABASE_OWNER_URL) are pointed at it for code that reads the
    settings (the CLI).
    """
    if ON_POSTGRES:
        name, url = create_database("test")
    else:
        name, url = "", f"sqlite:///{tmp_path / 'fresh.db'}"
    try:
        yield from _settings_on(url, monkeypatch)
    finally:
        if name:
            discard_database(name)


@pytest.fixture
def migrated_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """As `fresh_url`, a database at the newest schema (a copy: `migrated_copy`)."""
    with migrated_copy(tmp_path) as url:
        yield from _settings_on(url, monkeypatch)


def _settings_on(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings at `url` for the test."""
    from payouts.db import engine_for
    from payouts.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_OWNER_URL", owner_url_for(url))
    get_settings.cache_clear()
    try:
        yield url
    finally:
        get_settings.cache_clear()
        engine_for.cache_clear()
