"""Render workers' memory over a month of distinct statements, and what renewing them costs.

Needs a closed month on PostgreSQL, read as the service role, for example the 10,000-partner
month of `month_data.py`, copied, then run, approved and closed as `month_end.py` does:

    DATABASE_URL=postgresql+psycopg://payouts_app@127.0.0.1:5432/DB \\
        .venv/bin/python bench/render_memory.py loop --slices 60
    DATABASE_URL=... .venv/bin/python bench/render_memory.py period --partners 6000 \\
        --renew-after 10
    DATABASE_URL=... .venv/bin/python bench/render_memory.py period --partners 6000 \\
        --renew-after 0

`loop`: a process forked from this one draws slices of WORKER_SLICE partners as a
render worker does (`rendering._render_slice`, under an exported snapshot): `--slices`
distinct slices; then, as the baseline, another forked process draws the first half of
them twice (as many statements drawn, half as many distinct). Each prints its RSS every
10 slices and its growth per 1,000 statements drawn after the first slices (once the
fonts, locale data and caches that every statement needs are loaded): distinct content
that grows while the same content drawn again does not points at what a process keeps
per distinct statement (at revision ec9dab5, before the canvas renderer: platypus table
shapes in `statements.pdf`'s `_LAYOUTS`, tracemalloc's largest growth by traceback).
`bench/pdf_memory.py` is the same question for render_pdf alone, without a database.

`period`: `render_period` of the month's first `--partners` partners with `--workers`
processes renewed every `--renew-after` slices (0: never, as before renewal). This
process samples every worker's VmRSS and VmHWM (/proc, Linux) from the progress callback
every `--every` statements (a sampling thread would make the forks multi-threaded) and
prints them, each worker's peak, the growth per 1,000 statements a worker draws, the wall
time and the workers' CPU time; two runs, with and without renewal, give renewal's cost.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from payouts import snapshots  # noqa: E402
from payouts.db import make_engine  # noqa: E402
from payouts.settings import get_settings  # noqa: E402
from statements import rendering  # noqa: E402
from statements.builder import partners_of_period, slices  # noqa: E402

WARM_SLICES = 2
"""Slices drawn before growth is counted: the first statements load what all need."""


def _status(pid: int | str) -> tuple[int, int]:
    """VmRSS and VmHWM of a process, in MB (0, 0 once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in text.splitlines())
    except (OSError, ValueError):
        return 0, 0
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def _children() -> list[int]:
    found: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(pid) for pid in (task / "children").read_text().split()]
    return sorted(found)


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the workers, once their
    pool is shut down): renewal's cost, less blurred than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _last_closed(session: Session) -> str:
    from sqlalchemy import text

    period = session.scalar(text("SELECT max(period) FROM batches WHERE status = 'closed'"))
    if period is None:
        raise SystemExit("no closed month in DATABASE_URL's database")
    return str(period)


def _growth(points: list[tuple[int, int]]) -> float:
    """MB per 1,000 statements between the first and last (statements, MB) points."""
    (n0, mb0), (n1, mb1) = points[0], points[-1]
    return (mb1 - mb0) * 1000 / (n1 - n0) if n1 > n0 else 0.0


def loop(session: Session, period: str, count: int) -> None:
    partners = partners_of_period(session, period)
    source = snapshots.share(session)
    distinct = list(slices(partners, rendering.WORKER_SLICE))[:count]
    half = distinct[: count // 2]
    fork = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="render-memory-") as scratch:
        for name, todo, passes in (("distinct", distinct, 1), ("twice", half + half, 2)):
            # Each in a process forked from this one, as a render worker is: same start.
            child = fork.Process(
                target=_drawn, args=(source, period, todo, Path(scratch) / name, passes)
            )
            child.start()
            child.join()


