from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plans import InconsistentFacts, LineKind, MissingFact, calculate
from plans.calculator import recalculate_clawbacks
from plans.facts import Cancellation, FxRate, FxTable, PaidEarning, Refund, RefundKind, Role
from tests.plans.builders import deal, example, facts, invoice

MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}


def paid(invoice_id: str, component_id: str, amount: str) -> PaidEarning:
    return PaidEarning(f"invoice:{invoice_id}", invoice_id, component_id, Decimal(amount), "USD")


def refund(amount: str, on: date, refund_id: str = "R-1", invoice_id: str = "INV-1") -> Refund:
    return Refund(refund_id, invoice_id, on, Decimal(amount), "USD")


def test_a_partial_refund_claws_back_pro_rata_rounded_once() -> None:
    [line] = calculate(
        example("tiered_reseller"),
        facts(
            deals=[deal()],
            invoices=[invoice(amount="300.00", issue_date=date(2026, 1, 15))],
            refunds=(refund("100.00", date(2026, 3, 10)),),
            paid_earnings=(paid("INV-1", "status-tiers", "24.01"),),
            tier="Gold",
            **MARCH,
        ),
    )
    # 24.01 x 100 / 300 = 8.003333... -> 8.00
    assert line.amount == Decimal("-8.00")
    assert line.unrounded == Decimal("-24.01") * 100 / 300
    assert line.explanation[0].endswith("54 days, inside the 90-day clawback window")


def test_a_refund_outside_the_window_claws_back_nothing() -> None:
    lines = calculate(
        example("tiered_reseller"),
        facts(
            deals=[deal()],
            invoices=[invoice(issue_date=date(2025, 11, 1))],
            refunds=(refund("10000.00", date(2026, 3, 10)),),
            paid_earnings=(paid("INV-1", "status-tiers", "800.00"),),
            **MARCH,
        ),
    )
    assert lines == []


def test_a_component_window_overrides_the_plan_window() -> None:
    # referral.yaml: plan window 60 days, revenue-share 90 days; refund after 75 days
    lines = calculate(
        example("referral"),
        facts(
            deals=[deal(roles=[Role.referral])],
            invoices=[invoice(amount="100.00", issue_date=date(2026, 1, 1))],
            refunds=(refund("100.00", date(2026, 3, 17)),),
            paid_earnings=(
                paid("INV-1", "signing-bounty", "250.00"),
                paid("INV-1", "revenue-share", "10.00"),
            ),
            **MARCH,
        ),
    )
    assert [(line.component_id, line.amount) for line in lines] == [
        ("revenue-share", Decimal("-10.00"))
    ]


def test_clawbacks_never_take_back_more_than_was_paid() -> None:
    lines = calculate(
        example("tiered_reseller"),
        facts(
            deals=[deal()],
            invoices=[invoice(amount="1000.00", issue_date=date(2026, 2, 15))],
            refunds=(
                refund("800.00", date(2026, 3, 5), "R-1"),
                Refund(
                    "R-2",
                    "INV-1",
                    date(2026, 3, 6),
                    Decimal("800.00"),
                    "USD",
                    RefundKind.credit_note,
                ),
            ),
            paid_earnings=(
                paid("INV-1", "status-tiers", "80.00"),
                PaidEarning("refund:R-0", "INV-1", "status-tiers", Decimal("-10.00"), "USD"),
            ),
            **MARCH,
        ),
    )
    assert [line.amount for line in lines] == [Decimal("-64.00"), Decimal("-6.00")]
    assert "limited to the 6.00 USD still paid" in lines[1].explanation[-1]
    assert "credit note R-2" in lines[1].explanation[0]


def test_a_cancellation_claws_back_pay_on_invoices_for_service_after_its_end() -> None:
    invoices = [
        invoice("INV-1", issue_date=date(2026, 2, 1)),
        invoice("INV-2", issue_date=date(2026, 3, 20)),
    ]
    lines = calculate(
        example("tiered_reseller"),
        facts(
            deals=[deal(close_date=date(2026, 1, 10))],
            invoices=invoices,
            cancellations=(Cancellation("X-1", "C-1", date(2026, 3, 15)),),
            paid_earnings=(
                paid("INV-1", "status-tiers", "800.00"),
                paid("INV-2", "status-tiers", "800.00"),
            ),
            tier="Gold",
            **MARCH,
        ),
    )
    clawbacks = [line for line in lines if line.line_kind is LineKind.clawback]
    assert [(c.invoice_id, c.amount, c.fact_date) for c in clawbacks] == [
        ("INV-2", Decimal("-800.00"), date(2026, 3, 15))
    ]
    assert clawbacks[0].source_fact == "cancellation:X-1"


def test_a_cancellation_claws_back_pay_booked_in_another_currency_once() -> None:
    # Paid in EUR, paying out in USD now: the reversal is converted, and a second
    # cancellation of the same customer finds nothing left to take back.
    rates = FxTable([FxRate("EUR", "USD", date(2026, 1, 1), Decimal("1.10"), "ECB")])
    lines = calculate(
        example("tiered_reseller"),
        facts(
            deals=[deal(close_date=date(2026, 1, 10))],
            invoices=[invoice("INV-2", issue_date=date(2026, 3, 20))],
            cancellations=(
                Cancellation("X-1", "C-1", date(2026, 3, 15)),
                Cancellation("X-2", "C-1", date(2026, 3, 18)),
            ),
            paid_earnings=(
                PaidEarning("invoice:INV-2", "INV-2", "status-tiers", Decimal("100.00"), "EUR"),
            ),
            tier="Gold",
            fx=rates,
            **MARCH,
        ),
    )
    clawbacks = [line for line in lines if line.line_kind is LineKind.clawback]
    assert [(c.source_fact, c.amount, c.currency) for c in clawbacks] == [
        ("cancellation:X-1", Decimal("-110.00"), "USD")
    ]


def test_a_refund_of_an_unknown_invoice_is_reported() -> None:
    with pytest.raises(MissingFact):
        calculate(
            example("tiered_reseller"),
            facts(
                refunds=(refund("1.00", date(2026, 3, 5)),),
                paid_earnings=(paid("INV-1", "status-tiers", "8.00"),),
                **MARCH,
            ),
        )


def test_a_refund_in_another_currency_than_its_invoice_is_reported() -> None:
    with pytest.raises(InconsistentFacts):
        calculate(
            example("tiered_reseller"),
            facts(
                invoices=[invoice(issue_date=date(2026, 3, 1))],
                refunds=(Refund("R-1", "INV-1", date(2026, 3, 5), Decimal("1.00"), "EUR"),),
                paid_earnings=(paid("INV-1", "status-tiers", "8.00"),),
                **MARCH,
            ),
        )


def test_recalculating_clawbacks_gives_what_calculating_again_gives() -> None:
    plan = example("tiered_reseller")
    given = {
        "deals": [deal()],
        "invoices": [
            invoice(amount="1000.00", issue_date=date(2026, 3, 2)),
            invoice("INV-2", amount="500.00", issue_date=date(2026, 3, 3)),
        ],
        "refunds": (refund("250.00", date(2026, 3, 20)),),
        "tier": "Gold",
        **MARCH,
    }
    first = calculate(plan, facts(**given))
    assert not [line for line in first if line.line_kind is LineKind.clawback]
    earned = tuple(paid("INV-1", line.component_id, str(line.amount)) for line in first[:1])
    again = facts(**given, paid_earnings=earned)
    recalculated = recalculate_clawbacks(plan, again, first)
    assert recalculated == calculate(plan, again)
    assert [line.line_kind for line in recalculated].count(LineKind.clawback) == 1
