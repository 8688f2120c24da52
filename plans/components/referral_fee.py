"""referral_fee: back-end commission to the partner that referred a customer.

A rate of the invoice or a fixed bounty, for one of three durations:
``one_off`` (the customer's first invoice only), ``first_n_months`` (invoices
issued within N months of the customer's first invoice) or ``lifetime``
(every invoice while the customer stays: an invoice issued on or after a
cancellation's end date earns nothing). An optional cap per customer limits
the total (``CustomerHistory.referral_paid_to_date`` counts what was paid in
earlier periods); the line where the cap bites says so.

The partner is paid on an invoice when it holds the ``referral`` role on the
invoice's deal or, for invoices without a deal (subscription renewals), on any
deal of the same customer: `plans.attribution.referral_pays_on`.
"""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from plans.attribution import referral_pays_on
from plans.calendar import add_months
from plans.components.terms import Amount, Basis, ComponentBase, Problems, Rate
from plans.earnings import Earning
from plans.facts import CustomerHistory, Invoice, Role
from plans.money import format_rate, round_money
from plans.period import Period, show


class Duration(enum.StrEnum):
    one_off = "one_off"
    first_n_months = "first_n_months"
    lifetime = "lifetime"


class ReferralFee(ComponentBase):
    kind: Literal["referral_fee"] = "referral_fee"
    rate: Rate | None = None
    fixed_amount: Amount | None = None
    duration: Duration = Duration.lifetime
    months: Annotated[int, Field(ge=1, le=240)] | None = None
    cap: Amount | None = None
    basis: Basis = Basis.invoiced
    clawback_window_days: Annotated[int, Field(ge=0, le=3660)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[tuple[str, str]] = []
        if (self.rate is None) == (self.fixed_amount is None):
            problems.append(("rate", "give exactly one of rate or fixed_amount"))
        if self.duration is Duration.first_n_months and self.months is None:
            problems.append(("months", "months is required when duration is first_n_months"))
        if self.duration is not Duration.first_n_months and self.months is not None:
            problems.append(("months", "months is only allowed when duration is first_n_months"))
        if problems:
            raise Problems(problems)
        return self


def _first_invoices(period: Period, customers: set[str]) -> dict[str, tuple[date, str]]:
    """Per customer, the earliest (issue date, invoice id) among the supplied invoices."""
    first: dict[str, tuple[date, str]] = {}
    for invoice in period.facts.invoices:
        if invoice.customer_id not in customers:
            continue
        key = (invoice.issue_date, invoice.invoice_id)
        current = first.get(invoice.customer_id)
        if current is None or key < current:
            first[invoice.customer_id] = key
    return first


def _ends(period: Period) -> tuple[dict[str, date], dict[tuple[str, str], date]]:
    """Earliest end date per customer, and per (customer, subscription)."""
    by_customer: dict[str, date] = {}
    for history in period.facts.customers.values():
        if history.cancelled_on is not None:
            by_customer[history.customer_id] = history.cancelled_on
    by_subscription: dict[tuple[str, str], date] = {}
    for cancellation in period.facts.cancellations:
        if cancellation.subscription_id is None:
            current = by_customer.get(cancellation.customer_id)
            if current is None or cancellation.end_date < current:
                by_customer[cancellation.customer_id] = cancellation.end_date
        else:
            key = (cancellation.customer_id, cancellation.subscription_id)
            current = by_subscription.get(key)
            if current is None or cancellation.end_date < current:
                by_subscription[key] = cancellation.end_date
    return by_customer, by_subscription


def _ended(
    invoice: Invoice, by_customer: dict[str, date], by_subscription: dict[tuple[str, str], date]
) -> bool:
    end = by_customer.get(invoice.customer_id)
    if end is not None and invoice.issue_date >= end:
        return True
    if invoice.subscription_id is not None:
        sub_end = by_subscription.get((invoice.customer_id, invoice.subscription_id))
        if sub_end is not None and invoice.issue_date >= sub_end:
            return True
    return False


def earn(component: ReferralFee, period: Period) -> list[Earning]:
    facts = period.facts
    referral_deals = {d for d, roles in period.roles.items() if Role.referral in roles}
    if not referral_deals:
        return []
    referred = {facts.deals[d].customer_id for d in referral_deals}
    by_customer, by_subscription = _ends(period)
    candidates = [
        (invoice, fact_date, base)
        for invoice, fact_date, base in period.basis_invoices(component.basis is Basis.paid)
        if referral_pays_on(invoice, referral_deals, referred)
    ]
    if not candidates:
        return []
    first_invoices = _first_invoices(period, referred)
    noun = "paid invoice" if component.basis is Basis.paid else "invoice"
    paid_this_run: dict[str, Decimal] = {}
    one_off_paid: set[str] = set()
    term = _TERMS[component.duration].format(months=component.months)
    rate_text = format_rate(component.rate) if component.rate is not None else ""
    contexts: dict[str, tuple[str, ...]] = {}
    lines: list[Earning] = []
    for invoice, fact_date, base in candidates:
        customer = invoice.customer_id
        if _ended(invoice, by_customer, by_subscription):
            continue
        history = facts.customers.get(customer)
        if not _in_term(component, invoice, history, first_invoices, one_off_paid):
            continue
        context = contexts.get(customer)
        if context is None:
            context = contexts[customer] = (f"customer {customer} referred ({term})",)
        line = _fee(component, period, invoice, fact_date, base, noun, rate_text, context)
        if component.cap is not None:
            capped = _capped(component.cap, period, line, customer, history, paid_this_run)
            if capped is None:
                continue  # the cap was reached on an earlier line, which said so
            line = capped
        lines.append(line)
    return lines


_TERMS = {
    Duration.one_off: "one-off: the customer's first invoice",
    Duration.first_n_months: "first {months} months of the customer",
    Duration.lifetime: "lifetime, while the customer stays",
}


def _in_term(
    component: ReferralFee,
    invoice: Invoice,
    history: CustomerHistory | None,
    first_invoices: dict[str, tuple[date, str]],
    one_off_paid: set[str],
) -> bool:
    """Whether the invoice falls in the referral's duration (a one-off is taken here)."""
    customer = invoice.customer_id
    first_day: date | None = history.first_invoice_date if history else None
    first_id: str | None = history.first_invoice_id if history else None
    if first_day is None:
        first_day, first_id = first_invoices[customer]
    if component.duration is Duration.one_off:
        if customer in one_off_paid or (history and history.referral_paid_to_date > 0):
            return False
        if first_id is not None:
            if invoice.invoice_id != first_id:
                return False
        elif invoice.issue_date != first_day:
            return False
        one_off_paid.add(customer)
    elif component.duration is Duration.first_n_months:
        assert component.months is not None
        until = add_months(first_day, component.months)
        if invoice.issue_date >= until:
            return False
    return True


def _fee(
    component: ReferralFee,
    period: Period,
    invoice: Invoice,
    fact_date: date,
    base: Decimal,
    noun: str,
    rate_text: str,
    context: tuple[str, ...],
) -> Earning:
    """The fee on one invoice: its rate of the invoice, or the fixed bounty."""
    if component.rate is not None:
        return period.invoice_rate_line(
            component.id,
            component.kind,
            noun,
            invoice,
            fact_date,
            base,
            component.rate,
            rate_text,
            context,
        )
    fixed = component.fixed_amount
    assert fixed is not None
    return period.line(
        component_id=component.id,
        component_kind=component.kind,
        source_fact=f"invoice:{invoice.invoice_id}",
        fact_date=fact_date,
        base_amount=fixed,
        base_currency=period.plan.currency,
        value=fixed,
        calculation=f"fixed referral fee for {noun} {invoice.invoice_id}",
        context=context,
        fixed_amount=fixed,
        customer_id=invoice.customer_id,
        deal_id=invoice.deal_id,
        invoice_id=invoice.invoice_id,
    )


def _capped(
    cap: Decimal,
    period: Period,
    line: Earning,
    customer: str,
    history: CustomerHistory | None,
    paid_this_run: dict[str, Decimal],
) -> Earning | None:
    """The line within the customer's cap (None once the cap is reached); counts it."""
    if period.plan.currency != period.currency:
        fx_rate, _, _ = period.fx(period.plan.currency, line.fact_date)
        cap = round_money(cap * fx_rate, period.currency, period.plan.rounding)
    before = (history.referral_paid_to_date if history else Decimal(0)) + (
        paid_this_run.get(customer, Decimal(0))
    )
    remaining = cap - before
    if remaining <= 0:
        return None
    if line.amount > remaining:
        line = line._replace(
            unrounded=remaining,
            amount=round_money(remaining, period.currency, period.plan.rounding),
            explanation=(
                *line.explanation,
                f"capped at {show(cap, period.currency)} per customer: "
                f"{show(before, period.currency)} already paid -> "
                f"{show(remaining, period.currency)}",
            ),
        )
    paid_this_run[customer] = paid_this_run.get(customer, Decimal(0)) + line.amount
    return line
