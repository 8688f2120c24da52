"""Calculating a period across processes, each gathering its own share of partners.

Gathering a large month (reading a million invoices and handing them to their
partners) costs as much as calculating it, so both are split. On PostgreSQL each
worker process opens its own connection and imports the run's snapshot
(`pg_export_snapshot`), so it reads exactly what the run's transaction reads. The
partners are cut into slices (ranges of ids) dealt in turn to the workers: the
standard library's `ProcessPoolExecutor` (fork start method) runs one task a share. A
worker reads what every slice needs once (`gathering.Context`), then gathers and
calculates its share slice by slice, holding one slice's facts at a time, and puts
each slice on a queue back to the run as bytes (the rows in COPY text) as soon as it
is done; the task's result says the share is done, or carries its error. Calculating
in one process goes slice by slice too, and a distributed run's slices are jobs for
`payouts worker`s (`jobs`). The run's own connection stores
the slices in order, in its transaction: the draft is still written whole or not at
all, and its digest (taken in partner order) is the same, byte for byte, as when one
process does everything.

A snapshot shows committed data only, so the work is split only when the run's
transaction had written nothing before the run began (checked, not assumed); otherwise,
on SQLite, or for a small program, this process gathers and calculates.

A worker must never outlive the run, nor keep the run's connection open: the server
keeps a session while any process holds its socket, and the run's session holds the
period's lock and an open transaction, which would refuse every later run of the month
and hold up fact imports for it. So a worker first asks the kernel to kill it when the
run dies, then lets go of the descriptors it inherited from the run (`_detach`).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from multiprocessing.queues import SimpleQueue
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts import snapshots
from payouts.batch import draft, jobs
from payouts.batch.calculation import RepLine, rep_line_chunks
from payouts.batch.gathering import Context, gather_partners
from payouts.batch.repository import PartnerRange
from payouts.reference.models import Partner
from payouts.settings import get_settings

MIN_WORKER_PARTNERS = 250  # fewer, and a process of its own costs more than it saves
SLICE_PARTNERS = 1_000
"""Partners gathered and calculated at once: what the run (or a worker) holds in memory.
A slice reads the facts that reach its partners through indexes (`repository.month_facts`),
so small slices cost little more than large ones; each still repeats a few small reads
(what every slice needs is read once a process, `gathering.Context`). At this size a
process of a program of 10,000 partners with 100 invoices each holds a few hundred MB,
and a program ten times larger is cut into slices of that same size
(`bench/batch_turns.py` prints the time and peak memory of a run;
BATCH_SLICE_PARTNERS sets another size)."""
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_SECONDS = 0.01  # how often the run looks for a finished (or failed) share


@dataclass(frozen=True, slots=True)
class Calculation:
    """A period's draft rows, slice by slice, and its rep credit lines."""

    slices: Iterator[draft.Slice]
    rep_lines: Callable[[], Iterator[list[RepLine]]]
    """The rep credit lines, a chunk of the month's deals at a time."""


