"""Accounting on a demo year: the journal and the replay of its last month, each
against a baseline measured in the same run.

On a demo database (`payouts demo --partners N --months 12`, SQLite by default):

- journal: deriving the closed month's journal (and its canonical JSON) against the
  least any journal needs, one GROUP BY sum of the month's ledger;
- replay: `batch replay` (the calculation under the view as of the close, plus the
  line-by-line comparison) against the same calculation on today's tables.

    .venv/bin/python bench/bench_accounting.py [--partners 600] [--runs 5]

Prints the median of the runs for each figure and its baseline, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from payouts.accounting.chart import load_chart  # noqa: E402
from payouts.accounting.journal import journal  # noqa: E402
from payouts.accounting.replay import replay  # noqa: E402
from payouts.batch.calculation import calculate_partner  # noqa: E402
from payouts.batch.gathering import gather  # noqa: E402
from payouts.db import make_engine  # noqa: E402
from payouts.ledger import LedgerEntry  # noqa: E402
from payouts.periods import Period  # noqa: E402

MONTH = "2026-12"


def _median(runs: int, work: Callable[[], object]) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=600)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default="", help="an existing demo database (else one is made)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = options.url or f"sqlite:///{directory}/demo.db"
        if not options.url:
            subprocess.run(
                [sys.executable, "-m", "api.cli", "demo", "--partners", str(options.partners),
                 "--months", "12", "--seed", "7", "--out", f"{directory}/out", "--workers", "1"],
                env={**os.environ, "DATABASE_URL": url, "DATABASE_OWNER_URL": ""},
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
        engine = make_engine(url)
        chart = load_chart()
        with Session(engine) as session:
            lines = session.scalar(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.period == MONTH)
            )

            def sums() -> object:
                return session.execute(
                    select(
                        LedgerEntry.entry_kind,
                        LedgerEntry.currency,
                        func.sum(LedgerEntry.amount_minor),
                    )
                    .where(LedgerEntry.period == MONTH)
                    .group_by(LedgerEntry.entry_kind, LedgerEntry.currency)
                ).all()

            def made() -> object:
                return journal(session, MONTH, chart).to_json()

            def recalculated() -> object:
                row = session.get(Period, MONTH)
                work = gather(session, MONTH, row.fact_revision if row else 0)
                return [calculate_partner(p) for p in work.partners]

            def replayed() -> object:
                found = replay(session, MONTH)
                assert found.identical
                return found

            figures = [
                ("journal", _median(options.runs, made), _median(options.runs, sums)),
                ("replay", _median(options.runs, replayed), _median(options.runs, recalculated)),
            ]
            session.rollback()
        engine.dispose()
    print(f"{options.partners} partners, {MONTH}: {lines} ledger lines; median of {options.runs}")
    print(f"{'figure':<10}{'seconds':>10}{'baseline':>10}{'ratio':>8}")
    for name, seconds, baseline in figures:
        print(f"{name:<10}{seconds:>10.3f}{baseline:>10.3f}{seconds / baseline:>8.1f}")


if __name__ == "__main__":
    main()
