"""A distributed run whose worker is killed in the middle of a slice writes the draft a
single process writes: no line twice, none lost (`payouts.batch.jobs`).

Two `payouts worker`s run as OS processes of their own, connected to the run only
through the database and the broker (RabbitMQ at TEST_BROKER_URL, a queue of this
test's own). While the run waits for its slices, one worker is seen inside a slice
(its database session is in the transaction that reads the run's snapshot) and is
killed with SIGKILL; the broker gives its slice to the other worker.

The kill comes only once the broker knows all the worker told it: a worker that
acknowledged its job on taking it (what `task_acks_late` prevents) has written that
acknowledgement before it opens the slice's transaction, but a kill can throw away what
the kernel has not sent yet, and then the broker gives the job again anyway (the test
passed without late acknowledgement). So both workers are stopped (SIGSTOP: their
sockets stay open and what they wrote reaches the broker) at a moment one is inside a
slice, the broker's counts of the queue are read until they hold still
(`rabbitmqctl`), and only then is that worker killed and the other one let go on. A
job acknowledged early is then lost for sure: the run waits for its slice in vain and
fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from demo import program as demo
from payouts.batch import jobs
from payouts.db import make_engine, unit_of_work
from tests.api.cli import ROOT, environment, key_for

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

BROKER = os.environ.get("TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
# Four slices, each long enough to be caught in the middle.
PARTNERS, SLICE_PARTNERS, DEALS_PER_MONTH, INVOICE_LINES = 800, 200, 2.0, 4
SEEN_WITHIN = 90.0  # seconds for a worker to start and be seen inside a slice
RUN_WITHIN = 60.0  # seconds for the run to finish once a worker is killed
POOL = 2
"""Processes a worker calculates in (prefork): the worker's main process takes and
acknowledges jobs while its pool's processes calculate. (With one, the `solo` pool
calculates inside the loop that would send an early acknowledgement, which then leaves
only once the slice is done: it could not show a job lost.)"""
SETTLED_WITHIN = 30.0  # seconds for the broker to have taken in what stopped workers sent


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def _env(url: str, key: str | None, queue: str, name: str = "") -> dict[str, str]:
    acting = {k: v for k, v in environment(url, key).items() if v is not None}
    # A lost slice makes the run give up at once rather than wait for ever.
    env = {**os.environ, **acting, "BROKER_URL": BROKER, "WORKER_QUEUE": queue}
    env["WORKER_TIMEOUT"] = str(RUN_WITHIN / 2)
    env["BATCH_SLICE_PARTNERS"] = str(SLICE_PARTNERS)
    if name:  # the worker's database sessions carry its name (pg_stat_activity)
        sep = "&" if "?" in url else "?"
        env["DATABASE_URL"] = f"{url}{sep}application_name={name}"
    return env


def _draft(engine: Engine, period: str) -> tuple[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT draft_hash, line_count FROM batches WHERE period = :p"), {"p": period}
        ).one()
    return str(row.draft_hash), int(row.line_count)


def _inside_a_slice(engine: Engine, names: list[str]) -> str | None:
    """The name of a worker whose session is reading a slice (in its transaction)."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE application_name = ANY(:names) AND xact_start IS NOT NULL"
            ),
            {"names": names},
        ).first()
    return None if found is None else str(found[0])


def _queue_counts(queue: str) -> tuple[str, ...]:
    """The broker's ready and unacknowledged messages of `queue`, as rabbitmqctl says."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "messages_ready", "messages_unacknowledged"],
        capture_output=True,
        text=True,
        check=True,
        timeout=SETTLED_WITHIN,
    ).stdout
    return next(
        (tuple(line.split()[1:]) for line in listed.splitlines() if line.startswith(queue + "\t")),
        (),
    )


def _settled(queue: str) -> tuple[str, ...]:
    """The queue's counts once two readings in a row agree: with every worker stopped,
    nothing changes them but what the workers sent before they stopped."""
    deadline = time.monotonic() + SETTLED_WITHIN
    last = _queue_counts(queue)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = _queue_counts(queue)
        if now == last and now:
            return now
        last = now
    raise AssertionError(f"the broker's counts of {queue} did not settle: {last}")


def _signal(worker: subprocess.Popen[bytes], signum: int) -> None:
    """Signal a worker and its pool's processes (its process group), if any is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signum)


def _stopped_inside_a_slice(
    engine: Engine,
    workers: dict[str, subprocess.Popen[bytes]],
    queue: str,
    run: subprocess.Popen[str],
) -> str:
    """Stop the workers (SIGSTOP) at a moment one of them is inside a slice, and the
    broker has taken in all they sent; return that one's name.

    Looked at again once stopped: a worker seen inside a slice while running could
    finish it before being stopped. Seen inside one again once the broker's counts hold
    still: a commit of the slice that was on its way has landed by then."""
    deadline = time.monotonic() + SEEN_WITHIN
    while time.monotonic() < deadline and run.poll() is None:
        if _inside_a_slice(engine, list(workers)) is None:  # running: not yet
            time.sleep(0.005)
            continue
        for worker in workers.values():
            _signal(worker, signal.SIGSTOP)
        victim = _inside_a_slice(engine, list(workers))
        if victim is not None:
            _settled(queue)
            if _inside_a_slice(engine, [victim]) == victim:
                return victim
        for worker in workers.values():
            _signal(worker, signal.SIGCONT)
    raise AssertionError("no worker was seen inside a slice")


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own on the broker, deleted afterwards."""
    name = f"payouts-test-{uuid.uuid4().hex[:10]}"
    app = jobs.broker(BROKER)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        pytest.skip(f"no broker at {BROKER}: {type(exc).__name__}")
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is needed to see what the broker knows")
    yield name
    with app.connection_for_write() as connection:
        connection.default_channel.queue_delete(name)


def test_a_worker_killed_in_the_middle_of_a_slice_changes_nothing_in_the_draft(
    migrated_url: str, queue: str, tmp_path: Path
) -> None:
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

    alone = subprocess.run(
        _command("batch", "run", period, "--workers", "1"),
        cwd=ROOT,
        env=_env(migrated_url, key, queue),
        capture_output=True,
        text=True,
        check=False,
    )
    assert alone.returncode == 0, alone.stderr
    expected = _draft(engine, period)

    names = [f"slice-worker-{n}-{uuid.uuid4().hex[:6]}" for n in range(2)]
    workers = {
        name: subprocess.Popen(
            _command("worker", "--concurrency", str(POOL)),
            cwd=ROOT,
            env=_env(migrated_url, None, queue, name),
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{name}.log").open("wb"),
            start_new_session=True,  # its pool's processes are signalled with it
        )
        for name in names
    }
    run = subprocess.Popen(
        _command("batch", "run", period, "--distributed"),
        cwd=ROOT,
        env=_env(migrated_url, key, queue),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        victim = _stopped_inside_a_slice(engine, workers, queue, run)
        _signal(workers[victim], signal.SIGKILL)
        workers[victim].wait(timeout=10)
        for worker in workers.values():
            if worker.poll() is None:
                _signal(worker, signal.SIGCONT)
        out, err = run.communicate(timeout=RUN_WITHIN)
    finally:
        for worker in workers.values():
            _signal(worker, signal.SIGKILL)
        for process in (run, *workers.values()):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert run.returncode == 0, err
    assert _draft(engine, period) == expected
    assert expected[0][:16] in out
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM draft_slices")) == 0
    engine.dispose()
