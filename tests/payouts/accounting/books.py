"""What every journal must satisfy, checked against the ledger it comes from, and a
small closed month with a capitalised referral fee."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts.accounting.chart import Chart
from payouts.accounting.journal import Journal
from payouts.batch.models import PayoutInstruction, RepCreditLine
from payouts.ledger import LedgerEntry
from plans.loading import load_plan
from tests.payouts.program import EXAMPLES, Program

COST_KINDS = ("accrual", "clawback", "prior_period_adjustment")


def ledger_sums(session: Session, period: str) -> dict[tuple[str, str], int]:
    """(entry kind, currency) -> the month's ledger sum in minor units."""
    query = (
        select(LedgerEntry.entry_kind, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.period == period)
        .group_by(LedgerEntry.entry_kind, LedgerEntry.currency)
    )
    return {(kind, currency): int(total) for kind, currency, total in session.execute(query)}


def assert_balanced_and_tied(session: Session, journal: Journal, chart: Chart) -> None:
    """Balanced per entry and currency; costs, the payable, bank clearing and rep
    commission each move by what the ledger says."""
    accounts = chart.accounts
    for entry in journal.entries:
        assert entry.debits == entry.credits, entry
        assert entry.close_hash == journal.close_hash
        assert all((p.debit_minor > 0) != (p.credit_minor > 0) for p in entry.postings), entry
    for currency, (debits, credits) in journal.totals().items():
        assert debits == credits, currency

    sums = ledger_sums(session, journal.period)
    currencies = {c for _, c in sums} | {e.currency for e in journal.entries}
    cost_accounts = _cost_account_codes(chart)
    for currency in currencies:

        def ledger(*kinds: str, currency: str = currency) -> int:
            return sum(sums.get((k, currency), 0) for k in kinds)

        # Expense, contra revenue and capitalised cost booked = earnings - clawbacks
        # (+ prior-period adjustments), per currency.
        booked = sum(
            p.debit_minor - p.credit_minor
            for e in journal.entries
            if e.currency == currency and e.kind in COST_KINDS
            for p in e.postings
            if p.account.code in cost_accounts
        )
        assert booked == ledger("earning", "clawback", "adjustment"), currency
        # The payable (a liability: credits increase it) moves by earnings - clawbacks
        # + adjustments - payouts + failed payouts returned.
        payable = -journal.movement(accounts.accrued_commissions_payable.code, currency)
        assert payable == ledger("earning", "clawback", "adjustment", "payout", "payout_reversal")
        assert journal.movement(accounts.partner_payables.code, currency) == 0
        # Bank clearing is credited with what the payout file sends (VAT of self-billed
        # invoices included) and debited with what failed payouts brought back.
        sent, back = bank_transfers(session, journal.period, currency)
        assert _on(journal, accounts.bank_clearing.code, currency, "payout_file") == -sent
        assert _on(journal, accounts.bank_clearing.code, currency, "payout_reversal") == back
        assert journal.movement(accounts.bank_clearing.code, currency) == back - sent
        assert journal.movement(accounts.rep_commission_expense.code, currency) == (
            rep_commission(session, journal.period).get(currency, 0)
        )


def bank_transfers(session: Session, period: str, currency: str) -> tuple[int, int]:
    """What the month's payout file sends, and what the failed payouts whose reversal is
    posted in the month brought back (their instructions' amounts), in minor units."""
    i = PayoutInstruction
    sent = session.scalar(
        select(func.coalesce(func.sum(i.amount_minor), 0)).where(
            i.period == period, i.currency == currency
        )
    )
    reversals = select(LedgerEntry.source_fact).where(
        LedgerEntry.period == period, LedgerEntry.entry_kind == "payout_reversal"
    )
    back = session.scalar(
        select(func.coalesce(func.sum(i.amount_minor), 0)).where(
            i.currency == currency, ("payout:" + i.end_to_end_id).in_(reversals)
        )
    )
    return int(sent or 0), int(back or 0)


def _on(journal: Journal, code: str, currency: str, kind: str) -> int:
    return sum(
        p.debit_minor - p.credit_minor
        for e in journal.entries
        if e.currency == currency and e.kind == kind
        for p in e.postings
        if p.account.code == code
    )


def rep_commission(session: Session, period: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for currency, amount in session.execute(
        select(RepCreditLine.currency, RepCreditLine.commission_minor).where(
            RepCreditLine.period == period
        )
    ):
        out[currency] += amount
    return out


def _cost_account_codes(chart: Chart) -> set[str]:
    codes = {
        chart.accounts.commission_expense.code,
        chart.accounts.contra_revenue.code,
        chart.accounts.capitalised_costs.code,
    }
    for mapping in (*chart.components.values(), *chart.component_kinds.values()):
        for account in (mapping.expense, mapping.contra_revenue, mapping.capitalised_costs):
            if account is not None:
                codes.add(account.code)
    return codes


def referral_plan(**accounting: dict[str, Any]) -> dict[str, Any]:
    """The example referral plan, with treatments by component id."""
    document = load_plan(EXAMPLES / "referral.yaml").canonical()
    for component in document["components"]:
        if component["id"] in accounting:
            component["accounting"] = accounting[component["id"]]
    return document


def capitalised_referral_month(session: Session, months: int = 7) -> Program:
    """P-REF earns a 250.00 signing bounty (capitalised over `months` months) and a
    10% revenue share (an expense) on a 100.00 invoice; January is closed."""
    program = Program(session)
    plan = program.plan_document(
        referral_plan(**{"signing-bounty": {"treatment": "capitalise", "months": months}})
    )
    program.partner("P-REF", plan, kind="referral", currency="USD")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month("2026-01")
    return program
