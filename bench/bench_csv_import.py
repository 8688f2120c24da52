"""Peak memory of `payouts facts import invoices FILE.csv` on a large generated file.

Generates an invoices CSV of about 50 MB (1.3 million rows) at scale 1, imports it with
the real command (`.venv/bin/payouts facts import invoices big.csv`) on a fresh,
migrated database (a temporary SQLite file, or a new PostgreSQL database when
DATABASE_URL names a PostgreSQL server), and reads the command's peak resident memory
(ru_maxrss from wait4, what `/usr/bin/time -v` prints as "Maximum resident set size").

The baseline is the same command importing a 100-row file: the process's own size.
The ratio is what the large file adds on top (target <= 1.5x: memory does not grow with
the file). Measured on one machine with this file (54 MB, 1.3 million invoices), before
the import streamed: 3.67 GB peak on SQLite and on PostgreSQL; after: 131 MB on SQLite
(2 min 5 s), 137 MB on PostgreSQL (2 min 27 s), against about 100 MB for 100 rows.

    .venv/bin/python bench/bench_csv_import.py                # 50 MB
    .venv/bin/python bench/bench_csv_import.py --rows 100000  # smaller

``run(scale)`` returns the rows for the bench runner: ``scale`` 1.0 means 50 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_ingestion import _database  # noqa: E402

ROWS_AT_SCALE_1 = 1_300_000  # about 50 MB of invoice rows
BASELINE_ROWS = 100
TARGET_RATIO = 1.5
HEADER = "id,customer_id,issue_date,amount,currency\n"


def write_invoices(path: Path, rows: int, prefix: str) -> int:
    """An invoices file of `rows` rows; returns its size in bytes."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        # Varied amounts and days, as a month of billing looks.
        for start in range(0, rows, 10_000):
            out.write(
                "".join(
                    f"{prefix}-{n:09d},C-1,2026-01-{n % 28 + 1:02d},{n % 99_991}.{n % 97:02d},USD\n"
                    for n in range(start, min(start + 10_000, rows))
                )
            )
    return path.stat().st_size


def payouts_command() -> list[str]:
    installed = Path(sys.executable).with_name("payouts")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "api.cli"]


def measured(args: list[str], url: str, key: str = "") -> tuple[int, float, str]:
    """(peak RSS in KiB, seconds, stdout) of one run of the command, from wait4, acting
    for the API key `key`."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            [*payouts_command(), *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url, "PAYOUTS_API_KEY": key},
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"payouts {' '.join(args)} failed: {err.read().strip()}")
        return usage.ru_maxrss, seconds, out.read().strip()


def measure(rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory, _database() as url:
        folder = Path(directory)
        customers = folder / "customers.csv"
        customers.write_text("id,name\nC-1,Bench customer\n", encoding="utf-8")
        small, big = folder / "small.csv", folder / "big.csv"
        write_invoices(small, BASELINE_ROWS, "SMALL")
        size = write_invoices(big, rows, "BIG")
        measured(["db", "upgrade"], url)
        _, _, made = measured(["keys", "create", "--role", "billing", "--name", "bench"], url)
        key = made.splitlines()[-1]
        measured(["facts", "import", "customers", str(customers)], url, key)
        baseline_kib, _, _ = measured(["facts", "import", "invoices", str(small)], url, key)
        peak_kib, seconds, summary = measured(["facts", "import", "invoices", str(big)], url, key)
    return {
        "rows": rows,
        "megabytes": size / 1e6,
        "peak_mib": peak_kib / 1024,
        "baseline_mib": baseline_kib / 1024,
        "ratio": peak_kib / baseline_kib,
        "seconds": seconds,
        "backend": 0.0 if url.startswith("sqlite") else 1.0,
        "inserted": float(summary.split(" inserted")[0].rsplit(" ", 1)[-1]),
    }


def run(scale: float = 1.0) -> list[dict[str, object]]:
    """Rows of figure, baseline and ratio for the bench runner (lower ratio is better)."""
    result = measure(max(1_000, round(ROWS_AT_SCALE_1 * scale)))
    backend = "PostgreSQL" if result["backend"] else "SQLite"
    return [
        {
            "name": (
                f"CSV import peak memory: {result['megabytes']:.0f} MB, "
                f"{result['rows']:,.0f} invoices, {backend}"
            ),
            "figure": f"{result['peak_mib']:.0f} MiB ({result['seconds']:.0f} s)",
            "baseline": f"{result['baseline_mib']:.0f} MiB",
            "baseline_name": f"the same command on a {BASELINE_ROWS}-row file",
            "ratio": round(result["ratio"], 2),
            "target_ratio": TARGET_RATIO,
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS_AT_SCALE_1)
    args = parser.parse_args(argv)
    result = measure(args.rows)
    backend = "PostgreSQL" if result["backend"] else "SQLite"
    print(f"database: {backend}; file: {result['megabytes']:.1f} MB, {result['rows']:,.0f} rows")
    print(f"import of the file:   peak {result['peak_mib']:7.1f} MiB in {result['seconds']:.1f} s")
    print(f"import of {BASELINE_ROWS} rows:  peak {result['baseline_mib']:7.1f} MiB")
    verdict = "meets" if result["ratio"] <= TARGET_RATIO else "ABOVE"
    print(f"ratio:                {result['ratio']:7.2f} ({verdict} target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
