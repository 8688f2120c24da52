"""The `payouts` command line for finance: one clear line and a non-zero exit on error."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from payouts import migrations
from payouts.db import unit_of_work
from payouts.errors import PayoutsError
from payouts.facts import csvfile
from payouts.facts.ingest import FactsRefused, ingest, kind_named
from payouts.settings import get_settings
from plans.errors import PlansError

app = typer.Typer(
    help="partner-payouts: commission plans, the payout ledger and partner statements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Create, upgrade and check the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
facts_app = typer.Typer(help="Import billing and CRM facts.", no_args_is_help=True)
app.add_typer(facts_app, name="facts")

Actor = Annotated[str, typer.Option("--as", help="Who is doing this (recorded in the audit log).")]


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user database in some containers
        return "cli"


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def fail(message: str) -> None:
    """Print one line to stderr and exit non-zero: no traceback for expected failures."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest migration."""
    url = get_settings().database_url
    result = migrations.upgrade(url)
    typer.echo(f"database schema at revision {result.current} (newest {result.head})")


@db_app.command("check")
def db_check() -> None:
    """Say whether the schema is current; exit 1 when it is not."""
    result = migrations.state(get_settings().database_url)
    if result.is_current:
        typer.echo(f"database schema is current (revision {result.head})")
        return
    fail(
        f"database schema is at revision {result.current or 'none'}, newest is {result.head}: "
        "run `payouts db upgrade`"
    )


@facts_app.command("import")
def facts_import(
    kind: Annotated[
        str,
        typer.Argument(
            help="partners, reps, customers, deals, deal_roles, "
            "deal_registrations, invoices, payments, refunds, "
            "cancellations, certifications, campaigns, fx_rates"
        ),
    ],
    file: Annotated[Path, typer.Argument(help="CSV file with a header row (see README)")],
    amend: Annotated[
        bool,
        typer.Option(help="Apply changed content as recorded amendments (kinds that allow it)"),
    ] = False,
    actor: Actor = "",
) -> None:
    """Import one CSV file of facts: all of it, or (if any row is refused) nothing."""
    fact_kind = kind_named(kind)
    rows: list[dict[str, Any]] = []
    with progress() as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        for row in csvfile.read_rows(fact_kind, file):
            rows.append(row)
            bar.advance(task)
    try:
        with unit_of_work() as session:
            result = ingest(session, kind, rows, actor=actor or default_actor(), amend=amend)
    except FactsRefused as refused:
        typer.echo(
            f"{kind}: 0 inserted, 0 unchanged, 0 amended, {len(refused.errors)} refused "
            "(nothing written)"
        )
        for error in refused.errors[:50]:
            typer.echo(f"  refused {error}")
        if len(refused.errors) > 50:
            typer.echo(f"  ... and {len(refused.errors) - 50} more")
        raise
    typer.echo(result.summary)


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit status 1."""
    try:
        app(standalone_mode=True)
    except PayoutsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    except PlansError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
