"""Running the real `payouts` command in a subprocess, as finance would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def payouts(*args: str | Path, database_url: str, cwd: Path | None = None) -> Run:
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
