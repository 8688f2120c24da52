"""Internal rep credit follows the program's rep-credit plan assignments, dates included.

A program-wide assignment puts every deal's owner rep on a rep-credit plan from its
first day (inclusive) to its end (exclusive), as a partner's assignment does: a deal
closed outside it is not credited under that plan.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.batch import calculation
from payouts.batch import service as batch
from payouts.batch.models import RepCreditLine
from payouts.facts.ingest import ingest
from tests.payouts.program import Program


def _program(session: Session) -> Program:
    program = Program(session)
    ingest(session, "reps", [{"id": "R-1", "name": "Rep One", "currency": "USD"}], actor="crm")
    program.partner("P-1", program.plan("tiered_reseller"), since="2025-01-01")
    return program


def _credited(program: Program, period: str) -> dict[str, tuple[str, int]]:
    """Deal -> (plan label, commission in minor units) of the period's rep credit."""
    batch.run(program.session, period, actor="alice")
    lines = program.session.execute(
        select(RepCreditLine.deal_id, RepCreditLine.plan_label, RepCreditLine.commission_minor)
        .where(RepCreditLine.period == period)
        .order_by(RepCreditLine.deal_id)
    ).all()
    return {deal: (label.split("#")[0], commission) for deal, label, commission in lines}


def test_a_deal_closed_after_the_rep_credit_assignment_ended_is_not_credited(
    session: Session,
) -> None:
    program = _program(session)
    program.assign(None, program.plan("rep_credit"), "2026-01-01", "2026-01-15")
    inside = program.deal("P-1", "sourced", day="2026-01-10", rep="R-1", deal_id="D-IN")
    program.deal("P-1", "sourced", day="2026-01-15", rep="R-1", deal_id="D-END")  # exclusive
    program.deal("P-1", "sourced", day="2026-01-20", rep="R-1", deal_id="D-AFTER")

    assert _credited(program, "2026-01") == {inside: ("rep-credit@v1", 1000)}  # 10% of 100


def test_a_deal_closed_before_the_rep_credit_assignment_began_is_not_credited(
    session: Session,
) -> None:
    program = _program(session)
    program.assign(None, program.plan("rep_credit"), "2026-01-10")
    program.deal("P-1", "sourced", day="2026-01-05", rep="R-1", deal_id="D-BEFORE")
    inside = program.deal("P-1", "sourced", day="2026-01-10", rep="R-1", deal_id="D-FIRST")

    assert _credited(program, "2026-01") == {inside: ("rep-credit@v1", 1000)}


def test_a_deal_is_credited_under_the_rep_credit_plan_assigned_on_its_close_date(
    session: Session,
) -> None:
    # The program moves to a richer accelerator mid-month; both plans' versions stay
    # in force, only the assignments say which applies when.
    program = _program(session)
    first = program.plan("rep_credit")
    richer = program.plan_document(
        {
            "plan_id": "rep-credit-richer",
            "version": 1,
            "name": "Richer partner-deal accelerator",
            "effective_from": "2026-01-01",
            "currency": "USD",
            "components": [
                {
                    "kind": "rep_credit",
                    "id": "rep-credit",
                    "credit_basis": "list",
                    "direct_rate": "8%",
                    "partner_rate": "12%",
                }
            ],
        }
    )
    program.assign(None, first, "2026-01-01", "2026-01-15")
    program.assign(None, richer, "2026-01-15")
    early = program.deal("P-1", "sourced", day="2026-01-14", rep="R-1", deal_id="D-EARLY")
    late = program.deal("P-1", "sourced", day="2026-01-20", rep="R-1", deal_id="D-LATE")

    assert _credited(program, "2026-01") == {
        early: ("rep-credit@v1", 1000),
        late: ("rep-credit-richer@v1", 1200),
    }


def test_rep_credit_read_a_few_deals_at_a_time_is_the_same_draft(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run reads rep credit a chunk of deals at a time: chunks of two deals (ids
    chosen so that code-point order and a locale's order differ) give the same lines in
    the same order, and so the same draft hash, as one chunk of all of them."""
    program = _program(session)
    program.assign(None, program.plan("rep_credit"), "2026-01-01")
    for deal_id in ("D-b", "D-B", "D-a", "D-_1", "D-A", "D-10", "D-9"):
        program.deal("P-1", "sourced", day="2026-01-10", rep="R-1", deal_id=deal_id)

    def stored() -> tuple[str, list[str]]:
        digest = batch.run(session, "2026-01", actor="alice").draft_hash
        deals = session.scalars(
            select(RepCreditLine.deal_id)
            .where(RepCreditLine.period == "2026-01")
            .order_by(RepCreditLine.id)
        ).all()
        return digest, list(deals)

    monkeypatch.setattr(calculation, "REP_CHUNK_DEALS", 1_000_000)
    whole = stored()
    monkeypatch.setattr(calculation, "REP_CHUNK_DEALS", 2)
    assert stored() == whole
    assert whole[1] == sorted(whole[1])  # Python's (code-point) order
