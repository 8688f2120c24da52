"""`batch close` finishes the month on its own; issuing statements is its callers' next step."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts import issued
from payouts.batch import service as batch
from payouts.batch.models import PayoutInstruction
from payouts.periods import Period
from statements import issue
from tests.payouts.program import Program


def test_close_posts_pays_and_freezes_without_the_statements_package(session: Session) -> None:
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    batch.run(session, "2026-01", actor="alice")
    batch.approve(session, "2026-01", actor="bob")

    closed = batch.close(session, "2026-01", actor="bob")

    earned = [
        e.amount_minor for e in program.entries("P-REF", "2026-01") if e.entry_kind != "payout"
    ]
    assert closed.posted == len(earned) > 0
    assert closed.payable == {"USD": sum(earned)}
    assert program.balance("P-REF") == 0
    assert session.get(Period, "2026-01").status == "closed"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(PayoutInstruction)) == 1
    assert issued.issued(session, "P-REF", "2026-01") is None
    hashes = issue.issue_period(session, closed.period, actor="bob")
    stored = issued.issued(session, "P-REF", "2026-01")
    assert stored is not None
    assert stored.content_hash == hashes["P-REF"]
