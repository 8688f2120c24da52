"""The command line imports what a command needs: its help loads no web framework, PDF
library, task queue or migration tool (finance and cron start it many times a day, and
each of those cost the help a second of CPU before it printed a line)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.api.cli import ROOT

HEAVY = ("fastapi", "starlette", "reportlab", "celery", "kombu", "alembic")

# Runs the command line in a fresh interpreter, then names every module it loaded.
_PROBE = """
import sys
from api.cli import run
run(sys.argv[1:])
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


def modules_loaded_by(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage: payouts" in done.stdout
    return set(done.stderr.split())


@pytest.mark.parametrize(
    "args", [("--help",), ("batch", "--help"), ("batch", "run", "--help")], ids=" ".join
)
def test_help_imports_no_web_framework_pdf_queue_or_migrations(args: tuple[str, ...]) -> None:
    loaded = modules_loaded_by(*args)
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY)
    assert heavy == []
