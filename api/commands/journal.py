"""`payouts journal ...`: a closed month's journal for finance's general ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import fail
from payouts.db import unit_of_work

app = typer.Typer(
    help="The month's double-entry journal, for the general ledger.", no_args_is_help=True
)

Period = Annotated[str, typer.Argument(help="YYYY-MM (a closed month)")]
ChartFile = Annotated[
    Path | None,
    typer.Option(
        "--chart", help="Chart-of-accounts YAML (default: CHART_OF_ACCOUNTS, else the demo's)"
    ),
]
Out = Annotated[
    Path | None, typer.Option(help="File or directory to write (default: standard output)")
]


@app.command("export")
def export(
    period: Period,
    fmt: Annotated[str, typer.Option("--format", help="xero, qbo, netsuite, csv or json")] = "csv",
    currency: Annotated[
        str | None, typer.Option(help="Only the entries in this currency (Xero: one at a time)")
    ] = None,
    chart: ChartFile = None,
    out: Out = None,
) -> None:
    """Write a closed month's journal in the format finance imports."""
    from payouts.accounting import exports
    from payouts.accounting.chart import load_chart
    from payouts.accounting.journal import decimal_text, journal

    accounts = load_chart(chart)
    with unit_of_work() as session:
        made = journal(session, period, accounts)
        content = exports.export(made, accounts, fmt, currency)
        session.rollback()
    _write(content, out, exports.file_name(made, fmt, currency))
    if out is not None:
        totals = ", ".join(
            f"{c} debits = credits = {decimal_text(d, c)}"
            for c, (d, _) in sorted(made.totals().items())
        )
        typer.echo(
            f"{period}: {len(made.entries)} entries, {totals or 'nothing'}; "
            f"close hash {made.close_hash[:16]}"
        )


@app.command("waterfall")
def waterfall(
    through: Annotated[str, typer.Argument(help="YYYY-MM: the last month shown")],
    out: Out = None,
) -> None:
    """Capitalised costs per month and currency: opening, additions, amortisation, closing."""
    from payouts.accounting import capitalisation

    with unit_of_work() as session:
        rows = capitalisation.waterfall(session, through)
        session.rollback()
    _write(capitalisation.waterfall_csv(rows), out, f"capitalised-costs-{through}.csv")


def _write(content: bytes, out: Path | None, name: str) -> None:
    if out is None:
        typer.echo(content.decode("utf-8"), nl=False)
        return
    path = out / name if out.is_dir() else out
    if path.exists():
        fail(f"{path} exists already: choose another file or remove it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".partial")
        temporary.write_bytes(content)
        temporary.replace(path)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    typer.echo(f"{path}: written")
