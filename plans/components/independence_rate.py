"""independence_rate: reseller commission by how independently the partner ran the deal.

Resellers needing vendor hand-holding earn little, self-sufficient ones much
more (e.g. vendor-led 3%, assisted 4%, independent 20%), on invoices of deals
the partner sourced or resells.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from plans.components.terms import Basis, ComponentBase, Rate, Term
from plans.earnings import Earning
from plans.facts import Independence, Role
from plans.money import format_rate
from plans.period import Period


class IndependenceRates(Term):
    vendor_led: Rate
    assisted: Rate
    independent: Rate

    def of(self, level: Independence) -> Rate:
        if level is Independence.vendor_led:
            return self.vendor_led
        if level is Independence.assisted:
            return self.assisted
        return self.independent


class IndependenceRate(ComponentBase):
    kind: Literal["independence_rate"] = "independence_rate"
    rates: IndependenceRates
    basis: Basis = Basis.invoiced
    roles: tuple[Role, ...] = (Role.sourced, Role.resale)


def earn(component: IndependenceRate, period: Period) -> list[Earning]:
    roles = frozenset(component.roles)
    paid = component.basis is Basis.paid
    noun = "paid invoice" if paid else "invoice"
    rates = component.rates
    # per deal, precomputed once: (rate, rate text, explanation context)
    per_deal: dict[str, tuple[Decimal, str, tuple[str, ...]]] = {}
    for deal_id, partner_roles in period.roles.items():
        if roles.isdisjoint(partner_roles):
            continue
        level = period.facts.deals[deal_id].independence
        rate = rates.of(level)
        rate_text = format_rate(rate)
        level_text = level.value.replace("_", "-")
        per_deal[deal_id] = (rate, rate_text, (f"deal {deal_id} run {level_text} -> {rate_text}",))
    rate_line = period.invoice_rate_line
    component_id, kind = component.id, component.kind
    lines: list[Earning] = []
    for invoice, fact_date, base in period.basis_invoices(paid):
        found = per_deal.get(invoice.deal_id or "")
        if found is not None:
            rate, rate_text, context = found
            lines.append(
                rate_line(
                    component_id, kind, noun, invoice, fact_date, base, rate, rate_text, context
                )
            )
    return lines
