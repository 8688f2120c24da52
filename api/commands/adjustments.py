"""`payouts adjustments`: propose, approve, refuse and list manual adjustments.

Each command acts for the finance key in `PAYOUTS_API_KEY` (never a typed name): the
proposer's key cannot approve or refuse its own adjustment (by holder, as batch
approvals). An approved adjustment is a line of the next run of the open month.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from api.commands.common import Key, acting, status_filter
from payouts.db import unit_of_work

if TYPE_CHECKING:
    from payouts import adjustments

app = typer.Typer(help="Manual adjustments: propose, approve, refuse, list.", no_args_is_help=True)

AdjustmentId = Annotated[int, typer.Argument(min=1, max=2**62)]


def _answers(a: adjustments.Adjustment) -> str:
    """What the adjustment answers: `inquiry:<id>` and/or `<period>:<line id>`."""
    named = [f"inquiry:{a.inquiry_id}"] if a.inquiry_id is not None else []
    if a.statement_period is not None:
        named.append(f"{a.statement_period}:{a.line_id}")
    return " ".join(named)


def _line(a: adjustments.Adjustment) -> str:
    return (
        f"{a.id}\t{a.partner_id}\t{a.amount}\t{a.currency}\t{a.status.value}\t"
        f"{a.proposed_by}\t{a.decided_by or ''}\t{a.posted_period or ''}\t{a.reason}\t"
        f"{_answers(a)}"
    )


@app.command("propose")
def propose(
    partner: Annotated[str, typer.Option(help="The partner's id.")],
    amount: Annotated[str, typer.Option(help="Signed amount in the currency's units: 25.00.")],
    currency: Annotated[str, typer.Option(help="The partner's payout currency.")],
    reason: Annotated[str, typer.Option(help="Why: printed on the partner's statement.")],
    inquiry: Annotated[
        int | None, typer.Option(min=1, help="The inquiry it answers, if any.")
    ] = None,
    statement_period: Annotated[
        str | None,
        typer.Option(help="The month (YYYY-MM) of the statement whose line it answers."),
    ] = None,
    line: Annotated[
        str | None,
        typer.Option(help="That statement line's id (with --statement-period)."),
    ] = None,
    key: Key = "",
) -> None:
    """Propose an adjustment; another person approves or refuses it."""
    from payouts import adjustments

    principal = acting(key)
    with unit_of_work() as session:
        proposed = adjustments.propose(
            session,
            partner_id=partner,
            amount=amount,
            currency=currency,
            reason=reason,
            actor=principal.actor,
            inquiry_id=inquiry,
            statement_period=statement_period,
            line_id=line,
        )
    typer.echo(f"adjustment {proposed.id}: {proposed.status.value}")


@app.command("approve")
def approve(adjustment_id: AdjustmentId, key: Key = "") -> None:
    """Approve a pending adjustment (not one you proposed)."""
    from payouts import adjustments

    principal = acting(key)
    with unit_of_work() as session:
        decided = adjustments.decide(
            session, adjustment_id, adjustments.Decision.APPROVED, actor=principal.actor
        )
    typer.echo(f"adjustment {decided.id}: {decided.status.value}")


@app.command("refuse")
def refuse(
    adjustment_id: AdjustmentId,
    reason: Annotated[str, typer.Option(help="Why it is refused.")],
    key: Key = "",
) -> None:
    """Refuse a pending adjustment, saying why (not one you proposed)."""
    from payouts import adjustments

    principal = acting(key)
    with unit_of_work() as session:
        decided = adjustments.decide(
            session,
            adjustment_id,
            adjustments.Decision.REFUSED,
            actor=principal.actor,
            reason=reason,
        )
    typer.echo(f"adjustment {decided.id}: {decided.status.value}")


@app.command("list")
def list_adjustments(
    key: Key = "",
    status: Annotated[
        str | None, typer.Option(help="pending, approved, refused or posted (default: all)")
    ] = None,
) -> None:
    """Adjustments, newest first."""
    from payouts import adjustments

    acting(key)
    wanted = status_filter(adjustments.Status, status, adjustments.AdjustmentRefused)
    with unit_of_work(read_only=True) as session:
        found = adjustments.listed(session, status=wanted)
    typer.echo(
        "adjustment\tpartner\tamount\tcurrency\tstatus\tproposed by\tdecided by\tposted in\t"
        "reason\tanswers"
    )
    for a in found:
        typer.echo(_line(a))
