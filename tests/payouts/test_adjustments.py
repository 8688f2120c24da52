"""Manual adjustments in the database: maker-checker by holder in the code and in the
database itself, append-only rows, and amounts exact to the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts import adjustments
from payouts.adjustments import AdjustmentDecision, Decision
from payouts.reference.models import Partner

ALICE = "key:k1:Alice"
ALICE_OTHER_KEY = "key:k2:alice"
BOB = "user:7:bob@example.com"


@pytest.fixture
def partner(session: Session) -> str:
    session.add(Partner(id="ADJ-1", name="Adjusted Ltd", type="reseller", payout_currency="EUR"))
    session.flush()
    return "ADJ-1"


def _propose(session: Session, partner: str, amount: str = "12.50") -> int:
    return adjustments.propose(
        session, partner_id=partner, amount=amount, currency="eur", reason="late credit",
        actor=ALICE,
    ).id  # fmt: skip


def test_the_proposer_cannot_decide_even_with_another_key(session: Session, partner: str) -> None:
    adjustment = _propose(session, partner)
    for actor in (ALICE, ALICE_OTHER_KEY):
        with pytest.raises(adjustments.SameProposer):
            adjustments.decide(session, adjustment, Decision.APPROVED, actor=actor)
    decided = adjustments.decide(session, adjustment, Decision.APPROVED, actor=BOB)
    assert decided.status is adjustments.Status.APPROVED
    assert decided.amount == Decimal("12.50")
    assert decided.currency == "EUR"
    with pytest.raises(adjustments.AlreadyDecided):
        adjustments.decide(session, adjustment, Decision.REFUSED, actor=BOB, reason="no")


def test_the_database_refuses_a_decision_by_the_proposer(session: Session, partner: str) -> None:
    adjustment = _propose(session, partner)
    session.add(
        AdjustmentDecision(
            adjustment_id=adjustment, decision="approved", decided_by=ALICE_OTHER_KEY
        )
    )
    with pytest.raises(DBAPIError, match=r"proposer|proposed"):
        session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE manual_adjustments SET amount_minor = 999999",
        "DELETE FROM manual_adjustments",
        "UPDATE adjustment_decisions SET decision = 'refused', reason = 'x'",
        "DELETE FROM adjustment_decisions",
    ],
)
def test_adjustments_and_decisions_are_append_only(
    session: Session, partner: str, statement: str
) -> None:
    adjustment = _propose(session, partner)
    adjustments.decide(session, adjustment, Decision.APPROVED, actor=BOB)
    with pytest.raises(DBAPIError, match=r"append-only|permission denied"), session.begin_nested():
        session.execute(text(statement))


def test_a_refusal_says_why_and_a_pending_one_is_listed_as_pending(
    session: Session, partner: str
) -> None:
    first, second = _propose(session, partner), _propose(session, partner, "-3")
    with pytest.raises(adjustments.AdjustmentRefused, match="say why"):
        adjustments.decide(session, first, Decision.REFUSED, actor=BOB)
    adjustments.decide(session, first, Decision.REFUSED, actor=BOB, reason="duplicate")
    assert [a.id for a in adjustments.listed(session, status=adjustments.Status.PENDING)] == [
        second
    ]
    assert adjustments.get(session, first).decision_reason == "duplicate"


@settings(max_examples=60, deadline=None)
@given(
    units=st.integers(min_value=-(10**11) + 1, max_value=10**11 - 1).filter(bool),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "USD"]),
)
def test_an_amount_is_kept_exactly_in_minor_units(units: int, currency: str) -> None:
    exponent = {"EUR": 2, "JPY": 0, "KWD": 3, "USD": 2}[currency]
    typed = f"{Decimal(units).scaleb(-exponent):f}"
    assert adjustments.parse_amount(typed, currency) == units
    if exponent:
        finer = f"{Decimal(units).scaleb(-exponent) + Decimal(1).scaleb(-exponent - 1):f}"
        with pytest.raises(adjustments.AdjustmentRefused):
            adjustments.parse_amount(finer, currency)
