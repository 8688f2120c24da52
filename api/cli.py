"""The `payouts` command line for finance: one clear line and a non-zero exit on error.

Exit status: 0 done; 1 refused (a domain error, a database that cannot be used, a file
that cannot be read or written); 2 a usage mistake (an unknown option, a bad value);
70 an unexpected error, which is a bug (EX_SOFTWARE in sysexits.h). A traceback is
never printed unless PAYOUTS_DEBUG=1 asks for one, and no message carries a password.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Sequence

import typer
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from api.commands import (
    adjustments,
    batch,
    db,
    demo,
    facts,
    inquiries,
    journal,
    keys,
    plans,
    portal,
    serve,
    statements,
    tax,
    tiers,
    users,
    worker,
)
from payouts.db import normalise_url
from payouts.errors import PayoutsError
from payouts.settings import get_settings

REFUSED = 1
UNEXPECTED = 70

app = typer.Typer(
    help="partner-payouts: commission plans, the payout ledger and partner statements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(facts.app, name="facts")
app.add_typer(plans.app, name="plans")
app.add_typer(tiers.app, name="tiers")
app.add_typer(batch.app, name="batch")
app.add_typer(batch.reps_app, name="reps")
app.add_typer(statements.app, name="statements")
app.add_typer(journal.app, name="journal")
app.add_typer(tax.app, name="tax")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(inquiries.app, name="inquiries")
app.add_typer(adjustments.app, name="adjustments")
app.add_typer(portal.app, name="portal")
app.add_typer(demo.app, name="demo")
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("quote")(plans.quote_command)
app.command("margin-exception")(plans.margin_exception_command)
app.command("simulate")(batch.simulate_command)

# `scheme://user:password@`: whatever stands between the user's ':' and the '@' goes.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s:/@]*:)[^\s@]*@")
_SHORT = 300


def redact(text: str) -> str:
    """The text without any URL's password, nor the configured database's password."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    try:
        password = normalise_url(get_settings().database_url).password
    except PayoutsError:
        password = None
    return text.replace(password, "***") if password else text


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _database() -> str:
    try:
        return normalise_url(get_settings().database_url).render_as_string(hide_password=True)
    except PayoutsError:
        return "of DATABASE_URL"


def _database_lines(exc: DBAPIError) -> list[str] | None:
    """One line for a database that cannot be used; None for a failed statement (a bug)."""
    reason = _first_line(exc.orig if exc.orig is not None else exc)
    if getattr(exc.orig, "sqlstate", None) == "42P01" or "no such table" in reason:
        where = _database()
        return [f"error: the database {where} has no schema ({reason}): run `payouts db upgrade`"]
    if isinstance(exc, OperationalError | InterfaceError):
        return [f"error: cannot use the database {_database()}: {reason}"]
    return None


def error_lines(exc: BaseException) -> list[str] | None:
    """What the command line prints for an expected failure (None: a real bug)."""
    from plans.errors import PlanInvalid, PlansError  # the plan language, on failure only

    if isinstance(exc, PlanInvalid):
        return [f"error: plan is invalid ({len(exc.errors)} error(s))"] + [
            f"  - {error}" for error in exc.errors
        ]
    if isinstance(exc, PayoutsError):
        return [f"error: {exc.message}"]
    if isinstance(exc, PlansError):
        return [f"error: {exc}"]
    if isinstance(exc, DBAPIError):
        return _database_lines(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return [f"error: {exc.strerror}" + (f": {exc.filename}" if exc.filename else "")]
    return None


def unexpected_line(exc: BaseException) -> str:
    """A bug: its type and the start of its message, never a traceback."""
    message = _first_line(exc)
    if len(message) > _SHORT:
        message = message[:_SHORT] + "..."
    return (
        f"error: unexpected error ({type(exc).__name__}): {message} "
        "(a bug: please report it; PAYOUTS_DEBUG=1 shows the traceback)"
    )


def debugging() -> bool:
    return os.environ.get("PAYOUTS_DEBUG", "") not in ("", "0")


def _usage_line(exc: typer.TyperException) -> str:
    line = f"error: {exc.format_message()}"
    command_path = getattr(getattr(exc, "ctx", None), "command_path", None)
    return f"{line} (see `{command_path} --help`)" if command_path else line


def run(args: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status; print errors one line each."""
    try:
        outcome = app(args=args, prog_name="payouts", standalone_mode=False)
    except typer.TyperException as exc:  # a usage mistake: a bad option or value
        # A group called without a command has printed its help already (Typer's
        # own test of this case, by name, avoids importing its private module).
        if type(exc).__name__ != "NoArgsIsHelpError":
            typer.echo(redact(_usage_line(exc)), err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return REFUSED
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            # The reader went away (`| head`): nothing to tell it, and nothing more to flush.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return REFUSED
        lines = error_lines(exc)
        if lines is None and debugging():
            raise
        for line in lines or [unexpected_line(exc)]:
            typer.echo(redact(line), err=True)
        return REFUSED if lines is not None else UNEXPECTED
    return outcome if isinstance(outcome, int) else 0


def main() -> None:
    """Entry point of the installed `payouts` script."""
    sys.exit(run())


if __name__ == "__main__":  # pragma: no cover
    main()
