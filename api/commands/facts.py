"""`payouts facts import`: CSV files of billing and CRM facts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from api.auth import Role
from api.commands.common import Key, acting, fail, progress
from payouts.db import unit_of_work
from payouts.facts import csvfile
from payouts.facts.ingest import KINDS, FactsRefused, ingest, kind_named

app = typer.Typer(help="Import billing and CRM facts.", no_args_is_help=True)


@app.command("import")
def import_csv(
    kind: Annotated[str, typer.Argument(help=", ".join(KINDS))],
    file: Annotated[Path, typer.Argument(help="CSV file with a header row (see README)")],
    amend: Annotated[
        bool, typer.Option(help="Apply changed content as recorded amendments (where allowed)")
    ] = False,
    key: Key = "",
) -> None:
    """Import one CSV file of facts: all of it, or (if any row is refused) nothing."""
    fact_kind = kind_named(kind)
    principal = acting(key, Role.BILLING)
    if amend and kind == "partners" and principal.role is not Role.FINANCE:
        fail("amending partners (their payee details among them) needs a finance key")
    rows: list[dict[str, Any]] = []
    with progress() as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        for row in csvfile.read_rows(fact_kind, file):
            rows.append(row)
            bar.advance(task)
    try:
        with unit_of_work() as session:
            result = ingest(session, kind, rows, actor=principal.actor, amend=amend)
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


@app.command("columns")
def columns(kind: Annotated[str, typer.Argument(help=", ".join(KINDS))]) -> None:
    """Show the CSV columns of a fact kind."""
    required, optional = csvfile.columns(kind_named(kind))
    typer.echo(f"required: {', '.join(required)}")
    typer.echo(f"optional: {', '.join(optional) or '-'}")
