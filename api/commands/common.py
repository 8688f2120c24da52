"""What every command shares: the actor option, progress bars, one-line failures."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, NoReturn

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

Actor = Annotated[str, typer.Option("--as", help="Who is doing this (recorded in the audit log).")]


def actor_or_default(actor: str) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user database in some containers
        return "cli"


def progress() -> Progress:
    """A progress bar on stderr, shown only to a person at a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit non-zero: no traceback for expected failures."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)
