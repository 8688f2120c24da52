"""`payouts batch ...`, `payouts reps report` and `payouts simulate`: finance's month."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.commands.common import APPROVER_KEY_ENV, Key, acting, fail
from payouts.db import normalise_url, unit_of_work
from payouts.settings import get_settings

if TYPE_CHECKING:
    from payouts.accounting import replay

app = typer.Typer(help="The monthly payout batch.", no_args_is_help=True)

Period = Annotated[str, typer.Argument(help="YYYY-MM")]


@app.command("run")
def run(
    period: Period,
    key: Key = "",
    workers: Annotated[int, typer.Option(help="Processes for the calculation")] = min(
        2, os.cpu_count() or 1
    ),
    distributed: Annotated[
        bool, typer.Option(help="Slices as jobs for `payouts worker`s (PostgreSQL, BROKER_URL)")
    ] = False,
) -> None:
    """Calculate (or recalculate) the period's draft."""
    from payouts.batch import service

    principal = acting(key)
    if distributed:
        settings = get_settings()
        if normalise_url(settings.database_url).get_backend_name() != "postgresql":
            fail("a distributed run needs PostgreSQL (DATABASE_URL): its workers share it")
        if not settings.broker_url:
            fail("a distributed run needs BROKER_URL: the broker its workers listen to")
    with unit_of_work() as session:
        result = service.run(
            session, period, actor=principal.actor, workers=workers, distributed=distributed
        )
    voided = " (the earlier approval is void)" if result.voided_approval else ""
    typer.echo(
        f"{result.period}: draft of {result.lines} line(s) for {result.partners} "
        f"partner(s), hash {result.draft_hash[:16]}{voided}"
    )


@app.command("review")
def show_review(period: Period) -> None:
    """Totals per partner and component, and the change against the previous period."""
    from payouts.batch import review

    with unit_of_work() as session:
        r = review.review(session, period)
    typer.echo(
        f"{r.period} {r.status}: hash {r.draft_hash[:16]}, calculated by "
        f"{r.calculated_by}" + (f", approved by {r.approved_by}" if r.approved_by else "")
    )
    typer.echo("partner\tcurrency\tpayable\tmargin\tprevious\tchange\tlines")
    for p in r.partners:
        typer.echo(
            f"{p.partner_id}\t{p.currency}\t{p.payable}\t{p.margin}\t{p.previous}\t"
            f"{p.change:+}\t{p.lines}"
        )
    typer.echo("component\tkind\tcurrency\tamount\tlines")
    for c in r.components:
        typer.echo(f"{c.component_id}\t{c.component_kind}\t{c.currency}\t{c.amount}\t{c.lines}")
    for currency, total in sorted(r.totals.items()):
        typer.echo(f"total payable lines {currency}: {total}")
    for change in r.payee_changes:
        typer.echo(
            f"payee details changed since {change.partner_id} was last paid "
            f"({change.last_paid_period}): {', '.join(change.changed)}"
        )
    for waiting in r.tax_form_holds:
        typer.echo(f"held at close for a tax form: {waiting.partner_id} ({waiting.describe()})")


@app.command("approve")
def approve(period: Period, key: Key = "") -> None:
    """Approve the draft: its lines, rep credit and payee details (refused to whoever ran it)."""
    from payouts.batch import service

    principal = acting(key)
    with unit_of_work() as session:
        batch = service.approve(session, period, actor=principal.actor)
    typer.echo(f"{batch.period}: approved by {batch.approved_by}, hash {batch.draft_hash[:16]}")


@app.command("close")
def close(period: Period, key: Key = "") -> None:
    """Post the approved draft to the ledger, decide payouts, issue statements, freeze."""
    from payouts.batch import service
    from statements.issue import issue_period

    principal = acting(key)
    with unit_of_work() as session:
        result = service.close(session, period, actor=principal.actor)
        issue_period(session, result.period, actor=principal.actor)
    typer.echo(
        f"{result.period}: closed; {result.posted} line(s) posted, {result.payouts} "
        f"payout(s) ({_payable(result.payable)}), {len(result.held)} held"
    )
    for partner_id, reason in sorted(result.held.items()):
        typer.echo(f"  held {partner_id}: {reason}")


@app.command("catch-up")
def catch_up(
    through: Annotated[str, typer.Argument(help="The last month to close, YYYY-MM")],
    key: Key = "",
    approver_key: Annotated[
        str,
        typer.Option(
            "--approver-key",
            envvar=APPROVER_KEY_ENV,
            show_envvar=True,
            show_default=False,
            help=f"The approver's API key (prefer {APPROVER_KEY_ENV}); another person's.",
        ),
    ] = "",
    workers: Annotated[int, typer.Option(help="Processes for the calculation")] = min(
        2, os.cpu_count() or 1
    ),
) -> None:
    """Run, approve and close every open month up to THROUGH that holds facts, in order.

    For loading history: a month can be calculated only once the months before it are
    closed. The calculator acts with PAYOUTS_API_KEY, the approver with
    PAYOUTS_APPROVER_KEY (another person: maker-checker holds for each month). Each
    month is its own transaction; the first refusal stops, the months before it stay
    closed."""
    from payouts.batch import service
    from statements.issue import issue_period

    calculator = acting(key)
    approver = acting(approver_key)
    with unit_of_work(read_only=True) as session:
        months = service.months_to_catch_up(session, through)
    if not months:
        typer.echo(f"no open month up to {through} holds facts: nothing to close")
        return
    for period in months:
        with unit_of_work() as session:
            ran = service.run(session, period, actor=calculator.actor, workers=workers)
        with unit_of_work() as session:
            service.approve(session, period, actor=approver.actor)
        with unit_of_work() as session:
            closed = service.close(session, period, actor=approver.actor)
            issue_period(session, closed.period, actor=approver.actor)
        typer.echo(
            f"{period}: {ran.lines} line(s), approved, closed; {closed.payouts} payout(s) "
            f"({_payable(closed.payable)}), {len(closed.held)} held"
        )


