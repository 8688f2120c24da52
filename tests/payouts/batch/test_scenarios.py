"""The monthly batch, scenario by scenario, on the real database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts import tiers
from payouts.batch import service as batch
from payouts.batch.errors import (
    BatchNotApproved,
    DraftChanged,
    MakerCheckerViolation,
    PeriodClosed,
)
from payouts.batch.models import DraftLine, PayoutInstruction
from tests.payouts.program import Program

D = Decimal


@pytest.fixture
def program(session: Session) -> Program:
    return Program(session)


def test_a_gold_partners_closed_10000_deal_earns_800(program: Program) -> None:
    plan = program.plan("tiered_reseller")
    program.partner("P-GOLD", plan, since="2025-01-01")
    big = program.deal("P-GOLD", "sourced", list_amount="120000.00", day="2026-01-05")
    program.invoice(big, "120000.00", "2026-01-05")
    program.close_month("2026-01")
    program.close_month("2026-02")
    program.close_month("2026-03")
    tiers.evaluate(program.session, "2026-03", actor="finance")
    deal = program.deal("P-GOLD", "sourced", list_amount="10000.00", day="2026-04-10")
    program.invoice(deal, "10000.00", "2026-04-10")
    program.close_month("2026-04")
    [line] = program.entries("P-GOLD", "2026-04")[:1]
    assert line.amount_minor == 80000
    assert line.rate == "0.08"
    assert "tier Gold" in line.explanation
    assert line.plan_label is not None
    assert line.plan_label.startswith("tiered-reseller@v1#")


def test_lifetime_referral_pays_ten_dollars_on_each_of_twelve_monthly_invoices(
    program: Program,
) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    for month in range(1, 13):
        program.invoice(None, "100.00", f"2026-{month:02d}-15", customer="C-2")
    for month in range(1, 13):
        program.close_month(f"2026-{month:02d}")
    share = [e for e in program.entries("P-REF") if e.component_id == "revenue-share"]
    assert [e.amount_minor for e in share] == [1000] * 12
    assert [e.period for e in share] == [f"2026-{m:02d}" for m in range(1, 13)]
    bounty = [e for e in program.entries("P-REF") if e.component_id == "signing-bounty"]
    assert [e.amount_minor for e in bounty] == [25000]


def test_lifetime_referral_stops_when_the_customer_cancels(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    program.cancel("C-2", "2026-02-01")
    program.invoice(None, "100.00", "2026-02-15", customer="C-2")
    program.close_month("2026-02")
    share = [e for e in program.entries("P-REF") if e.component_id == "revenue-share"]
    assert sum(e.amount_minor for e in share) == 1000


def test_a_refund_two_months_later_claws_back_in_its_own_month(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    invoice = program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    program.close_month("2026-02")
    january = [e.amount_minor for e in program.entries("P-REF", "2026-01")]
    program.refund(invoice, "100.00", "2026-03-10")
    program.close_month("2026-03")
    march = program.entries("P-REF", "2026-03")
    clawbacks = {e.component_id: e for e in march if e.entry_kind == "clawback"}
    # A full refund inside the 60-day window reverses both the share and the bounty.
    assert clawbacks["revenue-share"].amount_minor == -1000
    assert clawbacks["signing-bounty"].amount_minor == -25000
    assert clawbacks["revenue-share"].source_fact.startswith("refund:")
    assert "inside the" in clawbacks["revenue-share"].explanation
    assert [e.amount_minor for e in program.entries("P-REF", "2026-01")] == january


def test_a_partial_refund_claws_back_pro_rata(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    invoice = program.invoice(None, "300.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    program.refund(invoice, "100.00", "2026-02-10")
    program.close_month("2026-02")
    clawback = [e for e in program.entries("P-REF", "2026-02") if e.entry_kind == "clawback"]
    assert [e.amount_minor for e in clawback if e.component_id == "revenue-share"] == [-1000]


def test_a_balance_under_the_minimum_is_carried_forward_then_paid(program: Program) -> None:
    plan = program.plan(
        "referral",
        minimum_payout="25.00",
        components=[
            {"kind": "referral_fee", "id": "revenue-share", "rate": "10%", "duration": "lifetime"}
        ],
    )
    program.partner("P-SMALL", plan, kind="referral")
    program.deal("P-SMALL", "referral", day="2026-01-02", customer="C-3")
    program.invoice(None, "100.00", "2026-01-15", customer="C-3")
    january = program.close_month("2026-01")
    assert january.held == {"P-SMALL": "below the minimum payout 25.00 USD"}
    assert program.balance("P-SMALL") == D("10.00")
    program.invoice(None, "200.00", "2026-02-15", customer="C-3")
    february = program.close_month("2026-02")
    assert february.payable == {"USD": 3000}
    assert program.amounts("P-SMALL", "2026-02", "payout") == [D("-30.00")]
    assert program.balance("P-SMALL") == 0


def test_a_negative_balance_after_a_large_clawback_is_carried_forward(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-NEG", plan, kind="referral")
    program.deal("P-NEG", "referral", day="2026-01-02", customer="C-4")
    invoice = program.invoice(None, "1000.00", "2026-01-15", customer="C-4")
    program.close_month("2026-01")
    assert program.balance("P-NEG") == 0  # paid out in January
    program.refund(invoice, "1000.00", "2026-02-05")
    february = program.close_month("2026-02")
    assert february.held["P-NEG"] == "negative balance carried forward"
    assert program.balance("P-NEG") == D("-350.00")
    assert (
        program.session.scalars(
            select(PayoutInstruction).where(PayoutInstruction.period == "2026-02")
        ).all()
        == []
    )


def test_a_late_invoice_for_a_closed_month_lands_as_an_adjustment(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-LATE", plan, kind="referral")
    program.deal("P-LATE", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    before = [(e.period, e.line_no, e.amount_minor) for e in program.entries("P-LATE")]
    program.invoice(None, "50.00", "2026-01-28", customer="C-2")  # arrives after close
    program.close_month("2026-02")
    after = [(e.period, e.line_no, e.amount_minor) for e in program.entries("P-LATE")]
    assert after[: len(before)] == before
    adjustments = [e for e in program.entries("P-LATE", "2026-02") if e.entry_kind == "adjustment"]
    assert [(e.prior_period, e.amount_minor) for e in adjustments] == [("2026-01", 500)]


def test_a_plan_change_mid_month_splits_the_month(program: Program) -> None:
    document = program.plan("referral", minimum_payout="0")
    from payouts import plan_book
    from plans.loading import parse_plan

    first = plan_book.get(program.session, document).document
    second = {
        **first,
        "effective_from": "2026-03-16",
        "components": [
            {"kind": "referral_fee", "id": "revenue-share", "rate": "20%", "duration": "lifetime"}
        ],
    }
    plan_book.save(program.session, parse_plan(second), actor="finance")
    program.partner("P-MID", document, kind="referral")
    program.deal("P-MID", "referral", day="2026-03-01", customer="C-2")
    program.invoice(None, "100.00", "2026-03-10", customer="C-2")
    program.invoice(None, "100.00", "2026-03-20", customer="C-2")
    program.close_month("2026-03")
    share = {
        e.fact_date.day: (e.amount_minor, e.plan_label)
        for e in program.entries("P-MID")
        if e.component_id == "revenue-share"
    }
    assert share[10][0] == 1000
    assert share[10][1].startswith("referral@v1#")
    assert share[20][0] == 2000
    assert share[20][1].startswith("referral@v2#")


def test_rerunning_a_draft_gives_identical_lines_and_voids_the_approval(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-1", plan, kind="referral")
    program.deal("P-1", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    first = batch.run(program.session, "2026-01", actor="alice")
    lines = program.session.scalars(select(DraftLine.explanation)).all()
    batch.approve(program.session, "2026-01", actor="bob")
    second = batch.run(program.session, "2026-01", actor="alice")
    assert second.draft_hash == first.draft_hash
    assert second.voided_approval
    assert program.session.scalars(select(DraftLine.explanation)).all() == lines
    with pytest.raises(BatchNotApproved):
        batch.close(program.session, "2026-01", actor="bob")


def test_the_calculating_user_cannot_approve(program: Program) -> None:
    batch.run(program.session, "2026-01", actor="alice")
    with pytest.raises(MakerCheckerViolation, match="alice calculated the 2026-01 batch"):
        batch.approve(program.session, "2026-01", actor="alice")


def test_the_database_refuses_a_self_approval_even_in_raw_sql(program: Program) -> None:
    batch.run(program.session, "2026-01", actor="alice")
    savepoint = program.session.begin_nested()
    with pytest.raises(DBAPIError):
        program.session.execute(
            text(
                "UPDATE batches SET status = 'approved', approved_by = 'alice' "
                "WHERE period = '2026-01'"
            )
        )
    savepoint.rollback()


def test_closing_twice_is_refused(program: Program) -> None:
    program.close_month("2026-01")
    with pytest.raises(PeriodClosed, match="already closed"):
        batch.close(program.session, "2026-01", actor="bob")


def test_facts_arriving_after_approval_block_the_close(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-1", plan, kind="referral")
    program.deal("P-1", "referral", day="2026-01-02", customer="C-2")
    batch.run(program.session, "2026-01", actor="alice")
    batch.approve(program.session, "2026-01", actor="bob")
    program.invoice(None, "100.00", "2026-01-20", customer="C-2")
    with pytest.raises(DraftChanged, match="arrived after the draft"):
        batch.close(program.session, "2026-01", actor="bob")


@pytest.mark.as_owner
def test_posted_entries_and_closed_periods_refuse_changes_in_raw_sql(program: Program) -> None:
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-1", plan, kind="referral")
    program.deal("P-1", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    for statement in (
        "UPDATE ledger_entries SET amount_minor = amount_minor + 1",
        "DELETE FROM ledger_entries",
        "INSERT INTO ledger_entries (period, partner_id, line_no, entry_kind, source_fact, "
        "fact_date, base_minor, base_currency, unrounded, amount_minor, currency, explanation, "
        "posted_at, posted_by) VALUES ('2026-01', 'P-1', 99, 'adjustment', 'manual:1', "
        "'2026-01-31', 0, 'USD', '1', 100, 'USD', 'sneaky', '2026-02-01', 'mallory')",
        "DELETE FROM draft_lines WHERE period = '2026-01'",
        "UPDATE draft_lines SET explanation = 'rewritten' WHERE period = '2026-01'",
        # Many rows in one statement (checked per statement on PostgreSQL).
        "INSERT INTO draft_lines (period, partner_id, line_no, entry_kind, source_fact, "
        "fact_date, base_minor, base_currency, unrounded, amount_minor, currency, explanation, "
        "payable) SELECT period, partner_id, line_no + 1000, entry_kind, source_fact, fact_date, "
        "base_minor, base_currency, unrounded, amount_minor, currency, explanation, payable "
        "FROM draft_lines WHERE period = '2026-01'",
        "INSERT INTO margin_lines (period, partner_id, line_no, entry_kind, source_fact, "
        "fact_date, base_minor, base_currency, unrounded, amount_minor, currency, explanation, "
        "posted_at) VALUES ('2026-01', 'P-1', 99, 'margin', 'manual:1', '2026-01-31', 0, "
        "'USD', '1', 100, 'USD', 'sneaky', '2026-02-01')",
    ):
        savepoint = program.session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            program.session.execute(text(statement))
        savepoint.rollback()
