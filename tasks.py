#!/usr/bin/env python3
"""The project's task runner; needs nothing but Python 3.11.

    python3.11 tasks.py demo     set up, then run the demo month on the embedded SQLite
    python3.11 tasks.py test     set up, then run the whole test suite (pytest args follow)
    python3.11 tasks.py lint | types | imports | check | bench | catalog | setup

Each task first creates `.venv/` and installs the project with its dev extra into it
(again only when pyproject.toml changed), so nothing installed by hand is assumed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def run(*args: str | Path) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def setup() -> None:
    """Create the virtual environment and install the project, when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - the runner may be started by an older Python
        sys.exit(f"error: Python 3.11 or newer is required, this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print("creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing partner-payouts and its dev tools into .venv", flush=True)
    run(
        BIN / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-e",
        ".[dev]",
    )
    STAMP.write_text(digest)


def demo(args: list[str]) -> None:
    """The README's first command: a seeded year of a synthetic program, end to end."""
    run(BIN / "payouts", "demo", *args)


def test(args: list[str]) -> None:
    """The suite in parallel: a pytest-xdist worker a core (at most 4), each on a database
    of its own (tests/conftest.py); `-n 0` among the arguments runs it in one process."""
    workers = min(os.cpu_count() or 1, 4)
    parallel = ["-n", str(workers), "--dist", "loadgroup", "--no-loadscope-reorder"]
    run(BIN / "python", "-m", "pytest", *parallel, *args)


def lint(_: list[str]) -> None:
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")


def types(_: list[str]) -> None:
    run(BIN / "mypy")


def imports(_: list[str]) -> None:
    run(BIN / "lint-imports")


def check(args: list[str]) -> None:
    lint(args)
    types(args)
    imports(args)
    test(args)


def catalog(_: list[str]) -> None:
    """Extract the portal's labels, update every language's catalog and compile it."""
    run(BIN / "python", "-m", "api.web.catalog")


def bench(args: list[str]) -> None:
    run(BIN / "python", "bench/run.py", *args)


TASKS = {
    "demo": demo,
    "test": test,
    "lint": lint,
    "types": types,
    "imports": imports,
    "check": check,
    "bench": bench,
    "catalog": catalog,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {*TASKS, "setup"}:
        sys.exit(f"usage: python3.11 tasks.py {{setup|{'|'.join(TASKS)}}} [args...]")
    setup()
    name, args = sys.argv[1], sys.argv[2:]
    if name != "setup":
        TASKS[name](args)


if __name__ == "__main__":
    main()
