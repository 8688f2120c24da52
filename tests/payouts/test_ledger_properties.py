"""Hypothesis state machine over random facts and batch operations.

Whatever happens (invoices, late invoices, partial refunds, cancellations, reruns,
closes), for every partner: the ledger balance is what it earned, less what was
clawed back, plus adjustments, less what was paid; nothing is paid out as a charge;
a closed month's lines never change; and rerunning a draft gives the same hash.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from payouts.batch import service as batch
from payouts.batch.models import PayoutInstruction
from payouts.facts.models import Invoice
from payouts.ledger import LedgerEntry
from payouts.periods import Month
from tests.payouts.program import Program

PARTNERS = ("P-A", "P-B")
CUSTOMERS = {"P-A": "C-1", "P-B": "C-2"}


def test_ledger_invariants_hold_under_random_operations(engine: Engine) -> None:
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.connection = engine.connect()
            self.outer = self.connection.begin()
            self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
            self.program = Program(self.session)
            self.month = Month(2026, 1)
            self.closed: dict[str, list[tuple[object, ...]]] = {}
            self.invoices: list[tuple[str, int]] = []  # (invoice id, remaining minor units)

        @initialize()
        def program_with_two_referral_partners(self) -> None:
            plan = self.program.plan("referral", minimum_payout="30.00")
            for partner in PARTNERS:
                self.program.partner(partner, plan, kind="referral")
                self.program.deal(
                    partner, "referral", day="2026-01-01", customer=CUSTOMERS[partner]
                )

        def teardown(self) -> None:
            self.session.close()
            self.outer.rollback()
            self.connection.close()

        @rule(
            partner=st.sampled_from(PARTNERS),
            cents=st.integers(1, 500_000),
            day=st.integers(1, 28),
            late=st.booleans(),
        )
        def invoice(self, partner: str, cents: int, day: int, late: bool) -> None:
            month = (
                self.month.previous()
                if late and str(self.month.previous()) in self.closed
                else self.month
            )
            amount = f"{Decimal(cents).scaleb(-2):.2f}"
            invoice_id = self.program.invoice(
                None, amount, f"{month}-{day:02d}", customer=CUSTOMERS[partner]
            )
            self.invoices.append((invoice_id, cents))

        @precondition(lambda self: bool(self.invoices))
        @rule(data=st.data())
        def refund(self, data: st.DataObject) -> None:
            index = data.draw(st.integers(0, len(self.invoices) - 1))
            invoice_id, remaining = self.invoices[index]
            if remaining == 0:
                return
            cents = data.draw(st.integers(1, remaining))
            day = data.draw(st.integers(1, 28))
            when = f"{self.month}-{day:02d}"
            row = self.session.get(Invoice, invoice_id)
            assert row is not None
            if when < row.issue_date.isoformat():
                return
            self.program.refund(invoice_id, f"{Decimal(cents).scaleb(-2):.2f}", when)
            self.invoices[index] = (invoice_id, remaining - cents)

        @rule()
        def rerun_draft_is_idempotent(self) -> None:
            first = batch.run(self.session, str(self.month), actor="alice")
            second = batch.run(self.session, str(self.month), actor="alice")
            assert first.draft_hash == second.draft_hash

        @rule()
        def close_month(self) -> None:
            period = str(self.month)
            self.program.close_month(period)
            self.closed[period] = self._lines(period)
            self.month = self.month.next()

        def _lines(self, period: str) -> list[tuple[object, ...]]:
            return [
                (e.partner_id, e.line_no, e.entry_kind, e.amount_minor, e.source_fact)
                for e in self.session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.period == period)
                    .order_by(LedgerEntry.partner_id, LedgerEntry.line_no)
                )
            ]

        @invariant()
        def closed_months_never_change(self) -> None:
            for period, lines in self.closed.items():
                assert self._lines(period) == lines

        @invariant()
        def balance_is_earned_less_clawed_back_plus_adjusted_less_paid(self) -> None:
            for partner in PARTNERS:
                sums = {
                    kind: int(total)
                    for kind, total in self.session.execute(
                        select(LedgerEntry.entry_kind, func.sum(LedgerEntry.amount_minor))
                        .where(LedgerEntry.partner_id == partner)
                        .group_by(LedgerEntry.entry_kind)
                    )
                }
                paid = int(
                    self.session.scalar(
                        select(func.coalesce(func.sum(PayoutInstruction.amount_minor), 0)).where(
                            PayoutInstruction.partner_id == partner
                        )
                    )
                    or 0
                )
                balance = int(
                    self.session.scalar(
                        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
                            LedgerEntry.partner_id == partner
                        )
                    )
                    or 0
                )
                earned = sums.get("earning", 0)
                clawed = sums.get("clawback", 0)
                adjusted = sums.get("adjustment", 0) + sums.get("payout_reversal", 0)
                assert balance == earned + clawed + adjusted - paid
                assert earned >= 0 >= clawed
                assert -sums.get("payout", 0) == paid
                if paid:
                    assert (
                        self.session.scalar(
                            select(func.min(PayoutInstruction.amount_minor)).where(
                                PayoutInstruction.partner_id == partner
                            )
                        )
                        > 0
                    )  # never a payout of a charge

    LedgerMachine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    run_state_machine_as_test(LedgerMachine, settings=LedgerMachine.TestCase.settings)
