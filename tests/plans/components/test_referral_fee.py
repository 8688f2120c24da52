from __future__ import annotations

from datetime import date
from decimal import Decimal

from plans import PlanVersion, calculate, parse_plan
from plans.facts import Cancellation, CustomerHistory, Role
from tests.plans.builders import deal, facts, invoice

YEAR = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}


def plan(component: str) -> PlanVersion:
    return parse_plan(
        f"""
plan_id: referral-test
version: 1
name: Referral test
effective_from: 2026-01-01
currency: USD
components:
  - kind: referral_fee
    id: fee
{component}
"""
    )


def monthly(count: int = 12, amount: str = "100.00") -> list:
    return [
        invoice(f"INV-{m:02d}", amount=amount, issue_date=date(2026, m, 1))
        for m in range(1, count + 1)
    ]


def referred() -> list:
    return [deal(roles=[Role.referral])]


def test_one_off_pays_only_the_customers_first_invoice() -> None:
    lines = calculate(
        plan("    rate: 10%\n    duration: one_off"),
        facts(deals=referred(), invoices=monthly(), **YEAR),
    )
    assert [(line.invoice_id, line.amount) for line in lines] == [("INV-01", Decimal("10.00"))]


def test_one_off_is_not_paid_twice_across_periods() -> None:
    lines = calculate(
        plan("    fixed_amount: 250\n    duration: one_off"),
        facts(
            deals=referred(),
            invoices=monthly(),
            customers={"C-1": CustomerHistory("C-1", date(2026, 1, 1), None, Decimal("250.00"))},
            **YEAR,
        ),
    )
    assert lines == []


def test_first_n_months_pays_invoices_within_n_months_of_the_first() -> None:
    lines = calculate(
        plan("    rate: 10%\n    duration: first_n_months\n    months: 3"),
        facts(deals=referred(), invoices=monthly(), **YEAR),
    )
    assert [line.invoice_id for line in lines] == ["INV-01", "INV-02", "INV-03"]


def test_lifetime_stops_at_the_cancellation_end_date() -> None:
    lines = calculate(
        plan("    rate: 10%"),
        facts(
            deals=referred(),
            invoices=monthly(),
            cancellations=(Cancellation("X-1", "C-1", date(2026, 7, 1)),),
            **YEAR,
        ),
    )
    assert [line.invoice_id for line in lines][-1] == "INV-06"
    assert len(lines) == 6


def test_subscription_invoices_without_a_deal_follow_the_referred_customer() -> None:
    renewal = invoice("INV-R", amount="100.00", deal_id=None, subscription_id="S-1")
    [line] = calculate(
        plan("    rate: 10%"),
        facts(deals=[deal(roles=[Role.referral], close_date=date(2025, 6, 1))], invoices=[renewal]),
    )
    assert line.amount == Decimal("10.00")


def test_the_cap_per_customer_limits_the_total_and_says_so() -> None:
    lines = calculate(
        plan("    rate: 10%\n    cap: 45"),
        facts(
            deals=referred(),
            invoices=monthly(),
            customers={"C-1": CustomerHistory("C-1", date(2026, 1, 1), None, Decimal("20.00"))},
            **YEAR,
        ),
    )
    assert [line.amount for line in lines] == [Decimal("10.00"), Decimal("10.00"), Decimal("5.00")]
    assert lines[-1].explanation[-1] == (
        "capped at 45.00 USD per customer: 40.00 USD already paid -> 5.00 USD"
    )


def test_paid_basis_pays_on_payment_in_the_period_on_the_paid_amount() -> None:
    paid_in_feb = invoice(
        amount="100.00",
        issue_date=date(2026, 1, 20),
        paid_date=date(2026, 2, 3),
        paid_amount="90.00",
    )
    fee = plan("    rate: 10%\n    basis: paid")
    january = calculate(fee, facts(deals=referred(), invoices=[paid_in_feb]))
    february = calculate(
        fee,
        facts(
            deals=referred(),
            invoices=[paid_in_feb],
            start=date(2026, 2, 1),
            end=date(2026, 2, 28),
        ),
    )
    assert january == []
    [line] = february
    assert (line.amount, line.fact_date) == (Decimal("9.00"), date(2026, 2, 3))
    assert line.explanation[-1] == "paid invoice INV-1 90.00 USD x 10% = 9.00 USD"


def test_partners_that_did_not_refer_the_customer_get_no_fee() -> None:
    assert calculate(plan("    rate: 10%"), facts(deals=[deal()], invoices=monthly(1))) == []
