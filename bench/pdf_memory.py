"""A long-lived render worker's memory: RSS while rendering many distinct statements.

Render workers at the 100,000-partner month grew from 215 MB to 890 MB over ~49,000
statements each, while re-rendering the same 985 statements stayed flat: the growth
came with new content (per-process memos of paragraphs, layouts and widths). This
renders `--statements` synthetic statements in one process, each with its own partner
name, customers, sources and components, and prints the resident set size every
`--every` statements; it must stay flat once the fonts and locales are loaded.

    .venv/bin/python bench/pdf_memory.py                      # 20,000 statements
    .venv/bin/python bench/pdf_memory.py --statements 2000 --every 500
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the synthetic statements live with the tests
    sys.path.insert(0, str(ROOT))

from statements.canonical import seal  # noqa: E402
from statements.model import Statement  # noqa: E402
from statements.pdf import render_pdf  # noqa: E402
from tests.statements.factories import synthetic_lines, synthetic_statement  # noqa: E402

LOCALES = (("en_US", "USD"), ("de_DE", "EUR"), ("fr_FR", "EUR"), ("ja_JP", "USD"))


def rss_mb() -> float:
    """Resident set size of this process now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def distinct_statement(number: int) -> Statement:
    """A statement whose names, customers, sources and amounts no other one has."""
    locale, currency = LOCALES[number % len(LOCALES)]
    lines = [
        replace(
            line,
            customer=f"Customer {number}-{index} Holdings of {number % 997} Street",
            source_fact=f"invoice:INV-{number:06d}-{index}",
            component=f"component-{number % 50}-{index % 7}",
        )
        for index, line in enumerate(
            synthetic_lines(8 + number % 25, seed=number, currency=currency)
        )
    ]
    return seal(
        synthetic_statement(
            line_list=lines,
            seed=number,
            locale=locale,
            currency=currency,
            partner_name=f"Partner {number} Trading Company of {number * 7919 % 100003} Avenue",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statements", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=2_000)
    args = parser.parse_args(argv)
    if args.statements < 1 or args.every < 1:
        parser.error("--statements and --every must be at least 1")
    render_pdf(distinct_statement(0))  # fonts and the first locale loaded
    print(f"after one statement: {rss_mb():.1f} MB")
    start = time.perf_counter()
    for number in range(1, args.statements + 1):
        render_pdf(distinct_statement(number))
        if number % args.every == 0:
            took = time.perf_counter() - start
            print(f"{number:7d} statements: RSS {rss_mb():7.1f} MB ({took:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
