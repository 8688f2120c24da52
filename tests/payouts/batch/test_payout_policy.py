"""Who is paid at close and who is held: each hold named, in the policy's order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts.batch import payout_policy
from payouts.batch.errors import MinimumNotComparable
from payouts.batch.models import PayoutHold
from payouts.batch.payout_policy import Minimum
from payouts.ledger import LedgerEntry
from payouts.periods import Month, Period
from plans.facts import NO_FX
from tests.payouts.program import Program

JANUARY = Month.parse("2026-01")


def hold(
    balance_minor: int,
    status: str = "active",
    minimum: Minimum | None = None,
    *,
    tax_form_missing: bool = False,
) -> str | None:
    decided = payout_policy.hold_of(
        balance_minor=balance_minor,
        currency="USD",
        partner_status=status,
        tax_form_missing=tax_form_missing,
        finance_hold=False,
        minimum=minimum,
        rates=NO_FX,
        month=JANUARY,
    )
    return None if decided is None else decided.code


def test_a_balance_with_no_rule_against_it_is_paid() -> None:
    assert hold(1000) is None
    assert hold(2500, minimum=Minimum(Decimal("25.00"), "USD", False)) is None


def test_a_negative_balance_is_carried_forward_before_any_other_rule() -> None:
    assert hold(-1, status="on_hold") == "negative_balance"


def test_a_partner_on_hold_is_held_even_above_the_minimum() -> None:
    assert hold(10_000, status="on_hold") == "partner_on_hold"


def test_a_terminated_partner_is_paid_only_where_its_plan_says_so() -> None:
    assert hold(10_000, status="terminated") == "partner_terminated"
    assert hold(10_000, status="terminated", minimum=Minimum(Decimal(0), "USD", True)) is None


def test_a_missing_tax_form_holds_after_the_partners_own_status_and_before_the_minimum() -> None:
    assert hold(10_000, tax_form_missing=True) == "tax_form"
    assert hold(10_000, status="on_hold", tax_form_missing=True) == "partner_on_hold"
    under = Minimum(Decimal("500.00"), "USD", False)
    assert hold(100, minimum=under, tax_form_missing=True) == "tax_form"
    assert hold(-1, tax_form_missing=True) == "negative_balance"


def test_a_balance_one_cent_under_the_minimum_is_held_with_the_minimum_shown() -> None:
    decided = payout_policy.hold_of(
        balance_minor=2499,
        currency="USD",
        partner_status="active",
        tax_form_missing=False,
        finance_hold=False,
        minimum=Minimum(Decimal("25"), "USD", False),
        rates=NO_FX,
        month=JANUARY,
    )
    assert decided == payout_policy.below_minimum(Decimal("25"), "USD")
    assert decided is not None
    assert decided.reason == "below the minimum payout 25.00 USD"


def test_a_minimum_in_another_currency_without_a_rate_stops_the_close_and_changes_nothing(
    session: Session,
) -> None:
    program = Program(session)
    plan = program.plan(
        "referral",
        minimum_payout="25.00",
        components=[
            {"kind": "referral_fee", "id": "revenue-share", "rate": "10%", "duration": "lifetime"}
        ],
    )
    program.partner("P-EUR", plan, kind="referral", currency="EUR")
    program.deal("P-EUR", "referral", day="2026-01-02", customer="C-3", currency="EUR")
    program.invoice(None, "1000.00", "2026-01-15", customer="C-3", currency="EUR")
    program.session.flush()
    with (
        pytest.raises(MinimumNotComparable, match="cannot compare the minimum payout"),
        session.begin_nested(),
    ):
        program.close_month("2026-01")
    assert session.scalars(select(Period.status).where(Period.period == "2026-01")).one() == "open"
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert session.scalar(select(func.count()).select_from(PayoutHold)) == 0


def test_a_minimum_in_another_currency_is_converted_at_the_month_end_rate(
    session: Session,
) -> None:
    program = Program(session)
    plan = program.plan(
        "referral",
        minimum_payout="25.00",
        components=[
            {"kind": "referral_fee", "id": "revenue-share", "rate": "10%", "duration": "lifetime"}
        ],
    )
    program.partner("P-EUR", plan, kind="referral", currency="EUR")
    program.deal("P-EUR", "referral", day="2026-01-02", customer="C-3", currency="EUR")
    program.invoice(None, "200.00", "2026-01-15", customer="C-3", currency="EUR")
    program.fx("2026-01-31", "USD", "EUR", "0.5")
    january = program.close_month("2026-01")
    # 10% of EUR 200 is EUR 20: under USD 25 at 1 USD = 0.5 EUR it would not be (12.50).
    assert january.payable == {"EUR": 2000}


def test_a_finance_hold_holds_whatever_the_partner_status_says() -> None:
    decided = payout_policy.hold_of(
        balance_minor=10_000,
        currency="USD",
        partner_status="active",
        tax_form_missing=True,
        finance_hold=True,
        minimum=None,
        rates=NO_FX,
        month=JANUARY,
    )
    assert decided == payout_policy.PARTNER_ON_HOLD
