"""`batch run` of two checkouts in turns, on one database loaded once: old, new, old, new.

    .venv/bin/python bench/batch_turns.py --old /work/wt-batch-base --new . --turns 2
    .venv/bin/python bench/batch_turns.py --old A --new B --scale 0.1   # a tenth

Why: a refactor of the batch must keep its speed, and this machine is shared, so two
figures measured minutes apart compare the load of the machine as much as the code.
Alternating the two checkouts over the same rows in one sitting puts both under the
same conditions; every run's time, CPU time (the run's and its workers', which a
busy machine stretches less than wall time) and draft hash are printed, then each
checkout's medians. The two checkouts must share the schema (same migrations): the database is
loaded once, by the new checkout's demo generator, and each run replaces the draft.

Each run is a fresh `python` process whose import path starts at the checkout, so it
runs exactly that checkout's code, as `payouts batch run` would.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import run as runner  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

# One timed `service.run` in the checkout named by argv[1] (first on the import path).
ONE_RUN = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from payouts.batch import service
from payouts.db import make_engine, unit_of_work
import payouts
assert payouts.__file__.startswith(sys.argv[1]), payouts.__file__
engine = make_engine(sys.argv[2])
def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, once joined
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
start, cpu_start = time.perf_counter(), cpu()
with unit_of_work(engine) as session:
    result = service.run(session, sys.argv[3], actor="bench", workers=int(sys.argv[4]))
seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
engine.dispose()
# Peak resident memory (kB on Linux): this process, and the largest of its workers.
run_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps(
    {"seconds": seconds, "cpu": cpu_seconds, "hash": result.draft_hash, "lines": result.lines,
     "run_mb": run_rss / 1024, "worker_mb": worker_rss / 1024}
))
"""


def _load(url: str, partners: int, invoices: int) -> str:
    """Create the schema and the program's month; return the month."""
    from payouts import migrations
    from payouts.db import make_engine, unit_of_work

    generator = runner.demo_module()
    engine = make_engine(url)
    try:
        migrations.upgrade(url, engine=engine)
        deals_per_month = max(1.0, invoices / partners / 12)
        probe = generator.build(partners, 1, seed=11, deals_per_month=deals_per_month)
        lines = max(1, round(invoices / max(1, probe.count("deals"))))
        with unit_of_work(engine) as session:
            program = generator.generate(
                session,
                partners,
                1,
                seed=11,
                bulk=True,
                deals_per_month=deals_per_month,
                invoice_lines=lines,
            )
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        print(f"loaded {partners:,} partners, {program.count('invoices'):,} invoices", flush=True)
        return str(program.periods[0])
    finally:
        engine.dispose()


def _loaded(url: str) -> str:
    """The month of a database loaded by `_load` before, upgraded to this checkout's schema."""
    from payouts import migrations
    from payouts.db import make_engine

    engine = make_engine(url)
    try:
        migrations.upgrade(url, engine=engine)
        with engine.connect() as conn:
            return str(conn.scalar(text("SELECT min(accounting_period) FROM invoices")))
    finally:
        engine.dispose()


def _one(checkout: Path, url: str, period: str, workers: int) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", ONE_RUN, str(checkout), url, period, str(workers)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if completed.returncode != 0:
        raise SystemExit(f"run in {checkout} failed:\n{completed.stderr}")
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the baseline checkout")
    parser.add_argument("--new", type=Path, required=True, help="the changed checkout")
    parser.add_argument("--turns", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is the issue's scale")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--database",
        default="",
        help="a database already loaded by an earlier run (kept): loading takes minutes",
    )
    args = parser.parse_args(argv)
    old, new = args.old.resolve(), args.new.resolve()
    partners = max(20, round(runner.BATCH_PARTNERS * args.scale))
    invoices = max(1_000, round(runner.BATCH_INVOICES * args.scale))

    server = runner._server_url()
    name = args.database or f"pp_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(runner._with_database(server, "postgres"), isolation_level="AUTOCOMMIT")
    if not args.database:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = runner._with_database(server, name)
    times: dict[str, list[float]] = {"old": [], "new": []}
    cpu: dict[str, list[float]] = {"old": [], "new": []}
    hashes: set[str] = set()
    try:
        period = _loaded(url) if args.database else _load(url, partners, invoices)
        for turn in range(1, args.turns + 1):
            for label, checkout in (("old", old), ("new", new)):
                result = _one(checkout, url, period, args.workers)
                seconds = float(str(result["seconds"]))
                times[label].append(seconds)
                cpu[label].append(float(str(result["cpu"])))
                hashes.add(str(result["hash"]))
                print(
                    f"turn {turn} {label} ({checkout}): {seconds:.2f} s "
                    f"({cpu[label][-1]:.2f} s CPU in the run and its workers), "
                    f"{result['lines']:,} lines, draft hash {result['hash']}, peak RSS "
                    f"run {float(str(result['run_mb'])):.0f} MB, "
                    f"largest worker {float(str(result['worker_mb'])):.0f} MB",
                    flush=True,
                )
    finally:
        if not args.database:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    median_old, median_new = statistics.median(times["old"]), statistics.median(times["new"])
    cpu_old, cpu_new = statistics.median(cpu["old"]), statistics.median(cpu["new"])
    print(
        f"median old {median_old:.2f} s, new {median_new:.2f} s, "
        f"new/old {median_new / median_old:.3f}; CPU (run and workers, less sensitive "
        f"to a shared machine's load) old {cpu_old:.2f} s, new {cpu_new:.2f} s, "
        f"new/old {cpu_new / cpu_old:.3f}; "
        f"draft hashes {'identical' if len(hashes) == 1 else 'DIFFER'}"
    )
    return 0 if len(hashes) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
