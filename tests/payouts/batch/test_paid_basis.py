"""A paid-basis fee is earned when the invoice is paid, in the month of the payment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.batch import service as batch
from payouts.batch.models import DraftLine
from payouts.facts.ingest import ingest
from tests.payouts.program import Program

REVENUE_SHARE = {
    "kind": "referral_fee",
    "id": "revenue-share",
    "rate": "10%",
    "duration": "lifetime",
    "basis": "paid",
}


def pay(program: Program, invoice_id: str, amount: str, day: str) -> None:
    ingest(
        program.session,
        "payments",
        [
            {
                "id": program.next_id("PAY"),
                "invoice_id": invoice_id,
                "paid_date": day,
                "amount": amount,
                "currency": "USD",
            }
        ],
        actor="billing",
    )


def draft(session: Session, period: str) -> list[tuple[str, date, Decimal]]:
    rows = session.execute(
        select(DraftLine.source_fact, DraftLine.fact_date, DraftLine.amount_minor)
        .where(DraftLine.period == period, DraftLine.partner_id == "P-R")
        .order_by(DraftLine.line_no)
    ).all()
    return [(source, day, Decimal(minor).scaleb(-2)) for source, day, minor in rows]


def test_a_paid_basis_fee_follows_the_payments_month(session: Session) -> None:
    program = Program(session)
    plan = program.plan("referral", components=[REVENUE_SHARE])
    program.partner("P-R", plan, kind="referral")
    program.deal("P-R", "referral", day="2026-01-02", customer="C-1")
    paid_now = program.invoice(None, "100.00", "2026-01-10", customer="C-1")
    paid_later = program.invoice(None, "200.00", "2026-01-15", customer="C-1")
    program.invoice(None, "50.00", "2026-01-25", customer="C-1")  # never paid
    pay(program, paid_now, "60.00", "2026-01-18")
    pay(program, paid_now, "40.00", "2026-01-20")  # the last payment dates the line

    batch.run(session, "2026-01", actor="alice")
    assert draft(session, "2026-01") == [
        (f"invoice:{paid_now}", date(2026, 1, 20), Decimal("10.00")),
    ]

    program.close_month("2026-01")
    pay(program, paid_later, "200.00", "2026-02-05")
    batch.run(session, "2026-02", actor="alice")
    assert draft(session, "2026-02") == [
        (f"invoice:{paid_later}", date(2026, 2, 5), Decimal("20.00")),
    ]
