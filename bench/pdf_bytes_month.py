"""Every statement PDF of a closed month, rendered by this checkout and by another one,
compared byte for byte: a faster renderer must print the same bytes.

``tests/statements/test_pdf_bytes.py`` pins 21 chosen cases; this covers a whole demo
month as `render_period` draws it (statements built a slice at a time, with their
payout states and self-billed documents), in one process per checkout so that every
per-process memo is exercised from statement to statement.

    .venv/bin/python bench/pdf_bytes_month.py --database-url sqlite:////tmp/demo.db \\
        --against /work/main

The database must hold a closed month (`bench/bench_render.py` says how to make one);
it is only read. Exit status 1 when any statement differs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run inside each checkout: print "<partner id> <sha256>" for every statement of the
# month. Only names both checkouts have are used.
DIGESTS = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from payouts.db import make_engine, unit_of_work
from statements import rendering
from statements.builder import partners_of_period, slices
from statements.pdf import render_pdf

engine = make_engine(sys.argv[2])
with unit_of_work(engine, read_only=True) as session:
    for ids in slices(partners_of_period(session, sys.argv[3])):
        for item in rendering._slice_of(session, sys.argv[3], ids):
            pdf = render_pdf(item.statement, item.payout, item.documents)
            print(item.statement.partner_id, hashlib.sha256(pdf).hexdigest())
"""


def digests(root: Path, url: str, period: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-c", DIGESTS, str(root), url, period],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split() for line in out.splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a database with a closed month")
    parser.add_argument("--against", required=True, help="the other checkout (e.g. /work/main)")
    parser.add_argument("--period", help="YYYY-MM (default: the last closed month)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_render import last_closed_period

    period = args.period or last_closed_period(args.database_url)
    ours = digests(ROOT, args.database_url, period)
    theirs = digests(Path(args.against).resolve(), args.database_url, period)
    differ = sorted(p for p in ours.keys() | theirs.keys() if ours.get(p) != theirs.get(p))
    print(f"month {period}: {len(ours)} statements here, {len(theirs)} in {args.against}")
    if differ:
        print(f"{len(differ)} differ, first: {', '.join(differ[:10])}")
        return 1
    print("every PDF has the same bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
