"""`payouts db`: create, upgrade and check the schema."""

from __future__ import annotations

import typer

from api.commands.common import fail
from payouts.settings import get_settings

app = typer.Typer(help="Create, upgrade and check the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Create or upgrade the schema to the newest migration (as the schema owner), and
    give the service's role (DATABASE_URL) its privileges when it is another role."""
    from payouts import migrations

    settings = get_settings()
    result = migrations.upgrade(settings.owner_url, service_url=settings.database_url)
    typer.echo(f"database schema at revision {result.current} (newest {result.head})")
    role = migrations.service_role(settings.owner_url, settings.database_url)
    if role is not None:
        typer.echo(f"service role {role}: granted what the service needs, and nothing more")


@app.command("check")
def check() -> None:
    """Say whether the schema is current; exit 1 when it is not."""
    from payouts import migrations

    url = get_settings().database_url
    result = migrations.state(url)
    if result.is_current:
        typer.echo(f"database schema is current (revision {result.head})")
        for finding in migrations.service_role_findings(url):
            typer.echo(
                f"warning: the service's database role {finding} (production runs it as a "
                "role that owns nothing: README, Database roles)",
                err=True,
            )
        return
    fail(
        f"database schema is at revision {result.current or 'none'}, newest is {result.head}: "
        "run `payouts db upgrade`"
    )
