"""Rendering a period's statements to files: PDFs on every core, plus CSVs.

Statements are built in this process (they need the database); the PDFs, which are
pure functions of a statement, are drawn in worker processes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from payouts.periods import Month
from statements.builder import build, partners_of_period
from statements.canonical import seal
from statements.csv_export import render_csv
from statements.model import Statement
from statements.pdf import render_pdf

SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Rendered:
    partner_id: str
    pdf: Path
    csv: Path
    content_hash: str


def file_stem(partner_id: str, period: str) -> str:
    return f"statement-{SAFE.sub('_', partner_id)}-{period}"


def _write(statement: Statement, out: Path) -> Rendered:
    stem = file_stem(statement.partner_id, statement.period)
    pdf, csv = out / f"{stem}.pdf", out / f"{stem}.csv"
    for path, content in (
        (pdf, render_pdf(statement)),
        (csv, render_csv(statement).encode("utf-8")),
    ):
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(content)
        partial.replace(path)
    assert statement.content_hash is not None
    return Rendered(statement.partner_id, pdf, csv, statement.content_hash)


def render_period(
    session: Session,
    period: str,
    out: Path,
    *,
    partner_id: str | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[Rendered]:
    """Write the PDF and CSV statement of every partner (or one) for the period."""
    period = str(Month.parse(period))
    out.mkdir(parents=True, exist_ok=True)
    partners = [partner_id] if partner_id else partners_of_period(session, period)
    statements = [seal(build(session, p, period)) for p in partners]
    done: list[Rendered] = []
    if workers <= 1 or len(statements) < 4:
        for statement in statements:
            done.append(_write(statement, out))
            if progress:
                progress(len(done), len(statements))
        return done
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for rendered in pool.map(_write, statements, [out] * len(statements), chunksize=4):
            done.append(rendered)
            if progress:
                progress(len(done), len(statements))
    return done
