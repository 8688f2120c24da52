"""`payouts tiers`: evaluate a period's tiers and show a partner's tier history."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer
from sqlalchemy.orm import Session

from api.commands.common import Key, acting
from payouts.db import unit_of_work

if TYPE_CHECKING:
    from payouts import tiers
    from plans.components.tier_rate import Metric

app = typer.Typer(help="Partner tiers: evaluation and history.", no_args_is_help=True)


@app.command("evaluate")
def evaluate(period: str, key: Key = "") -> None:
    """Evaluate tiers whose cadence ends with PERIOD (YYYY-MM); they apply from the next."""
    from payouts import tiers
    from payouts.periods import Month

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
    """A partner's tier history: each evaluation's reason, figures and gap to the next tier."""
    from payouts import tiers

    with unit_of_work(read_only=True) as session:
        records = tiers.history(session, partner)
        if not records:
            typer.echo(f"no tier evaluations for {partner}")
            return
        for r in records:
            typer.echo(
                f"{r.evaluated_period} {r.plan_id}/{r.component_id}: {r.tier or 'none'} "
                f"({r.change}, from {r.effective_period}) {r.reason}"
            )
            for line in _figures(session, r):
                typer.echo(f"    {line}")
            if r.gap_text:
                typer.echo(f"    next: {r.gap_text}")


def _figures(session: Session, record: tiers.TierRecord) -> list[str]:
    """The evaluation's figures, then each requirement of the next tier (or, at the top,
    of the tier held): the figure, the threshold and what is missing."""
    from payouts import plan_book
    from plans.components.tier_rate import Metric, Tier, metric_label, show_metric
    from plans.tiers import tier_component

    plan = plan_book.get(session, record.plan_id, record.plan_version).plan()
    component = tier_component(plan, record.component_id)
    figures = record.metrics
    measured = [
        f"{metric_label(component, m)} {_show(m, Decimal(figures[m.value]), plan.currency)}"
        for m in Metric
        if m.value in figures
    ]
    lines = [f"figures at {figures.get('as_of', record.evaluated_period)}: {', '.join(measured)}"]
    target, verb = (record.next_tier, "to reach") if record.next_tier else (record.tier, "to keep")
    tier: Tier | None = component.tier_named(target) if target else None
    if tier is None or not tier.requirements:
        return lines
    lines.append(f"{verb} {tier.name} ({tier.combine.value} of):")
    for requirement in tier.requirements:
        metric, threshold = requirement.metric, requirement.at_least
        actual = Decimal(figures.get(metric.value, "0"))
        gap = max(threshold - actual, Decimal(0))
        lines.append(
            f"  {metric_label(component, metric)}: {show_metric(metric, actual)} of "
            f"{_show(metric, threshold, plan.currency)}, gap {_show(metric, gap, plan.currency)}"
        )
    return lines


def _show(metric: Metric, value: Decimal, currency: str) -> str:
    from plans.components.tier_rate import Metric, show_metric

    shown = show_metric(metric, value)
    return f"{shown} {currency}" if metric is Metric.sourced_revenue else shown
