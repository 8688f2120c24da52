"""Running the `payouts` command line as finance would.

`payouts()` runs the command line in this process (fast) with the same error handling
as the installed entry point, except that an unexpected error (a bug) is raised into
the test; `payouts_process()` runs the real entry point in a subprocess, for the tests
that must see exactly what a shell sees. Both point DATABASE_URL at the database and
DATABASE_OWNER_URL at its schema owner, and act for the API key given as `key`
(PAYOUTS_API_KEY), as finance would; `key_for` creates one through `payouts keys create`.
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
from tests.conftest import owner_url_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def environment(database_url: str, key: str | None) -> dict[str, str | None]:
    """The variables a command runs with (None: unset)."""
    owner = owner_url_for(database_url)
    return {
        "DATABASE_URL": database_url,
        "DATABASE_OWNER_URL": owner if owner != database_url else None,
        "PAYOUTS_API_KEY": key,
        "COLUMNS": "200",
    }


def payouts(*args: str | Path, database_url: str, key: str | None = None) -> Run:
    """Run `api.cli.run` in process; an unexpected error is raised (PAYOUTS_DEBUG=1)."""
    get_settings.cache_clear()
    engine_for.cache_clear()
    runner = CliRunner()
    env = {**environment(database_url, key), "PAYOUTS_DEBUG": "1"}
    try:
        with runner.isolation(env=env) as (out, err, _):
            code = run([str(a) for a in args])
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    finally:
        # Close pooled connections (the service's and the owner's): tests copy databases.
        engine_for(database_url).dispose()
        engine_for(owner_url_for(database_url)).dispose()
        engine_for.cache_clear()
        get_settings.cache_clear()
    return Run(code, stdout, stderr)


def payouts_process(
    *args: str | Path, database_url: str, cwd: Path | None = None, key: str | None = None
) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in ("PAYOUTS_API_KEY", "PAYOUTS_DEBUG")}
    env.update({k: v for k, v in environment(database_url, key).items() if v is not None})
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


def key_for(database_url: str, holder: str, role: str = "finance", partner: str = "") -> str:
    """A new API key held by `holder`, made as an administrator makes one."""
    extra = ("--partner", partner) if partner else ()
    made = payouts(
        "keys", "create", "--role", role, "--name", holder, *extra, database_url=database_url
    )
    assert made.code == 0, made.err
    return made.out.strip().splitlines()[-1]
