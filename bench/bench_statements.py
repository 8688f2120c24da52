"""Statement rendering throughput against a bare reportlab page of the same text.

For N synthetic statements of realistic size (30 lines each by default) this times
``render_pdf`` (the full platypus layout: header, summary, tier bars, tables with
repeated headers, two-pass "page N of M") and, in the same run, a bare reportlab
loop that draws the same strings with ``drawString`` on one page per statement
with the same embedded font: the strings are those the rendered statement prints
(read back with pypdf beforehand, outside the timing). It prints both rates and
their ratio (target >= 0.3).

    .venv/bin/python bench/bench_statements.py --statements 200
    .venv/bin/python bench/bench_statements.py --statements 5     # smoke

``run(scale)`` returns the rows for a bench runner: ``scale`` 1.0 means 200
statements.
"""

from __future__ import annotations

import argparse
import functools
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the synthetic statements live with the tests
    sys.path.insert(0, str(ROOT))

import pypdf  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from statements.canonical import seal  # noqa: E402
from statements.pdf import fonts, render_pdf  # noqa: E402
from tests.statements.factories import synthetic_statement  # noqa: E402

TARGET_RATIO = 0.3
DEFAULT_STATEMENTS = 200


def printed_strings(pdf: bytes) -> list[str]:
    """Every string the rendered statement prints (header, summary, tier, tables,
    running headers and footers), read back with pypdf: the baseline draws exactly
    this text volume."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [
        text for page in reader.pages for text in page.extract_text().splitlines() if text.strip()
    ]


BARE_FONT = "BareStatementSans"


@functools.lru_cache(maxsize=1)
def bare_font() -> str:
    """The statements' regular font file as reportlab registers it on its own: the
    statements' fonts embed their subsets from a memo, which a bare page must not use."""
    statement_font = pdfmetrics.getFont(fonts().regular)
    pdfmetrics.registerFont(TTFont(BARE_FONT, statement_font.face.filename))
    return BARE_FONT


def bare_page(texts: list[str]) -> bytes:
    """One page with the same strings, drawn in a grid with the same embedded font."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setFont(bare_font(), 6)
    width, height = A4
    x, y = 30.0, height - 30
    for text in texts:
        canvas.drawString(x, y, text)
        x += 75
        if x > width - 60:
            x, y = 30.0, y - 8
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def measure(count: int, lines: int = 30) -> dict[str, float]:
    statements = [seal(synthetic_statement(lines, seed=seed)) for seed in range(count)]
    texts = [printed_strings(render_pdf(s)) for s in statements]
    render_pdf(statements[0])  # warm up: font registration, babel data
    bare_page(texts[0])

    start = time.perf_counter()
    pages = 0
    for statement in statements:
        pdf = render_pdf(statement)
        pages += pdf.count(b"/Type /Page\n")
    statements_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for strings in texts:
        bare_page(strings)
    bare_seconds = time.perf_counter() - start

    figure = count / statements_seconds
    baseline = count / bare_seconds
    return {
        "statements": count,
        "lines": lines,
        "statements_per_second": figure,
        "bare_pages_per_second": baseline,
        "ratio": figure / baseline,
        "pages": pages,
    }


def run(scale: float = 1.0) -> list[dict[str, object]]:
    """Rows of figure, baseline and ratio for a bench runner."""
    result = measure(max(1, round(DEFAULT_STATEMENTS * scale)))
    return [
        {
            "name": "statements rendered per second (30-line statements, PDF)",
            "figure": round(result["statements_per_second"], 2),
            "baseline": round(result["bare_pages_per_second"], 2),
            "baseline_name": "bare reportlab pages per second, same text",
            "ratio": round(result["ratio"], 3),
            "target_ratio": TARGET_RATIO,
            "statements": int(result["statements"]),
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=DEFAULT_STATEMENTS)
    parser.add_argument("--lines", type=int, default=30)
    args = parser.parse_args(argv)
    result = measure(args.statements, args.lines)
    print(f"font: {fonts().family}")
    print(
        f"statements: {result['statements']:.0f} of {result['lines']:.0f} lines"
        f" ({result['pages'] / result['statements']:.1f} pages each)"
    )
    print(f"render_pdf:        {result['statements_per_second']:8.1f} statements/s")
    print(f"bare reportlab:    {result['bare_pages_per_second']:8.1f} pages/s (same text)")
    verdict = "meets" if result["ratio"] >= TARGET_RATIO else "BELOW"
    print(f"ratio:             {result['ratio']:8.3f} ({verdict} target {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
