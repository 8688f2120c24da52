"""influence_bonus: optional pay for influence roles.

Roles: endorsement, integration requirement, active in sale.

Influence is tracked and reported on deals; it pays only where a plan has this
component. A rate pays on each invoice of an influenced deal; a fixed amount
pays once per influenced deal closed in the period.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator

from plans.components.terms import Amount, Basis, ComponentBase, Problems, Rate
from plans.earnings import Earning
from plans.facts import InfluenceKind, Role
from plans.money import format_rate
from plans.period import Period


class InfluenceBonus(ComponentBase):
    kind: Literal["influence_bonus"] = "influence_bonus"
    kinds: tuple[InfluenceKind, ...] | None = None
    rate: Rate | None = None
    fixed_amount: Amount | None = None
    basis: Basis = Basis.invoiced

    @model_validator(mode="after")
    def _rate_or_fixed(self) -> Self:
        if (self.rate is None) == (self.fixed_amount is None):
            raise Problems([("rate", "give exactly one of rate or fixed_amount")])
        return self


def _influenced(component: InfluenceBonus, period: Period) -> dict[str, str]:
    """deal id -> readable influence, for deals where the partner's influence qualifies."""
    wanted = None if component.kinds is None else frozenset(component.kinds)
    found: dict[str, str] = {}
    for deal_id, roles in period.roles.items():
        if Role.influence not in roles:
            continue
        kinds = period.influence.get(deal_id, frozenset())
        if wanted is None:
            found[deal_id] = ", ".join(sorted(k.value for k in kinds)) or "influence"
        elif kinds & wanted:
            found[deal_id] = ", ".join(sorted(k.value for k in kinds & wanted))
    return found


def earn(component: InfluenceBonus, period: Period) -> list[Earning]:
    influenced = _influenced(component, period)
    if not influenced:
        return []
    lines: list[Earning] = []
    if component.rate is not None:
        rate = component.rate
        paid = component.basis is Basis.paid
        noun = "paid invoice" if paid else "invoice"
        rate_text = format_rate(rate)
        contexts = {d: (f"influence on deal {d}: {text}",) for d, text in influenced.items()}
        for invoice, fact_date, base in period.basis_invoices(paid):
            context = contexts.get(invoice.deal_id or "")
            if context is None:
                continue
            lines.append(
                period.invoice_rate_line(
                    component.id,
                    component.kind,
                    noun,
                    invoice,
                    fact_date,
                    base,
                    rate,
                    rate_text,
                    context,
                )
            )
        return lines
    assert component.fixed_amount is not None
    fixed = component.fixed_amount
    currency = period.plan.currency
    for deal in period.deals_closed:
        if deal.deal_id not in influenced:
            continue
        lines.append(
            period.line(
                component_id=component.id,
                component_kind=component.kind,
                source_fact=f"deal:{deal.deal_id}",
                fact_date=deal.close_date,
                base_amount=fixed,
                base_currency=currency,
                value=fixed,
                calculation=f"influence bonus for deal {deal.deal_id}",
                context=(f"influence on deal {deal.deal_id}: {influenced[deal.deal_id]}",),
                fixed_amount=fixed,
                customer_id=deal.customer_id,
                deal_id=deal.deal_id,
            )
        )
    return lines
