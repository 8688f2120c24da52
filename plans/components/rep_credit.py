"""rep_credit: internal rep quota credit and commission (reps are not partners).

Comp-neutral credit: the rep is credited on list, on the partner's net price,
or on the midpoint (list 100, net 60 -> 100 / 60 / 80). A partner-deal
accelerator pays reps a higher rate on deals closed through a partner (8%
direct, 10% via partner), even when the vendor sourced them. The calculator
emits no partner lines for this component; use ``rep_credit(plan, deal)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from plans.components.terms import ComponentBase, Rate
from plans.earnings import Earning
from plans.errors import PlanHasNoRepCredit
from plans.facts import Deal, Role
from plans.money import format_rate, round_money
from plans.period import Period, show

if TYPE_CHECKING:
    from plans.model import PlanVersion

_TWO = Decimal(2)


class CreditBasis(enum.StrEnum):
    list = "list"
    net = "net"
    midpoint = "midpoint"


class RepCreditRule(ComponentBase):
    kind: Literal["rep_credit"] = "rep_credit"
    credit_basis: CreditBasis = CreditBasis.list
    direct_rate: Rate
    partner_rate: Rate
    partner_roles: tuple[Role, ...] = (Role.sourced, Role.fulfilment, Role.resale, Role.referral)


@dataclass(frozen=True, slots=True)
class RepCredit:
    """Quota credit and commission of a deal's owner rep; amounts in the deal currency."""

    deal_id: str
    rep_id: str | None
    plan_id: str
    plan_version: int
    component_id: str
    credit_basis: CreditBasis
    currency: str
    credit: Decimal
    via_partner: bool
    commission_rate: Decimal
    commission_unrounded: Decimal
    commission: Decimal
    explanation: tuple[str, ...]


def rep_credit(plan: PlanVersion, deal: Deal, component_id: str | None = None) -> RepCredit:
    """The owner rep's credit and commission on ``deal`` under the plan's rep_credit component."""
    return credit_on(plan, rep_credit_rule(plan, component_id), deal)


def rep_credit_rule(plan: PlanVersion, component_id: str | None = None) -> RepCreditRule:
    """The plan's rep_credit component (the one named, if given)."""
    rule = next(
        (
            c
            for c in plan.components
            if isinstance(c, RepCreditRule) and (component_id is None or c.id == component_id)
        ),
        None,
    )
    if rule is None:
        raise PlanHasNoRepCredit(f"plan {plan.plan_id} v{plan.version} has no rep_credit component")
    return rule


def credit_on(plan: PlanVersion, rule: RepCreditRule, deal: Deal) -> RepCredit:
    """``rep_credit`` with the rule already found: a month credits tens of thousands of
    deals under one or two plan versions."""
    ccy = deal.currency
    if rule.credit_basis is CreditBasis.list:
        credit_unrounded = deal.list_amount
        step = f"credit on list: {show(credit_unrounded, ccy)}"
    elif rule.credit_basis is CreditBasis.net:
        credit_unrounded = deal.net_amount
        step = f"credit on net: {show(credit_unrounded, ccy)}"
    else:
        list_text, net_text = show(deal.list_amount, ccy), show(deal.net_amount, ccy)
        credit_unrounded = (deal.list_amount + deal.net_amount) / _TWO
        step = f"credit on midpoint: ({list_text} + {net_text}) / 2 = {show(credit_unrounded, ccy)}"
    credit = round_money(credit_unrounded, ccy, plan.rounding)
    partners = sorted({r.partner_id for r in deal.roles if r.role in rule.partner_roles})
    via_partner = bool(partners)
    rate = rule.partner_rate if via_partner else rule.direct_rate
    channel = f"via partner {', '.join(partners)}" if via_partner else "direct"
    rate_text = format_rate(rate)
    unrounded = credit * rate
    commission = round_money(unrounded, ccy, plan.rounding)
    return RepCredit(
        deal_id=deal.deal_id,
        rep_id=deal.owner_rep_id,
        plan_id=plan.plan_id,
        plan_version=plan.version,
        component_id=rule.id,
        credit_basis=rule.credit_basis,
        currency=ccy,
        credit=credit,
        via_partner=via_partner,
        commission_rate=rate,
        commission_unrounded=unrounded,
        commission=commission,
        explanation=(
            step,
            f"deal {deal.deal_id} closed {channel} -> rep rate {rate_text}",
            f"{show(credit, ccy)} x {rate_text} = {show(commission, ccy)}",
        ),
    )


def earn(component: RepCreditRule, period: Period) -> list[Earning]:
    return []  # reps are not partners: see rep_credit()
