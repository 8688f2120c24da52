"""`payouts batch close` of the full-scale month against a SQL baseline in the same run.

The month (10,000 partners, ~1,000,000 invoices, 819,096 draft lines at scale 1; the
batch benchmark's data) is loaded once (`month_data.py`), run and approved (not timed)
into an approved template database. Each measurement works on a fresh copy of it:

- baseline: the same draft lines INSERT ... SELECT into a ledger-shaped table (the
  ledger's columns, no triggers), then the balance of every partner summed by SQL
  (median of three);
- figure: `payouts batch close MONTH` as finance runs it, a process of its own as the
  service's database role, issuing every statement as the command does.

Target: figure <= 5 x baseline. Printed: figure, baseline, ratio, the close's peak RSS.

    .venv/bin/python bench/bench_close.py --template pp_close_bench   # loaded month, reused
    .venv/bin/python bench/bench_close.py --scale 0.1                  # loads its own
    .venv/bin/python bench/bench_close.py --smoke

`run(scale)` returns rows for `bench/run.py`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import month_data as data  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

TARGET_RATIO = 5.0
BASELINE_RUNS = 3
LINE_COLUMNS = (
    "period, partner_id, line_no, entry_kind, prior_period, plan_label, component_id, "
    "component_kind, source_fact, fact_date, customer_id, deal_id, invoice_id, base_minor, "
    "base_currency, rate, fx_rate, fx_source, unrounded, amount_minor, currency, explanation"
)


def approved(loaded: str, name: str) -> str:
    """Copy the loaded month into `name`, run and approve it (not timed); the month."""
    from payouts.batch import service
    from payouts.db import make_engine, unit_of_work

    data.copy(loaded, name)
    period = data.period_of(name)
    engine = make_engine(data.url_as(data.SERVICE, name))
    try:
        with unit_of_work(engine) as session:
            service.run(session, period, actor="key:1:bench-calculator", workers=2)
        with unit_of_work(engine) as session:
            service.approve(session, period, actor="key:2:bench-approver")
    finally:
        engine.dispose()
    return period


def baseline(database: str, period: str) -> tuple[float, int, list[float]]:
    """Median seconds to insert the period's payable draft lines into a ledger-shaped
    table and sum every partner's balance; the rows; each timing."""
    engine = create_engine(data.url_as(data.OWNER, database))
    timings: list[float] = []
    rows = 0
    try:
        for _ in range(BASELINE_RUNS):
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS bench_ledger"))
                conn.execute(
                    text(
                        "CREATE TABLE bench_ledger (LIKE ledger_entries INCLUDING DEFAULTS "
                        "INCLUDING INDEXES)"
                    )
                )
            start = time.perf_counter()
            with engine.begin() as conn:
                rows = conn.execute(
                    text(
                        f"INSERT INTO bench_ledger ({LINE_COLUMNS}, posted_at, posted_by) "  # noqa: S608
                        f"SELECT {LINE_COLUMNS}, now(), 'bench' FROM draft_lines "
                        "WHERE period = :period AND payable"
                    ),
                    {"period": period},
                ).rowcount
                conn.execute(
                    text(
                        "SELECT partner_id, currency, sum(amount_minor) FROM bench_ledger "
                        "GROUP BY partner_id, currency"
                    )
                ).all()
            timings.append(time.perf_counter() - start)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE bench_ledger"))
    finally:
        engine.dispose()
    return statistics.median(timings), rows, timings


def measure(template: str, period: str) -> dict[str, object]:
    """Baseline and close on a fresh copy of the approved `template`."""
    scratch = f"pp_close_run_{uuid.uuid4().hex[:8]}"
    data.copy(template, scratch)
    try:
        base, rows, timings = baseline(scratch, period)
        key = data.create_key(scratch, "bench-approver")
        step = data.timed(
            [data.payouts_command(), "batch", "close", period], data.service_env(scratch, key)
        )
    finally:
        data.drop(scratch)
    return {
        "figure": step.seconds,
        "baseline": base,
        "rows": rows,
        "timings": timings,
        "peak_mb": step.peak_mb,
        "cpu": step.cpu,
        "said": step.out.strip().splitlines()[0] if step.out.strip() else "",
    }


def run(
    scale: float, template: str | None = None, approved_template: str | None = None
) -> list[dict[str, object]]:
    if approved_template is not None:
        result = measure(approved_template, data.period_of(approved_template))
        return _rows(result)
    partners = max(20, round(data.PARTNERS * scale))
    invoices = max(1_000, round(data.INVOICES * scale))
    suffix = uuid.uuid4().hex[:8]
    loaded = template or f"pp_close_loaded_{suffix}"
    approved_name = f"pp_close_approved_{suffix}"
    try:
        if template is None:
            data.load(loaded, partners, invoices)
        period = approved(loaded, approved_name)
        result = measure(approved_name, period)
    finally:
        data.drop(approved_name)
        if template is None:
            data.drop(loaded)
    return _rows(result)


def _rows(result: dict[str, object]) -> list[dict[str, object]]:
    figure, base = float(str(result["figure"])), float(str(result["baseline"]))
    return [
        {
            "name": f"batch close (with statements): {result['said']}",
            "figure": figure,
            "baseline": base,
            "baseline_name": (
                f"INSERT ... SELECT of {result['rows']:,} draft lines into a ledger-shaped "
                f"table + balances per partner, median of "
                f"{', '.join(f'{t:.2f}' for t in result['timings'])}"  # type: ignore[attr-defined]
            ),
            "ratio": figure / base,
            "target_ratio": TARGET_RATIO,
            "peak_mb": result["peak_mb"],
            "cpu": result["cpu"],
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is the issue's scale")
    parser.add_argument("--smoke", action="store_true", help="tiny: 200 partners")
    parser.add_argument("--template", help="a database `month_data.py load` filled (reused)")
    parser.add_argument("--approved", help="a loaded database whose month is run and approved")
    args = parser.parse_args(argv)
    data.ensure_roles()
    for row in run(0.02 if args.smoke else args.scale, args.template, args.approved):
        print(
            f"{row['name']}\n  figure {float(str(row['figure'])):.2f} s, baseline "
            f"{float(str(row['baseline'])):.2f} s ({row['baseline_name']}), ratio "
            f"{float(str(row['ratio'])):.2f} (target <= {TARGET_RATIO:.0f}), peak RSS of the "
            f"close {float(str(row['peak_mb'])):.0f} MB, its CPU {float(str(row['cpu'])):.1f} s "
            "(with its workers)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
