"""Running the `payouts` command line as finance would.

`payouts()` runs the Typer app in this process (fast) with the same error handling
as the installed entry point; `payouts_process()` runs the real entry point in a
subprocess, for the few tests that must see exactly what a shell sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app, error_lines
from payouts.db import engine_for
from payouts.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def payouts(*args: str | Path, database_url: str) -> Run:
    get_settings.cache_clear()
    engine_for.cache_clear()
    runner = CliRunner()
    result = runner.invoke(
        app, [str(a) for a in args], env={"DATABASE_URL": database_url, "COLUMNS": "200"}
    )
    engine_for(database_url).dispose()  # close pooled connections: tests copy databases
    engine_for.cache_clear()
    get_settings.cache_clear()
    err = result.stderr
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        lines = error_lines(result.exception)
        if lines is None:
            raise result.exception
        err += "\n".join(lines) + "\n"
        code = 1
    return Run(code, result.stdout, err)


def payouts_process(*args: str | Path, database_url: str, cwd: Path | None = None) -> Run:
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "200"}
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