def _payable(minor: dict[str, int]) -> str:
    """`270.00 EUR, 260.00 USD`, or `nothing`."""
    from plans.money import from_minor

    return ", ".join(f"{from_minor(v, c)} {c}" for c, v in sorted(minor.items())) or "nothing"


@app.command("export")
def export(
    period: Period,
    fmt: Annotated[
        str,
        typer.Option("--format", help="csv, sepa (pain.001.001.03) or sepa09 (pain.001.001.09)"),
    ] = "csv",
    out: Annotated[Path | None, typer.Option(help="File or directory (default: .)")] = None,
    key: Key = "",
) -> None:
    """Write the payout file: CSV for any bank, or SEPA pain.001 for EUR."""
    from payouts.batch import exports

    principal = acting(key)
    payer = exports.Payer.from_settings()
    with unit_of_work() as session:
        result = exports.export(session, period, fmt, actor=principal.actor, payer=payer)
    target = out or Path(".")
    path = target / result.filename if target.is_dir() else target
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(result.content)
    temporary.replace(path)  # never a half-written payout file
    totals = ", ".join(f"{v} {c}" for c, v in result.totals.items()) or "nothing"
    typer.echo(f"{path}: {result.count} payout(s), {totals}")
    for note in result.skipped:
        typer.echo(f"  skipped {note}")


@app.command("mark-paid")
def mark_paid(
    period: Period,
    file: Annotated[
        Path, typer.Option("--file", help="CSV: end_to_end_id,status,bank_reference,reason")
    ],
    key: Key = "",
) -> None:
    """Record the bank's results; a failed payout returns to the partner's balance."""
    from payouts.batch import payments

    principal = acting(key)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    reader = csv.DictReader(text.splitlines())
    missing = {"end_to_end_id", "status"} - set(reader.fieldnames or [])
    if missing:
        fail(f"{file}: missing column(s) {', '.join(sorted(missing))}")
    rows = [dict(r) for r in reader]
    with unit_of_work() as session:
        result = payments.mark_paid(session, period, rows, actor=principal.actor)
    typer.echo(
        f"{result.period}: {len(result.paid)} paid, {len(result.failed)} failed, "
        f"{len(result.unchanged)} unchanged"
    )
    if result.failed:
        typer.echo(f"  failed payouts return to the balance in {result.reversal_period}")


@app.command("replay")
def replay_command(period: Period) -> None:
    """Recalculate a closed month from its facts as they stood at its close and compare
    every line with the ledger (exit 1 when a line differs). Writes nothing."""
    from payouts.accounting import replay

    with unit_of_work() as session:
        found = replay.replay(session, period)
        session.rollback()
    typer.echo(f"{found.period} replayed from the facts recorded by its close:")
    _say_lines(found.lines, found.differences)


def _say_lines(count: int, differences: list[replay.LineDifference]) -> None:
    if not differences:
        typer.echo(f"identical: {count} lines")
        return
    typer.echo(f"different: {len(differences)} of {count} lines")
    for difference in differences:
        typer.echo(f"  {difference.describe()}")
    raise typer.Exit(1)


reps_app = typer.Typer(help="Internal rep credit.", no_args_is_help=True)


@reps_app.command("report")
def reps_report(
    period: Period,
    out: Annotated[Path | None, typer.Option(help="CSV file (default: stdout)")] = None,
) -> None:
    """Quota credit and commission per deal and rep, as CSV."""
    from payouts.batch import reps as rep_report

    if out is None:
        with unit_of_work() as session:
            typer.echo(rep_report.report_csv(session, period), nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written as read (a month's report is not held in memory), under a temporary name
    # renamed once complete: a failed report leaves no half file behind.
    partial = out.with_name(out.name + ".partial")
    try:
        with unit_of_work() as session, partial.open("w", encoding="utf-8", newline="") as file:
            lines = rep_report.write_csv(session, period, file)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"{out}: {lines} rep credit line(s)")


def simulate_command(
    period: Period,
    plan: Annotated[Path, typer.Option("--plan", help="Candidate plan YAML")],
    lines: Annotated[
        bool, typer.Option("--lines", help="Compare line by line, as `batch replay` does")
    ] = False,
) -> None:
    """Recalculate PERIOD under a candidate plan; writes nothing."""
    from payouts.accounting import replay
    from payouts.batch import simulate
    from plans.loading import load_plan

    candidate = load_plan(plan)
    if lines:
        with unit_of_work() as session:
            found = replay.simulate_lines(session, period, candidate)
            session.rollback()
        typer.echo(
            f"{found.period} under candidate {candidate.plan_id}, compared with "
            f"{found.compared_with}:"
        )
        _say_lines(found.lines, found.differences)
        return
    with unit_of_work() as session:
        result = simulate.simulate(session, period, candidate)
        session.rollback()
    typer.echo(
        f"{result.period} under candidate {result.plan_id}, compared with {result.compared_with}:"
    )
    typer.echo("partner\tcurrency\tcurrent\tcandidate\tdifference")
    for p in result.partners:
        typer.echo(f"{p.partner_id}\t{p.currency}\t{p.current}\t{p.candidate}\t{p.difference:+}")