@contextmanager
def calculation(
    session: Session,
    period: str,
    fact_revision: int,
    *,
    workers: int,
    as_copy: bool,
    distributed: bool = False,
) -> Iterator[Calculation]:
    """The period's calculation, split over `workers` processes when the caller found the
    transaction `snapshots.untouched` and there are enough partners; else in this process. With
    `distributed` (the caller found the transaction `snapshots.untouched`, and rows are copied),
    the slices are jobs for `payouts worker`s instead (`jobs`). The garbage collector
    rests until the caller is done with it (`_collector_paused`)."""
    with (
        _collector_paused(),
        _calculation(
            session,
            period,
            fact_revision,
            workers=workers,
            as_copy=as_copy,
            distributed=distributed and as_copy,
        ) as done,
    ):
        yield done


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a run builds millions of objects.

    The facts and lines of a month hold no reference cycles worth collecting, yet each
    collection walks all of them: measured, half the time of building a million
    invoice records went to the collector. Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _calculation(
    session: Session,
    period: str,
    fact_revision: int,
    *,
    workers: int,
    as_copy: bool,
    distributed: bool,
) -> Iterator[Calculation]:
    partner_ids = list(session.scalars(select(Partner.id)))
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    workers = max(1, min(workers, len(partner_ids) // MIN_WORKER_PARTNERS))
    size = get_settings().batch_slice_partners or SLICE_PARTNERS
    # At least a slice a worker: a small program is still split.
    count = max(-(-len(partner_ids) // max(1, size)), workers)
    slices = PartnerRange.split(partner_ids, count)
    if distributed:
        timeout = get_settings().worker_timeout
        yield Calculation(
            jobs.slices(session, period, slices, timeout=timeout),
            lambda: rep_line_chunks(session, period),
        )
        return
    shares = _shares(slices, workers) if workers > 1 else []
    if len(shares) < 2:
        yield Calculation(
            _sliced(session, period, list(enumerate(slices)), as_copy),
            lambda: rep_line_chunks(session, period),
        )
        return

    source = _Source(
        snapshots.url_of(session),
        snapshots.export(session),
        period,
        fact_revision,
        os.getpid(),
        _socket_of(session),
    )
    # Forked: a worker starts at once, and needs nothing of this process but its arguments.
    # With the fork start method the pool starts all its workers on the first submit, from
    # this thread: the thread whose end the kernel tells them to die with (`_detach`).
    context = multiprocessing.get_context("fork")
    outlet: SimpleQueue[draft.Slice] = context.SimpleQueue()
    pool = ProcessPoolExecutor(
        max_workers=len(shares), mp_context=context, initializer=_detach, initargs=(source, outlet)
    )
    try:
        futures = [pool.submit(_work, source, share, as_copy) for share in shares]
        # Meanwhile, under the same snapshot, this process credits the reps.
        yield Calculation(_received(outlet, futures), lambda: _reps_under(source, period))
    except BaseException:
        _end_workers(pool)  # a failed run does not wait for their slices
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        outlet.close()


def _reps_under(source: _Source, period: str) -> Iterator[list[RepLine]]:
    """The rep credit lines read under the run's snapshot, in a session of their own."""
    with _snapshot_session(source) as reader_session:
        yield from rep_line_chunks(reader_session, period)


def _sliced(
    session: Session, period: str, slices: list[tuple[int, PartnerRange]], as_copy: bool
) -> Iterator[draft.Slice]:
    """The numbered slices gathered and calculated one after the other: a slice's facts
    are read, its lines encoded, and its facts let go before the next slice's are read,
    so memory holds one slice at a time, whatever the size of the month. What every
    slice needs (plans, rates, referral roles, tiers) is read once."""
    context = Context.read(session, period)
    for order, partners in slices:
        calculated = draft.calculate_slice(
            order, period, gather_partners(session, context, partners), as_copy
        )
        # Nothing of the slice's facts is left to live on while the next slice's are read.
        yield calculated
        del calculated


def _shares(slices: list[PartnerRange], workers: int) -> list[list[tuple[int, PartnerRange]]]:
    """The slices, numbered, dealt in turn to `workers` shares: worker 0 gets slices 0,
    2, 4... of two. The workers then send slices in about the order of their numbers,
    which is the order the run stores them in (`draft.store`): the draft's table is
    written in key order, and its index needs no real sort (819,096 lines: index built
    and draft swapped in 0.24-0.28 s after the last slice, against 0.43-0.47 s when
    slices were stored as they arrived)."""
    numbered = list(enumerate(slices))
    count = max(1, workers)
    return [numbered[k::count] for k in range(min(count, len(numbered)))]


def _received(
    slices: SimpleQueue[draft.Slice], futures: list[Future[Failure | None]]
) -> Iterator[draft.Slice]:
    """Slices from the workers, as they come, until every worker's share is done.

    A worker puts each slice before its share's future is done, so once every future is
    done, what is left in the queue is read and nothing more comes."""
    running = set(futures)
    while True:
        while not slices.empty():
            yield slices.get()
        if not running:
            return
        done, running = wait(running, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
        for future in done:
            try:
                failure = future.result()
            except BrokenProcessPool:
                raise RuntimeError("a batch worker process died before finishing") from None
            if failure is not None:
                raise failure.rebuilt()


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool's workers now, mid-share (Python 3.14's `terminate_workers`)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            process.terminate()


@dataclass(frozen=True, slots=True)
class Failure:
    """A worker's error on its way to the run, which raises it as if it had calculated
    in its own process: its type, arguments and attributes, rebuilt without calling
    ``__init__`` (domain errors take other arguments than their message, so the default
    unpickling of an exception, which calls ``__init__(*args)``, would fail)."""

    kind: type[BaseException]
    args: tuple[Any, ...]
    state: dict[str, Any]

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        failure = cls(type(error), error.args, dict(getattr(error, "__dict__", {})))
        try:
            pickle.loads(pickle.dumps(failure))
        except Exception:  # cannot travel: its message still tells what went wrong
            return cls(RuntimeError, (f"{type(error).__name__}: {error}",), {})
        return failure

    def rebuilt(self) -> BaseException:
        error = self.kind.__new__(self.kind)
        error.args = self.args
        if self.state:
            error.__dict__.update(self.state)
        return error


@dataclass(frozen=True, slots=True)
class _Source:
    url: str
    snapshot: str
    period: str
    fact_revision: int
    run_pid: int  # the run's process
    run_socket: int  # the file descriptor of the run's connection to PostgreSQL


def _socket_of(session: Session) -> int:
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise RuntimeError(f"a parallel run needs psycopg, not {type(driver).__name__}")
    return driver.fileno()


def _detach(source: _Source, slices: SimpleQueue[draft.Slice]) -> None:
    """In a new worker: die with the run, and hold nothing of the run's.

    On Linux the kernel sends the worker SIGKILL when the run's thread that forked it
    ends, killed or not (that thread waits for the worker's slices, so it outlives a
    worker that is needed). The run may have died before this was asked for: then the
    worker is already an orphan and ends at once.

    The run's connection is closed as a descriptor only: closing it through psycopg
    would end the run's own session on the server (libpq says goodbye on the socket).
    A worker never touches the run's pooled connections, as SQLAlchemy advises after a
    fork; it connects through an engine of its own (`_snapshot_session`). Without the
    run's socket and the reading end of the slices' queue, even a worker that outlived
    the run (where the kernel cannot be asked) neither keeps the run's session nor
    blocks putting slices nobody reads: its next put fails and its share ends (the
    process then waits, idle and holding nothing of the run's, for work that never
    comes)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != source.run_pid:
        os._exit(1)
    os.close(source.run_socket)
    slices._reader.close()  # type: ignore[attr-defined]  # the run's end; no public handle
    global _slices_out
    _slices_out = slices


def _snapshot_session(source: _Source) -> AbstractContextManager[Session]:
    """A read-only session that sees exactly what the run's transaction saw."""
    return snapshots.reading(source.url, source.snapshot)


_slices_out: SimpleQueue[draft.Slice] | None = None
"""In a worker: where its slices go (`_detach` sets it)."""


def _work(source: _Source, share: list[tuple[int, PartnerRange]], as_copy: bool) -> Failure | None:
    """In a worker: gather and calculate the share's slices one by one, putting each on
    the queue; return the error, if any, as a `Failure` (raised by the run, like its own
    errors)."""
    assert _slices_out is not None
    try:
        with _snapshot_session(source) as session:
            for calculated in _sliced(session, source.period, share, as_copy):
                _slices_out.put(calculated)
                del calculated  # sent: not kept while the next slice is read
    except BaseException as exc:
        return Failure.of(exc)
    return None
