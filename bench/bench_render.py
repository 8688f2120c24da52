"""Rendering a real closed month's statements against bare reportlab pages, per core.

The month comes from the demo program (`payouts demo`, seeded): N partners, every
month run, approved and closed, in a scratch SQLite file (or the database given with
``--database-url``, reused as it is: it must hold a closed month). The figure is
``statements.rendering.render_period`` of the last closed month, as `payouts statements
render` runs it (statements built from the database, PDF and CSV written), with one
worker and with two; the baseline, measured in the same run on one core, is a bare
reportlab page per statement that draws the same strings in the same embedded font
(read back from the rendered PDFs with pypdf beforehand, outside the timing). The
ratio is per core used: (statements per second / workers) / (bare pages per second).
Target: >= 0.5 (issue 22). It also prints `render_pdf` alone over the same statements,
to tell the PDF from building statements out of the database.

    .venv/bin/python bench/bench_render.py --partners 2000             # a few minutes
    .venv/bin/python bench/bench_render.py --partners 20 --months 1    # smoke
    .venv/bin/python bench/bench_render.py --database-url sqlite:////tmp/demo.db

``run(scale)`` returns the rows for a bench runner: ``scale`` 1.0 means 2,000 partners.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_statements import bare_page, printed_strings  # noqa: E402
from sqlalchemy import text  # noqa: E402

from payouts.db import make_engine, unit_of_work  # noqa: E402
from statements.builder import build, partners_of_period  # noqa: E402
from statements.canonical import seal  # noqa: E402
from statements.model import Statement  # noqa: E402
from statements.pdf import render_pdf  # noqa: E402
from statements.rendering import render_period  # noqa: E402

TARGET_RATIO = 0.5
DEFAULT_PARTNERS = 2_000
DEFAULT_MONTHS = 2


@dataclass(frozen=True, slots=True)
class Timing:
    count: int
    wall: float
    cpu: float
    """User and system seconds of this process and of the worker processes it reaped."""

    @property
    def per_second(self) -> float:
        return self.count / self.wall

    @property
    def per_cpu_second(self) -> float:
        return self.count / self.cpu


@dataclass(frozen=True, slots=True)
class Result:
    statements: int
    pages: int
    rendering: dict[int, Timing]
    """render_period of the month, by number of workers."""
    pdf_only: Timing
    bare: Timing

    def ratio_per_core(self, workers: int) -> float:
        """Statements per second per worker over bare pages per second (wall clock)."""
        return self.rendering[workers].per_second / workers / self.bare.per_second

    def ratio_per_cpu_second(self, workers: int) -> float:
        """The same per CPU second actually spent: what a core does when it is not
        shared with other work on the machine."""
        return self.rendering[workers].per_cpu_second / self.bare.per_cpu_second


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def make_month(url: str, partners: int, months: int, out: Path) -> None:
    """The seeded demo program, every month closed, in the (empty) database at `url`."""
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DATABASE_OWNER_URL", None)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "demo",
            "--partners",
            str(partners),
            "--months",
            str(months),
            "--out",
            str(out),
            "--workers",
            "1",
            "--fresh",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def last_closed_period(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            period = connection.execute(
                text("SELECT max(period) FROM batches WHERE status = 'closed'")
            ).scalar_one()
    finally:
        engine.dispose()
    if period is None:
        raise SystemExit(f"no closed month in {url}")
    return str(period)


def _render(url: str, period: str, workers: int, out: Path) -> Timing:
    engine = make_engine(url)
    try:
        with unit_of_work(engine, read_only=True) as session:
            wall, cpu = time.perf_counter(), _cpu()
            rendered = render_period(session, period, out, workers=workers)
            return Timing(len(rendered), time.perf_counter() - wall, _cpu() - cpu)
    finally:
        engine.dispose()


def _built(url: str, period: str) -> list[Statement]:
    engine = make_engine(url)
    try:
        with unit_of_work(engine, read_only=True) as session:
            partners = partners_of_period(session, period)
            return [seal(build(session, p, period)) for p in partners]
    finally:
        engine.dispose()


def measure(url: str, period: str) -> Result:
    statements = _built(url, period)
    render_pdf(statements[0])  # warm up: fonts, babel's locale data (workers fork from here)
    rendering: dict[int, Timing] = {}
    with tempfile.TemporaryDirectory(prefix="bench-render-") as scratch:
        for workers in (1, 2):
            rendering[workers] = _render(url, period, workers, Path(scratch) / f"w{workers}")
        pdfs = [pdf.read_bytes() for pdf in sorted((Path(scratch) / "w1").glob("*.pdf"))]
    texts = [printed_strings(pdf) for pdf in pdfs]
    pages = sum(pdf.count(b"/Type /Page\n") for pdf in pdfs)
    bare_page(texts[0])  # warm up
    wall, cpu = time.perf_counter(), _cpu()
    for strings in texts:
        bare_page(strings)
    bare = Timing(len(texts), time.perf_counter() - wall, _cpu() - cpu)

    wall, cpu = time.perf_counter(), _cpu()
    for statement in statements:
        render_pdf(statement)
    pdf_only = Timing(len(statements), time.perf_counter() - wall, _cpu() - cpu)
    return Result(len(pdfs), pages, rendering, pdf_only, bare)


def run_at(partners: int, months: int, url: str | None = None) -> tuple[str, Result]:
    if url is not None:
        period = last_closed_period(url)
        return period, measure(url, period)
    with tempfile.TemporaryDirectory(prefix="bench-render-db-") as scratch:
        url = f"sqlite:///{scratch}/demo.db"
        make_month(url, partners, months, Path(scratch) / "demo")
        period = last_closed_period(url)
        return period, measure(url, period)


def run(scale: float = 1.0) -> list[dict[str, object]]:
    """Rows of figure, baseline and ratio for a bench runner."""
    partners = max(10, round(DEFAULT_PARTNERS * scale))
    _, result = run_at(partners, 1 if scale < 0.1 else DEFAULT_MONTHS)
    rows: list[dict[str, object]] = []
    for workers in (1, 2):
        timing = result.rendering[workers]
        rows.append(
            {
                "name": f"month's statements rendered per CPU second ({result.statements}"
                f" partners, {workers} worker(s), {timing.cpu / timing.wall:.1f} cores busy)",
                "figure": round(timing.per_cpu_second, 2),
                "baseline": round(result.bare.per_cpu_second, 2),
                "baseline_name": "bare reportlab pages per CPU second, same text",
                "ratio": round(result.ratio_per_cpu_second(workers), 3),
                "target_ratio": TARGET_RATIO,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partners", type=int, default=DEFAULT_PARTNERS)
    parser.add_argument("--months", type=int, default=DEFAULT_MONTHS)
    parser.add_argument("--database-url", help="a database holding a closed month (reused)")
    args = parser.parse_args(argv)
    if args.partners < 1 or args.months < 1:
        parser.error("--partners and --months must be at least 1")
    period, result = run_at(args.partners, args.months, args.database_url)
    print(
        f"month {period}: {result.statements} statements, {result.pages} pages"
        f" ({result.pages / result.statements:.2f} pages each)"
    )
    for workers, timing in result.rendering.items():
        print(
            f"render_period, {workers} worker(s): {timing.per_second:7.1f} statements/s"
            f" ({timing.per_second / workers:.1f} per worker; {timing.cpu / timing.wall:.2f}"
            f" cores busy; {timing.per_cpu_second:.1f} per CPU second)"
        )
    print(
        f"render_pdf alone, one worker:  {result.pdf_only.per_second:7.1f} statements/s"
        f" ({result.pdf_only.per_cpu_second:.1f} per CPU second)"
    )
    print(
        f"bare reportlab, one worker:    {result.bare.per_second:7.1f} pages/s"
        f" ({result.bare.per_cpu_second:.1f} per CPU second; same text)"
    )
    for workers in result.rendering:
        ratio = result.ratio_per_core(workers)
        cpu_ratio = result.ratio_per_cpu_second(workers)
        verdict = "meets" if cpu_ratio >= TARGET_RATIO else "BELOW"
        print(
            f"ratio, {workers} worker(s): {ratio:.3f} per worker (wall clock),"
            f" {cpu_ratio:.3f} per CPU second ({verdict} target {TARGET_RATIO})"
        )
    pdf_ratio = result.pdf_only.per_cpu_second / result.bare.per_cpu_second
    print(f"ratio, render_pdf alone: {pdf_ratio:.3f} per CPU second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
