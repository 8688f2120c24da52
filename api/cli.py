"""The `payouts` command line for finance: one clear line and a non-zero exit on error."""

from __future__ import annotations

import sys

import typer

from payouts import migrations
from payouts.errors import PayoutsError
from payouts.settings import get_settings

app = typer.Typer(
    help="partner-payouts: commission plans, the payout ledger and partner statements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Create, upgrade and check the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit status 1."""
    try:
        app(standalone_mode=True)
    except PayoutsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
