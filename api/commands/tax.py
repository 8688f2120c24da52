"""`payouts tax`: year-end figures for information returns."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import Key, acting, fail
from payouts.db import unit_of_work
from payouts.tax import year_end

app = typer.Typer(help="Tax: year-end figures.", no_args_is_help=True)


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
    ] = year_end.FORM_1099_NEC,
    threshold: Annotated[
        str | None,
        typer.Option(help="The year's threshold in USD, when the table has none (2027 on)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="CSV file (default: stdout)")] = None,
    key: Key = "",
) -> None:
    """US payees whose paid payouts in YEAR reach the 1099-NEC threshold, as CSV."""
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
