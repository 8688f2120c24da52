"""Statements built from a real ledger: they add up, they verify, their PDF reads back."""

from __future__ import annotations

import io
from decimal import Decimal

import pypdf
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from payouts import tiers
from payouts.batch import payments
from payouts.batch import service as batch
from payouts.batch.exports import export_csv
from statements import issue
from statements.builder import build
from statements.canonical import content_hash
from statements.pdf import render_pdf
from tests.payouts.program import Program

D = Decimal


@pytest.fixture
def program(session: Session) -> Program:
    return Program(session)


def close(program: Program, period: str) -> batch.CloseResult:
    batch.run(program.session, period, actor="alice")
    batch.approve(program.session, period, actor="bob")
    closed = batch.close(program.session, period, actor="bob")
    issue.issue_period(program.session, closed.period, actor="bob")
    return closed


def referral_partner(program: Program, minimum: str = "0") -> str:
    plan = program.plan("referral", minimum_payout=minimum)
    program.partner("P-REF", plan, kind="referral", currency="USD")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    return "P-REF"


def test_a_statement_adds_up_and_matches_the_payout(program: Program) -> None:
    partner = referral_partner(program)
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.invoice(None, "250.00", "2026-01-20", customer="C-2")
    close(program, "2026-01")
    statement = build(program.session, partner, "2026-01")
    assert statement.opening_balance == 0
    assert [line.amount for line in statement.lines] == [D("10.00"), D("250.00"), D("25.00")]
    assert statement.earnings_total == D("285.00")
    assert statement.amount_payable == D("285.00")
    assert statement.carry_forward == 0
    assert statement.payout_reference == "PP-2026-01-P-REF"
    assert {s.component: s.amount for s in statement.subtotals} == {
        "signing-bounty": D("250.00"),
        "revenue-share": D("35.00"),
    }


@pytest.mark.as_owner
def test_an_issued_statement_verifies_and_a_tampered_ledger_does_not(program: Program) -> None:
    partner = referral_partner(program)
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    close(program, "2026-01")
    result = issue.verify(program.session, partner, "2026-01")
    assert result.match
    # Bypass the append-only trigger the way an attacker with DDL rights could.
    backend = program.session.get_bind().dialect.name
    savepoint = program.session.begin_nested()
    if backend == "postgresql":
        program.session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        program.session.execute(
            text(
                "UPDATE ledger_entries SET amount_minor = 1 "
                "WHERE entry_kind = 'earning' AND component_id = "
                "'revenue-share'"
            )
        )
    else:
        program.session.execute(text("DROP TRIGGER ledger_entries_no_update"))
        program.session.execute(
            text(
                "UPDATE ledger_entries SET explanation = 'forged' "
                "WHERE component_id = 'revenue-share'"
            )
        )
    assert not issue.verify(program.session, partner, "2026-01").match
    savepoint.rollback()
    assert issue.verify(program.session, partner, "2026-01").match


def test_a_held_balance_is_carried_forward_with_its_reason(program: Program) -> None:
    partner = referral_partner(program, minimum="500.00")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    close(program, "2026-01")
    january = build(program.session, partner, "2026-01")
    assert january.amount_payable == 0
    assert january.carry_forward == D("260.00")
    assert [h.code for h in january.holds] == ["below_minimum"]
    program.invoice(None, "2500.00", "2026-02-15", customer="C-2")
    close(program, "2026-02")
    february = build(program.session, partner, "2026-02")
    assert february.opening_balance == D("260.00")
    assert february.amount_payable == D("510.00")


def test_a_failed_payout_returns_as_an_adjustment_next_month(program: Program) -> None:
    partner = referral_partner(program)
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    close(program, "2026-01")
    rows = [{"end_to_end_id": "PP-2026-01-P-REF", "status": "failed", "reason": "account closed"}]
    result = payments.mark_paid(program.session, "2026-01", rows, actor="treasury")
    assert result.reversal_period == "2026-02"
    assert issue.verify(program.session, partner, "2026-01").match  # January is frozen
    close(program, "2026-02")
    february = build(program.session, partner, "2026-02")
    assert february.adjustments_total == D("260.00")
    assert february.amount_payable == D("260.00")
    [line] = february.lines
    assert "failed (account closed)" in line.explanation


def test_the_payout_file_totals_equal_the_payable_amounts(program: Program) -> None:
    partner = referral_partner(program)
    program.partner(
        "P-2",
        program.plan("referral", minimum_payout="0"),
        kind="referral",
        currency="EUR",
        iban="DE89370400440532013000",
        account_holder="=cmd|' /C",
    )
    program.deal("P-2", "referral", day="2026-01-02", customer="C-3")
    program.fx("2026-01-01", "USD", "EUR", "0.9")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-3")
    close(program, "2026-01")
    csv_file = export_csv(program.session, "2026-01").content.decode()
    rows = [line.split(",") for line in csv_file.strip().splitlines()[1:]]
    paid = {row[1]: D(row[3]) for row in rows}
    assert paid == {
        partner: build(program.session, partner, "2026-01").amount_payable,
        "P-2": build(program.session, "P-2", "2026-01").amount_payable,
    }
    assert paid["P-2"] == D("234.00")  # (250 + 10) USD at 0.9
    assert "'=cmd|' /C" in csv_file  # formula neutralised


def test_the_statement_pdf_shows_every_line_and_the_hash(program: Program) -> None:
    plan = program.plan("tiered_reseller")
    program.partner("P-GOLD", plan, since="2025-01-01", name="Société Générale Ünïcode")
    deal = program.deal("P-GOLD", "sourced", list_amount="120000.00", day="2026-01-05")
    program.invoice(deal, "120000.00", "2026-01-05")
    close(program, "2026-01")
    close(program, "2026-02")
    close(program, "2026-03")
    tiers.evaluate(program.session, "2026-03", actor="finance")
    deal = program.deal("P-GOLD", "sourced", list_amount="10000.00", day="2026-04-10")
    program.invoice(deal, "10000.00", "2026-04-10")
    close(program, "2026-04")
    statement = build(program.session, "P-GOLD", "2026-04")
    assert statement.tier is not None
    assert statement.tier.current_tier == "Gold"
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(statement)))
    words = "\n".join(page.extract_text() for page in reader.pages)
    assert "Société Générale Ünïcode" in words
    assert "2026-04" in words
    assert content_hash(statement) in words.replace("\n", "")
    assert "800.00" in words  # Gold 8% of 10,000.00
