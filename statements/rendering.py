"""Rendering a closed period's statements to files: PDFs on every core, plus CSVs.

Statements are built in this process (they need the database); the PDFs, which are
pure functions of a statement, are drawn in worker processes. Each partner's files have
a name of their own, and an existing file is never overwritten: a statement a partner
may already hold is not silently replaced.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from payouts.batch import service as batch
from payouts.errors import PayoutsError
from payouts.periods import Month
from payouts.tax.invoices import Document
from statements.builder import build, partners_of_period, payout_state, self_billed
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
    statements = [seal(build(session, p, period)) for p in partners]
    payouts = [payout_state(session, p, period) for p in partners]
    documents = [self_billed(session, p, period) for p in partners]
    done: list[Rendered] = []
    if workers <= 1 or len(statements) < 4:
        for statement, payout, issued in zip(statements, payouts, documents, strict=True):
            done.append(_write(statement, out, payout, issued))
            if progress:
                progress(len(done), len(statements))
        return done
    with ProcessPoolExecutor(max_workers=workers) as pool:
        outs = [out] * len(statements)
        for rendered in pool.map(_write, statements, outs, payouts, documents, chunksize=4):
            done.append(rendered)
            if progress:
                progress(len(done), len(statements))
    return done
