"""A run's slices as jobs on a message broker, for workers on any machine (Celery).

A distributed run (`payouts batch run --distributed`) exports its transaction's
snapshot (`pg_export_snapshot`), puts one job per slice of partners on the broker's
queue (`WORKER_QUEUE` at `BROKER_URL`), and waits. Each `payouts worker` takes one
job at a time: it connects to the database with its own `DATABASE_URL`, imports the
run's snapshot (so it reads exactly what the run's transaction reads, and the
snapshot stays valid while that transaction is open), gathers and calculates the
slice, and writes the slice's draft rows in COPY text into `draft_slices`, keyed
(period, run, slice), in one transaction: that row is the slice's "done" mark. The
run copies the rows into its draft in slice order as they arrive, in its own
transaction, and deletes them: the draft and its hash are the ones a single process
writes, whatever the number and placement of workers.

Exactly once: a job is acknowledged to the broker only once the slice's row is
committed (`task_acks_late`). A worker that dies in the middle of a slice commits
nothing and drops its connection to the broker, which then gives the job to another
worker (AMQP requeues a message whose channel closes unacknowledged; with the
`prefork` pool, `task_reject_on_worker_lost` does the same for a dead child). A job
delivered twice (a worker presumed dead that was only slow) finds its row written and
writes nothing (`ON CONFLICT DO NOTHING`): a slice has one row, and the run reads
each slice once.

A worker's error (a missing FX rate, say) is written as the slice's row too, and the
run raises it. A job whose run is over (its snapshot can no longer be imported) is
dropped: nobody waits for it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from celery import Celery
from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from payouts import snapshots
from payouts.base import utcnow
from payouts.batch import draft
from payouts.batch.errors import SliceFailed, WorkersUnavailable
from payouts.batch.gathering import Context, gather_partners
from payouts.batch.models import DraftSlice
from payouts.batch.repository import PartnerRange
from payouts.settings import get_settings

TASK = "payouts.calculate_slice"
_POLL_SECONDS = 0.02  # how often the run looks for its next slice
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SliceJob:
    """What a worker needs to calculate one slice: plain values, sent as JSON."""

    period: str
    run_id: str
    slice_no: int
    first: str
    last: str
    snapshot: str

    @property
    def partners(self) -> PartnerRange:
        return PartnerRange(self.first, self.last)


def broker(url: str | None = None) -> Celery:
    """The Celery application of runs and workers: late acknowledgement, one job at a
    time per worker, JSON messages, no result backend (results go to the database)."""
    settings = get_settings()
    app = Celery("payouts", broker=url or settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.worker_queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        worker_enable_remote_control=False,  # no control queue: nothing shared by name
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    app.task(name=TASK)(_calculate)
    return app


# --- the run's side ----------------------------------------------------------------


def slices(
    session: Session, period: str, partners: list[PartnerRange], *, timeout: float
) -> Iterator[draft.Slice]:
    """The slices of `partners` calculated by workers, in order, under this session's
    transaction's snapshot; each slice's row is deleted once read."""
    if not get_settings().broker_url:
        raise WorkersUnavailable("a distributed run needs BROKER_URL (see `payouts worker`)")
    snapshot = snapshots.export(session)
    run_id = uuid.uuid4().hex
    # Rows left by an earlier run of the month that died: the period's lock is ours.
    session.execute(delete(DraftSlice).where(DraftSlice.period == period))
    app = broker()
    try:
        with app.producer_or_acquire() as producer:
            for number, part in enumerate(partners):
                job = SliceJob(period, run_id, number, part.first, part.last, snapshot)
                app.send_task(TASK, args=[asdict(job)], producer=producer)
    except Exception as exc:  # kombu raises the transport's own errors
        raise WorkersUnavailable(f"cannot reach the broker: {type(exc).__name__}") from None
    for number in range(len(partners)):
        yield _arrived(session, period, run_id, number, timeout)
    session.execute(delete(DraftSlice).where(DraftSlice.run_id == run_id))


def _arrived(
    session: Session, period: str, run_id: str, number: int, timeout: float
) -> draft.Slice:
    """Slice `number` once a worker committed it (this session reads committed rows:
    READ COMMITTED, a fresh snapshot each statement)."""
    query = select(
        DraftSlice.partners, DraftSlice.lines, DraftSlice.copy_text, DraftSlice.error
    ).where(DraftSlice.period == period, DraftSlice.run_id == run_id, DraftSlice.slice_no == number)
    deadline = time.monotonic() + timeout
    while (found := session.execute(query).first()) is None:
        if time.monotonic() > deadline:
            raise WorkersUnavailable(
                f"no worker finished slice {number} in {timeout:.0f} s: "
                "is `payouts worker` running?"
            )
        time.sleep(_POLL_SECONDS)
    partners, lines, rows, error = found
    if error is not None or rows is None:
        raise SliceFailed(f"slice {number}: {error}")
    return draft.Slice(number, partners, lines, bytes(rows), [])


# --- the worker's side ---------------------------------------------------------------


def work(concurrency: int = 1) -> None:
    """Run a worker until stopped: one job at a time per process (`solo` pool for one)."""
    app = broker()
    pool = "solo" if concurrency == 1 else "prefork"
    worker = app.Worker(
        hostname=f"payouts-{os.getpid()}@{socket.gethostname()}",  # one name a worker
        pool=pool,
        concurrency=concurrency,
        queues=[get_settings().worker_queue],
        without_gossip=True,
        without_mingle=True,
        loglevel="INFO",
    )
    worker.start()


@dataclass
class _Cached:
    """In a worker: the context of the run it last worked for, read once a run."""

    run_id: str = ""
    context: Context | None = None
    engine: Engine | None = None


_cached = _Cached()


def _calculate(job: dict[str, Any]) -> None:
    """The task: calculate one slice and write its row (or its error)."""
    spec = SliceJob(**job)
    engine = _engine()
    try:
        calculated = _calculated(engine, spec)
    except snapshots.SnapshotGone:  # the run is over: nobody waits for the slice
        log.info("run %s is over: slice %d dropped", spec.run_id, spec.slice_no)
        return
    except Exception as exc:  # the run raises it: a worker stays up for the next job
        log.exception("slice %d of run %s failed", spec.slice_no, spec.run_id)
        _record(engine, spec, None, f"{type(exc).__name__}: {exc}")
        return
    _record(engine, spec, calculated, None)


def _engine() -> Engine:
    if _cached.engine is None:
        from payouts.db import make_engine  # the worker's own database URL

        _cached.engine = make_engine(get_settings().database_url)
    return _cached.engine


def _calculated(engine: Engine, spec: SliceJob) -> draft.Slice:
    with snapshots.reading(engine, spec.snapshot) as session:
        if _cached.run_id != spec.run_id or _cached.context is None:
            _cached.context = Context.read(session, spec.period)
            _cached.run_id = spec.run_id
        works = gather_partners(session, _cached.context, spec.partners)
        return draft.calculate_slice(spec.slice_no, spec.period, works, as_copy=True)


def _record(
    engine: Engine, spec: SliceJob, calculated: draft.Slice | None, error: str | None
) -> None:
    """The slice's row, in one transaction: its lines and its "done" mark at once. A
    second delivery of the job finds it there and writes nothing."""
    row = {
        "period": spec.period,
        "run_id": spec.run_id,
        "slice_no": spec.slice_no,
        "partners": calculated.partners if calculated else 0,
        "lines": calculated.lines if calculated else 0,
        "copy_text": calculated.text if calculated else None,
        "error": error,
        "done_at": utcnow(),
    }
    with engine.begin() as connection:
        connection.execute(insert(DraftSlice).values(row).on_conflict_do_nothing())
