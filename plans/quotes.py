"""Quotes: what a partner pays on a deal, and margin protection.

Billing asks for the partner's buy price. Without a requested price the
plan's rule sets it. A requested price (a seller cutting the partner's
discount) is accepted only if its implied discount stays at or above the
protected discount; below it, ``MarginBelowProtected`` is raised unless an
approved exception is passed, which the quote then records.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from plans.components.deal_discount import DealDiscount, PriceRule, price
from plans.errors import InvalidAmount, MarginBelowProtected, PlanHasNoDiscount
from plans.facts import Deal
from plans.model import PlanVersion
from plans.money import format_rate, round_money
from plans.period import show


@dataclass(frozen=True, slots=True)
class Quote:
    deal_id: str
    partner_id: str
    plan_id: str
    plan_version: int
    component_id: str
    rule: PriceRule
    currency: str
    price_basis: Decimal
    """List or negotiated price the discount applies to."""
    discount_rate: Decimal
    """Discount actually given (implied by a requested price when there is one)."""
    rule_discount: Decimal
    protected_discount: Decimal
    buy_price: Decimal
    margin: Decimal
    exception_approved: bool
    """True when a price below the protected margin was accepted on an approved exception."""
    explanation: tuple[str, ...]


def quote(
    plan: PlanVersion,
    deal: Deal,
    partner_id: str,
    requested_price: Decimal | None = None,
    exception_approved: bool = False,
    component_id: str | None = None,
) -> Quote:
    component = next(
        (
            c
            for c in plan.components
            if isinstance(c, DealDiscount) and component_id in (None, c.id)
        ),
        None,
    )
    if component is None:
        raise PlanHasNoDiscount(
            f"plan {plan.plan_id} v{plan.version} has no deal_discount component"
        )
    pricing = price(component, deal, partner_id, plan.rounding)
    ccy = deal.currency
    steps = list(pricing.steps)
    exception = False
    buy_price, margin, discount = pricing.buy_price, pricing.margin, pricing.discount
    if requested_price is not None:
        if not isinstance(requested_price, Decimal):
            raise InvalidAmount("requested_price must be a Decimal")
        if requested_price < 0:
            raise InvalidAmount("requested_price must not be negative")
        if requested_price != round_money(requested_price, ccy, plan.rounding):
            raise InvalidAmount(
                f"requested_price {requested_price} is not at {ccy}'s minor precision"
            )
        requested = requested_price
        base = pricing.base
        implied = (base - requested) / base if base else Decimal(0)
        text = (
            f"requested price {show(requested, ccy)} on {pricing.base_label} "
            f"{show(base, ccy)} implies a {format_rate(implied.quantize(Decimal('0.0001')))} "
            f"discount; protected {format_rate(pricing.protected_discount)}"
        )
        if implied < pricing.protected_discount:
            if not exception_approved:
                raise MarginBelowProtected(
                    deal.deal_id,
                    implied,
                    pricing.protected_discount,
                    f"{text}: refused, the partner's margin is protected; "
                    f"an approved exception is required",
                )
            exception = True
            steps.append(f"{text}: accepted on an approved exception")
        else:
            steps.append(f"{text}: accepted")
        buy_price, margin, discount = requested, base - requested, implied
    return Quote(
        deal_id=deal.deal_id,
        partner_id=partner_id,
        plan_id=plan.plan_id,
        plan_version=plan.version,
        component_id=component.id,
        rule=pricing.rule,
        currency=ccy,
        price_basis=pricing.base,
        discount_rate=discount,
        rule_discount=pricing.discount,
        protected_discount=pricing.protected_discount,
        buy_price=buy_price,
        margin=margin,
        exception_approved=exception,
        explanation=tuple(steps),
    )
