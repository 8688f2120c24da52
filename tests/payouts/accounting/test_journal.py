"""The journal of a closed month: treatments, payouts, failures, determinism."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from payouts.accounting.chart import load_chart
from payouts.accounting.journal import journal
from payouts.accounting.sources import MonthNotClosed
from payouts.batch import payments
from payouts.batch.models import PayoutInstruction
from tests.payouts.accounting.books import (
    assert_balanced_and_tied,
    capitalised_referral_month,
    referral_plan,
)
from tests.payouts.program import Program

CHART = load_chart()
A = CHART.accounts


def postings(made: object, kind: str) -> list[tuple[str, int, int]]:
    return [
        (p.account.code, p.debit_minor, p.credit_minor)
        for e in made.entries  # type: ignore[attr-defined]
        if e.kind == kind
        for p in e.postings
    ]


def test_a_capitalised_referral_fee_is_an_asset_and_the_revenue_share_an_expense(
    session: Session,
) -> None:
    capitalised_referral_month(session)
    made = journal(session, "2026-01", CHART)
    assert_balanced_and_tied(session, made, CHART)
    referral_fees = CHART.component_kinds["referral_fee"].expense
    assert referral_fees is not None
    assert sorted(postings(made, "accrual")) == sorted(
        [
            (A.capitalised_costs.code, 250_00, 0),
            (referral_fees.code, 10_00, 0),
            (A.accrued_commissions_payable.code, 0, 260_00),
        ]
    )
    # 250.00 over 7 months, the first month's share: floor(25000 / 7) = 3571.
    assert sorted(postings(made, "amortisation")) == sorted(
        [(A.amortisation_expense.code, 35_71, 0), (A.capitalised_costs.code, 0, 35_71)]
    )
    assert postings(made, "payouts") == [
        (A.accrued_commissions_payable.code, 260_00, 0),
        (A.partner_payables.code, 0, 260_00),
    ]
    assert postings(made, "payout_file") == [
        (A.partner_payables.code, 260_00, 0),
        (A.bank_clearing.code, 0, 260_00),
    ]
    assert {e.day.isoformat() for e in made.entries} == {"2026-01-31"}


def test_contra_revenue_and_the_practical_expedient_book_where_they_say(session: Session) -> None:
    program = Program(session)
    plan = program.plan_document(
        referral_plan(
            **{
                "signing-bounty": {
                    "treatment": "capitalise",
                    "months": 12,
                    "practical_expedient": True,
                },
                "revenue-share": {"treatment": "contra_revenue"},
            }
        )
    )
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    made = journal(session, "2026-01", CHART)
    assert_balanced_and_tied(session, made, CHART)
    referral_fees = CHART.component_kinds["referral_fee"].expense
    assert referral_fees is not None
    assert sorted(postings(made, "accrual")) == sorted(
        [
            (referral_fees.code, 250_00, 0),  # expensed at once under the expedient
            (A.contra_revenue.code, 10_00, 0),
            (A.accrued_commissions_payable.code, 0, 260_00),
        ]
    )
    assert postings(made, "amortisation") == []


def test_clawbacks_reverse_and_a_failed_payout_returns_through_bank_clearing(
    session: Session,
) -> None:
    program = Program(session)
    plan = program.plan("referral")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    invoice = program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    payout = session.query(PayoutInstruction).filter_by(period="2026-01").one()
    payments.mark_paid(
        session,
        "2026-01",
        [{"end_to_end_id": payout.end_to_end_id, "status": "failed", "reason": "closed account"}],
        actor="bob",
    )
    program.refund(invoice, "100.00", "2026-02-03")
    program.invoice(None, "50.00", "2026-01-20", customer="C-2")  # late: an adjustment
    program.close_month("2026-02")

    made = journal(session, "2026-02", CHART)
    assert_balanced_and_tied(session, made, CHART)
    kinds = [e.kind for e in made.entries]
    assert "clawback" in kinds
    assert "prior_period_adjustment" in kinds
    adjustment = next(e for e in made.entries if e.kind == "prior_period_adjustment")
    assert "prior-period adjustment for 2026-01" in adjustment.narration
    assert postings(made, "payout_reversal") == [
        (A.bank_clearing.code, 260_00, 0),
        (A.accrued_commissions_payable.code, 0, 260_00),
    ]


def test_the_same_month_gives_the_same_bytes_and_an_open_month_has_no_journal(
    session: Session,
) -> None:
    capitalised_referral_month(session)
    first = journal(session, "2026-01", CHART).to_json()
    assert journal(session, "2026-01", CHART).to_json() == first
    assert b'"close_hash"' in first
    with pytest.raises(MonthNotClosed):
        journal(session, "2026-02", CHART)


def test_a_treatment_changes_where_a_line_is_booked_never_what_it_is_worth(
    session: Session,
) -> None:
    program = Program(session)
    plain = program.plan("referral")
    document = referral_plan(
        **{
            "signing-bounty": {"treatment": "capitalise", "months": 36},
            "revenue-share": {"treatment": "contra_revenue"},
        }
    )
    treated = program.plan_document({**document, "plan_id": "referral-treated"})
    for partner, plan, customer in (("P-1", plain, "C-1"), ("P-2", treated, "C-2")):
        program.partner(partner, plan, kind="referral")
        program.deal(partner, "referral", day="2026-01-02", customer=customer)
        invoice = program.invoice(None, "1234.56", "2026-01-15", customer=customer)
        program.refund(invoice, "234.56", "2026-01-20")
    program.close_month("2026-01")

    def worth(partner: str) -> list[tuple[object, ...]]:
        return [
            (e.entry_kind, e.component_id, e.rate, e.unrounded, e.amount_minor, e.currency)
            for e in program.entries(partner, "2026-01")
        ]

    assert worth("P-1") == worth("P-2")
    assert len(worth("P-1")) >= 3
