"""tier_rate: status tiers (Bronze/Silver/Gold) set the commission rate.

The rate applies to invoices of deals the partner sources or resells.

Tiers are listed lowest first. Each tier has requirements on trailing-window
metrics combined with ``all`` or ``any``; the lowest tier may have none (an
entry tier). Fulfilment-only deals pay no tier commission and never count as
sourced revenue (payouts builds ``PartnerMetrics`` that way).
"""

from __future__ import annotations

import enum
import itertools
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator

from plans.components.terms import Amount, Basis, ComponentBase, Problems, Rate, Term
from plans.earnings import Earning
from plans.errors import UnknownTier
from plans.facts import PartnerMetrics, Role
from plans.money import format_amount, format_rate
from plans.period import Period


class Metric(enum.StrEnum):
    sourced_revenue = "sourced_revenue"
    certifications = "certifications"
    campaigns = "campaigns"
    registered_deals = "registered_deals"


class Combine(enum.StrEnum):
    all = "all"
    any = "any"


class Cadence(enum.StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    annual = "annual"


COUNT_NOUNS = {
    Metric.certifications: ("certification", "certifications"),
    Metric.campaigns: ("campaign", "campaigns"),
    Metric.registered_deals: ("registered deal", "registered deals"),
}


class Requirement(Term):
    metric: Metric
    at_least: Amount


class Tier(Term):
    name: Annotated[str, Field(min_length=1, max_length=40)]
    rate: Rate
    requirements: tuple[Requirement, ...] = ()
    combine: Combine = Combine.all

    @field_validator("requirements")
    @classmethod
    def _one_requirement_per_metric(cls, value: tuple[Requirement, ...]) -> tuple[Requirement, ...]:
        problems: list[tuple[str, str]] = []
        seen: set[Metric] = set()
        for index, requirement in enumerate(value):
            if requirement.metric in seen:
                problems.append(
                    (f"[{index}].metric", f"metric {requirement.metric.value} is required twice")
                )
            seen.add(requirement.metric)
            if requirement.metric is not Metric.sourced_revenue and (
                requirement.at_least != requirement.at_least.to_integral_value()
            ):
                problems.append(
                    (f"[{index}].at_least", f"{requirement.metric.value} must be a whole number")
                )
        if problems:
            raise Problems(problems)
        return value

    def threshold(self, metric: Metric) -> Decimal | None:
        for requirement in self.requirements:
            if requirement.metric is metric:
                return requirement.at_least
        return None


class TierRate(ComponentBase):
    kind: Literal["tier_rate"] = "tier_rate"
    tiers: Annotated[tuple[Tier, ...], Field(min_length=1)]
    cadence: Cadence = Cadence.quarterly
    window_months: Annotated[int, Field(ge=1, le=36)] = 12
    demotion_grace: Annotated[int, Field(ge=0, le=12)] = 0
    basis: Basis = Basis.invoiced
    roles: tuple[Role, ...] = (Role.sourced, Role.resale)

    @field_validator("tiers")
    @classmethod
    def _tiers_ordered(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        for index, tier in enumerate(tiers):
            if tier.name in seen:
                problems.append((f"[{index}].name", f"tier name {tier.name!r} is used twice"))
            seen.add(tier.name)
        for index, (lower, upper) in enumerate(itertools.pairwise(tiers), start=1):
            if upper.rate <= lower.rate:
                problems.append(
                    (
                        f"[{index}].rate",
                        f"tiers are listed lowest first with rising rates: {upper.name} "
                        f"{format_rate(upper.rate)} is not above {lower.name} "
                        f"{format_rate(lower.rate)}",
                    )
                )
            if not upper.requirements:
                problems.append(
                    (
                        f"[{index}].requirements",
                        f"only the first (entry) tier may have no requirements; {upper.name} "
                        f"would overlap every tier below it",
                    )
                )
                continue
            for position, requirement in enumerate(upper.requirements):
                below = lower.threshold(requirement.metric)
                if below is not None and requirement.at_least < below:
                    problems.append(
                        (
                            f"[{index}].requirements[{position}].at_least",
                            f"{upper.name} needs {requirement.metric.value} "
                            f"{requirement.at_least}, less than {lower.name}'s {below}: "
                            f"thresholds must not fall as tiers rise",
                        )
                    )
            if {(r.metric, r.at_least) for r in upper.requirements} == {
                (r.metric, r.at_least) for r in lower.requirements
            } and upper.combine is lower.combine:
                problems.append(
                    (
                        f"[{index}].requirements",
                        f"{upper.name} has the same requirements as {lower.name}: "
                        f"the tiers overlap",
                    )
                )
        if problems:
            raise Problems(problems)
        return tiers

    def tier_named(self, name: str) -> Tier | None:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        return None


def metric_value(metrics: PartnerMetrics, metric: Metric) -> Decimal:
    return Decimal(getattr(metrics, metric.value))


def metric_label(component: TierRate, metric: Metric) -> str:
    if metric is Metric.sourced_revenue:
        return f"sourced revenue {component.window_months}m"
    return COUNT_NOUNS[metric][1]


def show_metric(metric: Metric, value: Decimal) -> str:
    if metric is Metric.sourced_revenue:
        return format_amount(value.quantize(Decimal("0.01")))
    return f"{value.normalize():f}"


def requirement_met(metrics: PartnerMetrics, requirement: Requirement) -> bool:
    return metric_value(metrics, requirement.metric) >= requirement.at_least


def tier_met(tier: Tier, metrics: PartnerMetrics) -> bool:
    if not tier.requirements:
        return True
    results = (requirement_met(metrics, r) for r in tier.requirements)
    return all(results) if tier.combine is Combine.all else any(results)


def tier_reason(component: TierRate, tier: Tier, metrics: PartnerMetrics) -> str:
    """``"sourced revenue 12m 120,000.00 >= 100,000.00; certifications 3 >= 2"``."""
    if not tier.requirements:
        return "entry tier, no requirements"
    parts = []
    for requirement in tier.requirements:
        value = metric_value(metrics, requirement.metric)
        op = ">=" if value >= requirement.at_least else "<"
        parts.append(
            f"{metric_label(component, requirement.metric)} "
            f"{show_metric(requirement.metric, value)} {op} "
            f"{show_metric(requirement.metric, requirement.at_least)}"
        )
    return ("; " if tier.combine is Combine.all else " or ").join(parts)


def reached_tier(component: TierRate, metrics: PartnerMetrics) -> Tier | None:
    """The highest tier whose requirements the metrics meet, or ``None``."""
    for tier in reversed(component.tiers):
        if tier_met(tier, metrics):
            return tier
    return None


def earn(component: TierRate, period: Period) -> list[Earning]:
    facts = period.facts
    tier: Tier | None
    if facts.tier is not None:
        tier = component.tier_named(facts.tier)
        if tier is None:
            raise UnknownTier(facts.tier, period.plan.plan_id, period.plan.version)
        context = (f"tier {tier.name} (in force for the period) -> {format_rate(tier.rate)}",)
    else:
        metrics = facts.metrics or PartnerMetrics(as_of=facts.period_end)
        tier = reached_tier(component, metrics)
        if tier is None:
            lowest = component.tiers[0]
            context = (
                f"no tier reached ({lowest.name} needs "
                f"{tier_reason(component, lowest, metrics)}) -> no tier commission",
            )
        else:
            context = (
                f"tier {tier.name} ({tier_reason(component, tier, metrics)}) "
                f"-> {format_rate(tier.rate)}",
            )
    rate = tier.rate if tier is not None else Decimal(0)
    rate_text = format_rate(rate)
    roles = frozenset(component.roles)
    # fulfilment-only deals (and referral or influence ones) pay no tier commission
    eligible = {
        d for d, partner_roles in period.roles.items() if not roles.isdisjoint(partner_roles)
    }
    paid = component.basis is Basis.paid
    noun = "paid invoice" if paid else "invoice"
    rate_line = period.invoice_rate_line
    kind = component.kind
    component_id = component.id
    return [
        rate_line(component_id, kind, noun, invoice, fact_date, base, rate, rate_text, context)
        for invoice, fact_date, base in period.basis_invoices(paid)
        if invoice.deal_id in eligible
    ]
