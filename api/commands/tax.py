"""`payouts tax`: year-end figures for information returns; whether payouts need a tax form."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import Key, acting, fail
from payouts.db import unit_of_work

app = typer.Typer(help="Tax: year-end figures; the tax-form requirement.", no_args_is_help=True)


@app.command("forms-required")
def forms_required(
    state: Annotated[str, typer.Argument(help="on, off, or show")] = "show",
    key: Key = "",
) -> None:
    """No payout without a valid tax form: when on, a partner with no tax profile is held
    at close for "tax form" (off by default: only partners with a profile are gated);
    `show` says which it is."""
    from payouts.tax import profiles

    if state not in ("on", "off", "show"):
        fail(f"{state!r}: on, off or show")
    if state == "show":
        with unit_of_work(read_only=True) as session:
            shown = "on" if profiles.forms_required(session) else "off"
        typer.echo(f"tax forms required: {shown}")
        return
    principal = acting(key)
    with unit_of_work() as session:
        profiles.require_forms(session, state == "on", actor=principal.actor)
    typer.echo(f"tax forms required: {state}")


def _threshold(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"--threshold {text!r} is not a decimal amount in US dollars")
    if not value.is_finite() or value <= 0:
        fail(f"--threshold {text!r} is not a positive amount in US dollars")
    return value


@app.command("report")
def report(
    year: Annotated[int, typer.Argument(min=2000, max=2999, help="Calendar year, e.g. 2026")],
    form: Annotated[
        str, typer.Option("--form", help="The information return: 1099-nec")
    ] = "1099-nec",
    threshold: Annotated[
        str | None,
        typer.Option(help="The year's threshold in USD, when the table has none (2027 on)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="CSV file (default: stdout)")] = None,
    key: Key = "",
) -> None:
    """US payees whose paid payouts in YEAR reach the 1099-NEC threshold, as CSV."""
    from payouts.tax import year_end

    if form.lower() != year_end.FORM_1099_NEC:
        fail(f"--form {form!r} is not supported; the report knows 1099-nec")
    acting(key)  # taxpayer details are finance's to read
    limit = _threshold(threshold)
    with unit_of_work() as session:
        result = year_end.report(session, year, limit)
    text = year_end.report_csv(result)
    summary = (
        f"{year} 1099-NEC: {sum(p.reported(result.threshold) for p in result.payees)} payee(s) "
        f"reach {result.threshold.amount} USD ({result.threshold.source})"
    )
    if out is None:
        typer.echo(text, nl=False)
        typer.echo(summary, err=True)
        return
    if out.exists():
        fail(f"{out} exists; the report never overwrites a file")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"{out}: {summary}")
