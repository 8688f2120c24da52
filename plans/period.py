"""The calculation context of one partner's period: precomputed per-deal facts and the line builder.

Built once per ``calculate`` call so the per-invoice loop only does arithmetic.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING

from plans.earnings import Earning
from plans.facts import Deal, InfluenceKind, Invoice, PartnerFacts, Role
from plans.line_kinds import LineKind
from plans.money import LineRounding, Rounding, minor_quantum

if TYPE_CHECKING:
    from plans.model import PlanVersion

_INVOICE_ID = attrgetter("invoice_id")
_ISSUE_DATE = attrgetter("issue_date")
_DATE_AND_ID = itemgetter(0, 1)
_ROUNDING_TEXT = {Rounding.half_up: "half up", Rounding.half_even: "half even"}


def _grouped(amount: Decimal) -> str:
    """``f"{amount:,}"``, in half the time for amounts under a thousand (most lines):
    with at most three characters before the point there is nothing to group, and
    ``str()`` writes the same text as the format."""
    text = str(amount)
    point = text.find(".")
    if (point if point >= 0 else len(text)) <= 3:
        return text
    return f"{amount:,}"


def show(amount: Decimal, currency: str) -> str:
    """An amount for an explanation: at minor precision when exact there, else all its digits."""
    quantum = minor_quantum(currency)
    quantized = amount.quantize(quantum)
    if quantized == amount:
        return f"{_grouped(quantized)} {currency}"
    return f"{amount.normalize():,f} {currency}"


class Period:
    """One partner, one period, one plan version."""

    def __init__(self, plan: PlanVersion, facts: PartnerFacts) -> None:
        self.plan = plan
        self.facts = facts
        self.partner_id = facts.partner_id
        self.start = facts.period_start
        self.end = facts.period_end
        self.currency = facts.payout_currency
        self._plan_id = plan.plan_id
        self._version = plan.version
        self._round = LineRounding(facts.payout_currency, plan.rounding)
        self._rounding_text = _ROUNDING_TEXT[plan.rounding]
        self._fx_on_period_end = plan.fx_date == "period_end"
        self._fx_cache: dict[tuple[str, date], tuple[Decimal, str, str]] = {}

    # What follows is computed on first use: not every plan reads invoices (a deal
    # discount does not) nor roles (clawbacks do not), and it was a tenth of the time.

    @cached_property
    def roles(self) -> dict[str, frozenset[Role]]:
        """The partner's roles per deal, for the deals it holds one on."""
        return self._roles_and_influence[0]

    @cached_property
    def influence(self) -> dict[str, frozenset[InfluenceKind]]:
        """The partner's influence kinds per deal, for the deals it influenced."""
        return self._roles_and_influence[1]

    @cached_property
    def _roles_and_influence(
        self,
    ) -> tuple[dict[str, frozenset[Role]], dict[str, frozenset[InfluenceKind]]]:
        partner = self.partner_id
        roles: dict[str, frozenset[Role]] = {}
        influence: dict[str, frozenset[InfluenceKind]] = {}
        for deal_id, deal in self.facts.deals.items():
            own = [r for r in deal.roles if r.partner_id == partner]
            if not own:
                continue
            roles[deal_id] = frozenset(r.role for r in own)
            kinds = frozenset(
                r.influence_kind
                for r in own
                if r.role is Role.influence and r.influence_kind is not None
            )
            if kinds:
                influence[deal_id] = kinds
        return roles, influence

    @cached_property
    def invoices_by_id(self) -> dict[str, Invoice]:
        return {i.invoice_id: i for i in self.facts.invoices}

    @cached_property
    def _invoiced(self) -> list[tuple[Invoice, date, Decimal]]:
        start, end = self.start, self.end
        invoiced = [i for i in self.facts.invoices if start <= i.issue_date <= end]
        # By (date, id) in two stable sorts on one field each: the same order as one
        # sort on a (date, id) tuple, in half the time (no key tuple an invoice).
        invoiced.sort(key=_INVOICE_ID)
        invoiced.sort(key=_ISSUE_DATE)
        return [(i, i.issue_date, i.amount) for i in invoiced]

    @cached_property
    def _paid(self) -> list[tuple[Invoice, date, Decimal]]:
        start, end = self.start, self.end
        paid: list[tuple[date, str, Invoice, Decimal]] = []
        for i in self.facts.invoices:
            day, amount = i.paid_date, i.paid_amount
            if day is not None and amount is not None and start <= day <= end:
                paid.append((day, i.invoice_id, i, amount))
        paid.sort(key=_DATE_AND_ID)
        return [(i, day, amount) for day, _, i, amount in paid]

    def in_period(self, day: date) -> bool:
        return self.start <= day <= self.end

    @cached_property
    def deals_closed(self) -> list[Deal]:
        """Deals closed in the period, by (close date, id); several components read it."""
        deals = (d for d in self.facts.deals.values() if self.in_period(d.close_date))
        return sorted(deals, key=lambda d: (d.close_date, d.deal_id))

    def basis_invoices(self, paid: bool) -> list[tuple[Invoice, date, Decimal]]:
        """(invoice, fact date, base amount) for invoices whose basis date is in the period.

        Invoiced basis: issued in the period, on the invoice amount; paid basis:
        paid in the period, on the paid amount. Ordered by (date, invoice id).
        """
        return self._paid if paid else self._invoiced

    def fx(self, currency: str, fact_date: date) -> tuple[Decimal, str, str]:
        """(rate, source, text) converting ``currency`` to the payout currency."""
        on = self.end if self._fx_on_period_end else fact_date
        key = (currency, on)
        cached = self._fx_cache.get(key)
        if cached is None:
            fx = self.facts.fx(currency, self.currency, on)
            text = (
                f"{fx.rate.normalize():f} {self.currency} per {currency} "
                f"({fx.source}, {fx.on.isoformat()})"
            )
            cached = (fx.rate, fx.source, text)
            self._fx_cache[key] = cached
        return cached

    def line(
        self,
        *,
        component_id: str,
        component_kind: str,
        source_fact: str,
        fact_date: date,
        base_amount: Decimal,
        base_currency: str,
        value: Decimal,
        calculation: str,
        context: tuple[str, ...] = (),
        rate: Decimal | None = None,
        fixed_amount: Decimal | None = None,
        customer_id: str | None = None,
        deal_id: str | None = None,
        invoice_id: str | None = None,
        line_kind: LineKind = LineKind.earning,
        payable: bool = True,
    ) -> Earning:
        """Build a line: convert ``value`` to the payout currency and round it, once.

        ``calculation`` is the last step without its result, e.g.
        ``"invoice INV-1 10,000.00 USD x 8%"``; the result, the FX step and the
        rounding step are appended here so every line explains them the same way.
        """
        payout = self.currency
        fx_rate: Decimal | None = None
        fx_source: str | None = None
        if base_currency == payout:
            unrounded = value
            amount = self._round(unrounded)
            steps = (*context, f"{calculation} = {self._result(unrounded, amount)}")
        else:
            fx_rate, fx_source, fx_text = self.fx(base_currency, fact_date)
            unrounded = value * fx_rate
            amount = self._round(unrounded)
            steps = (
                *context,
                f"{calculation} = {show(value, base_currency)}",
                f"converted at {fx_text} = {self._result(unrounded, amount)}",
            )
        if not amount:
            amount = abs(amount)  # no "-0.00" on a statement
        return Earning(
            self.partner_id,
            self._plan_id,
            self._version,
            component_id,
            component_kind,
            line_kind,
            payable,
            source_fact,
            fact_date,
            customer_id,
            deal_id,
            invoice_id,
            base_amount,
            base_currency,
            rate,
            fixed_amount,
            fx_rate,
            fx_source,
            payout,
            unrounded,
            amount,
            steps,
        )

    def _result(self, unrounded: Decimal, amount: Decimal) -> str:
        """``"800.00 USD"``, or ``"800.0296 USD, rounded half up to 800.03 USD"``."""
        if amount == unrounded:
            return f"{_grouped(amount)} {self.currency}"
        return (
            f"{show(unrounded, self.currency)}, rounded {self._rounding_text} to "
            f"{_grouped(amount)} {self.currency}"
        )

    def invoice_rate_line(
        self,
        component_id: str,
        component_kind: str,
        noun: str,
        invoice: Invoice,
        fact_date: date,
        base: Decimal,
        rate: Decimal,
        rate_text: str,
        context: tuple[str, ...],
    ) -> Earning:
        """The hot path: ``rate x invoice`` for one invoice; same result as ``line()``.

        Invoices in the payout currency are built inline (no keyword call, one
        f-string); others go through ``line()`` for the FX step.
        """
        invoice_id = invoice.invoice_id
        currency = invoice.currency
        if currency != self.currency:
            return self.line(
                component_id=component_id,
                component_kind=component_kind,
                source_fact=f"invoice:{invoice_id}",
                fact_date=fact_date,
                base_amount=base,
                base_currency=currency,
                value=base * rate,
                calculation=f"{noun} {invoice_id} {_grouped(base)} {currency} x {rate_text}",
                context=context,
                rate=rate,
                customer_id=invoice.customer_id,
                deal_id=invoice.deal_id,
                invoice_id=invoice_id,
            )
        unrounded = base * rate
        amount = self._round(unrounded)
        if not amount:
            amount = abs(amount)
        base_text = _grouped(base)
        if amount == unrounded:
            step = (
                f"{noun} {invoice_id} {base_text} {currency} x {rate_text} = "
                f"{_grouped(amount)} {currency}"
            )
        else:
            step = (
                f"{noun} {invoice_id} {base_text} {currency} x {rate_text} = "
                f"{_grouped(unrounded)} {currency}, rounded {self._rounding_text} to "
                f"{_grouped(amount)} {currency}"
            )
        return Earning(
            self.partner_id,
            self._plan_id,
            self._version,
            component_id,
            component_kind,
            LineKind.earning,
            True,
            "invoice:" + invoice_id,
            fact_date,
            invoice.customer_id,
            invoice.deal_id,
            invoice_id,
            base,
            currency,
            rate,
            None,
            None,
            None,
            currency,
            unrounded,
            amount,
            (*context, step),
        )
