"""`payouts facts import`: CSV files of billing and CRM facts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import Key, acting, fail, progress
from payouts.db import unit_of_work
from payouts.facts import FACT_KINDS

app = typer.Typer(help="Import billing and CRM facts.", no_args_is_help=True)
SHOWN_REFUSALS = 50


@app.command("import")
def import_csv(
    kind: Annotated[str, typer.Argument(help=", ".join(FACT_KINDS))],
    file: Annotated[Path, typer.Argument(help="CSV file with a header row (see README)")],
    amend: Annotated[
        bool, typer.Option(help="Apply changed content as recorded amendments (where allowed)")
    ] = False,
    key: Key = "",
) -> None:
    """Import one CSV file of facts: all of it, or (if any row is refused) nothing."""
    from api.principals import Role
    from payouts.facts import csvfile
    from payouts.facts.ingest import FactsRefused, ingest, kind_named

    fact_kind = kind_named(kind)
    principal = acting(key, Role.BILLING)
    if amend and principal.role is not Role.FINANCE:
        # As over HTTP: an amendment rewrites what was recorded (a partner's bank
        # details among them), so it is finance's, and the audit log names the key.
        fail("amendments need a finance key")
    try:
        # Streamed: rows are validated and stored chunk by chunk as the file is read,
        # in one transaction, so memory stays bounded whatever the file's size.
        with progress() as bar, unit_of_work() as session:
            task = bar.add_task(f"importing {file.name}", total=None)
            result = ingest(
                session,
                kind,
                csvfile.read_rows(fact_kind, file),
                actor=principal.actor,
                amend=amend,
                keep_ids=False,
                progress=lambda rows: bar.advance(task, rows),
            )
    except FactsRefused as refused:
        typer.echo(
            f"{kind}: 0 inserted, 0 unchanged, 0 amended, {refused.total} refused (nothing written)"
        )
        for error in refused.errors[:SHOWN_REFUSALS]:
            typer.echo(f"  refused {error}")
        if refused.total > SHOWN_REFUSALS:
            typer.echo(f"  ... and {refused.total - SHOWN_REFUSALS} more")
        raise
    typer.echo(result.summary)


@app.command("columns")
def columns(kind: Annotated[str, typer.Argument(help=", ".join(FACT_KINDS))]) -> None:
    """Show the CSV columns of a fact kind."""
    from payouts.facts import csvfile
    from payouts.facts.ingest import kind_named

    required, optional = csvfile.columns(kind_named(kind))
    typer.echo(f"required: {', '.join(required)}")
    typer.echo(f"optional: {', '.join(optional) or '-'}")
