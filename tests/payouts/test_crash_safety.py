"""Crash safety: SIGKILL the batch at random points, restart, finish, lose nothing.

Each command is one transaction (and the payout file is written to a temporary name
and renamed), so a process killed anywhere leaves either nothing or everything; the
rerun then finishes the month exactly as an uninterrupted run does.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from payouts.batch.models import Batch
from payouts.db import make_engine, normalise_url, unit_of_work
from payouts.facts.ingest import ingest
from payouts.ledger import LedgerEntry
from tests.api.cli import ROOT, environment, key_for, payouts
from tests.conftest import (
    BACKEND_URL,
    ON_POSTGRES,
    TEMPLATES,
    discard_database,
    migrate,
    owner_url_for,
    scratch_name,
)
from tests.payouts.program import Program

# 25 processes of the command line, each 1.5 s of start-up alone on an idle machine: at
# load 15, beside another xdist worker, the test went past the suite's 300 s; a hang is
# still caught (each process is waited for at most 300 s, and the test at most 900 s).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
PERIOD = "2026-01"
KILLS_PER_STEP = 7  # x 3 steps = 21 kill points


def seed(url: str) -> None:
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        program = Program(session)
        plan = program.plan("referral", minimum_payout="0")
        customers = [{"id": f"CX-{n}", "name": f"Customer {n}"} for n in range(60)]
        ingest(session, "customers", customers, actor="crm")
        for n in range(60):
            program.partner(f"P-{n:02d}", plan, kind="referral")
            program.deal(f"P-{n:02d}", "referral", day="2026-01-01", customer=f"CX-{n}")
        invoices = [
            {
                "id": f"INV-{n}-{k}",
                "customer_id": f"CX-{n}",
                "issue_date": f"2026-01-{k + 1:02d}",
                "amount": f"{100 + n * 7 + k}.25",
                "currency": "USD",
            }
            for n in range(60)
            for k in range(25)
        ]
        ingest(session, "invoices", invoices, actor="billing")
    engine.dispose()


class Databases:
    """Copies of seeded databases at each stage of the month (seeded, approved, closed).

    A copy is handed to the session's janitor (`tests.conftest.Janitor`) as soon as
    the test is done with it (`copy` is a context). Every DROP DATABASE makes PostgreSQL
    checkpoint, which writes out the dirty pages of every other database, while the
    dropped one's own pages are discarded unwritten: dropped together at the end, the
    first DROP wrote out what the test had left in all the other copies. Their names
    start with the run's database, so that `.ci/pgdb.py drop` finds those a killed run
    left behind.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.names: list[str] = []
        self.stages: dict[str, str] = {}

    def _url(self, name: str) -> str:
        return normalise_url(BACKEND_URL).set(database=name).render_as_string(False)

    def _new_name(self) -> str:
        return scratch_name("crash")

    def _admin(self, sql: str) -> None:
        admin = create_engine(owner_url_for(self._url("postgres")), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(sql))
        finally:
            admin.dispose()

    def migrated(self) -> str:
        """A new database at the newest schema (a copy of the session's migrated one)."""
        name, url = TEMPLATES.copy("migrated", migrate, self.root)
        if name:
            self.names.append(name)
        return url

    def keep(self, stage: str, url: str) -> None:
        self.stages[stage] = url

    def lasting_copy(self, stage: str) -> str:
        """A copy of the database kept at `stage`, dropped with the module's."""
        return self._copy(self.stages[stage], self._new_name())

    @contextmanager
    def copy(self, stage: str) -> Iterator[str]:
        """A copy of the database kept at `stage`, dropped when the context ends."""
        name = self._new_name()
        url = self._copy(self.stages[stage], name)
        try:
            yield url
        finally:
            if ON_POSTGRES:
                self._discard(name)

    def _copy(self, source: str, name: str) -> str:
        if ON_POSTGRES:
            template = normalise_url(source).database
            # Autovacuum may be visiting the template for a moment: try again then.
            for attempt in range(50):
                try:
                    self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                    break
                except OperationalError as exc:
                    if "being accessed by other users" not in str(exc) or attempt == 49:
                        raise
                    time.sleep(0.1)
            self.names.append(name)
            return self._url(name)
        path = self.root / f"{name}.db"
        # The backup API copies what is committed, WAL included (a file copy would not).
        with (
            closing(sqlite3.connect(normalise_url(source).database or "")) as src,
            closing(sqlite3.connect(path)) as dst,
        ):
            src.backup(dst)
        return f"sqlite:///{path}"

    def _discard(self, name: str) -> None:
        discard_database(name)  # dropped by the session's janitor: the test goes on at once
        self.names.remove(name)

    def drop(self) -> None:
        for name in reversed(self.names):
            self._discard(name)


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("crash"))
    yield dbs
    dbs.drop()


