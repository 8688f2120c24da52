"""Every benchmark of the issues in one command, with a table of figure, baseline and ratio.

    .venv/bin/python bench/run.py                 # full scale (minutes; for humans)
    .venv/bin/python bench/run.py --scale 0.1     # a tenth of everything
    .venv/bin/python bench/run.py --smoke         # tiny, < 60 s: what CI runs
    .venv/bin/python bench/run.py --only batch    # one benchmark

| benchmark   | scale 1                                         | target                   |
|-------------|-------------------------------------------------|--------------------------|
| calculator  | 1,000,000 invoices through the pure calculator  | < 10 s                   |
| batch       | 10,000 partners, 1,000,000 invoices, one month,  | batch run within 10x the |
|             | PostgreSQL; baseline: INSERT ... SELECT amount  | flat-rate SQL baseline   |
|             | * rate over the same rows, measured in the run  |                          |
|             | (median of 3, after VACUUM ANALYZE)             |                          |
| statements  | 200 PDF statements vs bare reportlab pages      | ratio >= 0.3             |
| rendering   | `render_period` of a closed demo month of 2,000 | ratio >= 0.5 per CPU     |
|             | partners (SQLite), 1 and 2 workers, vs bare     | second (per core used)   |
|             | reportlab pages of the same text, same run      |                          |
| ingestion   | 1,000 API requests vs a trivial endpoint        | ratio >= 0.3             |
| csv_import  | peak memory of `payouts facts import` of a 50 MB | ratio <= 1.5 (memory     |
|             | invoices file vs the same command on 100 rows   | does not grow with file) |
| portal      | 200 requests each: dashboard, ~100-line statement | p95 < 150 ms             |
|             | page; demo of 600 partners x 12 months, SQLite  |                          |
| console     | 100 requests to pages of the review of the batch | p95 < 500 ms             |
|             | benchmark's month (10,000 partners), PostgreSQL; |                          |
|             | baseline: the console's home page, same run      |                          |
| close       | `payouts batch close` of the batch benchmark's   | <= 5x the baseline       |
|             | month, statements issued; baseline: its draft    |                          |
|             | lines INSERT ... SELECT into a ledger-shaped     |                          |
|             | table and balances summed, measured in the run   |                          |
| month_end   | that month through the CLI: run, approve, close, | < 60 s in all            |
|             | payout file and rep credit, each a process       |                          |

Why a runner: one table answers "are we within budget?", and the smoke run in CI
keeps every benchmark working. A missed target is printed, never a failure; only
an error (a benchmark that cannot run) fails the command. The batch benchmark needs
PostgreSQL: it creates and drops a scratch database on the server of BENCH_DATABASE_URL
(or DATABASE_URL when it is PostgreSQL, else postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sqlalchemy import create_engine, text  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH_PARTNERS = 10_000
BATCH_INVOICES = 1_000_000
CALCULATOR_INVOICES = 1_000_000
BATCH_TARGET = 10.0
BASELINE_RUNS = 3
CALCULATOR_TARGET_SECONDS = 10.0


@dataclass
class Row:
    name: str
    figure: str
    baseline: str
    ratio: str
    target: str
    met: bool | None
    note: str = ""


# Calculator ------------------------------------------------------------------------


def calculator(invoices: int) -> list[Row]:
    """The pure calculator over `invoices` invoice facts (bench_calculator's data)."""
    import bench_calculator as calc

    plan = calc.parse_plan(calc.MIXED_PLAN)
    per_partner = min(1_000, invoices)
    partners = max(1, invoices // per_partner)
    batch = calc.build(partners, per_partner)
    gc.collect()
    gc.freeze()  # as a batch worker would: long-lived facts out of the collector's way
    try:
        start = time.perf_counter()
        lines = calc.run(plan, batch)
        seconds = time.perf_counter() - start
    finally:
        gc.unfreeze()
        del batch
        gc.collect()
    total = partners * per_partner
    target = CALCULATOR_TARGET_SECONDS * total / CALCULATOR_INVOICES
    return [
        Row(
            f"calculator: {total:,} invoices -> {lines:,} lines",
            f"{seconds:.2f} s ({total / seconds:,.0f} invoices/s)",
            "-",
            "-",
            f"< {target:.3g} s",
            seconds < target,
        )
    ]


# Batch run against a flat-rate SQL baseline ----------------------------------------------


def _server_url() -> str:
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        value = os.environ.get(name, "").strip()
        if value.startswith(("postgresql", "postgres://")):
            return value
    return DEFAULT_SERVER


def _with_database(url: str, database: str) -> str:
    from payouts.db import normalise_url

    return normalise_url(url).set(database=database).render_as_string(hide_password=False)


BASELINE_SQL = """
INSERT INTO bench_flat_rate (invoice_id, partner_id, amount_minor, currency, commission_minor)
SELECT i.id, r.partner_id, i.amount_minor, i.currency, ROUND(i.amount_minor * 0.05)
FROM invoices i JOIN deal_roles r ON r.deal_id = i.deal_id
WHERE i.accounting_period = :period
"""


def demo_module() -> Any:
    """The seeded program generator (the demo's data), wherever this checkout keeps it."""
    try:
        return importlib.import_module("demo.program")
    except ModuleNotFoundError:
        return importlib.import_module("payouts.demo")


def batch(partners: int, invoices: int, workers: int) -> list[Row]:
    """`batch run` of one month against INSERT ... SELECT amount * rate on the same rows.

    The draft hash is printed with the figure: a change that keeps the speed must also
    keep the lines, and the hash says so in one word."""
    from payouts import migrations
    from payouts.batch import service
    from payouts.db import make_engine, unit_of_work

    server = _server_url()
    name = f"pp_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_with_database(server, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_database(server, name)
    engine = make_engine(url)
    demo = demo_module()
    try:
        migrations.upgrade(url, engine=engine)
        # Size the program: about `invoices` invoice lines over the deals of one month.
        deals_per_month = max(1.0, invoices / partners / 12)
        probe = demo.build(partners, 1, seed=11, deals_per_month=deals_per_month)
        lines = max(1, round(invoices / max(1, probe.count("deals"))))
        start = time.perf_counter()
        with unit_of_work(engine) as session:
            program = demo.generate(
                session,
                partners,
                1,
                seed=11,
                bulk=True,
                deals_per_month=deals_per_month,
                invoice_lines=lines,
            )
        # Steady state, as autovacuum leaves a production database: otherwise whichever
        # query reads the fresh rows first pays for setting their hint bits.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        loaded = time.perf_counter() - start
        period = program.periods[0]
        count = program.count("invoices")
        # The generated rows (gigabytes of dicts) are not part of what a run has in
        # memory: a `payouts batch run` process starts without them.
        del program, probe
        gc.collect()
        print(
            f"  batch: loaded {partners:,} partners, {count:,} invoices in {loaded:.0f} s "
            f"(not timed)",
            flush=True,
        )

        # The baseline is a second or two, so one timing is noisy: the median of three.
        timings: list[float] = []
        for _ in range(BASELINE_RUNS):
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS bench_flat_rate"))
                conn.execute(
                    text(
                        "CREATE TABLE bench_flat_rate (invoice_id text, partner_id text, "
                        "amount_minor bigint, currency text, commission_minor bigint)"
                    )
                )
            start = time.perf_counter()
            with engine.begin() as conn:
                baseline_rows = conn.execute(text(BASELINE_SQL), {"period": period}).rowcount
            timings.append(time.perf_counter() - start)
        baseline = sorted(timings)[len(timings) // 2]

        start = time.perf_counter()
        with unit_of_work(engine) as session:
            result = service.run(session, period, actor="bench", workers=workers)
        seconds = time.perf_counter() - start
        print(f"  batch: draft hash {result.draft_hash}", flush=True)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    ratio = seconds / baseline
    return [
        Row(
            f"batch run: {partners:,} partners, {count:,} invoices -> {result.lines:,} lines",
            f"{seconds:.2f} s",
            f"{baseline:.2f} s (flat-rate INSERT ... SELECT, {baseline_rows:,} rows, median of "
            f"{', '.join(f'{t:.2f}' for t in timings)})",
            f"{ratio:.1f}x",
            f"<= {BATCH_TARGET:.0f}x",
            ratio <= BATCH_TARGET,
            f"workers={workers} draft hash {result.draft_hash}",
        )
    ]


# Statements and ingestion: the benchmarks of their own issues -------------------------


def _from_module(module: str, scale: float) -> list[Row]:
    bench = __import__(module)
    rows: list[Row] = []
    for item in bench.run(scale):
        ratio = float(item["ratio"])
        target = float(item["target_ratio"])
        rows.append(
            Row(
                str(item["name"]),
                f"{item['figure']}/s",
                f"{item['baseline']}/s ({item['baseline_name']})",
                f"{ratio:.3f}",
                f">= {target}",
                ratio >= target,
            )
        )
    return rows


def statements(scale: float) -> list[Row]:
    return _from_module("bench_statements", scale)


def rendering(scale: float) -> list[Row]:
    return _from_module("bench_render", scale)


def ingestion(scale: float) -> list[Row]:
    if not (ROOT / "bench" / "bench_ingestion.py").exists():
        return [Row("ingestion", "-", "-", "-", "-", None, "bench_ingestion.py not present")]
    return _from_module("bench_ingestion", scale)


def csv_import(scale: float) -> list[Row]:
    """Peak memory of a large CSV import against the same command on a tiny file."""
    import bench_csv_import

    rows: list[Row] = []
    for item in bench_csv_import.run(scale):
        ratio = float(item["ratio"])
        target = float(item["target_ratio"])
        rows.append(
            Row(
                str(item["name"]),
                str(item["figure"]),
                f"{item['baseline']} ({item['baseline_name']})",
                f"{ratio:.2f}x",
                f"<= {target}x",
                ratio <= target,
            )
        )
    return rows


def portal(scale: float) -> list[Row]:
    """The portal's dashboard and longest statement page: p95 against 150 ms."""
    import bench_portal

    rows: list[Row] = []
    for item in bench_portal.run(scale):
        figure, target = float(item["figure"]), float(item["target_max"])
        rows.append(
            Row(
                str(item["name"]),
                f"{figure} ms",
                f"{item['baseline']} ms ({item['baseline_name']})",
                f"{figure / target:.2f}",
                f"p95 < {target:.0f} ms",
                figure < target,
            )
        )
    return rows


def console(scale: float) -> list[Row]:
    """The console's review page of the batch benchmark's month: p95 against 500 ms."""
    import bench_console

    rows: list[Row] = []
    for item in bench_console.run(scale):
        figure, target = float(item["figure"]), float(item["target_max"])
        rows.append(
            Row(
                str(item["name"]),
                f"{figure} ms",
                f"{item['baseline']} ms ({item['baseline_name']})",
                f"{figure / target:.2f}",
                f"p95 < {target:.0f} ms",
                figure < target,
            )
        )
    return rows


# Close and the month-end through the command line ---------------------------------


def close(scale: float) -> list[Row]:
    """`payouts batch close` (with statements) against a ledger-shaped INSERT ... SELECT."""
    import bench_close

    rows: list[Row] = []
    for item in bench_close.run(scale):
        ratio = float(str(item["ratio"]))
        target = float(str(item["target_ratio"]))
        rows.append(
            Row(
                str(item["name"]),
                f"{float(str(item['figure'])):.2f} s",
                f"{float(str(item['baseline'])):.2f} s ({item['baseline_name']})",
                f"{ratio:.2f}x",
                f"<= {target:.0f}x",
                ratio <= target,
                f"peak RSS {float(str(item['peak_mb'])):.0f} MB",
            )
        )
    return rows


def month_end(scale: float) -> list[Row]:
    """Run, approve, close and both exports through the command line: total < 60 s."""
    import month_end as steps

    rows: list[Row] = []
    for item in steps.run(scale):
        figure, target = float(str(item["figure"])), float(str(item["target_max"]))
        detail = ", ".join(
            f"{name} {seconds:.1f} s/{peak:.0f} MB"
            for name, seconds, peak, _ in item["steps"]  # type: ignore[attr-defined]
        )
        rows.append(
            Row(
                str(item["name"]),
                f"{figure:.2f} s",
                "-",
                f"{figure / target:.2f}",
                f"< {target:.0f} s",
                figure < target,
                detail,
            )
        )
    return rows


# The runner ------------------------------------------------------------------------


def plan(scale: float, smoke: bool, workers: int) -> dict[str, Callable[[], list[Row]]]:
    if smoke:
        return {
            "calculator": lambda: calculator(20_000),
            "batch": lambda: batch(200, 20_000, workers),
            "statements": lambda: statements(0.025),
            "rendering": lambda: rendering(0.01),
            "ingestion": lambda: ingestion(0.05),
            "csv_import": lambda: csv_import(0.01),
            "portal": lambda: portal(0.05),
            "console": lambda: console(0.02),
            "close": lambda: close(0.02),
            "month_end": lambda: month_end(0.02),
        }
    return {
        "calculator": lambda: calculator(max(1_000, round(CALCULATOR_INVOICES * scale))),
        "batch": lambda: batch(
            max(20, round(BATCH_PARTNERS * scale)),
            max(1_000, round(BATCH_INVOICES * scale)),
            workers,
        ),
        "statements": lambda: statements(scale),
        "rendering": lambda: rendering(scale),
        "ingestion": lambda: ingestion(scale),
        "csv_import": lambda: csv_import(scale),
        "portal": lambda: portal(scale),
        "console": lambda: console(scale),
        "close": lambda: close(scale),
        "month_end": lambda: month_end(scale),
    }


def _table(rows: list[Row]) -> str:
    header = ("benchmark", "figure", "baseline", "ratio", "target", "")
    body = [
        (
            r.name,
            r.figure,
            r.baseline,
            r.ratio,
            r.target,
            ("ok" if r.met else "MISSED" if r.met is not None else "")
            + (f" {r.note}" if r.note else ""),
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in (header, *body)) for i in range(len(header))]
    out = []
    for number, line in enumerate((header, *body)):
        out.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is the issues' full scale")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for CI (< 60 s)")
    parser.add_argument("--only", action="append", help="run only these benchmarks")
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="batch run processes"
    )
    args = parser.parse_args(argv)
    if not args.smoke and not (args.scale > 0 and math.isfinite(args.scale)):
        parser.error("--scale must be a positive number")
    benches = plan(args.scale, args.smoke, args.workers)
    unknown = set(args.only or ()) - set(benches)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}: {', '.join(benches)}")
    rows: list[Row] = []
    errors = 0
    began = time.perf_counter()
    for name, bench in benches.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        try:
            rows.extend(bench())
        except Exception as exc:
            errors += 1
            traceback.print_exc()
            rows.append(Row(name, "ERROR", "-", "-", "-", None, f"{type(exc).__name__}: {exc}"))
        print(f"  {name}: {time.perf_counter() - start:.1f} s", flush=True)
    label = "smoke" if args.smoke else f"scale {args.scale:g}"
    print(f"\nbenchmarks ({label}, {time.perf_counter() - began:.0f} s in all)\n")
    print(_table(rows))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
