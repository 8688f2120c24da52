"""Every payout carries a reference of its own, within what SEPA allows."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts.batch import payments
from payouts.batch.models import PayoutInstruction
from payouts.batch.references import MAX_LENGTH, end_to_end_id
from tests.payouts.program import Program

# SEPA's restricted Latin set, and no leading, trailing or doubled slash.
SEPA_REFERENCE = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]{1,35}")
NORTH = "ACME-GLOBAL-RESELLER-EMEA-NORTH"
SOUTH = "ACME-GLOBAL-RESELLER-EMEA-SOUTH"


def test_long_partner_ids_that_share_their_start_get_different_references() -> None:
    north, south = end_to_end_id("2026-06", NORTH), end_to_end_id("2026-06", SOUTH)
    assert north != south
    assert north.startswith("PP-2026-06-ACME-GLOBAL-RES-")
    assert max(len(north), len(south)) <= MAX_LENGTH


def test_a_short_plain_id_stays_readable() -> None:
    assert end_to_end_id("2026-01", "P-1") == "PP-2026-01-P-1"


@given(st.text(min_size=1, max_size=64), st.text(min_size=1, max_size=64))
def test_references_are_sepa_text_and_differ_for_different_partners(a: str, b: str) -> None:
    ra, rb = end_to_end_id("2026-06", a), end_to_end_id("2026-06", b)
    for reference in (ra, rb):
        assert SEPA_REFERENCE.fullmatch(reference)
        assert "//" not in reference
        assert not reference.startswith("/")
        assert not reference.endswith("/")
    assert (ra == rb) == (a == b)


def test_both_partners_are_paid_and_each_result_reaches_its_own_payout(session: Session) -> None:
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    for partner, customer in ((NORTH, "C-2"), (SOUTH, "C-3")):
        program.partner(partner, plan, kind="referral")
        program.deal(partner, "referral", day="2026-06-02", customer=customer)
        program.invoice(None, "100.00", "2026-06-15", customer=customer)
    assert program.close_month("2026-06").payouts == 2
    instructions = {i.partner_id: i for i in session.scalars(select(PayoutInstruction))}
    references = {partner: i.end_to_end_id for partner, i in instructions.items()}
    assert len(set(references.values())) == 2
    result = payments.mark_paid(
        session,
        "2026-06",
        [
            {"end_to_end_id": references[NORTH], "status": "paid"},
            {"end_to_end_id": references[SOUTH], "status": "failed", "reason": "closed"},
        ],
        actor="key:k2:bob",
    )
    assert (result.paid, result.failed) == ([references[NORTH]], [references[SOUTH]])
    # The failed payout returns to its own partner's balance, the other stays paid.
    assert program.balance(SOUTH) * 100 == instructions[SOUTH].amount_minor > 0
    assert program.balance(NORTH) == 0


@pytest.mark.as_owner
def test_the_database_refuses_a_second_payout_with_the_same_reference(
    session: Session,
) -> None:
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    for partner, customer in (("P-1", "C-2"), ("P-2", "C-3")):
        program.partner(partner, plan, kind="referral")
        program.deal(partner, "referral", day="2026-06-02", customer=customer)
        program.invoice(None, "100.00", "2026-06-15", customer=customer)
    program.close_month("2026-06")
    savepoint = session.begin_nested()
    with pytest.raises(DBAPIError, match="end_to_end_id"):
        session.execute(
            text(
                "INSERT INTO payout_instructions (period, partner_id, amount_minor, currency, "
                "end_to_end_id, payee_name) VALUES ('2026-07', 'P-2', 100, 'USD', "
                "'PP-2026-06-P-1', 'Partner P-2')"
            )
        )
    savepoint.rollback()
