from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plans import LineKind, MissingFxRate, calculate, parse_plan
from plans.facts import FxRate, FxTable, InfluenceKind, Role, SpiffEvent, SpiffKind
from tests.plans.builders import PARTNER, deal, example, facts, invoice, registration

ECB = FxTable(
    [
        FxRate("EUR", "USD", date(2026, 1, 1), Decimal("1.0850"), "ECB"),
        FxRate("EUR", "USD", date(2026, 1, 20), Decimal("1.1000"), "ECB"),
    ]
)


def test_foreign_invoices_are_converted_at_the_fact_date_then_rounded_once() -> None:
    [line] = [
        line
        for line in calculate(
            example("tiered_reseller"),
            facts(
                deals=[deal(currency="EUR")],
                invoices=[invoice(amount="1000.37", currency="EUR")],
                tier="Gold",
                fx=ECB,
            ),
        )
        if line.component_id == "status-tiers"
    ]
    assert line.fx_rate == Decimal("1.0850")
    assert line.fx_source == "ECB"
    assert line.unrounded == Decimal("1000.37") * Decimal("0.08") * Decimal("1.0850")
    assert line.amount == Decimal("86.83")
    assert (line.base_amount, line.base_currency, line.currency) == (
        Decimal("1000.37"),
        "EUR",
        "USD",
    )
    assert line.explanation[1:] == (
        "invoice INV-1 1,000.37 EUR x 8% = 80.0296 EUR",
        "converted at 1.085 USD per EUR (ECB, 2026-01-01) = 86.832116 USD, "
        "rounded half up to 86.83 USD",
    )


def test_a_period_end_fx_plan_converts_at_the_period_end_rate() -> None:
    eur_payout = FxTable(
        [
            FxRate("USD", "EUR", date(2026, 3, 1), Decimal("0.8"), "ECB"),
            FxRate("USD", "EUR", date(2026, 3, 31), Decimal("0.9"), "ECB"),
        ]
    )
    lines = calculate(
        example("var"),
        facts(
            deals=[deal(list_amount="100.00", close_date=date(2026, 3, 5))],
            start=date(2026, 3, 1),
            end=date(2026, 3, 31),
            rebate_volume=Decimal("100000"),
            payout_currency="EUR",
            fx=eur_payout,
        ),
    )
    assert [(line.component_id, line.fx_rate, line.amount) for line in lines] == [
        ("buy-price", Decimal("0.9"), Decimal("18.00")),
        ("quarterly-rebate", Decimal("0.9"), Decimal("900.00")),
    ]


def test_a_missing_fx_rate_is_an_error_not_a_guess() -> None:
    with pytest.raises(MissingFxRate) as missing:
        calculate(
            example("tiered_reseller"),
            facts(deals=[deal()], invoices=[invoice(currency="GBP")], tier="Gold"),
        )
    assert missing.value.code == "missing-fx-rate"


def test_rebates_are_computed_only_when_the_period_closes_a_rebate_period() -> None:
    plan = example("var")
    assert calculate(plan, facts(rebate_volume=Decimal("80000"))) == []  # January: not Q-end
    assert calculate(plan, facts(start=date(2026, 3, 1), end=date(2026, 3, 31))) == []


def test_a_retroactive_rebate_pays_the_whole_volume_at_the_reached_rate() -> None:
    document = example("var").model_dump()
    document["components"][0]["mode"] = "retroactive"
    [line] = calculate(
        parse_plan(document),
        facts(start=date(2026, 3, 1), end=date(2026, 3, 31), rebate_volume=Decimal("80000")),
    )
    assert line.amount == Decimal("1600.00")
    assert line.rate == Decimal("0.02")


def test_spiffs_pay_a_fixed_amount_per_qualifying_event() -> None:
    events = (
        SpiffEvent("E-2", PARTNER, SpiffKind.certification_earned, date(2026, 1, 20)),
        SpiffEvent("E-1", PARTNER, SpiffKind.new_logo, date(2026, 1, 5), "C-9"),
        SpiffEvent("E-3", PARTNER, SpiffKind.deal_registration_approved, date(2026, 1, 6)),
        SpiffEvent("E-4", "P-2", SpiffKind.new_logo, date(2026, 1, 7)),
        SpiffEvent("E-5", PARTNER, SpiffKind.new_logo, date(2026, 2, 1)),
    )
    lines = calculate(example("mssp"), facts(events=events))
    assert [(line.source_fact, line.amount) for line in lines] == [
        ("event:E-1", Decimal("500.00")),
        ("event:E-2", Decimal("100.00")),
    ]


def test_a_fixed_influence_bonus_pays_once_per_influenced_deal_closed() -> None:
    plan = parse_plan(
        """
plan_id: alliance
version: 1
name: Alliance
effective_from: 2026-01-01
currency: USD
components:
  - kind: influence_bonus
    id: endorsements
    kinds: [endorsement]
    fixed_amount: "150.00"
"""
    )
    endorsed = deal("D-1", roles=[(Role.influence, InfluenceKind.endorsement)])
    active = deal("D-2", roles=[(Role.influence, InfluenceKind.active_in_sale)])
    lines = calculate(plan, facts(deals=[endorsed, active], invoices=[invoice()]))
    assert [(line.deal_id, line.amount) for line in lines] == [("D-1", Decimal("150.00"))]


def test_margin_lines_cover_fulfilment_at_the_negotiated_price() -> None:
    fulfilled = deal(roles=[Role.fulfilment], list_amount="100.00", negotiated_amount="80.00")
    [margin] = calculate(example("tiered_reseller"), facts(deals=[fulfilled], tier="Gold"))
    assert (margin.line_kind, margin.amount, margin.payable) == (
        LineKind.margin,
        Decimal("4.00"),
        False,
    )
    assert margin.explanation[-1] == (
        "margin earned through the discount, not payable: "
        "negotiated price 80.00 USD - buy price 76.00 USD = 4.00 USD"
    )


def test_every_line_names_its_plan_version_component_and_source() -> None:
    lines = calculate(
        example("tiered_reseller"),
        facts(deals=[deal(registration=registration())], invoices=[invoice()], tier="Silver"),
    )
    assert {(line.plan_id, line.plan_version) for line in lines} == {("tiered-reseller", 1)}
    assert [(line.source_fact, line.component_kind) for line in lines] == [
        ("deal:D-1", "deal_discount"),
        ("invoice:INV-1", "tier_rate"),
    ]
    assert len({line.line_key for line in lines}) == len(lines)


def test_half_even_plans_round_ties_to_even() -> None:
    document = example("tiered_reseller").model_dump()
    document["rounding"] = "half_even"
    [line] = [
        line
        for line in calculate(
            parse_plan(document),
            facts(deals=[deal()], invoices=[invoice(amount="0.50")], tier="Silver"),
        )
        if line.component_id == "status-tiers"
    ]
    assert line.unrounded == Decimal("0.0250")
    assert line.amount == Decimal("0.02")
