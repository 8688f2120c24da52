"""A parallel `batch run` killed with SIGKILL leaves nothing behind that blocks the month.

The run forks worker processes (`payouts.batch.parallel`). When the run itself is
killed, its workers must die with it and must not keep the run's connection to
PostgreSQL open: a server session lives on while any process holds its socket, and
the run's session holds the period's advisory lock, the period row's lock and an open
transaction. Left behind, they refuse every later run of the month as busy and make
fact imports for it wait forever.

The real command line runs in a session (process group) of its own and is killed at
random moments around its workers' lifetime, seeded: set KILL_SEED to replay the
moments a failure printed. After each kill: no process of the group lives on, no
session of the database holds the period's lock or an open transaction, an invoice of
the month imports without waiting, and the month runs again.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from demo import program as demo
from payouts.batch import service as batch
from payouts.batch.errors import BatchBusy
from payouts.db import make_engine, unit_of_work
from payouts.facts.ingest import ingest
from payouts.facts.models import Deal
from tests.api.cli import ROOT, environment, key_for

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

KILLS = 20
# Enough partners for two workers (parallel.MIN_WORKER_PARTNERS each): a run of the
# command takes about 2.5 s here, 1.5 s of it starting Python and importing.
PARTNERS, DEALS_PER_MONTH, INVOICE_LINES = 600, 2.0, 5
SERVER_GRACE = 5.0  # seconds the server may take to notice a dead client
KERNEL_GRACE = 2.0  # seconds the kernel may take to finish killing a process
IMPORT_WAIT = "3s"  # longer than any import of one invoice; a longer wait is a hang
MARGIN = 0.25  # seconds before the workers start and after they end where kills land too


def batch_run_command(period: str, database_url: str, key: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of `payouts batch run` with two workers.

    The one place that says who runs the batch: the finance key in the environment."""
    argv = [sys.executable, "-m", "api.cli", "batch", "run", period, "--workers", "2"]
    acting = {k: v for k, v in environment(database_url, key).items() if v is not None}
    return argv, {**os.environ, **acting}


def start_run(month: MonthUnderTest) -> subprocess.Popen[bytes]:
    argv, env = batch_run_command(month.period, month.url, month.key)
    with month.stderr.open("wb") as stderr:
        # A session of its own: the run and its workers are the only members of its group.
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )


