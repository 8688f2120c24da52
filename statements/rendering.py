"""Rendering a closed period's statements to files: PDFs on every core, plus CSVs.

Statements are built a slice of partners at a time, from a few queries a slice
(`builder.statements_of`), and drawn in worker processes. On PostgreSQL each worker
builds its own slices too, reading under this transaction's exported snapshot, so it
sees exactly what this process sees; elsewhere (or when this transaction has written,
which a snapshot would not show) this process builds the slices and the workers draw
them. Either way only a few slices are in flight at once, never the whole month.

Each partner's files have a name of their own, and an existing file is never
overwritten: a statement a partner may already hold is not silently replaced.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from payouts import snapshots
from payouts.batch import service as batch
from payouts.errors import PayoutsError
from payouts.periods import Month
from payouts.tax.invoices import Document, documents_of
from statements.builder import partners_of_period, payout_states, slices, statements_of
from statements.canonical import seal
from statements.csv_export import render_csv
from statements.model import PayoutState, Statement
from statements.pdf import render_pdf

SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PeriodNotClosed(PayoutsError):
    """Statements are issued at close: an open month has none to render."""

    code = "period-not-closed"
    status = 409


class StatementFileExists(PayoutsError):
    code = "statement-file-exists"
    status = 409


@dataclass(frozen=True, slots=True)
class Rendered:
    partner_id: str
    pdf: Path
    csv: Path
    content_hash: str


def file_stem(partner_id: str, period: str) -> str:
    """`statement-<id>-<period>`; an id with unsafe characters also gets a short hash of
    itself, so `Z+1` and `Z_1` never share a file."""
    safe = SAFE.sub("_", partner_id)
    if safe != partner_id:
        safe += "-" + hashlib.sha256(partner_id.encode()).hexdigest()[:8]
    return f"statement-{safe}-{period}"


def _paths(partner_id: str, period: str, out: Path) -> tuple[Path, Path]:
    stem = file_stem(partner_id, period)
    return out / f"{stem}.pdf", out / f"{stem}.csv"


def _write_new(path: Path, content: bytes) -> None:
    """Write a file that must not exist yet: whole (via a partial file) or not at all."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    try:
        os.link(partial, path)  # atomic, and refused when the name is taken
    except FileExistsError:
        raise StatementFileExists(f"{path} exists; statements are never overwritten") from None
    finally:
        partial.unlink()


def _write(
    statement: Statement,
    out: Path,
    payout: PayoutState | None = None,
    documents: Sequence[Document] = (),
) -> Rendered:
    # Sealed here, just before it is drawn: the renderer prints the hash `seal` gave it
    # without hashing it again (`statements.canonical.sealed_hash`).
    statement = seal(statement)
    pdf, csv = _paths(statement.partner_id, statement.period, out)
    _write_new(pdf, render_pdf(statement, payout, documents))
    _write_new(csv, render_csv(statement, documents).encode("utf-8"))
    assert statement.content_hash is not None
    return Rendered(statement.partner_id, pdf, csv, statement.content_hash)


def _refuse_existing(partners: list[str], period: str, out: Path) -> None:
    """Refuse before writing anything when a target file is already there."""
    for partner_id in partners:
        for path in _paths(partner_id, period, out):
            if path.exists():
                raise StatementFileExists(
                    f"{path} exists; statements are never overwritten: render into an "
                    "empty directory"
                )


