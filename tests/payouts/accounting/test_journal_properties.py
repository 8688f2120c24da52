"""Hypothesis over random months: every journal balances per currency and ties to the
ledger, and every closed month replays identically."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from payouts.accounting import replay
from payouts.accounting.chart import load_chart
from payouts.accounting.journal import journal
from payouts.batch import payments
from payouts.batch.models import PayoutInstruction
from payouts.facts.ingest import ingest
from tests.payouts.accounting.books import assert_balanced_and_tied, referral_plan
from tests.payouts.program import Program

CHART = load_chart()
PARTNERS = (("P-US", "USD", "C-1"), ("P-EU", "EUR", "C-2"), ("P-JP", "JPY", "C-3"))
treatments = st.sampled_from(
    [
        None,
        {"treatment": "expense"},
        {"treatment": "contra_revenue"},
        {"treatment": "capitalise", "months": 12, "practical_expedient": True},
    ]
) | st.integers(1, 36).map(lambda n: {"treatment": "capitalise", "months": n})
invoices = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 2_000_000), st.integers(1, 28)), max_size=6
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bounty=treatments,
    share=treatments,
    january=invoices,
    february=invoices,
    refunds=st.lists(st.tuples(st.integers(0, 10), st.integers(1, 100)), max_size=4),
    late=invoices,
    fail=st.booleans(),
)
def test_random_months_balance_tie_and_replay(
    engine: Engine,
    bounty: dict[str, object] | None,
    share: dict[str, object] | None,
    january: list[tuple[int, int, int]],
    february: list[tuple[int, int, int]],
    refunds: list[tuple[int, int]],
    late: list[tuple[int, int, int]],
    fail: bool,
) -> None:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        program = Program(session)
        chosen = {k: v for k, v in (("signing-bounty", bounty), ("revenue-share", share)) if v}
        plan = program.plan_document(referral_plan(**chosen))
        ingest(
            session,
            "fx_rates",
            [
                {
                    "id": f"FX-{to}-{month}-{day}",
                    "date": f"2026-{month}-{day:02d}",
                    "from_currency": "USD",
                    "to_currency": to,
                    "rate": rate,
                    "source": "ECB",
                }
                for month in ("01", "02")
                for day in range(1, 29)
                for to, rate in (("EUR", "0.91"), ("JPY", "151.3"))
            ],
            actor="finance",
        )
        for partner, currency, customer in PARTNERS:
            program.partner(partner, plan, kind="referral", currency=currency)
            program.deal(partner, "referral", day="2026-01-01", customer=customer)
        issued: list[tuple[str, int]] = []
        for who, cents, day in january:
            amount = f"{cents / 100:.2f}"
            customer = PARTNERS[who][2]
            issued.append(
                (program.invoice(None, amount, f"2026-01-{day:02d}", customer=customer), cents)
            )
        program.close_month("2026-01")
        if fail:
            instructions = session.query(PayoutInstruction).filter_by(period="2026-01").all()
            if instructions:
                payments.mark_paid(
                    session,
                    "2026-01",
                    [
                        {"end_to_end_id": i.end_to_end_id, "status": "failed", "reason": "x"}
                        for i in instructions
                    ],
                    actor="bob",
                )
        left = dict(issued)
        for index, percent in refunds:
            if issued:
                invoice, cents = issued[index % len(issued)]
                part = min(left[invoice], max(1, cents * percent // 100))
                if part:
                    left[invoice] -= part
                    program.refund(invoice, f"{part / 100:.2f}", "2026-02-10")
        for who, cents, day in february:
            program.invoice(
                None, f"{cents / 100:.2f}", f"2026-02-{day:02d}", customer=PARTNERS[who][2]
            )
        for who, cents, day in late:  # dated in the closed January: adjustments
            program.invoice(
                None, f"{cents / 100:.2f}", f"2026-01-{day:02d}", customer=PARTNERS[who][2]
            )
        program.close_month("2026-02")
        for month in ("2026-01", "2026-02"):
            made = journal(session, month, CHART)
            assert_balanced_and_tied(session, made, CHART)
            proved = replay.replay(session, month)
            assert proved.identical, [d.describe() for d in proved.differences]
    finally:
        session.close()
        outer.rollback()
        connection.close()
