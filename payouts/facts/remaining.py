"""What remains of an invoice to be paid, and to be refunded: checked under a lock.

An invoice's payments never add up to more than its amount, nor do its refunds and
credit notes. Checking what remains and then inserting is a race: four concurrent
100.00 refunds of a 100.00 invoice each saw 100.00 remaining, and all were stored. So
the check and the insert happen under a lock on the invoice:

- on PostgreSQL, transaction-level advisory locks taken by `lock_invoice_money(ids)`
  (migration 0012), which the database's own trigger takes too before it refuses an
  insert past the amount. Advisory locks need no privilege on the tables, unlike
  `SELECT ... FOR UPDATE` on invoices (which needs UPDATE, and the service's role has
  none); they are taken in one order, so two imports never deadlock;
- on SQLite every writing transaction already holds the database's write lock from its
  BEGIN IMMEDIATE (`payouts.db`), so nothing else can insert in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from payouts.facts import models as m
from payouts.facts.repository import chunks
from plans.money import from_minor


def lock_invoices(session: Session, invoice_ids: Iterable[str]) -> None:
    """Hold, until the transaction ends, the lock on these invoices' payments and refunds."""
    ids = sorted(set(invoice_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT lock_invoice_money(:ids)"), {"ids": ids})


class Remaining:
    """Each invoice's amount, currency and date, and what is already paid or refunded.

    Read after `lock_invoices`; `take` then counts each accepted fact, so the facts of
    one batch are checked against each other too."""

    def __init__(self, session: Session, kind: str, invoice_ids: set[str]) -> None:
        self.kind = kind
        model = m.Refund if kind == "refunds" else m.Payment
        self.invoices: dict[str, tuple[int, str, date]] = {}
        self.taken: dict[str, int] = {}
        for chunk in chunks(invoice_ids):
            invoices = select(
                m.Invoice.id, m.Invoice.amount_minor, m.Invoice.currency, m.Invoice.issue_date
            ).where(m.Invoice.id.in_(chunk))
            for ident, amount, currency, issued in session.execute(invoices):
                self.invoices[ident] = (amount, currency, issued)
            for ident, total in session.execute(
                select(model.invoice_id, func.sum(model.amount_minor))
                .where(model.invoice_id.in_(chunk))
                .group_by(model.invoice_id)
            ):
                self.taken[ident] = int(total)

    def take(self, record: Any, amount_minor: int) -> list[str]:
        """The problems of a new payment or refund; none means it is counted as taken."""
        invoice = self.invoices.get(record.invoice_id)
        if invoice is None:
            return []  # reported as an unknown invoice
        amount, currency, issued = invoice
        if record.currency != currency:
            return [f"currency {record.currency} differs from invoice currency {currency}"]
        problems = []
        day: date = record.refund_date if self.kind == "refunds" else record.paid_date
        if day < issued:
            problems.append(f"{self.kind[:-1]} date {day} is before the invoice date {issued}")
        remaining = amount - self.taken.get(record.invoice_id, 0)
        if amount_minor > remaining:
            what = "refunded" if self.kind == "refunds" else "paid"
            problems.append(
                f"amount {record.amount} {currency} is more than what remains to be {what} "
                f"on invoice {record.invoice_id} ({from_minor(remaining, currency)} {currency})"
            )
        if not problems:
            self.taken[record.invoice_id] = self.taken.get(record.invoice_id, 0) + amount_minor
        return problems
