"""Tier status: the tier a partner holds, the gap to the next one, and whether it is at risk.

Payouts evaluates tiers on the component's cadence (``evaluation_due``) and
keeps the history; this module only decides, from metrics and that history
(``current_tier``, ``periods_below``), what the status is.

Grace: when the metrics no longer meet the tier in force, the partner keeps
it while ``periods_below`` (earlier consecutive evaluations already below) is
less than ``demotion_grace``; the returned ``periods_below`` is the count to
store for the next evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from plans.calendar import month_end
from plans.components.tier_rate import (
    COUNT_NOUNS,
    Cadence,
    Combine,
    Metric,
    Tier,
    TierRate,
    metric_label,
    metric_value,
    reached_tier,
    show_metric,
    tier_met,
    tier_reason,
)
from plans.errors import PlanHasNoTiers, UnknownTier
from plans.facts import PartnerMetrics
from plans.model import PlanVersion
from plans.money import format_rate


@dataclass(frozen=True, slots=True)
class TierGap:
    """One unmet requirement of the next tier."""

    metric: Metric
    required: Decimal
    actual: Decimal
    missing: Decimal
    text: str


@dataclass(frozen=True, slots=True)
class TierStatus:
    component_id: str
    tier: str | None
    """The tier in force after grace handling (``None``: no tier)."""
    rate: Decimal | None
    qualified_tier: str | None
    """The tier the metrics alone reach."""
    next_tier: str | None
    gaps: tuple[TierGap, ...]
    gap_text: str | None
    at_risk: bool
    """The metrics no longer meet the tier in force: the partner drops when grace runs out."""
    risk_gaps: tuple[TierGap, ...]
    risk_text: str | None
    """When at risk, what it takes to keep the tier: "... to keep Gold"."""
    in_grace: bool
    periods_below: int
    reason: str


def tier_component(plan: PlanVersion, component_id: str | None = None) -> TierRate:
    for component in plan.components:
        if isinstance(component, TierRate) and component_id in (None, component.id):
            return component
    raise PlanHasNoTiers(f"plan {plan.plan_id} v{plan.version} has no tier_rate component")


def evaluation_due(plan: PlanVersion, period_end: date, component_id: str | None = None) -> bool:
    """Whether ``period_end`` closes an evaluation period of the tier cadence (calendar aligned)."""
    component = tier_component(plan, component_id)
    if period_end != month_end(period_end):
        return False
    if component.cadence is Cadence.monthly:
        return True
    if component.cadence is Cadence.quarterly:
        return period_end.month % 3 == 0
    return period_end.month == 12


def _gap_text(metric: Metric, missing: Decimal, currency: str) -> str:
    if metric is Metric.sourced_revenue:
        return f"{show_metric(metric, missing)} {currency} more sourced revenue"
    count = missing.to_integral_value(rounding="ROUND_CEILING")
    singular, plural = COUNT_NOUNS[metric]
    return f"{count} more {singular if count == 1 else plural}"


def _gaps(tier: Tier, metrics: PartnerMetrics, currency: str) -> tuple[TierGap, ...]:
    gaps = []
    for requirement in tier.requirements:
        actual = metric_value(metrics, requirement.metric)
        if actual < requirement.at_least:
            missing = requirement.at_least - actual
            gaps.append(
                TierGap(
                    metric=requirement.metric,
                    required=requirement.at_least,
                    actual=actual,
                    missing=missing,
                    text=_gap_text(requirement.metric, missing, currency),
                )
            )
    return tuple(gaps)


def _joined(tier: Tier, gaps: tuple[TierGap, ...]) -> str:
    """The gaps in words: any one of them closes it, or all of them do."""
    joiner = " or " if tier.combine is Combine.any else " and "
    return joiner.join(g.text for g in gaps)


def _to_reach(
    next_tier: Tier | None, metrics: PartnerMetrics, currency: str
) -> tuple[tuple[TierGap, ...], str | None]:
    """What the partner lacks for the next tier, and that in words."""
    if next_tier is None:
        return (), None
    gaps = _gaps(next_tier, metrics, currency)
    if not gaps:
        return gaps, f"requirements for {next_tier.name} met; it applies at the next evaluation"
    return gaps, f"{_joined(next_tier, gaps)} to reach {next_tier.name}"


def _below_held(
    component: TierRate,
    held: Tier,
    qualified: Tier | None,
    periods_below: int,
    metrics: PartnerMetrics,
) -> tuple[Tier | None, bool, int, list[str]]:
    """A partner qualifying below the tier it held keeps it for `demotion_grace`
    evaluations, then drops: (tier, in grace, evaluations below, reasons)."""
    below = periods_below + 1
    if periods_below < component.demotion_grace:
        return (
            held,
            True,
            below,
            [
                f"{held.name} kept in grace ({below} of {component.demotion_grace} "
                f"evaluation(s) below: {tier_reason(component, held, metrics)})"
            ],
        )
    return (
        qualified,
        False,
        below,
        [f"dropped from {held.name} ({tier_reason(component, held, metrics)})"],
    )


def tier_status(
    plan: PlanVersion,
    metrics: PartnerMetrics,
    current_tier: str | None = None,
    periods_below: int = 0,
    component_id: str | None = None,
) -> TierStatus:
    """The partner's tier status from its metrics and, optionally, the tier it held so far."""
    component = tier_component(plan, component_id)
    tiers = component.tiers
    qualified = reached_tier(component, metrics)
    rank = {t.name: i for i, t in enumerate(tiers)}
    qualified_rank = -1 if qualified is None else rank[qualified.name]

    held: Tier | None = None
    if current_tier is not None:
        held = component.tier_named(current_tier)
        if held is None:
            raise UnknownTier(current_tier, plan.plan_id, plan.version)

    reasons: list[str] = []
    tier, in_grace, below = qualified, False, 0
    if held is not None and rank[held.name] > qualified_rank:
        tier, in_grace, below, reasons = _below_held(
            component, held, qualified, periods_below, metrics
        )
    if tier is not None and not in_grace:
        reasons.append(f"{tier.name}: {tier_reason(component, tier, metrics)}")
    elif tier is None:
        reasons.append(
            f"no tier reached ({tiers[0].name} needs {tier_reason(component, tiers[0], metrics)})"
        )

    at_risk = tier is not None and not tier_met(tier, metrics)
    tier_rank = -1 if tier is None else rank[tier.name]
    next_tier = tiers[tier_rank + 1] if tier_rank + 1 < len(tiers) else None
    gaps, gap_text = _to_reach(next_tier, metrics, plan.currency)
    risk_gaps: tuple[TierGap, ...] = ()
    risk_text = None
    if tier is not None and at_risk:
        risk_gaps = _gaps(tier, metrics, plan.currency)
        risk_text = f"{_joined(tier, risk_gaps)} to keep {tier.name}"
    if tier is not None:
        reasons.append(f"rate {format_rate(tier.rate)}")
    return TierStatus(
        component_id=component.id,
        tier=None if tier is None else tier.name,
        rate=None if tier is None else tier.rate,
        qualified_tier=None if qualified is None else qualified.name,
        next_tier=None if next_tier is None else next_tier.name,
        gaps=gaps,
        gap_text=gap_text,
        at_risk=at_risk,
        risk_gaps=risk_gaps,
        risk_text=risk_text,
        in_grace=in_grace,
        periods_below=below,
        reason="; ".join(reasons),
    )


__all__ = ["TierGap", "TierStatus", "evaluation_due", "metric_label", "tier_status"]
