"""Clawbacks: reversing pay when a refund or cancellation happens inside the clawback window.

A closed statement is never edited: the reversal is a negative ``clawback``
line dated in the period where the refund or cancellation happens.

- Refund or credit note: when ``refund_date - invoice.issue_date`` is at most
  the window (the component's ``clawback_window_days`` when it has one, else
  the plan's), each component paid on that invoice is reversed pro rata:
  ``-paid x refund / invoice amount``, rounded once.
- Cancellation: a customer (or subscription) whose service ends on
  ``end_date`` will not receive the service billed on invoices issued on or
  after that date, so whatever was paid on those invoices is reversed in
  full, in the period containing ``end_date``. Such invoices are always
  inside the window (the window counts forward from the invoice's issue
  date, and the cancellation does not come after it). Invoices issued before
  the end date are for service delivered and are not clawed back; a partial
  credit for them arrives as a credit note, handled as a refund.

Outside the window nothing happens (no line). A clawback never takes back
more than the net paid on an (invoice, component): earlier clawbacks passed
as negative ``PaidEarning`` amounts, and those of this run, count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from plans.earnings import Earning
from plans.errors import InconsistentFacts, MissingFact
from plans.facts import Invoice, Refund
from plans.line_kinds import LineKind
from plans.period import Period, show

if TYPE_CHECKING:
    from plans.model import PlanVersion


@dataclass(slots=True)
class _Paid:
    gross: Decimal
    remaining: Decimal
    currency: str


def clawbacks(plan: PlanVersion, period: Period) -> list[Earning]:
    facts = period.facts
    if not facts.paid_earnings:
        return []
    windows: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for component in plan.components:
        window = getattr(component, "clawback_window_days", None)
        windows[component.id] = plan.clawback_window_days if window is None else window
        kinds[component.id] = component.kind
    paid = _paid_so_far(period)
    return [
        *_refund_clawbacks(plan, period, paid, windows, kinds),
        *_cancellation_clawbacks(period, paid, kinds),
    ]


def _paid_so_far(period: Period) -> dict[str, dict[str, _Paid]]:
    """Per invoice and component: the gross paid, and what remains after clawbacks."""
    paid: dict[str, dict[str, _Paid]] = {}
    for earning in period.facts.paid_earnings:
        per_component = paid.setdefault(earning.invoice_id, {})
        entry = per_component.get(earning.component_id)
        if entry is None:
            entry = per_component[earning.component_id] = _Paid(
                Decimal(0), Decimal(0), earning.currency
            )
        if earning.currency != entry.currency:
            raise InconsistentFacts(
                f"paid earnings of invoice {earning.invoice_id} / {earning.component_id} "
                f"are in several currencies ({entry.currency}, {earning.currency})"
            )
        if earning.amount > 0:
            entry.gross += earning.amount
        entry.remaining += earning.amount
    return paid


def _refund_clawbacks(
    plan: PlanVersion,
    period: Period,
    paid: dict[str, dict[str, _Paid]],
    windows: dict[str, int],
    kinds: dict[str, str],
) -> list[Earning]:
    """Pro rata reversals of the refunds dated in the period, inside their windows."""
    lines: list[Earning] = []
    refunds = sorted(
        (r for r in period.facts.refunds if period.in_period(r.refund_date)),
        key=lambda r: (r.refund_date, r.refund_id),
    )
    for refund in refunds:
        per_component = paid.get(refund.invoice_id)
        if not per_component:
            continue
        invoice = _refunded_invoice(period, refund)
        days = (refund.refund_date - invoice.issue_date).days
        refunded = min(refund.amount, invoice.amount)
        noun = "credit note" if refund.kind.value == "credit_note" else "refund"
        for component_id in sorted(per_component):
            entry = per_component[component_id]
            window = windows.get(component_id, plan.clawback_window_days)
            if days > window or entry.remaining <= 0 or entry.gross <= 0 or invoice.amount <= 0:
                continue
            share = entry.gross * refunded / invoice.amount
            limited = share > entry.remaining
            value = -(entry.remaining if limited else share)
            context = (
                f"{noun} {refund.refund_id} on {refund.refund_date.isoformat()} of "
                f"{show(refund.amount, refund.currency)} against invoice {invoice.invoice_id} "
                f"{show(invoice.amount, invoice.currency)} issued "
                f"{invoice.issue_date.isoformat()}: "
                f"{days} days, inside the {window}-day clawback window",
            )
            calculation = (
                f"reverse {show(entry.gross, entry.currency)} paid x "
                f"{show(refunded, refund.currency)} / {show(invoice.amount, invoice.currency)}"
            )
            if limited:
                calculation += (
                    f", limited to the {show(entry.remaining, entry.currency)} still paid"
                )
            line = _line(
                period,
                kinds,
                component_id,
                entry,
                invoice,
                value,
                calculation,
                context,
                source_fact=f"refund:{refund.refund_id}",
                fact_date=refund.refund_date,
                rate=refunded / invoice.amount,
            )
            entry.remaining += line.amount if entry.currency == period.currency else value
            lines.append(line)
    return lines


def _refunded_invoice(period: Period, refund: Refund) -> Invoice:
    """The refund's invoice, which must be supplied and in the refund's currency."""
    invoice = period.invoices_by_id.get(refund.invoice_id)
    if invoice is None:
        raise MissingFact(
            f"refund {refund.refund_id} is against invoice {refund.invoice_id}, "
            f"which was not supplied with the facts"
        )
    if refund.currency != invoice.currency:
        raise InconsistentFacts(
            f"refund {refund.refund_id} is in {refund.currency} but invoice "
            f"{invoice.invoice_id} is in {invoice.currency}"
        )
    return invoice


def _cancellation_clawbacks(
    period: Period, paid: dict[str, dict[str, _Paid]], kinds: dict[str, str]
) -> list[Earning]:
    """Full reversals of what was paid on invoices billing service a cancellation ends."""
    lines: list[Earning] = []
    cancellations = sorted(
        (c for c in period.facts.cancellations if period.in_period(c.end_date)),
        key=lambda c: (c.end_date, c.cancellation_id),
    )
    # Only invoices something was paid on can be clawed back: found once, in order.
    paid_invoices = sorted(
        (i for i in period.facts.invoices if i.invoice_id in paid) if cancellations else (),
        key=lambda i: (i.issue_date, i.invoice_id),
    )
    for cancellation in cancellations:
        affected = [
            i
            for i in paid_invoices
            if i.customer_id == cancellation.customer_id
            and i.issue_date >= cancellation.end_date
            and (
                cancellation.subscription_id is None
                or i.subscription_id == cancellation.subscription_id
            )
        ]
        scope = (
            f"subscription {cancellation.subscription_id}"
            if cancellation.subscription_id
            else f"customer {cancellation.customer_id}"
        )
        for invoice in affected:
            per_component = paid[invoice.invoice_id]
            for component_id in sorted(per_component):
                entry = per_component[component_id]
                if entry.remaining <= 0:
                    continue
                context = (
                    f"cancellation {cancellation.cancellation_id}: {scope} ends "
                    f"{cancellation.end_date.isoformat()}; invoice {invoice.invoice_id} issued "
                    f"{invoice.issue_date.isoformat()} bills service that will not be delivered",
                )
                calculation = f"reverse {show(entry.remaining, entry.currency)} still paid"
                value = -entry.remaining
                line = _line(
                    period,
                    kinds,
                    component_id,
                    entry,
                    invoice,
                    value,
                    calculation,
                    context,
                    source_fact=f"cancellation:{cancellation.cancellation_id}",
                    fact_date=cancellation.end_date,
                    rate=Decimal(1),
                )
                entry.remaining += line.amount if entry.currency == period.currency else value
                lines.append(line)
    return lines


def _line(
    period: Period,
    kinds: dict[str, str],
    component_id: str,
    entry: _Paid,
    invoice: Invoice,
    value: Decimal,
    calculation: str,
    context: tuple[str, ...],
    *,
    source_fact: str,
    fact_date: date,
    rate: Decimal,
) -> Earning:
    return period.line(
        component_id=component_id,
        component_kind=kinds.get(component_id, "unknown"),
        source_fact=source_fact,
        fact_date=fact_date,
        base_amount=entry.gross,
        base_currency=entry.currency,
        value=value,
        calculation=calculation,
        context=context,
        rate=rate,
        customer_id=invoice.customer_id,
        deal_id=invoice.deal_id,
        invoice_id=invoice.invoice_id,
        line_kind=LineKind.clawback,
    )
