"""DESIGN.md's domain table, reproduced to the cent through the YAML example plans."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plans import (
    LineKind,
    MarginBelowProtected,
    calculate,
    parse_plan,
    quote,
    rep_credit,
    tier_status,
)
from plans.facts import (
    Independence,
    InfluenceKind,
    PaidEarning,
    Refund,
    Role,
)
from tests.plans.builders import (
    deal,
    example,
    facts,
    invoice,
    metrics,
    registration,
)


def lines_of(lines: list, component_id: str) -> list:
    return [line for line in lines if line.component_id == component_id]


def test_a_gold_partners_closed_10000_deal_earns_800() -> None:
    plan = example("tiered_reseller")
    lines = calculate(
        plan,
        facts(
            deals=[deal()],
            invoices=[invoice(amount="10000.00")],
            metrics=metrics(sourced_revenue="120000", certifications=3),
        ),
    )
    [line] = lines_of(lines, "status-tiers")
    assert line.amount == Decimal("800.00")
    assert line.rate == Decimal("0.08")
    assert line.explanation == (
        "tier Gold (sourced revenue 12m 120,000.00 >= 100,000.00 or certifications 3 < 6) -> 8%",
        "invoice INV-1 10,000.00 USD x 8% = 800.00 USD",
    )


def test_bronze_and_silver_pay_3_and_5_percent() -> None:
    plan = example("tiered_reseller")
    for tier, expected in (("Bronze", "300.00"), ("Silver", "500.00"), ("Gold", "800.00")):
        lines = calculate(plan, facts(deals=[deal()], invoices=[invoice()], tier=tier))
        assert lines_of(lines, "status-tiers")[0].amount == Decimal(expected)


def test_a_small_partner_with_many_certifications_reaches_silver() -> None:
    status = tier_status(
        example("tiered_reseller"), metrics(sourced_revenue="5000", certifications=4)
    )
    assert status.tier == "Silver"
    assert status.rate == Decimal("0.05")
    assert "certifications 4 >= 4" in status.reason


def test_the_statement_shows_the_gap_to_the_next_tier() -> None:
    status = tier_status(
        example("tiered_reseller"), metrics(sourced_revenue="95800", certifications=5)
    )
    assert status.tier == "Silver"
    assert status.next_tier == "Gold"
    assert status.gap_text == (
        "4,200.00 USD more sourced revenue or 1 more certification to reach Gold"
    )


@pytest.mark.parametrize(
    ("independence", "expected"),
    [
        (Independence.vendor_led, "300.00"),
        (Independence.assisted, "400.00"),
        (Independence.independent, "2000.00"),
    ],
)
def test_reseller_rate_rises_with_independence_3_4_20(
    independence: Independence, expected: str
) -> None:
    lines = calculate(
        example("independent_reseller"),
        facts(deals=[deal(independence=independence)], invoices=[invoice()]),
    )
    assert lines_of(lines, "independence")[0].amount == Decimal(expected)


def test_deal_registration_buys_at_60_on_a_100_list() -> None:
    registered = deal(list_amount="100.00", registration=registration())
    result = quote(example("tiered_reseller"), registered, "P-1")
    assert result.rule == "deal_registration"
    assert result.buy_price == Decimal("60.00")
    assert result.margin == Decimal("40.00")
    assert result.discount_rate == Decimal("0.40")


def test_fulfilment_buys_at_76_on_a_negotiated_80() -> None:
    fulfilled = deal(roles=[Role.fulfilment], list_amount="100.00", negotiated_amount="80.00")
    result = quote(example("tiered_reseller"), fulfilled, "P-1")
    assert result.rule == "fulfilment"
    assert result.buy_price == Decimal("76.00")


def test_fulfilment_deals_pay_no_tier_commission() -> None:
    lines = calculate(
        example("tiered_reseller"),
        facts(deals=[deal(roles=[Role.fulfilment])], invoices=[invoice()], tier="Gold"),
    )
    assert lines_of(lines, "status-tiers") == []


def test_referral_pays_10_percent_of_a_100_invoice() -> None:
    lines = calculate(
        example("referral"),
        facts(deals=[deal(roles=[Role.referral])], invoices=[invoice(amount="100.00")]),
    )
    [share] = lines_of(lines, "revenue-share")
    assert share.amount == Decimal("10.00")
    [bounty] = lines_of(lines, "signing-bounty")
    assert bounty.amount == Decimal("250.00")


def test_lifetime_referral_on_12_monthly_100_invoices_is_12_lines_of_10() -> None:
    invoices = [
        invoice(f"INV-{m:02d}", amount="100.00", issue_date=date(2026, m, 1)) for m in range(1, 13)
    ]
    lines = calculate(
        example("referral"),
        facts(
            deals=[deal(roles=[Role.referral])],
            invoices=invoices,
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
        ),
    )
    shares = lines_of(lines, "revenue-share")
    assert [line.amount for line in shares] == [Decimal("10.00")] * 12
    assert len(lines_of(lines, "signing-bounty")) == 1


def test_volume_rebate_pays_2_percent_of_the_quarter_above_50000() -> None:
    lines = calculate(
        example("var"),
        facts(start=date(2026, 3, 1), end=date(2026, 3, 31), rebate_volume=Decimal("80000.00")),
    )
    [rebate] = lines_of(lines, "quarterly-rebate")
    assert rebate.amount == Decimal("600.00")
    assert rebate.source_fact == "rebate:2026-Q1"


def test_a_quote_below_the_protected_margin_is_refused() -> None:
    registered = deal(list_amount="100.00", registration=registration())
    with pytest.raises(MarginBelowProtected) as refused:
        quote(example("tiered_reseller"), registered, "P-1", requested_price=Decimal("75.00"))
    assert refused.value.code == "margin-below-protected"
    assert refused.value.protected == Decimal("0.30")


def test_a_quote_below_the_protected_margin_passes_on_an_approved_exception() -> None:
    registered = deal(list_amount="100.00", registration=registration())
    result = quote(
        example("tiered_reseller"),
        registered,
        "P-1",
        requested_price=Decimal("75.00"),
        exception_approved=True,
    )
    assert result.buy_price == Decimal("75.00")
    assert result.margin == Decimal("25.00")
    assert result.exception_approved
    assert "approved exception" in result.explanation[-1]


@pytest.mark.parametrize(
    ("basis", "credit"), [("list", "100.00"), ("midpoint", "80.00"), ("net", "60.00")]
)
def test_rep_credit_on_list_midpoint_or_net(basis: str, credit: str) -> None:
    document = example("rep_credit").model_dump()
    document["components"][0]["credit_basis"] = basis
    plan = parse_plan(document)
    result = rep_credit(plan, deal(list_amount="100.00", net_amount="60.00"))
    assert result.credit == Decimal(credit)


def test_reps_earn_8_percent_direct_and_10_percent_through_a_partner() -> None:
    plan = example("rep_credit")
    direct = rep_credit(plan, deal(roles=[], list_amount="1000.00"))
    via_partner = rep_credit(plan, deal(roles=[Role.sourced], list_amount="1000.00"))
    assert (direct.commission, via_partner.commission) == (Decimal("80.00"), Decimal("100.00"))
    assert not direct.via_partner
    assert via_partner.via_partner


def test_resale_margin_shows_40_earned_and_nothing_payable() -> None:
    lines = calculate(
        example("tiered_reseller"),
        facts(deals=[deal(list_amount="100.00", registration=registration())], tier="Gold"),
    )
    [margin] = lines_of(lines, "buy-price")
    assert margin.line_kind is LineKind.margin
    assert margin.amount == Decimal("40.00")
    assert not margin.payable
    assert sum(line.amount for line in lines if line.payable) == 0


def test_a_march_refund_of_a_january_invoice_is_a_negative_line_in_march() -> None:
    january = invoice(amount="10000.00", issue_date=date(2026, 1, 15))
    lines = calculate(
        example("tiered_reseller"),
        facts(
            deals=[deal(close_date=date(2026, 1, 10))],
            invoices=[january],
            start=date(2026, 3, 1),
            end=date(2026, 3, 31),
            tier="Gold",
            refunds=(Refund("R-1", "INV-1", date(2026, 3, 10), Decimal("10000.00"), "USD"),),
            paid_earnings=(
                PaidEarning("invoice:INV-1", "INV-1", "status-tiers", Decimal("800.00"), "USD"),
            ),
        ),
    )
    [clawback] = lines
    assert clawback.line_kind is LineKind.clawback
    assert clawback.amount == Decimal("-800.00")
    assert clawback.fact_date == date(2026, 3, 10)
    assert clawback.source_fact == "refund:R-1"
    assert clawback.invoice_id == "INV-1"


def test_influence_is_paid_only_where_a_plan_says_so() -> None:
    influenced = deal(roles=[(Role.influence, InfluenceKind.integration_requirement)])
    period = facts(deals=[influenced], invoices=[invoice()], tier="Gold")
    assert calculate(example("tiered_reseller"), period) == []
    [bonus] = calculate(example("technology_alliance"), period)
    assert bonus.amount == Decimal("500.00")
    assert "integration_requirement" in bonus.explanation[0]


def test_every_example_plan_validates_and_has_a_stable_hash() -> None:
    for name in (
        "tiered_reseller",
        "independent_reseller",
        "referral",
        "mssp",
        "var",
        "technology_alliance",
        "rep_credit",
    ):
        plan = example(name)
        assert plan.content_hash() == example(name).content_hash()
        assert len(plan.content_hash()) == 64
