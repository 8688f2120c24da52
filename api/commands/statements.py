"""`payouts statements`: render a period's statements and verify issued ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import fail, progress
from payouts.db import unit_of_work

app = typer.Typer(help="Partner statements: render and verify.", no_args_is_help=True)


@app.command("render")
def render(
    period: Annotated[str, typer.Argument(help="YYYY-MM")],
    out: Annotated[Path, typer.Option(help="Directory for the PDF and CSV files")],
    partner: Annotated[str | None, typer.Option(help="Only this partner")] = None,
    workers: Annotated[int, typer.Option(help="Processes drawing PDFs")] = min(
        2, os.cpu_count() or 1
    ),
) -> None:
    """Write every partner's statement of PERIOD as PDF and CSV."""
    from statements import rendering

    with progress() as bar, unit_of_work() as session:
        task = bar.add_task(f"statements {period}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        rendered = rendering.render_period(
            session, period, out, partner_id=partner, workers=workers, progress=advance
        )
    typer.echo(f"{len(rendered)} statement(s) of {period} written to {out}")


SHOWN = 20  # differences printed; the API answers all of them


@app.command("verify")
def verify(partner: str, period: str) -> None:
    """Rebuild PARTNER's statement of PERIOD from the ledger and compare it with the one issued."""
    from statements import issue

    with unit_of_work(read_only=True) as session:
        result = issue.verify(session, partner, period)
    if result.match:
        typer.echo(f"match: {partner} {result.period} {result.computed_hash}")
        return
    mismatch = f"MISMATCH for {partner} {result.period}"
    if result.problem is not None:
        fail(f"{mismatch}: the statement cannot be rebuilt from the ledger: {result.problem}")
    typer.echo(f"issued:       {result.stored_hash}")
    typer.echo(f"ledger gives: {result.computed_hash}")
    for difference in result.differences[:SHOWN]:
        typer.echo(f"  {difference}")
    if len(result.differences) > SHOWN:
        typer.echo(f"  ... and {len(result.differences) - SHOWN} more")
    count = len(result.differences)
    fail(
        f"{mismatch}: the ledger no longer gives the statement issued "
        f"({count} difference{'' if count == 1 else 's'})"
    )
