"""How much CPU the `payouts` command line spends on a command: its help, and two small
real commands on a fresh SQLite database (`db check`, `plans list` with a finance key).

Each command runs as its own process (`python -m api.cli ...`), as finance and cron run
it; the figure is the child's user + system CPU time (the wall clock of a shared machine
is noise), the median of `--runs` runs. Target: `--help` under 0.8 s.

    .venv/bin/python bench/cli_startup.py              # 5 runs of each command
    .venv/bin/python bench/cli_startup.py --runs 9
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [
    ["--help"],
    ["batch", "--help"],
    ["batch", "run", "--help"],
    ["db", "check"],
    ["plans", "list"],
]


def _payouts(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run one command; its CPU seconds (user + system) and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout


def _environment(directory: str) -> dict[str, str]:
    """A fresh SQLite database with the schema, and a finance key to act for."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{directory}/payouts.db"}
    env.pop("DATABASE_OWNER_URL", None)
    _payouts(["db", "upgrade"], env)
    _, out = _payouts(["keys", "create", "--role", "finance", "--name", "bench"], env)
    token = next(word for word in out.split() if word.startswith("ppk_"))
    env["PAYOUTS_API_KEY"] = token
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        env = _environment(directory)
        print(f"{'command':<28} {'median CPU s':>12}  runs")
        for args in COMMANDS:
            figures = [_payouts(args, env)[0] for _ in range(options.runs)]
            runs = " ".join(f"{figure:.2f}" for figure in figures)
            print(f"{'payouts ' + ' '.join(args):<28} {statistics.median(figures):>12.2f}  {runs}")


if __name__ == "__main__":
    main()