def _drawn(
    source: snapshots.Shared, period: str, todo: list[list[str]], out: Path, passes: int
) -> None:
    points = _draw(source, period, todo, out, passes)
    print(
        f"{out.name}: {points[-1][0]:,} statements after the first {WARM_SLICES} slices, "
        f"RSS {points[0][1]} -> {points[-1][1]} MB, "
        f"{_growth(points):.1f} MB per 1,000 statements; over the second half "
        f"{_growth(points[len(points) // 2 :]):.1f} (twice: the same statements again)",
        flush=True,
    )


def _draw(
    source: snapshots.Shared, period: str, todo: list[list[str]], out: Path, passes: int
) -> list[tuple[int, int]]:
    """Draw the slices in this process (a second pass into a directory of its own);
    (statements drawn since warm-up, RSS MB) after each slice past the warm-up."""
    points: list[tuple[int, int]] = []
    drawn, started = 0, time.perf_counter()
    for number, ids in enumerate(todo):
        target = out / f"pass-{number * passes // len(todo)}"
        target.mkdir(parents=True, exist_ok=True)
        drawn += len(rendering._render_slice(source, period, ids, target))
        if number + 1 == WARM_SLICES:
            drawn = 0
        if number + 1 >= WARM_SLICES:
            points.append((drawn, _status("self")[0]))
        if (number + 1) % 10 == 0:
            print(
                f"  {out.name}: slice {number + 1:4d}  statements {drawn:6,}  "
                f"RSS {points[-1][1]:5d} MB  {time.perf_counter() - started:6.1f} s",
                flush=True,
            )
    return points


def period_render(
    session: Session, period: str, partners: int, workers: int, renew_after: int, every: int
) -> None:
    everyone = partners_of_period(session, period)[:partners]
    rendering.RENEW_AFTER = renew_after or 10**9
    rendering.partners_of_period = lambda _session, _period: everyone  # type: ignore[attr-defined,assignment]
    samples: dict[int, list[tuple[int, int, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="render-memory-") as scratch:
        started, cpu = time.perf_counter(), _children_cpu()
        rendering.render_period(
            session,
            period,
            Path(scratch),
            workers=workers,
            progress=_sampler(samples, every, workers),
        )
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    for pid, points in samples.items():
        rss = [(drawn, mb) for drawn, mb, _ in points]
        print(
            f"worker {pid}: {len(points)} samples, statements {points[0][0]:,}-{points[-1][0]:,}, "
            f"RSS {points[0][1]} -> {points[-1][1]} MB, peak {max(p[2] for p in points)} MB, "
            f"{_growth(rss):.1f} MB per 1,000 statements it drew"
        )
    renewal = f"renewed every {renew_after} slices" if renew_after else "never renewed"
    print(
        f"{len(everyone):,} statements, {workers} workers, {renewal}: {wall:.1f} s, "
        f"workers' CPU {cpu:.1f} s, {len(samples)} worker processes"
    )


def _sampler(
    samples: dict[int, list[tuple[int, int, int]]], every: int, workers: int
) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        if done % every and done != total:
            return
        line = []
        for pid in _children():
            rss, peak = _status(pid)
            if rss:
                # Statements a worker drew: about the month's done over the workers.
                samples.setdefault(pid, []).append((done // workers, rss, peak))
                line.append(f"{pid}: {rss} MB (peak {peak})")
        print(f"  {done:7,}/{total:,}  " + "  ".join(line), flush=True)

    return progress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("mode", choices=["loop", "period"])
    parser.add_argument("--period", help="default: the last closed month")
    parser.add_argument("--slices", type=int, default=60, help="loop: distinct slices")
    parser.add_argument("--partners", type=int, default=6_000, help="period: partners")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--renew-after", type=int, default=rendering.RENEW_AFTER)
    parser.add_argument("--every", type=int, default=250, help="period: statements a sample")
    args = parser.parse_args(argv)
    engine = make_engine(get_settings().database_url)
    try:
        with Session(engine) as session:
            period = args.period or _last_closed(session)
            if args.mode == "loop":
                loop(session, period, args.slices)
            else:
                period_render(
                    session, period, args.partners, args.workers, args.renew_after, args.every
                )
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