RUN = ("alice", "batch", "run", PERIOD, "--workers", "1")
APPROVE = ("bob", "batch", "approve", PERIOD)
CLOSE = ("bob", "batch", "close", PERIOD)
EXPORT = ("bob", "batch", "export", PERIOD, "--format", "csv", "--out", "{out}")
KEYS: dict[str, str] = {}
"""Holder -> API key, made in the seeded database (so every copy knows them)."""


def start(step: tuple[str, ...], url: str, out: Path) -> subprocess.Popen[bytes]:
    holder, *command = step
    env = {k: v for k, v in environment(url, KEYS.get(holder)).items() if v is not None}
    args = [sys.executable, "-m", "api.cli", *(a.format(out=out) for a in command)]
    env = {**os.environ, **env}
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def step_in_process(step: tuple[str, ...], url: str, out: Path) -> None:
    holder, *command = step
    run = payouts(*(a.format(out=out) for a in command), database_url=url, key=KEYS.get(holder))
    assert run.code == 0, run.err


def finish(url: str, out: Path) -> None:
    """Complete the month from wherever a crash left it."""
    engine = make_engine(url)
    with engine.connect() as conn:
        status = conn.execute(select(Batch.status).where(Batch.period == PERIOD)).scalar()
    engine.dispose()
    remaining = {
        None: (RUN, APPROVE, CLOSE, EXPORT),
        "draft": (APPROVE, CLOSE, EXPORT),
        "approved": (CLOSE, EXPORT),
        "closed": (EXPORT,),
    }[status]
    for step in remaining:
        step_in_process(step, url, out)


def snapshot(url: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                LedgerEntry.period,
                LedgerEntry.partner_id,
                LedgerEntry.line_no,
                LedgerEntry.entry_kind,
                LedgerEntry.source_fact,
                LedgerEntry.amount_minor,
            ).order_by(LedgerEntry.partner_id, LedgerEntry.line_no)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def timed(step: tuple[str, ...], url: str, out: Path) -> float:
    out.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    process = start(step, url, out)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return time.perf_counter() - begin


def test_a_month_killed_at_random_points_finishes_as_if_never_interrupted(
    databases: Databases, tmp_path: Path
) -> None:
    seeded = databases.migrated()
    seed(seeded)
    KEYS.update({holder: key_for(seeded, holder) for holder in ("alice", "bob")})
    databases.keep("seeded", seeded)
    approved = databases.lasting_copy("seeded")
    for step in (RUN, APPROVE):
        step_in_process(step, approved, tmp_path)
    databases.keep("approved", approved)
    closed = databases.lasting_copy("approved")
    step_in_process(CLOSE, closed, tmp_path)
    databases.keep("closed", closed)
    expected_ledger, expected_file = uninterrupted(databases, tmp_path / "reference")
    killed = kill_at_random_points(databases, tmp_path, expected_ledger, expected_file)
    assert killed >= 20


def uninterrupted(databases: Databases, out: Path) -> tuple[list[tuple[object, ...]], bytes]:
    """The ledger and the payout file of the month run without a crash."""
    out.mkdir()
    with databases.copy("seeded") as reference:
        finish(reference, out)
        expected_ledger = snapshot(reference)
    expected_file = (out / f"payouts-{PERIOD}.csv").read_bytes()
    assert len(expected_ledger) > 1500
    assert expected_file.count(b"\n") == 61
    return expected_ledger, expected_file


def kill_at_random_points(
    databases: Databases,
    tmp_path: Path,
    expected_ledger: list[tuple[object, ...]],
    expected_file: bytes,
) -> int:
    """Kill each step at random moments, finish the month, compare; the kills made."""
    startup = timed(("nobody", "--help"), databases.stages["seeded"], tmp_path)
    rng = random.Random(20261123)
    killed = 0
    for stage, step in (("seeded", RUN), ("approved", CLOSE), ("closed", EXPORT)):
        with databases.copy(stage) as url:
            duration = timed(step, url, tmp_path / "timing")
        for _ in range(KILLS_PER_STEP):
            out = tmp_path / f"crash-{killed}"
            out.mkdir()
            with databases.copy(stage) as url:
                process = start(step, url, out)
                time.sleep(rng.uniform(startup * 0.8, duration))
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=60)
                killed += 1
                finish(url, out)
                assert snapshot(url) == expected_ledger
            assert (out / f"payouts-{PERIOD}.csv").read_bytes() == expected_file
    return killed
