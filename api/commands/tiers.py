"""`payouts tiers`: evaluate a period's tiers and show a partner's tier history."""

from __future__ import annotations

import typer

from api.commands.common import Key, acting
from payouts import tiers
from payouts.db import unit_of_work
from payouts.periods import Month

app = typer.Typer(help="Partner tiers: evaluation and history.", no_args_is_help=True)


@app.command("evaluate")
def evaluate(period: str, key: Key = "") -> None:
    """Evaluate tiers whose cadence ends with PERIOD (YYYY-MM); they apply from the next."""
    month = Month.parse(period)
    principal = acting(key)
    with unit_of_work() as session:
        results = tiers.evaluate(session, str(month), actor=principal.actor)
    if not results:
        typer.echo(f"no tier evaluation is due at the end of {month}")
        return
    changes = [r for r in results if r.change in ("promotion", "demotion", "grace")]
    typer.echo(
        f"{len(results)} partner tier(s) evaluated for {month}; "
        f"{len(changes)} promotion(s), demotion(s) or grace(s); apply from {month.next()}"
    )
    for r in changes:
        typer.echo(
            f"  {r.partner_id} {r.plan_id}: {r.change} -> {r.status.tier or 'none'} "
            f"({r.status.reason})"
        )


@app.command("show")
def show(partner: str) -> None:
    """A partner's tier history, with the reason for each evaluation."""
    with unit_of_work() as session:
        records = tiers.history(session, partner)
    if not records:
        typer.echo(f"no tier evaluations for {partner}")
        return
    for r in records:
        typer.echo(
            f"{r.evaluated_period} {r.plan_id}/{r.component_id}: {r.tier or 'none'} "
            f"({r.change}, from {r.effective_period}) {r.reason}"
        )
        if r.gap_text:
            typer.echo(f"    next: {r.gap_text}")
