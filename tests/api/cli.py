"""Running the `payouts` command line as finance would.

`payouts()` runs the command line in this process (fast) with the same error handling
as the installed entry point, except that an unexpected error (a bug) is raised into
the test; `payouts_process()` runs the real entry point in a subprocess, for the tests
that must see exactly what a shell sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from api.cli import run
from payouts.db import engine_for
from payouts.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def payouts(*args: str | Path, database_url: str) -> Run:
    """Run `api.cli.run` in process; an unexpected error is raised (PAYOUTS_DEBUG=1)."""
    get_settings.cache_clear()
    engine_for.cache_clear()
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "COLUMNS": "200", "PAYOUTS_DEBUG": "1"}
    try:
        with runner.isolation(env=env) as (out, err, _):
            code = run([str(a) for a in args])
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    finally:
        engine_for(database_url).dispose()  # close pooled connections: tests copy databases
        engine_for.cache_clear()
        get_settings.cache_clear()
    return Run(code, stdout, stderr)


def payouts_process(*args: str | Path, database_url: str, cwd: Path | None = None) -> Run:
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "200"}
    env.pop("PAYOUTS_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *map(str, args)],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)