def render_period(
    session: Session,
    period: str,
    out: Path,
    *,
    partner_id: str | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[Rendered]:
    """Write the PDF and CSV statement of every partner (or one) for a closed period."""
    period = str(Month.parse(period))
    status = batch.get(session, period).status
    if status != "closed":
        raise PeriodNotClosed(
            f"{period} is not closed (its batch is {status}): statements are issued when "
            f"the month closes (`payouts batch close {period}`)"
        )
    partners = [partner_id] if partner_id else partners_of_period(session, period)
    _refuse_existing(partners, period, out)
    out.mkdir(parents=True, exist_ok=True)
    done: list[Rendered] = []

    def rendered(some: Iterable[Rendered]) -> None:
        for item in some:
            done.append(item)
            if progress:
                progress(len(done), len(partners))

    if workers <= 1 or len(partners) < 4:
        for partner_ids in slices(partners):
            rendered(_write_all(_slice_of(session, period, partner_ids), out))
        return done
    source = _snapshot(session)
    jobs = _jobs(session, source, period, partners, out)
    fork = multiprocessing.get_context("fork")
    for generation in _generations(jobs, RENEW_AFTER * workers):
        # Workers of their own for each generation of slices: a worker's memory grows
        # with every new statement it draws (see bench/render_memory.py), so none lives
        # for more than RENEW_AFTER slices. Each pool is forked from this thread once the
        # last one's workers and threads are gone (`shutdown` joins them).
        with ProcessPoolExecutor(max_workers=workers, mp_context=fork) as pool:
            tasks = (pool.submit(job, *arguments) for job, arguments in generation)
            for future in _bounded(tasks, IN_FLIGHT * workers):
                rendered(future.result())
    return done


WORKER_SLICE = 50
"""Partners a worker builds and draws per task: a few queries for them all."""
IN_FLIGHT = 2
"""Tasks queued per worker: enough to keep it busy, few enough to bound memory."""
RENEW_AFTER = 20
"""Slices a worker draws before it is replaced by a fresh one (1,000 statements).

A bound on whatever a long-lived worker keeps from one statement to the next, whatever
it is: at the 100,000-partner month, workers grew to 890 MB drawing 49,000 statements
each (platypus table shapes in a memo bounded in number, not in size; the canvas
renderer has no such memo, and its own are small and bounded). bench/render_memory.py
prints a worker's memory over a month with and without renewal, and renewal's cost: a
fork, a cold start of the drawing and a moment at each renewal while the generation's
last slices finish. The standard library's own renewal, ``max_tasks_per_child``,
refuses the fork start method (it would fork from the pool's manager thread) and, on
Python 3.11, can hang when tasks are queued ahead of a worker that leaves (CPython issue
115634): the pool is renewed whole, from this thread."""

_Job = tuple[Callable[..., list[Rendered]], tuple[object, ...]]


def _jobs(
    session: Session, source: snapshots.Shared | None, period: str, partners: list[str], out: Path
) -> Iterator[_Job]:
    """The month's slices as worker tasks, made one at a time as they are asked for."""
    for ids in slices(partners, WORKER_SLICE):
        if source is not None:
            # Each worker builds its own slices, under this transaction's snapshot.
            yield _render_slice, (source, period, ids, out)
        else:
            # Built here, a slice at a time; drawn in the workers.
            yield _write_all, (_slice_of(session, period, ids), out)


def _generations(jobs: Iterator[_Job], size: int) -> Iterator[Iterator[_Job]]:
    """`jobs` in consecutive runs of at most `size`, each still made as it is asked for;
    a run must be used up before the next is asked for."""
    for first in jobs:
        yield itertools.chain((first,), itertools.islice(jobs, size - 1))


def _bounded(
    tasks: Iterator[Future[list[Rendered]]], limit: int
) -> Iterator[Future[list[Rendered]]]:
    """The tasks' futures in order, submitting the next only while fewer than `limit`
    are pending: the statements in flight are bounded, not the month's."""
    pending: deque[Future[list[Rendered]]] = deque()
    for task in tasks:
        pending.append(task)
        if len(pending) >= limit:
            yield pending.popleft()
    yield from pending


@dataclass(frozen=True, slots=True)
class _Statement:
    """What one statement file pair is drawn from."""

    statement: Statement
    payout: PayoutState | None
    documents: list[Document]


def _slice_of(session: Session, period: str, partner_ids: list[str]) -> list[_Statement]:
    """The statements of a slice of partners, with their payouts and documents (sealed
    when they are written)."""
    payouts = payout_states(session, period, partner_ids)
    documents = documents_of(session, period, partner_ids)
    return [
        _Statement(
            statement,
            payouts.get(statement.partner_id),
            documents.get(statement.partner_id, []),
        )
        for statement in statements_of(session, period, partner_ids)
    ]


def _write_all(statements: list[_Statement], out: Path) -> list[Rendered]:
    return [_write(s.statement, out, s.payout, s.documents) for s in statements]


def _snapshot(session: Session) -> snapshots.Shared | None:
    """This transaction's snapshot for workers to read under, on PostgreSQL when the
    transaction has written nothing (a snapshot shows committed rows only); else None."""
    if not snapshots.untouched(session):
        return None
    return snapshots.share(session)


def _render_slice(
    source: snapshots.Shared, period: str, partner_ids: list[str], out: Path
) -> list[Rendered]:
    """In a worker: build a slice's statements under the snapshot, and draw them."""
    with snapshots.reading(source.url, source.snapshot) as session:
        statements = _slice_of(session, period, partner_ids)
    return _write_all(statements, out)
