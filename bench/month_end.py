"""The month-end of the full-scale month through the command line, step by step.

On a fresh copy of the loaded month (`month_data.py`; 10,000 partners, ~1,000,000
invoices at scale 1), as finance runs it, each step a process of its own acting as the
service's database role with a finance API key (two people: the approver is not the
calculator):

    payouts batch run MONTH            (PAYOUTS_API_KEY of the calculator)
    payouts batch approve MONTH        (the approver's key)
    payouts batch close MONTH          (the approver's key; issues every statement)
    payouts batch export MONTH --format csv --out DIR      (the payout file)
    payouts reps report MONTH --out FILE                   (the rep credit)

Each step's wall time and peak RSS are printed, then the total. Target: total < 60 s.
Rendering statements is measured against bare reportlab by `bench_render.py`; with
`--render` the month's statements are also rendered here, as a last step outside the
total (`payouts statements render MONTH --out DIR`), for its time and memory at scale.
A peak is the largest of the step's process and the worker processes it waited for.

    .venv/bin/python bench/month_data.py widen pp_close_bench pp_close_10x
    .venv/bin/python bench/month_end.py --template pp_close_10x --render  # 100,000 partners

    .venv/bin/python bench/month_end.py --template pp_close_bench   # loaded month, reused
    .venv/bin/python bench/month_end.py --scale 0.1                  # loads its own
    .venv/bin/python bench/month_end.py --smoke
    .venv/bin/python bench/month_end.py --template pp_close_bench --keep pp_closed
        # keeps the closed month: `bench_render.py --database-url .../pp_closed` renders it

`run(scale)` returns rows for `bench/run.py`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import month_data as data  # noqa: E402

TARGET_SECONDS = 60.0


RENDER = "render statements"


def steps(
    database: str, period: str, out: Path, render: bool = False
) -> list[tuple[str, data.Step]]:
    calculator = data.create_key(database, "bench-calculator")
    approver = data.create_key(database, "bench-approver")
    payouts = data.payouts_command()
    plan = [
        ("run", [payouts, "batch", "run", period, "--workers", "2"], calculator),
        ("approve", [payouts, "batch", "approve", period], approver),
        ("close", [payouts, "batch", "close", period], approver),
        (
            "export payout file",
            [payouts, "batch", "export", period, "--format", "csv", "--out", str(out)],
            approver,
        ),
        (
            "export rep credit",
            [payouts, "reps", "report", period, "--out", str(out / f"rep-credit-{period}.csv")],
            approver,
        ),
    ]
    if render:
        statements = [payouts, "statements", "render", period, "--out", str(out / "statements")]
        plan.append((RENDER, statements, approver))
    return [
        (name, data.timed(command, data.service_env(database, key))) for name, command, key in plan
    ]


def counts(database: str) -> tuple[int, int]:
    """Partners and invoices of a loaded month."""
    engine = data.create_engine(data.url_as(data.OWNER, database))
    try:
        with engine.connect() as conn:
            partners = conn.execute(data.text("SELECT count(*) FROM partners")).scalar_one()
            invoices = conn.execute(data.text("SELECT count(*) FROM invoices")).scalar_one()
        return int(partners), int(invoices)
    finally:
        engine.dispose()


def run(
    scale: float, template: str | None = None, render: bool = False, keep: str | None = None
) -> list[dict[str, object]]:
    partners = max(20, round(data.PARTNERS * scale))
    invoices = max(1_000, round(data.INVOICES * scale))
    suffix = uuid.uuid4().hex[:8]
    loaded = template or f"pp_month_loaded_{suffix}"
    scratch = keep or f"pp_month_end_{suffix}"
    try:
        if template is None:
            data.load(loaded, partners, invoices)
        data.copy(loaded, scratch)
        period = data.period_of(scratch)
        partners, invoices = counts(scratch)
        with tempfile.TemporaryDirectory() as out:
            done = steps(scratch, period, Path(out), render)
    finally:
        if keep is None:
            data.drop(scratch)
        if template is None:
            data.drop(loaded)
    total = sum(step.seconds for name, step in done if name != RENDER)
    return [
        {
            "name": f"month-end through the CLI, {partners:,} partners, {invoices:,} invoices",
            "figure": total,
            "target_max": TARGET_SECONDS,
            "steps": [(name, step.seconds, step.peak_mb, step.cpu) for name, step in done],
            "said": {name: step.out.strip().splitlines()[0] for name, step in done if step.out},
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is the issue's scale")
    parser.add_argument("--smoke", action="store_true", help="tiny: 200 partners")
    parser.add_argument("--template", help="a database `month_data.py load` filled (reused)")
    parser.add_argument("--render", action="store_true", help="render the statements too")
    parser.add_argument(
        "--keep", metavar="NAME", help="close the month in a new database NAME and keep it"
    )
    args = parser.parse_args(argv)
    data.ensure_roles()
    for row in run(0.02 if args.smoke else args.scale, args.template, args.render, args.keep):
        print(row["name"])
        for name, seconds, peak, cpu in row["steps"]:  # type: ignore[attr-defined]
            said = row["said"].get(name, "")  # type: ignore[attr-defined]
            print(
                f"  {name:<20} {seconds:7.2f} s  CPU {cpu:6.1f} s  peak RSS {peak:6.0f} MB  {said}"
            )
        figure = float(str(row["figure"]))
        verdict = "met" if figure < TARGET_SECONDS else "MISSED"
        print(f"  total {figure:.2f} s (target < {TARGET_SECONDS:.0f} s: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
