"""Capitalised costs amortise to zero, cent for cent; the waterfall adds up."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from payouts.accounting.capitalisation import schedule, waterfall
from tests.payouts.accounting.books import capitalised_referral_month


@given(amount=st.integers(-(10**12), 10**12), months=st.integers(1, 240))
def test_a_schedule_adds_up_to_its_amount_in_parts_a_cent_apart(amount: int, months: int) -> None:
    parts = schedule(amount, months)
    assert len(parts) == months
    assert sum(parts) == amount
    assert max(parts) - min(parts) <= 1
    assert all(p * amount >= 0 for p in parts)  # never the opposite sign


def test_a_capitalised_referral_fee_amortises_to_zero_over_its_months(session: Session) -> None:
    capitalised_referral_month(session, months=7)
    rows = waterfall(session, "2026-09")
    assert [r.period for r in rows] == [f"2026-0{m}" for m in range(1, 10)]
    assert {r.currency for r in rows} == {"USD"}
    assert rows[0].opening_minor == 0
    assert rows[0].additions_minor == 250_00
    assert sum(r.additions_minor for r in rows) == 250_00
    amortised = [r.amortisation_minor for r in rows]
    assert sum(amortised[:7]) == 250_00  # cent for cent over its seven months
    assert set(amortised[:7]) <= {35_71, 35_72}
    assert amortised[7:] == [0, 0]
    for before, after in pairwise(rows):
        assert after.opening_minor == before.closing_minor
    for r in rows:
        assert r.closing_minor == r.opening_minor + r.additions_minor - r.amortisation_minor
    assert rows[6].closing_minor == 0  # July: nothing left
    assert rows[-1].closing_minor == 0
