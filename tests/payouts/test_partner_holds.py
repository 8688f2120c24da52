"""A finance hold outlives any amendment of the partner's record.

The partner's `status` is a billing fact, amended by the next import of partners; a
finance hold is a row of `partner_holds`, and the close reads the hold from there.
So re-importing the partner as `active` does not release it: only a release does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts import partner_holds
from payouts.batch.models import PayoutHold, PayoutInstruction
from payouts.facts.ingest import ingest
from payouts.partner_holds import Action, HoldRefused
from tests.payouts.program import Program

FINANCE = "user:7:fay@finance.example"


@pytest.fixture
def program(session: Session) -> Program:
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    program.partner("P-1", plan, kind="referral", currency="USD", iban="DE89370400440532013000")
    program.deal("P-1", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    return program


def reimport(session: Session, status: str) -> None:
    """The billing system's partner record, imported again as an amendment."""
    ingest(
        session,
        "partners",
        [
            {
                "id": "P-1",
                "name": "Partner P-1 GmbH",
                "type": "referral",
                "payout_currency": "USD",
                "status": status,
                "iban": "DE89370400440532013000",
            }
        ],
        actor="key:k3:billing-sync",
        amend=True,
    )


def outcome(session: Session, period: str) -> tuple[list[str], list[str]]:
    holds = session.scalars(
        select(PayoutHold.code).where(PayoutHold.period == period, PayoutHold.partner_id == "P-1")
    ).all()
    paid = session.scalars(
        select(PayoutInstruction.end_to_end_id).where(
            PayoutInstruction.period == period, PayoutInstruction.partner_id == "P-1"
        )
    ).all()
    return list(holds), list(paid)


def test_an_amendment_to_active_does_not_release_a_finance_hold(program: Program) -> None:
    session = program.session
    partner_holds.change(session, "P-1", Action.HOLD, "bank details disputed", actor=FINANCE)
    reimport(session, "on_hold")
    reimport(session, "active")  # the billing record says active again

    assert partner_holds.is_held(session, "P-1")
    program.close_month("2026-01")
    holds, paid = outcome(session, "2026-01")
    assert holds == ["partner_on_hold"]
    assert paid == []


def test_only_a_release_pays_the_held_balance(program: Program) -> None:
    session = program.session
    partner_holds.change(session, "P-1", Action.HOLD, "bank details disputed", actor=FINANCE)
    program.close_month("2026-01")
    partner_holds.change(session, "P-1", Action.RELEASE, "confirmed by phone", actor=FINANCE)
    assert not partner_holds.is_held(session, "P-1")
    program.invoice(None, "50.00", "2026-02-10", customer="C-2")
    program.close_month("2026-02")
    holds, paid = outcome(session, "2026-02")
    assert holds == []
    assert len(paid) == 1


def test_a_billing_status_on_hold_still_holds_without_a_finance_hold(program: Program) -> None:
    session = program.session
    reimport(session, "on_hold")
    assert not partner_holds.is_held(session, "P-1")
    program.close_month("2026-01")
    assert outcome(session, "2026-01") == (["partner_on_hold"], [])


def test_hold_and_release_follow_the_record_not_the_status(program: Program) -> None:
    session = program.session
    with pytest.raises(HoldRefused, match="not on hold"):
        partner_holds.change(session, "P-1", Action.RELEASE, "nothing to release", actor=FINANCE)
    partner_holds.change(session, "P-1", Action.HOLD, "disputed", actor=FINANCE)
    reimport(session, "active")
    with pytest.raises(HoldRefused, match="already on hold"):
        partner_holds.change(session, "P-1", Action.HOLD, "again", actor=FINANCE)
    partner_holds.change(session, "P-1", Action.RELEASE, "resolved", actor=FINANCE)
    assert [e.action for e in partner_holds.history(session, "P-1")] == [
        Action.RELEASE,
        Action.HOLD,
    ]


def test_the_partners_next_payout_shows_the_finance_hold_the_close_will_apply(
    program: Program,
) -> None:
    from payouts.batch import service as batch
    from payouts.reference.models import Partner
    from statements.overview import next_payout

    session = program.session
    batch.run(session, "2026-01", actor="alice")
    partner = session.get(Partner, "P-1")
    assert partner is not None
    assert next_payout(session, partner).hold is None
    partner_holds.change(session, "P-1", Action.HOLD, "bank details disputed", actor=FINANCE)
    reimport(session, "active")
    shown = next_payout(session, partner).hold
    assert shown is not None
    assert shown.code == "partner_on_hold"
    batch.run(session, "2026-01", actor="alice")
    batch.approve(session, "2026-01", actor="bob")
    batch.close(session, "2026-01", actor="bob")
    assert outcome(session, "2026-01") == ([shown.code], [])
