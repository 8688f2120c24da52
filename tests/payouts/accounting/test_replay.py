"""`batch replay`: a closed month recalculated from the facts recorded by its close."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from payouts.accounting import replay
from payouts.accounting.sources import MonthNotClosed
from tests.payouts.program import Program
from tests.statements.tampering import unguarded

PERIOD = "2026-01"


def referral_january(session: Session) -> tuple[Program, str]:
    program = Program(session)
    plan = program.plan("referral")
    program.partner("P-REF", plan, kind="referral")
    program.deal("P-REF", "referral", day="2026-01-02", customer="C-2")
    invoice = program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    program.close_month(PERIOD)
    return program, invoice


def test_a_closed_month_replays_identically(session: Session) -> None:
    referral_january(session)
    found = replay.replay(session, PERIOD)
    assert found.identical, [d.describe() for d in found.differences]
    assert found.lines == 2  # the bounty and the revenue share


def test_facts_recorded_after_the_close_are_left_out(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = referral_january(session)
    # After the close, another partner turns out to have referred the same customer
    # by a deal dated in January: its role would reach January's invoice.
    plan = program.plan("referral")
    program.partner("P-LATE", plan, kind="referral")
    program.deal("P-LATE", "referral", day="2026-01-03", customer="C-2")

    assert replay.replay(session, PERIOD).identical
    # Without the view as of the close, the recalculation would credit P-LATE.
    monkeypatch.setattr(replay, "AS_RECORDED", {})
    naive = replay.replay(session, PERIOD)
    assert not naive.identical
    assert {d.partner_id for d in naive.differences} == {"P-LATE"}
    assert all(d.posted is None for d in naive.differences)


@pytest.mark.as_owner
def test_a_fact_altered_behind_the_products_back_is_reported(session: Session) -> None:
    _, invoice = referral_january(session)
    with unguarded(session, "invoices"):
        session.execute(
            text("UPDATE invoices SET amount_minor = 20000 WHERE id = :id"), {"id": invoice}
        )
    found = replay.replay(session, PERIOD)
    assert not found.identical
    [difference] = found.differences  # the revenue share; the fixed bounty is unchanged
    assert difference.partner_id == "P-REF"
    assert difference.posted is not None
    assert difference.replayed is not None
    assert difference.posted["source_fact"] == f"invoice:{invoice}"
    assert (difference.posted["amount_minor"], difference.replayed["amount_minor"]) == (1000, 2000)
    described = difference.describe()
    assert f"invoice:{invoice}" in described
    assert "amount_minor posted 1000, replay 2000" in described


def test_an_open_month_cannot_be_replayed(session: Session) -> None:
    referral_january(session)
    with pytest.raises(MonthNotClosed):
        replay.replay(session, "2026-02")
