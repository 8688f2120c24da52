"""A small partner program built through the real services, for scenario tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts import ledger, plan_book
from payouts.batch import service as batch
from payouts.facts.ingest import ingest
from payouts.ledger import LedgerEntry
from plans.loading import load_plan, parse_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "plans" / "examples"


class Program:
    """Facts and plans for one test, with short verbs for the scenario's steps."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._n = 0
        ingest(
            session,
            "customers",
            [{"id": f"C-{n}", "name": f"Customer {n}"} for n in range(1, 6)],
            actor="crm",
        )

    def next_id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._n}"

    def plan(self, name: str, **changes: Any) -> str:
        plan = load_plan(EXAMPLES / f"{name}.yaml")
        if changes:
            plan = parse_plan({**plan.canonical(), **changes})
        return plan_book.save(self.session, plan, actor="finance").record.plan_id

    def plan_document(self, document: dict[str, Any]) -> str:
        return plan_book.save(self.session, parse_plan(document), actor="finance").record.plan_id

    def partner(
        self,
        ident: str,
        plan_id: str | None = None,
        *,
        currency: str = "USD",
        kind: str = "reseller",
        status: str = "active",
        since: str = "2026-01-01",
        **extra: Any,
    ) -> str:
        ingest(
            self.session,
            "partners",
            [
                {
                    "id": ident,
                    "name": f"Partner {ident}",
                    "type": kind,
                    "payout_currency": currency,
                    "status": status,
                    **extra,
                }
            ],
            actor="crm",
        )
        if plan_id:
            self.assign(ident, plan_id, since)
        return ident

    def assign(
        self, partner_id: str | None, plan_id: str, since: str, until: str | None = None
    ) -> None:
        plan_book.assign(
            self.session,
            plan_id=plan_id,
            partner_id=partner_id,
            effective_from=date.fromisoformat(since),
            effective_to=date.fromisoformat(until) if until else None,
            actor="finance",
        )

    def deal(
        self,
        partner_id: str,
        role: str,
        *,
        list_amount: str = "100.00",
        net: str | None = None,
        day: str = "2026-01-10",
        customer: str = "C-1",
        currency: str = "USD",
        independence: str = "vendor_led",
        rep: str | None = None,
        deal_id: str | None = None,
    ) -> str:
        deal_id = deal_id or self.next_id("D")
        record: dict[str, Any] = {
            "id": deal_id,
            "customer_id": customer,
            "list_amount": list_amount,
            "net_amount": net or list_amount,
            "currency": currency,
            "close_date": day,
            "independence": independence,
        }
        if rep:
            record["owner_rep_id"] = rep
        ingest(self.session, "deals", [record], actor="crm")
        ingest(
            self.session,
            "deal_roles",
            [
                {
                    "id": f"{deal_id}-{partner_id}",
                    "deal_id": deal_id,
                    "partner_id": partner_id,
                    "role": role,
                }
            ],
            actor="crm",
        )
        return deal_id

    def invoice(
        self,
        deal_id: str | None,
        amount: str,
        day: str,
        *,
        customer: str = "C-1",
        currency: str = "USD",
    ) -> str:
        invoice_id = self.next_id("INV")
        ingest(
            self.session,
            "invoices",
            [
                {
                    "id": invoice_id,
                    "customer_id": customer,
                    "deal_id": deal_id,
                    "issue_date": day,
                    "amount": amount,
                    "currency": currency,
                }
            ],
            actor="billing",
        )
        return invoice_id

    def refund(self, invoice_id: str, amount: str, day: str, currency: str = "USD") -> str:
        refund_id = self.next_id("R")
        ingest(
            self.session,
            "refunds",
            [
                {
                    "id": refund_id,
                    "invoice_id": invoice_id,
                    "refund_date": day,
                    "amount": amount,
                    "currency": currency,
                }
            ],
            actor="billing",
        )
        return refund_id

    def cancel(self, customer: str, day: str) -> None:
        ingest(
            self.session,
            "cancellations",
            [{"id": self.next_id("X"), "customer_id": customer, "end_date": day}],
            actor="billing",
        )

    def fx(self, day: str, from_ccy: str, to_ccy: str, rate: str) -> None:
        ingest(
            self.session,
            "fx_rates",
            [
                {
                    "id": self.next_id("FX"),
                    "date": day,
                    "from_currency": from_ccy,
                    "to_currency": to_ccy,
                    "rate": rate,
                    "source": "ECB",
                }
            ],
            actor="finance",
        )

    def close_month(self, period: str) -> batch.CloseResult:
        batch.run(self.session, period, actor="alice")
        batch.approve(self.session, period, actor="bob")
        return batch.close(self.session, period, actor="bob")

    def entries(self, partner_id: str, period: str | None = None) -> list[LedgerEntry]:
        query = select(LedgerEntry).where(LedgerEntry.partner_id == partner_id)
        if period:
            query = query.where(LedgerEntry.period == period)
        return list(self.session.scalars(query.order_by(LedgerEntry.period, LedgerEntry.line_no)))

    def amounts(
        self, partner_id: str, period: str | None = None, kind: str | None = None
    ) -> list[Decimal]:
        return [
            Decimal(e.amount_minor).scaleb(-2)
            for e in self.entries(partner_id, period)
            if kind is None or e.entry_kind == kind
        ]

    def balance(self, partner_id: str) -> Decimal:
        return Decimal(ledger.balance(self.session, partner_id)).scaleb(-2)