def living_members(group: int) -> list[int]:
    """Processes of the group that have not died (zombies waiting for init count as dead)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state not in ("Z", "X"):
            members.append(int(entry.name))
    return sorted(members)


def eventually(check: Callable[[], list[str]], seconds: float) -> list[str]:
    """Poll `check` until it finds nothing wrong or `seconds` pass; what it found last."""
    deadline = time.monotonic() + seconds
    while (found := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


LEFT_BEHIND = text(
    """
    SELECT a.pid, a.state, a.wait_event, left(a.query, 60) AS query,
           EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory')
               AS advisory
    FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
      AND (a.xact_start IS NOT NULL
           OR EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory'))
    """
)


def sessions_left_behind(observer: Engine) -> list[str]:
    """Sessions of the database inside a transaction or holding an advisory lock (the
    period's batch lock is the only one the product takes)."""
    with observer.connect() as conn:
        rows = conn.execute(LEFT_BEHIND).all()
    return [
        f"backend {r.pid} {r.state} ({r.wait_event})"
        + (" holding the period's lock" if r.advisory else "")
        + f": {r.query}"
        for r in rows
    ]


@dataclass
class MonthUnderTest:
    """The month the runs calculate, with what is asked of it after each kill."""

    engine: Engine
    url: str
    period: str
    deal: tuple[str, str, str]  # id, customer, currency of a deal of the month
    stderr: Path  # of the last run started
    key: str  # the finance key the command line runs with
    imported: int = 0

    def import_an_invoice(self) -> str | None:
        """Import one invoice for the month, waiting at most IMPORT_WAIT for any lock."""
        self.imported += 1
        deal_id, customer, currency = self.deal
        try:
            with unit_of_work(self.engine) as session:
                session.execute(text(f"SET LOCAL lock_timeout = '{IMPORT_WAIT}'"))
                invoice = {
                    "id": f"INV-AFTER-KILL-{self.imported}",
                    "customer_id": customer,
                    "deal_id": deal_id,
                    "issue_date": f"{self.period}-20",
                    "amount": "100.00",
                    "currency": currency,
                }
                ingest(session, "invoices", [invoice], actor="billing")
        except OperationalError as exc:  # lock_timeout: it would have waited for ever
            return f"a fact import hung: {str(exc).splitlines()[0]}"
        return None

    def run(self) -> str | None:
        try:
            with unit_of_work(self.engine) as session:
                session.execute(text(f"SET LOCAL lock_timeout = '{IMPORT_WAIT}'"))
                batch.run(session, self.period, actor="carol", workers=2)
        except BatchBusy as exc:
            return f"the next run was refused: {exc}"
        except OperationalError as exc:  # lock_timeout: it would have waited for ever
            return f"the next run waited on a lock: {str(exc).splitlines()[0]}"
        return None


@pytest.fixture
def month(migrated_url: str, tmp_path: Path) -> Iterator[MonthUnderTest]:
    """A one-month program big enough to be split over two workers, committed."""
    engine = make_engine(migrated_url)
    key = key_for(migrated_url, "alice")
    with unit_of_work(engine) as session:
        program = demo.generate(
            session,
            PARTNERS,
            1,
            seed=7,
            bulk=True,
            deals_per_month=DEALS_PER_MONTH,
            invoice_lines=INVOICE_LINES,
        )
        period = program.periods[0]
        deal = session.execute(
            select(Deal.id, Deal.customer_id, Deal.currency)
            .where(Deal.accounting_period == period)
            .order_by(Deal.id)
            .limit(1)
        ).one()
    deal_of_month = (deal.id, deal.customer_id, deal.currency)
    yield MonthUnderTest(engine, migrated_url, period, deal_of_month, tmp_path / "stderr", key)
    engine.dispose()


def workers_lifetime(month: MonthUnderTest) -> tuple[float, float]:
    """When, in seconds after its start, a whole run's workers were first and last seen."""
    process = start_run(month)
    begin = time.perf_counter()
    seen: list[float] = []
    while process.poll() is None:
        if len(living_members(process.pid)) > 1:
            seen.append(time.perf_counter() - begin)
        time.sleep(0.01)
    assert process.returncode == 0, month.stderr.read_text()
    assert seen, "the run was not split over workers"
    return seen[0], seen[-1]


@dataclass
class Kill:
    moment: float
    workers: int = 0  # processes of the run besides itself at the moment it was killed
    problems: list[str] = field(default_factory=list)
    waited: float = 0.0  # until the run's processes and sessions were gone


def kill_a_run(month: MonthUnderTest, observer: Engine, moment: float) -> Kill:
    """Start the run, SIGKILL it after `moment` seconds, and see what it left behind."""
    kill = Kill(moment)
    process = start_run(month)
    time.sleep(moment)
    if process.poll():  # it ended by itself, and not well: refused, after the last kill?
        kill.problems.append(f"the run failed: {month.stderr.read_text().strip()}")
    kill.workers = max(0, len(living_members(process.pid)) - 1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed = time.perf_counter()
    if survivors := eventually(lambda: living_members(process.pid), KERNEL_GRACE):
        kill.problems.append(f"processes of the run survived: {survivors}")
    kill.problems += eventually(lambda: sessions_left_behind(observer), SERVER_GRACE)
    kill.waited = time.perf_counter() - killed
    kill.problems += [p for p in (month.import_an_invoice(), month.run()) if p]
    if kill.problems:  # clear the wreckage, so that the next kill is judged on its own
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        eventually(lambda: sessions_left_behind(observer), SERVER_GRACE)
    return kill


def test_a_parallel_run_killed_at_any_moment_leaves_no_worker_no_lock_and_the_month_runs(
    month: MonthUnderTest,
) -> None:
    forked, done = workers_lifetime(month)
    seed = int(os.environ.get("KILL_SEED", time.time_ns() % 1_000_000))
    print(f"KILL_SEED={seed}: a run's workers lived from {forked:.2f} s to {done:.2f} s")
    rng = random.Random(seed)
    observer = make_engine(month.url).execution_options(isolation_level="AUTOCOMMIT")
    # Around the workers' lifetime: just before them and just after, too.
    moments = [rng.uniform(forked - MARGIN, done + MARGIN) for _ in range(KILLS)]
    kills = [kill_a_run(month, observer, moment) for moment in moments]
    observer.dispose()

    among_workers = sum(1 for k in kills if k.workers)
    print(
        f"{among_workers} of {KILLS} kills caught workers running; the run's processes and "
        f"sessions were gone {max(k.waited for k in kills):.2f} s after a kill at most"
    )
    failed = [
        f"kill {n} at {k.moment:.2f} s ({k.workers} workers): " + "; ".join(k.problems)
        for n, k in enumerate(kills, 1)
        if k.problems
    ]
    assert not failed, f"{len(failed)} of {KILLS} kills (KILL_SEED={seed}):\n" + "\n".join(failed)
    assert among_workers, "no kill caught the workers running"
