"""The `payouts` command line for finance: one clear line and a non-zero exit on error."""

from __future__ import annotations

import sys

import typer

from api.commands import batch, db, demo, facts, keys, plans, serve, statements, tiers
from payouts.errors import PayoutsError
from plans.errors import PlanInvalid, PlansError

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
app.add_typer(keys.app, name="keys")
app.add_typer(demo.app, name="demo")
app.command("serve")(serve.serve)
app.command("quote")(plans.quote_command)
app.command("margin-exception")(plans.margin_exception_command)
app.command("simulate")(batch.simulate_command)


def error_lines(exc: BaseException) -> list[str] | None:
    """What the command line prints for an expected failure (None: a real bug)."""
    if isinstance(exc, PlanInvalid):
        return [f"error: plan is invalid ({len(exc.errors)} error(s))"] + [
            f"  - {error}" for error in exc.errors
        ]
    if isinstance(exc, PayoutsError):
        return [f"error: {exc.message}"]
    if isinstance(exc, PlansError):
        return [f"error: {exc}"]
    return None


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit status 1."""
    try:
        app(standalone_mode=True)
    except Exception as exc:
        lines = error_lines(exc)
        if lines is None:
            raise
        for line in lines:
            typer.echo(line, err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
