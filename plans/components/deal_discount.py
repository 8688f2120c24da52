"""deal_discount: the partner's buy price on a deal, and the margin it earns through it.

Rules, first match wins, for the partner on the deal:

1. ``deal_registration``: the partner sourced the deal and holds an approved
   registration valid on the close date -> ``registration_discount`` off list
   (list 100, 40% -> buys at 60).
2. ``standard_resale``: the partner sourced or resells it -> ``standard_discount`` off list.
3. ``fulfilment``: the partner is only the transaction vehicle ->
   ``fulfilment_discount`` off the negotiated price (80, 5% -> 76).

``protected_margin`` is the lowest discount a quote may give before an
approved exception is needed; it never exceeds what the rule grants (a quote
below the rule's own discount is refused when no protected margin is set).

A resale partner earns through its discount, not a cash payout: the
calculator emits a non-payable ``margin`` line per deal closed in the period,
so the statement shows the partner's whole economics.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from plans.components.terms import ComponentBase, Rate
from plans.earnings import Earning
from plans.errors import NotResold
from plans.facts import Deal, Role
from plans.line_kinds import LineKind
from plans.money import Rounding, format_rate, round_money
from plans.period import Period, show


class PriceRule(enum.StrEnum):
    deal_registration = "deal_registration"
    fulfilment = "fulfilment"
    standard_resale = "standard_resale"


class DealDiscount(ComponentBase):
    kind: Literal["deal_discount"] = "deal_discount"
    standard_discount: Rate
    registration_discount: Rate | None = None
    fulfilment_discount: Rate | None = None
    protected_margin: Rate | None = None


@dataclass(frozen=True, slots=True)
class Pricing:
    """How a partner's buy price on a deal is set (before any requested price)."""

    rule: PriceRule
    base_label: str
    base: Decimal
    currency: str
    discount: Decimal
    protected_discount: Decimal
    buy_price: Decimal
    margin: Decimal
    steps: tuple[str, ...]


def _registration_step(deal: Deal, partner_id: str) -> tuple[bool, str | None]:
    registration = deal.registration
    if registration is None:
        return False, None
    rid = registration.registration_id
    if registration.partner_id != partner_id:
        return False, f"deal registration {rid} is held by another partner"
    close = deal.close_date.isoformat()
    if registration.valid_on(deal.close_date):
        approved = registration.approved_at.isoformat() if registration.approved_at else "-"
        expires = registration.expires_at.isoformat() if registration.expires_at else "never"
        return True, (
            f"deal registration {rid} approved {approved}, expires {expires}: "
            f"valid at close {close}"
        )
    if registration.status.value != "approved":
        return False, f"deal registration {rid} is {registration.status.value}, not approved"
    if registration.approved_at is not None and registration.approved_at > deal.close_date:
        return False, (
            f"deal registration {rid} approved {registration.approved_at.isoformat()} "
            f"after close {close}"
        )
    expires = registration.expires_at.isoformat() if registration.expires_at else "never"
    return False, f"deal registration {rid} expired {expires}, before close {close}"


def price(
    component: DealDiscount,
    deal: Deal,
    partner_id: str,
    rounding: Rounding,
    roles: frozenset[Role] | None = None,
) -> Pricing:
    """The rule-set buy price of ``partner_id`` on ``deal``, rounded once in the deal currency.

    ``roles`` (the partner's roles on the deal) may be passed when already known.
    """
    if roles is None:
        roles = deal.roles_of(partner_id)
    steps: list[str] = []
    reg_valid, reg_text = _registration_step(deal, partner_id)
    if Role.sourced in roles and component.registration_discount is not None and reg_valid:
        assert reg_text is not None
        steps.append(reg_text)
        rule, label, base = PriceRule.deal_registration, "list", deal.list_amount
        discount = component.registration_discount
    elif roles & {Role.sourced, Role.resale}:
        if reg_text is not None and Role.sourced in roles:
            steps.append(reg_text)
        rule, label, base = PriceRule.standard_resale, "list", deal.list_amount
        discount = component.standard_discount
    elif Role.fulfilment in roles:
        rule = PriceRule.fulfilment
        if deal.negotiated_amount is not None:
            label, base = "negotiated price", deal.negotiated_amount
        else:
            label, base = "negotiated (net) price", deal.net_amount
        discount = (
            component.fulfilment_discount
            if component.fulfilment_discount is not None
            else component.standard_discount
        )
        steps.append("partner fulfils a vendor-run deal (not partner-sourced)")
    else:
        raise NotResold(
            f"partner {partner_id} neither sourced, resells nor fulfils deal {deal.deal_id}"
        )
    steps.append(f"{rule.value.replace('_', ' ')}: {format_rate(discount)} off {label}")
    buy_price = round_money(base - base * discount, deal.currency, rounding)
    margin = base - buy_price
    steps.append(
        f"{label} {show(base, deal.currency)} - {format_rate(discount)} = "
        f"buy price {buy_price:,} {deal.currency}, margin {margin:,} {deal.currency}"
    )
    protected = component.protected_margin
    floor = discount if protected is None else min(protected, discount)
    return Pricing(
        rule=rule,
        base_label=label,
        base=base,
        currency=deal.currency,
        discount=discount,
        protected_discount=floor,
        buy_price=buy_price,
        margin=margin,
        steps=tuple(steps),
    )


def earn(component: DealDiscount, period: Period) -> list[Earning]:
    lines: list[Earning] = []
    resold = {Role.sourced, Role.resale, Role.fulfilment}
    for deal in period.deals_closed:
        roles = period.roles.get(deal.deal_id)
        if roles is None or resold.isdisjoint(roles):
            continue  # referral or influence only: no buy price, no margin
        pricing = price(component, deal, period.partner_id, period.plan.rounding, roles)
        lines.append(
            period.line(
                component_id=component.id,
                component_kind=component.kind,
                source_fact=f"deal:{deal.deal_id}",
                fact_date=deal.close_date,
                base_amount=pricing.base,
                base_currency=deal.currency,
                value=pricing.margin,
                calculation=(
                    f"margin earned through the discount, not payable: "
                    f"{pricing.base_label} {show(pricing.base, deal.currency)} - buy price "
                    f"{pricing.buy_price:,} {deal.currency}"
                ),
                context=pricing.steps[:-1],
                rate=pricing.discount,
                customer_id=deal.customer_id,
                deal_id=deal.deal_id,
                line_kind=LineKind.margin,
                payable=False,
            )
        )
    return lines
