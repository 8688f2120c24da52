"""`batch close` finishes the month on its own; issuing statements is its callers' next step."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from payouts import issued
from payouts.batch import service as batch
from payouts.batch.errors import DraftChanged
from payouts.batch.models import PayoutInstruction
from payouts.db import make_engine, unit_of_work
from payouts.ledger import LedgerEntry, MarginLine
from payouts.periods import Period
from statements import issue
from tests.conftest import ON_POSTGRES
from tests.payouts.program import Program


def _referral_month_run(session: Session) -> Program:
    """One referral partner paid on one invoice of January 2026; January run."""
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    batch.run(session, "2026-01", actor="alice")
    return program


def test_close_posts_pays_and_freezes_without_the_statements_package(session: Session) -> None:
    program = _referral_month_run(session)
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


@pytest.mark.skipif(not ON_POSTGRES, reason="planner statistics are PostgreSQL's")
def test_the_closes_own_transaction_plans_its_reads_knowing_the_month_just_posted(
    session: Session,
) -> None:
    # Statements are read from the ledger right after posting, in the same transaction:
    # a planner that counted the table as empty scanned the whole month for each slice.
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    for number in range(1, 4):
        program.partner(f"P-{number}", plan, kind="referral")
        program.deal(f"P-{number}", "referral", day="2026-01-02", customer=f"C-{number}")
        program.invoice(None, f"{number}00.00", "2026-01-15", customer=f"C-{number}")
    batch.run(session, "2026-01", actor="alice")
    batch.approve(session, "2026-01", actor="bob")

    closed = batch.close(session, "2026-01", actor="bob")

    # What the planner knows of the ledger's months (statistics are transactional).
    known = session.scalar(
        text(
            "SELECT most_common_vals::text FROM pg_stats "
            "WHERE tablename = 'ledger_entries' AND attname = 'period'"
        )
    )
    assert closed.posted > 0
    assert known == "{2026-01}"


@pytest.mark.postgres_only
def test_a_close_of_a_changed_draft_posts_nothing_though_it_checks_while_posting(
    migrated_url: str,
) -> None:
    # A close of its own transaction hashes the draft on another connection while it
    # posts; a draft that differs from the approved one must still leave no line.
    engine = make_engine(migrated_url)
    try:
        with unit_of_work(engine) as session:
            _referral_month_run(session)
        with unit_of_work(engine) as session:
            batch.approve(session, "2026-01", actor="bob")
        with unit_of_work(engine) as session:
            # What the service's role may do to an open month's payees: another account.
            session.execute(text("DELETE FROM draft_payees WHERE partner_id = 'P-REF'"))
            session.execute(
                text(
                    "INSERT INTO draft_payees (period, partner_id, name, account_holder, iban) "
                    "VALUES ('2026-01', 'P-REF', 'Partner P-REF', 'Someone Else', "
                    "'DE89370400440532013000')"
                )
            )
        with Session(engine) as session:
            with pytest.raises(DraftChanged, match="differs from what was approved"):
                batch.close(session, "2026-01", actor="bob")
            posted = session.scalar(select(func.count()).select_from(LedgerEntry))
            margins = session.scalar(select(func.count()).select_from(MarginLine))
            assert (posted, margins) == (0, 0)
            session.rollback()
        with unit_of_work(engine) as session:
            batch.run(session, "2026-01", actor="alice")
        with unit_of_work(engine) as session:
            batch.approve(session, "2026-01", actor="bob")
        with unit_of_work(engine) as session:
            closed = batch.close(session, "2026-01", actor="bob")
        assert closed.posted > 0
    finally:
        engine.dispose()
