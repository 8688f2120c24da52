"""A small closed month built through the real services, shared by statement tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payouts.batch import service as batch
from statements import issue
from tests.payouts.program import Program

PARTNER, PERIOD = "P-REF", "2026-01"


def referral_month(session: Session) -> Program:
    """P-REF earns a 250.00 signing bounty and 10% of a 100.00 invoice in January."""
    program = Program(session)
    plan = program.plan("referral")
    program.partner(PARTNER, plan, kind="referral", currency="USD")
    program.deal(PARTNER, "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    return program


def closed_referral_month(session: Session) -> Program:
    """The referral month, run, approved, closed and its statement issued."""
    program = referral_month(session)
    batch.run(session, PERIOD, actor="alice")
    batch.approve(session, PERIOD, actor="bob")
    closed = batch.close(session, PERIOD, actor="bob")
    issue.issue_period(session, closed.period, actor="bob")
    return program
