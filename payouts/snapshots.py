"""One transaction's view of the database, read by other processes (PostgreSQL).

A batch run or a statement rendering splits its work over processes, forked here or
running on other machines. Each must read exactly what the splitting transaction
reads, so that the result does not depend on how the work was split: the transaction
exports its snapshot (`export`), and each process opens a read-only transaction that
imports it (`reading`). PostgreSQL lets a snapshot be imported while the exporting
transaction is open, and a snapshot shows committed rows only, so work is split only
when the transaction has written nothing yet (`untouched`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")
_INVALID_SNAPSHOT = "22023"  # invalid_parameter_value: the exporting transaction is over


class SnapshotGone(Exception):
    """The exporting transaction has ended: its snapshot can no longer be imported."""


def untouched(session: Session) -> bool:
    """Whether this is a PostgreSQL transaction that has written nothing yet.

    Asked before a run locks its period row (a row lock counts as a write)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return session.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NULL")) is True


def export(session: Session) -> str:
    """The id of this transaction's snapshot, for other processes to import."""
    snapshot = str(session.scalar(text("SELECT pg_export_snapshot()")))
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it is spliced into SQL by `reading`
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
    return snapshot


@dataclass(frozen=True, slots=True)
class Shared:
    """An exported snapshot and the database it lives in: what a forked process needs
    to read under it (`reading(shared.url, shared.snapshot)`)."""

    url: str
    snapshot: str


def share(session: Session) -> Shared:
    """This transaction's snapshot, exported, with the URL to read it at."""
    return Shared(url_of(session), export(session))


def url_of(session: Session) -> str:
    """The session's database URL, password included, for a process of this program
    to connect with (never printed)."""
    return session.get_bind().engine.url.render_as_string(hide_password=False)


@contextmanager
def reading(database: Engine | str, snapshot: str) -> Iterator[Session]:
    """A read-only session that sees exactly what the exporting transaction saw.

    `database` is an engine, or a URL for a connection of its own (a forked process
    never uses its parent's pooled connections). Raises `SnapshotGone` when the
    exporting transaction has ended."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    engine = create_engine(database, poolclass=NullPool) if isinstance(database, str) else database
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                try:
                    # Before any query of the transaction, as PostgreSQL requires.
                    connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                except DBAPIError as exc:
                    if getattr(exc.orig, "sqlstate", None) == _INVALID_SNAPSHOT:
                        raise SnapshotGone(snapshot) from None
                    raise
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                with Session(bind=connection) as session:
                    yield session
    finally:
        if isinstance(database, str):
            engine.dispose()
