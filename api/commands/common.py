"""What every command shares: who is acting, progress bars, one-line failures.

Who is acting is never a name typed on the command line. A command that changes
money or who is paid acts for an API key, given in the environment
(`PAYOUTS_API_KEY`, which keeps it out of the shell history and the process list) or
with `--key`; the key's identity (`key:<id>:<holder>`) is what the audit log records
and what maker-checker compares. Key administration itself needs the schema owner's
database credentials (`owner_actor`).
"""

from __future__ import annotations

import getpass
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.refusals import NotAuthenticated
from payouts.db import normalise_url, read_only_connection
from payouts.errors import PayoutsError

if TYPE_CHECKING:
    from api.principals import Principal, Role

KEY_ENV = "PAYOUTS_API_KEY"
APPROVER_KEY_ENV = "PAYOUTS_APPROVER_KEY"

Key = Annotated[
    str,
    typer.Option(
        "--key",
        envvar=KEY_ENV,
        show_envvar=True,
        show_default=False,
        help=f"The API key this command acts for (prefer the {KEY_ENV} environment variable).",
    ),
]


def acting(token: str, *roles: Role) -> Principal:
    """The principal a command acts for: a valid key of finance (or one of `roles`)."""
    from api.principals import Role, principal_for

    allowed = {Role.FINANCE, *roles}
    wanted = " or ".join(sorted(r.value for r in allowed))
    if not token.strip():
        fail(
            f"this command acts for an API key ({wanted}): set {KEY_ENV} "
            "(keys come from `payouts keys create`)"
        )
    try:
        with read_only_connection() as connection:
            principal = principal_for(connection, token.strip())
    except NotAuthenticated as exc:
        fail(f"{exc.message} ({KEY_ENV})")
    if principal.role not in allowed:
        fail(f"a {principal.role.value} key may not do this; it needs a {wanted} key")
    return principal


def owner_actor(url: str) -> str:
    """Who administers keys: the database role of the schema owner's URL, or on the
    embedded SQLite file (single-user: whoever may write the file) the OS user."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        try:
            return f"local:{getpass.getuser()}"
        except (KeyError, OSError):  # pragma: no cover - no user database in some containers
            return "local:unknown"
    return f"db-owner:{parsed.username or 'unknown'}"


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


Choice = TypeVar("Choice", bound=StrEnum)


def status_filter(
    kind: type[Choice], given: str | None, refused: type[PayoutsError]
) -> Choice | None:
    """A `--status` option as one of `kind` (None: every status), or `refused` naming them."""
    if given is None:
        return None
    try:
        return kind(given)
    except ValueError:
        names = [member.value for member in kind]
        listed = ", ".join(names[:-1]) + " or " + names[-1]
        raise refused(f"unknown status {given!r}: {listed}") from None
